//! Issue 14: a usage error must not echo control characters from the command line raw.
//! `srcip-rules explain $'\e]52;c;QQ==\a'` wrote an OSC 52 sequence (set the clipboard)
//! to the terminal, through the project's own message and through clap's.

use std::io::Read;
use std::process::{Command, Stdio};

use wait_timeout::ChildExt;

const OSC_52: &str = "\u{1b}]52;c;QQ==\u{7}";
const SHOWN: &str = "\\x1b]52;c;QQ==\\x07";

fn srcip() -> Command {
    Command::new(env!("CARGO_BIN_EXE_srcip-rules"))
}

fn assert_no_control_characters(stderr: &str) {
    let raw: Vec<char> = stderr
        .chars()
        .filter(|&c| c.is_control() && c != '\n' && c != '\r')
        .collect();
    assert!(
        raw.is_empty(),
        "raw control characters {raw:?} in {stderr:?}"
    );
}

/// Runs with stderr on a pipe; returns (exit code, stderr).
fn usage_error(args: &[&str]) -> (Option<i32>, String) {
    let out = srcip().args(args).stdin(Stdio::null()).output().unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn a_target_that_is_not_a_port_address_or_service_is_shown_escaped() {
    let (code, stderr) = usage_error(&["explain", OSC_52]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with(&format!("srcip-rules: `{SHOWN}` is not a nodePort")),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
}

#[test]
fn clap_errors_quoting_the_command_line_are_shown_escaped() {
    for args in [
        vec![OSC_52],
        vec!["inspect", "--format", OSC_52],
        vec!["explain", "80", "--src", OSC_52],
        vec!["inspect", &format!("--{OSC_52}")],
    ] {
        let (code, stderr) = usage_error(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        // clap quotes `--name=value` up to the `=`.
        assert!(
            stderr.contains("'--\\x1b]52;c;QQ'") || stderr.contains(SHOWN),
            "{args:?}: {stderr}"
        );
        assert_no_control_characters(&stderr);
    }
}

/// On a terminal clap colours its message, and used to pass the argument through raw;
/// only clap's colours may reach the terminal now.
#[test]
fn on_a_terminal_the_usage_error_holds_no_escape() {
    let (mut controller, terminal) = crate::input::open_pty();
    let mut child = srcip()
        .args(["inspect", "--format", OSC_52])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(terminal))
        .spawn()
        .unwrap();
    let status = child
        .wait_timeout(std::time::Duration::from_secs(20))
        .unwrap();
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("still running");
    };
    assert_eq!(status.code(), Some(2));
    // The child has exited and holds no copy of the terminal side, which `spawn` closed in
    // this process: reading the controller gives what was written, then EIO.
    let mut written = Vec::new();
    let mut buf = [0; 4096];
    while let Ok(n) = controller.read(&mut buf) {
        if n == 0 {
            break;
        }
        written.extend_from_slice(&buf[..n]);
    }
    let written = String::from_utf8(written).unwrap();
    assert!(written.contains(SHOWN), "{written:?}");
    // clap colours its own words (SGR sequences, `\e[…m`); nothing else may be there.
    let sgr = regex::Regex::new("\u{1b}\\[[0-9;]*m").unwrap();
    assert_no_control_characters(&sgr.replace_all(&written, ""));
}
