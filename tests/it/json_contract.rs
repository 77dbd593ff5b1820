//! The JSON wire format of `explain --format json`, checked against the schema documented
//! in `src/report/json.rs` with independent types: every object is read with
//! `deny_unknown_fields`, so a field added or renamed without updating the documented
//! schema (and these types) fails here.

// The fields exist to pin the schema; not every one is read by an assertion.
#![allow(dead_code)]

use assert_cmd::Command;

mod wire;

use wire::*;

const VERDICTS: &[&str] = &[
    "preserved",
    "masqueraded",
    "dropped",
    "rejected",
    "not-handled",
    "forwarded",
    "undetermined",
];
const CLASSES: &[&str] = &[
    "loopback", "node", "pods", "endpoint", "prefix", "other", "given",
];
const PROXY_MODES: &[&str] = &[
    "iptables",
    "ipvs",
    "userspace",
    "nftables",
    "nftables-or-none",
    "cilium",
    "unknown",
];
const MODE_RULE_ROLES: &[&str] = &[
    "ipvs-local-return",
    "ipvs-mark",
    "userspace-proxy",
    "nft-dispatch",
    "nft-no-endpoints",
];

/// Runs `explain --format json` and reads the document; `code` is the expected exit code.
fn explain_json(args: &[&str], code: i32) -> Document {
    let out = Command::cargo_bin("srcip-rules")
        .unwrap()
        .arg("explain")
        .args(args)
        .args(["--format", "json"])
        .assert()
        .code(code);
    let doc: Document = serde_json::from_slice(&out.get_output().stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not the documented schema: {e}"));
    check_vocabulary(&doc);
    doc
}

/// Every enumerated field holds one of its documented words.
/// The documented codes (docs/json.md), per list.
const PORT_ASSUMPTION_CODES: &[&str] = &[
    "node-address-from-dump",
    "symbolic-node-address",
    "nat-entry-assumed",
    "node-port-tail-assumed",
    "filter-entry-assumed",
    "address-not-local",
    "node-address-assumed",
];
const PORT_NOTE_CODES: &[&str] = &[
    "loopback-masquerade-only",
    "conflicting-node-port-rules",
    "partial-dump",
    "next-command",
    "health-check-node-port",
    "no-service-at-destination",
    "input-cut",
    "unparsed-lines",
];
const DESTINATION_KINDS: &[&str] = &[
    "node-port",
    "load-balancer-ip",
    "external-ip",
    "external-address",
    "cluster-ip",
    "health-check-node-port",
    "unhandled",
];
const BRANCH_ASSUMPTION_CODES: &[&str] = &["undecidable-rule"];
const BRANCH_NOTE_CODES: &[&str] = &[
    "no-affinity-history",
    "connmark-ignored",
    "standard-chain-assumed",
];

/// Each text list has one documented code per entry.
#[track_caller]
fn check_codes(texts: &[String], codes: &[String], known: &[&str]) {
    assert_eq!(texts.len(), codes.len(), "{texts:?} {codes:?}");
    for code in codes {
        assert!(known.contains(&code.as_str()), "undocumented code {code}");
    }
}

/// `proxy_mode` is a documented code; `unsupported_mode` comes only with `found` false.
fn check_proxy_mode(doc: &Document) {
    assert!(
        PROXY_MODES.contains(&doc.proxy_mode.as_str()),
        "{}",
        doc.proxy_mode
    );
    if let Some(u) = &doc.unsupported_mode {
        assert!(!doc.found);
        assert_eq!(u.mode, doc.proxy_mode);
        assert!(!["iptables", "unknown"].contains(&u.mode.as_str()), "{u:?}");
        assert!(!u.message.is_empty() && !u.evidence.is_empty(), "{u:?}");
        for r in &u.rules {
            assert!(MODE_RULE_ROLES.contains(&r.role.as_str()), "{}", r.role);
            assert!(r.line > 0, "{r:?}");
        }
    }
}

fn check_vocabulary(doc: &Document) {
    assert_eq!(doc.schema_version, 1);
    assert_eq!(doc.found, !doc.ports.is_empty());
    check_proxy_mode(doc);
    for p in &doc.ports {
        assert!(DESTINATION_KINDS.contains(&p.destination.kind.as_str()));
        assert_eq!(p.destination.protocol, p.protocol);
        assert_eq!(
            p.node_port.is_some(),
            p.destination.kind == "node-port",
            "{:?}",
            p.destination
        );
        if p.destination.address.is_none() {
            assert!(
                ["node-port", "health-check-node-port"].contains(&p.destination.kind.as_str()),
                "{:?}",
                p.destination
            );
        }
        check_codes(&p.assumptions, &p.assumption_codes, PORT_ASSUMPTION_CODES);
        check_codes(&p.notes, &p.note_codes, PORT_NOTE_CODES);
        assert!(
            ["ipv4", "ipv6"].contains(&p.family.as_str()),
            "{}",
            p.family
        );
        assert!(
            ["Cluster", "Local", "unknown"].contains(&p.external_traffic_policy.as_str()),
            "{}",
            p.external_traffic_policy
        );
        for e in &p.endpoints {
            assert!(["local", "remote", "unknown"].contains(&e.locality.as_str()));
            assert!(e.chain.starts_with("KUBE-SEP-"), "{}", e.chain);
        }
        for r in &p.node_port_rules {
            assert_eq!(r.chain, "KUBE-NODEPORTS");
            // `iptables-save -c` writes the counters before `-A`.
            let rule = match &r.counters {
                Some(c) => r
                    .text
                    .strip_prefix(&format!("[{}:{}] ", c.packets, c.bytes))
                    .unwrap_or_else(|| panic!("counters not the text's: {r:?}")),
                None => &r.text,
            };
            assert!(r.line > 0 && rule.starts_with("-A "), "{r:?}");
        }
        if let Some(e) = &p.counter_evidence {
            check_counter_evidence(e);
        }
        for c in &p.classes {
            assert!(CLASSES.contains(&c.class.as_str()), "{}", c.class);
            assert!(VERDICTS.contains(&c.verdict.as_str()), "{}", c.verdict);
            assert!(["PREROUTING", "OUTPUT"].contains(&c.entry_hook.as_str()));
            assert!(!c.branches.is_empty() && !c.summary.is_empty());
            if !c.mixed.is_empty() {
                assert_eq!(c.mixed[0].verdict, c.verdict);
                let total: f64 = c.mixed.iter().map(|o| o.probability).sum();
                assert!((total - 1.0).abs() < 1e-6, "{total}");
            }
            for b in &c.branches {
                check_codes(&b.assumptions, &b.assumption_codes, BRANCH_ASSUMPTION_CODES);
                check_codes(&b.notes, &b.note_codes, BRANCH_NOTE_CODES);
                assert!(VERDICTS.contains(&b.verdict.as_str()), "{}", b.verdict);
                assert!(b.probability > 0.0 && b.probability <= 1.0);
                assert!(!b.detail.is_empty());
                if b.verdict == "masqueraded" {
                    assert!(b.masquerade.is_some(), "{}", b.detail);
                }
                if let Some(m) = &b.masquerade {
                    assert!(
                        ["exact", "range", "outgoing-interface"].contains(&m.address_kind.as_str()),
                        "{}",
                        m.address_kind
                    );
                    assert_eq!(m.address.is_some(), m.address_kind == "exact", "{m:?}");
                }
            }
        }
    }
}

/// The documented words of `counter_evidence` (src/report/json/explain.rs).
fn check_counter_evidence(e: &CounterEvidence) {
    assert!(
        ["confirms", "contradicts", "silent"].contains(&e.finding.as_str()),
        "{e:?}"
    );
    assert_eq!(e.reason.is_some(), e.finding == "silent", "{e:?}");
    if let Some(reason) = &e.reason {
        let known = [
            "nothing-counted",
            "split",
            "fewer-counted",
            "unseen",
            "one-source",
            "no-entry",
        ];
        assert!(known.contains(&reason.as_str()), "{reason}");
    }
    if e.finding == "confirms" {
        assert!(e.verdict.is_some(), "{e:?}");
    }
    assert_eq!(
        e.next_command.is_some(),
        e.finding == "contradicts",
        "{e:?}"
    );
    for code in &e.cause_codes {
        assert!(
            [
                "filter-counters-reset",
                "chain-counters-reset",
                "earlier-rule"
            ]
            .contains(&code.as_str()),
            "{code}"
        );
    }
    if let Some(entry) = &e.entry_rule {
        assert!(entry.counters.is_some(), "{entry:?}");
    }
    for w in &e.ways {
        assert!(
            ["taken", "expected", "other"].contains(&w.role.as_str()),
            "{w:?}"
        );
        assert!(
            w.classes.iter().all(|c| CLASSES.contains(&c.as_str())),
            "{w:?}"
        );
        assert!(
            w.verdicts.iter().all(|v| VERDICTS.contains(&v.as_str())),
            "{w:?}"
        );
    }
    assert!(!e.text.is_empty());
}

fn class<'d>(doc: &'d Document, kind: &str) -> &'d Class {
    doc.ports[0]
        .classes
        .iter()
        .find(|c| c.class == kind)
        .unwrap_or_else(|| panic!("no {kind} class"))
}

