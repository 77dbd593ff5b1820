//! For a target `explain` finds no rules for, in a dump from a proxy mode it cannot
//! analyse: the mode, what shows it, and the mode's own rules (or nftables map elements)
//! that name the target, each with what it does there.

use std::net::IpAddr;

use crate::kube::destination::DestinationKind;
use crate::kube::explanation::PortExplanation;
use crate::kube::mode::{
    IPVS_NODE_PORT, ProxyMode, ProxyModes, RulesetMode, Seen, Sighting, USERSPACE_NODE_PORT_CHAINS,
    USERSPACE_PORTAL_CHAINS, nft_kube_proxy_table, nft_table_name, rule_sighting,
};
use crate::kube::nodeports::rule_port;
use crate::kube::target::Target;
use crate::model::{Address, Backend, Dump, Family, Match, Protocol, RuleId, RulesetId};
use crate::parse::RuleReader;

/// What `explain` answers instead of "not found" when the dump is from a mode it cannot
/// analyse.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsupportedMode {
    /// The mode.
    pub mode: ProxyMode,
    /// The family of its rules.
    pub family: Family,
    /// What shows the mode.
    pub evidence: Vec<Sighting>,
    /// The mode's rules (or nftables map elements) naming the target, in input order.
    pub target_rules: Vec<ModeRule>,
    /// The protocol asked (TCP when the question does not say).
    pub protocol: Protocol,
    /// This node's address of that family, when `--node-ip` gives one.
    pub node_ip: Option<IpAddr>,
    /// The dump warns that iptables-legacy tables exist and does not show them:
    /// kube-proxy's rules may be there.
    pub legacy_tables_present: bool,
}

/// A rule of an unanalysed mode that names the target, and what it does there.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeRule {
    /// What the rule does.
    pub role: ModeRuleRole,
    /// Where it is.
    pub sighting: Sighting,
}

/// What a rule of an unanalysed mode does with the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeRuleRole {
    /// IPVS: nat KUBE-NODE-PORT's RETURN for ports in the `KUBE-NODE-PORT-LOCAL-…` set
    /// (externalTrafficPolicy: Local): not marked, so not masqueraded.
    IpvsLocalReturn,
    /// IPVS: nat KUBE-NODE-PORT's KUBE-MARK-MASQ for ports in the `KUBE-NODE-PORT-…` set.
    IpvsMark,
    /// userspace: a REDIRECT or DNAT sending the target to kube-proxy's own port.
    UserspaceProxy,
    /// nftables: the `service-nodeports` or `service-ips` element dispatching the target,
    /// and the chain it goes to.
    NftDispatch {
        /// The chain the element jumps or goes to.
        chain: Option<String>,
    },
    /// nftables: the `no-endpoint-nodeports` or `no-endpoint-services` element dropping or
    /// rejecting the target.
    NftNoEndpoints,
}

impl ModeRuleRole {
    /// The stable code the JSON report carries.
    pub fn code(&self) -> &'static str {
        match self {
            ModeRuleRole::IpvsLocalReturn => "ipvs-local-return",
            ModeRuleRole::IpvsMark => "ipvs-mark",
            ModeRuleRole::UserspaceProxy => "userspace-proxy",
            ModeRuleRole::NftDispatch { .. } => "nft-dispatch",
            ModeRuleRole::NftNoEndpoints => "nft-no-endpoints",
        }
    }
}

/// IPVS mode's nodePort sets for a protocol: (externalTrafficPolicy Local, all nodePorts).
pub fn ipvs_node_port_sets(protocol: Protocol) -> (&'static str, &'static str) {
    match protocol {
        Protocol::Udp => ("KUBE-NODE-PORT-LOCAL-UDP", "KUBE-NODE-PORT-UDP"),
        Protocol::Sctp => ("KUBE-NODE-PORT-LOCAL-SCTP-HASH", "KUBE-NODE-PORT-SCTP-HASH"),
        _ => ("KUBE-NODE-PORT-LOCAL-TCP", "KUBE-NODE-PORT-TCP"),
    }
}

/// True when `explain` found nothing the rules answer for the target: no destination, or
/// only an address and port no rule names.
pub fn nothing_answered(ports: &[PortExplanation]) -> bool {
    ports
        .iter()
        .all(|p| p.destination.kind == DestinationKind::Unhandled)
}

/// For a target `explain` found no rules for: what to say instead of "not found" when the
/// input's mode is one `explain` cannot analyse (`None` for iptables mode and for rules
/// of no known mode).
pub fn unsupported(
    rules: &RuleReader<'_, '_>,
    modes: &ProxyModes,
    target: &Target,
    node_ips: &[IpAddr],
) -> Option<UnsupportedMode> {
    let deciding = modes.deciding()?;
    if deciding.mode.is_explained() {
        return None;
    }
    let protocol = match target {
        Target::NodePort { protocol, .. } | Target::Address { protocol, .. } => *protocol,
        Target::Service { .. } => None,
    }
    .unwrap_or(Protocol::Tcp);
    let target_rules = match (deciding.mode, deciding.ruleset) {
        (ProxyMode::Ipvs, Some(ruleset)) if matches!(target, Target::NodePort { .. }) => {
            ipvs_rules(rules, ruleset, protocol)
        }
        (ProxyMode::Userspace, Some(ruleset)) => userspace_rules(rules, ruleset, target),
        (ProxyMode::Nftables, _) => nft_elements(rules.dump().text, deciding.family, target),
        _ => Vec::new(),
    };
    Some(unsupported_mode(
        rules,
        deciding,
        target_rules,
        protocol,
        node_ips,
    ))
}

