//! Where a client connects, and the kube-proxy rules that name it: a nodePort on this
//! node's addresses, a LoadBalancer IP, an externalIP, a ClusterIP, a health-check nodePort,
//! or an address no rule names. For each, the "entry" rules a report starts from (the
//! KUBE-NODEPORTS rules of a nodePort; the KUBE-SERVICES rules for an address; the filter
//! REJECT/DROP rules of a service without endpoints).

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::kube::chains::{EXTERNAL_SERVICES, PROXY_FIREWALL, SERVICES, ServiceChain};
use crate::kube::nodeports::{NodePortRules, find_node_ports, port_rules, rule_port};
use crate::kube::shape::target_name;
use crate::kube::target::Target;
use crate::model::{Dump, Family, Match, Protocol, RuleBody, RuleId, RulesetId, TableId};
use crate::parse::RuleReader;

/// What kind of address a client connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DestinationKind {
    /// A nodePort on one of this node's addresses.
    NodePort,
    /// A LoadBalancer ingress IP.
    LoadBalancerIp,
    /// An externalIP.
    ExternalIp,
    /// A LoadBalancer IP or an externalIP: the rules do not say which (a service without
    /// endpoints has only a filter REJECT naming the address).
    ExternalAddress,
    /// A ClusterIP.
    ClusterIp,
    /// A healthCheckNodePort: served by kube-proxy itself, not DNATed.
    HealthCheck,
    /// An address and port no kube-proxy rule names.
    Unhandled,
}

impl DestinationKind {
    /// The stable word of the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::NodePort => "node-port",
            DestinationKind::LoadBalancerIp => "load-balancer-ip",
            DestinationKind::ExternalIp => "external-ip",
            DestinationKind::ExternalAddress => "external-address",
            DestinationKind::ClusterIp => "cluster-ip",
            DestinationKind::HealthCheck => "health-check-node-port",
            DestinationKind::Unhandled => "unhandled",
        }
    }

    /// True for the kinds external clients reach (externalTrafficPolicy applies).
    pub fn is_external(self) -> bool {
        matches!(
            self,
            DestinationKind::NodePort
                | DestinationKind::LoadBalancerIp
                | DestinationKind::ExternalIp
                | DestinationKind::ExternalAddress
        )
    }
}

/// One destination: its kind, address (none for a nodePort on any node address), port
/// and protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destination {
    /// What it is.
    pub kind: DestinationKind,
    /// The service address; `None` for a nodePort or health-check port asked by number.
    pub address: Option<IpAddr>,
    /// The port.
    pub port: u16,
    /// The protocol.
    pub protocol: Protocol,
}

/// A destination and the rules that name it, in one ruleset.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The ruleset (IPv4 or IPv6 run).
    pub ruleset: RulesetId,
    /// The nat table.
    pub nat: TableId,
    /// Where clients connect.
    pub destination: Destination,
    /// `namespace/name:port` from the rules' comments, if they carry one.
    pub service: Option<String>,
    /// The rules naming it, in input order.
    pub rules: Vec<RuleId>,
}

impl Entry {
    /// The entry of a nodePort's rules; `address`: the node address asked, if any.
    pub fn from_node_port(found: NodePortRules, address: Option<IpAddr>) -> Self {
        Entry {
            ruleset: found.ruleset,
            nat: found.nat,
            destination: Destination {
                kind: DestinationKind::NodePort,
                address,
                port: found.node_port,
                protocol: found.protocol,
            },
            service: found.service,
            rules: found.rules,
        }
    }
}

/// The entries the target names. A nodePort or service that no rule names gives none; an
/// address always gives at least one (`Unhandled` when no rule names it), unless the dump
/// has no ruleset of its family.
pub fn find_entries(rules: &RuleReader<'_, '_>, target: &Target) -> Vec<Entry> {
    match target {
        Target::NodePort { port, protocol } => {
            let found: Vec<Entry> = find_node_ports(rules, target)
                .into_iter()
                .map(|found| Entry::from_node_port(found, None))
                .collect();
            if !found.is_empty() {
                return found;
            }
            // kube-proxy's health-check port for a Local service is no service nodePort,
            // but it is asked about as one.
            health_check_ports(rules, *port, None)
                .into_iter()
                .filter(|e| protocol.is_none_or(|p| p == e.destination.protocol))
                .collect()
        }
        Target::Address { ip, port, protocol } => find_address(rules, *ip, *port, *protocol),
        Target::Service { .. } => find_service(rules, target),
    }
}

