//! The counter evidence: the judgement on hand-made entries and ways (every finding and
//! its edge), then `explain` on the shipped dumps saved with `-c`.

use super::{
    ContradictionCause, CountedPaths, CounterEvidence, Facts, NextCommand, Silence, Taker, Way,
    judge,
};
use crate::kube::destination::DestinationKind;
use crate::kube::explanation::{ClassKind, PortExplanation, RuleRef, Verdict};
use crate::kube::{ExplainOptions, explain};
use crate::model::Counters;
use crate::parse::parse_text;

fn rule(line: u32, table: &str, chain: &str, packets: Option<u64>) -> RuleRef {
    RuleRef {
        line,
        table: table.into(),
        chain: chain.into(),
        text: format!("-A {chain}"),
        counters: packets.map(|packets| Counters {
            packets,
            bytes: packets * 60,
        }),
    }
}

fn taker(kind: ClassKind, verdict: Verdict) -> Taker {
    Taker {
        kind,
        prefix: None,
        verdict,
        on_way: verdict,
    }
}

fn way(rule: Option<RuleRef>, takers: &[(ClassKind, Verdict)]) -> Way {
    Way {
        rule,
        takers: takers.iter().map(|&(k, v)| taker(k, v)).collect(),
        dnat: Vec::new(),
    }
}

/// A nodePort entry (line 5 of KUBE-NODEPORTS) that counted `entered`, and `ways`.
fn seen(entered: u64, ways: Vec<Way>) -> CountedPaths {
    let entry = rule(5, "nat", "KUBE-NODEPORTS", Some(entered));
    CountedPaths {
        counters: entry.counters.expect("counters"),
        entry,
        ways,
    }
}

const NODE_PORT: Facts = Facts {
    kind: DestinationKind::NodePort,
    address: None,
    port: 31443,
    partial: true,
};

const EXT: &str = "KUBE-EXT-OVMCWRG6LWTMD7R2";

/// 15b's shape: pods (line 2) and local sources (line 3) in KUBE-EXT, external clients
/// on to the filter DROP (line 1); `counts` are lines 2, 3 and 1.
fn ext_local_ways(counts: [Option<u64>; 3]) -> Vec<Way> {
    vec![
        way(
            Some(rule(3, "nat", EXT, counts[1])),
            &[
                (ClassKind::Loopback, Verdict::Masqueraded),
                (ClassKind::Node, Verdict::Masqueraded),
            ],
        ),
        way(
            Some(rule(2, "nat", EXT, counts[0])),
            &[(ClassKind::Pods, Verdict::Preserved)],
        ),
        way(
            Some(rule(1, "filter", "KUBE-EXTERNAL-SERVICES", counts[2])),
            &[(ClassKind::Other, Verdict::Dropped)],
        ),
    ]
}

#[test]
fn nothing_entered_says_nothing_even_when_later_rules_counted() {
    let e = judge(
        seen(0, ext_local_ways([Some(7), Some(0), Some(9)])),
        NODE_PORT,
    );
    assert!(matches!(
        e,
        CounterEvidence::Silent {
            why: Silence::NothingCounted,
            ..
        }
    ));
}

#[test]
fn every_way_zero_contradicts_and_names_the_way_external_clients_go() {
    let e = judge(seen(1843, ext_local_ways([Some(0); 3])), NODE_PORT);
    let CounterEvidence::Contradicts {
        expected,
        causes,
        next_command,
        seen,
    } = e
    else {
        panic!("not a contradiction: {e:?}");
    };
    assert_eq!(expected, Some(2));
    assert_eq!(seen.ways[2].rule.as_ref().map(|r| r.line), Some(1));
    assert_eq!(
        causes,
        vec![
            ContradictionCause::CountersReset {
                table: "filter".into()
            },
            ContradictionCause::EarlierRule {
                table: "filter".into(),
                hooks: vec!["INPUT"],
                in_input: false,
            },
        ]
    );
    assert_eq!(
        next_command,
        NextCommand {
            table: "filter".into(),
            patterns: vec!["-A INPUT".into(), "31443".into()],
        }
    );
}

#[test]
fn a_nat_way_that_should_have_counted_blames_nat_and_greps_its_chain() {
    let only = vec![way(
        Some(rule(87, "nat", EXT, Some(0))),
        &[
            (ClassKind::Other, Verdict::Masqueraded),
            (ClassKind::Pods, Verdict::Masqueraded),
        ],
    )];
    let whole = Facts {
        partial: false,
        ..NODE_PORT
    };
    let CounterEvidence::Contradicts {
        expected,
        causes,
        next_command,
        ..
    } = judge(seen(6, only), whole)
    else {
        panic!("not a contradiction");
    };
    assert_eq!(expected, Some(0));
    assert_eq!(
        causes,
        vec![ContradictionCause::CountersReset {
            table: "nat".into()
        }]
    );
    assert_eq!(next_command.table, "nat");
    assert_eq!(next_command.patterns, vec![EXT.to_string(), "31443".into()]);
}

