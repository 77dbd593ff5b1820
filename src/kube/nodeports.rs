//! Finding a nodePort's rules: the KUBE-NODEPORTS rules for a port or for every port of a
//! named service, or, for a service with no endpoints at all, its filter REJECT rule; and
//! the list of nodePorts a dump has, for a user who asked for one it does not.

use std::collections::hash_map::Entry;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::kube::chains::{EXTERNAL_SERVICES, NODEPORTS};
use crate::kube::explanation::AvailablePort;
use crate::kube::target::Target;
use crate::model::{Dump, Match, ModuleKind, Protocol, RuleBody, RuleId, RulesetId, TableId};
use crate::parse::RuleReader;

/// The KUBE-NODEPORTS rules for one (protocol, nodePort) in one ruleset.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePortRules {
    /// The ruleset (IPv4 or IPv6 run).
    pub ruleset: RulesetId,
    /// The nat table holding KUBE-NODEPORTS; for an input without one (filter rules only),
    /// the filter table holding the rules found.
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

/// True if a KUBE-NODEPORTS comment names the asked-for service.
fn comment_names(comment: &str, target: &Target) -> bool {
    let Target::Service {
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
fn nat_like_tables(dump: &Dump<'_>) -> Vec<(RulesetId, TableId)> {
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

/// The rules of `table`'s KUBE-NODEPORTS chain that test a (protocol, port), typed, in
/// chain order, with that protocol and port.
pub(crate) fn port_rules<'r, 'a>(
    rules: &'r RuleReader<'_, 'a>,
    table: TableId,
) -> impl Iterator<Item = (RuleId, RuleBody<'a>, Protocol, u16)> + 'r {
    let dump = rules.dump();
    let chain_rules = match dump.chain_id(table, NODEPORTS) {
        Some(chain) => dump.chain(chain).rules.as_slice(),
        None => &[],
    };
    chain_rules.iter().filter_map(move |&rule| {
        let body = rules.body(rule).ok()?;
        let (protocol, port) = rule_port(&body)?;
        Some((rule, body, protocol, port))
    })
}

/// The (protocol, port) a KUBE-NODEPORTS rule tests.
pub(crate) fn rule_port(body: &RuleBody<'_>) -> Option<(Protocol, u16)> {
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
pub fn find_node_ports(rules: &RuleReader<'_, '_>, target: &Target) -> Vec<NodePortRules> {
    let dump = rules.dump();
    let mut found: Vec<NodePortRules> = Vec::new();
    // Where each (ruleset, table, protocol, port) is in `found`: a service may have many.
    let mut index: FxHashMap<(RulesetId, TableId, Protocol, u16), usize> = FxHashMap::default();
    let may_name = MayName::new(target);
    for (ruleset, nat) in nat_like_tables(dump) {
        let Some(chain) = dump.chain_id(nat, NODEPORTS) else {
            continue;
        };
        for &rule in &dump.chain(chain).rules {
            let Some((protocol, port, comment)) =
                wanted_port_rule(rules, rule, target, &may_name, "")
            else {
                continue;
            };
            match index.entry((ruleset, nat, protocol, port)) {
                Entry::Occupied(at) => {
                    let entry = &mut found[*at.get()];
                    entry.rules.push(rule);
                    if entry.service.is_none() {
                        entry.service = comment;
                    }
                }
                Entry::Vacant(at) => {
                    at.insert(found.len());
                    found.push(NodePortRules {
                        ruleset,
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
    // A port without nat rules in one ruleset may still be rejected there (dual-stack: the
    // IPv6 service may have no endpoints while the IPv4 one has).
    add_rejected(&mut found, find_rejected_node_ports(rules, target));
    found
}

/// Appends the rejected nodePorts that `found` has no rules for in the same ruleset (a
/// set, not a search of `found` for each: 40,000 rejected nodePorts made `ports` take 3 s).
fn add_rejected(found: &mut Vec<NodePortRules>, rejected: Vec<NodePortRules>) {
    let mut have: FxHashSet<(RulesetId, Protocol, u16)> = found
        .iter()
        .map(|f| (f.ruleset, f.protocol, f.node_port))
        .collect();
    for r in rejected {
        if have.insert((r.ruleset, r.protocol, r.node_port)) {
            found.push(r);
        }
    }
}

/// The (protocol, port, service name) of a nodePort rule, if it is one the target asks for.
/// `suffix` is removed from the comment first (`" has no endpoints"` on REJECT rules).
fn wanted_port_rule(
    rules: &RuleReader<'_, '_>,
    rule: RuleId,
    target: &Target,
    may_name: &MayName,
    suffix: &str,
) -> Option<(Protocol, u16, Option<String>)> {
    if !may_name.check(rules.dump().rule_text(rule)) {
        return None;
    }
    let body = rules.body(rule).ok()?;
    let (protocol, port) = rule_port(&body)?;
    let comment = body
        .comment()
        .map(|c| c.strip_suffix(suffix).unwrap_or(c).to_string());
    let wanted = match target {
        Target::NodePort {
            port: p,
            protocol: want,
        } => *p == port && want.is_none_or(|w| w == protocol),
        Target::Service { .. } => comment.as_deref().is_some_and(|c| comment_names(c, target)),
        Target::Address { .. } => false,
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
    fn new(target: &Target) -> Self {
        let needle = match target {
            Target::NodePort { port, .. } | Target::Address { port, .. } => port.to_string(),
            Target::Service {
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
fn find_rejected_node_ports(rules: &RuleReader<'_, '_>, target: &Target) -> Vec<NodePortRules> {
    let dump = rules.dump();
    let mut found: Vec<NodePortRules> = Vec::new();
    let mut seen: FxHashSet<(RulesetId, Protocol, u16)> = FxHashSet::default();
    let may_name = MayName::new(target);
    for (r, ruleset) in dump.rulesets.iter().enumerate() {
        let ruleset_id = RulesetId(r as u32);
        let tables = dump.node_tables(ruleset_id);
        let nat = dump.find_table(&tables, "nat");
        for &t in &ruleset.tables {
            if dump.table(t).name != "filter" {
                continue;
            }
            let Some(chain) = dump.chain_id(t, EXTERNAL_SERVICES) else {
                continue;
            };
            for &rule in &dump.chain(chain).rules {
                // A filter-only input (`iptables-save -t filter | grep …`) has no nat table:
                // the entry then names the filter table, and explain knows it has no nat.
                let suffix = if dump.rule_text(rule).contains(" has no local endpoints") {
                    " has no local endpoints"
                } else {
                    " has no endpoints"
                };
                let Some((protocol, port, comment)) =
                    wanted_port_rule(rules, rule, target, &may_name, suffix)
                else {
                    continue;
                };
                // `-d ADDR … --dport PORT` is a service address's rule (an externalIP or
                // LoadBalancer IP without endpoints), not the nodePort's.
                if tests_destination(rules, rule) {
                    continue;
                }
                if seen.insert((ruleset_id, protocol, port)) {
                    found.push(NodePortRules {
                        ruleset: ruleset_id,
                        nat: nat.unwrap_or(t),
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

/// True when the rule tests `-d ADDR` (not `! -d`).
fn tests_destination(rules: &RuleReader<'_, '_>, rule: RuleId) -> bool {
    rules.body(rule).is_ok_and(|body| {
        body.matches
            .iter()
            .any(|m| matches!(m, Match::Destination(d) if !d.negated))
    })
}

/// Every nodePort KUBE-NODEPORTS has rules for, by port number.
pub fn all_node_ports(rules: &RuleReader<'_, '_>) -> Vec<AvailablePort> {
    let everything = Target::NodePort {
        port: 0,
        protocol: None,
    };
    nearest_node_ports(rules, &everything, usize::MAX).0
}

/// How many nodePorts a "not found" answer offers.
pub const NEAREST_NODE_PORTS: usize = 8;

/// The nodePorts KUBE-NODEPORTS has rules for that are nearest to `target` (at most
/// `limit`, nearest first: by port number for a port, by the service's name for a service),
/// and how many distinct nodePorts there are: what a user who asked for a missing port can
/// pick from. One pass over the rules; each (protocol, port) counts once, with the comment
/// of its first rule.
pub fn nearest_node_ports(
    rules: &RuleReader<'_, '_>,
    target: &Target,
    limit: usize,
) -> (Vec<AvailablePort>, usize) {
    let dump = rules.dump();
    let mut all: Vec<AvailablePort> = Vec::new();
    let mut seen: FxHashSet<(Protocol, u16)> = FxHashSet::default();
    for (_, nat) in nat_like_tables(dump) {
        for (_, body, protocol, port) in port_rules(rules, nat) {
            if seen.insert((protocol, port)) {
                all.push(AvailablePort {
                    protocol,
                    port,
                    service: body.comment().map(str::to_string),
                });
            }
        }
    }
    let total = all.len();
    // Closeness, then chain order (the index) to break ties.
    let mut keyed: Vec<((usize, usize), usize)> = all
        .iter()
        .enumerate()
        .map(|(i, a)| (closeness(a, target), i))
        .collect();
    if keyed.len() > limit {
        keyed.select_nth_unstable(limit);
        keyed.truncate(limit);
    }
    keyed.sort_unstable();
    let nearest = keyed.iter().map(|&(_, i)| all[i].clone()).collect();
    (nearest, total)
}

/// How far a nodePort is from what was asked (smaller is nearer): the port distance, the
/// protocol breaking ties; or the edit distance between service names.
fn closeness(port: &AvailablePort, target: &Target) -> (usize, usize) {
    match target {
        Target::NodePort {
            port: asked,
            protocol,
        }
        | Target::Address {
            port: asked,
            protocol,
            ..
        } => (
            usize::from(port.port.abs_diff(*asked)),
            usize::from(protocol.is_some_and(|p| p != port.protocol)),
        ),
        Target::Service {
            namespace, name, ..
        } => {
            let asked = format!("{namespace}/{name}");
            let service = port.service.as_deref().unwrap_or_default();
            let service = service.split_once(':').map_or(service, |(s, _)| s);
            (strsim::levenshtein(&asked, service), usize::from(port.port))
        }
    }
}

/// The rules of every nodePort of the dump, grouped per (ruleset, nat table, protocol,
/// port) in chain order, each KUBE-NODEPORTS rule typed once; then, for services with no
/// endpoints (no nat rules), their filter "has no endpoints" REJECT rule. What `ports`
/// explains one by one.
pub fn every_node_port(rules: &RuleReader<'_, '_>) -> Vec<NodePortRules> {
    let dump = rules.dump();
    let mut found: Vec<NodePortRules> = Vec::new();
    let mut index: FxHashMap<(RulesetId, TableId, Protocol, u16), usize> = FxHashMap::default();
    for (ruleset, nat) in nat_like_tables(dump) {
        for (rule, body, protocol, port) in port_rules(rules, nat) {
            let comment = body.comment().map(str::to_string);
            match index.get(&(ruleset, nat, protocol, port)) {
                Some(&i) => {
                    let entry = &mut found[i];
                    entry.rules.push(rule);
                    if entry.service.is_none() {
                        entry.service = comment;
                    }
                }
                None => {
                    index.insert((ruleset, nat, protocol, port), found.len());
                    found.push(NodePortRules {
                        ruleset,
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
    add_rejected(&mut found, every_rejected_node_port(rules));
    found
}

/// Every nodePort that only has a filter KUBE-EXTERNAL-SERVICES "has no endpoints" REJECT
/// rule (see [`find_rejected_node_ports`]).
fn every_rejected_node_port(rules: &RuleReader<'_, '_>) -> Vec<NodePortRules> {
    const SUFFIX: &str = " has no endpoints";
    let dump = rules.dump();
    let mut found: Vec<NodePortRules> = Vec::new();
    let mut seen: FxHashSet<(RulesetId, Protocol, u16)> = FxHashSet::default();
    for (r, ruleset) in dump.rulesets.iter().enumerate() {
        let ruleset_id = RulesetId(r as u32);
        let tables = dump.node_tables(ruleset_id);
        let Some(nat) = dump.find_table(&tables, "nat") else {
            continue;
        };
        for &t in &ruleset.tables {
            if dump.table(t).name != "filter" {
                continue;
            }
            let Some(chain) = dump.chain_id(t, EXTERNAL_SERVICES) else {
                continue;
            };
            for &rule in &dump.chain(chain).rules {
                // Only the REJECT rules name "has no endpoints"; the others are not typed.
                if !dump.rule_text(rule).contains(SUFFIX) {
                    continue;
                }
                let Ok(body) = rules.body(rule) else {
                    continue;
                };
                // A destination test makes it an externalIP's or a load balancer's rule.
                if body
                    .matches
                    .iter()
                    .any(|m| matches!(m, Match::Destination(_)))
                {
                    continue;
                }
                let Some((protocol, port)) = rule_port(&body) else {
                    continue;
                };
                let Some(comment) = body.comment().and_then(|c| c.strip_suffix(SUFFIX)) else {
                    continue;
                };
                if seen.insert((ruleset_id, protocol, port)) {
                    found.push(NodePortRules {
                        ruleset: ruleset_id,
                        nat,
                        protocol,
                        node_port: port,
                        service: Some(comment.to_string()),
                        rules: vec![rule],
                    });
                }
            }
        }
    }
    found
}

/// The healthCheckNodePorts of the node whose tables are `tables`, by service: kube-proxy
/// opens each with a filter KUBE-NODEPORTS rule commented "NS/NAME:PORT health check node
/// port" (services with externalTrafficPolicy Local).
pub fn health_check_node_ports(
    rules: &RuleReader<'_, '_>,
    tables: &[TableId],
) -> FxHashMap<String, u16> {
    const SUFFIX: &str = " health check node port";
    let dump = rules.dump();
    let mut found = FxHashMap::default();
    let Some(filter) = dump.find_table(tables, "filter") else {
        return found;
    };
    let Some(chain) = dump.chain_id(filter, NODEPORTS) else {
        return found;
    };
    for &rule in &dump.chain(chain).rules {
        let Ok(body) = rules.body(rule) else {
            continue;
        };
        let Some(service) = body.comment().and_then(|c| c.strip_suffix(SUFFIX)) else {
            continue;
        };
        if let Some((_, port)) = rule_port(&body) {
            found.entry(service.to_string()).or_insert(port);
        }
    }
    found
}
