//! kube-proxy knowledge: finding a nodePort's rules and service, recognising the rule era,
//! the externalTrafficPolicy the rules implement, the endpoints, and what is kube-proxy's.

use std::collections::BTreeSet;

use crate::model::{
    ChainId, MarkOp, Match, ModuleKind, Protocol, RuleBody, RuleId, RulesetId, TableId, TargetKind,
};
use crate::netfilter::AssumedChain;
use crate::parse::RuleReader;

/// kube-proxy's default masquerade mark (bit 14).
pub const DEFAULT_MASQUERADE_MARK: u32 = 0x4000;
/// kubelet's default drop mark (bit 15).
pub const DEFAULT_DROP_MARK: u32 = 0x8000;

/// The KUBE-NODEPORTS rules for one (protocol, nodePort) in one ruleset.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePortRules {
    /// The ruleset (IPv4 or IPv6 run).
    pub ruleset: RulesetId,
    /// The nat table holding KUBE-NODEPORTS.
    pub nat: TableId,
    /// TCP, UDP or SCTP.
    pub protocol: Protocol,
    /// The port.
    pub node_port: u16,
    /// `namespace/name:port` from the rule comment, if the rules carry one.
    pub service: Option<String>,
    /// The rules, in chain order.
    pub rules: Vec<RuleId>,
}

/// What to look for: a nodePort, or a service by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortOrService {
    /// A nodePort number.
    Port(u16),
    /// `namespace/name[:port]`.
    Service {
        /// Namespace.
        namespace: String,
        /// Service name.
        name: String,
        /// Port name, if given.
        port: Option<String>,
    },
}

impl std::str::FromStr for PortOrService {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return match text.parse::<u16>() {
                Ok(port) if port > 0 => Ok(PortOrService::Port(port)),
                _ => Err(format!("`{text}` is not a port: ports are 1 to 65535")),
            };
        }
        let (service, port) = match text.split_once(':') {
            Some((s, p)) => (s, Some(p.to_string())),
            None => (text, None),
        };
        match service.split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(PortOrService::Service {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                    port,
                })
            }
            _ => Err(format!(
                "`{text}` is neither a port number nor a service `namespace/name[:port]`"
            )),
        }
    }
}

impl std::fmt::Display for PortOrService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortOrService::Port(p) => write!(f, "{p}"),
            PortOrService::Service {
                namespace,
                name,
                port: Some(port),
            } => write!(f, "{namespace}/{name}:{port}"),
            PortOrService::Service {
                namespace, name, ..
            } => write!(f, "{namespace}/{name}"),
        }
    }
}

/// True if a KUBE-NODEPORTS comment names the asked-for service.
fn comment_names(comment: &str, target: &PortOrService) -> bool {
    let PortOrService::Service {
        namespace,
        name,
        port,
    } = target
    else {
        return false;
    };
    let (service, service_port) = match comment.split_once(':') {
        Some((s, p)) => (s, p),
        None => (comment, ""),
    };
    let wanted = format!("{namespace}/{name}");
    service == wanted && port.as_ref().is_none_or(|p| p == service_port)
}

/// The tables a nodePort's rules may live in: `nat`, or a fragment's assumed table.
fn nat_like_tables(dump: &RuleReader<'_, '_>) -> Vec<(RulesetId, TableId)> {
    let mut out = Vec::new();
    for (r, ruleset) in dump.rulesets.iter().enumerate() {
        for &t in &ruleset.tables {
            let table = dump.table(t);
            if table.name == "nat" || (table.line.is_none() && table.name != "filter") {
                out.push((RulesetId(r as u32), t));
            }
        }
    }
    out
}

/// The (protocol, port) a KUBE-NODEPORTS rule tests.
fn rule_port(body: &RuleBody<'_>) -> Option<(Protocol, u16)> {
    let mut protocol = None;
    let mut port = None;
    for m in &body.matches {
        match m {
            Match::Protocol(p) if !p.negated => protocol = Some(p.value),
            Match::Module(module) => match &module.kind {
                ModuleKind::Ports { dport: Some(d), .. }
                    if !d.negated && d.value.first == d.value.last =>
                {
                    port = Some(d.value.first)
                }
                _ => {}
            },
            _ => {}
        }
    }
    Some((protocol?, port?))
}

