//! Finds where a field path is written in a block-style YAML document (the style of
//! every MAIA form and cluster config). Flow collections are located by their key.
//! Best effort: a path it cannot follow resolves to the nearest enclosing entry.

use crate::path::{FieldPath, Segment};

#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    indent: usize,
    /// byte offset of `content` in the document
    offset: usize,
    content: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && trimmed != "---" {
            out.push(Line {
                indent,
                offset: offset + indent,
                content: trimmed,
            });
        }
        offset += raw.len();
    }
    out
}

/// Splits `key: value` and returns the key (unquoted) and the value's offset in the line.
fn split_key(content: &str) -> Option<(&str, usize)> {
    let (key, rest_at) = if let Some(q @ ('"' | '\'')) = content.chars().next() {
        let end = content[1..].find(q)? + 1;
        let after = &content[end + 1..];
        let colon = after.find(':')?;
        if !after[..colon].trim().is_empty() {
            return None;
        }
        (&content[1..end], end + 1 + colon + 1)
    } else {
        let colon = content
            .find(": ")
            .or_else(|| content.ends_with(':').then(|| content.len() - 1))?;
        (content[..colon].trim_end(), colon + 1)
    };
    let rest = &content[rest_at..];
    let value_at = rest_at + (rest.len() - rest.trim_start().len());
    Some((key, value_at))
}

pub(crate) fn locate(text: &str, path: &FieldPath, key_position: bool) -> Option<usize> {
    let all = lines(text);
    let mut region: Vec<Line<'_>> = all;
    let mut found = region.first().map(|l| l.offset).unwrap_or(0);
    // An inline flow sequence (`[a, b]`) the previous key led to: (offset, text).
    let mut flow: Option<(usize, &str)> = None;
    for (i, seg) in path.0.iter().enumerate() {
        let last = i + 1 == path.0.len();
        if let (Segment::Index(n), Some((at, text))) = (seg, flow.take()) {
            let Some(item) = flow_item(text, *n) else {
                return Some(found);
            };
            found = at + item;
            continue;
        }
        let Some(child_indent) = region.first().map(|l| l.indent) else {
            return Some(found);
        };
        match seg {
            Segment::Key(key) => {
                let Some((pos, value_at)) = region.iter().enumerate().find_map(|(i, l)| {
                    if l.indent != child_indent {
                        return None;
                    }
                    let (k, value_at) = split_key(l.content)?;
                    (k == key).then_some((i, value_at))
                }) else {
                    return Some(found);
                };
                let line = region[pos];
                // A trailing comment (`keycloack: # Keycloak settings`) is not a value.
                let inline =
                    value_at < line.content.len() && !line.content[value_at..].starts_with('#');
                if inline && line.content[value_at..].starts_with('[') {
                    flow = Some((line.offset + value_at, &line.content[value_at..]));
                }
                found = if (last && key_position) || !inline {
                    line.offset
                } else {
                    line.offset + value_at
                };
                region = region[pos + 1..]
                    .iter()
                    .copied()
                    .take_while(|l| l.indent > line.indent)
                    .collect();
                if inline {
                    // A flow collection or scalar: nothing below it to descend into.
                    region.clear();
                }
                // A block sequence may sit at the same indent as its key.
                if !inline && region.is_empty() {
                    region = following_dash_items(&lines(text), line);
                }
            }
            Segment::Index(n) => {
                let items: Vec<usize> = region
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| {
                        l.indent == child_indent
                            && (l.content.starts_with("- ") || l.content == "-")
                    })
                    .map(|(i, _)| i)
                    .collect();
                let Some(&start) = items.get(*n) else {
                    return Some(found);
                };
                let dash = region[start];
                let body = dash.content[1..].trim_start();
                let body_at = dash.content.len() - body.len();
                found = dash.offset + body_at;
                let mut item = Vec::new();
                if !body.is_empty() {
                    item.push(Line {
                        indent: dash.indent + body_at,
                        offset: found,
                        content: body,
                    });
                }
                item.extend(
                    region[start + 1..]
                        .iter()
                        .copied()
                        .take_while(|l| l.indent > dash.indent),
                );
                region = item;
            }
        }
    }
    Some(found)
}

