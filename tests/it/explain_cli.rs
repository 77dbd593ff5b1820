//! `srcip-rules explain` as a user runs it: exit codes, messages, options and colour.

use assert_cmd::Command;

const D: &str = "testdata/nodes/v1.28-ext-multi-service-nft.txt";
const E: &str = "testdata/nodes/v1.28-ext-etp-local-nodeport-addresses-nft.txt";

fn srcip() -> Command {
    let mut cmd = Command::cargo_bin("srcip-rules").unwrap();
    cmd.env_remove("NO_COLOR");
    cmd
}

/// Runs `explain ARGS`, checks the exit code, returns (stdout, stderr).
fn run(args: &[&str], code: i32) -> (String, String) {
    let out = srcip().arg("explain").args(args).assert().code(code);
    let o = out.get_output();
    (
        String::from_utf8(o.stdout.clone()).unwrap(),
        String::from_utf8(o.stderr.clone()).unwrap(),
    )
}

#[test]
fn explained_port_exits_0() {
    let (out, _) = run(&["3001", D, "--color", "never"], 0);
    assert!(
        out.starts_with("nodePort 3001/tcp — service ns2/svc2:p80"),
        "{out}"
    );
    assert!(
        out.contains("all other sources (external clients)"),
        "{out}"
    );
    assert!(out.contains(": dropped"), "{out}");
}

#[test]
fn missing_node_port_exits_1_and_names_the_ports_the_dump_has() {
    let (out, err) = run(&["9999", D, "--color", "never"], 1);
    assert_eq!(
        err.matches("no nodePort rule for `9999`").count(),
        1,
        "{err}"
    );
    assert!(!out.contains("no nodePort rule"), "{out}");
    // The list is offered once, on standard error, nearest first (issue 13).
    assert!(!out.contains("3001/tcp"), "{out}");
    assert!(err.contains("9999"), "{err}");
    assert!(
        err.contains(
            "the dump has nodePorts: 3003/tcp (ns3/svc3:p80), 3002/tcp (ns5/svc5:p80), 3001/tcp (ns2/svc2:p80)"
        ),
        "{err}"
    );
    assert_eq!(err.matches("3001/tcp").count(), 1, "{err}");
    for format in ["markdown", "json"] {
        let (out, err) = run(&["9999", D, "--format", format], 1);
        assert_eq!(err.matches("3001/tcp").count(), 1, "{format}: {err}");
        let in_out = out.matches("3001/tcp").count();
        assert_eq!(in_out, usize::from(format == "json"), "{format}: {out}");
    }
}

#[test]
fn a_question_in_the_wrong_address_family_exits_1_and_says_which_dump_to_save() {
    // An IPv6 source against an IPv4-only dump: not found, with the way out.
    // Said once, on standard error (issue 9); standard output has no report for it.
    let (out, err) = run(&["3001", D, "--src", "2001:db8::1", "--color", "never"], 1);
    assert!(err.contains("was asked with IPv6 addresses"), "{err}");
    assert!(err.contains("`ip6tables-save`"), "{err}");
    assert!(!err.contains("the dump has nodePorts"), "{err}");
    assert!(err.contains(D) && err.contains("IPv4 rules only"), "{err}");
    assert_eq!(err.matches("was asked with").count(), 1, "{err}");
    assert!(!out.contains("was asked with"), "{out}");
    // The same question against the IPv6 node is answered.
    let v6 = "testdata/nodes/v1.28-ext-ipv6-all-kinds-nft.txt";
    let (out, _) = run(&["3001", v6, "--src", "2001:db8::1", "--color", "never"], 0);
    assert!(out.contains("IPv6 ruleset"), "{out}");
    // JSON names the family asked.
    let (out, _) = run(&["[2001:db8::5]:80", D, "--format", "json"], 1);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["found"], false);
    assert_eq!(doc["family_mismatch"]["asked"], "ipv6");
    assert_eq!(doc["family_mismatch"]["dump_has_family"], false);
}

#[test]
fn a_question_mixing_ipv4_and_ipv6_is_a_usage_error() {
    let (out, err) = run(&["3001", D, "--src", "10.0.0.1", "--dst", "2001:db8::1"], 2);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("not the same address family"), "{err}");
    run(&["[2001:db8::5]:80", D, "--node-ip", "192.0.2.10"], 2);
}

#[test]
fn unreadable_input_exits_3() {
    let (_, err) = run(&["3001", "testdata/does-not-exist.txt"], 3);
    assert!(err.contains("does-not-exist.txt"), "{err}");
}

#[test]
fn bad_target_exits_2() {
    let (_, err) = run(&["not-a-port", D], 2);
    assert!(err.contains("is not a nodePort"), "{err}");
    assert!(err.contains("namespace/name[:port]"), "{err}");
    // A number out of range is not a port either.
    run(&["70000", D], 2);
    // A bad address for an option is a usage error too.
    run(&["3001", D, "--src", "1.2.3"], 2);
}

