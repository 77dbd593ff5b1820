//! Builds the [`Explanation`] for a nodePort: one evaluation per source class, each branch
//! turned into a verdict with the rules that decided it.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::analyze::kube::{self, NodePortRules, PortOrService, ServiceShape};
use crate::model::{ChainId, Family, Match, RuleId, TableId};
use crate::netfilter::{
    self, Action, AssumptionKind, Branch, Context, Fate, Hook, Host, Origin, Packet, Pipeline,
    Stage, Translation, Undecidable, Undecided,
};
use crate::parse::RuleReader;

/// What `explain` was asked.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainOptions {
    /// The nodePort or service.
    pub target: PortOrService,
    /// Only this source (otherwise every source class).
    pub src: Option<IpAddr>,
    /// The destination (otherwise this node's address).
    pub dst: Option<IpAddr>,
    /// This node's addresses (otherwise a symbolic node address).
    pub node_ips: Vec<IpAddr>,
}

/// The outcome for a new connection's source IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// DNAT only: the endpoint sees the client's address.
    Preserved,
    /// Source NAT: the endpoint sees another address.
    Masqueraded,
    /// Dropped silently.
    Dropped,
    /// Refused with an error.
    Rejected,
    /// No DNAT: nothing of the service answers; the connection reaches the node itself.
    NotHandled,
    /// A rule on the path could not be decided (or is missing).
    Undetermined,
}

impl Verdict {
    /// The word every format uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Preserved => "preserved",
            Verdict::Masqueraded => "masqueraded",
            Verdict::Dropped => "dropped",
            Verdict::Rejected => "rejected",
            Verdict::NotHandled => "not-handled",
            Verdict::Undetermined => "undetermined",
        }
    }
}

/// A rule cited in a report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleRef {
    /// 1-based input line.
    pub line: u32,
    /// Table name.
    pub table: String,
    /// Chain name.
    pub chain: String,
    /// The rule's text as in the input (not yet sanitised).
    pub text: String,
}

impl RuleRef {
    fn new(dump: &RuleReader<'_, '_>, rule: RuleId) -> Self {
        let r = dump.rule(rule);
        let chain = dump.chain(r.chain);
        RuleRef {
            line: r.line,
            table: dump.table(chain.table).name.to_string(),
            chain: chain.name.to_string(),
            text: dump.rule_text(rule).to_string(),
        }
    }
}

/// Who rewrote the source address.
#[derive(Debug, Clone, PartialEq)]
pub struct Masquerade {
    /// The MASQUERADE/SNAT rule (absent when assumed for a fragment).
    pub rule: Option<RuleRef>,
    /// True if the rule is in a kube-proxy chain.
    pub by_kube_proxy: bool,
    /// The address the endpoint sees, in words.
    pub to: String,
    /// The address the endpoint sees, for programs.
    pub address: MasqueradeAddress,
    /// The rule that set the masquerade mark, if that is how it was chosen.
    pub marked_by: Option<RuleRef>,
}

/// Which source address a source NAT gives, as far as the dump alone can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasqueradeAddress {
    /// `SNAT --to-source` naming exactly this address.
    Exact(IpAddr),
    /// `SNAT` to one of several addresses (a range, or several `--to-source`).
    Range,
    /// `MASQUERADE` (kube-proxy's assumed KUBE-POSTROUTING too): the primary address of the
    /// interface the packet leaves by. A dump does not say which interface that is nor
    /// which addresses it has, so no address is predicted.
    OutgoingInterface,
}

impl MasqueradeAddress {
    /// The `address_kind` word of the JSON report.
    pub fn kind(self) -> &'static str {
        match self {
            MasqueradeAddress::Exact(_) => "exact",
            MasqueradeAddress::Range => "range",
            MasqueradeAddress::OutgoingInterface => "outgoing-interface",
        }
    }

    /// The one address, when exact.
    pub fn exact(self) -> Option<IpAddr> {
        match self {
            MasqueradeAddress::Exact(address) => Some(address),
            _ => None,
        }
    }
}

/// One way a class's connection can go.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchExplanation {
    /// The endpoint (`IP:port`) it was DNATed to, if any.
    pub endpoint: Option<String>,
    /// Chance among branches with the same assumptions.
    pub probability: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// One or two sentences.
    pub detail: String,
    /// Source NAT details.
    pub masquerade: Option<Masquerade>,
    /// The rules that decided it, in path order.
    pub decisive: Vec<RuleRef>,
    /// Chains entered in the nat table, in order.
    pub chain_path: Vec<String>,
    /// Forking assumptions this branch rests on.
    pub assumptions: Vec<String>,
    /// Facts stated about a new connection (affinity, assumed chains).
    pub notes: Vec<String>,
    /// True if part of the path is missing from the dump.
    pub partial: bool,
}

/// Which sources a class stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClassKind {
    /// 127.0.0.0/8 (or ::1): processes on the node connecting to the loopback address.
    Loopback,
    /// This node's own addresses.
    Node,
    /// Pods, as a pod-traffic rule's prefix defines them.
    Pods,
    /// An endpoint's own address (hairpin).
    Endpoint,
    /// Another prefix some rule on the path tests.
    Prefix,
    /// Everything else: external clients.
    Other,
    /// The one source given with `--src`.
    Given,
}

impl ClassKind {
    /// Stable name for JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ClassKind::Loopback => "loopback",
            ClassKind::Node => "node",
            ClassKind::Pods => "pods",
            ClassKind::Endpoint => "endpoint",
            ClassKind::Prefix => "prefix",
            ClassKind::Other => "other",
            ClassKind::Given => "given",
        }
    }
}

/// The result for one source class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassExplanation {
    /// Kind of class.
    pub kind: ClassKind,
    /// In words: "sources in 127.0.0.0/8".
    pub name: String,
    /// The prefix it covers, if any.
    pub prefix: Option<String>,
    /// The address evaluated.
    pub source: IpAddr,
    /// True if `source` is a stand-in (no `--node-ip`).
    pub source_symbolic: bool,
    /// The destination evaluated.
    pub destination: IpAddr,
    /// True if `destination` is a stand-in.
    pub destination_symbolic: bool,
    /// PREROUTING (remote) or OUTPUT (local) entry.
    pub origin: Origin,
    /// The verdict over all branches. When chance alone (the random choice of endpoint)
    /// gives different verdicts, the one worst for the client's address (masqueraded,
    /// rejected, dropped, not-handled, in that order) and [`Self::mixed`] lists them all.
    pub verdict: Verdict,
    /// Empty unless the branches end in different verdicts by chance alone (no undecidable
    /// rule): then one entry per verdict, `verdict`'s first, with its total probability.
    pub mixed: Vec<Outcome>,
    /// One or two sentences.
    pub summary: String,
    /// Every branch.
    pub branches: Vec<BranchExplanation>,
}

/// One verdict of a class whose connections end differently by chance alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// Its total probability (the outcomes of a class add up to 1).
    pub probability: f64,
    /// The endpoints (`IP:port`) it happens for, in branch order.
    pub endpoints: Vec<String>,
}

/// The explanation of one (protocol, nodePort) in one ruleset.
#[derive(Debug, Clone, PartialEq)]
pub struct PortExplanation {
    /// `ns/name:port` from the comment, if any.
    pub service: Option<String>,
    /// `tcp`, `udp`...
    pub protocol: String,
    /// The nodePort.
    pub node_port: u16,
    /// IPv4 or IPv6 ruleset.
    pub family: Family,
    /// What the rules say about the service.
    pub shape: ServiceShape,
    /// The KUBE-NODEPORTS rules.
    pub node_port_rules: Vec<RuleRef>,
    /// True if chains or tables on the path are missing (a fragment).
    pub partial: bool,
    /// Tables a full dump has that this one lacks.
    pub missing_tables: Vec<String>,
    /// Assumptions that apply to every class.
    pub assumptions: Vec<String>,
    /// Plain-language notes (e.g. the 127.0.0.0/8 misreading).
    pub notes: Vec<String>,
    /// One entry per source class.
    pub classes: Vec<ClassExplanation>,
}

/// Everything `explain` found.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// What was asked, as given.
    pub target: String,
    /// One entry per matching nodePort; empty when not found.
    pub ports: Vec<PortExplanation>,
    /// When nothing was found: the nodePorts the dump does have, as `3001/tcp (ns/svc:port)`.
    pub available: Vec<String>,
}

/// Most source classes evaluated (endpoint /32s beyond this are left out, with a note).
const MAX_CLASSES: usize = 24;

