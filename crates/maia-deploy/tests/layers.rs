//! The layers of maia, checked from the source: the generic engine (`maia-kube`)
//! below the workspace logic (`maia-deploy`), below the library front ends call
//! (`maia`); inside each crate no file that refers to a file of a higher layer, and
//! no cycle between files.
//!
//! A reference is a path through the crate's own modules (`crate::plan::Plan`,
//! `super::facts`, `self::x`, a child module named from its `mod.rs`), outside
//! comments, strings and the trailing `#[cfg(test)] mod` (tests may use anything).
//! Cargo already keeps `maia-kube` from naming `maia-deploy` (it does not depend on
//! it); this test keeps each crate's files in order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// maia-kube's files, lowest layer first. A file may refer to files of its own layer
/// (without a cycle) and of the layers below.
const KUBE: &[&[&str]] = &[
    // Values and small helpers that know nothing of a cluster.
    &["error", "quantity", "inventory", "readiness"],
    &["diff"],
    // Finding the cluster and what it serves.
    &["cluster"],
    &["kinds"],
    &["live"],
    // What a plan checks besides the diff.
    &["quota", "ownership"],
    &["plan"],
    &["event"],
    &["apply"],
    // Reading and removing what a deploy made.
    &["delete", "status"],
];

/// maia-deploy's files, lowest layer first (maia-kube is below all of them).
const DEPLOY: &[&[&str]] = &[
    &["error"],
    // The programs maia runs and the Leases it takes.
    &["tools", "lease"],
    // Workspace facts: what the cluster and the config folder hold.
    &[
        "workspace::envfile",
        "workspace::facts",
        "workspace::claims",
    ],
    &["workspace::folder"],
    // A workspace's plan and its execution.
    &["workspace"],
    // What a deploy checks and recovers before it plans.
    &[
        "workspace::preflight",
        "workspace::ownership",
        "workspace::recover",
    ],
    // The operations a front end calls.
    &["workspace::deploy", "workspace::manage"],
];

/// The library front ends call (`maia`), lowest layer first (maia-deploy and
/// maia-kube are below all of it): workspaces below fleets, rendering below the
/// cluster operations; each result's wording (`text::…`) beside or above the result.
const LIBRARY: &[&[&str]] = &[
    &["error", "env", "random", "output"],
    &[
        "event",
        "config",
        "gitops",
        "text::base",
        "text::app",
        "text::event",
        "text::keycloak",
    ],
    &["app", "keycloak"],
    &["workspace::render"],
    &["workspace::cluster"],
    &["workspace", "text::workspace"],
    &["fleet::stamps"],
    &["fleet::render"],
    &["fleet::cluster"],
    &["fleet", "text::fleet", "text::json"],
    &["text"],
];

/// Files that are no part of the layers (none: test support is in maia-testkit).
const NOT_LAYERED: &[&str] = &[];

#[test]
fn maia_kube_files_refer_only_downwards_and_have_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../maia-kube/src");
    let problems = check(&src, KUBE);
    assert!(problems.is_empty(), "maia-kube:\n{}", problems.join("\n"));
}

#[test]
fn maia_deploy_files_refer_only_downwards_and_have_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let problems = check(&src, DEPLOY);
    assert!(problems.is_empty(), "maia-deploy:\n{}", problems.join("\n"));
}

#[test]
fn the_library_files_refer_only_downwards_and_have_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../maia/src");
    let problems = check(&src, LIBRARY);
    assert!(problems.is_empty(), "maia:\n{}", problems.join("\n"));
}

/// The checker itself finds what it is there to find.
#[test]
fn the_checker_names_a_cycle_and_an_upward_reference() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(path, text).expect("write");
    };
    write("lib.rs", "pub mod a;\npub mod b;\npub mod c;\npub mod w;\n");
    // a and b refer to each other (one of them through a `use` group).
    write("a.rs", "use crate::{b::{self, B}, c};\n");
    write(
        "b.rs",
        "// crate::c in a comment is no reference\nfn f() { crate::a::g(); let _ = \"crate::c\"; }\n",
    );
    write(
        "c.rs",
        "pub fn h() {}\n#[cfg(test)]\nmod tests {\n    use crate::w::x;\n}\n",
    );
    write("w/mod.rs", "mod x;\npub use x::X;\n");
    write("w/x.rs", "use super::super::c;\nuse crate::c::h;\n");
    let problems = check(dir.path(), &[&["c"], &["a", "b"], &["w"], &["w::x"]]);
    let text = problems.join("\n");
    assert!(
        text.contains("cycle between a.rs, b.rs"),
        "no cycle named:\n{text}"
    );
    assert!(
        text.contains("w/mod.rs (layer 3) refers to w/x.rs (layer 4)"),
        "no upward reference named:\n{text}"
    );
    // c's test module, the comment and the string are not references; w/x.rs's
    // references are downwards.
    assert_eq!(problems.len(), 2, "{text}");
}

