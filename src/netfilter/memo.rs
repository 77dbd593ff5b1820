//! The evaluator's cache, fenced off from the walk: what it remembers of rules it has typed,
//! so that later packets pass a rule whose remembered test fails without typing it again,
//! and, for long chains, the short list of rules a packet key may match.
//!
//! It only ever skips rules the walk would find not matching; [`RuleMemo::walking_every_rule`]
//! is the slow reference (no lists) that a test compares it with on every packet shape
//! `explain` uses.

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use crate::model::{ChainId, PacketTests, Protocol, RuleBody, RuleId};
use crate::netfilter::matching::tests_reject;
use crate::netfilter::packet::{Origin, Packet};
use crate::parse::RuleReader;

/// What the evaluator keeps of each rule it has typed: the tests that depend only on the
/// packet's destination, protocol and ports. `explain` runs one packet per source class,
/// and each walks every cluster-IP rule of KUBE-SERVICES (50,000 on a large node) and every
/// rule of KUBE-NODEPORTS; with the memo each of those is typed once, and later packets
/// pass a rule whose remembered test fails without typing it again. The memo only ever
/// skips rules that the typed test would reject too (any failing test rejects a rule, and
/// these tests have no side effects), and only rules that typed without error are in it.
///
/// For a long chain it also keeps, per packet key (destination, protocol and ports), the
/// positions of the rules whose remembered tests do not reject that key, so that the next
/// walk of KUBE-SERVICES with the same key visits a handful of rules, not 50,000 memo
/// entries. Building such a list reads each rule's first words ([`RuleReader::leading_tests_until`]) and
/// types only the rules those do not already reject; a rule rejected that way is not read
/// further, so an error later in its text is not reported (as for every rule `explain`
/// does not read; `inspect` checks them all).
#[derive(Debug)]
pub struct RuleMemo {
    rules: RefCell<FxHashMap<RuleId, PacketTests>>,
    candidates: RefCell<FxHashMap<(ChainId, PacketKey), Candidates>>,
    /// For each long chain, what was read of each rule, by position (a dense list: the
    /// second packet key passes over it in order instead of probing the map per rule).
    long_chain_tests: RefCell<FxHashMap<ChainId, Vec<ReadTests>>>,
    /// Chains with at least this many rules get candidate lists.
    long_chain: usize,
}

impl Default for RuleMemo {
    fn default() -> Self {
        RuleMemo {
            rules: RefCell::default(),
            candidates: RefCell::default(),
            long_chain_tests: RefCell::default(),
            long_chain: LONG_CHAIN,
        }
    }
}

/// What a candidate list has read of one rule.
#[derive(Debug, Clone)]
enum ReadTests {
    /// Not read yet.
    Unread,
    /// Its tests (all of them, or the first words' when those rejected a key).
    Tests(PacketTests),
    /// It could not be typed: always a candidate, and the walk reports it.
    Unreadable,
}

/// Positions (0-based) of the rules of a chain that a packet key may match.
pub(crate) type Candidates = Rc<[u32]>;

/// Chains with at least this many rules get candidate lists ([`RuleMemo`]) by default.
const LONG_CHAIN: usize = 256;

/// The fields of a packet that [`PacketTests`] test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PacketKey {
    dst: IpAddr,
    protocol: Protocol,
    sport: u16,
    dport: u16,
}

impl PacketKey {
    pub(crate) fn of(p: &Packet) -> Self {
        PacketKey {
            dst: p.dst,
            protocol: p.protocol,
            sport: p.sport,
            dport: p.dport,
        }
    }
}

impl RuleMemo {
    /// A memo without candidate lists, which looks at every rule of every chain it walks:
    /// the reference the lists are checked against.
    pub fn walking_every_rule() -> Self {
        RuleMemo {
            long_chain: usize::MAX,
            ..RuleMemo::default()
        }
    }

    /// True if `rule` was typed before and one of its tests fails for `packet`.
    pub(crate) fn rejects(&self, rule: RuleId, packet: &Packet) -> bool {
        self.rules
            .borrow()
            .get(&rule)
            .is_some_and(|tests| tests_reject(tests, packet))
    }

    /// For a long chain, the positions (0-based) of its rules that packets with `key` may
    /// match: every rule but those whose tests reject the key. Types each rule of the chain
    /// it has not seen yet. `None` for a short chain, which is walked rule by rule.
    pub(crate) fn candidates(
        &self,
        reader: &RuleReader<'_, '_>,
        chain: ChainId,
        key: PacketKey,
    ) -> Option<Candidates> {
        let rules = &reader.dump().chain(chain).rules;
        if rules.len() < self.long_chain {
            return None;
        }
        if let Some(found) = self.candidates.borrow().get(&(chain, key)) {
            return Some(Rc::clone(found));
        }
        let probe = Packet {
            src: key.dst,
            dst: key.dst,
            protocol: key.protocol,
            sport: key.sport,
            dport: key.dport,
            origin: Origin::Remote,
            in_interface: None,
            out_interface: None,
        };
        let mut all_tests = self.long_chain_tests.borrow_mut();
        let read = all_tests
            .entry(chain)
            .or_insert_with(|| vec![ReadTests::Unread; rules.len()]);
        let mut list = Vec::new();
        for (position, &rule) in rules.iter().enumerate() {
            let slot = &mut read[position];
            if matches!(slot, ReadTests::Unread) {
                // Most rules of a long chain reject the key in their first words: those
                // are not typed, and what they showed is remembered.
                let leading = reader.leading_tests_until(rule, |t| tests_reject(t, &probe));
                *slot = if tests_reject(&leading, &probe) {
                    ReadTests::Tests(leading)
                } else {
                    match reader.body(rule) {
                        Ok(body) => ReadTests::Tests(PacketTests::of(&body)),
                        Err(_) => ReadTests::Unreadable,
                    }
                };
            }
            let rejected = match slot {
                ReadTests::Tests(tests) => tests_reject(tests, &probe),
                ReadTests::Unread | ReadTests::Unreadable => false,
            };
            if !rejected {
                list.push(position as u32);
            }
        }
        let list: Candidates = list.into();
        self.candidates
            .borrow_mut()
            .insert((chain, key), Rc::clone(&list));
        Some(list)
    }

