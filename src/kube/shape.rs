//! What the rules naming a destination say about its service: the era and versions that
//! wrote them, the traffic policy they implement, and the endpoints with their locality.

use std::collections::BTreeSet;

use rustc_hash::FxHashSet;

use crate::kube::chains::ServiceChain;
use crate::kube::destination::Entry;
use crate::kube::era::{Clue, Era, Versions};
use crate::kube::policy::{PolicyReading, read_policy};
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
    /// The entry chain (KUBE-NODEPORTS, KUBE-SERVICES) sends it to a KUBE-XLB chain
    /// (local endpoints only).
    ToXlb {
        /// The chain jumping.
        entry: String,
        /// The KUBE-XLB chain.
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
    /// The entry chain jumps straight to the cluster chain.
    ToCluster {
        /// The chain jumping.
        entry: String,
        /// The cluster chain.
        chain: String,
    },
    /// A ClusterIP's rule sends it to the local-endpoint chain (internalTrafficPolicy Local).
    InternalLocal {
        /// The KUBE-SVL chain.
        chain: String,
    },
    /// A ClusterIP's rule sends it to the cluster chain (every endpoint).
    InternalCluster {
        /// The KUBE-SVC chain.
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

/// Which traffic policy a destination's rules implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyScope {
    /// externalTrafficPolicy (nodePorts, LoadBalancer IPs, externalIPs).
    External,
    /// internalTrafficPolicy (ClusterIPs).
    Internal,
}

/// What the rules say about a destination's service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceShape {
    /// The rule era.
    pub era: Era,
    /// The kube-proxy versions consistent with the rules.
    pub versions: Versions,
    /// What the era and versions were read from.
    pub clues: Vec<Clue>,
    /// Which policy `policy` is.
    pub scope: PolicyScope,
    /// externalTrafficPolicy or internalTrafficPolicy.
    pub policy: TrafficPolicy,
    /// Why that policy.
    pub policy_evidence: PolicyEvidence,
    /// Endpoints, cluster chain order first.
    pub endpoints: Vec<Endpoint>,
    /// Chains the nodePort's path refers to that are not in the dump.
    pub missing_chains: Vec<String>,
    /// Chains the path refers to that the input shows only in part, perhaps (a fragment's
    /// undeclared chains, a cut table's last chains): see `Dump::may_lack_rules`.
    pub incomplete_chains: Vec<String>,
}

impl ServiceShape {
    /// True for a Local-policy service without a local endpoint.
    pub fn has_no_local_endpoint(&self) -> bool {
        self.policy == TrafficPolicy::Local
            && !self.endpoints.iter().any(|e| e.locality == Locality::Local)
    }
}

/// Reads the service's shape from the rules naming a destination and the chains they
/// lead to.
pub fn service_shape(rules: &RuleReader<'_, '_>, entry: &Entry) -> ServiceShape {
    let nat = entry.nat;
    let reading = read_policy(rules, entry);
    let endpoints = endpoints(rules, nat, &reading);
    let (missing_chains, incomplete_chains) = chains_not_whole(rules, nat, &entry.rules);
    ServiceShape {
        era: reading.era,
        versions: reading.versions,
        clues: reading.clues,
        scope: reading.scope,
        policy: reading.policy,
        policy_evidence: reading.evidence,
        endpoints,
        missing_chains,
        incomplete_chains,
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
    let mut seen: FxHashSet<String> = FxHashSet::default();
    for sep in order {
        if !seen.insert(sep.clone()) {
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
pub(crate) fn chain_bodies<'a>(
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

pub(crate) fn has_src_local(body: &RuleBody<'_>) -> bool {
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
    // A set, not a search of the list: a service may have thousands of endpoints.
    let mut seen: FxHashSet<String> = FxHashSet::default();
    for (_, body) in chain_bodies(rules, rules.dump().chain_id(nat, chain)) {
        if let Some(t) = target_name(&body)
            && ServiceChain::Endpoint.is(t)
            && !seen.contains(t)
        {
            seen.insert(t.to_string());
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

/// Chains reachable from `start` that are not in the input, and those the input may show
/// only in part; each sorted.
pub fn chains_not_whole(
    rules: &RuleReader<'_, '_>,
    table: TableId,
    start: &[RuleId],
) -> (Vec<String>, Vec<String>) {
    let dump = rules.dump();
    let mut missing = BTreeSet::new();
    let mut incomplete = BTreeSet::new();
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
        match dump.chain_id(table, &name).filter(|&c| dump.is_known(c)) {
            Some(id) => {
                if dump.may_lack_rules(id) {
                    incomplete.insert(name);
                }
                queue.extend(dump.chain(id).rules.iter().copied());
            }
            None => {
                missing.insert(name);
            }
        }
    }
    (
        missing.into_iter().collect(),
        incomplete.into_iter().collect(),
    )
}
