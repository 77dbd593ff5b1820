//! The netfilter core, which knows nothing of Kubernetes: a new connection's first packet
//! ([`packet`]), where rules attach to its path ([`pipeline`]), the walk through hooks,
//! chains and rules with marks, conntrack state and NAT ([`walk`], [`matching`],
//! [`targets`]), what a path records ([`path`], [`trail`]) and how it ends ([`outcome`]).
//! The walk's caches live apart, each with the slow reference it is tested against: what
//! it remembers of rules ([`memo`]) and the chain calls it shares between paths
//! ([`calls`]).

pub mod calls;
pub mod inspect;
pub mod matching;
pub mod memo;
pub mod outcome;
pub mod packet;
pub mod path;
pub mod pipeline;
pub mod targets;
pub mod trail;
pub mod walk;

#[cfg(test)]
mod tests;

pub use memo::RuleMemo;
pub use outcome::{Outcome, SourceSeen};
pub use packet::{Host, Origin, Packet};
pub use path::{
    Action, AssumedChain, Assumption, AssumptionKind, Branch, FORKING_RULES_KEPT, Fate, MAX_DEPTH,
    MAX_PATHS, Miss, Nat, Step, Translation, Undecidable, Undecided,
};
pub use pipeline::{Hook, Pipeline, Stage};
pub use trail::{Event, Record, Trail};
pub use walk::{
    Context, WalkStats, evaluate, evaluate_counted, evaluate_with, trace, work_on_this_thread,
};