/// A table of one name in each ruleset of `family` (`None`: every family), with its ruleset
/// and the ruleset's nat table.
fn tables_named<'d>(
    dump: &'d Dump<'_>,
    name: &'d str,
    family: Option<Family>,
) -> impl Iterator<Item = (RulesetId, TableId, TableId)> + 'd {
    dump.rulesets
        .iter()
        .enumerate()
        .filter(move |(_, r)| family.is_none_or(|f| r.family == f))
        .filter_map(move |(i, _)| {
            let ruleset = RulesetId(i as u32);
            let tables = dump.node_tables(ruleset);
            let table = if name == "nat" {
                nat_table(dump, &tables)?
            } else {
                dump.find_table(&tables, name)?
            };
            // Filter rules only: the entry names the filter table (see `NodePortRules::nat`).
            let nat = nat_table(dump, &tables).unwrap_or(table);
            Some((ruleset, table, nat))
        })
}

/// A node's nat table, or a fragment's assumed one.
fn nat_table(dump: &Dump<'_>, tables: &[TableId]) -> Option<TableId> {
    dump.find_table(tables, "nat")
}

fn family_of(ip: IpAddr) -> Family {
    match ip {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    }
}

/// The entries for `ip:port`: the service rules naming the address, else a nodePort on a
/// node address, else a health-check port, else an unhandled address.
fn find_address(
    rules: &RuleReader<'_, '_>,
    ip: IpAddr,
    port: u16,
    protocol: Option<Protocol>,
) -> Vec<Entry> {
    let family = family_of(ip);
    let wanted = |r: Protocol| protocol.is_none_or(|p| p == r);
    let mut found = address_rules(rules, ip, port, protocol);
    if found.is_empty() {
        let by_number = Target::NodePort { port, protocol };
        found = find_node_ports(rules, &by_number)
            .into_iter()
            .filter(|n| rules.dump().rulesets[n.ruleset.0 as usize].family == family)
            .map(|n| Entry::from_node_port(n, Some(ip)))
            .collect();
    }
    if found.is_empty() {
        found = health_check_ports(rules, port, Some(family))
            .into_iter()
            .filter(|e| wanted(e.destination.protocol))
            .map(|mut e| {
                e.destination.address = Some(ip);
                e
            })
            .collect();
    }
    if found.is_empty()
        && let Some((ruleset, _, nat)) = tables_named(rules.dump(), "nat", Some(family)).next()
    {
        found.push(Entry {
            ruleset,
            nat,
            destination: Destination {
                kind: DestinationKind::Unhandled,
                address: Some(ip),
                port,
                protocol: protocol.unwrap_or(Protocol::Tcp),
            },
            service: None,
            rules: Vec::new(),
        });
    }
    found
}

/// The nat KUBE-SERVICES rules and filter REJECT/DROP rules that test `-d ip` and
/// `--dport port`, grouped by (ruleset, protocol).
fn address_rules(
    rules: &RuleReader<'_, '_>,
    ip: IpAddr,
    port: u16,
    protocol: Option<Protocol>,
) -> Vec<Entry> {
    let dump = rules.dump();
    let needle = ip.to_string();
    let mut found: Vec<Entry> = Vec::new();
    for (table_name, chain_name) in [
        ("nat", SERVICES),
        ("filter", SERVICES),
        ("filter", EXTERNAL_SERVICES),
        ("filter", PROXY_FIREWALL),
    ] {
        for (ruleset, table, nat) in tables_named(dump, table_name, Some(family_of(ip))) {
            let Some(chain) = dump.chain_id(table, chain_name) else {
                continue;
            };
            for &rule in &dump.chain(chain).rules {
                // Most rules of KUBE-SERVICES name other addresses: a substring test on the
                // text spares typing them (an IPv6 address may be written differently).
                if ip.is_ipv4() && !dump.rule_text(rule).contains(&needle) {
                    continue;
                }
                let Ok(body) = rules.body(rule) else {
                    continue;
                };
                let Some(rule_protocol) = tests_address(&body, ip, port) else {
                    continue;
                };
                if protocol.is_some_and(|p| p != rule_protocol) {
                    continue;
                }
                let (kind, service) = address_kind(&body, table_name, chain_name);
                add_rule(
                    &mut found,
                    ruleset,
                    nat,
                    kind,
                    (ip, port, rule_protocol),
                    service,
                    rule,
                );
            }
        }
    }
    found.sort_by_key(|e| (e.ruleset, e.rules.first().copied()));
    found
}

