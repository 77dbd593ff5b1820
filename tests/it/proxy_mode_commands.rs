//! A dump from a proxy mode srcip-rules cannot analyse (IPVS, nftables, userspace, Cilium's
//! kube-proxy replacement, only kubelet's chains) through every command besides `explain`
//! (whose tests are in `proxy_mode.rs`): `graph`, `ports`, `check` and `diff` name the mode
//! as `explain` does and exit 6, never an empty graph, "no nodePorts" or "not found";
//! `trace` walks the iptables rules as before (exit 0) with a note on what the mode does
//! besides, and exits 6 only when there was nothing to walk.

use crate::support::run;

const IPVS: &str = "testdata/nodes/v1.28-ipvs-nodeports-in-ipsets-legacy.txt";
const NFT_TEXT: &str = "testdata/foreign/v1.31-nftables-mode-nft-list-ruleset.txt";
const NFT_LEFTOVERS: &str = "testdata/nodes/v1.31-nftables-mode-kubelet-leftovers-nft.txt";
const USERSPACE: &str = "testdata/nodes/v1.16-userspace-nodeport-legacy.txt";
const CILIUM: &str = "testdata/nodes/cilium-kube-proxy-replacement-no-kube-proxy-nft.txt";
const IPTABLES: &str = "testdata/nodes/v1.28-ext-multi-service-nft.txt";

/// Every dump of a mode srcip-rules cannot analyse, with words its reports must hold.
const MODES: [(&str, &str); 5] = [
    (IPVS, "kube-proxy in IPVS mode"),
    (NFT_TEXT, "kube-proxy's nftables mode"),
    (
        NFT_LEFTOVERS,
        "kube-proxy runs in nftables mode or not at all",
    ),
    (USERSPACE, "kube-proxy in userspace mode"),
    (CILIUM, "Cilium's kube-proxy replacement"),
];

#[track_caller]
fn assert_has(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "missing {w:?} in:\n{text}");
    }
}

/// Markdown without its escapes (`kube\-proxy` → `kube-proxy`).
fn unescaped(text: &str) -> String {
    text.replace('\\', "")
}

/// Neither stream says the target or the nodePorts are simply missing.
#[track_caller]
fn assert_not_missing(out: &str, err: &str) {
    for said in [out, err] {
        for wrong in [
            "no KUBE-NODEPORTS",
            "no nodePort rule",
            "no nodePorts in the dump",
            "not in the dump",
            "no such nodePort",
        ] {
            assert!(!said.contains(wrong), "{wrong:?} in:\n{said}");
        }
    }
}

#[test]
fn graph_names_the_mode_and_draws_no_empty_graph() {
    for (dump, words) in MODES {
        for format in ["dot", "mermaid"] {
            let (out, err) = run(&["graph", "30081", dump, "--format", format], 6);
            assert!(out.is_empty(), "{dump}: {out}");
            assert_not_missing(&out, &err);
            assert!(err.starts_with(&format!("srcip-rules: {dump}: ")), "{err}");
            assert_has(&err, &[words]);
        }
    }
    let (_, err) = run(&["graph", "30081", IPVS], 6);
    assert_has(
        &err,
        &[
            "nodePort 30081/tcp: the dump is from kube-proxy in IPVS mode, which srcip-rules cannot analyse",
            "the rule on line 64 returns before any mark",
            "`ipvsadm -Ln -t <node IP>:30081`",
        ],
    );
    // Beside a dump it can draw: that one's graph, and exit 6 still.
    let (out, _) = run(&["graph", "3001", IPTABLES, IPVS], 6);
    assert!(
        out.contains("digraph") && out.contains("KUBE-NODEPORTS"),
        "{out}"
    );
}

