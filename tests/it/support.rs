//! What several test modules share: running the binary as a user does.

use assert_cmd::Command;

/// Runs `srcip-rules ARGS --color never` (NO_COLOR unset), checks the exit code, returns
/// (stdout, stderr).
#[track_caller]
pub(crate) fn run(args: &[&str], code: i32) -> (String, String) {
    let out = Command::cargo_bin("srcip-rules")
        .unwrap()
        .env_remove("NO_COLOR")
        .args(args)
        .args(["--color", "never"])
        .assert()
        .code(code);
    let o = out.get_output();
    (
        String::from_utf8(o.stdout.clone()).unwrap(),
        String::from_utf8(o.stderr.clone()).unwrap(),
    )
}
