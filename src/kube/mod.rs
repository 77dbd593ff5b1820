//! kube-proxy knowledge on top of the netfilter core: its chain names and marks
//! ([`chains`]), finding a nodePort's rules ([`nodeports`]), the era, policy and endpoints
//! they show ([`shape`], [`era`]), the source classes worth asking about ([`classes`]), and
//! `explain` itself ([`mod@explain`]), which walks each class through the core and turns the
//! paths into verdicts ([`verdict`]), with what `iptables-save -c` counters say of them
//! ([`counters`]); `trace` ([`mod@trace`]) walks one given packet through
//! the same core and keeps every event. The results are typed values ([`explanation`],
//! [`findings`]); no sentences are written here. [`mode`] names the proxy mode a dump is
//! from (iptables, IPVS, nftables, userspace, Cilium's replacement). Only this layer tests
//! chain names and comment text.

pub mod chains;
pub mod check;
pub mod classes;
pub mod counters;
pub mod destination;
pub mod diff;
pub mod era;
pub mod explain;
pub mod explanation;
pub mod findings;
pub mod graph;
pub mod mode;
pub mod node;
pub mod nodeports;
pub mod notes;
pub mod policy;
pub mod ports;
pub mod redact;
pub mod shape;
pub mod summary;
pub mod target;
pub mod trace;
pub mod verdict;

#[cfg(test)]
mod tests;

pub use explain::{ExplainOptions, Explainer, explain};
pub use explanation::{
    AvailablePort, BranchExplanation, BranchReason, ClassExplanation, ClassKind, DropCause,
    DropMark, Explanation, FamilyMismatch, Masquerade, MasqueradeAddress, Outcome, PortExplanation,
    RuleRef, Verdict,
};
pub use target::Target;
pub use trace::{RulesetTrace, Trace, TraceOptions, trace};
