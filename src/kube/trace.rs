//! `trace`: one packet through a node's rules in kernel order, with every branch it can
//! take. The walk is the netfilter core's ([`netfilter::trace`]), the same one `explain`
//! runs; this layer picks the rulesets of the packet's family, sets this node's addresses,
//! enters nat at KUBE-SERVICES for a fragment without nat hook chains (as kube-proxy's hooks
//! would), and turns each branch into owned, typed events for the report: the rules that
//! matched, the routing decision, and (verbose) every rule tested that did not match with
//! the test that failed.

use std::net::IpAddr;

use crate::kube::chains;
use crate::kube::explain::{enter_nat_at, nat_entry};
use crate::kube::explanation::RuleRef;
use crate::kube::findings::BranchNote;
use crate::kube::mode::{self, UnsupportedMode};
use crate::kube::verdict::{branch_note, rule_ref};
use crate::model::{Family, Match, ModuleKind, Policy, Protocol, RuleId, RulesetId};
use crate::netfilter::pipeline::hooks_before_routing;
use crate::netfilter::{
    self, Action, Branch, Context, Event, Fate, Hook, Host, Miss, Origin, Packet, Pipeline, Step,
    Translation, Undecided,
};
use crate::parse::RuleReader;
use crate::parse::print::match_text;

/// What `trace` was asked.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceOptions {
    /// The packet (its origin says whether it is generated on this node).
    pub packet: Packet,
    /// The packet mark it starts with.
    pub mark: u32,
    /// This node's addresses (`addrtype LOCAL`, and where routing delivers).
    pub node_ips: Vec<IpAddr>,
    /// Record every rule tested that did not match, and why.
    pub verbose: bool,
}

/// The packet's walk through each of the dump's rulesets of its family.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The packet as asked.
    pub packet: Packet,
    /// The mark it started with.
    pub mark: u32,
    /// The addresses taken as this node's (besides loopback).
    pub node_addresses: Vec<IpAddr>,
    /// Whether misses were recorded.
    pub verbose: bool,
    /// One walk per ruleset of the packet's family (an nft and a legacy ruleset are
    /// walked apart); empty when the dump has none.
    pub rulesets: Vec<RulesetTrace>,
    /// The families the dump does have, when it has no ruleset of the packet's.
    pub other_families: Vec<Family>,
    /// When the dump is from a proxy mode `explain` cannot analyse: that mode, whose own
    /// datapath (IPVS, nftables, eBPF, kube-proxy's process) does what this walk of the
    /// iptables rules cannot show.
    pub unsupported_mode: Option<UnsupportedMode>,
}

/// The walk through one ruleset.
#[derive(Debug, Clone, PartialEq)]
pub struct RulesetTrace {
    /// The family.
    pub family: Family,
    /// The program that saved it (`iptables-nft-save`), when its header says.
    pub program: Option<String>,
    /// The line the ruleset starts on.
    pub first_line: u32,
    /// Tables a whole node has that this ruleset lacks (`nat`, `filter`).
    pub missing_tables: Vec<&'static str>,
    /// For a fragment without nat PREROUTING/OUTPUT: the chain nat was entered at.
    pub nat_entered_at: Option<String>,
    /// Every way the packet can go.
    pub branches: Vec<TracedBranch>,
}

/// One way the packet can go.
#[derive(Debug, Clone, PartialEq)]
pub struct TracedBranch {
    /// Its chance among the branches with the same assumptions.
    pub probability: f64,
    /// What happened, in order.
    pub events: Vec<TraceEvent>,
    /// How it ends.
    pub end: TraceEnd,
    /// The packet at the end (after NAT).
    pub packet: Packet,
    /// The mark at the end.
    pub mark: u32,
    /// The destination NAT, if any.
    pub dnat: Option<NatDone>,
    /// The source NAT, if any.
    pub snat: Option<NatDone>,
    /// What the branch assumed (undecidable tests, missing standard chains...).
    pub notes: Vec<BranchNote>,
}

/// A NAT that happened.
#[derive(Debug, Clone, PartialEq)]
pub struct NatDone {
    /// The rule.
    pub rule: RuleRef,
    /// What it translated to.
    pub to: Translation,
}

/// How a traced branch ends.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceEnd {
    /// Delivered to a socket on this node.
    Delivered,
    /// Sent out of the node.
    Forwarded,
    /// Dropped by a rule, or by a chain's policy (`rule: None`).
    Dropped {
        /// The rule.
        rule: Option<RuleRef>,
        /// The chain.
        chain: String,
    },
    /// Refused by a REJECT rule.
    Rejected {
        /// The rule.
        rule: RuleRef,
    },
    /// The walk could not follow it further.
    Undetermined {
        /// Where it stopped.
        rule: Option<RuleRef>,
        /// Why.
        why: Unfollowed,
    },
}