/// Explains every nodePort matching the options.
pub fn explain(dump: &RuleReader<'_, '_>, options: &ExplainOptions) -> Explanation {
    let ports: Vec<PortExplanation> = kube::find_node_ports(dump, &options.target)
        .iter()
        .map(|p| explain_port(dump, p, options))
        .collect();
    let available = if ports.is_empty() {
        kube::all_node_ports(dump)
            .into_iter()
            .map(|(protocol, port, service)| match service {
                Some(s) => format!("{port}/{protocol} ({s})"),
                None => format!("{port}/{protocol}"),
            })
            .collect()
    } else {
        Vec::new()
    };
    Explanation {
        target: options.target.to_string(),
        ports,
        available,
    }
}

fn explain_port(
    dump: &RuleReader<'_, '_>,
    port: &NodePortRules,
    options: &ExplainOptions,
) -> PortExplanation {
    let nat = port.nat;
    let family = dump
        .rulesets
        .get(port.ruleset.0 as usize)
        .map(|r| r.family)
        .unwrap_or_default();
    let shape = kube::service_shape(dump, port);
    let mut assumptions = Vec::new();
    let mut notes = Vec::new();
    let mut missing_tables = Vec::new();
    let tables = kube::table_set(dump, port.ruleset);
    for name in ["nat", "filter"] {
        let table = kube::find_table(dump, &tables, name);
        if table.is_none_or(|t| dump.table(t).line.is_none()) {
            missing_tables.push(name.to_string());
        }
    }
    let nat_entry = nat_entry(dump, nat, &mut assumptions);
    let partial = !shape.missing_chains.is_empty() || !missing_tables.is_empty();
    // Symbolic node address, unless given.
    let prefixes = tested_prefixes(dump, port, &tables);
    // With `--nodeport-addresses`, KUBE-SERVICES reaches KUBE-NODEPORTS only for the listed
    // node addresses: a made-up address would never match, so use the dump's own.
    let tail = node_port_tail(dump, nat);
    let listed: Vec<IpAddr> = if tail.only_listed {
        tail.addresses
            .iter()
            .copied()
            .filter(|a| !a.is_loopback())
            .collect()
    } else {
        Vec::new()
    };
    let derived_node = options.node_ips.is_empty() && !listed.is_empty();
    let symbolic_node = options.node_ips.is_empty() && !derived_node;
    let node_address = options
        .node_ips
        .first()
        .copied()
        .or_else(|| listed.first().copied())
        .or_else(|| pick_outside(&node_candidates(family), &prefixes, &[]))
        .unwrap_or(match family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
            Family::Ipv6 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xfffe, 0, 0, 0, 0, 1)),
        });
    let host = Host {
        local_addresses: if symbolic_node {
            vec![node_address]
        } else if derived_node {
            listed.clone()
        } else {
            options.node_ips.clone()
        },
    };
    if derived_node {
        let lines: Vec<String> = tail.rules.iter().map(|r| r.line.to_string()).collect();
        assumptions.push(format!(
            "this node's address is taken from the dump: KUBE-SERVICES sends only destination {} to KUBE-NODEPORTS (line{} {}: kube-proxy's --nodeport-addresses), so the nodePort answers only there; {node_address} is used as this node's address and as the destination; give --node-ip (and --dst) to use others",
            listed
                .iter()
                .map(IpAddr::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            if lines.len() == 1 { "" } else { "s" },
            lines.join(", ")
        ));
    }
    if symbolic_node {
        assumptions.push(format!(
            "this node's address is symbolic: {node_address} stands for an address of the node (addrtype LOCAL) outside every prefix the rules test; give --node-ip to use the real one"
        ));
    }
    let mut pipeline = Pipeline::from_iptables(dump, &tables);
    if let Some(entry) = nat_entry {
        enter_nat_at(&mut pipeline, nat, entry);
    }
    let assumed_chains = kube::assumed_mark_chains(dump, nat);
    let ctx = Context {
        rules: *dump,
        pipeline: &pipeline,
        host: &host,
        assumed_chains: &assumed_chains,
    };
    let masq_mark = kube::masquerade_mark(dump, nat);
    let has_postrouting = kube::chain_present(dump, dump.chain_id(nat, "POSTROUTING"));
    for &rule in &port.rules {
        if let Ok(body) = dump.body(rule) {
            let loopback = body.matches.iter().find_map(|m| match m {
                Match::Source(s)
                    if !s.negated && s.value.net().is_some_and(|n| n.addr().is_loopback()) =>
                {
                    Some(s.value.to_string())
                }
                _ => None,
            });
            if let (Some(net), Some(target)) = (loopback, body.target.as_ref())
                && target.name == "KUBE-MARK-MASQ"
            {
                notes.push(format!(
                        "The rule on line {} (`-s {net} … -j KUBE-MARK-MASQ`) does not restrict access to loopback: it only marks connections from {net} for masquerading. Every other source skips it and goes on to the next rule.",
                        dump.rule(rule).line
                    ));
            }
        }
    }
    // Several services on one (protocol, nodePort): kube-proxy never allocates that, so the
    // rules conflict; say so, since the first service's name is not the whole story.
    let mut services: Vec<(String, Vec<u32>)> = Vec::new();
    for &rule in &port.rules {
        let Some(comment) = dump
            .body(rule)
            .ok()
            .and_then(|b| b.comment().map(str::to_string))
        else {
            continue;
        };
        let line = dump.rule(rule).line;
        match services.iter_mut().find(|(s, _)| *s == comment) {
            Some((_, lines)) => lines.push(line),
            None => services.push((comment, vec![line])),
        }
    }
    if services.len() > 1 {
        notes.push(format!(
            "Conflicting rules: KUBE-NODEPORTS has rules for {} services on nodePort {}/{}: {}. kube-proxy never gives two services the same nodePort, so this dump is hand-made, a test fixture, or mixes rules from different kube-proxies. The kernel runs the rules in order and a rule that only marks (KUBE-MARK-MASQ, KUBE-MARK-DROP) does not stop it, so a later service's rule can still take the connection; the verdicts below follow the rules as written.",
            services.len(),
            port.node_port,
            port.protocol,
            services
                .iter()
                .map(|(s, lines)| format!(
                    "{s} (line{} {})",
                    if lines.len() == 1 { "" } else { "s" },
                    lines.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !shape.missing_chains.is_empty() {
        notes.push(format!(
            "This dump is partial: {} {} not in it, so verdicts that depend on {} are partial.",
            shape.missing_chains.join(", "),
            if shape.missing_chains.len() == 1 {
                "is"
            } else {
                "are"
            },
            if shape.missing_chains.len() == 1 {
                "it"
            } else {
                "them"
            },
        ));
    }
    let dst_default = options.dst.unwrap_or(node_address);
    let classes = source_classes(dump, port, &shape, &prefixes, options, node_address, family);
    // One memo for every class: each class walks the same rules.
    let memo = netfilter::RuleMemo::default();
    let mut class_results = Vec::new();
    for class in classes {
        let (destination, destination_symbolic) = match class.kind {
            ClassKind::Loopback if options.dst.is_none() || options.src.is_none() => {
                (loopback(family), false)
            }
            _ if options.src.is_some_and(|s| s.is_loopback()) && options.dst.is_none() => {
                (loopback(family), false)
            }
            _ => (dst_default, options.dst.is_none() && symbolic_node),
        };
        let origin = if host.is_local(class.source) {
            Origin::Local
        } else {
            Origin::Remote
        };
        let packet = Packet {
            src: class.source,
            dst: destination,
            protocol: port.protocol,
            sport: 40000,
            dport: port.node_port,
            origin,
            in_interface: None,
            out_interface: None,
        };
        let branches = netfilter::evaluate_with(&ctx, &memo, packet);
        let explained: Vec<BranchExplanation> = merge_branches(
            branches
                .iter()
                .map(|b| {
                    explain_branch(dump, b, masq_mark, has_postrouting, partial, &shape, &tail)
                })
                .collect(),
        );
        let verdict = overall(&explained);
        let mixed = mixed_outcomes(&explained, verdict);
        let mut summary = if mixed.is_empty() {
            summarise(&explained, verdict)
        } else {
            summarise_mixed(&mixed, class.source)
        };
        if services.len() > 1 {
            let first = &services[0].1;
            let other = explained.iter().flat_map(|b| &b.decisive).find_map(|r| {
                (r.chain == "KUBE-NODEPORTS" && !first.contains(&r.line))
                    .then(|| {
                        services
                            .iter()
                            .find(|(_, lines)| lines.contains(&r.line))
                            .map(|(s, _)| (r.line, s.clone()))
                    })
                    .flatten()
            });
            if let Some((line, service)) = other {
                summary.push_str(&format!(
                    " It is taken by another service's rule for the same nodePort: line {line} ({service}); see the note on conflicting rules."
                ));
            }
        }
        class_results.push(ClassExplanation {
            kind: class.kind,
            name: class.name,
            prefix: class.prefix,
            source: class.source,
            source_symbolic: class.kind == ClassKind::Node && symbolic_node,
            destination,
            destination_symbolic,
            origin,
            verdict,
            mixed,
            summary,
            branches: explained,
        });
    }
    PortExplanation {
        service: port.service.clone(),
        protocol: port.protocol.to_string(),
        node_port: port.node_port,
        family,
        node_port_rules: port.rules.iter().map(|&r| RuleRef::new(dump, r)).collect(),
        partial,
        missing_tables,
        assumptions,
        notes,
        classes: class_results,
        shape,
    }
}

fn loopback(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
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
fn nat_entry(
    dump: &RuleReader<'_, '_>,
    nat: TableId,
    assumptions: &mut Vec<String>,
) -> Option<ChainId> {
    let hooked = ["PREROUTING", "OUTPUT"]
        .iter()
        .any(|h| kube::chain_present(dump, dump.chain_id(nat, h)));
    if hooked {
        return None;
    }
    for name in ["KUBE-SERVICES", "KUBE-NODEPORTS"] {
        let id = dump.chain_id(nat, name);
        if kube::chain_present(dump, id) {
            assumptions.push(format!(
                "nat PREROUTING/OUTPUT are not in the dump; the walk starts at {name}, as kube-proxy's hooks would send a packet for a node address there"
            ));
            return id;
        }
    }
    None
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

fn node_port_tail(dump: &RuleReader<'_, '_>, nat: TableId) -> NodePortTail {
    let mut tail = NodePortTail::default();
    let Some(services) = dump.chain_id(nat, "KUBE-SERVICES") else {
        return tail;
    };
    let mut all_listed = true;
    for &rule in &dump.chain(services).rules {
        // Typed only if it jumps to KUBE-NODEPORTS: the chain has a rule per service.
        if dump.jump_target_name(rule).map(|(name, _)| name) != Some("KUBE-NODEPORTS") {
            continue;
        }
        let Ok(body) = dump.body(rule) else {
            continue;
        };
        tail.rules.push(RuleRef::new(dump, rule));
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

/// A source class before evaluation.
struct Class {
    kind: ClassKind,
    name: String,
    prefix: Option<String>,
    source: IpAddr,
}

/// A prefix tested by a rule on the path, and what it seems to stand for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Tested {
    net: IpNet,
    pods: bool,
}

/// The `-s` prefixes tested by rules the nodePort's packets can meet.
fn tested_prefixes(
    dump: &RuleReader<'_, '_>,
    port: &NodePortRules,
    tables: &[TableId],
) -> Vec<Tested> {
    let mut rules: Vec<RuleId> = port.rules.clone();
    let mut seen_chains = BTreeSet::new();
    // Hook chains except the route into KUBE-SERVICES (every service's rules).
    for (table, hooks) in [
        ("raw", &["PREROUTING", "OUTPUT"][..]),
        (
            "mangle",
            &["PREROUTING", "OUTPUT", "INPUT", "FORWARD", "POSTROUTING"][..],
        ),
        ("nat", &["PREROUTING", "OUTPUT", "POSTROUTING", "INPUT"][..]),
        ("filter", &["INPUT", "FORWARD", "OUTPUT"][..]),
    ] {
        if let Some(t) = kube::find_table(dump, tables, table) {
            for hook in hooks {
                if let Some(c) = dump.chain_id(t, hook) {
                    rules.extend(dump.chain(c).rules.iter().copied());
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    let mut queue = rules;
    while let Some(rule) = queue.pop() {
        // Every spelling of a source test (`-s`, `--source`, `--src`) contains "-s": a
        // rule without it is not typed (the filter chains on the path have a rule per
        // service).
        if dump.rule_text(rule).contains("-s")
            && let Ok(body) = dump.body(rule)
        {
            let comment = body.comment().unwrap_or("").to_ascii_lowercase();
            let target = body.target.as_ref().map(|t| t.name).unwrap_or("");
            for m in &body.matches {
                if let Match::Source(s) = &m
                    && let Some(net) = s.value.net()
                {
                    let pods =
                        comment.contains("pod") || (target.starts_with("KUBE-SVC-") && !s.negated);
                    out.insert(Tested {
                        net: net.trunc(),
                        pods,
                    });
                }
            }
        }
        if let Some(next) = dump.jump_target(rule) {
            let name = dump.chain(next).name;
            if name == "KUBE-SERVICES" || seen_chains.len() > 2000 || !seen_chains.insert(next) {
                continue;
            }
            queue.extend(dump.chain(next).rules.iter().copied());
        }
    }
    // One entry per prefix; "pods" if any rule testing it said so.
    let mut merged: Vec<Tested> = Vec::new();
    for t in out {
        match merged.iter_mut().find(|m| m.net == t.net) {
            Some(m) => m.pods |= t.pods,
            None => merged.push(t),
        }
    }
    merged
}

fn node_candidates(family: Family) -> Vec<IpAddr> {
    match family {
        Family::Ipv4 => [
            "192.0.2.10",
            "198.51.100.10",
            "100.64.0.10",
            "172.31.254.10",
        ]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect(),
        Family::Ipv6 => ["2001:db8:fffe::1", "2001:db8:fffd::1", "fd00:ffff::1"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect(),
    }
}

fn external_candidates(family: Family) -> Vec<IpAddr> {
    match family {
        Family::Ipv4 => [
            "203.0.113.2",
            "198.51.100.2",
            "192.0.2.2",
            "100.64.1.2",
            "8.8.8.8",
        ]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect(),
        Family::Ipv6 => ["2001:db8:ffff::2", "2001:db8:fff0::2", "2606:4700::2"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect(),
    }
}

/// The first candidate inside no tested prefix and not in `avoid`.
fn pick_outside(candidates: &[IpAddr], prefixes: &[Tested], avoid: &[IpAddr]) -> Option<IpAddr> {
    candidates.iter().copied().find(|c| {
        !avoid.contains(c) && !c.is_loopback() && !prefixes.iter().any(|p| p.net.contains(c))
    })
}

/// An address inside `net` but inside none of the narrower tested prefixes, nor `avoid`.
fn pick_inside(net: IpNet, prefixes: &[Tested], avoid: &[IpAddr]) -> Option<IpAddr> {
    let narrower: Vec<&IpNet> = prefixes
        .iter()
        .map(|p| &p.net)
        .filter(|p| p.prefix_len() > net.prefix_len() && net.contains(*p))
        .collect();
    let ok = |ip: &IpAddr| !avoid.contains(ip) && !narrower.iter().any(|n| n.contains(ip));
    let hosts = net.hosts();
    let mut tried = 0;
    for ip in hosts {
        // Prefer .2 over .1 (.1 is often a gateway), like kube-proxy's own tests.
        tried += 1;
        if tried > 4096 {
            break;
        }
        if tried == 1 && net.prefix_len() < net.max_prefix_len() - 1 {
            continue;
        }
        if ok(&ip) {
            return Some(ip);
        }
    }
    net.hosts().next().filter(ok)
}

#[allow(clippy::too_many_arguments)]
fn source_classes(
    dump: &RuleReader<'_, '_>,
    port: &NodePortRules,
    shape: &ServiceShape,
    prefixes: &[Tested],
    options: &ExplainOptions,
    node_address: IpAddr,
    family: Family,
) -> Vec<Class> {
    let _ = (dump, port);
    let endpoint_ips: BTreeSet<IpAddr> = shape
        .endpoints
        .iter()
        .filter_map(|e| endpoint_ip(&e.address))
        .collect();
    if let Some(src) = options.src {
        let containing = prefixes
            .iter()
            .filter(|p| p.net.contains(&src))
            .max_by_key(|p| p.net.prefix_len());
        return vec![Class {
            kind: ClassKind::Given,
            name: format!("source {src}"),
            prefix: containing.map(|p| p.net.to_string()),
            source: src,
        }];
    }
    let mut classes = Vec::new();
    let lo_net: IpNet = match family {
        Family::Ipv4 => {
            IpNet::V4(ipnet::Ipv4Net::new(Ipv4Addr::new(127, 0, 0, 0), 8).unwrap_or_default())
        }
        Family::Ipv6 => {
            IpNet::V6(ipnet::Ipv6Net::new(Ipv6Addr::LOCALHOST, 128).unwrap_or_default())
        }
    };
    classes.push(Class {
        kind: ClassKind::Loopback,
        name: format!(
            "sources in {lo_net} (processes on this node connecting to {})",
            loopback(family)
        ),
        prefix: Some(lo_net.to_string()),
        source: loopback(family),
    });
    classes.push(Class {
        kind: ClassKind::Node,
        name: "this node's own addresses".to_string(),
        prefix: None,
        source: node_address,
    });
    let mut avoid: Vec<IpAddr> = options.node_ips.clone();
    avoid.push(node_address);
    let mut left_out = 0;
    for p in prefixes {
        if p.net.addr().is_loopback()
            || p.net.contains(&node_address) && p.net.prefix_len() == p.net.max_prefix_len()
        {
            continue;
        }
        let single = p.net.prefix_len() == p.net.max_prefix_len();
        let (kind, name, source) = if single {
            let ip = p.net.addr();
            if endpoint_ips.contains(&ip) {
                (
                    ClassKind::Endpoint,
                    format!("the endpoint's own address {ip} (hairpin)"),
                    Some(ip),
                )
            } else {
                (ClassKind::Prefix, format!("source {ip}"), Some(ip))
            }
        } else if p.pods {
            (
                ClassKind::Pods,
                format!("pods in {}", p.net),
                pick_inside(p.net, prefixes, &avoid),
            )
        } else {
            (
                ClassKind::Prefix,
                format!("sources in {}", p.net),
                pick_inside(p.net, prefixes, &avoid),
            )
        };
        let Some(source) = source else {
            continue;
        };
        if classes.len() >= MAX_CLASSES {
            left_out += 1;
            continue;
        }
        classes.push(Class {
            kind,
            name,
            prefix: Some(p.net.to_string()),
            source,
        });
    }
    let _ = left_out;
    if let Some(ext) = pick_outside(&external_candidates(family), prefixes, &avoid) {
        classes.push(Class {
            kind: ClassKind::Other,
            name: "all other sources (external clients)".to_string(),
            prefix: None,
            source: ext,
        });
    }
    classes
}

fn endpoint_ip(address: &str) -> Option<IpAddr> {
    if let Ok(sa) = address.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    address
        .parse()
        .ok()
        .or_else(|| address.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok()))
}

fn explain_branch(
    dump: &RuleReader<'_, '_>,
    b: &Branch<'_>,
    masq_mark: u32,
    has_postrouting: bool,
    partial: bool,
    shape: &ServiceShape,
    tail: &NodePortTail,
) -> BranchExplanation {
    let mut decisive = Vec::new();
    let mut chain_path = Vec::new();
    let mut marked_by = None;
    let mut drop_marked_by = None;
    for step in &b.steps {
        let step_chain = dump.chain(step.chain).name;
        if dump.table(step.table).name == "nat"
            && matches!(step.hook, Hook::Prerouting | Hook::Output)
        {
            if chain_path.is_empty() {
                chain_path.push(step_chain.to_string());
            }
            if let Action::Jump(c) | Action::Goto(c) = &step.action
                && !c.starts_with("KUBE-MARK-")
            {
                chain_path.push(c.to_string());
            }
        }
        let Some(rule) = step.rule else {
            continue;
        };
        let keep = match &step.action {
            Action::Jump(c) | Action::Goto(c) => {
                kube::is_kube_chain(c) && *c != "KUBE-SERVICES" && *c != "KUBE-POSTROUTING"
                    || !kube::is_kube_chain(c)
            }
            Action::Mark { before, after } | Action::AssumedMark { before, after, .. } => {
                before != after
            }
            Action::Return => step_chain == "KUBE-POSTROUTING",
            Action::NoEffect | Action::Ignored(_) | Action::Policy(_) => false,
            _ => true,
        };
        // Hook-chain jumps that every packet takes are not decisive.
        let hook_jump = matches!(
            step_chain,
            "PREROUTING" | "OUTPUT" | "INPUT" | "FORWARD" | "POSTROUTING"
        ) && matches!(&step.action, Action::Jump(c) if kube::is_kube_chain(c));
        if keep && !hook_jump {
            decisive.push(RuleRef::new(dump, rule));
        }
        let mark_change = match &step.action {
            Action::Mark { before, after } | Action::AssumedMark { before, after, .. } => {
                Some((*before, *after))
            }
            _ => None,
        };
        if let Some((before, after)) = mark_change {
            if before & masq_mark == 0 && after & masq_mark != 0 {
                marked_by = Some(caller_rule(dump, b, rule));
            }
            if before & kube::DEFAULT_DROP_MARK == 0 && after & kube::DEFAULT_DROP_MARK != 0 {
                drop_marked_by = Some(caller_rule(dump, b, rule));
            }
        }
    }
    let mut assumptions = Vec::new();
    let mut notes = Vec::new();
    for a in &b.assumptions {
        let text = match a.rule {
            Some(r) => format!("line {}: {}", dump.rule(r).line, assumption_text(&a.kind)),
            None => assumption_text(&a.kind),
        };
        if a.forks() {
            assumptions.push(text);
        } else {
            notes.push(text);
        }
    }
    let endpoint = b.dnat.as_ref().map(|d| translation_text(&d.to));
    let locality = endpoint
        .as_ref()
        .and_then(|e| shape.endpoints.iter().find(|x| &x.address == e))
        .map(|e| e.locality);
    let endpoint_words = match (&endpoint, locality) {
        (Some(e), Some(l)) if l != kube::Locality::Unknown => {
            format!("{e} ({} endpoint)", l.as_str())
        }
        (Some(e), _) => e.clone(),
        (None, _) => String::new(),
    };
    let marked = b.mark & masq_mark != 0;
    let mut branch_partial = false;
    let mut masquerade = None;
    let (verdict, detail) = match &b.fate {
        Fate::Dropped { rule, chain } => {
            let chain = dump.chain(*chain).name;
            let by = match rule {
                Some(r) => format!("rule on line {} in {chain}", dump.rule(*r).line),
                None => format!("the policy of {chain}"),
            };
            let comment = rule
                .and_then(|r| dump.body(r).ok())
                .and_then(|body| body.comment().map(str::to_string))
                .unwrap_or_default();
            let why = if comment.contains("has no local endpoints") {
                " externalTrafficPolicy is Local and this node has no local endpoints.".to_string()
            } else if let Some(m) = &drop_marked_by {
                format!(
                    " Line {} (in {}) set the drop mark 0x8000 and kubelet's KUBE-FIREWALL rule drops marked packets{}.",
                    m.line,
                    m.chain,
                    if dump_text_has(dump, &m.text, "has no local endpoints") || shape_has_no_local(shape) {
                        ": externalTrafficPolicy is Local and this node has no local endpoints"
                    } else {
                        ""
                    }
                )
            } else {
                String::new()
            };
            (Verdict::Dropped, format!("Dropped by the {by}.{why}"))
        }
        Fate::Rejected { rule } => {
            let r = dump.rule(*rule);
            let comment = dump
                .body(*rule)
                .ok()
                .and_then(|body| body.comment().map(str::to_string))
                .unwrap_or_default();
            let why = if comment.contains("has no endpoints") {
                " The service has no endpoints at all."
            } else {
                ""
            };
            (
                Verdict::Rejected,
                format!("Rejected by the rule on line {} in {}.{why}", r.line, dump.chain(r.chain).name),
            )
        }
        Fate::Undetermined { rule, reason } => {
            let at = rule.map(|r| format!(" (line {})", dump.rule(r).line)).unwrap_or_default();
            match reason {
                Undecided::MissingChain(c) if marked => {
                    branch_partial = true;
                    masquerade = Some(Masquerade {
                        rule: None,
                        by_kube_proxy: true,
                        to: "a node address (kube-proxy's KUBE-POSTROUTING masquerades marked packets; not in this dump)".to_string(),
                        address: MasqueradeAddress::OutgoingInterface,
                        marked_by: marked_by.clone(),
                    });
                    (
                        Verdict::Masqueraded,
                        format!(
                            "Marked for masquerading{}, then the path goes on in {c}{at}, which is not in the dump: whichever endpoint it picks, kube-proxy's KUBE-POSTROUTING masquerades the marked connection (partial: the endpoint is unknown).",
                            marked_by.as_ref().map(|m| format!(" by line {}", m.line)).unwrap_or_default()
                        ),
                    )
                }
                Undecided::MissingChain(c) => {
                    branch_partial = true;
                    (
                        Verdict::Undetermined,
                        format!(
                            "The path continues in {c}{at}, which is not in the dump; the verdict depends on it{}.",
                            if c.starts_with("KUBE-XLB-") || c.starts_with("KUBE-SVL-") || c.starts_with("KUBE-EXT-") {
                                " (with a local endpoint the source would be preserved; without one the connection would be dropped)"
                            } else {
                                ""
                            }
                        ),
                    )
                }
                Undecided::Unreadable => (
                    Verdict::Undetermined,
                    format!("The target `the rule could not be read`{at} is not interpreted; what happens next is unknown."),
                ),
                Undecided::Target(t) => (
                    Verdict::Undetermined,
                    format!("The target `{t}`{at} is not interpreted; what happens next is unknown."),
                ),
                Undecided::TooDeep => (
                    Verdict::Undetermined,
                    format!("Chain nesting deeper than {}{at}: a loop in the rules.", netfilter::MAX_DEPTH),
                ),
                Undecided::TooManyBranches => (
                    Verdict::Undetermined,
                    format!("More than {} branches{at}; this one was not followed.", netfilter::MAX_BRANCHES),
                ),
            }
        }
        Fate::Delivered | Fate::Forwarded => match (&b.dnat, &b.snat) {
            (None, _) if !tail.rules.is_empty() && !chain_path.iter().any(|c| c == "KUBE-NODEPORTS") => {
                let lines: Vec<String> = tail.rules.iter().map(|r| r.line.to_string()).collect();
                let plural = tail.rules.len() > 1;
                decisive.extend(tail.rules.iter().cloned());
                (
                    Verdict::NotHandled,
                    format!(
                        "It never reaches KUBE-NODEPORTS: the KUBE-SERVICES rule{} that lead{} there (line{} {}) {} not match destination {}. No rule DNATs it, so nothing of the service answers; the connection reaches the node itself (refused unless something else listens on port {}).",
                        if plural { "s" } else { "" },
                        if plural { "" } else { "s" },
                        if plural { "s" } else { "" },
                        lines.join(", "),
                        if plural { "do" } else { "does" },
                        b.original.dst,
                        b.original.dport,
                    ),
                )
            }
            (None, _) => (
                Verdict::NotHandled,
                "No rule DNATs it: nothing of the service answers; the connection reaches the node itself.".to_string(),
            ),
            (Some(_), Some(snat)) => {
                let rule = RuleRef::new(dump, snat.rule);
                let by_kube_proxy = kube::is_kube_chain(&rule.chain);
                let masquerade_target = snat.to == Translation::Masquerade;
                let to = match masquerade_target {
                    false => translation_text(&snat.to),
                    true => "a node address (MASQUERADE uses the address of the interface the packet leaves by: the node IP toward other nodes, a CNI bridge address toward local pods on bridge CNIs)".to_string(),
                };
                let why = match (&marked_by, by_kube_proxy) {
                    (Some(m), true) => format!(" because line {} (in {}) marked it", m.line, m.chain),
                    (_, false) => " — a rule outside kube-proxy's chains".to_string(),
                    (None, true) => String::new(),
                };
                let detail = format!(
                    "DNAT to {endpoint_words}; masqueraded by line {} ({}){why}: the endpoint sees {}.",
                    rule.line,
                    rule.chain,
                    if masquerade_target { "a node address".to_string() } else { to.clone() }
                );
                let address = match (masquerade_target, snat.to.single_address()) {
                    (true, _) => MasqueradeAddress::OutgoingInterface,
                    (false, Some(address)) => MasqueradeAddress::Exact(address),
                    (false, None) => MasqueradeAddress::Range,
                };
                masquerade = Some(Masquerade {
                    rule: Some(rule),
                    by_kube_proxy,
                    to,
                    address,
                    marked_by: marked_by.clone(),
                });
                (Verdict::Masqueraded, detail)
            }
            (Some(_), None) if marked && !has_postrouting => {
                branch_partial = true;
                masquerade = Some(Masquerade {
                    rule: None,
                    by_kube_proxy: true,
                    to: "a node address (kube-proxy's KUBE-POSTROUTING masquerades marked packets; not in this dump)".to_string(),
                    address: MasqueradeAddress::OutgoingInterface,
                    marked_by: marked_by.clone(),
                });
                (
                    Verdict::Masqueraded,
                    format!("DNAT to {endpoint_words}; marked for masquerading and, assuming kube-proxy's KUBE-POSTROUTING (not in this dump), masqueraded."),
                )
            }
            (Some(_), None) => (
                Verdict::Preserved,
                format!("DNAT to {endpoint_words} only; nothing rewrites the source: the endpoint sees the client's address."),
            ),
        },
    };
    let mut detail = detail;
    if let Some(m) = drop_marked_by
        .as_ref()
        .filter(|_| verdict != Verdict::Dropped)
    {
        detail.push_str(&format!(
            " Line {} (in {}) had set kubelet's drop mark 0x8000{}, but a mark does not stop the walk: the rules after it went on, and nothing on this path drops marked packets (kubelet's KUBE-FIREWALL, which does, is hooked only from filter INPUT and OUTPUT).",
            m.line,
            m.chain,
            if m.text.contains("has no local endpoints") {
                " (\"has no local endpoints\")"
            } else {
                ""
            }
        ));
    }
    BranchExplanation {
        endpoint,
        probability: b.probability,
        verdict,
        detail,
        masquerade,
        decisive,
        chain_path,
        assumptions,
        notes,
        partial: partial || branch_partial,
    }
}

/// What a NAT rule translates to, as its rule writes it.
fn translation_text(to: &Translation) -> String {
    match to {
        Translation::Range { first, .. } => first.to_string(),
        Translation::Redirect { port } => format!("this node:{port}"),
        Translation::Unspecified | Translation::Masquerade => String::new(),
    }
}

/// Why a match could not be decided, in words.
fn undecidable_text(why: &Undecidable<'_>) -> String {
    match why {
        Undecidable::UninterpretedOption { module, option } => {
            format!("option `--{option}` of `-m {module}` is not interpreted")
        }
        Undecidable::Interface {
            incoming,
            negated,
            name,
        } => format!(
            "interface test `{}{} {name}` needs the {} interface, which the dump does not say",
            if *negated { "! " } else { "" },
            if *incoming { "-i" } else { "-o" },
            if *incoming { "incoming" } else { "outgoing" }
        ),
        Undecidable::AddressType(t) => format!(
            "address type `{}` is not interpreted",
            t.to_ascii_uppercase()
        ),
        Undecidable::ConnectionState(s) => format!(
            "connection state `{}` is not interpreted",
            s.to_ascii_uppercase()
        ),
        Undecidable::ConntrackWithoutState { module } => {
            format!("`-m {module}` without a state test is not interpreted")
        }
        Undecidable::Ipset { name } => {
            format!("the contents of ipset `{name}` are not in the dump")
        }
        Undecidable::Physdev => "bridge port tests (`-m physdev`) are not interpreted".to_string(),
        Undecidable::Module { name } => format!("match module `-m {name}` is not interpreted"),
    }
}

/// What the walk assumed, in words.
fn assumption_text(kind: &AssumptionKind<'_>) -> String {
    match kind {
        AssumptionKind::Decided { matched, why } => format!(
            "assumed {}: {}",
            if *matched { "to match" } else { "not to match" },
            why.iter()
                .map(undecidable_text)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        AssumptionKind::NoAffinityHistory { action, name } => format!(
            "`-m recent --{action} --name {name}` (session affinity) does not match a new client: it has no entry in that list yet; a returning client would go to the endpoint it used before"
        ),
        AssumptionKind::ConnmarkIgnored => {
            "CONNMARK is not modelled: the packet mark is assumed unchanged".to_string()
        }
        AssumptionKind::AssumedChain { name, mark } => format!(
            "{name} is not in the dump; assumed to be {}'s standard `-j MARK --set-xmark {:#x}/{:#x}`",
            if *name == "KUBE-MARK-DROP" {
                "kubelet"
            } else {
                "kube-proxy"
            },
            mark.value,
            mark.mask
        ),
    }
}

fn dump_text_has(_dump: &RuleReader<'_, '_>, text: &str, needle: &str) -> bool {
    text.contains(needle)
}

fn shape_has_no_local(shape: &ServiceShape) -> bool {
    shape.policy == kube::TrafficPolicy::Local
        && !shape
            .endpoints
            .iter()
            .any(|e| e.locality == kube::Locality::Local)
}

/// The rule that jumped into the chain of the mark rule (e.g. the KUBE-NODEPORTS rule that
/// jumps to KUBE-MARK-MASQ), which is the one worth citing; the mark rule itself if none.
fn caller_rule(dump: &RuleReader<'_, '_>, b: &Branch<'_>, mark_rule: RuleId) -> RuleRef {
    let chain = dump.chain(dump.rule(mark_rule).chain).name;
    let pos = b.steps.iter().position(|s| s.rule == Some(mark_rule));
    let caller = pos.and_then(|p| {
        b.steps[..p].iter().rev().find_map(|s| match &s.action {
            Action::Jump(c) | Action::Goto(c) if *c == chain => s.rule,
            _ => None,
        })
    });
    RuleRef::new(dump, caller.unwrap_or(mark_rule))
}

/// Branches that reach the same endpoint with the same verdict, rules and assumptions are
/// one outcome: their probabilities add up.
fn merge_branches(branches: Vec<BranchExplanation>) -> Vec<BranchExplanation> {
    let mut out: Vec<BranchExplanation> = Vec::new();
    for b in branches {
        match out.iter_mut().find(|o| {
            o.endpoint == b.endpoint
                && o.verdict == b.verdict
                && o.decisive == b.decisive
                && o.assumptions == b.assumptions
        }) {
            Some(o) => o.probability += b.probability,
            None => out.push(b),
        }
    }
    out
}

fn overall(branches: &[BranchExplanation]) -> Verdict {
    let verdicts: BTreeSet<Verdict> = branches.iter().map(|b| b.verdict).collect();
    if verdicts.len() == 1 {
        return verdicts.into_iter().next().unwrap_or(Verdict::Undetermined);
    }
    if verdicts.is_empty()
        || branches.iter().any(|b| !b.assumptions.is_empty())
        || verdicts.contains(&Verdict::Undetermined)
    {
        return Verdict::Undetermined;
    }
    // A random mix (e.g. hairpin: only the endpoint's own branch is masqueraded): the
    // outcome worst for the client's address stands for the class; `mixed` has them all.
    [
        Verdict::Masqueraded,
        Verdict::Rejected,
        Verdict::Dropped,
        Verdict::NotHandled,
    ]
    .into_iter()
    .find(|v| verdicts.contains(v))
    .unwrap_or(Verdict::Preserved)
}

/// The verdicts of a class whose branches differ by chance alone, `verdict`'s first, then
/// the likelier; empty if all agree or if an undecidable rule is involved.
fn mixed_outcomes(branches: &[BranchExplanation], verdict: Verdict) -> Vec<Outcome> {
    let verdicts: BTreeSet<Verdict> = branches.iter().map(|b| b.verdict).collect();
    if verdicts.len() < 2
        || verdicts.contains(&Verdict::Undetermined)
        || branches.iter().any(|b| !b.assumptions.is_empty())
    {
        return Vec::new();
    }
    let mut out: Vec<Outcome> = Vec::new();
    for b in branches {
        let entry = match out.iter_mut().find(|o| o.verdict == b.verdict) {
            Some(o) => o,
            None => {
                out.push(Outcome {
                    verdict: b.verdict,
                    probability: 0.0,
                    endpoints: Vec::new(),
                });
                out.last_mut().expect("just pushed")
            }
        };
        entry.probability += b.probability;
        if let Some(e) = &b.endpoint
            && !entry.endpoints.contains(e)
        {
            entry.endpoints.push(e.clone());
        }
    }
    out.sort_by(|a, b| {
        (b.verdict == verdict)
            .cmp(&(a.verdict == verdict))
            .then(b.probability.total_cmp(&a.probability))
    });
    out
}

/// "Mixed: masqueraded for 1 of 2 endpoints (…), preserved otherwise (…)."
fn summarise_mixed(outcomes: &[Outcome], source: IpAddr) -> String {
    let total: usize = outcomes.iter().map(|o| o.endpoints.len().max(1)).sum();
    let what = |o: &Outcome| {
        format!(
            "{}, p={:.4}",
            list_or(&o.endpoints, "no endpoint"),
            o.probability
        )
    };
    let mut parts = Vec::new();
    for (i, o) in outcomes.iter().enumerate() {
        if i + 1 == outcomes.len() {
            parts.push(format!("{} otherwise ({})", o.verdict.as_str(), what(o)));
        } else {
            let n = o.endpoints.len().max(1);
            parts.push(format!(
                "{} for {n} of {total} endpoint{} ({})",
                o.verdict.as_str(),
                if total == 1 { "" } else { "s" },
                what(o)
            ));
        }
    }
    let hairpin = outcomes.iter().any(|o| {
        o.verdict == Verdict::Masqueraded
            && o.endpoints.iter().any(|e| endpoint_ip(e) == Some(source))
    });
    format!(
        "Mixed, by the random choice of endpoint: {}.{}",
        parts.join(", "),
        if hairpin {
            " The connection that lands on the client's own address is masqueraded (hairpin); the others keep the client's address."
        } else {
            ""
        }
    )
}

fn summarise(branches: &[BranchExplanation], verdict: Verdict) -> String {
    let endpoints: Vec<String> = branches
        .iter()
        .filter_map(|b| b.endpoint.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let all_same = branches.iter().all(|b| b.verdict == verdict);
    let forks = branches.iter().any(|b| !b.assumptions.is_empty());
    match verdict {
        Verdict::Preserved => format!(
            "Source IP preserved: DNAT only, to {}.",
            list_or(&endpoints, "an endpoint")
        ),
        Verdict::Masqueraded if all_same => {
            let kube = branches
                .iter()
                .filter_map(|b| b.masquerade.as_ref())
                .all(|m| m.by_kube_proxy);
            format!(
                "Masqueraded{}: the endpoint ({}) sees a node address, not the client's.",
                if kube {
                    " by kube-proxy"
                } else {
                    " by a rule outside kube-proxy"
                },
                list_or(&endpoints, "unknown")
            )
        }
        _ if all_same && !forks => branches
            .first()
            .map(|b| b.detail.clone())
            .unwrap_or_default(),
        _ => {
            let outcomes: BTreeSet<&str> = branches.iter().map(|b| b.verdict.as_str()).collect();
            format!(
                "Undetermined: depending on rules the evaluator cannot decide, the connection is {}; see the branches.",
                outcomes.into_iter().collect::<Vec<_>>().join(" or ")
            )
        }
    }
}

fn list_or(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        empty.to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netfilter::{Context, evaluate};
    use crate::parse::parse_text;

    fn fixture(name: &str) -> String {
        let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).expect("fixture")
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    /// Endpoints reached (sorted), whether any branch is masqueraded, and the fates'
    /// verdict words — like kube-proxy's tracer output (reference §12.1).
    #[track_caller]
    fn trace(
        dump_name: &str,
        node_ip: &str,
        src: &str,
        dst: &str,
        dport: u16,
    ) -> (Vec<String>, bool, Vec<&'static str>) {
        let text = fixture(dump_name);
        let parsed = parse_text(&text);
        let dump = &parsed.rules();
        let host = Host {
            local_addresses: vec![ip(node_ip)],
        };
        let nat = kube::find_table(
            dump,
            &kube::table_set(dump, crate::model::RulesetId(0)),
            "nat",
        )
        .expect("nat");
        let pipeline =
            Pipeline::from_iptables(dump, &kube::table_set(dump, dump.table(nat).ruleset));
        let ctx = Context {
            rules: *dump,
            pipeline: &pipeline,
            host: &host,
            assumed_chains: &[],
        };
        let origin = if host.is_local(ip(src)) {
            Origin::Local
        } else {
            Origin::Remote
        };
        let branches = evaluate(&ctx, Packet::tcp(ip(src), ip(dst), dport, origin));
        let mut endpoints: Vec<String> = branches
            .iter()
            .filter_map(|b| b.dnat.as_ref().map(|d| translation_text(&d.to)))
            .collect();
        endpoints.sort();
        endpoints.dedup();
        let masq = branches.iter().any(|b| b.snat.is_some());
        let fates = branches
            .iter()
            .map(|b| match &b.fate {
                Fate::Dropped { .. } => "DROP",
                Fate::Rejected { .. } => "REJECT",
                Fate::Undetermined { .. } => "UNDETERMINED",
                Fate::Delivered if b.dnat.is_none() => "LOCAL",
                Fate::Delivered | Fate::Forwarded => "DNAT",
            })
            .collect();
        (endpoints, masq, fates)
    }

    const D: &str = "nodes/v1.28-ext-multi-service-nft.txt";
    const E: &str = "nodes/v1.28-ext-etp-local-nodeport-addresses-nft.txt";

    // Reference §12.2 TestOnlyLocalNodePorts against dump E (the same rules).
    #[test]
    fn only_local_node_ports_follow_kube_proxy_tracer() {
        let node = "192.168.0.2";
        let cases: &[(&str, &str, u16, &[&str], bool)] = &[
            (
                "10.0.0.2",
                "172.30.0.41",
                80,
                &["10.180.0.1:80", "10.180.2.1:80"],
                false,
            ),
            (
                "203.0.113.2",
                "192.168.0.2",
                3001,
                &["10.180.2.1:80"],
                false,
            ),
            (
                "10.0.0.2",
                "192.168.0.2",
                3001,
                &["10.180.0.1:80", "10.180.2.1:80"],
                false,
            ),
            // Node-originated: masqueraded by the LOCAL rule, both endpoints (dump E notes).
            (
                "192.168.0.2",
                "192.168.0.2",
                3001,
                &["10.180.0.1:80", "10.180.2.1:80"],
                true,
            ),
        ];
        for (src, dst, port, want, masq) in cases {
            let (eps, got_masq, _) = trace(E, node, src, dst, *port);
            assert_eq!(
                eps,
                want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{src} → {dst}:{port}"
            );
            assert_eq!(got_masq, *masq, "{src} → {dst}:{port}");
        }
        // pod → 127.0.0.1:3001: the tail-call only covers -d 192.168.0.2, so no DNAT.
        let (eps, _, fates) = trace(E, node, "127.0.0.1", "127.0.0.1", 3001);
        assert!(eps.is_empty());
        assert_eq!(fates, vec!["LOCAL"]);
    }

    // Reference §12.2 TestTracePackets / dump D expectations for the nodePorts.
    #[test]
    fn dump_d_node_ports_follow_kube_proxy_tracer() {
        let node = "192.168.0.2";
        // external → eTP=Local svc2 without local endpoints: no DNAT, filter DROP.
        let (eps, masq, fates) = trace(D, node, "203.0.113.2", "192.168.0.2", 3001);
        assert!(eps.is_empty() && !masq);
        assert_eq!(fates, vec!["DROP"]);
        // node → its own nodePort: masqueraded, cluster endpoint.
        let (eps, masq, _) = trace(D, node, "192.168.0.2", "192.168.0.2", 3001);
        assert_eq!((eps, masq), (vec!["10.180.0.2:80".to_string()], true));
        // pod → nodePort: short-circuit to the cluster chain, not masqueraded.
        let (eps, masq, _) = trace(D, node, "10.0.0.2", "192.168.0.2", 3001);
        assert_eq!((eps, masq), (vec!["10.180.0.2:80".to_string()], false));
        // eTP=Cluster 3003 and 3002: masqueraded from anywhere.
        for src in ["203.0.113.2", "10.0.0.2", "192.168.0.2"] {
            let (eps, masq, _) = trace(D, node, src, "192.168.0.2", 3003);
            assert_eq!(
                (eps, masq),
                (vec!["10.180.0.3:80".to_string()], true),
                "{src}"
            );
            let (_, masq, _) = trace(D, node, src, "192.168.0.2", 3002);
            assert!(masq, "{src} :3002");
        }
        // LB source ranges: 203.0.113.130 → 5.6.7.8:80 is dropped by KUBE-PROXY-FIREWALL.
        let (_, _, fates) = trace(D, node, "203.0.113.130", "5.6.7.8", 80);
        assert_eq!(fates, vec!["DROP"]);
        // Cluster IP without endpoints: REJECT (filter KUBE-SERVICES via FORWARD).
        let (_, _, fates) = trace(D, node, "10.0.0.2", "172.30.0.46", 80);
        assert_eq!(fates, vec!["REJECT"]);
    }

    // Reference §12.2 TestNodePort-style rows (eTP=Cluster) against the 1.24 fixture's 3001.
    #[test]
    fn cluster_node_port_is_masqueraded_for_every_source() {
        let f = "nodes/v1.24-ext-cluster-and-local-legacy.txt";
        for (src, dst) in [
            ("203.0.113.2", "192.168.0.2"),
            ("192.168.0.2", "192.168.0.2"),
            ("127.0.0.1", "127.0.0.1"),
        ] {
            let (eps, masq, _) = trace(f, "192.168.0.2", src, dst, 3001);
            assert_eq!(
                eps,
                vec!["10.180.0.1:80".to_string(), "10.180.2.1:80".to_string()],
                "{src}"
            );
            assert!(masq, "{src}");
        }
    }

    fn explained(dump_name: &str, target: &str, node_ip: Option<&str>) -> PortExplanation {
        let text = fixture(dump_name);
        let parsed = parse_text(&text);
        let options = ExplainOptions {
            target: target.parse().expect("target"),
            src: None,
            dst: None,
            node_ips: node_ip.map(ip).into_iter().collect(),
        };
        let mut e = explain(&parsed.rules(), &options);
        assert_eq!(e.ports.len(), 1, "{dump_name} {target}");
        e.ports.remove(0)
    }

    fn verdict_of(port: &PortExplanation, kind: ClassKind) -> Verdict {
        port.classes
            .iter()
            .find(|c| c.kind == kind)
            .map(|c| c.verdict)
            .expect("class")
    }

    // Reference §9.2 table, XLB era (E2) and 1.24 (E4): Local with / without local endpoints.
    #[test]
    fn local_policy_verdicts_per_source_class_in_both_eras() {
        for f in [
            "nodes/v1.21-xlb-cluster-and-local-legacy.txt",
            "nodes/v1.24-ext-cluster-and-local-legacy.txt",
        ] {
            let with_local = explained(f, "3002", None);
            assert_eq!(with_local.shape.policy, kube::TrafficPolicy::Local, "{f}");
            assert_eq!(
                verdict_of(&with_local, ClassKind::Other),
                Verdict::Preserved,
                "{f}"
            );
            assert_eq!(
                verdict_of(&with_local, ClassKind::Loopback),
                Verdict::Masqueraded,
                "{f}"
            );
            assert_eq!(
                verdict_of(&with_local, ClassKind::Node),
                Verdict::Masqueraded,
                "{f}"
            );
            assert_eq!(
                verdict_of(&with_local, ClassKind::Pods),
                Verdict::Preserved,
                "{f}"
            );
            let external = with_local
                .classes
                .iter()
                .find(|c| c.kind == ClassKind::Other)
                .expect("external");
            assert_eq!(external.branches.len(), 1);
            assert_eq!(
                external.branches[0].endpoint.as_deref(),
                Some("10.180.2.2:80")
            );
            let without = explained(f, "3003", None);
            assert_eq!(
                verdict_of(&without, ClassKind::Other),
                Verdict::Dropped,
                "{f}"
            );
            let cluster = explained(f, "3001", None);
            assert_eq!(cluster.shape.policy, kube::TrafficPolicy::Cluster, "{f}");
            for c in &cluster.classes {
                assert_eq!(c.verdict, Verdict::Masqueraded, "{f} {}", c.name);
            }
        }
    }

    #[test]
    fn kube_mark_drop_is_reported_as_dropped_by_kubelet_firewall() {
        let port = explained("nodes/v1.21-xlb-cluster-and-local-legacy.txt", "3003", None);
        let external = port
            .classes
            .iter()
            .find(|c| c.kind == ClassKind::Other)
            .expect("external");
        assert_eq!(external.verdict, Verdict::Dropped);
        assert!(external.summary.contains("0x8000"), "{}", external.summary);
        assert!(
            external.summary.contains("no local endpoints"),
            "{}",
            external.summary
        );
    }

    #[test]
    fn kube_mark_drop_only_marks_so_later_rules_still_apply() {
        // Dump C's fixture quirk: three services share nodePort 3001. KUBE-XLB of ns2/svc2
        // only sets the drop mark and returns; KUBE-NODEPORTS goes on to ns2b/svc2b's rule,
        // which DNATs, and a forwarded packet never meets kubelet's KUBE-FIREWALL (INPUT and
        // OUTPUT only). So the kernel masquerades it to 10.180.0.3:80, not drops it.
        let port = explained(
            "nodes/v1.23-xlb-multi-service-no-local-endpoints-legacy.txt",
            "3001",
            None,
        );
        let external = port
            .classes
            .iter()
            .find(|c| c.kind == ClassKind::Other)
            .expect("external");
        assert_eq!(external.verdict, Verdict::Masqueraded);
        assert_eq!(
            external.branches[0].endpoint.as_deref(),
            Some("10.180.0.3:80")
        );
    }

    // Reference §14 dumps B and E: `--nodeport-addresses` makes KUBE-SERVICES reach
    // KUBE-NODEPORTS only for `-d <node IP>`; without --node-ip that address is used.
    #[test]
    fn nodeport_addresses_give_the_node_address_without_node_ip() {
        for (f, node) in [
            (
                "nodes/v1.23-xlb-etp-local-nodeport-addresses-legacy.txt",
                "10.20.30.51",
            ),
            (
                "nodes/v1.28-ext-etp-local-nodeport-addresses-nft.txt",
                "192.168.0.2",
            ),
        ] {
            let port = explained(f, "3001", None);
            assert!(
                port.assumptions
                    .iter()
                    .any(|a| a.contains("--nodeport-addresses") && a.contains(node)),
                "{f}: {:?}",
                port.assumptions
            );
            let external = port
                .classes
                .iter()
                .find(|c| c.kind == ClassKind::Other)
                .expect("external");
            assert_eq!(external.destination, ip(node), "{f}");
            assert!(!external.destination_symbolic, "{f}");
            assert_eq!(external.verdict, Verdict::Preserved, "{f}");
            assert_eq!(
                external.branches[0].endpoint.as_deref(),
                Some("10.180.2.1:80"),
                "{f}"
            );
            assert_eq!(
                verdict_of(&port, ClassKind::Node),
                Verdict::Masqueraded,
                "{f}"
            );
            assert_eq!(
                verdict_of(&port, ClassKind::Pods),
                Verdict::Preserved,
                "{f}"
            );
            // 127.0.0.1 is not in the list: kube-proxy does not handle it, and says why.
            let lo = port
                .classes
                .iter()
                .find(|c| c.kind == ClassKind::Loopback)
                .expect("loopback");
            assert_eq!(lo.verdict, Verdict::NotHandled, "{f}");
            assert!(lo.summary.contains("never reaches KUBE-NODEPORTS"), "{f}");
        }
    }

    #[test]
    fn conflicting_node_port_rules_are_called_out() {
        let port = explained(
            "nodes/v1.23-xlb-multi-service-no-local-endpoints-legacy.txt",
            "3001",
            None,
        );
        assert!(
            port.notes.iter().any(|n| n.contains("Conflicting rules")
                && n.contains("ns2b/svc2b:p80 (line 51)")
                && n.contains("ns3/svc3:p80 (line 52)")),
            "{:?}",
            port.notes
        );
        let external = port
            .classes
            .iter()
            .find(|c| c.kind == ClassKind::Other)
            .expect("external");
        assert!(
            external.summary.contains("line 51 (ns2b/svc2b:p80)"),
            "{}",
            external.summary
        );
        assert!(
            external.branches[0].detail.contains("drop mark 0x8000"),
            "{}",
            external.branches[0].detail
        );
        // One service per port: no such note.
        let single = explained("nodes/v1.28-ext-multi-service-nft.txt", "3001", None);
        assert!(!single.notes.iter().any(|n| n.contains("Conflicting")));
    }

    #[test]
    fn random_mix_of_verdicts_is_reported_as_mixed() {
        let port = explained("nodes/v1.24-ext-cluster-and-local-legacy.txt", "3002", None);
        let hairpin = port
            .classes
            .iter()
            .find(|c| c.kind == ClassKind::Endpoint && c.source == ip("10.180.0.2"))
            .expect("hairpin");
        assert_eq!(hairpin.verdict, Verdict::Masqueraded);
        let got: Vec<(Verdict, f64, Vec<String>)> = hairpin
            .mixed
            .iter()
            .map(|o| (o.verdict, o.probability, o.endpoints.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Verdict::Masqueraded, 0.5, vec!["10.180.0.2:80".to_string()]),
                (Verdict::Preserved, 0.5, vec!["10.180.2.2:80".to_string()]),
            ]
        );
        assert!(
            hairpin.summary.contains("masqueraded for 1 of 2 endpoints"),
            "{}",
            hairpin.summary
        );
        // Agreeing branches, or undecidable ones, are not "mixed".
        assert!(verdict_of(&port, ClassKind::Pods) == Verdict::Preserved);
        assert!(port.classes.iter().filter(|c| !c.mixed.is_empty()).count() == 2);
        let forked = explained(
            "nodes/v1.28-ext-etp-local-unknown-module-nft.txt",
            "3001",
            Some("192.168.0.2"),
        );
        assert!(forked.classes.iter().all(|c| c.mixed.is_empty()));
    }

    #[test]
    fn a_missing_node_port_lists_the_ones_the_dump_has() {
        let text = fixture("nodes/v1.28-ext-multi-service-nft.txt");
        let parsed = parse_text(&text);
        let e = explain(
            &parsed.rules(),
            &ExplainOptions {
                target: PortOrService::Port(9999),
                src: None,
                dst: None,
                node_ips: Vec::new(),
            },
        );
        assert!(e.ports.is_empty());
        assert_eq!(
            e.available,
            vec![
                "3001/tcp (ns2/svc2:p80)".to_string(),
                "3003/tcp (ns3/svc3:p80)".to_string(),
                "3002/tcp (ns5/svc5:p80)".to_string(),
            ]
        );
    }

    #[test]
    fn seed_fragments_say_what_can_be_said() {
        let local = explained("partial/seed-grep-31015-etp-local.txt", "31015", None);
        assert!(local.partial);
        assert_eq!(local.shape.policy, kube::TrafficPolicy::Local);
        assert!(
            local
                .shape
                .missing_chains
                .contains(&"KUBE-XLB-3LS5F4HE6J2O753K".to_string())
        );
        assert_eq!(
            verdict_of(&local, ClassKind::Loopback),
            Verdict::Masqueraded
        );
        assert_eq!(verdict_of(&local, ClassKind::Other), Verdict::Undetermined);
        assert!(
            local
                .notes
                .iter()
                .any(|n| n.contains("does not restrict access to loopback"))
        );
        let cluster = explained("partial/seed-grep-31465-etp-cluster.txt", "31465", None);
        assert_eq!(cluster.shape.policy, kube::TrafficPolicy::Cluster);
        for c in &cluster.classes {
            assert_eq!(c.verdict, Verdict::Masqueraded, "{}", c.name);
        }
    }

    // Found reviewing the generator's `*-no-endpoints` scenarios: the policy line said "the
    // rules that would show it are missing", as for a truncated dump, and the era was
    // "unrecognised (≥1.0)" although the filter REJECT and KUBE-PROXY-FIREWALL date it.
    #[test]
    fn service_without_endpoints_says_why_its_policy_is_not_visible() {
        for (dump, versions) in [
            (
                "nodes/generated/v1.28-nft-etp-local-no-endpoints.txt",
                "≥1.25",
            ),
            (
                "nodes/generated/v1.21-legacy-etp-cluster-no-endpoints.txt",
                "≥1.13",
            ),
        ] {
            let port = explained(dump, "30080", None);
            assert_eq!(port.shape.policy, kube::TrafficPolicy::Unknown, "{dump}");
            assert!(
                port.shape.policy_evidence.contains("has no endpoints")
                    && !port.shape.policy_evidence.contains("missing"),
                "{dump}: {}",
                port.shape.policy_evidence
            );
            assert_eq!(port.shape.versions, versions, "{dump}");
            for class in &port.classes {
                assert_eq!(class.verdict, Verdict::Rejected, "{dump} {:?}", class.kind);
            }
        }
    }

    #[test]
    fn cni_masquerade_outside_kube_proxy_is_found() {
        let port = explained(
            "nodes/v1.28-ext-etp-local-cni-masquerade-breaks-preservation-nft.txt",
            "3001",
            Some("192.168.0.2"),
        );
        let external = port
            .classes
            .iter()
            .find(|c| c.kind == ClassKind::Other)
            .expect("external");
        assert_eq!(external.verdict, Verdict::Masqueraded);
        let m = external.branches[0]
            .masquerade
            .as_ref()
            .expect("masquerade");
        assert!(!m.by_kube_proxy);
        assert_eq!(
            m.rule.as_ref().map(|r| r.chain.as_str()),
            Some("FLANNEL-POSTRTG")
        );
    }

    #[test]
    fn unknown_module_forks_and_names_the_rule() {
        let port = explained(
            "nodes/v1.28-ext-etp-local-unknown-module-nft.txt",
            "3001",
            Some("192.168.0.2"),
        );
        let external = port
            .classes
            .iter()
            .find(|c| c.kind == ClassKind::Other)
            .expect("external");
        assert_eq!(external.verdict, Verdict::Undetermined);
        let verdicts: BTreeSet<Verdict> = external.branches.iter().map(|b| b.verdict).collect();
        assert_eq!(
            verdicts,
            [Verdict::Preserved, Verdict::Dropped].into_iter().collect()
        );
        assert!(
            external
                .branches
                .iter()
                .all(|b| b.assumptions.iter().any(|a| a.contains("geoip")))
        );
    }

    #[test]
    fn service_name_target_finds_its_node_port() {
        let port = explained(
            "partial/seed-grep-31015-etp-local.txt",
            "test/nginx-externaltrafficpolicy",
            None,
        );
        assert_eq!(port.node_port, 31015);
    }

    #[test]
    fn statistic_probabilities_multiply_down_the_chain() {
        // Dump A: three endpoints at 1/3, then 1/2 of the rest, then the rest.
        let port = explained("nodes/v1.21-xlb-etp-local-legacy.txt", "30010", None);
        let node = port
            .classes
            .iter()
            .find(|c| c.kind == ClassKind::Node)
            .expect("node");
        assert_eq!(node.branches.len(), 3);
        for b in &node.branches {
            assert!(
                (b.probability - 1.0 / 3.0).abs() < 1e-6,
                "{:?} {}",
                b.endpoint,
                b.probability
            );
        }
    }

    #[test]
    fn jump_loops_end_undetermined_instead_of_overflowing() {
        let text = "*nat\n:PREROUTING ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A PREROUTING -j A\n-A A -j B\n-A B -j A\nCOMMIT\n";
        let parsed = parse_text(text);
        let host = Host::default();
        let rules = parsed.rules();
        let pipeline =
            Pipeline::from_iptables(&rules, &kube::table_set(&rules, crate::model::RulesetId(0)));
        let ctx = Context {
            rules,
            pipeline: &pipeline,
            host: &host,
            assumed_chains: &[],
        };
        let branches = evaluate(
            &ctx,
            Packet::tcp(ip("1.2.3.4"), ip("5.6.7.8"), 80, Origin::Remote),
        );
        assert_eq!(branches.len(), 1);
        assert!(matches!(
            branches[0].fate,
            Fate::Undetermined {
                reason: Undecided::TooDeep,
                ..
            }
        ));
    }
}
