//! `explain`: for each nodePort matching the question, the service's shape, this node's
//! address, the source classes, and one walk per class through the netfilter core, each
//! branch turned into a verdict.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::kube::chains::{self, NODEPORTS, SERVICES};
use crate::kube::classes::{
    self, Class, ClassInputs, Tested, given_class, loopback, node_candidates, pick_outside,
};
use crate::kube::explanation::{
    ClassExplanation, ClassKind, Explanation, PortExplanation, RuleRef,
};
use crate::kube::findings::{PortAssumption, PortNote};
use crate::kube::nodeports::{
    NEAREST_NODE_PORTS, NodePortRules, find_node_ports, nearest_node_ports,
};
use crate::kube::shape::{ServiceShape, service_shape};
use crate::kube::target::Target;
use crate::kube::verdict::{VerdictContext, merge_branches, mixed_outcomes, overall, rule_ref};
use crate::model::{ChainId, Family, Match, TableId};
use crate::netfilter::{self, Context, Hook, Host, Origin, Packet, Pipeline, RuleMemo, Stage};
use crate::parse::RuleReader;

/// What `explain` was asked.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainOptions {
    /// The nodePort or service.
    pub target: Target,
    /// Only this source (otherwise every source class).
    pub src: Option<IpAddr>,
    /// The destination (otherwise this node's address).
    pub dst: Option<IpAddr>,
    /// This node's addresses (otherwise a symbolic node address).
    pub node_ips: Vec<IpAddr>,
    /// Most distinct paths followed per source class (`--max-paths`; default
    /// [`netfilter::MAX_PATHS`]): past it the class is undetermined, saying which rules fork.
    pub max_paths: usize,
}

/// Explains every nodePort matching the options.
pub fn explain(rules: &RuleReader<'_, '_>, options: &ExplainOptions) -> Explanation {
    let ports: Vec<PortExplanation> = find_node_ports(rules, &options.target)
        .iter()
        .map(|p| explain_port(rules, p, options))
        .collect();
    let (available, available_total) = if ports.is_empty() {
        nearest_node_ports(rules, &options.target, NEAREST_NODE_PORTS)
    } else {
        (Vec::new(), 0)
    };
    Explanation {
        target: options.target.clone(),
        ports,
        available,
        available_total,
    }
}

/// This node as the walk sees it: its address, which addresses are local, and whether the
/// address is the user's, read from the dump, or a stand-in.
struct Node {
    address: IpAddr,
    host: Host,
    symbolic: bool,
}

fn explain_port(
    rules: &RuleReader<'_, '_>,
    port: &NodePortRules,
    options: &ExplainOptions,
) -> PortExplanation {
    let dump = rules.dump();
    let nat = port.nat;
    let family = dump
        .rulesets
        .get(port.ruleset.0 as usize)
        .map(|r| r.family)
        .unwrap_or_default();
    let shape = service_shape(rules, port);
    let tables = dump.node_tables(port.ruleset);
    let missing_tables: Vec<&'static str> = ["nat", "filter"]
        .into_iter()
        .filter(|name| {
            dump.find_table(&tables, name)
                .is_none_or(|t| dump.table(t).line.is_none())
        })
        .collect();
    let mut assumptions = Vec::new();
    let mut pipeline = Pipeline::from_iptables(dump, &tables);
    let prefixes = classes::tested_prefixes(rules, port, &pipeline);
    if let Some(entry) = nat_entry(rules, nat) {
        assumptions.push(PortAssumption::NatEntry {
            chain: dump.chain(entry).name.to_string(),
        });
        enter_nat_at(&mut pipeline, nat, entry);
    }
    let partial = !shape.missing_chains.is_empty() || !missing_tables.is_empty();
    let tail = node_port_tail(rules, nat);
    let node = this_node(options, &tail, &prefixes, family, &mut assumptions);
    let notes = port_notes(rules, port, &shape);
    let assumed_chains = chains::assumed_mark_chains(dump, nat);
    let ctx = Context {
        rules: *rules,
        pipeline: &pipeline,
        host: &node.host,
        assumed_chains: &assumed_chains,
        max_paths: options.max_paths,
    };
    let verdicts = VerdictContext {
        rules: *rules,
        masquerade_mark: chains::masquerade_mark(rules, nat),
        has_postrouting: chains::present(dump, nat, "POSTROUTING"),
        partial,
        shape: &shape,
        tail: &tail.rules,
    };
    let classes = classes_for(options, &shape, &prefixes, &node, family);
    // One memo for every class: each class walks the same rules.
    let memo = RuleMemo::default();
    let conflict = notes.iter().find_map(|n| match n {
        PortNote::ConflictingRules { services, .. } => Some(services.as_slice()),
        _ => None,
    });
    let classes = classes
        .into_iter()
        .map(|class| {
            let walk = Walk {
                ctx: &ctx,
                memo: &memo,
                verdicts: &verdicts,
                port,
                family,
                node: &node,
                conflict,
            };
            walk.explain_class(class, options)
        })
        .collect();
    PortExplanation {
        service: port.service.clone(),
        protocol: port.protocol,
        node_port: port.node_port,
        family,
        node_port_rules: port.rules.iter().map(|&r| rule_ref(rules, r)).collect(),
        partial,
        missing_tables,
        assumptions,
        notes,
        classes,
        shape,
    }
}