#[test]
fn dump_a_local_policy_preserves_external_clients() {
    let doc = explain_json(
        &["30010", "testdata/nodes/v1.21-xlb-etp-local-legacy.txt"],
        0,
    );
    assert_eq!(doc.target, "30010");
    assert_eq!(doc.ports.len(), 1);
    let port = &doc.ports[0];
    assert_eq!(port.service.as_deref(), Some("ns1/svc1"));
    assert_eq!(
        (port.protocol.as_str(), port.node_port),
        ("tcp", Some(30010))
    );
    assert_eq!(port.external_traffic_policy, "Local");
    let external = class(&doc, "other");
    assert_eq!(external.verdict, "preserved");
    assert_eq!(external.entry_hook, "PREROUTING");
    assert_eq!(
        external.branches[0].endpoint.as_deref(),
        Some("10.0.1.1:80")
    );
    assert!(external.branches[0].masquerade.is_none());
    let lo = class(&doc, "loopback");
    assert_eq!(
        (lo.verdict.as_str(), lo.entry_hook.as_str()),
        ("masqueraded", "OUTPUT")
    );
    let m = lo.branches[0].masquerade.as_ref().expect("masquerade");
    assert!(m.by_kube_proxy);
    assert_eq!(
        m.rule.as_ref().map(|r| r.chain.as_str()),
        Some("KUBE-POSTROUTING")
    );
    assert_eq!(m.marked_by.as_ref().map(|r| r.line), Some(35));
    assert_eq!(
        (m.address_kind.as_str(), m.address.as_deref()),
        ("outgoing-interface", None)
    );
}

