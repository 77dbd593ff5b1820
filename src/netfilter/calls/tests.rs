//! The shared walk against the plain one ([`Calls::plain`], every call walked again) on
//! random chain graphs: jumps and gotos between a few chains (cycles included), marks that
//! change the state, NAT, randomness and undecidable rules that fork the path, missing
//! chains. Where the plain walk finishes under the path limit, the shared walk gives the
//! same branches, entry for entry (trails compared in full), with no more work.

use proptest::prelude::*;

use crate::model::RulesetId;
use crate::netfilter::walk::evaluate_plain;
use crate::netfilter::{
    Context, Fate, Host, Origin, Packet, Pipeline, RuleMemo, Undecided, evaluate_counted,
};
use crate::parse::parse_text;

/// One rule of a generated chain: a test (or none) and a target.
#[derive(Debug, Clone)]
struct GenRule {
    test: usize,
    target: usize,
    chain: usize,
}

const TESTS: &[&str] = &[
    "",
    "-m mark --mark 0x1/0x1 ",
    "-m mark ! --mark 0x2/0x2 ",
    "-m statistic --mode random --probability 0.50000000000 ",
    "-m geoip --src-cc XX ",
    "-p tcp -m tcp --dport 80 ",
    "-d 198.18.0.1/32 ",
    "-m conntrack --ctstate DNAT ",
];

/// The text of a rule of chain `me` among `chains` chains.
fn rule_text(me: usize, rule: &GenRule, chains: usize) -> String {
    // Mostly forward, to a later chain (a DAG, where paths meet again); sometimes anywhere
    // (a cycle).
    let to = if rule.chain < 6 && me + 1 < chains {
        me + 1 + rule.chain % (chains - me - 1)
    } else {
        rule.chain % chains
    };
    let target = match rule.target {
        0..=4 => format!("-j C{to}"),
        5 => format!("-g C{to}"),
        6 => "-j RETURN".to_string(),
        7 => "-j ACCEPT".to_string(),
        8 => "-j DROP".to_string(),
        9 => "-j MARK --xor-mark 0x1".to_string(),
        10 => "-j MARK --set-xmark 0x2/0x2".to_string(),
        11 => "-j DNAT --to-destination 198.18.0.1:80".to_string(),
        12 => "-j MASQUERADE".to_string(),
        _ => "-j MISSING".to_string(),
    };
    format!("-A C{me} {}{target}\n", TESTS[rule.test % TESTS.len()])
}

/// A nat table: PREROUTING and OUTPUT enter C0; `graph[i]` are chain Ci's rules.
fn dump_text(graph: &[Vec<GenRule>]) -> String {
    let mut text = String::from("*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    text.push_str(":POSTROUTING ACCEPT [0:0]\n");
    for i in 0..graph.len() {
        text.push_str(&format!(":C{i} - [0:0]\n"));
    }
    text.push_str("-A PREROUTING -j C0\n-A OUTPUT -j C0\n-A POSTROUTING -j C0\n");
    for (i, rules) in graph.iter().enumerate() {
        for rule in rules {
            text.push_str(&rule_text(i, rule, graph.len()));
        }
    }
    text.push_str("COMMIT\n");
    text
}

fn graph() -> impl Strategy<Value = Vec<Vec<GenRule>>> {
    // Targets 0 to 5 jump or go to a chain: calls are what the cache shares.
    let rule = (0..TESTS.len(), 0usize..14, 0usize..8).prop_map(|(test, target, chain)| GenRule {
        test,
        target,
        chain,
    });
    prop::collection::vec(prop::collection::vec(rule, 0..6), 1..7)
}

/// The plain walk is exponential: its graphs stay small, and this many paths is plenty.
const LIMIT: usize = 3000;

// 256 cases unless `PROPTEST_CASES` says otherwise (CONTRIBUTING.md: a long hunt).
proptest! {
    #[test]
    fn shared_calls_give_the_plain_walks_branches(graph in graph(), local in any::<bool>()) {
        let text = dump_text(&graph);
        let parsed = parse_text(&text);
        prop_assert!(parsed.errors().is_empty(), "{:?}\n{text}", parsed.errors());
        let rules = parsed.rules();
        let host = Host { local_addresses: vec!["192.0.2.10".parse().unwrap()] };
        let pipeline =
            Pipeline::from_iptables(rules.dump(), &rules.dump().node_tables(RulesetId(0)));
        let ctx = Context {
            rules,
            pipeline: &pipeline,
            host: &host,
            assumed_chains: &[],
            max_paths: LIMIT,
        };
        let (src, origin) = if local {
            ("192.0.2.10", Origin::Local)
        } else {
            ("203.0.113.7", Origin::Remote)
        };
        let packet =
            Packet::tcp(src.parse().unwrap(), "192.0.2.10".parse().unwrap(), 80, origin);
        let (plain, plain_stats) = evaluate_plain(&ctx, packet.clone());
        let stopped = |branches: &[crate::netfilter::Branch<'_>]| {
            branches.iter().any(|b| matches!(
                b.fate,
                Fate::Undetermined {
                    reason: Undecided::TooManyPaths { .. } | Undecided::TooMuchWork { .. },
                    ..
                }
            ))
        };
        prop_assume!(!stopped(&plain));
        let (shared, shared_stats) = evaluate_counted(&ctx, &RuleMemo::default(), packet);
        prop_assert_eq!(&shared, &plain, "{}", text);
        prop_assert_eq!(shared_stats.paths, plain_stats.paths);
        prop_assert!(shared_stats.calls_walked <= plain_stats.calls_walked);
        prop_assert!(shared_stats.rule_visits <= plain_stats.rule_visits);
    }
}
