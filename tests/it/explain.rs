//! Snapshots of `explain` in all three formats for every shipped dump and fragment.
//!
//! Each dump is explained for every nodePort in its KUBE-NODEPORTS chain (and the generator
//! scenarios in `nodes/generated/` always for their nodePort 30080), with the node address
//! left symbolic (the default a user without `--node-ip` gets). The hand-written node dumps
//! and the kernel suite's captures are also explained for every service address their
//! KUBE-SERVICES rules name (ClusterIPs, LoadBalancer IPs, externalIPs), one snapshot set
//! per dump: the kernel captures' verdicts are the ones `tests/kernel` checks against real
//! packets.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use srcip_rules::kube::destination::find_entries;
use srcip_rules::kube::{ExplainOptions, Explainer, PortExplanation, Target, explain};
use srcip_rules::model::{Address, Match, ModuleKind, Protocol};
use srcip_rules::parse::parse_text;
use srcip_rules::report::{self, Format, Palette};

/// Every nodePort a dump's nat KUBE-NODEPORTS rules test, and every one its filter
/// KUBE-EXTERNAL-SERVICES rules reject for having no endpoints.
fn node_ports(text: &str) -> BTreeSet<u16> {
    let parsed = parse_text(text);
    let dump = &parsed.dump;
    let rules = parsed.rules();
    let mut ports = BTreeSet::new();
    for t in 0..dump.tables.len() {
        let table = srcip_rules::model::TableId(t as u32);
        let chain_name = match dump.table(table).name {
            "filter" => "KUBE-EXTERNAL-SERVICES",
            _ => "KUBE-NODEPORTS",
        };
        let Some(chain) = dump.chain_id(table, chain_name) else {
            continue;
        };
        for &rule in &dump.chain(chain).rules {
            let body = rules.body(rule).expect("rule body");
            // `-d ADDR … --dport PORT` is a service address's rule, not a nodePort's.
            if body
                .matches
                .iter()
                .any(|m| matches!(m, Match::Destination(d) if !d.negated))
            {
                continue;
            }
            for m in &body.matches {
                if let Match::Module(module) = m
                    && let ModuleKind::Ports { dport: Some(d), .. } = &module.kind
                {
                    ports.insert(d.value.first);
                }
            }
        }
    }
    ports
}

/// The nodePort of every generator scenario (`src/generate/scenarios.rs`). A scenario
/// without endpoints may have no KUBE-NODEPORTS rule for it at all (kube-proxy then
/// only writes a filter REJECT/DROP), so it is explained even when `node_ports` misses it.
const SCENARIO_NODE_PORT: u16 = 30080;

/// Every `-d ADDRESS … --dport PORT` a dump's KUBE-SERVICES rules test (nat: the service
/// addresses; filter: those of services without endpoints), one per address, port and
/// protocol, in order.
fn service_addresses(text: &str) -> Vec<Target> {
    let parsed = parse_text(text);
    let dump = &parsed.dump;
    let rules = parsed.rules();
    let mut targets = Vec::new();
    for t in 0..dump.tables.len() {
        let table = srcip_rules::model::TableId(t as u32);
        let Some(chain) = dump.chain_id(table, "KUBE-SERVICES") else {
            continue;
        };
        for &rule in &dump.chain(chain).rules {
            let body = rules.body(rule).expect("rule body");
            let (mut ip, mut port, mut protocol) = (None::<IpAddr>, None, None);
            for m in &body.matches {
                match m {
                    Match::Destination(d) if !d.negated => {
                        if let Address::Net(net) = d.value
                            && net.prefix_len() == net.max_prefix_len()
                        {
                            ip = Some(net.addr());
                        }
                    }
                    Match::Protocol(p) if !p.negated => protocol = Some(p.value),
                    Match::Module(module) => {
                        if let ModuleKind::Ports { dport: Some(d), .. } = &module.kind {
                            port = Some(d.value.first);
                        }
                    }
                    _ => {}
                }
            }
            // `--dport 0` (a redacted port in a reference dump) is not a port a user can ask.
            if let (Some(ip), Some(port)) = (ip, port.filter(|&p| p != 0)) {
                let target = Target::Address {
                    ip,
                    port,
                    protocol: protocol.filter(|p: &Protocol| *p != Protocol::Tcp),
                };
                if !targets.contains(&target) {
                    targets.push(target);
                }
            }
        }
    }
    targets
}

/// Renders `explain` for each target, the three formats one after the other.
fn render_targets(text: &str, targets: Vec<Target>) -> (String, String, String) {
    let parsed = parse_text(text);
    let (mut plain, mut md, mut json) = (Vec::new(), Vec::new(), Vec::new());
    for target in targets {
        let options = ExplainOptions {
            target,
            src: None,
            dst: None,
            node_ips: Vec::new(),
            max_paths: srcip_rules::netfilter::MAX_PATHS,
        };
        let e = explain(&parsed.rules(), &options);
        let palette = Palette::new(false);
        report::renderer(Format::Text, palette)
            .explanation(&e, &mut plain)
            .expect("text");
        report::renderer(Format::Markdown, palette)
            .explanation(&e, &mut md)
            .expect("markdown");
        report::renderer(Format::Json, palette)
            .explanation(&e, &mut json)
            .expect("json");
    }
    let s = |v: Vec<u8>| String::from_utf8(v).expect("utf-8");
    (s(plain), s(md), s(json))
}

