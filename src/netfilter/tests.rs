//! The walk against kube-proxy's own packet-tracer expectations (reference §12.2), on the
//! shipped dumps that hold the same rules; its loop guard and depth limit; and the work it
//! does on graphs with many paths.

use std::net::IpAddr;

use crate::model::{RuleId, RulesetId};
use crate::netfilter::{
    Context, Fate, Host, MAX_DEPTH, MAX_PATHS, Origin, Packet, Pipeline, RuleMemo, Undecided,
    WalkStats, evaluate, evaluate_counted,
};
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
        max_paths: MAX_PATHS,
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

/// Walks a TCP packet from 203.0.113.7 to 192.0.2.10:`port` through `text`'s rules, with
/// `max_paths`, and says how much work it took.
fn walk_text(text: &str, port: u16, max_paths: usize) -> (Vec<Fate<'static>>, WalkStats, String) {
    // Leaked: the fates borrow chain names from the text (a few kB per test).
    let text: &'static str = Box::leak(text.to_string().into_boxed_str());
    let parsed = Box::leak(Box::new(parse_text(text)));
    let host = Host {
        local_addresses: vec![ip("192.0.2.10")],
    };
    let rules = parsed.rules();
    let pipeline = Pipeline::from_iptables(rules.dump(), &rules.dump().node_tables(RulesetId(0)));
    let ctx = Context {
        rules,
        pipeline: &pipeline,
        host: &host,
        assumed_chains: &[],
        max_paths,
    };
    let packet = Packet::tcp(ip("203.0.113.7"), ip("192.0.2.10"), port, Origin::Remote);
    let (branches, stats) = evaluate_counted(&ctx, &RuleMemo::default(), packet);
    let steps = branches
        .iter()
        .map(|b| b.record().steps.len().to_string())
        .collect::<Vec<_>>()
        .join(",");
    (branches.into_iter().map(|b| b.fate).collect(), stats, steps)
}

/// A nat table whose PREROUTING jumps to `first` for port 30000, then DNATs, plus `body`.
fn nat_with(chains: &[String], body: &str) -> String {
    let declared: String = chains.iter().map(|c| format!(":{c} - [0:0]\n")).collect();
    format!(
        "*nat\n:PREROUTING ACCEPT [0:0]\n{declared}-A PREROUTING -p tcp -m tcp --dport 30000 -j {}\n-A PREROUTING -p tcp -m tcp --dport 30000 -j DNAT --to-destination 198.18.0.10:8080\n{body}COMMIT\n",
        chains[0]
    )
}

/// L0 jumps twice to L1, L1 twice to L2, ...: 2^levels paths through `levels` chains.
fn diamond(levels: usize) -> String {
    let chains: Vec<String> = (0..levels).map(|i| format!("L{i}")).collect();
    let body: String = (0..levels - 1)
        .map(|i| format!("-A L{i} -j L{}\n-A L{i} -j L{}\n", i + 1, i + 1))
        .collect();
    nat_with(&chains, &body)
}

// Issue 13: a 21-level diamond never finished; shared calls make 60 levels linear.
#[test]
fn a_diamond_costs_one_call_per_chain_not_one_per_path() {
    for levels in [10, 60] {
        let text = diamond(levels);
        let (fates, stats, steps) = walk_text(&text, 30000, MAX_PATHS);
        // DNATed to 198.18.0.10, which is not this node: forwarded.
        assert_eq!(fates, vec![Fate::Forwarded], "{levels} levels");
        // Each chain is walked once (its two rules looked at once), whatever the paths.
        assert_eq!(stats.calls_walked, levels as u64 + 1, "{levels} levels");
        assert!(stats.rule_visits <= 2 * levels as u64 + 2, "{stats:?}");
        assert_eq!(stats.paths, 1);
        // The record reads each call once: the two jump steps of each level, the
        // PREROUTING jump into L0 and the DNAT.
        assert_eq!(steps, (2 * (levels - 1) + 2).to_string(), "{levels} levels");
    }
}

/// `forks` rules in a row that cannot be decided (an unknown module), each jumping to an
/// empty chain.
fn fork_chain(forks: usize) -> String {
    let body: String = (0..forks)
        .map(|i| format!("-A FORKS -m geoip --src-cc X{i} -j NOOP\n"))
        .collect();
    nat_with(&["FORKS".to_string(), "NOOP".to_string()], &body)
}