/// This node's address: the first `--node-ip`, else the one `--nodeport-addresses` rules
/// name (a made-up address would never reach KUBE-NODEPORTS there), else a stand-in
/// outside every prefix the rules test. Says which in `assumptions`.
fn this_node(
    options: &ExplainOptions,
    tail: &NodePortTail,
    prefixes: &[Tested],
    family: Family,
    assumptions: &mut Vec<PortAssumption>,
) -> Node {
    let listed: Vec<IpAddr> = if tail.only_listed {
        tail.addresses
            .iter()
            .copied()
            .filter(|a| !a.is_loopback())
            .collect()
    } else {
        Vec::new()
    };
    if let Some(&address) = options.node_ips.first() {
        return Node {
            address,
            host: Host {
                local_addresses: options.node_ips.clone(),
            },
            symbolic: false,
        };
    }
    if let Some(&address) = listed.first() {
        assumptions.push(PortAssumption::NodeAddressFromDump {
            listed: listed.clone(),
            lines: tail.rules.iter().map(|r| r.line).collect(),
            node: address,
        });
        return Node {
            address,
            host: Host {
                local_addresses: listed,
            },
            symbolic: false,
        };
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

/// The classes to explain: the one `--src` names, or every class.
fn classes_for(
    options: &ExplainOptions,
    shape: &ServiceShape,
    prefixes: &[Tested],
    node: &Node,
    family: Family,
) -> Vec<Class> {
    if let Some(src) = options.src {
        return vec![given_class(src, prefixes)];
    }
    let endpoint_ips: BTreeSet<IpAddr> = shape
        .endpoints
        .iter()
        .filter_map(|e| e.address.and_then(|a| a.first))
        .collect();
    classes::source_classes(&ClassInputs {
        prefixes,
        endpoint_ips: &endpoint_ips,
        node_ips: &options.node_ips,
        node_address: node.address,
        family,
    })
}

/// What every class of one nodePort is walked with.
struct Walk<'w, 'c, 'p, 'a> {
    ctx: &'w Context<'c, 'a>,
    memo: &'w RuleMemo,
    verdicts: &'w VerdictContext<'w, 'p, 'a>,
    port: &'w NodePortRules,
    family: Family,
    node: &'w Node,
    conflict: Option<&'w [(String, Vec<u32>)]>,
}

impl Walk<'_, '_, '_, '_> {
    fn explain_class(&self, class: Class, options: &ExplainOptions) -> ClassExplanation {
        let loopback_destination = match class.kind {
            ClassKind::Loopback => options.dst.is_none() || options.src.is_none(),
            _ => options.src.is_some_and(|s| s.is_loopback()) && options.dst.is_none(),
        };
        let (destination, destination_symbolic) = if loopback_destination {
            (loopback(self.family), false)
        } else {
            (
                options.dst.unwrap_or(self.node.address),
                options.dst.is_none() && self.node.symbolic,
            )
        };
        let origin = if self.node.host.is_local(class.source) {
            Origin::Local
        } else {
            Origin::Remote
        };
        let packet = Packet {
            src: class.source,
            dst: destination,
            protocol: self.port.protocol,
            sport: 40000,
            dport: self.port.node_port,
            origin,
            in_interface: None,
            out_interface: None,
        };
        let branches = netfilter::evaluate_with(self.ctx, self.memo, packet);
        let explained = merge_branches(
            branches
                .iter()
                .map(|b| self.verdicts.explain_branch(b))
                .collect(),
        );
        let verdict = overall(&explained);
        let mixed = mixed_outcomes(&explained, verdict);
        let taken_by_other = self.conflict.and_then(|services| {
            let first = &services.first()?.1;
            explained.iter().flat_map(|b| &b.decisive).find_map(|r| {
                if r.chain != NODEPORTS || first.contains(&r.line) {
                    return None;
                }
                let (service, _) = services.iter().find(|(_, lines)| lines.contains(&r.line))?;
                Some((r.line, service.clone()))
            })
        });
        ClassExplanation {
            kind: class.kind,
            prefix: class.prefix,
            source: class.source,
            source_symbolic: class.kind == ClassKind::Node && self.node.symbolic,
            destination,
            destination_symbolic,
            origin,
            verdict,
            mixed,
            taken_by_other,
            branches: explained,
        }
    }
}

/// What the reader of this nodePort's report should know: the loopback rule's real
/// meaning, conflicting services, missing chains.
fn port_notes(
    rules: &RuleReader<'_, '_>,
    port: &NodePortRules,
    shape: &ServiceShape,
) -> Vec<PortNote> {
    let dump = rules.dump();
    let mut notes = Vec::new();
    let mut services: Vec<(String, Vec<u32>)> = Vec::new();
    for &rule in &port.rules {
        let Ok(body) = rules.body(rule) else {
            continue;
        };
        let line = dump.rule(rule).line;
        let loopback = body.matches.iter().find_map(|m| match m {
            Match::Source(s) if !s.negated => s.value.net().filter(|n| n.addr().is_loopback()),
            _ => None,
        });
        if let (Some(net), Some(target)) = (loopback, body.target.as_ref())
            && target.name == chains::MARK_MASQ
        {
            notes.push(PortNote::LoopbackMasqueradeOnly { line, net });
        }
        if let Some(comment) = body.comment() {
            match services.iter_mut().find(|(s, _)| s == comment) {
                Some((_, lines)) => lines.push(line),
                None => services.push((comment.to_string(), vec![line])),
            }
        }
    }
    // Several services on one (protocol, nodePort): kube-proxy never allocates that, so the
    // rules conflict; say so, since the first service's name is not the whole story.
    if services.len() > 1 {
        notes.push(PortNote::ConflictingRules {
            port: port.node_port,
            protocol: port.protocol,
            services,
        });
    }
    if !shape.missing_chains.is_empty() {
        notes.push(PortNote::MissingChains {
            chains: shape.missing_chains.clone(),
        });
    }
    notes
}

/// Starts the nat table's walk at `entry` at both hooks where it sees new connections.
fn enter_nat_at(pipeline: &mut Pipeline, nat: TableId, entry: ChainId) {
    for hook in [Hook::Prerouting, Hook::Output] {
        pipeline.set(Stage {
            hook,
            table: nat,
            chain: entry,
            priority: -100,
        });
    }
}

/// For a fragment without nat hook chains: where the nat walk starts instead.
fn nat_entry(rules: &RuleReader<'_, '_>, nat: TableId) -> Option<ChainId> {
    let dump = rules.dump();
    let hooked = ["PREROUTING", "OUTPUT"]
        .iter()
        .any(|h| chains::present(dump, nat, h));
    if hooked {
        return None;
    }
    [SERVICES, NODEPORTS]
        .into_iter()
        .filter_map(|name| dump.chain_id(nat, name))
        .find(|&id| dump.is_present(id))
}

/// The KUBE-SERVICES rules that jump to KUBE-NODEPORTS (the "nodeports" tail rule).
#[derive(Debug, Default)]
struct NodePortTail {
    /// The rules, in chain order.
    rules: Vec<RuleRef>,
    /// Their `-d ADDR` addresses (single addresses only), in order.
    addresses: Vec<IpAddr>,
    /// True if there is at least one such rule and every one of them tests `-d ADDR`
    /// (kube-proxy's `--nodeport-addresses`), i.e. no `addrtype LOCAL` catch-all.
    only_listed: bool,
}

fn node_port_tail(rules: &RuleReader<'_, '_>, nat: TableId) -> NodePortTail {
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