/// Why a branch could not be followed (an owned [`Undecided`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Unfollowed {
    /// A jump to a chain the dump does not have.
    MissingChain(String),
    /// A target whose effect is not modelled.
    Target(String),
    /// The rule could not be read.
    Unreadable,
    /// A jump back into this chain while it is walked with the packet unchanged.
    Loop(String),
    /// Chains nested deeper than the walk follows (no cycle).
    TooDeep,
    /// More distinct paths than the walk follows (the limit).
    TooManyPaths(usize),
    /// More rule evaluations than the walk does (the limit).
    TooMuchWork(u64),
}

/// One thing that happened to the packet.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceEvent {
    /// A rule matched and did something.
    Matched {
        /// The hook.
        hook: Hook,
        /// The rule.
        rule: RuleRef,
        /// What it did.
        action: TraceAction,
    },
    /// A base chain's policy decided.
    Policy {
        /// The hook.
        hook: Hook,
        /// The table.
        table: String,
        /// The chain.
        chain: String,
        /// The policy.
        policy: Policy,
    },
    /// A rule was tested and did not match (verbose only).
    Missed {
        /// The hook.
        hook: Hook,
        /// The rule.
        rule: RuleRef,
        /// The test that failed, as written.
        test: String,
        /// What the packet had instead.
        fact: MissFact,
    },
    /// The routing decision after the hooks before it.
    Routed {
        /// The destination routed (after any DNAT).
        destination: IpAddr,
        /// True if it is this node's: delivered locally.
        local: bool,
    },
}

/// What a matching rule did (an owned [`Action`]).
#[derive(Debug, Clone, PartialEq)]
pub enum TraceAction {
    /// Jumped to a chain.
    Jump(String),
    /// Went to a chain (`-g`).
    Goto(String),
    /// Returned.
    Return,
    /// Changed the mark.
    Mark {
        /// Before.
        before: u32,
        /// After.
        after: u32,
    },
    /// Jumped to a chain missing from the dump, assumed to set a mark.
    AssumedMark {
        /// The chain.
        chain: String,
        /// Before.
        before: u32,
        /// After.
        after: u32,
    },
    /// Destination NAT.
    Dnat(Translation),
    /// Source NAT.
    Snat(Translation),
    /// Accepted: the rest of this table at this hook is skipped.
    Accept,
    /// Dropped.
    Drop,
    /// Rejected.
    Reject,
    /// Matched, changed nothing (a comment, LOG, counters).
    NoEffect,
    /// A target whose effect is not modelled; the walk went on.
    Ignored(String),
}

/// What the packet had where a test failed.
#[derive(Debug, Clone, PartialEq)]
pub enum MissFact {
    /// `-s`: its source.
    Source(IpAddr),
    /// `-d`: its destination.
    Destination(IpAddr),
    /// `-p`: its protocol.
    Protocol(Protocol),
    /// `-i`/`-o`: the interface, when given.
    Interface {
        /// `-i` (true) or `-o`.
        incoming: bool,
        /// The packet's interface.
        name: Option<String>,
    },
    /// `-f`: a first packet is not a fragment.
    NotAFragment,
    /// A port test: its ports.
    Ports {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
    },
    /// `-m addrtype`: whether the addresses it tests are this node's (`None`: not tested).
    AddressTypes {
        /// The source is local.
        source_local: Option<bool>,
        /// The destination is local.
        destination_local: Option<bool>,
    },
    /// `-m mark`: its mark.
    Mark(u32),
    /// A connection-state test: it is a new connection.
    NewConnection,
    /// Any other test.
    Other,
}

/// Traces the packet through every ruleset of its family.
pub fn trace(rules: &RuleReader<'_, '_>, options: &TraceOptions) -> Trace {
    let dump = rules.dump();
    let family = match options.packet.dst {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    };
    let mut node_addresses = options.node_ips.clone();
    // A packet generated here leaves from one of this node's addresses.
    if options.packet.origin == Origin::Local
        && !options.packet.src.is_loopback()
        && !node_addresses.contains(&options.packet.src)
    {
        node_addresses.push(options.packet.src);
    }
    let host = Host {
        local_addresses: node_addresses.clone(),
    };
    let mut seen_programs: Vec<Option<&str>> = Vec::new();
    let mut walks = Vec::new();
    for (index, ruleset) in dump.rulesets.iter().enumerate() {
        let program = ruleset.generator.map(|g| g.program);
        if ruleset.family != family || seen_programs.contains(&program) {
            continue;
        }
        seen_programs.push(program);
        walks.push(trace_ruleset(
            rules,
            RulesetId(index as u32),
            &host,
            options,
        ));
    }
    let mut other_families: Vec<Family> = Vec::new();
    if walks.is_empty() {
        for r in &dump.rulesets {
            if !other_families.contains(&r.family) {
                other_families.push(r.family);
            }
        }
    }
    Trace {
        packet: options.packet.clone(),
        mark: options.mark,
        node_addresses,
        verbose: options.verbose,
        rulesets: walks,
        other_families,
        unsupported_mode: mode::unanalysed(rules, &options.node_ips),
    }
}