/// Offset of the `n`-th item of a one-line flow sequence `[a, "b", [c]]`, relative to
/// its `[`.
fn flow_item(text: &str, n: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut index = 0usize;
    let mut item_start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            ']' | '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                index += 1;
                item_start = None;
                continue;
            }
            '#' if depth == 0 => break,
            _ => {}
        }
        if c == '"' || c == '\'' {
            quote = Some(c);
        }
        if depth >= 1 && !c.is_whitespace() && item_start.is_none() {
            item_start = Some(i);
            if index == n {
                return Some(i);
            }
        }
    }
    None
}

fn following_dash_items<'a>(all: &[Line<'a>], key: Line<'a>) -> Vec<Line<'a>> {
    let Some(pos) = all.iter().position(|l| l.offset == key.offset) else {
        return Vec::new();
    };
    all[pos + 1..]
        .iter()
        .copied()
        .take_while(|l| {
            l.indent > key.indent || (l.indent == key.indent && l.content.starts_with('-'))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, offset: usize) -> &str {
        text[offset..].lines().next().unwrap()
    }

    #[test]
    fn looks_past_trailing_comments_and_into_flow_sequences() {
        // The seed README's own layout: comments after keys that open a block.
        let text = "users: # members\n  - a@x.org\nkeycloack: # Keycloak\n  client_id: \"\" # id\nport_range: [ \"30000\", 30100 ] # range\n";
        let p = |s: &[Segment]| FieldPath(s.to_vec());
        use Segment::{Index as I, Key as K};
        let k = |s: &str| K(s.to_string());
        let loc = |path: &[Segment]| {
            let offset = locate(text, &p(path), false).unwrap();
            let line = text[..offset].matches('\n').count() + 1;
            (line, at(text, offset).to_string())
        };
        assert_eq!(loc(&[k("users"), I(0)]), (2, "a@x.org".into()));
        assert_eq!(
            loc(&[k("keycloack"), k("client_id")]),
            (4, "\"\" # id".into())
        );
        assert_eq!(loc(&[k("port_range"), I(1)]), (5, "30100 ] # range".into()));
        assert_eq!(
            loc(&[k("port_range"), I(0)]),
            (5, "\"30000\", 30100 ] # range".into())
        );
    }

    #[test]
    fn follows_mappings_and_sequences() {
        let text = "group_ID: demo\nusers:\n- a@x.org\n- b@x.org\nresources_limits:\n  memory:\n    - \"4G\"\n    - 8G\nkeycloak:\n  client_id: maia\nport_range: [1, 2]\nlist:\n  - name: x\n    size: 4GB\n";
        let p = |s: &[Segment]| FieldPath(s.to_vec());
        use Segment::{Index as I, Key as K};
        let k = |s: &str| K(s.to_string());
        assert_eq!(
            at(text, locate(text, &p(&[k("group_ID")]), false).unwrap()),
            "demo"
        );
        assert_eq!(
            at(text, locate(text, &p(&[k("users"), I(1)]), false).unwrap()),
            "b@x.org"
        );
        assert_eq!(
            at(
                text,
                locate(text, &p(&[k("resources_limits"), k("memory"), I(1)]), false).unwrap()
            ),
            "8G"
        );
        assert_eq!(
            at(
                text,
                locate(text, &p(&[k("keycloak"), k("client_id")]), true).unwrap()
            ),
            "client_id: maia"
        );
        assert_eq!(
            at(
                text,
                locate(text, &p(&[k("port_range"), I(0)]), false).unwrap()
            ),
            "1, 2]"
        );
        assert_eq!(
            at(
                text,
                locate(text, &p(&[k("port_range"), I(1)]), false).unwrap()
            ),
            "2]"
        );
        assert_eq!(
            at(
                text,
                locate(text, &p(&[k("list"), I(0), k("size")]), false).unwrap()
            ),
            "4GB"
        );
        assert_eq!(
            at(
                text,
                locate(text, &p(&[k("list"), I(0), k("name")]), true).unwrap()
            ),
            "name: x"
        );
    }
}