/// Finds the KUBE-NODEPORTS rules for a nodePort or for every port of a named service.
pub fn find_node_ports(dump: &RuleReader<'_, '_>, target: &PortOrService) -> Vec<NodePortRules> {
    let mut found: Vec<NodePortRules> = Vec::new();
    let may_name = MayName::new(target);
    for (ruleset, nat) in nat_like_tables(dump) {
        let Some(chain) = dump.chain_id(nat, "KUBE-NODEPORTS") else {
            continue;
        };
        for &rule in &dump.chain(chain).rules {
            let Some((protocol, port, comment)) =
                wanted_port_rule(dump, rule, target, &may_name, "")
            else {
                continue;
            };
            match found.iter_mut().find(|f| {
                f.ruleset == ruleset
                    && f.nat == nat
                    && f.protocol == protocol
                    && f.node_port == port
            }) {
                Some(entry) => {
                    entry.rules.push(rule);
                    if entry.service.is_none() {
                        entry.service = comment;
                    }
                }
                None => found.push(NodePortRules {
                    ruleset,
                    nat,
                    protocol,
                    node_port: port,
                    service: comment,
                    rules: vec![rule],
                }),
            }
        }
    }
    if found.is_empty() {
        found = find_rejected_node_ports(dump, target);
    }
    found
}

/// The (protocol, port, service name) of a nodePort rule, if it is one the target asks for.
/// `suffix` is removed from the comment first (`" has no endpoints"` on REJECT rules).
fn wanted_port_rule(
    dump: &RuleReader<'_, '_>,
    rule: RuleId,
    target: &PortOrService,
    may_name: &MayName,
    suffix: &str,
) -> Option<(Protocol, u16, Option<String>)> {
    if !may_name.check(dump.rule_text(rule)) {
        return None;
    }
    let body = dump.body(rule).ok()?;
    let (protocol, port) = rule_port(&body)?;
    let comment = body
        .comment()
        .map(|c| c.strip_suffix(suffix).unwrap_or(c).to_string());
    let wanted = match target {
        PortOrService::Port(p) => *p == port,
        PortOrService::Service { .. } => {
            comment.as_deref().is_some_and(|c| comment_names(c, target))
        }
    };
    wanted.then_some((protocol, port, comment))
}

/// A cheap test on a rule's text: false when the rule cannot be about `target`, so it need
/// not be typed. KUBE-NODEPORTS has a rule or more per nodePort of the node, and typing them
/// all would cost a pass over a large part of the dump. Any decimal spelling of a port
/// contains its plain digits, and a service name without quote or backslash is written as
/// it is. Built once per search: the substring finder is reused for every rule.
struct MayName {
    /// `None` when every rule may name the target (a name with quotes or backslashes).
    finder: Option<memchr::memmem::Finder<'static>>,
}

impl MayName {
    fn new(target: &PortOrService) -> Self {
        let needle = match target {
            PortOrService::Port(port) => port.to_string(),
            PortOrService::Service {
                namespace, name, ..
            } => format!("{namespace}/{name}"),
        };
        let finder = (!needle.contains(['"', '\\', '\'']))
            .then(|| memchr::memmem::Finder::new(needle.as_bytes()).into_owned());
        MayName { finder }
    }

    fn check(&self, text: &str) -> bool {
        self.finder
            .as_ref()
            .is_none_or(|f| f.find(text.as_bytes()).is_some())
    }
}

