//! Which traffic policy a destination's rules implement, in which era, from which clues:
//! reading the chain the entry rules jump to (KUBE-XLB, KUBE-EXT, KUBE-SVC, KUBE-SVL,
//! through KUBE-FW for a LoadBalancer IP) and the rest of the dump.

use crate::kube::chains::{
    MARK_DROP, MARK_MASQ, NODEPORTS, POSTROUTING, PROXY_FIREWALL, SERVICES, ServiceChain, sibling,
};
use crate::kube::destination::{DestinationKind, Entry};
use crate::kube::era::{Clue, Era, Versions};
use crate::kube::nodeports::rule_port;
use crate::kube::shape::{
    PolicyEvidence, PolicyScope, TrafficPolicy, chain_bodies, has_src_local, target_name,
};
use crate::model::{ChainId, Match, ModuleKind, RuleBody, RuleId, TableId, TargetKind};
use crate::parse::RuleReader;

/// What reading the policy chain found.
pub(crate) struct PolicyReading {
    pub(crate) era: Era,
    pub(crate) versions: Versions,
    pub(crate) clues: Vec<Clue>,
    pub(crate) scope: PolicyScope,
    pub(crate) policy: TrafficPolicy,
    pub(crate) evidence: PolicyEvidence,
    pub(crate) local_chain: Option<String>,
    pub(crate) cluster_chain: Option<String>,
}

/// The entry rules' bodies, and what they show at a glance.
struct EntryBodies<'a> {
    bodies: Vec<RuleBody<'a>>,
    /// The policy chain they jump to (KUBE-XLB, KUBE-EXT or KUBE-SVC).
    policy_chain: Option<String>,
    loopback_masquerade: bool,
    plain_masquerade: bool,
    /// Some entry rule jumps to KUBE-MARK-MASQ.
    marks_masquerade: bool,
    /// The input shows every rule of the entry rules' chain (not a fragment's or a cut
    /// table's part of it): only then does a missing rule say something.
    entry_whole: bool,
}

impl<'a> EntryBodies<'a> {
    fn read(rules: &RuleReader<'_, 'a>, entry: &Entry) -> Self {
        let bodies: Vec<RuleBody<'a>> = entry
            .rules
            .iter()
            .filter_map(|&r| rules.body(r).ok())
            .collect();
        let marks = |b: &&RuleBody<'_>| target_name(b) == Some(MARK_MASQ);
        let loopback_masquerade = bodies.iter().filter(marks).any(|b| {
            b.matches.iter().any(|m| {
                matches!(m, Match::Source(s) if !s.negated
                    && s.value.net().is_some_and(|n| n.addr().is_loopback()))
            })
        });
        let plain_masquerade = bodies
            .iter()
            .filter(marks)
            .any(|b| !b.matches.iter().any(|m| matches!(m, Match::Source(_))));
        let marks_masquerade = bodies.iter().any(|b| target_name(b) == Some(MARK_MASQ));
        let policy_chain = bodies
            .iter()
            .filter_map(target_name)
            .find_map(|t| policy_chain_of(rules, entry, t));
        let dump = rules.dump();
        let entry_whole = entry
            .rules
            .iter()
            .all(|&r| !dump.may_lack_rules(dump.rule(r).chain));
        EntryBodies {
            bodies,
            policy_chain,
            loopback_masquerade,
            plain_masquerade,
            marks_masquerade,
            entry_whole,
        }
    }

    fn has_nfacct(&self) -> bool {
        self.bodies.iter().any(|b| {
            b.matches.iter().any(|m| {
                matches!(m, Match::Module(module) if matches!(module.kind, ModuleKind::Nfacct { .. }))
            })
        })
    }

    /// True when the only rules are filter "has no endpoints" REJECTs.
    fn only_no_endpoints_reject(&self) -> bool {
        !self.bodies.is_empty()
            && self.bodies.iter().all(|b| {
                matches!(
                    b.target.as_ref().map(|t| &t.kind),
                    Some(TargetKind::Reject { .. })
                ) && b
                    .comment()
                    .is_some_and(|c| c.ends_with(" has no endpoints"))
            })
    }
}