/// Runs `explain --format json` on a dump given on standard input.
fn explain_json_stdin(args: &[&str], dump: String) -> Document {
    let out = Command::cargo_bin("srcip-rules")
        .unwrap()
        .arg("explain")
        .args(args)
        .args(["-", "--format", "json"])
        .write_stdin(dump)
        .assert()
        .code(0);
    let doc: Document = serde_json::from_slice(&out.get_output().stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not the documented schema: {e}"));
    check_vocabulary(&doc);
    doc
}

#[test]
fn snat_to_one_address_names_that_address_and_a_range_names_none() {
    // The kernel suite's capture with a site MASQUERADE rule, turned into SNAT rules.
    let capture = std::fs::read_to_string(
        "testdata/kernel/v1_28ext-local-node1only-extra-masquerade/node1.iptables-save",
    )
    .unwrap();
    assert!(capture.contains("\" -j MASQUERADE\n"));
    for (to_source, kind, address) in [
        ("192.0.2.99", "exact", Some("192.0.2.99")),
        ("192.0.2.99:1024-65535", "exact", Some("192.0.2.99")),
        ("192.0.2.98-192.0.2.99", "range", None),
    ] {
        let dump = capture.replace(
            "\" -j MASQUERADE\n",
            &format!("\" -j SNAT --to-source {to_source}\n"),
        );
        let doc = explain_json_stdin(&["30114", "--node-ip", "192.0.2.11"], dump);
        let external = class(&doc, "other");
        assert_eq!(external.verdict, "masqueraded", "{to_source}");
        let m = external.branches[0]
            .masquerade
            .as_ref()
            .expect("masquerade");
        assert!(!m.by_kube_proxy);
        assert_eq!(
            (m.address_kind.as_str(), m.address.as_deref()),
            (kind, address)
        );
    }
}

#[test]
fn dump_d_local_policy_without_local_endpoints_drops_external_clients() {
    let doc = explain_json(
        &["3001", "testdata/nodes/v1.28-ext-multi-service-nft.txt"],
        0,
    );
    assert_eq!(class(&doc, "other").verdict, "dropped");
    assert_eq!(class(&doc, "node").verdict, "masqueraded");
    assert_eq!(class(&doc, "pods").verdict, "preserved");
    let drop = &class(&doc, "other").branches[0];
    assert_eq!(drop.endpoint, None);
    assert!(
        drop.decisive_rules
            .iter()
            .any(|r| r.table == "filter" && r.chain == "KUBE-EXTERNAL-SERVICES")
    );
}

#[test]
fn dump_e_uses_the_nodeport_address_as_the_node_address() {
    let doc = explain_json(
        &[
            "3001",
            "testdata/nodes/v1.28-ext-etp-local-nodeport-addresses-nft.txt",
        ],
        0,
    );
    let node = class(&doc, "node");
    assert_eq!(node.source, "192.168.0.2");
    assert!(!node.source_symbolic && !node.destination_symbolic);
    assert_eq!(node.verdict, "masqueraded");
    assert_eq!(class(&doc, "other").verdict, "preserved");
    assert_eq!(class(&doc, "loopback").verdict, "not-handled");
}

#[test]
fn hairpin_mix_is_listed_in_mixed() {
    let doc = explain_json(
        &[
            "3002",
            "testdata/nodes/v1.24-ext-cluster-and-local-legacy.txt",
        ],
        0,
    );
    let hairpin = doc.ports[0]
        .classes
        .iter()
        .find(|c| c.class == "endpoint" && c.source == "10.180.0.2")
        .expect("hairpin class");
    assert_eq!(hairpin.verdict, "masqueraded");
    assert_eq!(hairpin.mixed.len(), 2);
    assert_eq!(
        hairpin.mixed[0].endpoints,
        vec!["10.180.0.2:80".to_string()]
    );
    assert_eq!(hairpin.mixed[1].verdict, "preserved");
    assert!(class(&doc, "other").mixed.is_empty());
}

#[test]
fn fragment_is_partial_and_masqueraded() {
    let doc = explain_json(
        &["31465", "testdata/partial/seed-grep-31465-etp-cluster.txt"],
        0,
    );
    let port = &doc.ports[0];
    assert!(port.partial);
    assert_eq!(
        port.missing_tables,
        vec!["nat".to_string(), "filter".to_string()]
    );
    for c in &port.classes {
        assert_eq!(c.verdict, "masqueraded", "{}", c.name);
        let m = c.branches[0].masquerade.as_ref().expect("masquerade");
        assert!(m.rule.is_none(), "KUBE-POSTROUTING is assumed, not cited");
    }
}

#[test]
fn not_found_lists_the_node_ports_the_dump_has() {
    let doc = explain_json(
        &["9999", "testdata/nodes/v1.28-ext-multi-service-nft.txt"],
        1,
    );
    assert!(!doc.found);
    assert!(doc.ports.is_empty());
    assert!(doc.family_mismatch.is_none());
    assert!(
        doc.available_node_ports
            .contains(&"3001/tcp (ns2/svc2:p80)".to_string()),
        "{:?}",
        doc.available_node_ports
    );
}

#[test]
fn a_question_in_the_other_family_is_not_found_and_names_the_family() {
    let doc = explain_json(
        &[
            "3001",
            "testdata/dumps/ipv4-then-ipv6.txt",
            "--src",
            "2001:db8::1",
        ],
        0,
    );
    assert!(doc.found, "3001 is in the IPv6 ruleset");
    let doc = explain_json(
        &[
            "31201",
            "testdata/dumps/ipv4-then-ipv6.txt",
            "--src",
            "2001:db8::1",
        ],
        1,
    );
    assert!(!doc.found);
    let mismatch = doc.family_mismatch.expect("family_mismatch");
    assert_eq!(mismatch.asked, "ipv6");
    assert!(mismatch.dump_has_family);
}

#[test]
fn a_cut_dump_is_truncated_and_partial_without_parse_errors() {
    // `head -n 100` of dump D: the nat table stops before its COMMIT.
    let whole = std::fs::read_to_string("testdata/nodes/v1.28-ext-multi-service-nft.txt").unwrap();
    let head: String = whole.lines().take(100).map(|l| format!("{l}\n")).collect();
    let out = Command::cargo_bin("srcip-rules")
        .unwrap()
        .args(["explain", "3002", "-", "--format", "json"])
        .write_stdin(head)
        .output()
        .unwrap();
    let doc: Document = serde_json::from_slice(&out.stdout).expect("documented schema");
    check_vocabulary(&doc);
    assert!(doc.truncated);
    // Every line of a cut dump is fine: the cut is a note on each port, not a parse error.
    assert_eq!(doc.parse_error_count, 0, "{:?}", doc.parse_errors);
    for port in &doc.ports {
        assert!(port.partial);
        assert!(
            port.note_codes.iter().any(|c| c == "input-cut"),
            "{:?}",
            port.note_codes
        );
    }
    // The whole dump: neither.
    let doc = explain_json(
        &["3002", "testdata/nodes/v1.28-ext-multi-service-nft.txt"],
        0,
    );
    assert!(!doc.truncated);
    assert_eq!(doc.parse_error_count, 0);
    assert!(doc.ports.iter().all(|p| !p.partial));
}

#[test]
fn counters_and_their_evidence_follow_the_documented_schema() {
    for (dump, port, finding) in [
        (
            "testdata/dumps/v1.28-ext-counters-drop-confirmed-nft.txt",
            "3001",
            "confirms",
        ),
        (
            "testdata/dumps/v1.28-ext-counters-drop-confirmed-nft.txt",
            "3002",
            "silent",
        ),
        (
            "testdata/dumps/v1.28-ext-counters-drop-contradicted-nft.txt",
            "3001",
            "contradicts",
        ),
        (
            "testdata/nodes/generated/v1.21-legacy-etp-local-with-local-endpoint-counters.txt",
            "30080",
            "silent",
        ),
        (
            "testdata/partial/v1.22-grep-counters-xlb-drop-confirmed.txt",
            "31643",
            "confirms",
        ),
        (
            "testdata/partial/v1.27-grep-counters-contradict-filter-drop-nft.txt",
            "31443",
            "contradicts",
        ),
    ] {
        let doc = explain_json(&[port, dump], 0);
        let p = &doc.ports[0];
        let e = p.counter_evidence.as_ref().expect("counter_evidence");
        assert_eq!(e.finding, finding, "{dump} {port}");
        assert!(p.node_port_rules.iter().all(|r| r.counters.is_some()));
    }
    // Without counters, neither field is written.
    let doc = explain_json(
        &["3001", "testdata/nodes/v1.28-ext-multi-service-nft.txt"],
        0,
    );
    assert!(doc.ports[0].counter_evidence.is_none());
    assert!(
        doc.ports[0]
            .node_port_rules
            .iter()
            .all(|r| r.counters.is_none())
    );
}

// Issue 9: a dump from a proxy mode explain cannot analyse says so, with its code 6.
#[test]
fn an_ipvs_dump_is_an_unsupported_mode_with_its_rules_and_commands() {
    let doc = explain_json(
        &[
            "30081",
            "--node-ip",
            "192.0.2.10",
            "testdata/nodes/v1.28-ipvs-nodeports-in-ipsets-legacy.txt",
        ],
        6,
    );
    assert_eq!(doc.proxy_mode, "ipvs");
    assert!(doc.available_node_ports.is_empty());
    let u = doc.unsupported_mode.expect("unsupported_mode");
    assert_eq!(u.evidence[0].chain.as_deref(), Some("KUBE-NODE-PORT"));
    let roles: Vec<(&str, u32)> = u.rules.iter().map(|r| (r.role.as_str(), r.line)).collect();
    assert_eq!(roles, [("ipvs-local-return", 64), ("ipvs-mark", 65)]);
    assert_eq!(
        u.commands,
        [
            "ipset list KUBE-NODE-PORT-LOCAL-TCP",
            "ipset list KUBE-NODE-PORT-TCP",
            "ipvsadm -Ln -t 192.0.2.10:30081"
        ]
    );
    assert!(u.message.contains("IPVS mode"), "{}", u.message);
}

#[test]
fn an_iptables_dump_names_its_mode_and_is_not_unsupported() {
    let doc = explain_json(
        &["3001", "testdata/nodes/v1.28-ext-multi-service-nft.txt"],
        0,
    );
    assert_eq!(doc.proxy_mode, "iptables");
    assert!(doc.unsupported_mode.is_none());
}

/// Each masqueraded or dropped class names what would change it, chosen from the cause
/// (issue 12): the Local policy's drop names the service's healthCheckNodePort from its
/// filter ACCEPT rule (line 44 of dump D); a Cluster service's masquerade points to
/// `externalTrafficPolicy: Local`; a flannel-style POSTROUTING MASQUERADE is not
/// kube-proxy's; node-local masquerades must stay; a preserved class has none.
#[test]
fn remedies_follow_the_cause() {
    let d = "testdata/nodes/v1.28-ext-multi-service-nft.txt";
    let doc = explain_json(&["3001", d], 0);
    let external = class(&doc, "other");
    assert_eq!(external.endpoint_sees, "nothing");
    let remedy = external.remedy.as_ref().expect("a remedy for the drop");
    assert_eq!(remedy.code, "no-local-endpoint");
    assert!(
        remedy.text.contains("healthCheckNodePort 30000"),
        "{}",
        remedy.text
    );
    let pods = class(&doc, "pods");
    assert_eq!(
        (pods.endpoint_sees.as_str(), pods.remedy.is_none()),
        ("client-address", true)
    );
    let node = class(&doc, "node");
    assert_eq!(node.endpoint_sees, "node-address");
    assert_eq!(
        node.remedy.as_ref().map(|r| r.code.as_str()),
        Some("masquerade-must-stay")
    );

    let cluster = explain_json(&["3002", d], 0);
    let external = class(&cluster, "other");
    assert_eq!(external.verdict, "masqueraded");
    assert_eq!(
        external.remedy.as_ref().map(|r| r.code.as_str()),
        Some("external-traffic-policy-local")
    );

    let cni = explain_json(
        &[
            "3001",
            "testdata/nodes/v1.28-ext-etp-local-cni-masquerade-breaks-preservation-nft.txt",
        ],
        0,
    );
    let external = class(&cni, "other");
    let remedy = external
        .remedy
        .as_ref()
        .expect("a remedy for the CNI masquerade");
    assert_eq!(remedy.code, "exempt-masquerade-rule");
    let rule = external.branches[0]
        .masquerade
        .as_ref()
        .and_then(|m| m.rule.as_ref())
        .expect("the CNI rule");
    assert!(
        remedy.text.contains(&format!("line {}", rule.line)),
        "{}",
        remedy.text
    );
}
