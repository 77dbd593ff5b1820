//! `explain`: for each nodePort matching the question, the service's shape, this node's
//! address, the source classes, and one walk per class through the netfilter core, each
//! branch turned into a verdict.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

use crate::kube::chains::{self, NODEPORTS, SERVICES};
use crate::kube::classes::{
    self, Class, ClassInputs, Tested, given_class, loopback, node_candidates, pick_outside,
};
use crate::kube::explanation::{
    ClassExplanation, ClassKind, Explanation, PortExplanation, RuleRef,
};
use crate::kube::findings::{PortAssumption, PortNote};
use crate::kube::nodeports::{
    NodePortRules, all_node_ports, find_node_ports, health_check_node_ports,
};
use crate::kube::shape::{ServiceShape, service_shape};
use crate::kube::target::Target;
use crate::kube::verdict::{VerdictContext, merge_branches, mixed_outcomes, overall, rule_ref};
use crate::model::{ChainId, Family, Match, RulesetId, TableId};
use crate::netfilter::{
    self, AssumedChain, Context, Hook, Host, Origin, Packet, Pipeline, RuleMemo, Stage,
};
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
}

/// Explains every nodePort matching the options.
pub fn explain(rules: &RuleReader<'_, '_>, options: &ExplainOptions) -> Explanation {
    let explainer = Explainer::new(rules, options);
    let ports: Vec<PortExplanation> = find_node_ports(rules, &options.target)
        .iter()
        .map(|p| explainer.port(p))
        .collect();
    let available = if ports.is_empty() {
        all_node_ports(rules)
    } else {
        Vec::new()
    };
    Explanation {
        target: options.target.clone(),
        ports,
        available,
    }
}

/// Explains nodePorts of one dump one after the other, sharing what they have in common:
/// the rule memo, and per nat table the pipeline, the KUBE-SERVICES rules leading to
/// KUBE-NODEPORTS and the prefixes the base chains test. `explain` uses it for the few
/// ports asked; `ports` for every nodePort of a node, where recomputing those per port
/// would cost a pass over KUBE-SERVICES each time.
pub struct Explainer<'e, 'p, 'a> {
    rules: &'e RuleReader<'p, 'a>,
    options: &'e ExplainOptions,
    /// Only the classes every nodePort has (loopback, this node, pods, everyone else).
    standard_classes_only: bool,
    memo: RuleMemo,
    tables: RefCell<Vec<(TableKey, Rc<TableContext>)>>,
}

/// A nat table of a ruleset.
type TableKey = (RulesetId, TableId);

/// What every nodePort of one nat table shares.
struct TableContext {
    family: Family,
    missing_tables: Vec<&'static str>,
    pipeline: Pipeline,
    nat_entry: Option<PortAssumption>,
    base_prefixes: Vec<Tested>,
    tail: NodePortTail,
    assumed_chains: Vec<AssumedChain>,
    masquerade_mark: u32,
    has_postrouting: bool,
    /// healthCheckNodePorts by service.
    health_checks: rustc_hash::FxHashMap<String, u16>,
}

impl<'e, 'p, 'a> Explainer<'e, 'p, 'a> {
    /// An explainer for the nodePorts of `rules`, asked with `options`.
    pub fn new(rules: &'e RuleReader<'p, 'a>, options: &'e ExplainOptions) -> Self {
        Explainer {
            rules,
            options,
            standard_classes_only: false,
            memo: RuleMemo::default(),
            tables: RefCell::new(Vec::new()),
        }
    }

    /// Explains only the classes every nodePort has: loopback, this node, pods and
    /// everyone else, not the hairpin and other-prefix classes (an overview of every
    /// nodePort needs no more).
    pub fn standard_classes_only(mut self) -> Self {
        self.standard_classes_only = true;
        self
    }

    fn table_context(&self, port: &NodePortRules) -> Rc<TableContext> {
        let key = (port.ruleset, port.nat);
        if let Some((_, found)) = self.tables.borrow().iter().find(|(k, _)| *k == key) {
            return Rc::clone(found);
        }
        let context = Rc::new(table_context(self.rules, port));
        self.tables.borrow_mut().push((key, Rc::clone(&context)));
        context
    }

