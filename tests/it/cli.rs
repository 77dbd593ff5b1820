//! The binary as a user runs it: exit codes, formats, colour, and safe output.

use assert_cmd::Command;

fn srcip() -> Command {
    let mut cmd = Command::cargo_bin("srcip-rules").unwrap();
    cmd.env_remove("NO_COLOR");
    cmd
}

#[test]
fn inspect_clean_dump_exits_0_and_names_backend() {
    let out = srcip()
        .args([
            "inspect",
            "--color",
            "never",
            "testdata/dumps/v1.28-nft-with-counters.txt",
        ])
        .assert()
        .code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("iptables-nft-save v1.8.9, nf_tables, IPv4, complete"),
        "{text}"
    );
    assert!(text.contains("75 rules"), "{text}");
}

#[test]
fn inspect_reads_stdin() {
    let out = srcip()
        .args(["inspect", "--color", "never"])
        .write_stdin("*nat\n-A X -j ACCEPT\nCOMMIT\n")
        .assert()
        .code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.starts_with("<stdin>: 3 lines, 1 rules"), "{text}");
}

#[test]
fn inspect_parse_errors_exit_3_with_location() {
    let out = srcip()
        .args([
            "inspect",
            "--color",
            "never",
            "testdata/invalid/bad-address.txt",
        ])
        .assert()
        .code(3);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("--> testdata/invalid/bad-address.txt:2:18"),
        "{text}"
    );
}

#[test]
fn missing_file_exits_3_with_message() {
    let out = srcip()
        .args(["inspect", "no/such/file.txt"])
        .assert()
        .code(3);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(
        err,
        "srcip-rules: cannot read `no/such/file.txt`: no such file\n"
    );
}

#[test]
fn binary_input_exits_3_with_one_clear_error() {
    let out = srcip()
        .args(["inspect", "testdata/invalid/binary-nul.txt"])
        .assert()
        .code(3);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("binary file"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn usage_error_exits_2() {
    srcip()
        .args(["inspect", "--format", "yaml"])
        .assert()
        .code(2);
    srcip().args(["frobnicate"]).assert().code(2);
}

#[test]
fn many_errors_are_capped_with_a_count() {
    let text: String = std::iter::once("*nat\n".to_string())
        .chain((0..30).map(|i| format!("-A X -s 10.0.0.{} -j ACCEPT\n", 300 + i)))
        .chain(std::iter::once("COMMIT\n".to_string()))
        .collect();
    let out = srcip()
        .args(["inspect", "--color", "never", "--max-errors", "5"])
        .write_stdin(text)
        .assert()
        .code(3);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(text.matches("error: bad address").count(), 5);
    assert!(
        text.contains("... and 25 more error(s) not shown"),
        "{text}"
    );
}

#[test]
fn inspect_json_contract() {
    let out = srcip()
        .args([
            "inspect",
            "--format",
            "json",
            "testdata/dumps/nft-and-legacy-split.txt",
            "testdata/invalid/unterminated-quote.txt",
        ])
        .assert()
        .code(3);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["schema_version"], 1);
    let first = &json["inputs"][0];
    assert_eq!(first["rulesets"][0]["backend"], "nf_tables");
    assert_eq!(first["rulesets"][1]["backend"], serde_json::Value::Null);
    assert_eq!(first["rulesets"][1]["program"], "iptables-legacy-save");
    assert_eq!(first["rulesets"][0]["legacy_tables_warning_line"], 1);
    assert_eq!(first["rulesets"][0]["tables"][0]["name"], "filter");
    assert_eq!(first["rulesets"][0]["tables"][0]["rules"], 3);
    let second = &json["inputs"][1];
    assert_eq!(second["errors"], 1);
    assert_eq!(second["parse_errors"][0]["line"], 2);
    assert_eq!(second["parse_errors"][0]["column"], 39);
}

#[test]
fn color_always_uses_ansi_and_never_does_not() {
    let colored = srcip()
        .args([
            "inspect",
            "--color",
            "always",
            "testdata/invalid/bad-address.txt",
        ])
        .assert()
        .code(3);
    assert!(colored.get_output().stdout.contains(&0x1b));
    let plain = srcip()
        .args(["inspect", "testdata/invalid/bad-address.txt"])
        .env("NO_COLOR", "1")
        .assert()
        .code(3);
    assert!(!plain.get_output().stdout.contains(&0x1b));
}

#[test]
fn escape_sequences_from_the_dump_never_reach_the_terminal_raw() {
    for color in ["never", "always"] {
        let out = srcip()
            .args([
                "inspect",
                "--color",
                color,
                "testdata/invalid/escape-sequence-in-bad-line.txt",
            ])
            .assert()
            .code(3);
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(text.contains("\\x1b]0;owned\\x07"), "{text}");
        assert!(!text.contains("\u{1b}]"), "raw OSC sequence printed");
        assert!(!text.contains('\u{7}'), "raw BEL printed");
    }
}

#[test]
fn generate_writes_a_dump_that_inspect_accepts() {
    let out = srcip()
        .args([
            "generate",
            "--services",
            "20",
            "--kube-version",
            "1.21",
            "--backend",
            "legacy",
        ])
        .assert()
        .code(0);
    let dump = out.get_output().stdout.clone();
    assert!(dump.starts_with(b"# Generated by iptables-save v"));
    let inspected = srcip()
        .args(["inspect", "--format", "json"])
        .write_stdin(dump)
        .assert()
        .code(0);
    let json: serde_json::Value = serde_json::from_slice(&inspected.get_output().stdout).unwrap();
    assert_eq!(json["inputs"][0]["errors"], 0);
    assert_eq!(
        json["inputs"][0]["rulesets"][0]["backend"],
        serde_json::Value::Null
    );
}

#[test]
fn generate_unknown_scenario_is_a_usage_error() {
    srcip()
        .args(["generate", "--scenario", "nope"])
        .assert()
        .code(2);
    srcip().args(["generate"]).assert().code(2);
}

/// A generated dump of a few MB (large files once took a different path: mapped).
fn large_dump() -> String {
    use srcip_rules::generate::{Backend, KubeVersion, dump_to_string, synthetic};
    let text = dump_to_string(&synthetic(1_000, KubeVersion::V1_28, Backend::Nft));
    assert!(text.len() > 1 << 20, "{} bytes", text.len());
    text
}

/// Runs `args` on `text` once as a file and once on stdin,
/// and returns (exit code, stdout with the file's name replaced by `<stdin>`) for each.
fn as_file_and_as_stdin(text: &[u8], args: &[&str]) -> [(Option<i32>, String); 2] {
    // One file per call: tests run in parallel, and a file must not be rewritten while
    // another run reads it.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("srcip-rules-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("dump-{call}.txt"));
    std::fs::write(&path, text).unwrap();
    let path_text = path.to_str().unwrap().to_string();
    let run = |file: Option<&str>| {
        let mut cmd = srcip();
        cmd.args(args).args(["--color", "never"]);
        match file {
            Some(file) => cmd.arg(file),
            None => cmd.write_stdin(text.to_vec()),
        };
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).replace(&path_text, "<stdin>");
        let stderr = String::from_utf8_lossy(&out.stderr).replace(&path_text, "<stdin>");
        (out.status.code(), format!("{stdout}{stderr}"))
    };
    let results = [run(Some(&path_text)), run(None)];
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir(&dir);
    results
}

