//! `explain` on the shipped dumps: the verdict per source class for each era and policy
//! (reference §9.2), and what it says about marks, conflicts, fragments and undecidable
//! rules, checked on the typed explanation (the wording is the report's, pinned by the
//! snapshots).

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::kube::destination::DestinationKind;
use crate::kube::explanation::{
    BranchExplanation, BranchReason, ClassKind, DropCause, DropMark, Explanation, FamilyMismatch,
    PortExplanation, Verdict,
};
use crate::kube::findings::{BranchNoteKind, PortAssumption, PortNote, UndecidedTest};
use crate::kube::shape::{PolicyEvidence, TrafficPolicy};
use crate::kube::{ExplainOptions, Target, explain};
use crate::model::Family;
use crate::parse::parse_text;

fn fixture(name: &str) -> String {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).expect("fixture")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("ip")
}

/// The endpoint a branch was DNATed to, as written.
fn endpoint(b: &BranchExplanation) -> Option<String> {
    b.endpoint.and_then(|e| e.range()).map(|r| r.to_string())
}

fn explained(dump_name: &str, target: &str, node_ip: Option<&str>) -> PortExplanation {
    let text = fixture(dump_name);
    let parsed = parse_text(&text);
    let options = ExplainOptions {
        target: target.parse().expect("target"),
        src: None,
        dst: None,
        node_ips: node_ip.map(ip).into_iter().collect(),
        max_paths: crate::netfilter::MAX_PATHS,
    };
    let mut e = explain(&parsed.rules(), &options);
    assert_eq!(e.ports.len(), 1, "{dump_name} {target}");
    e.ports.remove(0)
}

fn verdict_of(port: &PortExplanation, kind: ClassKind) -> Verdict {
    port.classes
        .iter()
        .find(|c| c.kind == kind)
        .map(|c| c.verdict)
        .expect("class")
}

// Reference §9.2 table, XLB era (E2) and 1.24 (E4): Local with / without local endpoints.
#[test]
fn local_policy_verdicts_per_source_class_in_both_eras() {
    for f in [
        "nodes/v1.21-xlb-cluster-and-local-legacy.txt",
        "nodes/v1.24-ext-cluster-and-local-legacy.txt",
    ] {
        let with_local = explained(f, "3002", None);
        assert_eq!(with_local.shape.policy, TrafficPolicy::Local, "{f}");
        assert_eq!(
            verdict_of(&with_local, ClassKind::Other),
            Verdict::Preserved,
            "{f}"
        );
        assert_eq!(
            verdict_of(&with_local, ClassKind::Loopback),
            Verdict::Masqueraded,
            "{f}"
        );
        assert_eq!(
            verdict_of(&with_local, ClassKind::Node),
            Verdict::Masqueraded,
            "{f}"
        );
        assert_eq!(
            verdict_of(&with_local, ClassKind::Pods),
            Verdict::Preserved,
            "{f}"
        );
        let external = with_local
            .classes
            .iter()
            .find(|c| c.kind == ClassKind::Other)
            .expect("external");
        assert_eq!(external.branches.len(), 1);
        assert_eq!(
            endpoint(&external.branches[0]),
            Some("10.180.2.2:80".into())
        );
        let without = explained(f, "3003", None);
        assert_eq!(
            verdict_of(&without, ClassKind::Other),
            Verdict::Dropped,
            "{f}"
        );
        let cluster = explained(f, "3001", None);
        assert_eq!(cluster.shape.policy, TrafficPolicy::Cluster, "{f}");
        for c in &cluster.classes {
            assert_eq!(c.verdict, Verdict::Masqueraded, "{f} {:?}", c.kind);
        }
    }
}

#[test]
fn kube_mark_drop_is_reported_as_dropped_by_kubelet_firewall() {
    let port = explained("nodes/v1.21-xlb-cluster-and-local-legacy.txt", "3003", None);
    let external = port
        .classes
        .iter()
        .find(|c| c.kind == ClassKind::Other)
        .expect("external");
    assert_eq!(external.verdict, Verdict::Dropped);
    // The XLB's "has no local endpoints" rule set kubelet's drop mark, and kubelet's
    // KUBE-FIREWALL dropped the marked packet.
    assert!(
        matches!(
            &external.branches[0].reason,
            BranchReason::Dropped {
                cause: DropCause::DropMark(DropMark {
                    no_local_endpoints: true,
                    ..
                }),
                ..
            }
        ),
        "{:?}",
        external.branches[0].reason
    );
}

