//! Writing output: a closed pipe is quiet and exits 0; a full disk or a closed standard
//! output is said on stderr and exits 4 — for every command (issue 14).

use std::process::Command;

const DUMP: &str = "testdata/nodes/v1.28-ext-multi-service-nft.txt";

fn binary() -> String {
    assert_cmd::cargo::cargo_bin("srcip-rules")
        .to_string_lossy()
        .into_owned()
}

/// Runs `script` in bash with `$BIN` set; returns (exit code, stderr).
fn bash(script: &str) -> (i32, String) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("BIN", binary())
        .env_remove("NO_COLOR")
        .output()
        .expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_full_disk_is_an_error_with_a_message_in_every_command_and_format() {
    for args in [
        format!("explain 3001 {DUMP}"),
        format!("explain 3001 {DUMP} --format markdown"),
        format!("explain 3001 {DUMP} --format json"),
        format!("inspect {DUMP}"),
        format!("inspect {DUMP} --format markdown"),
        format!("inspect {DUMP} --format json"),
        "generate --services 3".to_string(),
    ] {
        let (code, err) = bash(&format!("\"$BIN\" {args} > /dev/full"));
        assert_eq!(code, 4, "{args}: {err}");
        assert!(
            err.contains("cannot write output") && err.contains("No space left"),
            "{args}: {err}"
        );
    }
}

#[test]
fn a_closed_standard_output_is_an_error_with_a_message() {
    for args in [
        format!("explain 3001 {DUMP}"),
        format!("inspect {DUMP} --format json"),
    ] {
        let (code, err) = bash(&format!("\"$BIN\" {args} >&-"));
        assert_eq!(code, 4, "{args}: {err}");
        assert!(err.contains("standard output is closed"), "{args}: {err}");
    }
    // Output to /dev/null on purpose is not that.
    let (code, err) = bash(&format!("\"$BIN\" explain 3001 {DUMP} > /dev/null"));
    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn a_closed_pipe_is_quiet_and_exits_0() {
    // 4 MB of output into a reader that stops after one byte: the writer meets EPIPE.
    let (code, err) =
        bash("\"$BIN\" generate --services 2000 | head -c 1 > /dev/null; exit ${PIPESTATUS[0]}");
    assert_eq!((code, err.as_str()), (0, ""));
    let (code, err) = bash(&format!(
        "\"$BIN\" explain 3001 {DUMP} --format json | head -c 1 > /dev/null; exit ${{PIPESTATUS[0]}}"
    ));
    assert_eq!((code, err.as_str()), (0, ""));
}