#[test]
fn a_large_file_is_read_the_same_as_standard_input() {
    let text = large_dump();
    let port = text
        .lines()
        .find(|l| l.starts_with("-A KUBE-NODEPORTS") && l.contains("KUBE-EXT-"))
        .and_then(|l| l.split("--dport ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .to_string();
    for args in [vec!["explain", port.as_str()], vec!["inspect"]] {
        let [file, stdin] = as_file_and_as_stdin(text.as_bytes(), &args);
        assert_eq!(file.0, Some(0), "{args:?}: {}", file.1);
        assert_eq!(file, stdin, "{args:?}");
    }
}

#[test]
fn a_large_file_with_a_latin1_byte_or_a_nul_byte_is_handled_like_standard_input() {
    let text = large_dump();
    // A Latin-1 comment line in the middle: tolerated and escaped.
    let middle = text.len() / 2 + text[text.len() / 2..].find('\n').unwrap() + 1;
    let mut latin1 = text.as_bytes()[..middle].to_vec();
    latin1.extend_from_slice(b"# caf\xe9\n");
    latin1.extend_from_slice(&text.as_bytes()[middle..]);
    let [file, stdin] = as_file_and_as_stdin(&latin1, &["inspect"]);
    assert!(
        file.1.contains("caf\\xe9") || file.1.contains("not UTF-8"),
        "{}",
        file.1
    );
    assert_eq!(file, stdin);
    // A NUL byte: refused as binary, exit 3.
    let mut binary = text.into_bytes();
    binary[middle] = 0;
    let [file, stdin] = as_file_and_as_stdin(&binary, &["inspect"]);
    assert_eq!(file.0, Some(3), "{}", file.1);
    assert!(file.1.contains("binary"), "{}", file.1);
    assert_eq!(file, stdin);
}

// Issue 13: every error is counted, the first 1000 (or --max-errors) kept in full.
#[test]
fn inspect_counts_every_error_and_shows_max_errors_of_them() {
    let input = "y\n".repeat(1500);
    let run = |extra: &[&str]| {
        let out = srcip()
            .args(["inspect", "--color", "never"])
            .args(extra)
            .write_stdin(input.clone())
            .assert()
            .code(3);
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let text = run(&[]);
    assert!(text.contains("1500 parse error(s)"), "{}", &text[..200]);
    assert!(
        text.contains("... and 1480 more error(s) not shown"),
        "{}",
        &text[text.len() - 200..]
    );
    let text = run(&["--max-errors", "1200"]);
    assert_eq!(text.matches("error: unknown line").count(), 1200);
    assert!(text.contains("... and 300 more error(s) not shown"));
}