#[test]
fn kube_mark_drop_only_marks_so_later_rules_still_apply() {
    // Dump C's fixture quirk: three services share nodePort 3001. KUBE-XLB of ns2/svc2
    // only sets the drop mark and returns; KUBE-NODEPORTS goes on to ns2b/svc2b's rule,
    // which DNATs, and a forwarded packet never meets kubelet's KUBE-FIREWALL (INPUT and
    // OUTPUT only). So the kernel masquerades it to 10.180.0.3:80, not drops it.
    let port = explained(
        "nodes/v1.23-xlb-multi-service-no-local-endpoints-legacy.txt",
        "3001",
        None,
    );
    let external = port
        .classes
        .iter()
        .find(|c| c.kind == ClassKind::Other)
        .expect("external");
    assert_eq!(external.verdict, Verdict::Masqueraded);
    assert_eq!(
        endpoint(&external.branches[0]),
        Some("10.180.0.3:80".into())
    );
}

// Reference §14 dumps B and E: `--nodeport-addresses` makes KUBE-SERVICES reach
// KUBE-NODEPORTS only for `-d <node IP>`; without --node-ip that address is used.
#[test]
fn nodeport_addresses_give_the_node_address_without_node_ip() {
    for (f, node) in [
        (
            "nodes/v1.23-xlb-etp-local-nodeport-addresses-legacy.txt",
            "10.20.30.51",
        ),
        (
            "nodes/v1.28-ext-etp-local-nodeport-addresses-nft.txt",
            "192.168.0.2",
        ),
    ] {
        let port = explained(f, "3001", None);
        assert!(
            port.assumptions.iter().any(|a| matches!(
                a,
                PortAssumption::NodeAddressFromDump { node: n, .. } if *n == ip(node)
            )),
            "{f}: {:?}",
            port.assumptions
        );
        let external = port
            .classes
            .iter()
            .find(|c| c.kind == ClassKind::Other)
            .expect("external");
        assert_eq!(external.destination, ip(node), "{f}");
        assert!(!external.destination_symbolic, "{f}");
        assert_eq!(external.verdict, Verdict::Preserved, "{f}");
        assert_eq!(
            endpoint(&external.branches[0]),
            Some("10.180.2.1:80".into()),
            "{f}"
        );
        assert_eq!(
            verdict_of(&port, ClassKind::Node),
            Verdict::Masqueraded,
            "{f}"
        );
        assert_eq!(
            verdict_of(&port, ClassKind::Pods),
            Verdict::Preserved,
            "{f}"
        );
        // 127.0.0.1 is not in the list: kube-proxy does not handle it, and says why.
        let lo = port
            .classes
            .iter()
            .find(|c| c.kind == ClassKind::Loopback)
            .expect("loopback");
        assert_eq!(lo.verdict, Verdict::NotHandled, "{f}");
        assert!(
            matches!(
                lo.branches[0].reason,
                BranchReason::NeverReachesNodePorts { .. }
            ),
            "{f}"
        );
    }
}

#[test]
fn conflicting_node_port_rules_are_called_out() {
    let port = explained(
        "nodes/v1.23-xlb-multi-service-no-local-endpoints-legacy.txt",
        "3001",
        None,
    );
    let conflict = port.notes.iter().find_map(|n| match n {
        PortNote::ConflictingRules { services, .. } => Some(services.clone()),
        _ => None,
    });
    let conflict = conflict.expect("a conflicting-rules note");
    assert!(conflict.contains(&("ns2b/svc2b:p80".to_string(), vec![51])));
    assert!(conflict.contains(&("ns3/svc3:p80".to_string(), vec![52])));
    let external = port
        .classes
        .iter()
        .find(|c| c.kind == ClassKind::Other)
        .expect("external");
    assert_eq!(
        external.taken_by_other,
        Some((51, "ns2b/svc2b:p80".to_string()))
    );
    assert!(external.branches[0].drop_mark_ignored.is_some());
    // One service per port: no such note.
    let single = explained("nodes/v1.28-ext-multi-service-nft.txt", "3001", None);
    assert!(
        !single
            .notes
            .iter()
            .any(|n| matches!(n, PortNote::ConflictingRules { .. }))
    );
}

