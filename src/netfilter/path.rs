//! What the walk records of one way a packet can go: the rules that matched and what each
//! did, the NAT applied, the assumptions made where a rule could not be decided, and how
//! the path ends. Plain values: the kube-proxy layer interprets them, the report words them.
//! The steps and assumptions are kept in a shared [`Trail`].

use std::borrow::Cow;
use std::net::IpAddr;

use crate::model::{ChainId, MarkOp, NatRange, Policy, RuleId, TableId};
use crate::netfilter::packet::Packet;
use crate::netfilter::pipeline::Hook;
use crate::netfilter::trail::{Record, Trail};

/// Deepest chain nesting followed: a path that jumps deeper ends undetermined
/// ([`Undecided::TooDeep`]). The kernel's own limits are lower or come from the ruleset:
/// nf_tables (iptables-nft) refuses a ruleset whose jumps nest more than 16 chains deep
/// (`NFT_JUMP_STACK_SIZE`), and legacy iptables sizes its jump stack by the number of
/// user-defined chains, refusing any jump cycle at load time. 256 covers every nesting
/// iptables-nft can load many times over and any legacy table of up to 256 chains, while
/// keeping the walk's recursion shallow.
pub const MAX_DEPTH: usize = 256;
/// Most distinct paths followed for one packet by default (`explain --max-paths` raises
/// it): past it the walk stops and answers [`Undecided::TooManyPaths`].
pub const MAX_PATHS: usize = 4096;

/// A chain whose body is missing from the dump but whose effect is known to the caller
/// (e.g. a standard chain a fragment jumps to without its body): a jump to it applies
/// `mark` and returns.
#[derive(Debug, Clone, PartialEq)]
pub struct AssumedChain {
    /// The chain's name.
    pub name: String,
    /// The mark operation it performs.
    pub mark: MarkOp,
}

/// What a NAT rule translates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Translation {
    /// `DNAT`/`SNAT --to-…` with this (first) range; `several` when more ranges follow.
    Range {
        /// The first range written.
        first: NatRange,
        /// True if the rule names more than one range.
        several: bool,
    },
    /// `REDIRECT`: this node, at this port.
    Redirect {
        /// The destination port after the redirect.
        port: u16,
    },
    /// A DNAT/SNAT rule that names no range.
    Unspecified,
    /// `MASQUERADE`: the address of the interface the packet leaves by.
    Masquerade,
}

impl Translation {
    /// The one address it translates to, when it names exactly one (`SNAT --to-source
    /// 192.0.2.11[:ports]`); `None` for a range, several ranges, or MASQUERADE.
    pub fn single_address(&self) -> Option<IpAddr> {
        match self {
            Translation::Range {
                first,
                several: false,
            } => first
                .first
                .filter(|address| first.last.is_none_or(|last| last == *address)),
            _ => None,
        }
    }

    /// The range, for DNAT/SNAT with one.
    pub fn range(&self) -> Option<NatRange> {
        match self {
            Translation::Range { first, .. } => Some(*first),
            _ => None,
        }
    }
}

/// A source or destination NAT that happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nat {
    /// The rule that did it.
    pub rule: RuleId,
    /// What it translated to.
    pub to: Translation,
}

/// What one matched rule (or a chain policy) did to the packet.
#[derive(Debug, Clone, PartialEq)]
pub enum Action<'a> {
    /// Jumped to a chain.
    Jump(&'a str),
    /// Went to a chain (`-g`).
    Goto(&'a str),
    /// Returned to the calling chain.
    Return,
    /// Changed the packet mark.
    Mark {
        /// Mark before.
        before: u32,
        /// Mark after.
        after: u32,
    },
    /// A missing chain assumed to apply a mark (see [`AssumedChain`]).
    AssumedMark {
        /// The chain.
        chain: &'a str,
        /// Mark before.
        before: u32,
        /// Mark after.
        after: u32,
    },
    /// Destination NAT (DNAT, REDIRECT).
    Dnat(Translation),
    /// Source NAT (SNAT, MASQUERADE).
    Snat(Translation),
    /// Accepted (ends the table for this hook).
    Accept,
    /// Dropped.
    Drop,
    /// Rejected.
    Reject,
    /// A built-in chain's policy applied.
    Policy(Policy),
    /// Matched but changed nothing (comment-only rule, LOG, counters...).
    NoEffect,
    /// A target whose effect is not modelled, named here; the path continues.
    Ignored(&'a str),
}

impl Action<'_> {
    /// The mark before and after, for a mark change (real or assumed).
    pub fn mark_change(&self) -> Option<(u32, u32)> {
        match self {
            Action::Mark { before, after } | Action::AssumedMark { before, after, .. } => {
                Some((*before, *after))
            }
            _ => None,
        }
    }

    /// The chain jumped or gone to.
    pub fn chain_entered(&self) -> Option<&str> {
        match self {
            Action::Jump(name) | Action::Goto(name) => Some(name),
            _ => None,
        }
    }
}

/// One step of a path: a rule that matched, or a chain policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<'a> {
    /// The table.
    pub table: TableId,
    /// The hook being traversed.
    pub hook: Hook,
    /// The chain the rule is in (the base chain, for a policy).
    pub chain: ChainId,
    /// The rule, or `None` for a policy.
    pub rule: Option<RuleId>,
    /// What it did.
    pub action: Action<'a>,
}

