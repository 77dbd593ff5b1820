//! `completions SHELL` and `man [SUBCOMMAND]`: scripts for every shell clap_complete
//! knows, and the man pages in docs/man/ are exactly what the binary prints (run with
//! `SRCIP_UPDATE_MAN=1` to rewrite them after changing the clap definitions).

use std::path::Path;

use assert_cmd::Command;

fn run(args: &[&str]) -> String {
    let out = Command::cargo_bin("srcip-rules")
        .unwrap()
        .args(args)
        .assert()
        .code(0);
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn completion_scripts_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = run(&["completions", shell]);
        for word in ["srcip-rules", "explain", "inspect", "graph", "redact-map"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    // bash reads its script without a syntax error (when bash is here).
    let script = run(&["completions", "bash"]);
    let dir = std::env::temp_dir().join(format!("srcip-completions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("srcip-rules.bash");
    std::fs::write(&path, script).unwrap();
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output();
    std::fs::remove_dir_all(&dir).unwrap();
    match checked {
        Ok(out) => assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("skipped: no bash to check the bash script with"),
    }
    Command::cargo_bin("srcip-rules")
        .unwrap()
        .args(["completions", "tcsh"])
        .assert()
        .code(2);
}

#[test]
fn the_man_pages_in_docs_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    let main = run(&["man"]);
    assert!(
        main.starts_with(".ie ") && main.contains(".TH srcip-rules 1"),
        "{main}"
    );
    // The subcommands the main page lists (help aside).
    let subcommands: Vec<String> = main
        .lines()
        .filter_map(|l| l.strip_prefix("srcip\\-rules\\-")?.strip_suffix("(1)"))
        .map(|s| s.replace("\\-", "-"))
        .filter(|s| s != "help")
        .collect();
    for wanted in [
        "inspect",
        "explain",
        "generate",
        "graph",
        "completions",
        "man",
    ] {
        assert!(subcommands.iter().any(|s| s == wanted), "{subcommands:?}");
    }
    let mut pages = vec![("srcip-rules.1".to_string(), main)];
    for sub in &subcommands {
        pages.push((format!("srcip-rules-{sub}.1"), run(&["man", sub])));
    }
    let update = std::env::var_os("SRCIP_UPDATE_MAN").is_some();
    let mut stale = Vec::new();
    for (name, page) in &pages {
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, page).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_ref() != Some(page) {
            stale.push(name.clone());
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = pages.iter().map(|(n, _)| n.clone()).collect();
    expected.sort();
    assert_eq!(on_disk, expected, "docs/man holds pages of no subcommand");
    assert!(
        stale.is_empty(),
        "stale man pages {stale:?}: run `SRCIP_UPDATE_MAN=1 cargo test --test it docs` and commit docs/man/"
    );
    // One subcommand's page is named after it.
    assert!(pages[1].1.contains(".TH srcip-rules-"));
}