#[test]
fn random_mix_of_verdicts_is_reported_as_mixed() {
    let port = explained("nodes/v1.24-ext-cluster-and-local-legacy.txt", "3002", None);
    let hairpin = port
        .classes
        .iter()
        .find(|c| c.kind == ClassKind::Endpoint && c.source == ip("10.180.0.2"))
        .expect("hairpin");
    assert_eq!(hairpin.verdict, Verdict::Masqueraded);
    let got: Vec<(Verdict, f64, Vec<String>)> = hairpin
        .mixed
        .iter()
        .map(|o| {
            let endpoints = o
                .endpoints
                .iter()
                .filter_map(|e| e.range().map(|r| r.to_string()))
                .collect();
            (o.verdict, o.probability, endpoints)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Verdict::Masqueraded, 0.5, vec!["10.180.0.2:80".to_string()]),
            (Verdict::Preserved, 0.5, vec!["10.180.2.2:80".to_string()]),
        ]
    );
    // Agreeing branches, or undecidable ones, are not "mixed".
    assert!(verdict_of(&port, ClassKind::Pods) == Verdict::Preserved);
    assert!(port.classes.iter().filter(|c| !c.mixed.is_empty()).count() == 2);
    let forked = explained(
        "nodes/v1.28-ext-etp-local-unknown-module-nft.txt",
        "3001",
        Some("192.168.0.2"),
    );
    assert!(forked.classes.iter().all(|c| c.mixed.is_empty()));
}

#[test]
fn an_external_ip_drop_rule_is_not_a_node_port() {
    // Dump D's filter KUBE-EXTERNAL-SERVICES drops `-d 192.168.99.22/32 … --dport 80` (an
    // externalIP without local endpoints); port 80 is not a nodePort of the node.
    let text = fixture("nodes/v1.28-ext-multi-service-nft.txt");
    let parsed = parse_text(&text);
    let options = ExplainOptions {
        target: "80".parse().expect("target"),
        src: None,
        dst: None,
        node_ips: Vec::new(),
        max_paths: crate::netfilter::MAX_PATHS,
    };
    let e = explain(&parsed.rules(), &options);
    assert!(
        e.ports.is_empty(),
        "{:?}",
        e.ports.first().map(|p| &p.service)
    );
    // Asked as an address, the same rule is found, as the externalIP's.
    let port = explained(
        "nodes/v1.28-ext-multi-service-nft.txt",
        "192.168.99.22:80",
        None,
    );
    assert_eq!(port.destination.kind, DestinationKind::ExternalIp);
    assert_eq!(verdict_of(&port, ClassKind::Other), Verdict::Dropped);
}

#[test]
fn a_missing_node_port_lists_the_ones_the_dump_has() {
    let text = fixture("nodes/v1.28-ext-multi-service-nft.txt");
    let parsed = parse_text(&text);
    let e = explain(
        &parsed.rules(),
        &ExplainOptions {
            target: Target::NodePort {
                port: 9999,
                protocol: None,
            },
            src: None,
            dst: None,
            node_ips: Vec::new(),
            max_paths: crate::netfilter::MAX_PATHS,
        },
    );
    assert!(e.ports.is_empty());
    let available: Vec<(u16, Option<String>)> = e
        .available
        .iter()
        .map(|a| (a.port, a.service.clone()))
        .collect();
    // All three (the dump has only three), nearest to 9999 first.
    assert_eq!(e.available_total, 3);
    assert_eq!(
        available,
        vec![
            (3003, Some("ns3/svc3:p80".to_string())),
            (3002, Some("ns5/svc5:p80".to_string())),
            (3001, Some("ns2/svc2:p80".to_string())),
        ]
    );
}

/// A KUBE-NODEPORTS rule per (protocol, port), each its own service `ns/svc-PORT`.
fn many_node_ports(ports: impl Iterator<Item = u16>) -> String {
    let mut text = String::from("*nat\n:KUBE-NODEPORTS - [0:0]\n:KUBE-SVC-X - [0:0]\n");
    for port in ports {
        for protocol in ["tcp", "udp"] {
            text.push_str(&format!(
                "-A KUBE-NODEPORTS -p {protocol} -m comment --comment \"ns/svc-{port}:p\" -m {protocol} --dport {port} -j KUBE-SVC-X\n"
            ));
        }
    }
    text.push_str("COMMIT\n");
    text
}

fn nearest(text: &str, target: Target) -> (Vec<String>, usize) {
    let parsed = parse_text(text);
    let e = explain(
        &parsed.rules(),
        &ExplainOptions {
            target,
            src: None,
            dst: None,
            node_ips: Vec::new(),
            max_paths: crate::netfilter::MAX_PATHS,
        },
    );
    assert!(e.ports.is_empty());
    let shown = e
        .available
        .iter()
        .map(|a| format!("{}/{}", a.port, a.protocol))
        .collect();
    (shown, e.available_total)
}

