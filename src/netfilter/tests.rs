//! The walk against kube-proxy's own packet-tracer expectations (reference §12.2), on the
//! shipped dumps that hold the same rules, and its loop guard.

use std::net::IpAddr;

use crate::model::RulesetId;
use crate::netfilter::{Context, Fate, Host, Origin, Packet, Pipeline, Undecided, evaluate};
use crate::parse::parse_text;

fn fixture(name: &str) -> String {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).expect("fixture")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("ip")
}

/// Endpoints reached (sorted), whether any branch is masqueraded, and the fates'
/// verdict words — like kube-proxy's tracer output (reference §12.1).
#[track_caller]
fn trace(
    dump_name: &str,
    node_ip: &str,
    src: &str,
    dst: &str,
    dport: u16,
) -> (Vec<String>, bool, Vec<&'static str>) {
    let text = fixture(dump_name);
    let parsed = parse_text(&text);
    let dump = &parsed.rules();
    let host = Host {
        local_addresses: vec![ip(node_ip)],
    };
    let pipeline = Pipeline::from_iptables(dump.dump(), &dump.dump().node_tables(RulesetId(0)));
    let ctx = Context {
        rules: *dump,
        pipeline: &pipeline,
        host: &host,
        assumed_chains: &[],
    };
    let origin = if host.is_local(ip(src)) {
        Origin::Local
    } else {
        Origin::Remote
    };
    let branches = evaluate(&ctx, Packet::tcp(ip(src), ip(dst), dport, origin));
    let mut endpoints: Vec<String> = branches
        .iter()
        .filter_map(|b| b.dnat.and_then(|d| d.to.range()).map(|r| r.to_string()))
        .collect();
    endpoints.sort();
    endpoints.dedup();
    let masq = branches.iter().any(|b| b.snat.is_some());
    let fates = branches
        .iter()
        .map(|b| match &b.fate {
            Fate::Dropped { .. } => "DROP",
            Fate::Rejected { .. } => "REJECT",
            Fate::Undetermined { .. } => "UNDETERMINED",
            Fate::Delivered if b.dnat.is_none() => "LOCAL",
            Fate::Delivered | Fate::Forwarded => "DNAT",
        })
        .collect();
    (endpoints, masq, fates)
}

const D: &str = "nodes/v1.28-ext-multi-service-nft.txt";
const E: &str = "nodes/v1.28-ext-etp-local-nodeport-addresses-nft.txt";

// Reference §12.2 TestOnlyLocalNodePorts against dump E (the same rules).
#[test]
fn only_local_node_ports_follow_kube_proxy_tracer() {
    let node = "192.168.0.2";
    let cases: &[(&str, &str, u16, &[&str], bool)] = &[
        (
            "10.0.0.2",
            "172.30.0.41",
            80,
            &["10.180.0.1:80", "10.180.2.1:80"],
            false,
        ),
        (
            "203.0.113.2",
            "192.168.0.2",
            3001,
            &["10.180.2.1:80"],
            false,
        ),
        (
            "10.0.0.2",
            "192.168.0.2",
            3001,
            &["10.180.0.1:80", "10.180.2.1:80"],
            false,
        ),
        // Node-originated: masqueraded by the LOCAL rule, both endpoints (dump E notes).
        (
            "192.168.0.2",
            "192.168.0.2",
            3001,
            &["10.180.0.1:80", "10.180.2.1:80"],
            true,
        ),
    ];
    for (src, dst, port, want, masq) in cases {
        let (eps, got_masq, _) = trace(E, node, src, dst, *port);
        assert_eq!(
            eps,
            want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{src} → {dst}:{port}"
        );
        assert_eq!(got_masq, *masq, "{src} → {dst}:{port}");
    }
    // pod → 127.0.0.1:3001: the tail-call only covers -d 192.168.0.2, so no DNAT.
    let (eps, _, fates) = trace(E, node, "127.0.0.1", "127.0.0.1", 3001);
    assert!(eps.is_empty());
    assert_eq!(fates, vec!["LOCAL"]);
}

