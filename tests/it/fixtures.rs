//! Every shipped dump parses; every invalid dump's diagnostics are pinned by a snapshot.

use std::path::Path;

use srcip_rules::parse::parse_dump;
use srcip_rules::report::{Palette, diagnostic};
use srcip_rules::source::Source;

fn read(path: &Path) -> Result<Source, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    Source::from_bytes(path.file_name().unwrap().to_string_lossy(), bytes)
        .map_err(|e| e.to_string())
}

#[test]
fn every_valid_dump_parses_without_errors() {
    let mut checked = 0;
    for dir in ["dumps", "nodes", "partial", "kernel"] {
        let Ok(entries) = std::fs::read_dir(Path::new("testdata").join(dir)) else {
            continue;
        };
        let mut paths: Vec<std::path::PathBuf> = Vec::new();
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                // testdata/kernel/<scenario>/<node>.iptables-save
                for inner in std::fs::read_dir(&path).unwrap() {
                    paths.push(inner.unwrap().path());
                }
            } else {
                paths.push(path);
            }
        }
        for path in paths {
            if path
                .extension()
                .is_none_or(|e| e != "txt" && e != "iptables-save")
            {
                continue;
            }
            let source = read(&path).unwrap();
            let parsed = parse_dump(&source);
            assert!(
                parsed.errors().is_empty(),
                "{}: {:?}",
                path.display(),
                parsed.errors()
            );
            assert!(
                !parsed.dump.rules.is_empty(),
                "{} has no rules",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} dumps found");
}

#[test]
fn invalid_dumps_render_diagnostics() {
    insta::glob!("../../testdata", "invalid/*.txt", |path| {
        let rendered = match read(path) {
            Err(message) => message,
            Ok(source) => {
                let parsed = parse_dump(&source);
                assert!(
                    !parsed.errors().is_empty(),
                    "{} parsed cleanly",
                    path.display()
                );
                parsed
                    .errors()
                    .iter()
                    .map(|e| diagnostic::render(&source, e, Palette::new(false)))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        };
        assert!(!rendered.contains('\u{1b}'), "raw escape in output");
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn latin1_byte_is_tolerated_and_shown_escaped() {
    let source = read(Path::new(
        "testdata/dumps/legacy-filter-odd-forms-latin1.txt",
    ))
    .unwrap();
    assert_eq!(source.lossy_lines(), &[6]);
    let parsed = parse_dump(&source);
    assert!(parsed.errors().is_empty());
    let body = parsed.rules().body(srcip_rules::model::RuleId(0)).unwrap();
    assert_eq!(
        srcip_rules::report::sanitize(body.comment().unwrap()),
        "caf\\xe9 admin port"
    );
}