/// Every problem of the files under `src` against `layers`: files not in a layer (or
/// layers naming no file), references to a higher layer, cycles, and references to an
/// item of the crate root (which hide the module they come from).
fn check(src: &Path, layers: &[&[&str]]) -> Vec<String> {
    let mut problems = Vec::new();
    let files = match modules(src) {
        Ok(files) => files,
        Err(e) => return vec![format!("cannot read {}: {e}", src.display())],
    };
    let mut layer_of: BTreeMap<String, usize> = BTreeMap::new();
    for (i, layer) in layers.iter().enumerate() {
        for module in *layer {
            layer_of.insert((*module).to_string(), i + 1);
            if !files.contains_key(*module) {
                problems.push(format!("layer {} names {module}, which has no file", i + 1));
            }
        }
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &files {
        if module.is_empty() || NOT_LAYERED.contains(&module.as_str()) {
            continue;
        }
        let Some(&layer) = layer_of.get(module) else {
            problems.push(format!("{} is in no layer", shown(src, file)));
            continue;
        };
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("cannot read {}: {e}", shown(src, file)));
                continue;
            }
        };
        for path in references(module, file, &code(&text), &files) {
            let Some(target) = longest_module(&path, &files) else {
                problems.push(format!(
                    "{} refers to {} of the crate root: name the module it comes from",
                    shown(src, file),
                    path.join("::")
                ));
                continue;
            };
            if target == *module || NOT_LAYERED.contains(&target.as_str()) {
                continue;
            }
            // A file in no layer is named once, above.
            let Some(&target_layer) = layer_of.get(&target) else {
                continue;
            };
            if target_layer > layer {
                problems.push(format!(
                    "{} (layer {layer}) refers to {} (layer {target_layer})",
                    shown(src, file),
                    shown(src, &files[&target])
                ));
            }
            edges.entry(module.clone()).or_default().insert(target);
        }
    }
    for cycle in cycles(&edges) {
        let names: Vec<String> = cycle.iter().map(|m| shown(src, &files[m])).collect();
        problems.push(format!("cycle between {}", names.join(", ")));
    }
    problems.sort();
    problems.dedup();
    problems
}

/// The crate's modules and their files: `""` for lib.rs, `a` for a.rs, `w` for
/// w/mod.rs, `w::x` for w/x.rs.
fn modules(src: &Path) -> std::io::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    let mut folders = vec![(src.to_path_buf(), Vec::<String>::new())];
    while let Some((folder, parents)) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            if path.is_dir() {
                let mut inner = parents.clone();
                inner.push(name);
                folders.push((path, inner));
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let mut module = parents.clone();
            if name != "mod" && name != "lib" {
                module.push(name);
            }
            out.insert(module.join("::"), path);
        }
    }
    Ok(out)
}

