//! What every text shares: tables, diagnostics, errors, the quiet filter.

/// At most this many diagnostics are shown; the rest are counted.
pub const MAX_DIAGNOSTICS: usize = 50;

/// Columns padded to their widest cell, as kubectl prints them.
pub fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}   ", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Diagnostics one per line, at most [`MAX_DIAGNOSTICS`] of them, then how many more.
pub fn diagnostics(diags: &[maia_spec::Diagnostic]) -> Vec<String> {
    let mut lines: Vec<String> = diags
        .iter()
        .take(MAX_DIAGNOSTICS)
        .map(ToString::to_string)
        .collect();
    if diags.len() > MAX_DIAGNOSTICS {
        lines.push(format!(
            "… and {} more (the first {MAX_DIAGNOSTICS} are shown)",
            diags.len() - MAX_DIAGNOSTICS
        ));
    }
    lines
}

/// An error as lines: `error: …`, each cause, and the hint.
pub fn error_chain(e: &dyn std::error::Error, hint: Option<String>) -> Vec<String> {
    let mut lines = vec![format!("error: {e}")];
    let mut source = e.source();
    while let Some(cause) = source {
        lines.push(format!("  caused by: {cause}"));
        source = cause.source();
    }
    if let Some(hint) = hint {
        lines.push(format!("  hint: {hint}"));
    }
    lines
}

/// A library error as lines: a bad form's diagnostics and a failed preflight's
/// problems first, then [`error_chain`].
pub fn error(e: &crate::error::Error) -> Vec<String> {
    let mut lines = Vec::new();
    if let crate::error::Error::Spec(spec) = e {
        lines.extend(diagnostics(spec.diagnostics()));
    }
    if let crate::error::Error::Deploy(maia_deploy::DeployError::Preflight { problems }) = e {
        for p in problems {
            lines.push(format!(
                "preflight: {} [{}]\n  hint: {}",
                p.message, p.check, p.hint
            ));
        }
    }
    lines.extend(error_chain(e, e.hint()));
    lines
}

/// A plan's text without the lines of what would not change (`-q`): those marked `=`
/// (objects, charts, an installed KubeFlow). The summary still counts them.
pub fn changes_only(text: String, quiet: bool) -> String {
    if !quiet {
        return text;
    }
    text.lines()
        .filter(|l| !l.starts_with("  = "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_every_column_but_the_last() {
        let rows = [
            ["GROUP".to_string(), "URL".into()],
            ["a-much-longer-one".into(), "https://x".into()],
        ];
        assert_eq!(
            table(&rows),
            "GROUP               URL\na-much-longer-one   https://x\n"
        );
    }

    #[test]
    fn quiet_plans_drop_only_unchanged_lines() {
        let text = "Plan for app a:\n  = x  unchanged\n  ~ y  update\nPlan: 1\n".to_string();
        assert_eq!(
            changes_only(text.clone(), true),
            "Plan for app a:\n  ~ y  update\nPlan: 1\n"
        );
        assert_eq!(changes_only(text.clone(), false), text);
    }
}