    /// Explains one nodePort.
    pub fn port(&self, port: &NodePortRules) -> PortExplanation {
        let rules = self.rules;
        let options = self.options;
        let table = self.table_context(port);
        let shape = service_shape(rules, port);
        let prefixes = classes::tested_prefixes(rules, port, &table.base_prefixes);
        let mut assumptions: Vec<PortAssumption> = table.nat_entry.iter().cloned().collect();
        let partial = !shape.missing_chains.is_empty() || !table.missing_tables.is_empty();
        let node = this_node(
            options,
            &table.tail,
            &prefixes,
            table.family,
            &mut assumptions,
        );
        let notes = port_notes(rules, port, &shape);
        let ctx = Context {
            rules: *rules,
            pipeline: &table.pipeline,
            host: &node.host,
            assumed_chains: &table.assumed_chains,
        };
        let verdicts = VerdictContext {
            rules: *rules,
            masquerade_mark: table.masquerade_mark,
            has_postrouting: table.has_postrouting,
            partial,
            shape: &shape,
            tail: &table.tail.rules,
        };
        let mut classes = classes_for(options, &shape, &prefixes, &node, table.family);
        if self.standard_classes_only {
            classes.retain(|c| !matches!(c.kind, ClassKind::Endpoint | ClassKind::Prefix));
        }
        let conflict = notes.iter().find_map(|n| match n {
            PortNote::ConflictingRules { services, .. } => Some(services.as_slice()),
            _ => None,
        });
        let classes = classes
            .into_iter()
            .map(|class| {
                let walk = Walk {
                    ctx: &ctx,
                    memo: &self.memo,
                    verdicts: &verdicts,
                    port,
                    family: table.family,
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
            family: table.family,
            node_port_rules: port.rules.iter().map(|&r| rule_ref(rules, r)).collect(),
            partial,
            missing_tables: table.missing_tables.clone(),
            assumptions,
            notes,
            classes,
            health_check_node_port: port
                .service
                .as_ref()
                .and_then(|s| table.health_checks.get(s).copied()),
            shape,
        }
    }
}

/// The node's tables, pipeline, tail and marks for the nat table `port` is in.
fn table_context(rules: &RuleReader<'_, '_>, port: &NodePortRules) -> TableContext {
    let dump = rules.dump();
    let nat = port.nat;
    let family = dump
        .rulesets
        .get(port.ruleset.0 as usize)
        .map(|r| r.family)
        .unwrap_or_default();
    let tables = dump.node_tables(port.ruleset);
    let missing_tables: Vec<&'static str> = ["nat", "filter"]
        .into_iter()
        .filter(|name| {
            dump.find_table(&tables, name)
                .is_none_or(|t| dump.table(t).line.is_none())
        })
        .collect();
    let mut pipeline = Pipeline::from_iptables(dump, &tables);
    // The base chains' prefixes are read before the nat entry is moved.
    let base_prefixes = classes::base_prefixes(rules, &pipeline);
    let nat_entry = nat_entry(rules, nat).map(|entry| {
        enter_nat_at(&mut pipeline, nat, entry);
        PortAssumption::NatEntry {
            chain: dump.chain(entry).name.to_string(),
        }
    });
    TableContext {
        family,
        missing_tables,
        pipeline,
        nat_entry,
        base_prefixes,
        tail: node_port_tail(rules, nat),
        assumed_chains: chains::assumed_mark_chains(dump, nat),
        masquerade_mark: chains::masquerade_mark(rules, nat),
        has_postrouting: chains::present(dump, nat, "POSTROUTING"),
        health_checks: health_check_node_ports(rules, &tables),
    }
}

/// This node as the walk sees it: its address, which addresses are local, and whether the
/// address is the user's, read from the dump, or a stand-in.
struct Node {
    address: IpAddr,
    host: Host,
    symbolic: bool,
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