/// Every LoadBalancer IP and externalIP (and address the rules do not say which of) that the
/// rules of every ruleset name with a port, one entry per (ruleset, address, port,
/// protocol), in rule order: the rows of `ports` besides nodePorts.
pub fn every_external_address(rules: &RuleReader<'_, '_>) -> Vec<Entry> {
    let dump = rules.dump();
    let mut found: Vec<Entry> = Vec::new();
    let mut index: FxHashMap<(RulesetId, IpAddr, u16, Protocol), usize> = FxHashMap::default();
    for (table_name, chain_name) in [
        ("nat", SERVICES),
        ("filter", SERVICES),
        ("filter", EXTERNAL_SERVICES),
        ("filter", PROXY_FIREWALL),
    ] {
        for (ruleset, table, nat) in tables_named(dump, table_name, None) {
            let Some(chain) = dump.chain_id(table, chain_name) else {
                continue;
            };
            for &rule in &dump.chain(chain).rules {
                let Ok(body) = rules.body(rule) else {
                    continue;
                };
                let (Some(ip), Some((protocol, port))) =
                    (destination_address(&body), rule_port(&body))
                else {
                    continue;
                };
                let (kind, service) = address_kind(&body, table_name, chain_name);
                let key = (ruleset, ip, port, protocol);
                match index.get(&key) {
                    Some(&at) => found[at].take_rule(kind, service, rule),
                    None => {
                        index.insert(key, found.len());
                        let at = (ip, port, protocol);
                        found.push(Entry::of_address(ruleset, nat, kind, at, service, rule));
                    }
                }
            }
        }
    }
    found.retain(|e| {
        e.destination.kind.is_external() && e.destination.kind != DestinationKind::NodePort
    });
    found.sort_by_key(|e| (e.ruleset, e.rules.first().copied()));
    found
}

/// The protocol of a rule that tests destination `ip` (exactly) and `--dport port`.
fn tests_address(body: &RuleBody<'_>, ip: IpAddr, port: u16) -> Option<Protocol> {
    let exact = body.matches.iter().any(|m| {
        matches!(m, Match::Destination(d) if !d.negated
            && d.value.net().is_some_and(|n| n.addr() == ip && n.prefix_len() == n.max_prefix_len()))
    });
    let (protocol, rule_port) = rule_port(body)?;
    (exact && rule_port == port).then_some(protocol)
}

/// What kind of address a rule names, and its service, from its comment (kube-proxy
/// writes `ns/svc:port cluster IP`, `… loadbalancer IP`, `… external IP`, `… has no
/// endpoints`, `… traffic not accepted by KUBE-FW-…`), else from the chain it jumps to.
fn address_kind(
    body: &RuleBody<'_>,
    table: &str,
    chain: &str,
) -> (DestinationKind, Option<String>) {
    let comment = body.comment().unwrap_or("");
    for (suffix, kind) in [
        (" cluster IP", DestinationKind::ClusterIp),
        (" loadbalancer IP", DestinationKind::LoadBalancerIp),
        (" external IP", DestinationKind::ExternalIp),
    ] {
        if let Some(service) = comment.strip_suffix(suffix) {
            return (kind, Some(service.to_string()));
        }
    }
    if let Some((service, _)) = comment.split_once(" traffic not accepted by ") {
        return (DestinationKind::LoadBalancerIp, Some(service.to_string()));
    }
    let service = [" has no endpoints", " has no local endpoints"]
        .iter()
        .find_map(|s| comment.strip_suffix(s))
        .map(str::to_string);
    let kind = match (table, chain, target_name(body)) {
        ("filter", SERVICES, _) => DestinationKind::ClusterIp,
        (_, _, Some(t)) if ServiceChain::Cluster.is(t) || ServiceChain::Local.is(t) => {
            DestinationKind::ClusterIp
        }
        (_, _, Some(t)) if ServiceChain::Firewall.is(t) => DestinationKind::LoadBalancerIp,
        _ => DestinationKind::ExternalAddress,
    };
    (kind, service)
}

/// Adds `rule` to the entry for its (ruleset, kind, protocol), or starts one.
fn add_rule(
    found: &mut Vec<Entry>,
    ruleset: RulesetId,
    nat: TableId,
    kind: DestinationKind,
    (ip, port, protocol): (IpAddr, u16, Protocol),
    service: Option<String>,
    rule: RuleId,
) {
    let same = |e: &&mut Entry| {
        e.ruleset == ruleset
            && e.destination.protocol == protocol
            && e.destination.address == Some(ip)
            && e.destination.port == port
    };
    match found.iter_mut().find(same) {
        Some(entry) => entry.take_rule(kind, service, rule),
        None => found.push(Entry::of_address(
            ruleset,
            nat,
            kind,
            (ip, port, protocol),
            service,
            rule,
        )),
    }
}

impl Entry {
    /// The entry of an address named first by `rule`.
    fn of_address(
        ruleset: RulesetId,
        nat: TableId,
        kind: DestinationKind,
        (ip, port, protocol): (IpAddr, u16, Protocol),
        service: Option<String>,
        rule: RuleId,
    ) -> Entry {
        Entry {
            ruleset,
            nat,
            destination: Destination {
                kind,
                address: Some(ip),
                port,
                protocol,
            },
            service,
            rules: vec![rule],
        }
    }

