//! `trace`: it runs the same core as `explain` (their answers agree packet for packet),
//! its events read in kernel order, and the command line behaves (exit codes, formats).

use std::net::IpAddr;

use assert_cmd::Command;
use srcip_rules::kube::trace::{TraceEnd, TraceEvent, TracedBranch};
use srcip_rules::kube::{ExplainOptions, Target, TraceOptions, Verdict, explain, trace};
use srcip_rules::netfilter::{Hook, Origin, Packet};
use srcip_rules::parse::parse_text;
use srcip_rules::report::words;

const NODE: &str = "192.0.2.10";

fn ip(text: &str) -> IpAddr {
    text.parse().expect("ip")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).expect("dump")
}

/// The verdict `explain` gives a path that ends as `b` does.
fn verdict_of(b: &TracedBranch) -> Verdict {
    match (&b.end, &b.dnat, &b.snat) {
        (TraceEnd::Dropped { .. }, _, _) => Verdict::Dropped,
        (TraceEnd::Rejected { .. }, _, _) => Verdict::Rejected,
        (TraceEnd::Undetermined { .. }, _, _) => Verdict::Undetermined,
        (_, Some(_), Some(_)) => Verdict::Masqueraded,
        (_, Some(_), None) => Verdict::Preserved,
        (TraceEnd::Delivered, None, _) => Verdict::NotHandled,
        (_, None, _) => Verdict::Forwarded,
    }
}

/// (verdict, endpoint, probability in millionths) of every branch, sorted.
type Outcomes = Vec<(String, String, u64)>;

fn traced(text: &str, packet: Packet, node_ips: &[IpAddr]) -> Outcomes {
    let parsed = parse_text(text);
    let t = trace(
        &parsed.rules(),
        &TraceOptions {
            packet,
            mark: 0,
            node_ips: node_ips.to_vec(),
            verbose: false,
        },
    );
    assert_eq!(t.rulesets.len(), 1);
    let mut out: Outcomes = t.rulesets[0]
        .branches
        .iter()
        .map(|b| {
            let endpoint = b.dnat.as_ref().map(|n| words::translation(&n.to));
            (
                verdict_of(b).as_str().to_string(),
                endpoint.unwrap_or_default(),
                (b.probability * 1e6).round() as u64,
            )
        })
        .collect();
    out.sort();
    out
}