#[test]
fn ports_names_the_mode_per_node_in_every_format() {
    for (dump, words) in MODES {
        for format in ["text", "markdown", "json"] {
            let (out, err) = run(&["ports", dump, "--format", format], 6);
            assert_not_missing(&out, &err);
            assert_has(&unescaped(&out), &[words]);
            assert_has(&err, &[&format!("srcip-rules: {dump}: nodePorts: ")]);
        }
    }
    // Several nodes: each its own; the mode outranks the nodePorts found elsewhere.
    let (out, _) = run(&["ports", IPTABLES, IPVS], 6);
    assert_has(
        &out,
        &[
            "3001/tcp              nodePort         ns2/svc2:p80",
            "== v1.28-ipvs-nodeports-in-ipsets-legacy ==\nnodePorts: the dump is from kube-proxy in IPVS mode",
        ],
    );
    let (json, _) = run(&["ports", IPTABLES, NFT_TEXT, "--format", "json"], 6);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(doc["nodes"][0]["unsupported_mode"].is_null());
    assert_eq!(doc["nodes"][1]["unsupported_mode"]["mode"], "nftables");
    assert_eq!(
        doc["nodes"][1]["unsupported_mode"]["commands"][0],
        "nft list table ip kube-proxy"
    );
    // An iptables dump whose rows are all filtered out is no such case.
    let (out, _) = run(&["ports", IPTABLES, "--namespace", "none"], 0);
    assert_has(
        &out,
        &["no nodePort, LoadBalancer IP or externalIP matches the filters"],
    );
}

#[test]
fn ports_snapshots_on_the_ipvs_dump() {
    let (text, _) = run(&["ports", IPVS], 6);
    insta::assert_snapshot!("ipvs-ports-text", text);
    let (md, _) = run(&["ports", IPVS, "--format", "markdown"], 6);
    insta::assert_snapshot!("ipvs-ports-markdown", md);
    let (json, _) = run(&["ports", IPVS, "--format", "json"], 6);
    insta::assert_snapshot!("ipvs-ports-json", json);
}

const PACKET: [&str; 6] = [
    "--src",
    "203.0.113.7",
    "--dst",
    "192.0.2.10",
    "--dport",
    "30081",
];

/// `trace` with the packet above.
#[track_caller]
fn trace(dump: &str, format: &str, code: i32) -> (String, String) {
    let mut args = vec!["trace"];
    args.extend(PACKET);
    args.extend([dump, "--format", format]);
    run(&args, code)
}