/// The policy chain an entry rule's target is, or leads to through a LoadBalancer IP's
/// KUBE-FW chain (whose allowed sources jump on to KUBE-XLB, KUBE-EXT or KUBE-SVC).
fn policy_chain_of(rules: &RuleReader<'_, '_>, entry: &Entry, target: &str) -> Option<String> {
    let is_policy = |t: &str| {
        ServiceChain::Xlb.is(t)
            || ServiceChain::External.is(t)
            || ServiceChain::Cluster.is(t)
            || ServiceChain::Local.is(t)
    };
    if is_policy(target) {
        return Some(target.to_string());
    }
    if !ServiceChain::Firewall.is(target) {
        return None;
    }
    let firewall = rules.dump().chain_id(entry.nat, target);
    chain_bodies(rules, firewall)
        .iter()
        .filter_map(|(_, b)| target_name(b))
        .find(|t| is_policy(t))
        .map(str::to_string)
}

/// The era, policy and clues the entry rules and the rest of the dump show.
pub(crate) fn read_policy(rules: &RuleReader<'_, '_>, entry: &Entry) -> PolicyReading {
    let found = EntryBodies::read(rules, entry);
    let kind = entry.destination.kind;
    let mut reading = PolicyReading {
        era: Era::Unrecognised,
        versions: Versions::ANY,
        clues: Vec::new(),
        scope: if kind == DestinationKind::ClusterIp {
            PolicyScope::Internal
        } else {
            PolicyScope::External
        },
        policy: TrafficPolicy::Unknown,
        evidence: PolicyEvidence::Missing,
        local_chain: None,
        cluster_chain: None,
    };
    if let Some(pc) = &found.policy_chain {
        let pc_id = rules.dump().chain_id(entry.nat, pc);
        let pc_rules = chain_bodies(rules, pc_id);
        let pc_present = pc_id.is_some_and(|c| rules.dump().is_present(c));
        let at = PolicyChain {
            entry: entry_chain(kind),
            name: pc,
            present: pc_present,
            whole: pc_present && pc_id.is_some_and(|c| !rules.dump().may_lack_rules(c)),
            rules: &pc_rules,
        };
        match kind {
            DestinationKind::ClusterIp => read_internal(&mut reading, rules, entry, &at, &found),
            _ if ServiceChain::Xlb.is(pc) => read_xlb(&mut reading, &at, &found, kind),
            _ if ServiceChain::External.is(pc) => read_ext(&mut reading, &at),
            _ => read_cluster(&mut reading, rules, entry, &at, &found),
        }
    } else if found.only_no_endpoints_reject() {
        // A service without endpoints has no nat rules for its nodePort; only the filter
        // REJECT names it. Say so rather than "missing" (which reads as a cut dump).
        reading.evidence = PolicyEvidence::NoEndpoints;
        reading.versions.narrow(13, None);
        if kind == DestinationKind::NodePort {
            reading.clues.push(Clue::OnlyNoEndpointsReject);
        }
    }
    dump_wide_clues(rules, entry, &found, &mut reading);
    reading
}

/// The chain a destination's entry rules are in.
fn entry_chain(kind: DestinationKind) -> &'static str {
    match kind {
        DestinationKind::NodePort => NODEPORTS,
        _ => SERVICES,
    }
}

/// The policy chain the entry rules lead to, and its rules.
struct PolicyChain<'p, 'b, 'a> {
    /// The chain the entry rules are in.
    entry: &'static str,
    name: &'p str,
    present: bool,
    /// Present, and the input shows all of its rules.
    whole: bool,
    rules: &'b [(RuleId, RuleBody<'a>)],
}

