//! `explain`: for each destination matching the question (a nodePort, a service address,
//! every address of a named service), the service's shape, this node's address, the source
//! classes, and one walk per class through the netfilter core, each branch turned into a
//! verdict.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::kube::chains::{self, NODEPORTS, SERVICES};
use crate::kube::classes::{self, Class, ClassInputs, Tested, given_class, loopback};
use crate::kube::counters::counter_evidence;
use crate::kube::destination::{DestinationKind, Entry, find_entries};
use crate::kube::explanation::{
    ClassExplanation, ClassKind, Explanation, FamilyMismatch, PortExplanation,
};
use crate::kube::findings::{PortAssumption, PortNote};
use crate::kube::mode;
use crate::kube::node::{Node, NodePortTail, node_port_tail, this_node};
use crate::kube::nodeports::{NEAREST_NODE_PORTS, nearest_node_ports};
use crate::kube::notes::port_notes;
use crate::kube::shape::{ServiceShape, service_shape};
use crate::kube::target::Target;
use crate::kube::verdict::{VerdictContext, merge_branches, mixed_outcomes, overall, rule_ref};
use crate::model::{ChainId, Family, TableId};
use crate::netfilter::{self, Context, Hook, Origin, Packet, Pipeline, RuleMemo, Stage};
use crate::parse::RuleReader;

/// What `explain` was asked.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainOptions {
    /// The nodePort, address or service.
    pub target: Target,
    /// Only this source (otherwise every source class).
    pub src: Option<IpAddr>,
    /// The destination (otherwise the service address, or this node's address).
    pub dst: Option<IpAddr>,
    /// This node's addresses (otherwise a symbolic node address).
    pub node_ips: Vec<IpAddr>,
    /// Most distinct paths followed per source class (`--max-paths`; default
    /// [`netfilter::MAX_PATHS`]): past it the class is undetermined, saying which rules fork.
    pub max_paths: usize,
}

impl ExplainOptions {
    /// The address family the question is in (from its addresses), or an error when they
    /// mix IPv4 and IPv6.
    pub fn family(&self) -> Result<Option<Family>, String> {
        let target = match &self.target {
            Target::Address { ip, .. } => Some(("the target", *ip)),
            _ => None,
        };
        let mut named = target.into_iter().collect::<Vec<_>>();
        named.extend(self.src.map(|ip| ("--src", ip)));
        named.extend(self.dst.map(|ip| ("--dst", ip)));
        named.extend(self.node_ips.iter().map(|ip| ("--node-ip", *ip)));
        let Some(&(first_name, first)) = named.first() else {
            return Ok(None);
        };
        for &(name, ip) in &named[1..] {
            if ip.is_ipv4() != first.is_ipv4() {
                return Err(format!(
                    "{first_name} {first} and {name} {ip} are not the same address family: ask about IPv4 and IPv6 separately"
                ));
            }
        }
        Ok(Some(family_of(first)))
    }
}

fn family_of(ip: IpAddr) -> Family {
    match ip {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    }
}

/// Explains every destination matching the options. Only rulesets of the question's
/// family are asked (dual-stack input answers the family the question is in).
pub fn explain(rules: &RuleReader<'_, '_>, options: &ExplainOptions) -> Explanation {
    let dump = rules.dump();
    let asked = options.family().ok().flatten();
    let mut entries = find_entries(rules, &options.target);
    let mut family_mismatch = None;
    if let Some(family) = asked {
        let found = !entries.is_empty() || matches!(options.target, Target::Address { .. });
        entries.retain(|e| dump.rulesets[e.ruleset.0 as usize].family == family);
        if found && entries.is_empty() {
            family_mismatch = Some(FamilyMismatch {
                asked: family,
                dump_has_family: dump.rulesets.iter().any(|r| r.family == family),
            });
        }
    }
    let mut ports: Vec<PortExplanation> = entries
        .iter()
        .map(|e| {
            let mut port = explain_entry(rules, e, options);
            port.counter_evidence = counter_evidence(&port);
            port
        })
        .collect();
    let (available, available_total) = if ports.is_empty() {
        nearest_node_ports(rules, &options.target, NEAREST_NODE_PORTS)
    } else {
        (Vec::new(), 0)
    };
    let proxy_modes = mode::detect(rules);
    let unsupported_mode = (mode::nothing_answered(&ports) && family_mismatch.is_none())
        .then(|| mode::unsupported(rules, &proxy_modes, &options.target, &options.node_ips))
        .flatten();
    if unsupported_mode.is_some() {
        // What iptables does to an address no rule names says nothing in such a mode.
        ports.clear();
    }
    Explanation {
        target: options.target.clone(),
        ports,
        available,
        available_total,
        family_mismatch,
        proxy_modes,
        unsupported_mode,
    }
}

