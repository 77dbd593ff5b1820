//! The layering rule of docs/architecture.md, enforced: each layer of `src/` uses only
//! the layers below it. Test code (`tests.rs` files and `#[cfg(test)]` modules) may use
//! anything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each layer and the layers its code may use (besides itself).
const ALLOWED: &[(&str, &[&str])] = &[
    ("exit", &[]),
    ("source", &[]),
    ("model", &["source"]),
    ("parse", &["model", "source"]),
    ("netfilter", &["model", "parse", "source"]),
    ("kube", &["netfilter", "model", "parse", "source"]),
    ("report", &["kube", "netfilter", "model", "parse", "source"]),
    ("generate", &[]),
    (
        "cli",
        &[
            "exit",
            "report",
            "kube",
            "netfilter",
            "model",
            "parse",
            "source",
            "generate",
        ],
    ),
];

/// The `.rs` files of a layer (a folder, or one file at the top of `src/`).
fn layer_files(root: &Path, layer: &str) -> Vec<PathBuf> {
    let dir = root.join(layer);
    if !dir.is_dir() {
        return vec![root.join(format!("{layer}.rs"))];
    }
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The crate modules a file's non-test, non-comment code names (`crate::NAME`).
fn used_layers(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut used = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for (at, _) in line.match_indices("crate::") {
            let name: String = line[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            used.insert(name);
        }
    }
    used
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut broken = Vec::new();
    for (layer, allowed) in ALLOWED {
        for file in layer_files(&root, layer) {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == "tests.rs" || name.ends_with("_tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("read source");
            for used in used_layers(&text) {
                if used != *layer && !allowed.contains(&used.as_str()) {
                    broken.push(format!("{} uses crate::{used}", file.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn every_layer_of_the_tree_is_listed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let listed: BTreeSet<&str> = ALLOWED.iter().map(|(layer, _)| *layer).collect();
    for entry in std::fs::read_dir(&root).expect("read src") {
        let path = entry.expect("entry").path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if matches!(stem, "lib" | "main") {
            continue;
        }
        assert!(listed.contains(stem), "src/{stem} is not in ALLOWED");
    }
}

#[test]
fn the_checker_sees_a_use_that_breaks_the_rule() {
    let text = "//! doc naming crate::report\nuse crate::model::Dump;\nuse crate::report::words;\n#[cfg(test)]\nuse crate::cli;\n";
    let used = used_layers(text);
    assert_eq!(
        used,
        ["model", "report"].into_iter().map(String::from).collect()
    );
}
