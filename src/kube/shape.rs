//! What a nodePort's rules say about its service: the era and versions that wrote them, the
//! externalTrafficPolicy they implement, and the endpoints with their locality.

use std::collections::BTreeSet;

use crate::kube::chains::{
    MARK_DROP, MARK_MASQ, POSTROUTING, PROXY_FIREWALL, ServiceChain, sibling,
};
use crate::kube::era::{Clue, Era, Versions};
use crate::kube::nodeports::{NodePortRules, rule_port};
use crate::model::{ChainId, Match, ModuleKind, NatRange, RuleBody, RuleId, TableId, TargetKind};
use crate::parse::RuleReader;

/// A service's externalTrafficPolicy as its rules show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficPolicy {
    /// External traffic goes to every endpoint.
    Cluster,
    /// External traffic goes to this node's endpoints only.
    Local,
    /// The rules that would say are missing.
    Unknown,
}

impl TrafficPolicy {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            TrafficPolicy::Cluster => "Cluster",
            TrafficPolicy::Local => "Local",
            TrafficPolicy::Unknown => "unknown",
        }
    }
}

/// Why the rules show that policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyEvidence {
    /// The rules that would show it are missing.
    Missing,
    /// KUBE-NODEPORTS sends it to a KUBE-XLB chain (local endpoints only).
    NodePortsToXlb {
        /// The chain.
        chain: String,
    },
    /// The KUBE-EXT chain short-circuits pod and node-local sources, then goes to the
    /// local-endpoint chain (`to_local_chain`) or ends without a jump.
    ExtShortCircuits {
        /// The chain.
        chain: String,
        /// True if it ends with a jump to the local-endpoint chain.
        to_local_chain: bool,
    },
    /// The KUBE-EXT chain marks all traffic for masquerading and jumps to the cluster chain.
    ExtMarksAll {
        /// The chain.
        chain: String,
    },
    /// KUBE-NODEPORTS jumps straight to the cluster chain.
    NodePortsToCluster {
        /// The chain.
        chain: String,
    },
    /// Not visible: the service has no endpoints, so only a REJECT rule names it.
    NoEndpoints,
}

/// Whether an endpoint runs on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Locality {
    /// Listed in the local-policy chain (KUBE-XLB / KUBE-SVL).
    Local,
    /// Listed only in the cluster chain of a Local-policy service.
    Remote,
    /// The rules do not say (Cluster policy).
    Unknown,
}

impl Locality {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Locality::Local => "local",
            Locality::Remote => "remote",
            Locality::Unknown => "unknown",
        }
    }

    /// The phrase used in text and Markdown beside an endpoint's chain name, where a bare
    /// "unknown" read like an unknown chain (Cluster-policy endpoints).
    pub fn label(self) -> &'static str {
        match self {
            Locality::Unknown => "locality unknown",
            other => other.as_str(),
        }
    }
}

/// One endpoint of the service.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Where its KUBE-SEP chain DNATs to; `None` if the chain's body is missing.
    pub address: Option<NatRange>,
    /// Its KUBE-SEP chain.
    pub chain: String,
    /// On this node?
    pub locality: Locality,
}

/// What the rules say about a nodePort's service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceShape {
    /// The rule era.
    pub era: Era,
    /// The kube-proxy versions consistent with the rules.
    pub versions: Versions,
    /// What the era and versions were read from.
    pub clues: Vec<Clue>,
    /// externalTrafficPolicy.
    pub policy: TrafficPolicy,
    /// Why that policy.
    pub policy_evidence: PolicyEvidence,
    /// Endpoints, cluster chain order first.
    pub endpoints: Vec<Endpoint>,
    /// Chains the nodePort's path refers to that are not in the dump.
    pub missing_chains: Vec<String>,
}

impl ServiceShape {
    /// True for a Local-policy service without a local endpoint.
    pub fn has_no_local_endpoint(&self) -> bool {
        self.policy == TrafficPolicy::Local
            && !self.endpoints.iter().any(|e| e.locality == Locality::Local)
    }
}

/// What reading the policy chain found.
struct PolicyReading {
    era: Era,
    versions: Versions,
    clues: Vec<Clue>,
    policy: TrafficPolicy,
    evidence: PolicyEvidence,
    local_chain: Option<String>,
    cluster_chain: Option<String>,
}

/// The nodePort rules' bodies, and what they show at a glance.
struct NodePortBodies<'a> {
    bodies: Vec<RuleBody<'a>>,
    /// The policy chain they jump to (KUBE-XLB, KUBE-EXT or KUBE-SVC).
    policy_chain: Option<String>,
    loopback_masquerade: bool,
    plain_masquerade: bool,
}