#[test]
fn src_explains_only_that_source() {
    let (out, _) = run(&["3001", D, "--color", "never", "--src", "10.0.0.2"], 0);
    assert!(out.contains("source 10.0.0.2: 10.0.0.2 → "), "{out}");
    assert!(!out.contains("all other sources"), "{out}");
    assert!(out.contains(": preserved"), "{out}");
}

#[test]
fn dst_changes_the_destination() {
    // Dump E answers only on 192.168.0.2 (--nodeport-addresses). A remote client sending
    // to 127.0.0.1 is not DNATed and meets kubelet's "block incoming localnet" rule.
    let (out, _) = run(
        &[
            "3001",
            E,
            "--color",
            "never",
            "--src",
            "203.0.113.2",
            "--dst",
            "127.0.0.1",
        ],
        0,
    );
    assert!(out.contains("203.0.113.2 → 127.0.0.1: dropped"), "{out}");
    assert!(out.contains("[filter KUBE-FIREWALL]"), "{out}");
    let (out, _) = run(
        &[
            "3001",
            E,
            "--color",
            "never",
            "--src",
            "203.0.113.2",
            "--dst",
            "192.168.0.2",
        ],
        0,
    );
    assert!(
        out.contains("203.0.113.2 → 192.168.0.2: preserved"),
        "{out}"
    );
}

#[test]
fn node_ip_replaces_the_symbolic_node_address() {
    let (out, _) = run(&["3001", D, "--color", "never"], 0);
    assert!(
        out.contains("this node's address is symbolic: 192.0.2.10"),
        "{out}"
    );
    let (out, _) = run(
        &["3001", D, "--color", "never", "--node-ip", "192.168.0.2"],
        0,
    );
    assert!(!out.contains("symbolic"), "{out}");
    assert!(!out.contains("192.0.2.10"), "{out}");
    assert!(
        out.contains("this node's own addresses: 192.168.0.2 → 192.168.0.2: masqueraded"),
        "{out}"
    );
}

#[test]
fn color_always_shows_ansi_and_never_or_no_color_do_not() {
    let (out, _) = run(&["3001", D, "--color", "always"], 0);
    assert!(out.contains("\x1b["), "no ANSI escape with --color always");
    let (out, _) = run(&["3001", D, "--color", "never"], 0);
    assert!(!out.contains('\x1b'), "ANSI escape with --color never");
    let out = srcip()
        .args(["explain", "3001", D])
        .env("NO_COLOR", "1")
        .assert()
        .code(0);
    assert!(!String::from_utf8_lossy(&out.get_output().stdout).contains('\x1b'));
}

#[test]
fn service_name_target_finds_the_node_port() {
    let (out, _) = run(
        &[
            "test/nginx-externaltrafficpolicy",
            "testdata/partial/seed-grep-31015-etp-local.txt",
            "--color",
            "never",
        ],
        0,
    );
    assert!(
        out.starts_with("nodePort 31015/tcp — service test/nginx-externaltrafficpolicy:80-80-tcp"),
        "{out}"
    );
    assert!(out.contains("partial dump"), "{out}");
}

/// Markdown as it reads once rendered: a backslash before ASCII punctuation is dropped.
fn markdown_unescaped(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut chars = md.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek().is_some_and(char::is_ascii_punctuation) {
            continue;
        }
        out.push(c);
    }
    out
}

#[test]
fn formats_say_the_same_verdicts() {
    let (text, _) = run(&["3001", D, "--color", "never"], 0);
    let (md, _) = run(&["3001", D, "--format", "markdown"], 0);
    let md = markdown_unescaped(&md);
    let (json, _) = run(&["3001", D, "--format", "json"], 0);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    for class in doc["ports"][0]["classes"].as_array().unwrap() {
        let name = class["name"].as_str().unwrap();
        let verdict = class["verdict"].as_str().unwrap();
        assert!(text.contains(&format!("{name}:")), "{name}");
        assert!(
            text.lines()
                .any(|l| l.contains(&format!("{name}:")) && l.ends_with(&format!(": {verdict}"))),
            "text verdict for {name}"
        );
        assert!(
            md.contains(&format!("### {name} — {verdict}")),
            "markdown verdict for {name}"
        );
    }
}

#[test]
fn parse_errors_are_located_and_inspect_is_suggested() {
    let out = srcip()
        .args(["explain", "31000", "--color", "never"])
        .write_stdin(
            "*nat\n-A KUBE-NODEPORTS -p tcp -m tcp --dport 31000 -j KUBE-SVC-X\n\
             -A KUBE-SVC-X -s 10.0.0.300 -j ACCEPT\nCOMMIT\n",
        )
        .assert();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("could not be parsed (line 3); they were left out of the analysis. `srcip-rules inspect` on the same input shows why."),
        "{text}"
    );
}