/// A service with no endpoints at all has no nat rules for its nodePort: kube-proxy only
/// writes a filter `KUBE-EXTERNAL-SERVICES ... "has no endpoints" ... -j REJECT` (all
/// versions ≥1.20, and ≈1.13–1.19). Finding it there lets the evaluator walk the packet
/// into that REJECT instead of saying the port is unknown. (Found by the kernel suite.)
fn find_rejected_node_ports(
    dump: &RuleReader<'_, '_>,
    target: &PortOrService,
) -> Vec<NodePortRules> {
    let mut found: Vec<NodePortRules> = Vec::new();
    let may_name = MayName::new(target);
    for (r, ruleset) in dump.rulesets.iter().enumerate() {
        let ruleset_id = RulesetId(r as u32);
        let tables = table_set(dump, ruleset_id);
        let Some(nat) = tables
            .iter()
            .copied()
            .find(|&t| dump.table(t).name == "nat")
        else {
            continue;
        };
        for &t in &ruleset.tables {
            if dump.table(t).name != "filter" {
                continue;
            }
            let Some(chain) = dump.chain_id(t, "KUBE-EXTERNAL-SERVICES") else {
                continue;
            };
            for &rule in &dump.chain(chain).rules {
                let Some((protocol, port, comment)) =
                    wanted_port_rule(dump, rule, target, &may_name, " has no endpoints")
                else {
                    continue;
                };
                if !found.iter().any(|f| {
                    f.ruleset == ruleset_id && f.node_port == port && f.protocol == protocol
                }) {
                    found.push(NodePortRules {
                        ruleset: ruleset_id,
                        nat,
                        protocol,
                        node_port: port,
                        service: comment,
                        rules: vec![rule],
                    });
                }
            }
        }
    }
    found
}

/// The tables one node's packets meet, for the ruleset holding `ruleset`'s tables:
/// `iptables-save` writes a `# Generated by` header per table, so a node's tables can be
/// spread over several consecutive rulesets; tables of the same family and program are
/// gathered, the first of each name winning (this ruleset's own first).
pub fn table_set<'a>(dump: &RuleReader<'_, 'a>, ruleset: RulesetId) -> Vec<TableId> {
    let Some(home) = dump.rulesets.get(ruleset.0 as usize) else {
        return Vec::new();
    };
    fn program<'a>(r: &crate::model::Ruleset<'a>) -> Option<&'a str> {
        r.generator.map(|g| g.program)
    }
    let mut out: Vec<TableId> = home.tables.clone();
    for r in &dump.rulesets {
        if r.family != home.family || program(r) != program(home) {
            continue;
        }
        for &t in &r.tables {
            let name = dump.table(t).name;
            if !out.iter().any(|&o| dump.table(o).name == name) {
                out.push(t);
            }
        }
    }
    out
}

/// The table called `name` among `tables`.
pub fn find_table(dump: &RuleReader<'_, '_>, tables: &[TableId], name: &str) -> Option<TableId> {
    tables.iter().copied().find(|&t| dump.table(t).name == name)
}

/// True for a chain kube-proxy (or kubelet, for its KUBE- chains) writes.
pub fn is_kube_chain(name: &str) -> bool {
    name.starts_with("KUBE-")
}

/// True if a chain is in the dump (declared, or has rules).
pub fn chain_present(dump: &RuleReader<'_, '_>, chain: Option<ChainId>) -> bool {
    chain.is_some_and(|c| {
        let c = dump.chain(c);
        c.declared_line().is_some() || !c.rules.is_empty()
    })
}

/// The mark `KUBE-MARK-MASQ` sets (default 0x4000 if the chain is missing).
pub fn masquerade_mark(dump: &RuleReader<'_, '_>, nat: TableId) -> u32 {
    mark_chain_value(dump, nat, "KUBE-MARK-MASQ").unwrap_or(DEFAULT_MASQUERADE_MARK)
}

fn mark_chain_value(dump: &RuleReader<'_, '_>, nat: TableId, name: &str) -> Option<u32> {
    let chain = dump.chain_id(nat, name)?;
    dump.chain(chain).rules.iter().find_map(|&r| {
        let body = dump.body(r).ok()?;
        match body.target?.kind {
            TargetKind::Mark(op) => Some(op.value),
            _ => None,
        }
    })
}

/// kube-proxy's mark chains, to assume when a fragment jumps to them without their body.
pub fn assumed_mark_chains(dump: &RuleReader<'_, '_>, nat: TableId) -> Vec<AssumedChain> {
    let mut out = Vec::new();
    for (name, mark) in [
        ("KUBE-MARK-MASQ", DEFAULT_MASQUERADE_MARK),
        ("KUBE-MARK-DROP", DEFAULT_DROP_MARK),
    ] {
        if chain_present(dump, dump.chain_id(nat, name)) {
            continue;
        }
        out.push(AssumedChain {
            name: name.to_string(),
            mark: MarkOp {
                value: mark,
                mask: mark,
            },
        });
    }
    out
}