/// Why a match could not be decided from the packet alone.
#[derive(Debug, Clone, PartialEq)]
pub enum Undecidable<'a> {
    /// A module option the evaluator does not interpret.
    UninterpretedOption {
        /// The module (`geoip`).
        module: &'a str,
        /// The option, without dashes (`src-cc`).
        option: &'a str,
    },
    /// An interface test, and the packet's interface is not known.
    Interface {
        /// `-i` (true) or `-o`.
        incoming: bool,
        /// `!`.
        negated: bool,
        /// The interface name as written (`cni0`, `veth+`).
        name: &'a str,
    },
    /// An `addrtype` type other than LOCAL, UNICAST, MULTICAST, BROADCAST, UNSPEC.
    AddressType(&'a str),
    /// A connection state the evaluator does not interpret.
    ConnectionState(&'a str),
    /// `-m conntrack`/`-m state` without a state test.
    ConntrackWithoutState {
        /// The module name.
        module: &'a str,
    },
    /// An ipset, whose contents are not in the dump.
    Ipset {
        /// The set's name.
        name: Cow<'a, str>,
    },
    /// A bridge port test (`-m physdev`).
    Physdev,
    /// A match module the evaluator does not interpret.
    Module {
        /// Its name.
        name: &'a str,
    },
}

/// Something the walk assumed or noted about a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum AssumptionKind<'a> {
    /// The rule's tests could not be decided: this branch assumes they matched (or not).
    /// The branch is one of several, one per assumption (the walk forks).
    Decided {
        /// True on the branch that assumes the rule matched.
        matched: bool,
        /// Why the tests could not be decided.
        why: Vec<Undecidable<'a>>,
    },
    /// `-m recent --rcheck|--update` (session affinity) does not match a new client.
    NoAffinityHistory {
        /// `rcheck`, `update`...
        action: &'a str,
        /// The list name.
        name: Cow<'a, str>,
    },
    /// CONNMARK is not modelled: the packet mark is assumed unchanged.
    ConnmarkIgnored,
    /// A missing chain with a known effect was assumed (see [`AssumedChain`]).
    AssumedChain {
        /// Its name.
        name: &'a str,
        /// The mark it sets.
        mark: MarkOp,
    },
}

/// An assumption, with the rule it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct Assumption<'a> {
    /// The rule, if any.
    pub rule: Option<RuleId>,
    /// What was assumed.
    pub kind: AssumptionKind<'a>,
}

impl Assumption<'_> {
    /// True for a guess that forks the path; false for a stated fact about a new
    /// connection (no affinity history, an assumed chain).
    pub fn forks(&self) -> bool {
        matches!(self.kind, AssumptionKind::Decided { .. })
    }
}

/// How a branch ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate<'a> {
    /// Delivered to a socket on this node.
    Delivered,
    /// Sent out of the node (forwarded, or locally generated and routed away).
    Forwarded,
    /// Dropped by a rule, or by a chain policy (`rule: None`).
    Dropped {
        /// The rule.
        rule: Option<RuleId>,
        /// The chain.
        chain: ChainId,
    },
    /// Rejected.
    Rejected {
        /// The rule.
        rule: RuleId,
    },
    /// The walk could not follow the path further.
    Undetermined {
        /// The rule where it stopped.
        rule: Option<RuleId>,
        /// Why.
        reason: Undecided<'a>,
    },
}