/// Where a destination's walks run: the base chains, this node, and what is assumed.
struct Setting {
    family: Family,
    pipeline: Pipeline,
    prefixes: Vec<Tested>,
    tail: NodePortTail,
    node: Node,
    missing_tables: Vec<&'static str>,
    assumptions: Vec<PortAssumption>,
}

/// The setting for `entry`: its ruleset's tables and base chains (entering nat at
/// KUBE-SERVICES for a fragment without hooks), the prefixes its rules test, this node.
fn setting(rules: &RuleReader<'_, '_>, entry: &Entry, options: &ExplainOptions) -> Setting {
    let dump = rules.dump();
    let nat = entry.nat;
    let kind = entry.destination.kind;
    let family = dump
        .rulesets
        .get(entry.ruleset.0 as usize)
        .map(|r| r.family)
        .unwrap_or_default();
    let tables = dump.node_tables(entry.ruleset);
    let missing_tables: Vec<&'static str> = ["nat", "filter"]
        .into_iter()
        .filter(|name| {
            dump.find_table(&tables, name)
                .is_none_or(|t| dump.table(t).line.is_none())
        })
        .collect();
    let mut assumptions = Vec::new();
    let mut pipeline = Pipeline::from_iptables(dump, &tables);
    let mut prefixes = classes::tested_prefixes(rules, &entry.rules, &pipeline);
    let nat_in_part = dump.table(nat).line.is_none() || dump.table(nat).commit_line.is_none();
    if nat_in_part {
        for detector in classes::pod_detectors(rules, nat) {
            match prefixes.iter_mut().find(|t| t.net == detector.net) {
                Some(t) => t.pods = true,
                None => prefixes.push(detector),
            }
        }
    }
    let tail = if kind == DestinationKind::NodePort {
        node_port_tail(rules, nat)
    } else {
        NodePortTail::default()
    };
    if let Some(start) = nat_entry(rules, nat) {
        assumptions.push(PortAssumption::NatEntry {
            chain: dump.chain(start).name.to_string(),
        });
        enter_nat_at(&mut pipeline, nat, start);
    }
    if let Some(filter) = dump.find_table(&tables, "filter")
        && let Some(start) = filter_entry(rules, filter)
    {
        assumptions.push(PortAssumption::FilterEntry);
        enter_filter_at(&mut pipeline, filter, start);
    }
    if kind == DestinationKind::NodePort
        && tail.rules.is_empty()
        && let Some(services_shown) = tail_unseen(rules, nat)
        && let Some(node_ports) = dump.chain_id(nat, NODEPORTS)
    {
        assumptions.push(PortAssumption::NodePortTail { services_shown });
        enter_nat_at(&mut pipeline, nat, node_ports);
    }
    let node = this_node(
        entry,
        &options.node_ips,
        &tail,
        &prefixes,
        family,
        &mut assumptions,
    );
    if let Some(address) = entry.destination.address
        && kind.is_external()
        && kind != DestinationKind::NodePort
        && !node.host.is_local(address)
    {
        assumptions.push(PortAssumption::AddressNotLocal { address });
    }
    Setting {
        family,
        pipeline,
        prefixes,
        tail,
        node,
        missing_tables,
        assumptions,
    }
}