// Issue 13: 12 undecidable rules in a row took 11 s; 30 must answer at once.
#[test]
fn too_many_distinct_paths_stop_the_walk_with_the_forking_rules() {
    let text = fork_chain(30);
    let (fates, stats, _) = walk_text(&text, 30000, 64);
    let [
        Fate::Undetermined {
            rule,
            reason:
                Undecided::TooManyPaths {
                    limit,
                    forking,
                    forking_count,
                },
        },
    ] = fates.as_slice()
    else {
        panic!("{fates:?}");
    };
    assert_eq!(*limit, 64);
    // 2^6 = 64 paths after six forks: the seventh rule passes the limit.
    assert_eq!(*forking_count, 7);
    assert_eq!(forking.len(), 7);
    assert_eq!(*rule, Some(forking[6]));
    assert!(stats.paths > 64 && stats.paths <= 128, "{stats:?}");
    assert!(stats.rule_visits < 256, "{stats:?}");
    // Under the limit, every path is followed: 2^5 of them.
    let (fates, stats, _) = walk_text(&fork_chain(5), 30000, 64);
    assert_eq!(fates.len(), 32);
    assert!(fates.iter().all(|f| *f == Fate::Forwarded), "{fates:?}");
    assert_eq!(stats.paths, 32);
}

// Issue 14: a legitimate 65-deep chain was called "a loop in the rules".
#[test]
fn a_deep_chain_is_followed_and_only_the_depth_limit_stops_it() {
    let deep = |levels: usize| {
        let chains: Vec<String> = (0..levels).map(|i| format!("D{i}")).collect();
        let body: String = (0..levels - 1)
            .map(|i| format!("-A D{i} -j D{}\n", i + 1))
            .collect();
        nat_with(&chains, &body)
    };
    let (fates, _, _) = walk_text(&deep(65), 30000, MAX_PATHS);
    assert_eq!(fates, vec![Fate::Forwarded]);
    // PREROUTING is level 0, D0 level 1: D(MAX_DEPTH - 1) is the deepest followed.
    let (fates, _, _) = walk_text(&deep(MAX_DEPTH), 30000, MAX_PATHS);
    assert_eq!(fates, vec![Fate::Forwarded]);
    let (fates, _, _) = walk_text(&deep(MAX_DEPTH + 1), 30000, MAX_PATHS);
    assert!(
        matches!(
            fates.as_slice(),
            [Fate::Undetermined {
                reason: Undecided::TooDeep,
                ..
            }]
        ),
        "{fates:?}"
    );
}

#[test]
fn a_jump_back_into_a_chain_being_walked_is_a_loop() {
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
        max_paths: MAX_PATHS,
    };
    let branches = evaluate(
        &ctx,
        Packet::tcp(ip("1.2.3.4"), ip("5.6.7.8"), 80, Origin::Remote),
    );
    assert_eq!(branches.len(), 1);
    let b_jumps_back = rules.dump().rules[2].line;
    assert_eq!(
        branches[0].fate,
        Fate::Undetermined {
            rule: Some(RuleId(2)),
            reason: Undecided::Loop { chain: "A" },
        }
    );
    assert_eq!(b_jumps_back, 7);
}

// A chain entered again with a different mark is not a loop: the walk goes on until the
// state repeats (here, after the mark toggles back).
#[test]
fn a_chain_re_entered_in_a_new_state_is_walked_again() {
    let text = "*nat\n:PREROUTING ACCEPT [0:0]\n:T - [0:0]\n-A PREROUTING -j T\n-A T -j MARK --xor-mark 0x1\n-A T -j T\nCOMMIT\n";
    let (fates, stats, _) = walk_text(text, 80, MAX_PATHS);
    // PREROUTING → T (mark 0, then 1) → T (mark 1, then 0) → T with mark 0 again: the loop.
    assert!(
        matches!(
            fates.as_slice(),
            [Fate::Undetermined {
                reason: Undecided::Loop { chain: "T" },
                ..
            }]
        ),
        "{fates:?}"
    );
    assert_eq!(stats.calls_walked, 3, "{stats:?}");
}