/// Why a branch could not be followed to its end.
#[derive(Debug, Clone, PartialEq)]
pub enum Undecided<'a> {
    /// A jump to a chain that is not in the dump (a fragment).
    MissingChain(&'a str),
    /// A target whose effect is unknown (NFQUEUE, TPROXY, ...).
    Target(&'a str),
    /// The rule's text could not be read (a parse error).
    Unreadable,
    /// A jump back into `chain` while it is being walked, with the packet unchanged since
    /// it was entered: a real cycle, which would never end (and which the kernel refuses
    /// to load).
    Loop {
        /// The chain jumped back into.
        chain: &'a str,
    },
    /// Chains nested deeper than [`MAX_DEPTH`], without a cycle.
    TooDeep,
    /// More than `limit` distinct paths: the walk stopped (see [`MAX_PATHS`]).
    TooManyPaths {
        /// The limit that was passed.
        limit: usize,
        /// The first rules that forked the path (at most [`FORKING_RULES_KEPT`]), in the
        /// order they first forked.
        forking: Vec<RuleId>,
        /// How many distinct rules forked before the walk stopped.
        forking_count: usize,
    },
    /// More than `limit` rule evaluations without passing the path limit: chains entered
    /// in ever new states (a mark or an address that changes on every call). The limit is
    /// the path limit times the dump's rule count (plus 256), so the work of one walk
    /// stays bounded by the input's size.
    TooMuchWork {
        /// The limit that was passed.
        limit: u64,
    },
}

/// How many forking rules [`Undecided::TooManyPaths`] names.
pub const FORKING_RULES_KEPT: usize = 10;

/// One way a packet can go.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch<'a> {
    /// Chance of this branch among those with the same assumptions.
    pub probability: f64,
    /// The packet as it entered.
    pub original: Packet,
    /// The packet as it is at the end (after NAT).
    pub packet: Packet,
    /// The packet mark at the end.
    pub mark: u32,
    /// Destination NAT, if any.
    pub dnat: Option<Nat>,
    /// Source NAT, if any.
    pub snat: Option<Nat>,
    /// Every rule that matched, policies, and the assumptions made on the way, in order
    /// (read with [`Branch::record`]).
    pub trail: Trail<'a>,
    /// How it ended.
    pub fate: Fate<'a>,
}

/// A rule a verbose walk ([`crate::netfilter::trace`]) tested that did not match, and the
/// first of its tests that failed; kept in the branch's trail, in path order.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    /// The table.
    pub table: TableId,
    /// The hook being traversed.
    pub hook: Hook,
    /// The chain the rule is in.
    pub chain: ChainId,
    /// The rule.
    pub rule: RuleId,
    /// Index in the rule's matches of the first test that failed.
    pub failed: usize,
    /// The packet as it was when tested (after any NAT so far).
    pub packet: Packet,
    /// The packet mark when tested.
    pub mark: u32,
}

impl<'a> Branch<'a> {
    /// A branch for `packet` before any rule.
    pub fn new(packet: Packet) -> Self {
        Branch {
            probability: 1.0,
            original: packet.clone(),
            packet,
            mark: 0,
            dnat: None,
            snat: None,
            trail: Trail::default(),
            fate: Fate::Forwarded,
        }
    }

    /// The steps (every rule that matched, and policies) and the assumptions, in order; a
    /// chain the path entered again in the same state and left the same way is read once.
    pub fn record(&self) -> Record<'_, 'a> {
        self.trail.read()
    }

    /// What the rules can test or change of this branch.
    pub(crate) fn state(&self) -> State {
        State {
            packet: self.packet.clone(),
            mark: self.mark,
            dnat: self.dnat,
            snat: self.snat,
        }
    }

    /// Takes on `state`.
    pub(crate) fn set_state(&mut self, state: State) {
        self.packet = state.packet;
        self.mark = state.mark;
        self.dnat = state.dnat;
        self.snat = state.snat;
    }
}

/// What the rules can test or change of a path: its packet, mark and NAT. A chain's
/// outcome depends on nothing else (and on where it is called from only through a cycle or
/// the depth limit), which is what lets the walk share one chain call among every path
/// that makes it in the same state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct State {
    pub(crate) packet: Packet,
    pub(crate) mark: u32,
    pub(crate) dnat: Option<Nat>,
    pub(crate) snat: Option<Nat>,
}

impl std::hash::Hash for State {
    /// A NAT's translation follows from its rule and the packet, so the rule stands for it.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.packet.hash(state);
        self.mark.hash(state);
        self.dnat.map(|n| n.rule).hash(state);
        self.snat.map(|n| n.rule).hash(state);
    }
}
