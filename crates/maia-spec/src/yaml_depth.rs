//! A linear pre-check of YAML flow nesting. The YAML parser re-examines every open
//! flow level at each token, so a file of N nested `[` takes time in N²: a hostile
//! 200 000-deep line took 90 s. No config nests flow collections more than a few
//! levels, so deeper ones are refused before parsing, with their position.

/// Deepest flow nesting (`[` / `{`) a config may have.
pub const MAX_FLOW_DEPTH: usize = 64;

/// The (line, column), 1-based, of the first `[` or `{` that opens a flow collection
/// deeper than [`MAX_FLOW_DEPTH`]; `None` when the text stays within it.
///
/// Quoted scalars and comments are skipped. Outside a flow collection a bracket opens
/// one only where a node starts (at a line's first non-blank, or after `:`, `-`, `?`
/// and a blank), so a plain scalar such as `image: app[1]` is not counted; inside one,
/// every bracket is structure.
pub fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let (mut line, mut col) = (1usize, 0usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    // The previous non-blank character on this line in block context, or None at the
    // line's start; and whether a blank came after it.
    let mut previous: Option<char> = None;
    let mut blank_after = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        col += 1;
        if c == '\n' {
            line += 1;
            col = 0;
            comment = false;
            previous = None;
            blank_after = true;
            continue;
        }
        if comment {
            continue;
        }
        if let Some(q) = quote {
            if c == q {
                // '' inside a single-quoted scalar is an escaped quote.
                if q == '\'' && chars.peek() == Some(&'\'') {
                    chars.next();
                    col += 1;
                } else {
                    quote = None;
                }
            } else if c == '\\' && q == '"' {
                chars.next();
                col += 1;
            }
            continue;
        }
        let blank = c == ' ' || c == '\t';
        if blank {
            blank_after = true;
            continue;
        }
        let node_start = depth > 0
            || previous.is_none()
            || (blank_after && matches!(previous, Some(':' | '-' | '?' | ',')));
        match c {
            '#' if blank_after => comment = true,
            '"' | '\'' if node_start => quote = Some(c),
            '[' | '{' if node_start => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some((line, col));
                }
            }
            ']' | '}' if depth > 0 => depth -= 1,
            _ => {}
        }
        previous = Some(c);
        blank_after = false;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_found_where_it_passes_the_limit() {
        let text = format!("name: x\nnamespace: {}", "[".repeat(100));
        assert_eq!(too_deep(&text), Some((2, 12 + MAX_FLOW_DEPTH)));
        let nested_maps = format!("a: {}", "{b: ".repeat(70));
        assert!(too_deep(&nested_maps).is_some());
    }

    #[test]
    fn ordinary_configs_and_brackets_in_scalars_pass() {
        let ok = "ports: {http: [80, 443]}\nimage: app[1]\ncmd: \"[[[[[[\"\nnote: '[ '' ['\n\
                  # [[[[[[[[\nlist:\n  - [a, [b, {c: d}]]\n";
        assert_eq!(too_deep(ok), None);
        let many_lines = "x: [1]\n".repeat(10_000);
        assert_eq!(too_deep(&many_lines), None);
        let plain = format!("text: {}", "a[".repeat(200));
        assert_eq!(too_deep(&plain), None);
    }
}
