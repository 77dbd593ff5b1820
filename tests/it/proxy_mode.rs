//! Issue 9: a dump from a proxy mode `explain` cannot analyse (IPVS, nftables, userspace,
//! Cilium's kube-proxy replacement, or only kubelet's chains) is named as such by
//! `explain` (exit 6, with what to run instead) and by `inspect`, never answered with
//! "no KUBE-NODEPORTS rules at all".

use assert_cmd::Command;

use crate::support::run;

const IPVS: &str = "testdata/nodes/v1.28-ipvs-nodeports-in-ipsets-legacy.txt";
const NFT_LEFTOVERS: &str = "testdata/nodes/v1.31-nftables-mode-kubelet-leftovers-nft.txt";
const USERSPACE: &str = "testdata/nodes/v1.16-userspace-nodeport-legacy.txt";
const CILIUM: &str = "testdata/nodes/cilium-kube-proxy-replacement-no-kube-proxy-nft.txt";
const NFT_TEXT: &str = "testdata/foreign/v1.31-nftables-mode-nft-list-ruleset.txt";
const IPTABLES: &str = "testdata/nodes/v1.28-ext-multi-service-nft.txt";

/// `explain` that must exit 6; returns stdout and checks that neither stream says the
/// nodePort is missing.
#[track_caller]
fn explain_unsupported(args: &[&str]) -> String {
    let mut all = vec!["explain"];
    all.extend_from_slice(args);
    let (out, err) = run(&all, 6);
    for said in [&out, &err] {
        assert!(!said.contains("no KUBE-NODEPORTS"), "{said}");
        assert!(!said.contains("no nodePort rule"), "{said}");
    }
    // Standard error names the input and the mode, on one line.
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("srcip-rules: testdata/"), "{err}");
    out
}

#[track_caller]
fn assert_has(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "missing {w:?} in:\n{text}");
    }
}

#[test]
fn ipvs_dump_names_ipvs_mode_its_ipsets_and_ipvsadm() {
    let out = explain_unsupported(&["30081", IPVS]);
    assert!(
        out.starts_with("nodePort 30081/tcp: the dump is from kube-proxy in IPVS mode"),
        "{out}"
    );
    assert_has(
        &out,
        &[
            "shown by: nat KUBE-NODE-PORT, line 64",
            "line 64 [nat KUBE-NODE-PORT]",
            "line 65 [nat KUBE-NODE-PORT]",
            "If 30081 is in KUBE-NODE-PORT-LOCAL-TCP (externalTrafficPolicy: Local), the rule on line 64 returns before any mark",
            "the rule on line 65 marks it and KUBE-POSTROUTING masquerades every source",
            "    ipset list KUBE-NODE-PORT-LOCAL-TCP\n",
            "    ipset list KUBE-NODE-PORT-TCP\n",
            "    ipvsadm -Ln -t <node IP>:30081\n",
        ],
    );
    insta::assert_snapshot!("ipvs-explain-text", out);
}

#[test]
fn ipvs_commands_follow_the_protocol_and_the_node_address() {
    let out = explain_unsupported(&["30081/udp", "--node-ip", "192.0.2.10", IPVS]);
    assert_has(
        &out,
        &[
            "ipset list KUBE-NODE-PORT-LOCAL-UDP",
            "ipset list KUBE-NODE-PORT-UDP",
            "ipvsadm -Ln -u 192.0.2.10:30081",
            "kube-proxy's KUBE-NODE-PORT rule for that set (not in this dump)",
        ],
    );
    // An address is asked of IPVS directly.
    let out = explain_unsupported(&["10.233.0.10:53/udp", IPVS]);
    assert_has(&out, &["ipvsadm -Ln -u 10.233.0.10:53"]);
}

#[test]
fn kubelet_leftovers_name_nftables_mode_or_no_kube_proxy_both() {
    let out = explain_unsupported(&["30081", NFT_LEFTOVERS]);
    assert_has(
        &out,
        &[
            "only kubelet's chains: kube-proxy runs in nftables mode or not at all",
            "shown by: mangle KUBE-IPTABLES-HINT, line 8",
            "    nft list table ip kube-proxy\n",
            "    cilium-dbg service list\n",
        ],
    );
    insta::assert_snapshot!("nftables-or-none-explain-text", out);
}

#[test]
fn userspace_dump_says_the_backend_never_sees_the_client() {
    let out = explain_unsupported(&["30080", USERSPACE]);
    assert_has(
        &out,
        &[
            "kube-proxy in userspace mode (removed in Kubernetes 1.26)",
            "Lines 56 and 57 send nodePort 30080/tcp to a port of kube-proxy's own process",
            "line 56 [nat KUBE-NODEPORT-CONTAINER]",
            "line 57 [nat KUBE-NODEPORT-HOST]",
            "Whatever the source, the backend never sees the client's address",
        ],
    );
    insta::assert_snapshot!("userspace-explain-text", out);
}