    /// Adds another rule naming the entry's address.
    fn take_rule(&mut self, kind: DestinationKind, service: Option<String>, rule: RuleId) {
        self.rules.push(rule);
        // A nat rule says more than a filter rule about what the address is.
        if self.destination.kind == DestinationKind::ExternalAddress {
            self.destination.kind = kind;
        }
        if self.service.is_none() {
            self.service = service;
        }
    }
}

/// The filter KUBE-NODEPORTS health-check ACCEPT rules for `port`.
fn health_check_ports(rules: &RuleReader<'_, '_>, port: u16, family: Option<Family>) -> Vec<Entry> {
    let dump = rules.dump();
    let mut found: Vec<Entry> = Vec::new();
    for (ruleset, table, nat) in tables_named(dump, "filter", family) {
        for (rule, body, protocol, rule_port) in port_rules(rules, table) {
            let Some(service) = body
                .comment()
                .and_then(|c| c.strip_suffix(" health check node port"))
            else {
                continue;
            };
            if rule_port != port {
                continue;
            }
            found.push(Entry {
                ruleset,
                nat,
                destination: Destination {
                    kind: DestinationKind::HealthCheck,
                    address: None,
                    port,
                    protocol,
                },
                service: Some(service.to_string()),
                rules: vec![rule],
            });
        }
    }
    found
}

/// Every destination of a named service: its nodePorts and every address its rules name.
/// A numeric port (`ns/svc:80`) is the service port whose rules test that `--dport`, or a
/// port named so.
fn find_service(rules: &RuleReader<'_, '_>, target: &Target) -> Vec<Entry> {
    let Target::Service {
        namespace,
        name,
        port,
    } = target
    else {
        return Vec::new();
    };
    let wanted = format!("{namespace}/{name}");
    let addresses = service_address_rules(rules, &wanted);
    let numbered = port.as_deref().and_then(|p| p.parse::<u16>().ok());
    // The port's name, for a number that names no port but is a service port.
    let by_number = numbered.and_then(|number| {
        addresses
            .iter()
            .find(|a| a.port == number && a.port_name != port.as_deref().unwrap_or(""))
            .map(|a| a.port_name.clone())
    });
    let port_name = by_number.or_else(|| port.clone());
    let named = Target::Service {
        namespace: namespace.clone(),
        name: name.clone(),
        port: port_name.clone(),
    };
    let mut entries: Vec<Entry> = find_node_ports(rules, &named)
        .into_iter()
        .map(|found| Entry::from_node_port(found, None))
        .collect();
    for a in addresses {
        if port_name.as_ref().is_some_and(|p| *p != a.port_name) {
            continue;
        }
        let at = (a.address, a.port, a.protocol);
        add_rule(
            &mut entries,
            a.ruleset,
            a.nat,
            a.kind,
            at,
            Some(a.service),
            a.rule,
        );
    }
    entries
}

/// One rule naming an address of a service.
struct AddressRule {
    ruleset: RulesetId,
    nat: TableId,
    kind: DestinationKind,
    service: String,
    port_name: String,
    address: IpAddr,
    port: u16,
    protocol: Protocol,
    rule: RuleId,
}

/// The rules naming an address of the service `namespace/name`, in every ruleset.
fn service_address_rules(rules: &RuleReader<'_, '_>, wanted: &str) -> Vec<AddressRule> {
    let dump = rules.dump();
    let mut out = Vec::new();
    for (table_name, chain_name) in [
        ("nat", SERVICES),
        ("filter", SERVICES),
        ("filter", EXTERNAL_SERVICES),
    ] {
        for (ruleset, table, nat) in tables_named(dump, table_name, None) {
            let Some(chain) = dump.chain_id(table, chain_name) else {
                continue;
            };
            for &rule in &dump.chain(chain).rules {
                if !dump.rule_text(rule).contains(wanted) {
                    continue;
                }
                let Ok(body) = rules.body(rule) else {
                    continue;
                };
                let (kind, Some(service)) = address_kind(&body, table_name, chain_name) else {
                    continue;
                };
                let (svc, port_name) = service.split_once(':').unwrap_or((&service, ""));
                if svc != wanted {
                    continue;
                }
                let (Some(address), Some((protocol, port))) =
                    (destination_address(&body), rule_port(&body))
                else {
                    continue;
                };
                out.push(AddressRule {
                    ruleset,
                    nat,
                    kind,
                    port_name: port_name.to_string(),
                    service: service.clone(),
                    address,
                    port,
                    protocol,
                    rule,
                });
            }
        }
    }
    out
}

/// The exact destination address a rule tests (`-d IP/32`).
fn destination_address(body: &RuleBody<'_>) -> Option<IpAddr> {
    body.matches.iter().find_map(|m| match m {
        Match::Destination(d) if !d.negated => d
            .value
            .net()
            .filter(|n| n.prefix_len() == n.max_prefix_len())
            .map(|n| n.addr()),
        _ => None,
    })
}