/// Every nodePort of the dump at `path`, rendered.
fn render_all(path: &Path) -> (String, String, String) {
    let text = std::fs::read_to_string(path).expect("read dump");
    let mut ports = node_ports(&text);
    if path
        .parent()
        .is_some_and(|dir| dir.ends_with("nodes/generated"))
    {
        ports.insert(SCENARIO_NODE_PORT);
    }
    let targets = ports
        .into_iter()
        .map(|port| Target::NodePort {
            port,
            protocol: None,
        })
        .collect();
    render_targets(&text, targets)
}

#[test]
fn explain_snapshots_for_every_dump() {
    insta::glob!("../../testdata", "{nodes,partial}/**/*.txt", |path| {
        let (text, markdown, json) = render_all(path);
        insta::assert_snapshot!("text", text);
        insta::assert_snapshot!("markdown", markdown);
        insta::assert_snapshot!("json", json);
    });
}

#[test]
fn explain_snapshots_for_every_service_address() {
    let dumps = "{nodes/*.txt,kernel/*-node1only/node1.iptables-save}";
    insta::glob!("../../testdata", dumps, |path| {
        let text = std::fs::read_to_string(path).expect("read dump");
        let targets = service_addresses(&text);
        if targets.is_empty() {
            return; // dump A's only ClusterIP rule has the redacted `--dport 0`
        }
        let (text, markdown, json) = render_targets(&text, targets);
        insta::assert_snapshot!("address-text", text);
        insta::assert_snapshot!("address-markdown", markdown);
        insta::assert_snapshot!("address-json", json);
    });
}

#[test]
fn json_names_the_schema_version_and_verdict_words() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/partial/seed-grep-31465-etp-cluster.txt"
    ))
    .expect("read");
    let parsed = parse_text(&text);
    let e = explain(
        &parsed.rules(),
        &ExplainOptions {
            target: Target::NodePort {
                port: 31465,
                protocol: None,
            },
            src: None,
            dst: None,
            node_ips: Vec::new(),
            max_paths: srcip_rules::netfilter::MAX_PATHS,
        },
    );
    let mut out = Vec::new();
    report::renderer(Format::Json, Palette::new(false))
        .explanation(&e, &mut out)
        .expect("json");
    let value: serde_json::Value = serde_json::from_slice(&out).expect("valid json");
    assert_eq!(value["schema_version"], 1);
    assert_eq!(value["found"], true);
    let classes = value["ports"][0]["classes"].as_array().expect("classes");
    assert!(!classes.is_empty());
    for class in classes {
        assert_eq!(class["verdict"], "masqueraded");
    }
}

/// One `Explainer` for every destination of a dump — what `ports` and `diff` use, sharing
/// the rule memo and each nat table's pipeline, nodePort tail and base-chain prefixes —
/// explains each one exactly as `explain` asked about it alone does: every nodePort and
/// every service address of every shipped dump and kernel capture, all in one explainer,
/// in the order the snapshots ask them (so that later destinations meet a warm cache).
#[test]
fn a_shared_explainer_explains_every_destination_as_explain_alone() {
    let dumps = "{nodes/**/*.txt,partial/*.txt,kernel/*/node*.iptables-save}";
    insta::glob!("../../testdata", dumps, |path| {
        let text = std::fs::read_to_string(path).expect("read dump");
        let mut targets: Vec<Target> = node_ports(&text)
            .into_iter()
            .map(|port| Target::NodePort {
                port,
                protocol: None,
            })
            .collect();
        targets.extend(service_addresses(&text));
        let parsed = parse_text(&text);
        let rules = parsed.rules();
        let options = |target: Target| ExplainOptions {
            target,
            src: None,
            dst: None,
            node_ips: Vec::new(),
            max_paths: srcip_rules::netfilter::MAX_PATHS,
        };
        let shared_options = options(Target::NodePort {
            port: 0,
            protocol: None,
        });
        let explainer = Explainer::new(&rules, &shared_options);
        let mut compared = 0;
        for target in targets {
            let alone = explain(&rules, &options(target.clone()));
            let shared: Vec<PortExplanation> = find_entries(&rules, &target)
                .iter()
                .map(|entry| explainer.entry(entry))
                .collect();
            assert_eq!(shared, alone.ports, "{}: {target}", path.display());
            compared += shared.len();
        }
        // A node without kube-proxy's iptables rules (IPVS, nftables mode, userspace,
        // Cilium) has nothing to compare; every other dump must have something.
        assert!(
            compared > 0 || text.lines().count() < 20 || !text.contains("-A KUBE-NODEPORTS"),
            "{}: nothing compared",
            path.display()
        );
    });
}