#[test]
fn cilium_dump_says_no_kube_proxy_and_points_at_cilium() {
    let out = explain_unsupported(&["30081", CILIUM]);
    assert_has(
        &out,
        &[
            "no kube-proxy here: Cilium's chains are present and there is no KUBE-SERVICES",
            "    cilium-dbg service list\n",
            "    cilium-dbg status --verbose\n",
        ],
    );
    insta::assert_snapshot!("cilium-explain-text", out);
}

#[test]
fn nft_list_ruleset_names_kube_proxy_s_nftables_mode_in_explain_and_inspect() {
    // explain reads no verdict from the text (nothing on standard output) and exits 6, the
    // code of a proxy mode it cannot analyse; one more line names kube-proxy's nftables mode
    // and what in its table decides the nodePort.
    let (out, err) = run(&["explain", "30081", NFT_TEXT], 6);
    assert!(out.is_empty(), "{out}");
    assert!(!err.contains("no KUBE-NODEPORTS"), "{err}");
    let note = err
        .lines()
        .find(|l| l.contains("this is kube-proxy's nftables mode"))
        .unwrap_or_else(|| panic!("no nftables-mode line in:\n{err}"));
    assert_has(
        note,
        &[
            "nodePort 30081/tcp: this is kube-proxy's nftables mode (table ip kube-proxy), which srcip-rules cannot analyse yet",
            "line 112 (map service-nodeports) sends nodePort 30081/tcp to chain external-PLVUX2VM-web/frontend/tcp/http",
            "Run on the node: `nft list table ip kube-proxy`.",
        ],
    );
    insta::assert_snapshot!("nftables-text-explain-stderr", err);
    // inspect refuses it too (exit 3), naming kube-proxy's nftables mode twice: the mode
    // it found and the parse error.
    let (out, _) = run(&["inspect", NFT_TEXT], 3);
    assert_has(
        &out,
        &[
            "proxy mode: kube-proxy in nftables mode, shown by line 71: `table ip kube-proxy {`",
            "kube-proxy's nftables mode (table `ip kube-proxy`) cannot be analysed yet",
        ],
    );
}

/// The IPv4 part of `nft list ruleset` text with kube-proxy's table, as the library reads it
/// (the command line refuses such text before explaining it).
#[test]
fn the_library_explains_nft_text_as_nftables_mode() {
    use srcip_rules::kube::mode::ProxyMode;
    use srcip_rules::kube::{ExplainOptions, explain};
    let text = std::fs::read_to_string(NFT_TEXT).unwrap();
    let parsed = srcip_rules::parse::parse_text(&text);
    let options = ExplainOptions {
        target: "30082".parse().unwrap(),
        src: None,
        dst: None,
        node_ips: Vec::new(),
        max_paths: srcip_rules::netfilter::MAX_PATHS,
    };
    let e = explain(&parsed.rules(), &options);
    let u = e.unsupported_mode.as_ref().expect("unsupported");
    assert_eq!(u.mode, ProxyMode::Nftables);
    assert_eq!(u.target_rules[0].sighting.line, 113);
    let mut out = Vec::new();
    srcip_rules::report::renderer(
        srcip_rules::report::Format::Text,
        srcip_rules::report::Palette::new(false),
    )
    .explanation(&e, &mut out)
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_has(
        &out,
        &[
            "line 113 [ip kube-proxy map service-nodeports] tcp . 30082 : goto external-T5O6R3H3-web/backend/tcp/http",
            "    nft list table ip kube-proxy\n",
        ],
    );
}

#[test]
fn an_iptables_mode_dump_is_explained_or_not_found_as_before() {
    let (out, _) = run(&["explain", "3001", IPTABLES], 0);
    assert!(!out.contains("proxy mode"), "{out}");
    let (_, err) = run(&["explain", "9999", IPTABLES], 1);
    assert!(err.contains("no nodePort rule for `9999`"), "{err}");
}

#[test]
fn an_unsupported_mode_outranks_a_port_found_elsewhere() {
    let (out, err) = run(&["explain", "3001", IPTABLES, IPVS], 6);
    assert!(out.contains("nodePort 3001/tcp — service"), "{out}");
    assert!(out.contains("kube-proxy in IPVS mode"), "{out}");
    assert!(err.contains(IPVS), "{err}");
}