fn explained(text: &str, target: &str, src: IpAddr, dst: IpAddr, node_ips: &[IpAddr]) -> Outcomes {
    let parsed = parse_text(text);
    let e = explain(
        &parsed.rules(),
        &ExplainOptions {
            target: target.parse::<Target>().expect("target"),
            src: Some(src),
            dst: Some(dst),
            node_ips: node_ips.to_vec(),
            max_paths: srcip_rules::netfilter::MAX_PATHS,
        },
    );
    assert_eq!(e.ports.len(), 1, "{target}");
    let class = &e.ports[0].classes[0];
    let mut out: Outcomes = class
        .branches
        .iter()
        .map(|b| {
            (
                b.verdict.as_str().to_string(),
                words::endpoint_or(b.endpoint.as_ref(), ""),
                (b.probability * 1e6).round() as u64,
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn trace_and_explain_agree_on_every_service_address_and_source() {
    // The kernel captures: every destination kind, both eras, both policies; sources from
    // outside and inside the source range, a pod, an endpoint, and the node itself.
    let node = ip(NODE);
    let sources = [
        "203.0.113.7",
        "198.51.100.2",
        "198.18.0.2",
        "198.18.1.10",
        NODE,
    ];
    let mut compared = 0;
    for scenario in [
        "v1_21xlb-cluster-node1only",
        "v1_21xlb-local-node1only",
        "v1_28ext-cluster-node1only",
        "v1_28ext-local-node1only",
        "v1_28ext-local-nowhere",
    ] {
        let text = read(&format!("testdata/kernel/{scenario}/node1.iptables-save"));
        let port: u16 = text
            .lines()
            .find(|l| l.contains("-d 198.19.0.") && l.contains("--dport "))
            .and_then(|l| l.split("--dport ").nth(1))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|p| p.parse().ok())
            .expect("service port");
        let addresses = ["198.19.0.10", "198.19.0.11", "198.19.0.12", "198.51.100.80"]
            .into_iter()
            .chain(["198.51.100.81", "198.51.100.90"]);
        for address in addresses {
            for source in sources {
                let src = ip(source);
                let dst = ip(address);
                let origin = if src == node {
                    Origin::Local
                } else {
                    Origin::Remote
                };
                let packet = Packet::tcp(src, dst, port, origin);
                let target = format!("{address}:{port}");
                let want = explained(&text, &target, src, dst, &[node]);
                let got = traced(&text, packet, &[node]);
                assert_eq!(got, want, "{scenario}: {source} → {target}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 5 * 6 * 5);
}

#[test]
fn node_ports_agree_too_including_loopback() {
    let text = read("testdata/nodes/v1.21-xlb-etp-local-legacy.txt");
    let node = ip(NODE);
    for (src, dst) in [
        ("203.0.113.7", NODE),
        ("127.0.0.1", "127.0.0.1"),
        (NODE, NODE),
        ("10.0.0.2", NODE),
    ] {
        let (src, dst) = (ip(src), ip(dst));
        let origin = if src.is_loopback() || src == node {
            Origin::Local
        } else {
            Origin::Remote
        };
        let want = explained(&text, "30010", src, dst, &[node]);
        let got = traced(&text, Packet::tcp(src, dst, 30010, origin), &[node]);
        assert_eq!(got, want, "{src} → {dst}:30010");
    }
}

#[test]
fn events_follow_kernel_order_with_routing_between() {
    let text = read("testdata/kernel/v1_28ext-cluster-node1only/node1.iptables-save");
    let parsed = parse_text(&text);
    let port = 8106;
    let t = trace(
        &parsed.rules(),
        &TraceOptions {
            packet: Packet::tcp(ip("203.0.113.7"), ip("198.51.100.80"), port, Origin::Remote),
            mark: 0,
            node_ips: vec![ip(NODE)],
            verbose: true,
        },
    );
    let b = &t.rulesets[0].branches[0];
    assert_eq!(verdict_of(b), Verdict::Masqueraded);
    let hooks: Vec<Option<Hook>> = b
        .events
        .iter()
        .map(|e| match e {
            TraceEvent::Matched { hook, .. }
            | TraceEvent::Missed { hook, .. }
            | TraceEvent::Policy { hook, .. } => Some(*hook),
            TraceEvent::Routed { .. } => None,
        })
        .collect();
    let routed = hooks.iter().position(Option::is_none).expect("routing");
    assert!(hooks[..routed].iter().all(|h| *h == Some(Hook::Prerouting)));
    let after: Vec<Hook> = hooks[routed + 1..].iter().flatten().copied().collect();
    let first_post = after
        .iter()
        .position(|h| *h == Hook::Postrouting)
        .expect("postrouting");
    assert!(after[..first_post].iter().all(|h| *h == Hook::Forward));
    assert!(after[first_post..].iter().all(|h| *h == Hook::Postrouting));
    // Verbose: the KUBE-SERVICES rules before the LoadBalancer IP's (the cluster IP's, the
    // externalIP's) were tested and missed on their destination.
    let missed_on_destination = b.events.iter().any(|e| {
        matches!(e, TraceEvent::Missed { rule, test, .. }
            if rule.chain == "KUBE-SERVICES" && test.starts_with("-d "))
    });
    assert!(missed_on_destination);
}

fn srcip() -> Command {
    let mut cmd = Command::cargo_bin("srcip-rules").unwrap();
    cmd.env_remove("NO_COLOR");
    cmd
}

fn run(args: &[&str], code: i32) -> (String, String) {
    let out = srcip().arg("trace").args(args).assert().code(code);
    let o = out.get_output();
    (
        String::from_utf8(o.stdout.clone()).unwrap(),
        String::from_utf8(o.stderr.clone()).unwrap(),
    )
}

const RANGED: &str = "testdata/kernel/v1_28ext-local-node1only/node1.iptables-save";

#[test]
fn cli_traces_a_packet_and_says_how_each_branch_ends() {
    // Outside the LoadBalancer's source range: kube-proxy's firewall drops it.
    let (out, _) = run(
        &[
            "--src",
            "198.51.100.2",
            "--dst",
            "198.51.100.81",
            "--dport",
            "8109",
            "--node-ip",
            NODE,
            "--color",
            "never",
            RANGED,
        ],
        0,
    );
    assert!(out.contains("dropped: dropped by line"), "{out}");
    assert!(out.contains("KUBE-PROXY-FIREWALL"), "{out}");
    // Inside it: forwarded to the local endpoint with the client's address.
    let (out, _) = run(
        &[
            "--src",
            "203.0.113.7",
            "--dst",
            "198.51.100.81",
            "--dport",
            "8109",
            "--node-ip",
            NODE,
            "--color",
            "never",
            "-v",
            RANGED,
        ],
        0,
    );
    assert!(out.contains("forwarded to 198.18.1.10:8080"), "{out}");
    assert!(
        out.contains("the receiver sees the source 203.0.113.7"),
        "{out}"
    );
    assert!(
        out.contains("routing: 198.18.1.10 is not this node's"),
        "{out}"
    );
    assert!(
        out.contains("no match: `-d 198.19.0.10/32`: the destination is 198.51.100.81"),
        "{out}"
    );
}

#[test]
fn cli_json_and_markdown_carry_the_same_trace() {
    // JSON: one document, a branch per way, the rules with line numbers.
    let (out, _) = run(
        &[
            "--src",
            "203.0.113.7",
            "--dst",
            "198.19.0.10",
            "--dport",
            "8109",
            "--node-ip",
            NODE,
            "--format",
            "json",
            RANGED,
        ],
        0,
    );
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let branch = &doc["inputs"][0]["rulesets"][0]["branches"][0];
    assert_eq!(branch["verdict"], "forwarded");
    assert_eq!(branch["endpoint"], "198.18.1.10:8080");
    assert_eq!(branch["source"]["kind"], "masquerade");
    assert!(branch["rules"][0]["line"].as_u64().is_some());
    assert_eq!(branch["routed"]["local"], false);
    // Markdown: a table of branches.
    let (out, _) = run(
        &[
            "--src",
            "203.0.113.7",
            "--dst",
            "198.19.0.10",
            "--dport",
            "8109",
            "--format",
            "markdown",
            RANGED,
        ],
        0,
    );
    assert!(out.contains("| branch | probability | outcome |"), "{out}");
}

#[test]
fn cli_refuses_what_it_cannot_answer() {
    // IPv6 packet, IPv4 dump: not found, with the way out.
    let (_, err) = run(
        &[
            "--src",
            "2001:db8::1",
            "--dst",
            "2001:db8::2",
            "--dport",
            "80",
            RANGED,
        ],
        1,
    );
    assert!(err.contains("ip6tables-save"), "{err}");
    // Mixed families, a bad mark, --local with an incoming interface: usage errors.
    run(
        &[
            "--src",
            "10.0.0.1",
            "--dst",
            "2001:db8::2",
            "--dport",
            "80",
            RANGED,
        ],
        2,
    );
    run(
        &[
            "--src", "10.0.0.1", "--dst", "10.0.0.2", "--dport", "80", "--mark", "0xzz", RANGED,
        ],
        2,
    );
    run(
        &[
            "--src",
            "10.0.0.1",
            "--dst",
            "10.0.0.2",
            "--dport",
            "80",
            "--local",
            "--in-iface",
            "eth0",
            RANGED,
        ],
        2,
    );
    run(
        &[
            "--src", "10.0.0.1", "--dst", "10.0.0.2", "--dport", "0", RANGED,
        ],
        2,
    );
    // An unreadable input.
    run(
        &[
            "--src",
            "10.0.0.1",
            "--dst",
            "10.0.0.2",
            "--dport",
            "80",
            "testdata/none.txt",
        ],
        3,
    );
}

/// Renders `trace` for one packet in all three formats.
fn render_all(path: &str, packet: Packet, node_ips: &[IpAddr], verbose: bool) -> [String; 3] {
    use srcip_rules::report::{self, Format, Palette, TraceReport, TracedInput};
    use srcip_rules::source::Source;
    let source = Source::from_text(path, read(path));
    let parsed = srcip_rules::parse::parse_structure(&source);
    let traced = trace(
        &parsed.rules(),
        &TraceOptions {
            packet,
            mark: 0,
            node_ips: node_ips.to_vec(),
            verbose,
        },
    );
    let report = TraceReport {
        inputs: vec![TracedInput {
            source: &source,
            trace: traced,
            errors: parsed.errors(),
            error_count: parsed.error_count(),
        }],
    };
    [Format::Text, Format::Markdown, Format::Json].map(|format| {
        let mut out = Vec::new();
        report::renderer(format, Palette::new(false))
            .trace(&report, &mut out)
            .expect("render");
        String::from_utf8(out).expect("utf-8")
    })
}

#[test]
fn trace_snapshots() {
    let node = [ip(NODE)];
    let cases: [(&str, &str, Packet, &[IpAddr], bool); 4] = [
        (
            // Inside the source range of a Local LoadBalancer IP, every rule tested shown.
            "ranged-lb-inside-range-verbose",
            RANGED,
            Packet::tcp(ip("203.0.113.7"), ip("198.51.100.81"), 8109, Origin::Remote),
            &node,
            true,
        ),
        (
            // A ClusterIP from outside the pod range: marked, then masqueraded.
            "cluster-ip-from-outside",
            "testdata/kernel/v1_21xlb-cluster-node1only/node1.iptables-save",
            Packet::tcp(ip("203.0.113.7"), ip("198.19.0.10"), 8100, Origin::Remote),
            &node,
            false,
        ),
        (
            // IPv6, Local nodePort with a random choice of two endpoints from a hairpin pod.
            "ipv6-node-port-hairpin",
            "testdata/nodes/v1.28-ext-ipv6-all-kinds-nft.txt",
            Packet::tcp(ip("fd00:10::2"), ip("2001:db8:1::2"), 3002, Origin::Remote),
            &[ip("2001:db8:1::2")],
            false,
        ),
        (
            // A grep fragment: nat entered at KUBE-SERVICES, a chain missing.
            "fragment",
            "testdata/partial/seed-grep-31015-etp-local.txt",
            Packet::tcp(ip("203.0.113.7"), ip(NODE), 31015, Origin::Remote),
            &node,
            false,
        ),
    ];
    for (name, path, packet, node_ips, verbose) in cases {
        let [text, markdown, json] = render_all(path, packet, node_ips, verbose);
        insta::assert_snapshot!(format!("trace-{name}-text"), text);
        insta::assert_snapshot!(format!("trace-{name}-markdown"), markdown);
        insta::assert_snapshot!(format!("trace-{name}-json"), json);
    }
}