// Reference §12.2 TestTracePackets / dump D expectations for the nodePorts.
#[test]
fn dump_d_node_ports_follow_kube_proxy_tracer() {
    let node = "192.168.0.2";
    // external → eTP=Local svc2 without local endpoints: no DNAT, filter DROP.
    let (eps, masq, fates) = trace(D, node, "203.0.113.2", "192.168.0.2", 3001);
    assert!(eps.is_empty() && !masq);
    assert_eq!(fates, vec!["DROP"]);
    // node → its own nodePort: masqueraded, cluster endpoint.
    let (eps, masq, _) = trace(D, node, "192.168.0.2", "192.168.0.2", 3001);
    assert_eq!((eps, masq), (vec!["10.180.0.2:80".to_string()], true));
    // pod → nodePort: short-circuit to the cluster chain, not masqueraded.
    let (eps, masq, _) = trace(D, node, "10.0.0.2", "192.168.0.2", 3001);
    assert_eq!((eps, masq), (vec!["10.180.0.2:80".to_string()], false));
    // eTP=Cluster 3003 and 3002: masqueraded from anywhere.
    for src in ["203.0.113.2", "10.0.0.2", "192.168.0.2"] {
        let (eps, masq, _) = trace(D, node, src, "192.168.0.2", 3003);
        assert_eq!(
            (eps, masq),
            (vec!["10.180.0.3:80".to_string()], true),
            "{src}"
        );
        let (_, masq, _) = trace(D, node, src, "192.168.0.2", 3002);
        assert!(masq, "{src} :3002");
    }
    // LB source ranges: 203.0.113.130 → 5.6.7.8:80 is dropped by KUBE-PROXY-FIREWALL.
    let (_, _, fates) = trace(D, node, "203.0.113.130", "5.6.7.8", 80);
    assert_eq!(fates, vec!["DROP"]);
    // Cluster IP without endpoints: REJECT (filter KUBE-SERVICES via FORWARD).
    let (_, _, fates) = trace(D, node, "10.0.0.2", "172.30.0.46", 80);
    assert_eq!(fates, vec!["REJECT"]);
}

// Reference §12.2 TestNodePort-style rows (eTP=Cluster) against the 1.24 fixture's 3001.
#[test]
fn cluster_node_port_is_masqueraded_for_every_source() {
    let f = "nodes/v1.24-ext-cluster-and-local-legacy.txt";
    for (src, dst) in [
        ("203.0.113.2", "192.168.0.2"),
        ("192.168.0.2", "192.168.0.2"),
        ("127.0.0.1", "127.0.0.1"),
    ] {
        let (eps, masq, _) = trace(f, "192.168.0.2", src, dst, 3001);
        assert_eq!(
            eps,
            vec!["10.180.0.1:80".to_string(), "10.180.2.1:80".to_string()],
            "{src}"
        );
        assert!(masq, "{src}");
    }
}

#[test]
fn jump_loops_end_undetermined_instead_of_overflowing() {
    let text = "*nat\n:PREROUTING ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A PREROUTING -j A\n-A A -j B\n-A B -j A\nCOMMIT\n";
    let parsed = parse_text(text);
    let host = Host::default();
    let rules = parsed.rules();
    let pipeline = Pipeline::from_iptables(rules.dump(), &rules.dump().node_tables(RulesetId(0)));
    let ctx = Context {
        rules,
        pipeline: &pipeline,
        host: &host,
        assumed_chains: &[],
    };
    let branches = evaluate(
        &ctx,
        Packet::tcp(ip("1.2.3.4"), ip("5.6.7.8"), 80, Origin::Remote),
    );
    assert_eq!(branches.len(), 1);
    assert!(matches!(
        branches[0].fate,
        Fate::Undetermined {
            reason: Undecided::TooDeep,
            ..
        }
    ));
}