// Issue 13: with 196,000 nodePorts, the "not found" answer listed them all (13.7 s).
#[test]
fn a_missing_node_port_offers_the_nearest_few() {
    let text = many_node_ports((30000..30100).step_by(10));
    let (shown, total) = nearest(
        &text,
        Target::NodePort {
            port: 30042,
            protocol: Some(crate::model::Protocol::Udp),
        },
    );
    assert_eq!(total, 20);
    assert_eq!(shown.len(), crate::kube::nodeports::NEAREST_NODE_PORTS);
    assert_eq!(
        shown[..4],
        ["30040/udp", "30040/tcp", "30050/udp", "30050/tcp"]
    );
    // A service: nearest by name.
    let (shown, _) = nearest(
        &text,
        Target::Service {
            namespace: "ns".to_string(),
            name: "svc-30071".to_string(),
            port: None,
        },
    );
    assert_eq!(shown[..2], ["30070/tcp", "30070/udp"]);
}

#[test]
fn seed_fragments_say_what_can_be_said() {
    let local = explained("partial/seed-grep-31015-etp-local.txt", "31015", None);
    assert!(local.partial);
    assert_eq!(local.shape.policy, TrafficPolicy::Local);
    assert!(
        local
            .shape
            .missing_chains
            .contains(&"KUBE-XLB-3LS5F4HE6J2O753K".to_string())
    );
    assert_eq!(
        verdict_of(&local, ClassKind::Loopback),
        Verdict::Masqueraded
    );
    assert_eq!(verdict_of(&local, ClassKind::Other), Verdict::Undetermined);
    assert!(
        local
            .notes
            .iter()
            .any(|n| matches!(n, PortNote::LoopbackMasqueradeOnly { .. }))
    );
    let cluster = explained("partial/seed-grep-31465-etp-cluster.txt", "31465", None);
    assert_eq!(cluster.shape.policy, TrafficPolicy::Cluster);
    for c in &cluster.classes {
        assert_eq!(c.verdict, Verdict::Masqueraded, "{:?}", c.kind);
    }
}

// Found reviewing the generator's `*-no-endpoints` scenarios: the policy line said "the
// rules that would show it are missing", as for a truncated dump, and the era was
// "unrecognised (≥1.0)" although the filter REJECT and KUBE-PROXY-FIREWALL date it.
#[test]
fn service_without_endpoints_says_why_its_policy_is_not_visible() {
    for (dump, versions) in [
        (
            "nodes/generated/v1.28-nft-etp-local-no-endpoints.txt",
            "≥1.25",
        ),
        (
            "nodes/generated/v1.21-legacy-etp-cluster-no-endpoints.txt",
            "≥1.13",
        ),
    ] {
        let port = explained(dump, "30080", None);
        assert_eq!(port.shape.policy, TrafficPolicy::Unknown, "{dump}");
        assert_eq!(
            port.shape.policy_evidence,
            PolicyEvidence::NoEndpoints,
            "{dump}"
        );
        assert_eq!(port.shape.versions.to_string(), versions, "{dump}");
        for class in &port.classes {
            assert_eq!(class.verdict, Verdict::Rejected, "{dump} {:?}", class.kind);
        }
    }
}

#[test]
fn cni_masquerade_outside_kube_proxy_is_found() {
    let port = explained(
        "nodes/v1.28-ext-etp-local-cni-masquerade-breaks-preservation-nft.txt",
        "3001",
        Some("192.168.0.2"),
    );
    let external = port
        .classes
        .iter()
        .find(|c| c.kind == ClassKind::Other)
        .expect("external");
    assert_eq!(external.verdict, Verdict::Masqueraded);
    let m = external.branches[0]
        .masquerade
        .as_ref()
        .expect("masquerade");
    assert!(!m.by_kube_proxy);
    assert_eq!(
        m.rule.as_ref().map(|r| r.chain.as_str()),
        Some("FLANNEL-POSTRTG")
    );
}