/// For a command about no one target (`ports`, `diff` without targets, `trace`): the
/// input's mode when it is one `explain` cannot analyse (`None` for iptables mode and for
/// rules of no known mode), with the mode's nodePort rules (IPVS: KUBE-NODE-PORT's rules
/// for TCP nodePorts; userspace: every rule of its nodePort chains). The caller decides
/// when to ask: `ports` and `diff` when an input gave no nodePort, `trace` always.
pub fn unanalysed(rules: &RuleReader<'_, '_>, node_ips: &[IpAddr]) -> Option<UnsupportedMode> {
    let modes = super::detect(rules);
    let deciding = modes.deciding()?;
    if deciding.mode.is_explained() {
        return None;
    }
    let protocol = Protocol::Tcp;
    let target_rules = match (deciding.mode, deciding.ruleset) {
        (ProxyMode::Ipvs, Some(ruleset)) => ipvs_rules(rules, ruleset, protocol),
        (ProxyMode::Userspace, Some(ruleset)) => {
            let dump = rules.dump();
            let mut found: Vec<ModeRule> = USERSPACE_NODE_PORT_CHAINS
                .iter()
                .flat_map(|name| chain_rules(rules, ruleset, name).iter().copied())
                .map(|rule| ModeRule {
                    role: ModeRuleRole::UserspaceProxy,
                    sighting: rule_sighting(dump, rule),
                })
                .collect();
            found.sort_by_key(|r| r.sighting.line);
            found
        }
        _ => Vec::new(),
    };
    Some(unsupported_mode(
        rules,
        deciding,
        target_rules,
        protocol,
        node_ips,
    ))
}

/// The answer for the deciding ruleset's mode, with the rules found for the question.
fn unsupported_mode(
    rules: &RuleReader<'_, '_>,
    deciding: &RulesetMode,
    target_rules: Vec<ModeRule>,
    protocol: Protocol,
    node_ips: &[IpAddr],
) -> UnsupportedMode {
    let node_ip = node_ips
        .iter()
        .copied()
        .find(|ip| ip.is_ipv4() == (deciding.family == Family::Ipv4));
    UnsupportedMode {
        mode: deciding.mode,
        family: deciding.family,
        evidence: deciding.evidence.clone(),
        target_rules,
        protocol,
        node_ip,
        legacy_tables_present: legacy_tables_not_shown(rules.dump()),
    }
}

/// True when iptables-nft warns that legacy tables exist and the input has no
/// iptables-legacy-save output beside it.
fn legacy_tables_not_shown(dump: &Dump<'_>) -> bool {
    let warned = dump
        .rulesets
        .iter()
        .any(|r| r.legacy_tables_warning.is_some());
    let shown = dump.rulesets.iter().any(|r| {
        r.generator
            .is_some_and(|g| g.backend == Some(Backend::Legacy) || g.program.contains("legacy"))
    });
    warned && !shown
}

/// The rules of chain `name` in the ruleset's node tables (nat first).
fn chain_rules<'r>(rules: &'r RuleReader<'_, '_>, ruleset: RulesetId, name: &str) -> &'r [RuleId] {
    let dump = rules.dump();
    let tables = dump.node_tables(ruleset);
    let seen = Seen {
        rules,
        tables: &tables,
    };
    match seen.chain(name) {
        Some(chain) => &dump.chain(chain).rules,
        None => &[],
    }
}

/// IPVS: nat KUBE-NODE-PORT's rules for the nodePort's protocol (which nodePorts they
/// cover is in the ipsets they match).
fn ipvs_rules(rules: &RuleReader<'_, '_>, ruleset: RulesetId, protocol: Protocol) -> Vec<ModeRule> {
    let dump = rules.dump();
    let (local, all) = ipvs_node_port_sets(protocol);
    chain_rules(rules, ruleset, IPVS_NODE_PORT)
        .iter()
        .filter_map(|&rule| {
            let text = dump.rule_text(rule);
            let role = match match_set(text)? {
                set if set == local => ModeRuleRole::IpvsLocalReturn,
                set if set == all => ModeRuleRole::IpvsMark,
                _ => return None,
            };
            Some(ModeRule {
                role,
                sighting: rule_sighting(dump, rule),
            })
        })
        .collect()
}

/// The set a rule's `-m set --match-set NAME` matches.
fn match_set(text: &str) -> Option<&str> {
    let mut words = text.split_ascii_whitespace();
    words.find(|w| *w == "--match-set")?;
    words.next()
}

