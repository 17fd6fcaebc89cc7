//! Helm values as YAML that Helm reads back exactly.
//!
//! Helm (and charts that re-read their values in Python, like JupyterHub's hub)
//! parse YAML 1.1, where plain `yes`, `no`, `on`, `off`, `y`, `n` are booleans. A
//! YAML 1.2 emitter writes the string "yes" plainly, so `GRANT_SUDO: yes` would
//! reach the chart as `true`. This emitter quotes every string (a JSON string literal
//! is a valid YAML double-quoted scalar), writes multi-line strings as literal blocks
//! so embedded files stay readable, and leaves only safe keys plain.

use serde_json::Value;

/// `value` as a YAML document.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => object(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => array(a, 0, &mut out),
        v => {
            out.push_str(&inline(v, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

fn object(m: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    for (k, v) in m {
        out.push_str(&pad(indent));
        out.push_str(&key(k));
        out.push(':');
        value_after_marker(v, indent, out);
    }
}

fn array(a: &[Value], indent: usize, out: &mut String) {
    for v in a {
        out.push_str(&pad(indent));
        out.push('-');
        match v {
            Value::Object(m) if !m.is_empty() => {
                // First entry on the dash's line, the rest aligned under it.
                let mut nested = String::new();
                object(m, indent + 2, &mut nested);
                out.push(' ');
                out.push_str(&nested[indent + 2..]);
            }
            v => value_after_marker(v, indent, out),
        }
    }
}

/// What follows `key:` or `-`: a nested block on the next lines, or a scalar.
fn value_after_marker(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            object(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            array(a, indent + 2, out);
        }
        v => {
            out.push(' ');
            out.push_str(&inline(v, indent + 2));
            out.push('\n');
        }
    }
}

fn inline(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s, indent),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

fn string(s: &str, indent: usize) -> String {
    if let Some(block) = literal_block(s, indent) {
        return block;
    }
    // A JSON string literal is a YAML double-quoted scalar.
    Value::from(s).to_string()
}

/// A literal block (`|`, `|-`, `|+`) when it represents `s` exactly and readably.
fn literal_block(s: &str, indent: usize) -> Option<String> {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let simple = body.contains('\n')
        // A reader takes the block's indentation from its first non-empty line.
        && !body.trim_start_matches('\n').starts_with([' ', '\t'])
        && !body.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{feff}');
    if !simple {
        return None;
    }
    let chomp = match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    };
    let mut out = String::from(chomp);
    for line in s[..body.len() + trailing.saturating_sub(1)].split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad(indent));
            out.push_str(line);
        }
    }
    Some(out)
}

/// Keys stay plain when no YAML reader could take them for anything but a string.
fn key(k: &str) -> String {
    let safe = !k.is_empty()
        && k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        && !is_yaml11_keyword(k);
    if safe {
        k.to_string()
    } else {
        Value::from(k).to_string()
    }
}

fn is_yaml11_keyword(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_a_yaml11_reader_would_retype_stay_strings() {
        let v = json!({"env": {"GRANT_SUDO": "yes", "A": "on", "B": "010", "C": "true", "D": ""}});
        let y = to_string(&v);
        assert!(y.contains("GRANT_SUDO: \"yes\""), "{y}");
        assert!(y.contains("A: \"on\""), "{y}");
        assert!(y.contains("B: \"010\""), "{y}");
        let back: Value = yaml_serde::from_str(&y).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn nested_lists_maps_and_odd_keys_round_trip() {
        let v = json!({
            "ingress": {"annotations": {"cert-manager.io/cluster-issuer": "x"}, "hosts": ["a.b"],
                        "tls": [{"hosts": ["a.b"], "secretName": "s"}, {"hosts": []}]},
            "yes": 1, "with space": {"k": [[1, 2], [], {}]}, "n": null, "f": 1.5, "t": true,
        });
        let y = to_string(&v);
        assert!(y.contains("\"yes\": 1"), "{y}");
        let back: Value = yaml_serde::from_str(&y).unwrap();
        assert_eq!(back, v, "{y}");
    }

    #[test]
    fn multi_line_strings_are_literal_blocks_and_exact() {
        for s in [
            "a = 1\nb = \"x\"",
            "a\nb\n",
            "a\n\n  b  \nc\n\n",
            " leading space\nx",
            "\n  indented after an empty line\nx",
            "tab\there\nx",
        ] {
            let v = json!({"config": {"configFile": s}, "list": [s]});
            let y = to_string(&v);
            let back: Value = yaml_serde::from_str(&y).unwrap();
            assert_eq!(back, v, "{y}");
        }
        assert!(to_string(&json!({"f": "a\nb"})).contains("f: |-\n  a\n  b\n"));
    }
}