/// The policy chain names of a service's hash, per prefix.
fn sibling(name: &str, prefix: &str) -> Option<String> {
    [
        "KUBE-XLB-",
        "KUBE-EXT-",
        "KUBE-SVC-",
        "KUBE-SVL-",
        "KUBE-FW-",
    ]
    .iter()
    .find_map(|p| name.strip_prefix(p))
    .map(|hash| format!("{prefix}{hash}"))
}

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
    /// `IP:port` from the DNAT rule (or the chain name if its body is missing).
    pub address: String,
    /// Its KUBE-SEP chain.
    pub chain: String,
    /// On this node?
    pub locality: Locality,
}

/// What the rules say about a nodePort's service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceShape {
    /// The rule era, e.g. "KUBE-XLB era".
    pub era: String,
    /// The kube-proxy versions consistent with the rules, e.g. "1.15–1.21".
    pub versions: String,
    /// What the era and versions were read from.
    pub clues: Vec<String>,
    /// externalTrafficPolicy.
    pub policy: TrafficPolicy,
    /// Why that policy.
    pub policy_evidence: String,
    /// Endpoints, cluster chain order first.
    pub endpoints: Vec<Endpoint>,
    /// Chains the nodePort's path refers to that are not in the dump.
    pub missing_chains: Vec<String>,
}

/// An inclusive range of kube-proxy minor versions (1.lo – 1.hi).
#[derive(Debug, Clone, Copy)]
struct Versions {
    lo: u32,
    hi: Option<u32>,
}

impl Versions {
    fn narrow(&mut self, lo: u32, hi: Option<u32>) {
        let new_lo = self.lo.max(lo);
        let new_hi = match (self.hi, hi) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // Contradictory clues (a mixed dump): keep the earlier reading.
        if new_hi.is_none_or(|h| h >= new_lo) {
            self.lo = new_lo;
            self.hi = new_hi;
        }
    }

    fn render(self) -> String {
        match self.hi {
            None => format!("≥1.{}", self.lo),
            Some(h) if h == self.lo => format!("1.{h}"),
            Some(h) if self.lo == 0 => format!("≤1.{h}"),
            Some(h) => format!("1.{}–1.{h}", self.lo),
        }
    }
}

fn rule_target_name(dump: &RuleReader<'_, '_>, rule: RuleId) -> Option<String> {
    let body = dump.body(rule).ok()?;
    match body.target?.kind {
        TargetKind::Chain(name) => Some(name.to_string()),
        _ => None,
    }
}

fn chain_rules_text<'a>(
    dump: &RuleReader<'_, 'a>,
    chain: Option<ChainId>,
) -> Vec<(RuleId, RuleBody<'a>)> {
    chain.map_or_else(Vec::new, |c| {
        dump.chain(c)
            .rules
            .iter()
            .filter_map(|&r| dump.body(r).ok().map(|b| (r, b)))
            .collect()
    })
}

fn has_src_local(body: &RuleBody<'_>) -> bool {
    body.matches.iter().any(|m| {
        matches!(m, Match::Module(module) if matches!(&module.kind,
            ModuleKind::AddrType { src_type: Some(t), .. } if t.value.iter().any(|v| v.eq_ignore_ascii_case("LOCAL"))))
    })
}

fn target_name<'b>(body: &'b RuleBody<'_>) -> Option<&'b str> {
    match &body.target.as_ref()?.kind {
        TargetKind::Chain(name) => Some(name),
        _ => None,
    }
}

