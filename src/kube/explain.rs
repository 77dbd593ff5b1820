//! `explain`: for each destination matching the question (a nodePort, a service address,
//! every address of a named service), the service's shape, this node's address, the source
//! classes, and one walk per class through the netfilter core, each branch turned into a
//! verdict. The [`Explainer`] explains destinations one after the other, computing what
//! those of one nat table share once.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::rc::Rc;

use crate::kube::chains::{self, NODEPORTS, SERVICES};
use crate::kube::classes::{self, Class, ClassInputs, Tested, given_class, loopback};
use crate::kube::counters::counter_evidence;
use crate::kube::destination::{DestinationKind, Entry, find_entries};
use crate::kube::explanation::{
    ClassExplanation, ClassKind, Explanation, FamilyMismatch, PortExplanation, RuleRef,
};
use crate::kube::findings::{PortAssumption, PortNote};
use crate::kube::mode;
use crate::kube::node::{Node, NodePortTail, node_port_tail, this_node};
use crate::kube::nodeports::{NEAREST_NODE_PORTS, nearest_node_ports};
use crate::kube::notes::{HealthChecks, incomplete_input, port_notes};
use crate::kube::shape::{ServiceShape, service_shape};
use crate::kube::target::Target;
use crate::kube::verdict::{
    VerdictContext, localities, merge_branches, mixed_outcomes, overall, rule_ref,
};
use crate::model::{ChainId, Family, RulesetId, TableId};
use crate::netfilter::{
    self, AssumedChain, Context, Hook, Origin, Packet, Pipeline, RuleMemo, Stage,
};
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
    let explainer = Explainer::new(rules, options);
    let mut ports: Vec<PortExplanation> = entries.iter().map(|e| explainer.entry(e)).collect();
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

/// Explains every one of `entries` for the classes every nodePort has
/// ([`Explainer::standard_classes_only`]) and maps each explanation with `each`, in entry
/// order: `ports` and `diff` on a node with many nodePorts. Past [`ENTRIES_PER_THREAD`] entries the
/// work is split into contiguous shares, one per available core (at most [`MAX_THREADS`]),
/// each explained by its own [`Explainer`] (its own rule memo: the shares repeat only the
/// first pass over KUBE-SERVICES). The result is the same as one explainer's, in the same
/// order.
pub fn explain_each<T: Send>(
    rules: &RuleReader<'_, '_>,
    options: &ExplainOptions,
    entries: &[Entry],
    each: impl Fn(PortExplanation) -> T + Sync,
) -> Vec<T> {
    let explain_share = |share: &[Entry]| -> Vec<T> {
        let explainer = Explainer::new(rules, options).standard_classes_only();
        share.iter().map(|e| each(explainer.entry(e))).collect()
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores
        .min(MAX_THREADS)
        .min(entries.len() / ENTRIES_PER_THREAD)
        .max(1);
    if threads == 1 {
        return explain_share(entries);
    }
    let share_len = entries.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let explain_share = &explain_share;
        let running: Vec<_> = entries
            .chunks(share_len)
            .map(|share| scope.spawn(move || explain_share(share)))
            .collect();
        running
            .into_iter()
            .flat_map(|thread| match thread.join() {
                Ok(explained) => explained,
                // A panic in a share is a bug: raise it here, as one thread would have.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// Fewest entries worth a thread of their own in [`explain_each`] (each thread walks
/// KUBE-SERVICES once more).
pub const ENTRIES_PER_THREAD: usize = 256;

/// Most threads [`explain_each`] uses.
pub const MAX_THREADS: usize = 16;

/// Explains destinations of one dump one after the other, sharing what they have in
/// common: the rule memo, and per nat table the pipeline, the KUBE-SERVICES rules leading
/// to KUBE-NODEPORTS and the prefixes the base chains test. `explain` uses it for the few
/// destinations asked; `ports` and `diff` for every nodePort of a node, where recomputing
/// those per port would cost a pass over KUBE-SERVICES each time.
pub struct Explainer<'e, 'p, 'a> {
    rules: &'e RuleReader<'p, 'a>,
    options: &'e ExplainOptions,
    /// Only the classes every nodePort has (loopback, this node, pods, everyone else).
    standard_classes_only: bool,
    /// One memo for every destination and class: they walk the same rules.
    memo: RuleMemo<'a>,
    tables: RefCell<Vec<(TableKey, Rc<TableContext>)>>,
}

/// A nat table of a ruleset.
type TableKey = (RulesetId, TableId);

/// What every destination of one nat table shares: its ruleset's tables and base chains
/// (entering nat at KUBE-SERVICES for a fragment without hooks), the prefixes the base
/// chains test, the KUBE-SERVICES rules that lead to KUBE-NODEPORTS, kube-proxy's marks.
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
    /// The notes about the node's input as a whole (cut, unparsed lines): the same for every
    /// destination.
    input_notes: Vec<PortNote>,
    /// The node's healthCheckNodePort rules, read as destinations ask for them.
    health_checks: HealthChecks,
    /// For nodePorts, when the input may not show KUBE-SERVICES's jump to KUBE-NODEPORTS:
    /// the pipeline entering KUBE-NODEPORTS instead, and that assumption.
    node_port_entry: Option<(Pipeline, PortAssumption)>,
    /// The filter hook into KUBE-EXTERNAL-SERVICES, assumed for a filter fragment.
    filter_entry: Option<PortAssumption>,
    /// The nat table is shown only in part (a fragment or a cut table).
    nat_in_part: bool,
    /// The input has a nat table (else the entry names the filter table it was found in).
    nat_shown: bool,
    /// For a partial nat table: the pod prefixes KUBE-SERVICES's detector rules name.
    pod_detectors: Vec<Tested>,
}

/// Where one destination's walks run: its table's context, the prefixes its rules test,
/// this node, and what is assumed.
struct Setting {
    table: Rc<TableContext>,
    prefixes: Vec<Tested>,
    node: Node,
    assumptions: Vec<PortAssumption>,
}

impl Setting {
    /// The pod prefixes, when the nat table is shown only in part (else none): see
    /// [`VerdictContext::pod_nets`].
    fn pod_nets(&self) -> Vec<ipnet::IpNet> {
        if !self.table.nat_in_part {
            return Vec::new();
        }
        self.prefixes
            .iter()
            .filter(|t| t.pods)
            .map(|t| t.net)
            .collect()
    }

    /// The pipeline the destination's walks run through: for a nodePort of an input that
    /// may not show the jump to KUBE-NODEPORTS, the one entering KUBE-NODEPORTS.
    fn pipeline<'s>(&'s self, entry: &Entry) -> &'s Pipeline {
        match &self.table.node_port_entry {
            Some((pipeline, _)) if entry.destination.kind == DestinationKind::NodePort => pipeline,
            _ => &self.table.pipeline,
        }
    }

    /// The KUBE-SERVICES rules leading to KUBE-NODEPORTS, for a nodePort (the only
    /// destination they lead to).
    fn tail<'s>(&'s self, entry: &Entry) -> &'s [RuleRef] {
        if entry.destination.kind == DestinationKind::NodePort {
            &self.table.tail.rules
        } else {
            &[]
        }
    }
}

