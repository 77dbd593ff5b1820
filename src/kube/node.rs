//! This node as `explain` sees it: its address (given, read from kube-proxy's
//! `--nodeport-addresses` rules, or a stand-in), which addresses are local, and the
//! KUBE-SERVICES rules that lead to KUBE-NODEPORTS.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::kube::chains::{NODEPORTS, SERVICES};
use crate::kube::classes::{Tested, node_candidates, pick_outside};
use crate::kube::destination::{DestinationKind, Entry};
use crate::kube::explanation::RuleRef;
use crate::kube::findings::PortAssumption;
use crate::kube::verdict::rule_ref;
use crate::model::{Family, Match, TableId};
use crate::netfilter::Host;
use crate::parse::RuleReader;

/// This node: its address, which addresses are local, and whether the address is a
/// stand-in.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) address: IpAddr,
    pub(crate) host: Host,
    pub(crate) symbolic: bool,
}

/// The KUBE-SERVICES rules that jump to KUBE-NODEPORTS (the "nodeports" tail rule).
#[derive(Debug, Default)]
pub(crate) struct NodePortTail {
    /// The rules, in chain order.
    pub(crate) rules: Vec<RuleRef>,
    /// Their `-d ADDR` addresses (single addresses only), in order.
    pub(crate) addresses: Vec<IpAddr>,
    /// True if there is at least one such rule and every one of them tests `-d ADDR`
    /// (kube-proxy's `--nodeport-addresses`), i.e. no `addrtype LOCAL` catch-all.
    pub(crate) only_listed: bool,
}

/// This node for `entry`. For a nodePort: the address asked (`IP:PORT`), else the first
/// `--node-ip`, else the one `--nodeport-addresses` rules name (a made-up address would
/// never reach KUBE-NODEPORTS there), else a stand-in outside every prefix the rules
/// test; for a service address, the first `--node-ip` or a stand-in. Says which in
/// `assumptions`.
pub(crate) fn this_node(
    entry: &Entry,
    node_ips: &[IpAddr],
    tail: &NodePortTail,
    prefixes: &[Tested],
    family: Family,
    assumptions: &mut Vec<PortAssumption>,
) -> Node {
    let destination = entry.destination;
    if destination.kind == DestinationKind::NodePort
        && let Some(address) = destination.address
    {
        let mut local = node_ips.to_vec();
        if !local.contains(&address) {
            if !address.is_loopback() {
                assumptions.push(PortAssumption::NodeAddressAssumed { address });
            }
            local.push(address);
        }
        let address = node_ips.first().copied().unwrap_or(address);
        return given(address, local);
    }
    if let Some(&address) = node_ips.first() {
        return given(address, node_ips.to_vec());
    }
    let listed: Vec<IpAddr> = if tail.only_listed {
        tail.addresses
            .iter()
            .copied()
            .filter(|a| !a.is_loopback())
            .collect()
    } else {
        Vec::new()
    };
    if let Some(&address) = listed.first() {
        assumptions.push(PortAssumption::NodeAddressFromDump {
            listed: listed.clone(),
            lines: tail.rules.iter().map(|r| r.line).collect(),
            node: address,
        });
        return given(address, listed);
    }
    let address = pick_outside(&node_candidates(family), prefixes, &[]).unwrap_or(match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xfffe, 0, 0, 0, 0, 1)),
    });
    assumptions.push(PortAssumption::SymbolicNodeAddress { node: address });
    Node {
        address,
        host: Host {
            local_addresses: vec![address],
        },
        symbolic: true,
    }
}

fn given(address: IpAddr, local_addresses: Vec<IpAddr>) -> Node {
    Node {
        address,
        host: Host { local_addresses },
        symbolic: false,
    }
}

/// The KUBE-SERVICES rules that lead to KUBE-NODEPORTS.
pub(crate) fn node_port_tail(rules: &RuleReader<'_, '_>, nat: TableId) -> NodePortTail {
    let dump = rules.dump();
    let mut tail = NodePortTail::default();
    let Some(services) = dump.chain_id(nat, SERVICES) else {
        return tail;
    };
    let mut all_listed = true;
    for &rule in &dump.chain(services).rules {
        // Typed only if it jumps to KUBE-NODEPORTS: the chain has a rule per service.
        if rules.jump_target_name(rule).map(|(name, _)| name) != Some(NODEPORTS) {
            continue;
        }
        let Ok(body) = rules.body(rule) else {
            continue;
        };
        tail.rules.push(rule_ref(rules, rule));
        let address = body.matches.iter().find_map(|m| match m {
            Match::Destination(d) if !d.negated => d
                .value
                .net()
                .filter(|n| n.prefix_len() == n.max_prefix_len())
                .map(|n| n.addr()),
            _ => None,
        });
        match address {
            Some(a) => tail.addresses.push(a),
            None => all_listed = false,
        }
    }
    tail.only_listed = all_listed && !tail.rules.is_empty();
    tail
}