#[test]
fn unknown_module_forks_and_names_the_rule() {
    let port = explained(
        "nodes/v1.28-ext-etp-local-unknown-module-nft.txt",
        "3001",
        Some("192.168.0.2"),
    );
    let external = port
        .classes
        .iter()
        .find(|c| c.kind == ClassKind::Other)
        .expect("external");
    assert_eq!(external.verdict, Verdict::Undetermined);
    let verdicts: BTreeSet<Verdict> = external.branches.iter().map(|b| b.verdict).collect();
    assert_eq!(
        verdicts,
        [Verdict::Preserved, Verdict::Dropped].into_iter().collect()
    );
    assert!(external.branches.iter().all(|b| {
        b.notes.iter().any(|n| {
            matches!(&n.kind, BranchNoteKind::Assumed { why, .. }
                if why.iter().any(|w| matches!(w,
                    UndecidedTest::UninterpretedOption { module, .. } if module == "geoip")))
        })
    }));
}

#[test]
fn service_name_target_finds_its_node_port() {
    let port = explained(
        "partial/seed-grep-31015-etp-local.txt",
        "test/nginx-externaltrafficpolicy",
        None,
    );
    assert_eq!(port.destination.port, 31015);
}

#[test]
fn statistic_probabilities_multiply_down_the_chain() {
    // Dump A: three endpoints at 1/3, then 1/2 of the rest, then the rest.
    let port = explained("nodes/v1.21-xlb-etp-local-legacy.txt", "30010", None);
    let node = port
        .classes
        .iter()
        .find(|c| c.kind == ClassKind::Node)
        .expect("node");
    assert_eq!(node.branches.len(), 3);
    for b in &node.branches {
        assert!(
            (b.probability - 1.0 / 3.0).abs() < 1e-6,
            "{:?} {}",
            b.endpoint,
            b.probability
        );
    }
}

/// The hand-written IPv6 node (`ip6tables-nft-save`, kube-proxy ≥1.25; node 2001:db8:1::2,
/// pods fd00:10::/48): every destination kind, each verdict read off its rules by hand.
const IPV6_NODE: &str = "nodes/v1.28-ext-ipv6-all-kinds-nft.txt";

#[test]
fn ipv6_node_ports_follow_their_policy() {
    // ns1/svc1, Cluster: KUBE-EXT marks everything; `! -d ::1/128` keeps ::1 out.
    let cluster = explained(IPV6_NODE, "3001", None);
    assert_eq!(cluster.family, Family::Ipv6);
    assert_eq!(
        verdict_of(&cluster, ClassKind::Loopback),
        Verdict::NotHandled
    );
    assert_eq!(verdict_of(&cluster, ClassKind::Other), Verdict::Masqueraded);
    assert_eq!(verdict_of(&cluster, ClassKind::Pods), Verdict::Masqueraded);
    // ns2/svc2, Local with a local endpoint [fd00:10::2]:80 in KUBE-SVL.
    let local = explained(IPV6_NODE, "3002", None);
    assert_eq!(local.shape.policy, TrafficPolicy::Local);
    let other = local.classes.iter().find(|c| c.kind == ClassKind::Other);
    let other = other.expect("external class");
    assert_eq!(other.verdict, Verdict::Preserved);
    let endpoints: BTreeSet<_> = other.branches.iter().filter_map(endpoint).collect();
    assert_eq!(endpoints, BTreeSet::from(["[fd00:10::2]:80".to_string()]));
    assert_eq!(verdict_of(&local, ClassKind::Node), Verdict::Masqueraded);
    // ns3/svc3 has no endpoints: only the filter REJECT (icmp6-port-unreachable).
    let empty = explained(IPV6_NODE, "3003", None);
    assert_eq!(verdict_of(&empty, ClassKind::Other), Verdict::Rejected);
}