#[test]
fn an_unseen_way_forbids_a_contradiction() {
    // External clients fall off the chain and no rule counts them: they may all have.
    let mut ways = ext_local_ways([Some(0); 3]);
    ways[2].rule = None;
    let e = judge(seen(50, ways), NODE_PORT);
    let CounterEvidence::Confirms {
        verdict,
        by_elimination,
        taken,
        ..
    } = e
    else {
        panic!("expected a confirmation by elimination: {e:?}");
    };
    assert_eq!(
        (verdict, by_elimination, taken),
        (Verdict::Dropped, true, vec![2])
    );
}

#[test]
fn the_way_of_one_verdict_counting_what_entered_confirms_it() {
    let mut ways = ext_local_ways([Some(0), Some(0), Some(4211)]);
    ways[0].dnat = vec![rule(4, "nat", "KUBE-SEP-VVDMT2TUCB6TPWDZ", Some(0))];
    let e = judge(seen(4211, ways), NODE_PORT);
    let CounterEvidence::Confirms {
        verdict,
        taken,
        by_elimination,
        unreached_dnat,
        ..
    } = e
    else {
        panic!("not a confirmation: {e:?}");
    };
    assert_eq!((verdict, by_elimination), (Verdict::Dropped, false));
    assert_eq!(taken, vec![2]);
    assert_eq!(
        unreached_dnat.iter().map(|r| r.line).collect::<Vec<_>>(),
        [4]
    );
}

#[test]
fn a_dnat_that_counted_other_traffic_is_not_cited() {
    let mut ways = ext_local_ways([Some(0), Some(0), Some(10)]);
    ways[0].dnat = vec![rule(4, "nat", "KUBE-SEP-A", Some(0))];
    ways[1].dnat = vec![rule(7, "nat", "KUBE-SEP-B", Some(211))];
    let CounterEvidence::Confirms { unreached_dnat, .. } = judge(seen(10, ways), NODE_PORT) else {
        panic!("not a confirmation");
    };
    assert!(unreached_dnat.is_empty());
}

#[test]
fn a_way_entered_from_elsewhere_too_may_count_more() {
    // The chain is also the LoadBalancer IP's: more than entered here, still all of them.
    let e = judge(
        seen(10, ext_local_ways([Some(0), Some(0), Some(25)])),
        NODE_PORT,
    );
    assert!(matches!(
        e,
        CounterEvidence::Confirms {
            verdict: Verdict::Dropped,
            ..
        }
    ));
}

#[test]
fn fewer_counted_than_entered_says_nothing() {
    let e = judge(
        seen(40, ext_local_ways([Some(0), Some(0), Some(25)])),
        NODE_PORT,
    );
    assert!(matches!(
        e,
        CounterEvidence::Silent {
            why: Silence::FewerCounted { counted: 25 },
            ..
        }
    ));
}

#[test]
fn ways_of_different_verdicts_counted_say_nothing() {
    let e = judge(
        seen(40, ext_local_ways([Some(10), Some(0), Some(30)])),
        NODE_PORT,
    );
    assert!(matches!(
        e,
        CounterEvidence::Silent {
            why: Silence::Split,
            ..
        }
    ));
}

#[test]
fn one_way_shared_by_two_verdicts_says_nothing() {
    let ways = vec![way(
        Some(rule(48, "nat", "KUBE-XLB-X", Some(100))),
        &[
            (ClassKind::Pods, Verdict::Preserved),
            (ClassKind::Endpoint, Verdict::Masqueraded),
        ],
    )];
    let e = judge(seen(100, ways), NODE_PORT);
    assert!(matches!(
        e,
        CounterEvidence::Silent {
            why: Silence::Split,
            ..
        }
    ));
}

#[test]
fn an_undetermined_way_that_counted_confirms_nothing() {
    let mut ways = ext_local_ways([Some(0), Some(0), Some(12)]);
    ways[2]
        .takers
        .push(taker(ClassKind::Pods, Verdict::Undetermined));
    let e = judge(seen(12, ways), NODE_PORT);
    assert!(matches!(
        e,
        CounterEvidence::Silent {
            why: Silence::Split,
            ..
        }
    ));
}