fn trace_ruleset(
    rules: &RuleReader<'_, '_>,
    id: RulesetId,
    host: &Host,
    options: &TraceOptions,
) -> RulesetTrace {
    let dump = rules.dump();
    let ruleset = &dump.rulesets[id.0 as usize];
    let tables = dump.node_tables(id);
    let missing_tables = ["nat", "filter"]
        .into_iter()
        .filter(|name| {
            dump.find_table(&tables, name)
                .is_none_or(|t| dump.table(t).line.is_none())
        })
        .collect();
    let mut pipeline = Pipeline::from_iptables(dump, &tables);
    let nat = dump.find_table(&tables, "nat");
    let mut nat_entered_at = None;
    if let Some(nat) = nat
        && let Some(start) = nat_entry(rules, nat)
    {
        nat_entered_at = Some(dump.chain(start).name.to_string());
        enter_nat_at(&mut pipeline, nat, start);
    }
    let assumed_chains = nat
        .map(|nat| chains::assumed_mark_chains(dump, nat))
        .unwrap_or_default();
    let ctx = Context {
        rules: *rules,
        pipeline: &pipeline,
        host,
        assumed_chains: &assumed_chains,
        max_paths: netfilter::MAX_PATHS,
    };
    let branches = netfilter::trace(&ctx, options.packet.clone(), options.mark, options.verbose)
        .iter()
        .map(|b| traced_branch(rules, host, b))
        .collect();
    RulesetTrace {
        family: ruleset.family,
        program: ruleset.generator.map(|g| g.program.to_string()),
        first_line: ruleset.first_line,
        missing_tables,
        nat_entered_at,
        branches,
    }
}

/// The branch as owned events, in the order they happened.
fn traced_branch(rules: &RuleReader<'_, '_>, host: &Host, b: &Branch<'_>) -> TracedBranch {
    let mut events = Vec::new();
    let mut notes = Vec::new();
    for event in b.trail.events() {
        match event {
            Event::Step(step) => events.push(matched(rules, step)),
            Event::Miss(miss) => events.push(missed(rules, host, miss)),
            Event::Assumption(assumption) => notes.push(branch_note(rules, assumption)),
        }
    }
    insert_routing(&mut events, b, host);
    let nat_done = |nat: &netfilter::Nat| NatDone {
        rule: rule_ref(rules, nat.rule),
        to: nat.to,
    };
    TracedBranch {
        probability: b.probability,
        events,
        end: trace_end(rules, &b.fate),
        packet: b.packet.clone(),
        mark: b.mark,
        dnat: b.dnat.as_ref().map(nat_done),
        snat: b.snat.as_ref().map(nat_done),
        notes,
    }
}

/// Puts the routing decision before the first event after it; a branch that passed every
/// hook before routing without an event after it gets it last. The destination is routed
/// as it is at the end: only source NAT comes after routing.
fn insert_routing(events: &mut Vec<TraceEvent>, b: &Branch<'_>, host: &Host) {
    let before = hooks_before_routing(b.original.origin);
    let after_routing = |e: &TraceEvent| match e {
        TraceEvent::Matched { hook, .. }
        | TraceEvent::Policy { hook, .. }
        | TraceEvent::Missed { hook, .. } => !before.contains(hook),
        TraceEvent::Routed { .. } => false,
    };
    let passed_every_hook = matches!(b.fate, Fate::Delivered | Fate::Forwarded);
    if !passed_every_hook && !events.iter().any(after_routing) {
        return;
    }
    let event = TraceEvent::Routed {
        destination: b.packet.dst,
        local: host.is_local(b.packet.dst),
    };
    match events.iter().position(after_routing) {
        Some(at) => events.insert(at, event),
        None => events.push(event),
    }
}

fn matched(rules: &RuleReader<'_, '_>, step: &Step<'_>) -> TraceEvent {
    let dump = rules.dump();
    let Some(rule) = step.rule else {
        let policy = match step.action {
            Action::Policy(policy) => policy,
            _ => Policy::Accept,
        };
        return TraceEvent::Policy {
            hook: step.hook,
            table: dump.table(step.table).name.to_string(),
            chain: dump.chain(step.chain).name.to_string(),
            policy,
        };
    };
    TraceEvent::Matched {
        hook: step.hook,
        rule: rule_ref(rules, rule),
        action: trace_action(&step.action),
    }
}