#[test]
fn ipv6_service_addresses_by_kind() {
    // LoadBalancer IP with loadBalancerSourceRanges 2001:db8:ff::/64 (policy Cluster).
    let lb = explained(IPV6_NODE, "[2001:db8:5::8]:80", None);
    assert_eq!(lb.destination.kind, DestinationKind::LoadBalancerIp);
    let ranged = lb.classes.iter().find(|c| {
        c.prefix
            .is_some_and(|p| p.to_string() == "2001:db8:ff::/64")
    });
    assert_eq!(
        ranged.expect("source range class").verdict,
        Verdict::Masqueraded
    );
    assert_eq!(verdict_of(&lb, ClassKind::Other), Verdict::Dropped);
    // externalIP of the Local service: external clients keep their address.
    let external = explained(IPV6_NODE, "[2001:db8:99::11]:80", None);
    assert_eq!(external.destination.kind, DestinationKind::ExternalIp);
    assert_eq!(verdict_of(&external, ClassKind::Other), Verdict::Preserved);
    // ClusterIPs: masqueraded from outside the pod prefix, preserved from pods; the one
    // without endpoints is rejected in filter KUBE-SERVICES.
    let cluster_ip = explained(IPV6_NODE, "[fd00:30::41]:80", None);
    assert_eq!(cluster_ip.destination.kind, DestinationKind::ClusterIp);
    assert_eq!(verdict_of(&cluster_ip, ClassKind::Pods), Verdict::Preserved);
    assert_eq!(
        verdict_of(&cluster_ip, ClassKind::Other),
        Verdict::Masqueraded
    );
    let empty = explained(IPV6_NODE, "[fd00:30::43]:80", None);
    assert_eq!(verdict_of(&empty, ClassKind::Other), Verdict::Rejected);
    // The healthCheckNodePort on the node's own address.
    let health = explained(IPV6_NODE, "[2001:db8:1::2]:30002", Some("2001:db8:1::2"));
    assert_eq!(health.destination.kind, DestinationKind::HealthCheck);
}

/// `ip6tables-save` appended to `iptables-save`: one input, two rulesets.
fn dual_stack(v4: &str) -> String {
    fixture(v4) + &fixture(IPV6_NODE)
}

fn explain_text(text: &str, target: &str, src: Option<&str>) -> Explanation {
    let parsed = parse_text(text);
    let options = ExplainOptions {
        target: target.parse().expect("target"),
        src: src.map(ip),
        dst: None,
        node_ips: Vec::new(),
        max_paths: crate::netfilter::MAX_PATHS,
    };
    explain(&parsed.rules(), &options)
}

#[test]
fn dual_stack_input_answers_each_family_or_the_one_asked() {
    let text = dual_stack("nodes/v1.28-ext-multi-service-nft.txt");
    let both = explain_text(&text, "3001", None);
    let families: Vec<_> = both.ports.iter().map(|p| p.family).collect();
    assert_eq!(families, [Family::Ipv4, Family::Ipv6]);
    // dump D's 3001 is ns2/svc2; the IPv6 node's is ns1/svc1.
    assert_eq!(both.ports[0].service.as_deref(), Some("ns2/svc2:p80"));
    assert_eq!(both.ports[1].service.as_deref(), Some("ns1/svc1:p80"));
    let v6 = explain_text(&text, "3001", Some("2001:db8:ffff::9"));
    assert_eq!(v6.ports.len(), 1);
    assert_eq!(v6.ports[0].family, Family::Ipv6);
    assert_eq!(v6.ports[0].classes[0].kind, ClassKind::Given);
    // A nodePort only rejected in one family is still found in the other's rules.
    let rejected = explain_text(&text, "3003", None);
    assert_eq!(rejected.ports.len(), 2);
    assert_eq!(
        verdict_of(&rejected.ports[1], ClassKind::Other),
        Verdict::Rejected
    );
}

#[test]
fn a_question_in_the_other_family_says_so() {
    // IPv4-only dump, IPv6 question.
    let v4_only = fixture("nodes/v1.28-ext-multi-service-nft.txt");
    let e = explain_text(&v4_only, "3001", Some("2001:db8::1"));
    assert!(e.ports.is_empty());
    assert_eq!(
        e.family_mismatch,
        Some(FamilyMismatch {
            asked: Family::Ipv6,
            dump_has_family: false
        })
    );
    let e = explain_text(&v4_only, "[2001:db8::5]:80", None);
    assert_eq!(e.family_mismatch.map(|m| m.asked), Some(Family::Ipv6));
    // Dual-stack dump whose IPv6 ruleset lacks the port: the family is there, not the port.
    let text = fixture("dumps/ipv4-then-ipv6.txt");
    let e = explain_text(&text, "31201", Some("2001:db8::1"));
    assert_eq!(
        e.family_mismatch,
        Some(FamilyMismatch {
            asked: Family::Ipv6,
            dump_has_family: true
        })
    );
    // A port in neither family is plainly not found.
    let e = explain_text(&text, "9999", Some("2001:db8::1"));
    assert_eq!(e.family_mismatch, None);
    // Mixed families in one question are refused before any dump is read.
    let options = ExplainOptions {
        target: "3001".parse().expect("target"),
        src: Some(ip("10.0.0.1")),
        dst: Some(ip("2001:db8::1")),
        node_ips: Vec::new(),
        max_paths: crate::netfilter::MAX_PATHS,
    };
    assert!(options.family().is_err());
}