#[test]
fn an_unseen_way_of_another_verdict_needs_an_exact_count() {
    let mut ways = ext_local_ways([Some(0), Some(0), Some(30)]);
    ways[1].rule = None; // the pods' way has no counter
    let short = judge(seen(40, ways.clone()), NODE_PORT);
    assert!(matches!(
        short,
        CounterEvidence::Silent {
            why: Silence::Unseen,
            ..
        }
    ));
    // More than entered: the counted way also counts another entry's packets, so some
    // of these may still have gone the unseen way.
    let more = judge(seen(20, ways.clone()), NODE_PORT);
    assert!(matches!(
        more,
        CounterEvidence::Silent {
            why: Silence::Unseen,
            ..
        }
    ));
    let exact = judge(seen(30, ways), NODE_PORT);
    assert!(matches!(
        exact,
        CounterEvidence::Confirms {
            verdict: Verdict::Dropped,
            ..
        }
    ));
}

// --- explain on the shipped dumps ---

fn explained(dump: &str, target: &str, src: Option<&str>) -> PortExplanation {
    let path = format!("{}/testdata/{dump}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).expect("fixture");
    let parsed = parse_text(&text);
    let options = ExplainOptions {
        target: target.parse().expect("target"),
        src: src.map(|s| s.parse().expect("ip")),
        dst: None,
        node_ips: Vec::new(),
        max_paths: crate::netfilter::MAX_PATHS,
    };
    let mut e = explain(&parsed.rules(), &options);
    assert_eq!(e.ports.len(), 1, "{dump} {target}");
    e.ports.remove(0)
}

#[test]
fn a_dump_saved_without_counters_has_no_counter_evidence() {
    let port = explained("nodes/v1.28-ext-multi-service-nft.txt", "3001", None);
    assert_eq!(port.counter_evidence, None);
    assert!(
        port.classes
            .iter()
            .flat_map(|c| &c.branches)
            .flat_map(|b| &b.decisive)
            .all(|r| r.counters.is_none())
    );
}

#[test]
fn cited_rules_carry_their_counters() {
    let port = explained(
        "dumps/v1.28-ext-counters-drop-confirmed-nft.txt",
        "3001",
        None,
    );
    let entry = &port.entry_rules[0];
    assert_eq!(
        (entry.line, entry.counters),
        (
            92,
            Some(Counters {
                packets: 250,
                bytes: 15000
            })
        )
    );
}

#[test]
fn whole_ext_dump_drop_confirmed_by_the_filter_drop() {
    let port = explained(
        "dumps/v1.28-ext-counters-drop-confirmed-nft.txt",
        "3001",
        None,
    );
    let Some(CounterEvidence::Confirms {
        seen,
        verdict,
        taken,
        unreached_dnat,
        ..
    }) = port.counter_evidence
    else {
        panic!("{:?}", port.counter_evidence);
    };
    assert_eq!((seen.entry.line, seen.counters.packets), (92, 250));
    assert_eq!(verdict, Verdict::Dropped);
    let taken: Vec<u32> = taken
        .iter()
        .filter_map(|&i| seen.ways[i].rule.as_ref().map(|r| r.line))
        .collect();
    assert_eq!(taken, [39]);
    assert_eq!(
        unreached_dnat.iter().map(|r| r.line).collect::<Vec<_>>(),
        [105]
    );
}

#[test]
fn whole_ext_dump_drop_contradicted_like_fixture_15b() {
    let port = explained(
        "dumps/v1.28-ext-counters-drop-contradicted-nft.txt",
        "3001",
        None,
    );
    let Some(CounterEvidence::Contradicts {
        seen,
        expected: Some(at),
        next_command,
        ..
    }) = port.counter_evidence
    else {
        panic!("{:?}", port.counter_evidence);
    };
    assert_eq!(seen.counters.packets, 1843);
    let expected = seen.ways[at].rule.as_ref().expect("rule");
    assert_eq!((expected.line, expected.table.as_str()), (39, "filter"));
    assert_eq!(next_command.patterns, ["-A INPUT", "3001"]);
}

#[test]
fn whole_xlb_dump_mark_drop_confirmed_and_no_dnat_reached() {
    let port = explained(
        "dumps/v1.21-xlb-counters-mark-drop-confirmed-legacy.txt",
        "30080",
        None,
    );
    let Some(CounterEvidence::Confirms {
        seen,
        verdict: Verdict::Dropped,
        taken,
        unreached_dnat,
        ..
    }) = port.counter_evidence
    else {
        panic!("{:?}", port.counter_evidence);
    };
    assert_eq!((seen.entry.line, seen.counters.packets), (35, 4211));
    assert_eq!(seen.ways[taken[0]].rule.as_ref().map(|r| r.line), Some(51));
    assert_eq!(
        unreached_dnat.iter().map(|r| r.line).collect::<Vec<_>>(),
        [40, 42]
    );
}

#[test]
fn a_port_nobody_connected_to_says_no_packets_counted() {
    let port = explained(
        "dumps/v1.28-ext-counters-drop-confirmed-nft.txt",
        "3002",
        None,
    );
    assert!(matches!(
        port.counter_evidence,
        Some(CounterEvidence::Silent {
            why: Silence::NothingCounted,
            ..
        })
    ));
}

#[test]
fn one_source_followed_says_nothing() {
    let port = explained(
        "dumps/v1.28-ext-counters-drop-contradicted-nft.txt",
        "3001",
        Some("203.0.113.9"),
    );
    assert_eq!(
        port.counter_evidence,
        Some(CounterEvidence::Silent {
            seen: None,
            why: Silence::OneSource
        })
    );
}

#[test]
fn a_way_the_input_may_not_show_forbids_a_contradiction() {
    // The pods' rule a grep misses: their packets may have gone where nothing counts.
    let mut ways = ext_local_ways([Some(0); 3]);
    ways.push(way(None, &[(ClassKind::Pods, Verdict::Undetermined)]));
    let e = judge(seen(1843, ways), NODE_PORT);
    assert!(matches!(
        e,
        CounterEvidence::Silent {
            why: Silence::Unseen,
            ..
        }
    ));
}

// EXPECTED.md 15a: the rule entering KUBE-XLB and its drop-marking rule both count 4211,
// the DNAT 0; pods are undetermined (their rule may be missing from the grep), yet every
// packet counted reached the drop-marking rule.
#[test]
fn fixture_15a_external_clients_dropped_confirmed() {
    let port = explained(
        "partial/v1.22-grep-counters-xlb-drop-confirmed.txt",
        "31643",
        None,
    );
    let Some(CounterEvidence::Confirms {
        seen,
        verdict,
        taken,
        by_elimination,
        unreached_dnat,
    }) = port.counter_evidence
    else {
        panic!("{:?}", port.counter_evidence);
    };
    assert_eq!((verdict, by_elimination), (Verdict::Dropped, false));
    assert_eq!((seen.entry.line, seen.counters.packets), (2, 4211));
    assert_eq!(taken.len(), 1);
    let drop_mark = &seen.ways[taken[0]];
    assert_eq!(drop_mark.rule.as_ref().map(|r| r.line), Some(10));
    assert_eq!(drop_mark.counters().map(|c| c.packets), Some(4211));
    let pods = drop_mark
        .takers
        .iter()
        .find(|t| t.kind == ClassKind::Pods)
        .expect("pods take line 10 when their rule is not there");
    assert_eq!(
        (pods.verdict, pods.on_way),
        (Verdict::Undetermined, Verdict::Dropped)
    );
    assert!(
        seen.ways
            .iter()
            .any(|w| w.rule.is_none() && w.takers.iter().any(|t| t.kind == ClassKind::Pods)),
        "the pod rule's way, which no counter shows"
    );
    assert_eq!(
        unreached_dnat.iter().map(|r| r.line).collect::<Vec<_>>(),
        [4]
    );
}

// EXPECTED.md 15b: 1843 into KUBE-EXT, 0 on its rules and on the filter DROP.
#[test]
fn fixture_15b_external_clients_dropped_contradicted() {
    let port = explained(
        "partial/v1.27-grep-counters-contradict-filter-drop-nft.txt",
        "31443",
        None,
    );
    let Some(CounterEvidence::Contradicts {
        seen,
        expected: Some(at),
        causes,
        next_command,
    }) = port.counter_evidence
    else {
        panic!("{:?}", port.counter_evidence);
    };
    assert_eq!((seen.entry.line, seen.counters.packets), (5, 1843));
    let drop = seen.ways[at].rule.as_ref().expect("the DROP");
    assert_eq!((drop.line, drop.table.as_str()), (1, "filter"));
    let others: Vec<u32> = seen
        .ways
        .iter()
        .filter_map(|w| w.rule.as_ref())
        .map(|r| r.line)
        .filter(|&l| l != 1)
        .collect();
    assert_eq!(others, [3, 2]);
    assert_eq!(
        causes,
        vec![
            ContradictionCause::CountersReset {
                table: "filter".into()
            },
            ContradictionCause::EarlierRule {
                table: "filter".into(),
                hooks: vec!["INPUT"],
                in_input: false,
            },
        ]
    );
    assert_eq!(next_command.table, "filter");
    assert_eq!(next_command.patterns, ["-A INPUT", "31443"]);
}