fn read_xlb(
    reading: &mut PolicyReading,
    at: &PolicyChain<'_, '_, '_>,
    found: &EntryBodies<'_>,
    kind: DestinationKind,
) {
    let pc = at.name;
    reading.era = Era::Xlb;
    reading.versions.narrow(0, Some(23));
    reading.policy = TrafficPolicy::Local;
    reading.evidence = PolicyEvidence::ToXlb {
        entry: at.entry.to_string(),
        chain: pc.to_string(),
    };
    reading.local_chain = Some(pc.to_string());
    reading.cluster_chain = sibling(pc, ServiceChain::Cluster);
    // Only a nodePort has the 127.0.0.0/8 rule (1.10–1.23).
    if kind == DestinationKind::NodePort {
        if found.loopback_masquerade {
            reading.versions.narrow(10, Some(23));
            reading.clues.push(Clue::LoopbackMasqueradeRule);
        } else if found.entry_whole {
            reading.versions.narrow(0, Some(9));
            reading.clues.push(Clue::NoLoopbackMasqueradeRule);
        }
    }
    if at.present {
        let chain = pc.to_string();
        if at.rules.iter().any(|(_, b)| has_src_local(b)) {
            reading.versions.narrow(15, Some(23));
            reading.clues.push(Clue::XlbLocalTrafficRules { chain });
        } else if at.whole {
            reading.versions.narrow(0, Some(14));
            reading.clues.push(Clue::XlbNoLocalTrafficRules { chain });
        }
    }
}

fn read_ext(reading: &mut PolicyReading, at: &PolicyChain<'_, '_, '_>) {
    let pc = at.name;
    reading.era = Era::Ext;
    reading.versions.narrow(24, None);
    reading.cluster_chain = sibling(pc, ServiceChain::Cluster);
    reading.clues.push(Clue::JumpToExt {
        entry: at.entry.to_string(),
        chain: pc.to_string(),
    });
    if !at.present {
        return;
    }
    let to_svl = at.rules.iter().find_map(|(_, b)| {
        target_name(b)
            .filter(|t| ServiceChain::Local.is(t))
            .map(str::to_string)
    });
    let local_rules = at.rules.iter().any(|(_, b)| has_src_local(b));
    if to_svl.is_some() || local_rules {
        reading.policy = TrafficPolicy::Local;
        reading.evidence = PolicyEvidence::ExtShortCircuits {
            chain: pc.to_string(),
            to_local_chain: to_svl.is_some(),
        };
        reading.local_chain = to_svl.or_else(|| sibling(pc, ServiceChain::Local));
    } else {
        reading.policy = TrafficPolicy::Cluster;
        reading.evidence = PolicyEvidence::ExtMarksAll {
            chain: pc.to_string(),
        };
    }
}

fn read_cluster(
    reading: &mut PolicyReading,
    rules: &RuleReader<'_, '_>,
    entry: &Entry,
    at: &PolicyChain<'_, '_, '_>,
    found: &EntryBodies<'_>,
) {
    let pc = at.name;
    reading.era = Era::Xlb;
    reading.policy = TrafficPolicy::Cluster;
    reading.evidence = PolicyEvidence::ToCluster {
        entry: at.entry.to_string(),
        chain: pc.to_string(),
    };
    reading.cluster_chain = Some(pc.to_string());
    if entry.destination.kind != DestinationKind::NodePort {
        reading.versions.narrow(0, Some(23));
        return;
    }
    if found.plain_masquerade {
        reading.versions.narrow(0, Some(21));
        reading.clues.push(Clue::MasqueradeInNodePorts);
        return;
    }
    let in_svc = chain_bodies(rules, rules.dump().chain_id(entry.nat, pc))
        .iter()
        .any(|(_, b)| {
            target_name(b) == Some(MARK_MASQ)
                && rule_port(b).is_some_and(|(_, p)| p == entry.destination.port)
        });
    if in_svc {
        reading.versions.narrow(22, Some(23));
        reading.clues.push(Clue::MasqueradeInServiceChain {
            chain: pc.to_string(),
        });
    } else {
        reading.versions.narrow(0, Some(23));
    }
}