/// Reads the service's shape from its KUBE-NODEPORTS rules and the chains they lead to.
pub fn service_shape(dump: &RuleReader<'_, '_>, port: &NodePortRules) -> ServiceShape {
    let nat = port.nat;
    let mut clues = Vec::new();
    let mut versions = Versions { lo: 0, hi: None };
    let targets: Vec<String> = port
        .rules
        .iter()
        .filter_map(|&r| rule_target_name(dump, r))
        .collect();
    let bodies: Vec<RuleBody<'_>> = port
        .rules
        .iter()
        .filter_map(|&r| dump.body(r).ok())
        .collect();
    let loopback_masq = bodies.iter().any(|b| {
        target_name(b) == Some("KUBE-MARK-MASQ")
            && b.matches
                .iter()
                .any(|m| matches!(m, Match::Source(s) if !s.negated && s.value.net().is_some_and(|n| n.addr().is_loopback())))
    });
    let plain_masq = bodies.iter().any(|b| {
        target_name(b) == Some("KUBE-MARK-MASQ")
            && !b.matches.iter().any(|m| matches!(m, Match::Source(_)))
    });
    let nfacct = bodies.iter().any(|b| {
        b.matches.iter().any(|m| matches!(m, Match::Module(module) if matches!(module.kind, ModuleKind::Nfacct { .. })))
    });
    let policy_chain = targets
        .iter()
        .find(|t| {
            t.starts_with("KUBE-XLB-") || t.starts_with("KUBE-EXT-") || t.starts_with("KUBE-SVC-")
        })
        .cloned();
    let mut policy = TrafficPolicy::Unknown;
    let mut policy_evidence = "the rules that would show it are missing".to_string();
    let mut era = "unrecognised".to_string();
    let mut local_chain: Option<String> = None;
    let mut cluster_chain: Option<String> = None;
    if let Some(pc) = &policy_chain {
        let pc_id = dump.chain_id(nat, pc);
        let pc_rules = chain_rules_text(dump, pc_id);
        if pc.starts_with("KUBE-XLB-") {
            era = "KUBE-XLB era".to_string();
            versions.narrow(0, Some(23));
            policy = TrafficPolicy::Local;
            policy_evidence = format!(
                "KUBE-NODEPORTS sends it to {pc} (external traffic to local endpoints only)"
            );
            local_chain = Some(pc.clone());
            cluster_chain = sibling(pc, "KUBE-SVC-");
            if loopback_masq {
                versions.narrow(10, Some(23));
                clues.push(
                    "a `-s 127.0.0.0/8 … -j KUBE-MARK-MASQ` rule in KUBE-NODEPORTS (1.10–1.23)"
                        .to_string(),
                );
            } else {
                versions.narrow(0, Some(9));
                clues.push(
                    "no 127.0.0.0/8 masquerade rule before the KUBE-XLB jump (≤1.9)".to_string(),
                );
            }
            if chain_present(dump, pc_id) {
                if pc_rules.iter().any(|(_, b)| has_src_local(b)) {
                    versions.narrow(15, Some(23));
                    clues.push(format!(
                        "{pc} has the \"masquerade LOCAL traffic\" rules (1.15–1.23)"
                    ));
                } else {
                    versions.narrow(0, Some(14));
                    clues.push(format!(
                        "{pc} lacks the \"masquerade LOCAL traffic\" rules (≤1.14)"
                    ));
                }
            }
        } else if pc.starts_with("KUBE-EXT-") {
            era = "KUBE-EXT/KUBE-SVL era".to_string();
            versions.narrow(24, None);
            cluster_chain = sibling(pc, "KUBE-SVC-");
            clues.push(format!("KUBE-NODEPORTS jumps to {pc} (≥1.24)"));
            if chain_present(dump, pc_id) {
                let to_svl = pc_rules.iter().find_map(|(_, b)| {
                    target_name(b)
                        .filter(|t| t.starts_with("KUBE-SVL-"))
                        .map(str::to_string)
                });
                let local_rules = pc_rules.iter().any(|(_, b)| has_src_local(b));
                if to_svl.is_some() || local_rules {
                    policy = TrafficPolicy::Local;
                    policy_evidence = format!(
                        "{pc} short-circuits pod and node-local sources and otherwise {}",
                        if to_svl.is_some() {
                            "goes to the local-endpoint chain"
                        } else {
                            "ends without a jump (no local endpoints)"
                        }
                    );
                    local_chain = to_svl.or_else(|| sibling(pc, "KUBE-SVL-"));
                } else {
                    policy = TrafficPolicy::Cluster;
                    policy_evidence = format!(
                        "{pc} marks all traffic for masquerading and jumps to the cluster chain"
                    );
                }
            }
        } else {
            era = "KUBE-XLB era".to_string();
            policy = TrafficPolicy::Cluster;
            policy_evidence = format!("KUBE-NODEPORTS jumps straight to {pc} (all endpoints)");
            cluster_chain = Some(pc.clone());
            if plain_masq {
                versions.narrow(0, Some(21));
                clues.push(
                    "the nodePort's KUBE-MARK-MASQ rule is in KUBE-NODEPORTS (≤1.21)".to_string(),
                );
            } else {
                let in_svc = chain_rules_text(dump, dump.chain_id(nat, pc))
                    .iter()
                    .any(|(_, b)| {
                        target_name(b) == Some("KUBE-MARK-MASQ")
                            && rule_port(b).is_some_and(|(_, p)| p == port.node_port)
                    });
                if in_svc {
                    versions.narrow(22, Some(23));
                    clues.push(format!(
                        "the nodePort's KUBE-MARK-MASQ rule is in {pc} (1.22–1.23)"
                    ));
                } else {
                    versions.narrow(0, Some(23));
                }
            }
        }
    }
    // A service without endpoints has no nat rules for its nodePort; only the filter REJECT
    // found by `find_rejected_node_ports` names it. Say so instead of "missing" (which reads as
    // a truncated dump). Found reviewing the generator's `*-no-endpoints` scenarios.
    if policy_chain.is_none()
        && !bodies.is_empty()
        && bodies.iter().all(|b| {
            matches!(
                b.target.as_ref().map(|t| &t.kind),
                Some(TargetKind::Reject { .. })
            ) && b
                .comment()
                .is_some_and(|c| c.ends_with(" has no endpoints"))
        })
    {
        policy_evidence = "not visible: the service has no endpoints, so kube-proxy wrote no nat \
                           rules for its nodePort, only the \"has no endpoints\" REJECT rule"
            .to_string();
        versions.narrow(13, None);
        clues.push(
            "the nodePort only has a filter KUBE-EXTERNAL-SERVICES \"has no endpoints\" REJECT rule (≈1.13+)"
                .to_string(),
        );
    }
    // Dump-wide clues.
    if let Some(local) = &local_chain
        && local.starts_with("KUBE-SVL-")
        && chain_rules_text(dump, dump.chain_id(nat, local))
            .iter()
            .any(|(_, b)| target_name(b) == Some("KUBE-MARK-DROP"))
    {
        versions.narrow(24, Some(24));
        clues.push(format!("{local} jumps to KUBE-MARK-DROP (1.24)"));
    }
    let filter = find_table(dump, &table_set(dump, port.ruleset), "filter");
    if (versions.lo >= 24 || policy_chain.is_none())
        && filter.is_some_and(|f| chain_present(dump, dump.chain_id(f, "KUBE-PROXY-FIREWALL")))
    {
        versions.narrow(25, None);
        clues.push("filter chain KUBE-PROXY-FIREWALL exists (≥1.25)".to_string());
    }
    if nfacct {
        versions.narrow(31, None);
        clues.push("an `-m nfacct` localhost nodePort rule (≥1.31)".to_string());
    }
    let post = chain_rules_text(dump, dump.chain_id(nat, "KUBE-POSTROUTING"));
    if post
        .iter()
        .any(|(_, b)| matches!(b.target.as_ref().map(|t| &t.kind), Some(TargetKind::Return)))
    {
        clues.push("KUBE-POSTROUTING has the RETURN / clear-mark / MASQUERADE triplet (≥1.18.6, or patched 1.16–1.17)".to_string());
    } else if !post.is_empty() {
        clues.push(
            "KUBE-POSTROUTING is the single mark-testing MASQUERADE rule (≤1.18.5)".to_string(),
        );
    }
    // Endpoints.
    let mut endpoints: Vec<Endpoint> = Vec::new();
    let local_seps: BTreeSet<String> = local_chain
        .as_ref()
        .map(|c| sep_jumps(dump, nat, c).into_iter().collect())
        .unwrap_or_default();
    let mut order = Vec::new();
    if let Some(c) = &cluster_chain {
        order.extend(sep_jumps(dump, nat, c));
    }
    order.extend(local_seps.iter().cloned());
    for sep in order {
        if endpoints.iter().any(|e| e.chain == sep) {
            continue;
        }
        let locality = if local_seps.contains(&sep) {
            Locality::Local
        } else if policy == TrafficPolicy::Local
            && local_chain
                .as_ref()
                .is_some_and(|c| chain_present(dump, dump.chain_id(nat, c)))
        {
            Locality::Remote
        } else if policy == TrafficPolicy::Local
            && local_chain
                .as_ref()
                .is_some_and(|c| c.starts_with("KUBE-SVL-"))
        {
            // A Local service whose KUBE-EXT ends without a KUBE-SVL jump has no local endpoints.
            Locality::Remote
        } else {
            Locality::Unknown
        };
        let address = sep_destination(dump, nat, &sep).unwrap_or_else(|| format!("(in {sep})"));
        endpoints.push(Endpoint {
            address,
            chain: sep,
            locality,
        });
    }
    ServiceShape {
        era,
        versions: versions.render(),
        clues,
        policy,
        policy_evidence,
        endpoints,
        missing_chains: missing_chains(dump, nat, &port.rules),
    }
}

