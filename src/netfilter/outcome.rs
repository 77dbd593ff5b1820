//! The generic outcome of one path, in netfilter's own terms: where the packet ends up and
//! which source address the receiver sees. The kube-proxy layer turns it into its verdicts
//! (preserved, masqueraded, ...).

use crate::model::{ChainId, RuleId};
use crate::netfilter::path::{Branch, Fate, Nat, Undecided};

/// Where a path ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome<'b, 'a> {
    /// The packet got through every hook: to a socket on this node (`local`), or out of
    /// it, with the destination NAT it got (if any) and the source the receiver sees.
    Passed {
        /// Delivered to this node (true) or sent out of it.
        local: bool,
        /// The destination NAT on the way, if any.
        dnat: Option<&'b Nat>,
        /// The source address the receiver sees.
        source: SourceSeen<'b>,
    },
    /// Dropped by a rule, or by a chain's policy (`rule: None`).
    Dropped {
        /// The rule.
        rule: Option<RuleId>,
        /// The chain.
        chain: ChainId,
    },
    /// Refused with an error by a rule.
    Rejected {
        /// The rule.
        rule: RuleId,
    },
    /// The walk could not follow the path to its end.
    Undecided {
        /// Where it stopped.
        rule: Option<RuleId>,
        /// Why.
        reason: &'b Undecided<'a>,
    },
}

/// The source address a path's receiver sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SourceSeen<'b> {
    /// The sender's own address.
    Original,
    /// The address a source NAT gave it.
    Translated(&'b Nat),
}

impl<'a> Branch<'a> {
    /// How this path ends.
    pub fn outcome(&self) -> Outcome<'_, 'a> {
        match &self.fate {
            Fate::Delivered | Fate::Forwarded => Outcome::Passed {
                local: self.fate == Fate::Delivered,
                dnat: self.dnat.as_ref(),
                source: match &self.snat {
                    Some(nat) => SourceSeen::Translated(nat),
                    None => SourceSeen::Original,
                },
            },
            Fate::Dropped { rule, chain } => Outcome::Dropped {
                rule: *rule,
                chain: *chain,
            },
            Fate::Rejected { rule } => Outcome::Rejected { rule: *rule },
            Fate::Undetermined { rule, reason } => Outcome::Undecided {
                rule: *rule,
                reason,
            },
        }
    }
}
