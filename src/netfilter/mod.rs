//! The netfilter core, which knows nothing of Kubernetes: a new connection's first packet
//! ([`packet`]), where rules attach to its path ([`pipeline`]), the walk through hooks,
//! chains and rules with marks, conntrack state and NAT ([`walk`], [`matching`],
//! [`targets`]), what a path records ([`path`]) and how it ends ([`outcome`]). The walk's
//! cache lives apart, with the slow reference it is tested against ([`memo`]).

pub mod inspect;
pub mod matching;
pub mod memo;
pub mod outcome;
pub mod packet;
pub mod path;
pub mod pipeline;
pub mod targets;
pub mod walk;

#[cfg(test)]
mod tests;

pub use memo::RuleMemo;
pub use outcome::{Outcome, SourceSeen};
pub use packet::{Host, Origin, Packet};
pub use path::{
    Action, AssumedChain, Assumption, AssumptionKind, Branch, Fate, MAX_BRANCHES, MAX_DEPTH, Miss,
    Nat, Step, Translation, Undecidable, Undecided,
};
pub use pipeline::{Hook, Pipeline, Stage};
pub use walk::{Context, evaluate, evaluate_with, trace};