/// The text of the code: comments and string and character literals blanked, and
/// everything from a test module (`#[cfg(test)] mod`) on left out.
fn code(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !chars[..i].last().is_some_and(|p| ident_char(*p))
        {
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            let closing: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while j < chars.len() && !chars[j..].iter().collect::<String>().starts_with(&closing) {
                j += 1;
            }
            i = j + closing.len();
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next == Some('\\') {
            // '\n', '\'', '\u{..}'
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    // `#[cfg(test)] mod tests`, `#[cfg(all(test, feature = "testing"))] mod tests`.
    let mut at = 0;
    while let Some(found) = out[at..].find("#[cfg(") {
        let start = at + found;
        let Some(close) = out[start..].find(")]") else {
            break;
        };
        let attribute = &out[start..start + close];
        let rest = out[start + close + 2..].trim_start();
        let names_test = attribute
            .split(|c: char| !ident_char(c))
            .any(|word| word == "test");
        if names_test && (rest.starts_with("mod ") || rest.starts_with("pub mod ")) {
            out.truncate(start);
            break;
        }
        at = start + 1;
    }
    out
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The crate paths `code` (the code of `module`) names, each from the crate root.
fn references(
    module: &str,
    file: &Path,
    code: &str,
    files: &BTreeMap<String, PathBuf>,
) -> Vec<Vec<String>> {
    let here: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(str::to_string).collect()
    };
    let is_mod_rs = file.file_name().and_then(|n| n.to_str()) == Some("mod.rs");
    let children: BTreeSet<String> = files
        .keys()
        .filter_map(|m| {
            let rest = if here.is_empty() {
                m.as_str()
            } else {
                m.strip_prefix(&format!("{module}::"))?
            };
            (!rest.is_empty() && !rest.contains("::")).then(|| rest.to_string())
        })
        .collect();
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !ident_char(chars[i]) || (i > 0 && (ident_char(chars[i - 1]) || chars[i - 1] == ':')) {
            i += 1;
            continue;
        }
        let (word, end) = ident(&chars, i);
        if chars.get(end) != Some(&':') || chars.get(end + 1) != Some(&':') {
            i = end;
            continue;
        }
        let base: Option<Vec<String>> = match word.as_str() {
            "crate" => Some(Vec::new()),
            "self" => Some(here.clone()),
            "super" => Some(here[..here.len().saturating_sub(1)].to_vec()),
            w if is_mod_rs && children.contains(w) => {
                // A child module named from its mod.rs: parse it as `self::child`.
                let mut paths = Vec::new();
                tree(&chars, i, &mut Vec::new(), &mut paths);
                for path in paths {
                    let mut full = here.clone();
                    full.extend(path);
                    out.push(full);
                }
                i = end;
                continue;
            }
            _ => None,
        };
        if let Some(base) = base {
            let mut paths = Vec::new();
            tree(&chars, end + 2, &mut Vec::new(), &mut paths);
            for path in paths {
                let mut full = base.clone();
                // `super::super::x`
                for segment in path {
                    if segment == "super" {
                        full.pop();
                    } else {
                        full.push(segment);
                    }
                }
                out.push(full);
            }
        }
        i = end;
    }
    out
}

/// The identifier starting at `i`, and where it ends.
fn ident(chars: &[char], i: usize) -> (String, usize) {
    let mut end = i;
    while end < chars.len() && ident_char(chars[end]) {
        end += 1;
    }
    (chars[i..end].iter().collect(), end)
}

/// The paths of a use tree (or a plain path) starting at `i`: `a::b`, `{a, b::{self, C}}`.
fn tree(
    chars: &[char],
    mut i: usize,
    prefix: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    if chars.get(i) == Some(&'{') {
        i += 1;
        loop {
            while chars.get(i).is_some_and(|c| c.is_whitespace() || *c == ',') {
                i += 1;
            }
            match chars.get(i) {
                None => return i,
                Some('}') => return i + 1,
                _ => {}
            }
            let before = i;
            i = tree(chars, i, prefix, out);
            // Skip `as name` and anything else up to the next item.
            while chars.get(i).is_some_and(|c| *c != ',' && *c != '}') {
                i += 1;
            }
            if i == before {
                i += 1;
            }
        }
    }
    if !chars.get(i).is_some_and(|c| ident_char(*c)) {
        // `*`, or the end of the path.
        out.push(prefix.clone());
        return i;
    }
    let (word, end) = ident(chars, i);
    if word == "self" {
        out.push(prefix.clone());
        return end;
    }
    prefix.push(word);
    let next = if chars.get(end) == Some(&':') && chars.get(end + 1) == Some(&':') {
        tree(chars, end + 2, prefix, out)
    } else {
        out.push(prefix.clone());
        end
    };
    prefix.pop();
    next
}

/// The module (of `files`) a path goes through, deepest first; `None` when the path
/// names an item of the crate root.
fn longest_module(path: &[String], files: &BTreeMap<String, PathBuf>) -> Option<String> {
    for len in (1..=path.len()).rev() {
        let candidate = path[..len].join("::");
        if files.contains_key(&candidate) {
            return Some(candidate);
        }
    }
    None
}

/// The groups of modules that refer to each other in a circle (strongly connected
/// components of more than one module), each sorted.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for next in edges.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        edges.keys().map(|m| (m, reach(m))).collect();
    let mut groups: BTreeSet<Vec<String>> = BTreeSet::new();
    for (m, from_m) in &reachable {
        if !from_m.contains(*m) {
            continue;
        }
        let group: Vec<String> = from_m
            .iter()
            .filter(|o| reachable.get(o).is_some_and(|r| r.contains(*m)))
            .cloned()
            .collect();
        if group.len() > 1 {
            groups.insert(group);
        }
    }
    groups.into_iter().collect()
}

/// The file's path under `src`, as the problems name it.
fn shown(src: &Path, file: &Path) -> String {
    file.strip_prefix(src)
        .unwrap_or(file)
        .to_string_lossy()
        .replace('\\', "/")
}