impl<'a> NodePortBodies<'a> {
    fn read(rules: &RuleReader<'_, 'a>, port: &NodePortRules) -> Self {
        let bodies: Vec<RuleBody<'a>> = port
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
        let policy_chain = bodies
            .iter()
            .filter_map(target_name)
            .find(|t| {
                ServiceChain::Xlb.is(t)
                    || ServiceChain::External.is(t)
                    || ServiceChain::Cluster.is(t)
            })
            .map(str::to_string);
        NodePortBodies {
            bodies,
            policy_chain,
            loopback_masquerade,
            plain_masquerade,
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

/// Reads the service's shape from its KUBE-NODEPORTS rules and the chains they lead to.
pub fn service_shape(rules: &RuleReader<'_, '_>, port: &NodePortRules) -> ServiceShape {
    let nat = port.nat;
    let found = NodePortBodies::read(rules, port);
    let mut reading = read_policy(rules, port, &found);
    if found.policy_chain.is_none() && found.only_no_endpoints_reject() {
        // A service without endpoints has no nat rules for its nodePort; only the filter
        // REJECT names it. Say so rather than "missing" (which reads as a cut dump).
        reading.evidence = PolicyEvidence::NoEndpoints;
        reading.versions.narrow(13, None);
        reading.clues.push(Clue::OnlyNoEndpointsReject);
    }
    dump_wide_clues(rules, port, &found, &mut reading);
    let endpoints = endpoints(rules, nat, &reading);
    ServiceShape {
        era: reading.era,
        versions: reading.versions,
        clues: reading.clues,
        policy: reading.policy,
        policy_evidence: reading.evidence,
        endpoints,
        missing_chains: missing_chains(rules, nat, &port.rules),
    }
}

/// The era, policy and clues the policy chain shows.
fn read_policy(
    rules: &RuleReader<'_, '_>,
    port: &NodePortRules,
    found: &NodePortBodies<'_>,
) -> PolicyReading {
    let mut reading = PolicyReading {
        era: Era::Unrecognised,
        versions: Versions::ANY,
        clues: Vec::new(),
        policy: TrafficPolicy::Unknown,
        evidence: PolicyEvidence::Missing,
        local_chain: None,
        cluster_chain: None,
    };
    let Some(pc) = &found.policy_chain else {
        return reading;
    };
    let pc_id = rules.dump().chain_id(port.nat, pc);
    let pc_rules = chain_bodies(rules, pc_id);
    let pc_present = pc_id.is_some_and(|c| rules.dump().is_present(c));
    if ServiceChain::Xlb.is(pc) {
        read_xlb(&mut reading, pc, pc_present, &pc_rules, found);
    } else if ServiceChain::External.is(pc) {
        read_ext(&mut reading, pc, pc_present, &pc_rules);
    } else {
        read_cluster(&mut reading, rules, port, pc, found);
    }
    reading
}

fn read_xlb(
    reading: &mut PolicyReading,
    pc: &str,
    pc_present: bool,
    pc_rules: &[(RuleId, RuleBody<'_>)],
    found: &NodePortBodies<'_>,
) {
    reading.era = Era::Xlb;
    reading.versions.narrow(0, Some(23));
    reading.policy = TrafficPolicy::Local;
    reading.evidence = PolicyEvidence::NodePortsToXlb {
        chain: pc.to_string(),
    };
    reading.local_chain = Some(pc.to_string());
    reading.cluster_chain = sibling(pc, ServiceChain::Cluster);
    if found.loopback_masquerade {
        reading.versions.narrow(10, Some(23));
        reading.clues.push(Clue::LoopbackMasqueradeRule);
    } else {
        reading.versions.narrow(0, Some(9));
        reading.clues.push(Clue::NoLoopbackMasqueradeRule);
    }
    if pc_present {
        let chain = pc.to_string();
        if pc_rules.iter().any(|(_, b)| has_src_local(b)) {
            reading.versions.narrow(15, Some(23));
            reading.clues.push(Clue::XlbLocalTrafficRules { chain });
        } else {
            reading.versions.narrow(0, Some(14));
            reading.clues.push(Clue::XlbNoLocalTrafficRules { chain });
        }
    }
}

fn read_ext(
    reading: &mut PolicyReading,
    pc: &str,
    pc_present: bool,
    pc_rules: &[(RuleId, RuleBody<'_>)],
) {
    reading.era = Era::Ext;
    reading.versions.narrow(24, None);
    reading.cluster_chain = sibling(pc, ServiceChain::Cluster);
    reading.clues.push(Clue::NodePortsJumpToExt {
        chain: pc.to_string(),
    });
    if !pc_present {
        return;
    }
    let to_svl = pc_rules.iter().find_map(|(_, b)| {
        target_name(b)
            .filter(|t| ServiceChain::Local.is(t))
            .map(str::to_string)
    });
    let local_rules = pc_rules.iter().any(|(_, b)| has_src_local(b));
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
    port: &NodePortRules,
    pc: &str,
    found: &NodePortBodies<'_>,
) {
    reading.era = Era::Xlb;
    reading.policy = TrafficPolicy::Cluster;
    reading.evidence = PolicyEvidence::NodePortsToCluster {
        chain: pc.to_string(),
    };
    reading.cluster_chain = Some(pc.to_string());
    if found.plain_masquerade {
        reading.versions.narrow(0, Some(21));
        reading.clues.push(Clue::MasqueradeInNodePorts);
        return;
    }
    let in_svc = chain_bodies(rules, rules.dump().chain_id(port.nat, pc))
        .iter()
        .any(|(_, b)| {
            target_name(b) == Some(MARK_MASQ)
                && rule_port(b).is_some_and(|(_, p)| p == port.node_port)
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

/// Clues from the rest of the dump: KUBE-SVL's drop, the filter firewall chain, nfacct,
/// and KUBE-POSTROUTING's form.
fn dump_wide_clues(
    rules: &RuleReader<'_, '_>,
    port: &NodePortRules,
    found: &NodePortBodies<'_>,
    reading: &mut PolicyReading,
) {
    let dump = rules.dump();
    let nat = port.nat;
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
    let filter = dump.find_table(&dump.node_tables(port.ruleset), "filter");
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

/// The service's endpoints, cluster chain order first, with their locality.
fn endpoints(rules: &RuleReader<'_, '_>, nat: TableId, reading: &PolicyReading) -> Vec<Endpoint> {
    let dump = rules.dump();
    let local_seps: BTreeSet<String> = reading
        .local_chain
        .as_ref()
        .map(|c| sep_jumps(rules, nat, c).into_iter().collect())
        .unwrap_or_default();
    let mut order = Vec::new();
    if let Some(c) = &reading.cluster_chain {
        order.extend(sep_jumps(rules, nat, c));
    }
    order.extend(local_seps.iter().cloned());
    let local_chain_present = reading
        .local_chain
        .as_ref()
        .is_some_and(|c| crate::kube::chains::present(dump, nat, c));
    // A Local service whose KUBE-EXT ends without a KUBE-SVL jump has no local endpoints.
    let local_chain_is_svl = reading
        .local_chain
        .as_ref()
        .is_some_and(|c| ServiceChain::Local.is(c));
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for sep in order {
        if endpoints.iter().any(|e| e.chain == sep) {
            continue;
        }
        let locality = if local_seps.contains(&sep) {
            Locality::Local
        } else if reading.policy == TrafficPolicy::Local
            && (local_chain_present || local_chain_is_svl)
        {
            Locality::Remote
        } else {
            Locality::Unknown
        };
        endpoints.push(Endpoint {
            address: sep_destination(rules, nat, &sep),
            chain: sep,
            locality,
        });
    }
    endpoints
}

/// The typed rules of a chain (those that parse).
fn chain_bodies<'a>(
    rules: &RuleReader<'_, 'a>,
    chain: Option<ChainId>,
) -> Vec<(RuleId, RuleBody<'a>)> {
    chain.map_or_else(Vec::new, |c| {
        rules
            .dump()
            .chain(c)
            .rules
            .iter()
            .filter_map(|&r| rules.body(r).ok().map(|b| (r, b)))
            .collect()
    })
}

fn has_src_local(body: &RuleBody<'_>) -> bool {
    body.matches.iter().any(|m| {
        matches!(m, Match::Module(module) if matches!(&module.kind,
            ModuleKind::AddrType { src_type: Some(t), .. } if t.value.iter().any(|v| v.eq_ignore_ascii_case("LOCAL"))))
    })
}

/// The chain a rule jumps or goes to.
pub(crate) fn target_name<'b>(body: &'b RuleBody<'_>) -> Option<&'b str> {
    match &body.target.as_ref()?.kind {
        TargetKind::Chain(name) => Some(name),
        _ => None,
    }
}

/// The KUBE-SEP chains a chain jumps to, in order, without repeats.
fn sep_jumps(rules: &RuleReader<'_, '_>, nat: TableId, chain: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, body) in chain_bodies(rules, rules.dump().chain_id(nat, chain)) {
        if let Some(t) = target_name(&body)
            && ServiceChain::Endpoint.is(t)
            && !out.iter().any(|o| o == t)
        {
            out.push(t.to_string());
        }
    }
    out
}

/// The DNAT destination written in a KUBE-SEP chain.
fn sep_destination(rules: &RuleReader<'_, '_>, nat: TableId, sep: &str) -> Option<NatRange> {
    chain_bodies(rules, rules.dump().chain_id(nat, sep))
        .into_iter()
        .find_map(|(_, body)| match body.target?.kind {
            TargetKind::Dnat { to } => to.first().copied(),
            _ => None,
        })
}

/// Chains reachable from `start` that are referenced but not in the dump, sorted.
pub fn missing_chains(rules: &RuleReader<'_, '_>, table: TableId, start: &[RuleId]) -> Vec<String> {
    let dump = rules.dump();
    let mut missing = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut queue: Vec<RuleId> = start.to_vec();
    while let Some(rule) = queue.pop() {
        let Some(name) = rules
            .body(rule)
            .ok()
            .and_then(|b| target_name(&b).map(str::to_string))
        else {
            continue;
        };
        if !seen.insert(name.clone()) || seen.len() > 10_000 {
            continue;
        }
        match dump.chain_id(table, &name).filter(|&c| dump.is_present(c)) {
            Some(id) => queue.extend(dump.chain(id).rules.iter().copied()),
            None => {
                missing.insert(name);
            }
        }
    }
    missing.into_iter().collect()
}