#[test]
fn markdown_and_json_name_the_mode_too() {
    let (md, _) = run(&["explain", "30081", IPVS, "--format", "markdown"], 6);
    assert_has(
        &md,
        &[
            "## nodePort 30081\\/tcp\\: the dump is from kube\\-proxy in IPVS mode",
            "- **Run on the node:**",
            "  - `ipvsadm -Ln -t <node IP>:30081`",
        ],
    );
    let (json, _) = run(&["explain", "30081", CILIUM, "--format", "json"], 6);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["proxy_mode"], "cilium");
    assert_eq!(doc["unsupported_mode"]["mode"], "cilium");
    assert_eq!(
        doc["unsupported_mode"]["commands"][0],
        "cilium-dbg service list"
    );
}

#[test]
fn inspect_names_each_ruleset_s_mode() {
    let (out, _) = run(
        &["inspect", IPVS, NFT_LEFTOVERS, USERSPACE, CILIUM, IPTABLES],
        0,
    );
    assert_has(
        &out,
        &[
            "    proxy mode: kube-proxy in IPVS mode, shown by nat KUBE-NODE-PORT (line 64), nat KUBE-LOAD-BALANCER (line 62) and filter KUBE-IPVS-FILTER (line 36)\n",
            "    proxy mode: kube-proxy in nftables mode, or no kube-proxy (only kubelet's chains), shown by mangle KUBE-IPTABLES-HINT (line 8)",
            "    proxy mode: kube-proxy in userspace mode (removed in Kubernetes 1.26), shown by nat KUBE-NODEPORT-CONTAINER (line 56)",
            "    proxy mode: no kube-proxy: Cilium's kube-proxy replacement (eBPF), shown by nat CILIUM_",
            "    proxy mode: kube-proxy in iptables mode, shown by nat KUBE-NODEPORTS (line 92)",
        ],
    );
    let (json, _) = run(
        &[
            "inspect",
            "--format",
            "json",
            IPVS,
            NFT_LEFTOVERS,
            USERSPACE,
            CILIUM,
            IPTABLES,
            NFT_TEXT,
        ],
        3,
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let codes: Vec<(&str, &str)> = doc["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let ruleset = i["rulesets"]
                .get(0)
                .map_or("-", |r| r["proxy_mode"].as_str().unwrap());
            (i["proxy_mode"].as_str().unwrap(), ruleset)
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("ipvs", "ipvs"),
            ("nftables-or-none", "nftables-or-none"),
            ("userspace", "userspace"),
            ("cilium", "cilium"),
            ("iptables", "iptables"),
            ("nftables", "-"),
        ]
    );
    assert_eq!(doc["inputs"][5]["proxy_mode_evidence"][0]["line"], 71);
    assert_eq!(
        doc["inputs"][0]["rulesets"][0]["proxy_mode_evidence"][0]["chain"],
        "KUBE-NODE-PORT"
    );
}

/// An IPVS-mode nat table with an iptables-mode nodePort left beside it.
const MIXED: &str = "*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n\
    :KUBE-NODE-PORT - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-SVC-ABCDEFGHIJKLMNOP - [0:0]\n\
    -A PREROUTING -j KUBE-SERVICES\n\
    -A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT\n\
    -A KUBE-NODEPORTS -p tcp -m tcp --dport 30500 -j KUBE-SVC-ABCDEFGHIJKLMNOP\n\
    -A KUBE-SVC-ABCDEFGHIJKLMNOP -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n";

#[test]
fn a_mixed_dump_is_named_as_such() {
    let out = Command::cargo_bin("srcip-rules")
        .unwrap()
        .args(["inspect", "--color", "never"])
        .write_stdin(MIXED)
        .assert()
        .code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_has(
        &text,
        &[
            "proxy mode: kube-proxy in IPVS mode, shown by nat KUBE-NODE-PORT (line 4); beside chains of kube-proxy in iptables mode: nat KUBE-NODEPORTS (line 9) — a mixed dump",
        ],
    );
    // The leftover nodePort is explained, with a note that IPVS may act besides.
    let out = Command::cargo_bin("srcip-rules")
        .unwrap()
        .args(["explain", "30500", "--color", "never"])
        .write_stdin(MIXED)
        .assert()
        .code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.starts_with("note: the ruleset at line 1 shows more than one proxy mode: kube-proxy in IPVS mode (nat KUBE-NODE-PORT, line 4) and kube-proxy in iptables mode (nat KUBE-NODEPORTS, line 9)"),
        "{text}"
    );
    assert!(
        text.contains("what kube-proxy in IPVS mode does besides is not in them"),
        "{text}"
    );
}