/// The explanation of one destination.
fn explain_entry(
    rules: &RuleReader<'_, '_>,
    entry: &Entry,
    options: &ExplainOptions,
) -> PortExplanation {
    let dump = rules.dump();
    let nat = entry.nat;
    let shape = service_shape(rules, entry);
    let Setting {
        family,
        pipeline,
        prefixes,
        tail,
        node,
        missing_tables,
        assumptions,
    } = setting(rules, entry, options);
    let mut notes = port_notes(rules, entry, &shape);
    let partial = !shape.missing_chains.is_empty()
        || !missing_tables.is_empty()
        || notes.iter().any(PortNote::makes_partial);
    if partial && let Some(note) = next_command(entry, &shape, &missing_tables, &assumptions) {
        notes.push(note);
    }
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
        kind: entry.destination.kind,
        masquerade_mark: chains::masquerade_mark(rules, nat),
        has_postrouting: chains::present(dump, nat, "POSTROUTING"),
        partial,
        shape: &shape,
        tail: &tail.rules,
        filter_whole: !missing_tables.contains(&"filter"),
        nat_shown: dump.table(nat).name == "nat",
        pod_nets: if dump.table(nat).line.is_none() || dump.table(nat).commit_line.is_none() {
            prefixes.iter().filter(|t| t.pods).map(|t| t.net).collect()
        } else {
            Vec::new()
        },
    };
    let walk = Walk {
        ctx: &ctx,
        // One memo for every class: each class walks the same rules.
        memo: &RuleMemo::default(),
        verdicts: &verdicts,
        entry,
        family,
        node: &node,
        conflict: notes.iter().find_map(|n| match n {
            PortNote::ConflictingRules { services, .. } => Some(services.as_slice()),
            _ => None,
        }),
    };
    let classes = classes_for(
        options,
        &shape,
        &prefixes,
        &node,
        family,
        entry.destination.kind,
    )
    .into_iter()
    .map(|class| walk.explain_class(class, options))
    .collect();
    PortExplanation {
        service: entry.service.clone(),
        destination: entry.destination,
        family,
        entry_rules: entry.rules.iter().map(|&r| rule_ref(rules, r)).collect(),
        partial,
        missing_tables,
        assumptions,
        notes,
        classes,
        shape,
        counter_evidence: None,
    }
}

/// The grep that would fetch what a partial destination's verdicts lack: the chains missing
/// or perhaps shown in part, kube-proxy's jump to KUBE-NODEPORTS when it was assumed, and
/// for a nodePort without a filter table its filter rules and KUBE-FIREWALL. Names that are
/// not plain chain names (letters, digits, `-`, `_`, `.`) are left out: the command is
/// pasted into a shell.
fn next_command(
    entry: &Entry,
    shape: &ServiceShape,
    missing_tables: &[&'static str],
    assumptions: &[PortAssumption],
) -> Option<PortNote> {
    let plain = |name: &String| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    let mut patterns: Vec<String> = shape
        .missing_chains
        .iter()
        .chain(&shape.incomplete_chains)
        .filter(|name| plain(name))
        .cloned()
        .collect();
    if assumptions
        .iter()
        .any(|a| matches!(a, PortAssumption::NodePortTail { .. }))
    {
        patterns.push(format!("-j {NODEPORTS}"));
    }
    if entry.destination.kind == DestinationKind::NodePort && missing_tables.contains(&"filter") {
        patterns.push("KUBE-FIREWALL".to_string());
        patterns.push(format!("--dport {} ", entry.destination.port));
    }
    patterns.dedup();
    patterns.truncate(16);
    (!patterns.is_empty()).then_some(PortNote::NextCommand { patterns })
}

/// The classes to explain: the one `--src` names, or every class (loopback only for a
/// nodePort, the one destination a process on the node reaches on 127.0.0.1).
fn classes_for(
    options: &ExplainOptions,
    shape: &ServiceShape,
    prefixes: &[Tested],
    node: &Node,
    family: Family,
    kind: DestinationKind,
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
        loopback: kind == DestinationKind::NodePort,
    })
}

/// What every class of one destination is walked with.
struct Walk<'w, 'c, 'p, 'a> {
    ctx: &'w Context<'c, 'a>,
    memo: &'w RuleMemo,
    verdicts: &'w VerdictContext<'w, 'p, 'a>,
    entry: &'w Entry,
    family: Family,
    node: &'w Node,
    conflict: Option<&'w [(String, Vec<u32>)]>,
}

