//! What the walk records of one way a packet can go: the rules that matched and what each
//! did, the NAT applied, the assumptions made where a rule could not be decided, and how
//! the path ends. Plain values: the kube-proxy layer interprets them, the report words them.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::model::{ChainId, MarkOp, NatRange, Policy, RuleId, TableId};
use crate::netfilter::packet::Packet;
use crate::netfilter::pipeline::Hook;

/// Deepest chain nesting followed before a branch is given up.
pub const MAX_DEPTH: usize = 64;
/// Most branches followed for one packet before the rest are given up.
pub const MAX_BRANCHES: usize = 4096;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_BRANCHES`] branches.
    TooManyBranches,
}

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
    /// Every rule that matched, and policies, in order.
    pub steps: Vec<Step<'a>>,
    /// Assumptions made on the way.
    pub assumptions: Vec<Assumption<'a>>,
    /// Rules tested that did not match; recorded only by a verbose walk
    /// ([`crate::netfilter::trace`]), empty otherwise.
    pub misses: Vec<Miss>,
    /// How it ended.
    pub fate: Fate<'a>,
}

/// A rule a verbose walk tested that did not match, and the first test that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    /// How many steps the branch had taken when the rule was tested: the miss comes
    /// before `steps[before_step]`.
    pub before_step: usize,
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

impl Branch<'_> {
    /// A branch for `packet` before any rule.
    pub fn new(packet: Packet) -> Self {
        Branch {
            probability: 1.0,
            original: packet.clone(),
            packet,
            mark: 0,
            dnat: None,
            snat: None,
            steps: Vec::new(),
            assumptions: Vec::new(),
            misses: Vec::new(),
            fate: Fate::Forwarded,
        }
    }
}