    /// Remembers the tests of `rule`, which typed as `body`.
    pub(crate) fn learn(&self, rule: RuleId, body: &RuleBody<'_>) {
        let mut rules = self.rules.borrow_mut();
        if rules.contains_key(&rule) {
            return;
        }
        let tests = PacketTests::of(body);
        if !tests.is_empty() {
            rules.insert(rule, tests);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Backend, KubeVersion, dump_to_string, synthetic};
    use crate::netfilter::packet::Host;
    use crate::netfilter::pipeline::Pipeline;
    use crate::netfilter::walk::{Context, evaluate_with};
    use crate::parse::parse_structure_text;

    /// Values of `--dport N` and `-d A/32` in the rules of `chain`.
    fn tested_values(text: &str, chain: &str) -> (Vec<u16>, Vec<IpAddr>) {
        let prefix = format!("-A {chain} ");
        let lines = text.lines().filter(|l| l.starts_with(&prefix));
        let (mut ports, mut addresses) = (Vec::new(), Vec::new());
        for line in lines {
            let words: Vec<&str> = line.split(' ').collect();
            for pair in words.windows(2) {
                match pair[0] {
                    "--dport" => ports.extend(pair[1].parse::<u16>().ok()),
                    "-d" => {
                        addresses.extend(pair[1].trim_end_matches("/32").parse::<IpAddr>().ok())
                    }
                    _ => {}
                }
            }
        }
        (ports, addresses)
    }

    /// Candidate lists only skip rules a walk would find not matching: on dumps whose
    /// KUBE-SERVICES and KUBE-NODEPORTS are long chains, every packet gets the same
    /// branches as from a memo that walks every rule, for both eras, with the fast memo
    /// shared across packets as `explain` shares it.
    #[test]
    fn candidate_lists_give_the_same_branches_as_walking_every_rule() {
        for version in [KubeVersion::V1_21, KubeVersion::V1_28] {
            let text = dump_to_string(&synthetic(400, version, Backend::Nft));
            let parsed = parse_structure_text(&text);
            let dump = &parsed.dump;
            let services_chain = dump
                .chain_id(
                    dump.table_id(crate::model::RulesetId(0), "nat").unwrap(),
                    "KUBE-SERVICES",
                )
                .unwrap();
            assert!(dump.chain(services_chain).rules.len() >= LONG_CHAIN);
            let node: IpAddr = "192.0.2.10".parse().unwrap();
            let host = Host {
                local_addresses: vec![node],
            };
            let pipeline = Pipeline::from_iptables(dump, &dump.rulesets[0].tables);
            let ctx = Context {
                rules: parsed.rules(),
                pipeline: &pipeline,
                host: &host,
                assumed_chains: &[],
                max_paths: crate::netfilter::MAX_PATHS,
            };
            let (node_ports, _) = tested_values(&text, "KUBE-NODEPORTS");
            let (service_ports, cluster_ips) = tested_values(&text, "KUBE-SERVICES");
            let pick = |values: &[u16]| {
                [
                    values[0],
                    values[values.len() / 2],
                    values[values.len() - 1],
                ]
            };
            let mut packets = Vec::new();
            for port in pick(&node_ports) {
                for (src, dst) in [
                    ("127.0.0.1", "127.0.0.1"),
                    ("192.0.2.10", "192.0.2.10"),
                    ("198.18.0.5", "192.0.2.10"),
                    ("203.0.113.7", "192.0.2.10"),
                ] {
                    packets.push((src.parse().unwrap(), dst.parse().unwrap(), port));
                }
            }
            for (&ip, port) in [cluster_ips[0], cluster_ips[cluster_ips.len() - 1]]
                .iter()
                .zip(pick(&service_ports))
            {
                packets.push(("198.18.0.5".parse().unwrap(), ip, port));
                packets.push(("192.0.2.10".parse().unwrap(), ip, port));
            }
            let shared = RuleMemo::default();
            let mut skipped_with_lists = false;
            for protocol in [Protocol::Tcp, Protocol::Udp] {
                for &(src, dst, dport) in &packets {
                    let origin = if host.is_local(src) {
                        Origin::Local
                    } else {
                        Origin::Remote
                    };
                    let packet = Packet {
                        protocol,
                        ..Packet::tcp(src, dst, dport, origin)
                    };
                    let every_rule = RuleMemo::walking_every_rule();
                    assert_eq!(
                        evaluate_with(&ctx, &shared, packet.clone()),
                        evaluate_with(&ctx, &every_rule, packet.clone()),
                        "{version:?} {packet:?}"
                    );
                    skipped_with_lists |= !shared.candidates.borrow().is_empty();
                }
            }
            assert!(skipped_with_lists, "no chain was long enough to get a list");
        }
    }
}