/// The KUBE-SEP chains a chain jumps to, in order, without repeats.
fn sep_jumps(dump: &RuleReader<'_, '_>, nat: TableId, chain: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, body) in chain_rules_text(dump, dump.chain_id(nat, chain)) {
        if let Some(t) = target_name(&body)
            && t.starts_with("KUBE-SEP-")
            && !out.iter().any(|o| o == t)
        {
            out.push(t.to_string());
        }
    }
    out
}

/// The DNAT destination written in a KUBE-SEP chain.
fn sep_destination(dump: &RuleReader<'_, '_>, nat: TableId, sep: &str) -> Option<String> {
    chain_rules_text(dump, dump.chain_id(nat, sep))
        .into_iter()
        .find_map(|(_, body)| match body.target?.kind {
            TargetKind::Dnat { to } => to.first().map(|r| r.to_string()),
            _ => None,
        })
}

/// Chains reachable from `rules` that are referenced but not in the dump, sorted.
pub fn missing_chains(dump: &RuleReader<'_, '_>, table: TableId, rules: &[RuleId]) -> Vec<String> {
    let mut missing = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut queue: Vec<RuleId> = rules.to_vec();
    while let Some(rule) = queue.pop() {
        let Some(name) = rule_target_name(dump, rule) else {
            continue;
        };
        if !seen.insert(name.clone()) || seen.len() > 10_000 {
            continue;
        }
        let id = dump.chain_id(table, &name);
        if chain_present(dump, id) {
            if let Some(id) = id {
                queue.extend(dump.chain(id).rules.iter().copied());
            }
        } else {
            missing.insert(name);
        }
    }
    missing.into_iter().collect()
}