fn trace_action(action: &Action<'_>) -> TraceAction {
    match action {
        Action::Jump(chain) => TraceAction::Jump(chain.to_string()),
        Action::Goto(chain) => TraceAction::Goto(chain.to_string()),
        Action::Return => TraceAction::Return,
        Action::Mark { before, after } => TraceAction::Mark {
            before: *before,
            after: *after,
        },
        Action::AssumedMark {
            chain,
            before,
            after,
        } => TraceAction::AssumedMark {
            chain: chain.to_string(),
            before: *before,
            after: *after,
        },
        Action::Dnat(to) => TraceAction::Dnat(*to),
        Action::Snat(to) => TraceAction::Snat(*to),
        Action::Accept => TraceAction::Accept,
        Action::Drop => TraceAction::Drop,
        Action::Reject => TraceAction::Reject,
        Action::Policy(_) | Action::NoEffect => TraceAction::NoEffect,
        Action::Ignored(target) => TraceAction::Ignored(target.to_string()),
    }
}

fn missed(rules: &RuleReader<'_, '_>, host: &Host, miss: &Miss) -> TraceEvent {
    let (test, fact) = match rules.body(miss.rule) {
        Ok(body) => match body.matches.get(miss.failed) {
            Some(m) => (match_text(m, &body), miss_fact(m, miss, host)),
            None => (String::new(), MissFact::Other),
        },
        Err(_) => (String::new(), MissFact::Other),
    };
    TraceEvent::Missed {
        hook: miss.hook,
        rule: rule_ref(rules, miss.rule),
        test,
        fact,
    }
}

/// What the packet had that the failed test `m` looked at.
fn miss_fact(m: &Match<'_>, miss: &Miss, host: &Host) -> MissFact {
    let p = &miss.packet;
    match m {
        Match::Source(_) => MissFact::Source(p.src),
        Match::Destination(_) => MissFact::Destination(p.dst),
        Match::Protocol(_) => MissFact::Protocol(p.protocol),
        Match::InInterface(_) => MissFact::Interface {
            incoming: true,
            name: p.in_interface.clone(),
        },
        Match::OutInterface(_) => MissFact::Interface {
            incoming: false,
            name: p.out_interface.clone(),
        },
        Match::Fragment { .. } => MissFact::NotAFragment,
        Match::Module(module) => match &module.kind {
            ModuleKind::Ports { .. } | ModuleKind::Multiport { .. } => MissFact::Ports {
                sport: p.sport,
                dport: p.dport,
            },
            ModuleKind::AddrType { src_type, dst_type } => MissFact::AddressTypes {
                source_local: src_type.as_ref().map(|_| host.is_local(p.src)),
                destination_local: dst_type.as_ref().map(|_| host.is_local(p.dst)),
            },
            ModuleKind::Mark(_) => MissFact::Mark(miss.mark),
            ModuleKind::Conntrack { .. } => MissFact::NewConnection,
            _ => MissFact::Other,
        },
    }
}

fn trace_end(rules: &RuleReader<'_, '_>, fate: &Fate<'_>) -> TraceEnd {
    let dump = rules.dump();
    let rule = |r: &Option<RuleId>| r.map(|r| rule_ref(rules, r));
    match fate {
        Fate::Delivered => TraceEnd::Delivered,
        Fate::Forwarded => TraceEnd::Forwarded,
        Fate::Dropped { rule: r, chain } => TraceEnd::Dropped {
            rule: rule(r),
            chain: dump.chain(*chain).name.to_string(),
        },
        Fate::Rejected { rule: r } => TraceEnd::Rejected {
            rule: rule_ref(rules, *r),
        },
        Fate::Undetermined { rule: r, reason } => TraceEnd::Undetermined {
            rule: rule(r),
            why: match reason {
                Undecided::MissingChain(chain) => Unfollowed::MissingChain(chain.to_string()),
                Undecided::Target(target) => Unfollowed::Target(target.to_string()),
                Undecided::Unreadable => Unfollowed::Unreadable,
                Undecided::Loop { chain } => Unfollowed::Loop(chain.to_string()),
                Undecided::TooDeep => Unfollowed::TooDeep,
                Undecided::TooManyPaths { limit, .. } => Unfollowed::TooManyPaths(*limit),
                Undecided::TooMuchWork { limit } => Unfollowed::TooMuchWork(*limit),
            },
        },
    }
}