impl Walk<'_, '_, '_, '_> {
    /// Where a class's connection goes: the loopback address for processes on the node
    /// asking a nodePort, else `--dst`, the service address, or this node's address.
    fn destination(&self, class: &Class, options: &ExplainOptions) -> (IpAddr, bool) {
        let node_port = self.entry.destination.kind == DestinationKind::NodePort;
        let asked = self.entry.destination.address;
        let loopback_destination = node_port
            && asked.is_none()
            && options.dst.is_none()
            && match class.kind {
                ClassKind::Loopback => true,
                _ => options.src.is_some_and(|s| s.is_loopback()),
            };
        let loopback_class = class.kind == ClassKind::Loopback && node_port && asked.is_none();
        if loopback_destination || (loopback_class && options.src.is_none()) {
            return (loopback(self.family), false);
        }
        match (options.dst, asked) {
            (Some(dst), _) => (dst, false),
            (None, Some(address)) => (address, false),
            (None, None) => (self.node.address, self.node.symbolic),
        }
    }

    fn explain_class(&self, class: Class, options: &ExplainOptions) -> ClassExplanation {
        let (destination, destination_symbolic) = self.destination(&class, options);
        let origin = if self.node.host.is_local(class.source) {
            Origin::Local
        } else {
            Origin::Remote
        };
        let packet = Packet {
            src: class.source,
            dst: destination,
            protocol: self.entry.destination.protocol,
            sport: 40000,
            dport: self.entry.destination.port,
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

/// Starts the nat table's walk at `entry` at both hooks where it sees new connections.
pub(crate) fn enter_nat_at(pipeline: &mut Pipeline, nat: TableId, entry: ChainId) {
    for hook in [Hook::Prerouting, Hook::Output] {
        pipeline.set(Stage {
            hook,
            table: nat,
            chain: entry,
            priority: -100,
        });
    }
}

/// When the input may not show KUBE-SERVICES's jump to KUBE-NODEPORTS (a fragment or a cut
/// table), whether KUBE-SERVICES itself is shown; `None` when the input is whole there.
fn tail_unseen(rules: &RuleReader<'_, '_>, nat: TableId) -> Option<bool> {
    let dump = rules.dump();
    if dump.table(nat).name != "nat" {
        return None;
    }
    match dump.chain_id(nat, SERVICES) {
        Some(services) if dump.is_present(services) => dump
            .may_lack_rules(services)
            .then(|| !dump.chain(services).rules.is_empty()),
        _ => (dump.table(nat).line.is_none() || dump.table(nat).commit_line.is_none())
            .then_some(false),
    }
}

/// For a fragment holding kube-proxy's KUBE-EXTERNAL-SERVICES but no filter INPUT or
/// FORWARD chain: that chain, which kube-proxy's hooks send new connections to.
fn filter_entry(rules: &RuleReader<'_, '_>, filter: TableId) -> Option<ChainId> {
    let dump = rules.dump();
    if dump.table(filter).line.is_some()
        || ["INPUT", "FORWARD"]
            .iter()
            .any(|h| chains::present(dump, filter, h))
    {
        return None;
    }
    dump.chain_id(filter, chains::EXTERNAL_SERVICES)
        .filter(|&id| dump.is_present(id))
}

/// Starts the filter table's walk at `entry` where kube-proxy hooks KUBE-EXTERNAL-SERVICES.
fn enter_filter_at(pipeline: &mut Pipeline, filter: TableId, entry: ChainId) {
    for hook in [Hook::Input, Hook::Forward] {
        pipeline.set(Stage {
            hook,
            table: filter,
            chain: entry,
            priority: 0,
        });
    }
}

/// For a fragment without nat hook chains: where the nat walk starts instead.
pub(crate) fn nat_entry(rules: &RuleReader<'_, '_>, nat: TableId) -> Option<ChainId> {
    let dump = rules.dump();
    // A filter-only input: its entry names the filter table (see `NodePortRules::nat`).
    if dump.table(nat).name != "nat" {
        return None;
    }
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