impl<'e, 'p, 'a> Explainer<'e, 'p, 'a> {
    /// An explainer for the destinations of `rules`, asked with `options` (its target is
    /// not read: the destinations are given one by one).
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
    /// nodePort needs no more); for a LoadBalancer IP, also the prefixes its rules test
    /// (its source ranges).
    pub fn standard_classes_only(mut self) -> Self {
        self.standard_classes_only = true;
        self
    }

    fn table_context(&self, entry: &Entry) -> Rc<TableContext> {
        let key = (entry.ruleset, entry.nat);
        if let Some((_, found)) = self.tables.borrow().iter().find(|(k, _)| *k == key) {
            return Rc::clone(found);
        }
        let context = Rc::new(table_context(self.rules, entry));
        self.tables.borrow_mut().push((key, Rc::clone(&context)));
        context
    }

    /// The setting for `entry`: its table's context, the prefixes its rules test, this
    /// node.
    fn setting(&self, entry: &Entry) -> Setting {
        let table = self.table_context(entry);
        let kind = entry.destination.kind;
        let mut prefixes = classes::tested_prefixes(self.rules, &entry.rules, &table.base_prefixes);
        for detector in &table.pod_detectors {
            match prefixes.iter_mut().find(|t| t.net == detector.net) {
                Some(t) => t.pods = true,
                None => prefixes.push(detector.clone()),
            }
        }
        let mut assumptions: Vec<PortAssumption> = table.nat_entry.iter().cloned().collect();
        assumptions.extend(table.filter_entry.iter().cloned());
        if let Some((_, tail)) = &table.node_port_entry
            && kind == DestinationKind::NodePort
        {
            assumptions.push(tail.clone());
        }
        let no_tail = NodePortTail::default();
        let tail = if kind == DestinationKind::NodePort {
            &table.tail
        } else {
            &no_tail
        };
        let node = this_node(
            entry,
            &self.options.node_ips,
            tail,
            &prefixes,
            table.family,
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
            table,
            prefixes,
            node,
            assumptions,
        }
    }

    /// The classes to explain for `entry` (see [`Explainer::standard_classes_only`]).
    fn classes(&self, entry: &Entry, shape: &ServiceShape, setting: &Setting) -> Vec<Class> {
        let kind = entry.destination.kind;
        let mut classes = classes_for(self.options, shape, setting, kind);
        if self.standard_classes_only {
            // A LoadBalancer IP's source ranges decide who gets in: kept.
            let ranges_matter = matches!(
                kind,
                DestinationKind::LoadBalancerIp | DestinationKind::ExternalAddress
            );
            classes.retain(|c| match c.kind {
                ClassKind::Endpoint => false,
                ClassKind::Prefix => ranges_matter,
                _ => true,
            });
        }
        classes
    }