/// A ClusterIP: the cluster chain (internalTrafficPolicy Cluster) or the local one
/// (Local, ≥ 1.24), and where its masquerade rule is.
fn read_internal(
    reading: &mut PolicyReading,
    rules: &RuleReader<'_, '_>,
    entry: &Entry,
    at: &PolicyChain<'_, '_, '_>,
    found: &EntryBodies<'_>,
) {
    let pc = at.name;
    if ServiceChain::Local.is(pc) {
        reading.era = Era::Ext;
        reading.versions.narrow(24, None);
        reading.policy = TrafficPolicy::Local;
        reading.evidence = PolicyEvidence::InternalLocal {
            chain: pc.to_string(),
        };
        reading.local_chain = Some(pc.to_string());
        reading.cluster_chain = sibling(pc, ServiceChain::Cluster);
        return;
    }
    reading.policy = TrafficPolicy::Cluster;
    reading.evidence = PolicyEvidence::InternalCluster {
        chain: pc.to_string(),
    };
    reading.cluster_chain = Some(pc.to_string());
    if found.marks_masquerade {
        reading.versions.narrow(0, Some(21));
        reading.clues.push(Clue::ClusterIpMasqueradeInServices);
    } else if chain_bodies(rules, rules.dump().chain_id(entry.nat, pc))
        .iter()
        .any(|(_, b)| target_name(b) == Some(MARK_MASQ))
    {
        reading.versions.narrow(22, None);
        reading.clues.push(Clue::ClusterIpMasqueradeInServiceChain {
            chain: pc.to_string(),
        });
    }
}

/// Clues from the rest of the dump: KUBE-SVL's drop, the filter firewall chain, nfacct,
/// and KUBE-POSTROUTING's form.
fn dump_wide_clues(
    rules: &RuleReader<'_, '_>,
    entry: &Entry,
    found: &EntryBodies<'_>,
    reading: &mut PolicyReading,
) {
    let dump = rules.dump();
    let nat = entry.nat;
    if let Some(local) = &reading.local_chain
        && ServiceChain::Local.is(local)
        && chain_bodies(rules, dump.chain_id(nat, local))
            .iter()
            .any(|(_, b)| target_name(b) == Some(MARK_DROP))
    {
        reading.versions.narrow(24, Some(24));
        reading.clues.push(Clue::LocalChainMarksDrop {
            chain: local.clone(),
        });
    }
    if reading.era == Era::Unrecognised {
        era_from_ruleset(rules, nat, reading);
    }
    let filter = dump.find_table(&dump.node_tables(entry.ruleset), "filter");
    if (reading.versions.lo >= 24 || found.policy_chain.is_none())
        && filter.is_some_and(|f| crate::kube::chains::present(dump, f, PROXY_FIREWALL))
    {
        reading.versions.narrow(25, None);
        reading.clues.push(Clue::ProxyFirewall);
    }
    if found.has_nfacct() {
        reading.versions.narrow(31, None);
        reading.clues.push(Clue::Nfacct);
    }
    let post = chain_bodies(rules, dump.chain_id(nat, POSTROUTING));
    if post
        .iter()
        .any(|(_, b)| matches!(b.target.as_ref().map(|t| &t.kind), Some(TargetKind::Return)))
    {
        reading.clues.push(Clue::PostroutingTriplet);
    } else if !post.is_empty() {
        reading.clues.push(Clue::PostroutingSingleRule);
    }
}

/// For a destination whose own rules do not show the era (a ClusterIP in the Cluster
/// policy): the era of the ruleset's other service chains, if it has any.
fn era_from_ruleset(rules: &RuleReader<'_, '_>, nat: TableId, reading: &mut PolicyReading) {
    let dump = rules.dump();
    let present = |prefix: &str| {
        dump.chains
            .iter()
            .enumerate()
            .find(|(i, c)| {
                c.table == nat && c.name.starts_with(prefix) && dump.is_present(ChainId(*i as u32))
            })
            .map(|(_, c)| c.name.to_string())
    };
    let found = present("KUBE-EXT-")
        .or_else(|| present("KUBE-SVL-"))
        .map(|chain| (chain, Era::Ext))
        .or_else(|| present("KUBE-XLB-").map(|chain| (chain, Era::Xlb)));
    let Some((chain, era)) = found else {
        return;
    };
    match era {
        Era::Ext => reading.versions.narrow(24, None),
        _ => reading.versions.narrow(0, Some(23)),
    }
    reading.era = era;
    reading.clues.push(Clue::RulesetHasChain { chain, era });
}
