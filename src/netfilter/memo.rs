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
    /// For each long chain and (protocol, source port), its rules by the one destination
    /// address and port they test ([`KeyIndex`]).
    key_indexes: RefCell<FxHashMap<(ChainId, Protocol, u16), Rc<KeyIndex>>>,
    /// Chains with at least this many rules get candidate lists.
    long_chain: usize,
}

impl Default for RuleMemo {
    fn default() -> Self {
        RuleMemo {
            rules: RefCell::default(),
            candidates: RefCell::default(),
            long_chain_tests: RefCell::default(),
            key_indexes: RefCell::default(),
            long_chain: LONG_CHAIN,
        }
    }
}

/// What a candidate list has read of one rule.
#[derive(Debug, Clone)]
enum ReadTests {
    /// Not read yet.
    Unread,
    /// The tests its first words show (the first of each kind, or fewer).
    Tests(PacketTests),
}

/// The rules of a long chain that packets of one protocol and source port may match,
/// whatever their destination: by the one destination address (`-d A/32`) and the one
/// destination port (`--dport N`) they test; a rule that tests neither (or a prefix, a
/// range, a negation) is under `any`. Positions are 0-based, in chain order; each rule is
/// in one list at most.
#[derive(Debug, Default)]
struct KeyIndex {
    any: Vec<u32>,
    by_dst: FxHashMap<IpAddr, Vec<u32>>,
    by_dport: FxHashMap<u16, Vec<u32>>,
    by_dst_dport: FxHashMap<(IpAddr, u16), Vec<u32>>,
}

/// The one destination port `tests` require, if they require exactly one.
fn one_dport(tests: &PacketTests) -> Option<u16> {
    let dport = tests.ports.as_ref()?.dport.as_ref()?;
    (!dport.negated && dport.value.first == dport.value.last).then_some(dport.value.first)
}

/// The one destination address `tests` require, if they require exactly one.
fn one_destination(tests: &PacketTests) -> Option<IpAddr> {
    let d = tests.destination.as_ref()?;
    let net = d.value.net()?;
    (!d.negated && net.prefix_len() == net.max_prefix_len()).then_some(net.addr())
}

/// True if `tests` reject `probe` whatever its destination address and port: the same as
/// [`tests_reject`] with those two tests left out.
fn tests_reject_any_address_and_port(tests: &PacketTests, probe: &Packet) -> bool {
    let mut without = tests.clone();
    without.destination = None;
    if let Some(p) = without.ports.as_mut() {
        p.dport = None;
    }
    tests_reject(&without, probe)
}

/// Positions (0-based) of the rules of a chain that a packet key may match.
pub(crate) type Candidates = Rc<[u32]>;

/// Chains with at least this many rules get candidate lists ([`RuleMemo`]) by default.
const LONG_CHAIN: usize = 32;

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

    /// A packet with the key's fields (the others are not tested by [`PacketTests`]).
    fn probe(self) -> Packet {
        Packet {
            src: self.dst,
            dst: self.dst,
            protocol: self.protocol,
            sport: self.sport,
            dport: self.dport,
            origin: Origin::Remote,
            in_interface: None,
            out_interface: None,
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
        let index = self.key_index(reader, chain, key);
        let probe = key.probe();
        let tests = self.long_chain_tests.borrow();
        let read = tests.get(&chain).map(Vec::as_slice).unwrap_or(&[]);
        let lists = [
            index.any.as_slice(),
            index.by_dst.get(&key.dst).map_or(&[][..], Vec::as_slice),
            index
                .by_dport
                .get(&key.dport)
                .map_or(&[][..], Vec::as_slice),
            index
                .by_dst_dport
                .get(&(key.dst, key.dport))
                .map_or(&[][..], Vec::as_slice),
        ];
        // The four lists are disjoint, each in chain order: together, in chain order, less
        // what the whole key rejects.
        let mut list: Vec<u32> = lists.concat();
        list.sort_unstable();
        list.retain(|&position| match read.get(position as usize) {
            Some(ReadTests::Tests(tests)) => !tests_reject(tests, &probe),
            _ => true,
        });
        let list: Candidates = list.into();
        self.candidates
            .borrow_mut()
            .insert((chain, key), Rc::clone(&list));
        Some(list)
    }

    /// The rules of a long chain that packets with `key`'s protocol and source port may
    /// match, indexed by the one destination address and the one destination port they
    /// test ([`KeyIndex`]). Built once per chain and (protocol, source port) from each
    /// rule's first words, without typing it: a node's nodePorts, cluster IPs and
    /// endpoints then each find their few rules of KUBE-SERVICES, KUBE-NODEPORTS and the
    /// long filter chains without a pass over them (`ports` explains every nodePort).
    fn key_index(
        &self,
        reader: &RuleReader<'_, '_>,
        chain: ChainId,
        key: PacketKey,
    ) -> Rc<KeyIndex> {
        let wide = (chain, key.protocol, key.sport);
        if let Some(found) = self.key_indexes.borrow().get(&wide) {
            return Rc::clone(found);
        }
        let rules = &reader.dump().chain(chain).rules;
        let probe = key.probe();
        let mut all_tests = self.long_chain_tests.borrow_mut();
        let read = all_tests
            .entry(chain)
            .or_insert_with(|| vec![ReadTests::Unread; rules.len()]);
        let mut index = KeyIndex::default();
        for (position, &rule) in rules.iter().enumerate() {
            let slot = &mut read[position];
            if matches!(slot, ReadTests::Unread) {
                // What the first words show: the rule's first test of each kind, or fewer
                // (then the rule is a candidate for more keys, and the walk types it).
                // Reading stops at a single destination address, which indexes the rule
                // well enough (KUBE-SERVICES: `-d CLUSTER-IP/32 ...`; its quoted comment
                // need not be scanned), or once the protocol rules the key out.
                let leading = reader.leading_tests_until(rule, |t| {
                    one_destination(t).is_some() || tests_reject_any_address_and_port(t, &probe)
                });
                // First words that neither rule the key out nor index the rule (a filter
                // rule's `-m addrtype` before its `--dport`): its typed tests do.
                let indexed = one_destination(&leading).is_some() || one_dport(&leading).is_some();
                *slot = if indexed || tests_reject_any_address_and_port(&leading, &probe) {
                    ReadTests::Tests(leading)
                } else {
                    match reader.body(rule) {
                        Ok(body) => ReadTests::Tests(PacketTests::of(&body)),
                        Err(_) => ReadTests::Tests(leading),
                    }
                };
            }
            let position = position as u32;
            let ReadTests::Tests(tests) = slot else {
                index.any.push(position);
                continue;
            };
            if tests_reject_any_address_and_port(tests, &probe) {
                continue;
            }
            match (one_destination(tests), one_dport(tests)) {
                (Some(dst), Some(port)) => index
                    .by_dst_dport
                    .entry((dst, port))
                    .or_default()
                    .push(position),
                (Some(dst), None) => index.by_dst.entry(dst).or_default().push(position),
                (None, Some(port)) => index.by_dport.entry(port).or_default().push(position),
                (None, None) => index.any.push(position),
            }
        }
        let index = Rc::new(index);
        self.key_indexes
            .borrow_mut()
            .insert(wide, Rc::clone(&index));
        index
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
