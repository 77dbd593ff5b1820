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