/// userspace: the REDIRECT/DNAT rules sending the target to kube-proxy's own port.
fn userspace_rules(
    rules: &RuleReader<'_, '_>,
    ruleset: RulesetId,
    target: &Target,
) -> Vec<ModeRule> {
    let dump = rules.dump();
    let chains: Vec<&str> = match target {
        Target::NodePort { .. } => USERSPACE_NODE_PORT_CHAINS.to_vec(),
        Target::Address { .. } => USERSPACE_PORTAL_CHAINS.to_vec(),
        Target::Service { .. } => [USERSPACE_NODE_PORT_CHAINS, USERSPACE_PORTAL_CHAINS].concat(),
    };
    let mut found: Vec<ModeRule> = chains
        .into_iter()
        .flat_map(|name| chain_rules(rules, ruleset, name).iter().copied())
        .filter(|&rule| names_target(rules, rule, target))
        .map(|rule| ModeRule {
            role: ModeRuleRole::UserspaceProxy,
            sighting: rule_sighting(dump, rule),
        })
        .collect();
    found.sort_by_key(|r| r.sighting.line);
    found
}

/// True if a userspace-mode rule is about the target: its port (and address), or, for a
/// service, its comment (`ns/name:port`).
fn names_target(rules: &RuleReader<'_, '_>, rule: RuleId, target: &Target) -> bool {
    let Ok(body) = rules.body(rule) else {
        return false;
    };
    let port_matches = |port: u16, protocol: Option<Protocol>| {
        rule_port(&body).is_some_and(|(p, n)| n == port && protocol.is_none_or(|w| w == p))
    };
    match target {
        Target::NodePort { port, protocol } => port_matches(*port, *protocol),
        Target::Address { ip, port, protocol } => {
            port_matches(*port, *protocol)
                && body.matches.iter().any(|m| match m {
                    Match::Destination(d) if !d.negated => {
                        matches!(d.value, Address::Net(net) if net.addr() == *ip)
                    }
                    _ => false,
                })
        }
        Target::Service {
            namespace,
            name,
            port,
        } => body.comment().is_some_and(|comment| {
            let (service, service_port) = comment.split_once(':').unwrap_or((comment, ""));
            service == format!("{namespace}/{name}")
                && port.as_ref().is_none_or(|p| p == service_port)
        }),
    }
}

/// nftables text: the elements of kube-proxy's maps that name the target (a nodePort in
/// `service-nodeports` / `no-endpoint-nodeports`, an address in `service-ips` /
/// `no-endpoint-services`), inside kube-proxy's table of the family.
fn nft_elements(text: &str, family: Family, target: &Target) -> Vec<ModeRule> {
    let key = match target {
        Target::NodePort { port, protocol } => {
            format!("{} . {port} ", protocol.unwrap_or(Protocol::Tcp))
        }
        Target::Address { ip, port, protocol } => {
            format!("{ip} . {} . {port} ", protocol.unwrap_or(Protocol::Tcp))
        }
        Target::Service { .. } => return Vec::new(),
    };
    let mut found = Vec::new();
    let mut in_table = false;
    // The block open inside the table: `Some(Some(map))` for a map, `Some(None)` for a
    // set or chain.
    let mut block: Option<Option<&str>> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(f) = nft_kube_proxy_table(line) {
            in_table = f == family;
            block = None;
        } else if trimmed == "}" {
            // Closes the open block, or the table.
            in_table &= block.take().is_some();
        } else if trimmed.ends_with('{') && block.is_none() {
            let mut words = trimmed.split_ascii_whitespace();
            let kind = words.next();
            block = Some(words.next().filter(|_| kind == Some("map")));
        } else if let (true, Some(Some(map))) = (in_table, block) {
            found.extend(
                nft_line_elements(trimmed)
                    .filter(|element| format!("{element} ").starts_with(&key))
                    .filter_map(|element| {
                        Some(ModeRule {
                            role: nft_role(map, element)?,
                            sighting: Sighting {
                                line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                                table: nft_table_name(family).to_string(),
                                chain: Some(format!("map {map}")),
                                text: Some(element.to_string()),
                            },
                        })
                    }),
            );
        }
    }
    found
}

/// The map elements on one line of an nftables map (`elements = { a : b,`, `c : d }`).
fn nft_line_elements(line: &str) -> impl Iterator<Item = &str> {
    let body = line
        .strip_prefix("elements = {")
        .unwrap_or(line)
        .trim_end_matches('}');
    body.split(',').map(str::trim).filter(|e| !e.is_empty())
}

/// What an element of kube-proxy's map `map` does.
fn nft_role(map: &str, element: &str) -> Option<ModeRuleRole> {
    match map {
        "service-nodeports" | "service-ips" => {
            let verdict = element.rsplit_once(" : ").map_or("", |(_, v)| v);
            let chain = verdict
                .strip_prefix("goto ")
                .or_else(|| verdict.strip_prefix("jump "))
                .map(|c| c.trim().to_string());
            Some(ModeRuleRole::NftDispatch { chain })
        }
        "no-endpoint-nodeports" | "no-endpoint-services" => Some(ModeRuleRole::NftNoEndpoints),
        _ => None,
    }
}