    /// The explanation of one destination.
    pub fn entry(&self, entry: &Entry) -> PortExplanation {
        // The typed rules are shared by this destination's walks, not kept for the next.
        self.memo.forget_bodies();
        let rules = self.rules;
        let options = self.options;
        let shape = service_shape(rules, entry);
        let setting = self.setting(entry);
        let table = &setting.table;
        let mut notes = port_notes(rules, entry, &shape, &table.health_checks);
        notes.extend(table.input_notes.iter().cloned());
        let partial = !shape.missing_chains.is_empty()
            || !table.missing_tables.is_empty()
            || notes.iter().any(PortNote::makes_partial);
        if partial
            && let Some(note) =
                next_command(entry, &shape, &table.missing_tables, &setting.assumptions)
        {
            notes.push(note);
        }
        let ctx = Context {
            rules: *rules,
            pipeline: setting.pipeline(entry),
            host: &setting.node.host,
            assumed_chains: &table.assumed_chains,
            max_paths: options.max_paths,
        };
        let verdicts = VerdictContext {
            rules: *rules,
            kind: entry.destination.kind,
            masquerade_mark: table.masquerade_mark,
            has_postrouting: table.has_postrouting,
            partial,
            shape: &shape,
            localities: localities(&shape),
            tail: setting.tail(entry),
            filter_whole: !table.missing_tables.contains(&"filter"),
            nat_shown: table.nat_shown,
            pod_nets: setting.pod_nets(),
        };
        let walk = Walk {
            ctx: &ctx,
            memo: &self.memo,
            verdicts: &verdicts,
            entry,
            family: table.family,
            node: &setting.node,
            conflict: notes.iter().find_map(|n| match n {
                PortNote::ConflictingRules { services, .. } => Some(services.as_slice()),
                _ => None,
            }),
        };
        let classes = self
            .classes(entry, &shape, &setting)
            .into_iter()
            .map(|class| walk.explain_class(class, options))
            .collect();
        let mut port = PortExplanation {
            service: entry.service.clone(),
            destination: entry.destination,
            family: table.family,
            entry_rules: entry.rules.iter().map(|&r| rule_ref(rules, r)).collect(),
            partial,
            missing_tables: table.missing_tables.clone(),
            assumptions: setting.assumptions,
            notes,
            classes,
            shape,
            counter_evidence: None,
        };
        port.counter_evidence = counter_evidence(&port);
        port
    }
}

/// What every destination of the nat table `entry` is in shares.
fn table_context(rules: &RuleReader<'_, '_>, entry: &Entry) -> TableContext {
    let dump = rules.dump();
    let nat = entry.nat;
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
    let mut pipeline = Pipeline::from_iptables(dump, &tables);
    // The base chains' prefixes are read before the nat entry is moved.
    let base_prefixes = classes::base_prefixes(rules, &pipeline);
    let nat_entry = nat_entry(rules, nat).map(|start| {
        enter_nat_at(&mut pipeline, nat, start);
        PortAssumption::NatEntry {
            chain: dump.chain(start).name.to_string(),
        }
    });
    let filter_entry = dump.find_table(&tables, "filter").and_then(|filter| {
        let start = filter_entry(rules, filter)?;
        enter_filter_at(&mut pipeline, filter, start);
        Some(PortAssumption::FilterEntry)
    });
    let tail = node_port_tail(rules, nat);
    let node_port_entry = if tail.rules.is_empty()
        && let Some(services_shown) = tail_unseen(rules, nat)
        && let Some(node_ports) = dump.chain_id(nat, NODEPORTS)
    {
        let mut entering = pipeline.clone();
        enter_nat_at(&mut entering, nat, node_ports);
        Some((entering, PortAssumption::NodePortTail { services_shown }))
    } else {
        None
    };
    let nat_in_part = !dump.table_is_whole(nat);
    TableContext {
        family,
        missing_tables,
        pipeline,
        nat_entry,
        base_prefixes,
        tail,
        node_port_entry,
        filter_entry,
        nat_in_part,
        nat_shown: dump.table(nat).name == "nat",
        pod_detectors: if nat_in_part {
            classes::pod_detectors(rules, nat)
        } else {
            Vec::new()
        },
        assumed_chains: chains::assumed_mark_chains(dump, nat),
        masquerade_mark: chains::masquerade_mark(rules, nat),
        has_postrouting: chains::present(dump, nat, "POSTROUTING"),
        input_notes: incomplete_input(rules, entry.ruleset),
        health_checks: HealthChecks::default(),
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
    setting: &Setting,
    kind: DestinationKind,
) -> Vec<Class> {
    let prefixes = &setting.prefixes;
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
        node_address: setting.node.address,
        family: setting.table.family,
        loopback: kind == DestinationKind::NodePort,
    })
}

/// What every class of one destination is walked with.
struct Walk<'w, 'c, 'p, 'a> {
    ctx: &'w Context<'c, 'a>,
    memo: &'w RuleMemo<'a>,
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
        _ => (!dump.table_is_whole(nat)).then_some(false),
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