#[test]
fn trace_keeps_the_walk_and_notes_what_the_mode_does_besides() {
    for (dump, _) in MODES.iter().filter(|(d, _)| *d != NFT_TEXT) {
        let (out, err) = trace(dump, "text", 0);
        assert!(err.is_empty(), "{err}");
        assert!(out.contains("branch 1 (p="), "{dump}: {out}");
        assert!(out.contains("\nnote: the dump is from "), "{dump}: {out}");
    }
    let (out, _) = trace(IPVS, "text", 0);
    assert_has(
        &out,
        &[
            "note: the dump is from kube-proxy in IPVS mode, shown by nat KUBE-NODE-PORT (line 64)",
            "IPVS, not these rules, does the DNAT: a connection to a service address or nodePort is delivered locally (INPUT)",
            "  run on the node: ipset list KUBE-NODE-PORT-LOCAL-TCP; ipset list KUBE-NODE-PORT-TCP; ipvsadm -Ln\n",
        ],
    );
    let (md, _) = trace(IPVS, "markdown", 0);
    assert_has(
        &md,
        &["> **Note:** the dump is from kube\\-proxy in IPVS mode"],
    );
    let (json, _) = trace(IPVS, "json", 0);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let input = &doc["inputs"][0];
    assert_eq!(input["found"], true);
    assert_eq!(input["unsupported_mode"]["mode"], "ipvs");
    assert!(
        !input["rulesets"][0]["branches"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // An iptables-mode dump gets no note.
    let (out, _) = trace(IPTABLES, "text", 0);
    assert!(!out.contains("note: the dump is from"), "{out}");
    let (json, _) = trace(IPTABLES, "json", 0);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(doc["inputs"][0]["unsupported_mode"].is_null());
}

#[test]
fn trace_of_nft_text_has_nothing_to_walk_and_exits_6() {
    for format in ["text", "markdown", "json"] {
        let (out, err) = trace(NFT_TEXT, format, 6);
        assert_has(
            &err,
            &[&format!(
                "srcip-rules: {NFT_TEXT}: the dump is from kube-proxy in nftables mode, shown by line 71"
            )],
        );
        assert!(!err.contains("the dump has no rules"), "{err}");
        assert_has(&out, &["nftables mode"]);
    }
}

/// The trace's head on the IPVS dump: the packet, the note and the first branch's outcome.
/// The walk itself is the netfilter core's, unchanged and covered by `trace.rs`; the
/// snapshots hold what this change adds, and how the walk begins.
#[test]
fn trace_snapshots_on_the_ipvs_dump() {
    let head = |text: &str, stop: &str| -> String {
        let end = text.find(stop).expect(stop);
        text[..end].to_string()
    };
    let (text, _) = trace(IPVS, "text", 0);
    insta::assert_snapshot!("ipvs-trace-text-head", head(&text, "    PREROUTING\n"));
    let (md, _) = trace(IPVS, "markdown", 0);
    insta::assert_snapshot!("ipvs-trace-markdown-head", head(&md, "| 2 |"));
    let (json, _) = trace(IPVS, "json", 0);
    let mut doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let input = &mut doc["inputs"][0];
    let branches = input["rulesets"][0]["branches"].as_array().unwrap().len();
    input["rulesets"] = serde_json::json!(format!("{branches} branches (left out)"));
    insta::assert_snapshot!(
        "ipvs-trace-json",
        serde_json::to_string_pretty(&doc).unwrap()
    );
}

#[test]
fn check_names_the_mode_instead_of_not_found() {
    for (dump, words) in MODES {
        for format in ["text", "markdown", "json"] {
            let (out, err) = run(
                &[
                    "check",
                    "--expect",
                    "30081:external=preserved",
                    dump,
                    "--format",
                    format,
                ],
                6,
            );
            assert_not_missing(&out, &err);
            assert_has(&unescaped(&out), &[words, "not checked"]);
        }
    }
    let (out, _) = run(&["check", "--expect", "30081:external=preserved", IPVS], 6);
    assert_has(
        &out,
        &[
            "n/a  30081:external=preserved: not checked: nodePort 30081/tcp: the dump is from kube-proxy in IPVS mode",
            "`ipvsadm -Ln -t <node IP>:30081`",
            "0 of 1 expectation held, 1 not checked",
        ],
    );
    let (json, _) = run(
        &[
            "check",
            "--expect",
            "30081:external=preserved",
            CILIUM,
            "--format",
            "json",
        ],
        6,
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["results"][0]["fate"], "unsupported-mode");
    assert_eq!(doc["results"][0]["proxy_mode"], "cilium");
    // A failure on another node does not hide the mode: 6 outranks 5, as in explain.
    let (out, _) = run(
        &[
            "check",
            "--expect",
            "3001:external=preserved",
            IPTABLES,
            IPVS,
        ],
        6,
    );
    assert_has(
        &out,
        &["FAIL v1.28-ext-multi-service-nft: 3001:external=preserved: external is dropped"],
    );
    // Only iptables mode: as before.
    run(&["check", "--expect", "3001:external=dropped", IPTABLES], 0);
    run(
        &["check", "--expect", "3001:external=preserved", IPTABLES],
        5,
    );
}

#[test]
fn diff_names_the_mode_and_compares_nothing() {
    for (dump, words) in MODES {
        for format in ["text", "markdown", "json"] {
            let (out, err) = run(&["diff", IPTABLES, dump, "--format", format], 6);
            assert_not_missing(&out, &err);
            assert_has(&unescaped(&out), &[words]);
            assert_has(&err, &[&format!("srcip-rules: {dump}: nodePorts: ")]);
        }
    }
    let (out, _) = run(&["diff", IPVS, IPTABLES], 6);
    assert!(
        out.starts_with("diff v1.28-ipvs-nodeports-in-ipsets-legacy v1.28-ext-multi-service-nft: nothing compared: v1.28-ipvs-nodeports-in-ipsets-legacy is from a proxy mode srcip-rules cannot analyse\n"),
        "{out}"
    );
    assert!(!out.contains("SOURCE"), "{out}");
    // With a target, too.
    let (_, err) = run(&["diff", IPTABLES, IPVS, "30081"], 6);
    assert!(!err.contains("on either node"), "{err}");
    let (json, _) = run(&["diff", IPVS, NFT_TEXT, "--format", "json"], 6);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["a"]["unsupported_mode"]["mode"], "ipvs");
    assert_eq!(doc["b"]["unsupported_mode"]["mode"], "nftables");
    assert_eq!(doc["compared"], 0);
    // Two iptables-mode dumps: as before.
    let (json, _) = run(&["diff", IPTABLES, IPTABLES, "--format", "json"], 0);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(doc["a"]["unsupported_mode"].is_null());
}