/// Every (protocol, nodePort, service comment) KUBE-NODEPORTS has rules for, in chain order
/// without repeats: what a user who asked for a missing port can pick from.
pub fn all_node_ports(dump: &RuleReader<'_, '_>) -> Vec<(Protocol, u16, Option<String>)> {
    let mut out: Vec<(Protocol, u16, Option<String>)> = Vec::new();
    for (_, nat) in nat_like_tables(dump) {
        let Some(chain) = dump.chain_id(nat, "KUBE-NODEPORTS") else {
            continue;
        };
        for &rule in &dump.chain(chain).rules {
            let Ok(body) = dump.body(rule) else {
                continue;
            };
            let Some((protocol, port)) = rule_port(&body) else {
                continue;
            };
            if !out.iter().any(|(p, n, _)| *p == protocol && *n == port) {
                out.push((protocol, port, body.comment().map(str::to_string)));
            }
        }
    }
    out
}

#[cfg(test)]
mod target_text_tests {
    use super::PortOrService;

    #[test]
    fn port_numbers_out_of_range_say_so() {
        assert_eq!(
            "31015".parse::<PortOrService>(),
            Ok(PortOrService::Port(31015))
        );
        assert_eq!(
            "99999".parse::<PortOrService>(),
            Err("`99999` is not a port: ports are 1 to 65535".to_string())
        );
        assert!("0".parse::<PortOrService>().is_err());
        assert!("ns/name:http".parse::<PortOrService>().is_ok());
        assert!("nginx".parse::<PortOrService>().is_err());
    }
}
