//! What `explain` finds, as plain typed values: per nodePort, the service's shape, the
//! notes and assumptions that apply, and per source class the verdict with the branches and
//! rules behind it. No sentences: the report layer words all of it.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::kube::counters::CounterEvidence;
use crate::kube::destination::Destination;
use crate::kube::findings::{BranchNote, PortAssumption, PortNote};
use crate::kube::mode::{ProxyModes, UnsupportedMode};
use crate::kube::shape::ServiceShape;
use crate::kube::target::Target;
use crate::model::{Counters, Family, Protocol};
use crate::netfilter::{Origin, Translation};

/// The outcome for a new connection's source IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    /// No DNAT, not dropped: the node routes the packet on toward its destination
    /// address (for an address that is not the node's: a LoadBalancer IP or externalIP
    /// reached on a node without the rules to take it). Nothing of the service answers
    /// here.
    Forwarded,
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
            Verdict::Forwarded => "forwarded",
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
    /// Its `[packets:bytes]` counters, when the dump was saved with `iptables-save -c`.
    pub counters: Option<Counters>,
}

/// Who rewrote the source address.
#[derive(Debug, Clone, PartialEq)]
pub struct Masquerade {
    /// The MASQUERADE/SNAT rule (absent when assumed for a fragment).
    pub rule: Option<RuleRef>,
    /// True if the rule is in a kube-proxy chain.
    pub by_kube_proxy: bool,
    /// What it translates to: a range for SNAT; `None` for MASQUERADE and for kube-proxy's
    /// assumed KUBE-POSTROUTING (the address of the interface the packet leaves by).
    pub to: Option<Translation>,
    /// The address the endpoint sees, as far as the dump can tell.
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

/// Why a branch got its verdict: what the report explains in its sentence.
#[derive(Debug, Clone, PartialEq)]
pub enum BranchReason {
    /// Dropped by a rule (`rule`) or a chain's policy (`rule: None`).
    Dropped {
        /// The rule.
        rule: Option<u32>,
        /// The chain.
        chain: String,
        /// What the drop means.
        cause: DropCause,
    },
    /// Rejected by a rule.
    Rejected {
        /// The rule.
        rule: RuleRef,
        /// The rule says the service has no endpoints at all.
        no_endpoints: bool,
    },
    /// Marked for masquerading, then into a chain missing from the dump: kube-proxy's
    /// KUBE-POSTROUTING masquerades it whatever endpoint that chain picks.
    MarkedIntoMissingChain {
        /// The chain.
        chain: String,
        /// The rule jumping there.
        at: Option<u32>,
        /// The rule that marked it.
        marked_by: Option<RuleRef>,
    },
    /// The path goes into a chain missing from the dump.
    MissingChain {
        /// The chain.
        chain: String,
        /// The rule jumping there.
        at: Option<u32>,
        /// The chain is a service's local-policy or external chain, whose verdict would be
        /// preserved with a local endpoint and dropped without one.
        policy_chain: bool,
    },
    /// A target the evaluator does not interpret.
    UnknownTarget {
        /// Its name.
        target: String,
        /// The rule.
        at: Option<u32>,
    },
    /// A rule on the path could not be read.
    Unreadable {
        /// The rule.
        at: Option<u32>,
    },
    /// A jump back into a chain that is being walked, with the packet unchanged: a cycle.
    Loop {
        /// The chain jumped back into.
        chain: String,
        /// The rule jumping there.
        at: Option<u32>,
    },
    /// Chains nested deeper than the walk follows (no cycle).
    TooDeep {
        /// The rule where it stopped.
        at: Option<u32>,
        /// The deepest nesting followed.
        limit: usize,
    },
    /// More distinct paths than the limit: the walk stopped.
    TooManyPaths {
        /// The rule where it passed the limit.
        at: Option<u32>,
        /// The limit (`--max-paths`).
        limit: usize,
        /// The lines of the first rules that forked the path.
        forking_lines: Vec<u32>,
        /// How many distinct rules forked it.
        forking_count: usize,
    },
    /// More rule evaluations than the limit: the walk stopped.
    TooMuchWork {
        /// The limit.
        limit: u64,
    },
    /// The KUBE-SERVICES rules leading to KUBE-NODEPORTS do not match the destination.
    NeverReachesNodePorts {
        /// Their lines.
        tail_lines: Vec<u32>,
        /// The destination that did not match.
        destination: IpAddr,
        /// Its port.
        port: u16,
    },
    /// Not DNATed, on a path through chains the input may show only in part (a fragment, a
    /// cut dump): a rule it does not show could still DNAT or drop the connection.
    MayLackRules {
        /// Those chains, in path order.
        chains: Vec<String>,
    },
    /// Not DNATed, and dropped by a filter rule the input does not hold, assumed in its
    /// standard form: kubelet's KUBE-FIREWALL for the drop mark, or kube-proxy's
    /// "has no local endpoints" DROP in KUBE-EXTERNAL-SERVICES (≥1.25).
    AssumedDrop {
        /// The chain assumed to drop it.
        chain: &'static str,
        /// Why it is dropped.
        cause: DropCause,
    },
    /// A pod's path through a service's KUBE-XLB/KUBE-EXT chain that the input may show
    /// without its pod rule (`-s POD_CIDR -j KUBE-SVC-…`): with the rule, the pod takes the
    /// service chain; without it, the path shown (`shown`).
    PodRuleNotShown {
        /// The chain.
        chain: String,
        /// The pod prefix.
        pods: IpNet,
        /// What the path shown would mean.
        shown: Box<BranchReason>,
    },
    /// The input has no nat table, and the source is this node or a pod: kube-proxy's nat
    /// chains for the service (KUBE-EXT), which run before the filter rules shown, send such
    /// sources to the service's endpoints; `shown` is what the filter rules alone say.
    NatNotShown {
        /// What the rules shown would mean.
        shown: Box<BranchReason>,
    },
    /// No rule DNATs the connection.
    NotDnated,
    /// No rule DNATs or drops it, and its destination is not this node's: it is routed on.
    Forwarded,
    /// A health-check nodePort: accepted by kube-proxy's filter rule and answered by its
    /// health server on this node.
    HealthCheck {
        /// The accepting rule.
        rule: Option<RuleRef>,
    },
    /// DNATed and source-NATed.
    Masqueraded,
    /// DNATed, marked, and kube-proxy's KUBE-POSTROUTING (missing) is assumed to masquerade.
    MasqueradeAssumed,
    /// DNATed only.
    Preserved,
}

/// What a drop means.
#[derive(Debug, Clone, PartialEq)]
pub enum DropCause {
    /// The dropping rule says the node has no local endpoints (externalTrafficPolicy Local).
    NoLocalEndpoints,
    /// Kubelet's KUBE-FIREWALL dropped a packet an earlier rule marked for dropping.
    DropMark(DropMark),
    /// Nothing more to say.
    Plain,
}

/// A rule that set kubelet's drop mark (0x8000).
#[derive(Debug, Clone, PartialEq)]
pub struct DropMark {
    /// The rule (the one jumping to KUBE-MARK-DROP).
    pub rule: RuleRef,
    /// The mark was set because the node has no local endpoints (externalTrafficPolicy
    /// Local).
    pub no_local_endpoints: bool,
}

/// One way a class's connection can go.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchExplanation {
    /// Where it was DNATed to, if anywhere.
    pub endpoint: Option<Translation>,
    /// Whether that endpoint runs on this node, as the service's rules say.
    pub locality: Option<crate::kube::shape::Locality>,
    /// Chance among branches with the same assumptions.
    pub probability: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// Why.
    pub reason: BranchReason,
    /// Source NAT details.
    pub masquerade: Option<Masquerade>,
    /// The rules that decided it, in path order.
    pub decisive: Vec<RuleRef>,
    /// Chains entered in the nat table, in order.
    pub chain_path: Vec<String>,
    /// Forking assumptions this branch rests on, and facts stated about a new connection.
    pub notes: Vec<BranchNote>,
    /// True if part of the path is missing from the dump.
    pub partial: bool,
    /// A drop mark set on a path that was not dropped: nothing on it drops marked packets.
    pub drop_mark_ignored: Option<DropMark>,
}

impl BranchExplanation {
    /// True if the branch rests on an assumption about an undecidable rule.
    pub fn assumed(&self) -> bool {
        self.notes.iter().any(BranchNote::forks)
    }
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
    /// The prefix it covers, if any.
    pub prefix: Option<IpNet>,
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
    /// The connection is taken by another service's rule for the same nodePort (conflicting
    /// rules): that rule's line and service.
    pub taken_by_other: Option<(u32, String)>,
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
    /// The endpoints it happens for, in branch order.
    pub endpoints: Vec<Translation>,
}

/// The explanation of one destination (a nodePort, an address and port) in one ruleset.
#[derive(Debug, Clone, PartialEq)]
pub struct PortExplanation {
    /// `ns/name:port` from the comment, if any.
    pub service: Option<String>,
    /// Where clients connect.
    pub destination: Destination,
    /// IPv4 or IPv6 ruleset.
    pub family: Family,
    /// What the rules say about the service.
    pub shape: ServiceShape,
    /// The rules naming the destination (the KUBE-NODEPORTS rules of a nodePort, the
    /// KUBE-SERVICES and filter rules of an address).
    pub entry_rules: Vec<RuleRef>,
    /// True if chains or tables on the path are missing (a fragment).
    pub partial: bool,
    /// Tables a full dump has that this one lacks.
    pub missing_tables: Vec<&'static str>,
    /// Assumptions that apply to every class.
    pub assumptions: Vec<PortAssumption>,
    /// What the reader should know (e.g. the 127.0.0.0/8 misreading).
    pub notes: Vec<PortNote>,
    /// One entry per source class.
    pub classes: Vec<ClassExplanation>,
    /// What the rules' packet counters say about the verdicts (`iptables-save -c`); `None`
    /// when the rules of this destination carry no counters.
    pub counter_evidence: Option<CounterEvidence>,
}

/// A nodePort the dump has rules for (offered when the asked-for one is not found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailablePort {
    /// Its protocol.
    pub protocol: Protocol,
    /// The port.
    pub port: u16,
    /// The service comment of its first rule.
    pub service: Option<String>,
}

/// Everything `explain` found.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// What was asked.
    pub target: Target,
    /// One entry per matching destination; empty when not found.
    pub ports: Vec<PortExplanation>,
    /// When nothing was found: the nodePorts of the dump nearest to what was asked (a few,
    /// nearest first).
    pub available: Vec<AvailablePort>,
    /// When nothing was found: how many distinct nodePorts the dump has.
    pub available_total: usize,
    /// Set when nothing was found because the question is in the other address family
    /// (its addresses are IPv6 and the target's rules IPv4, or the reverse).
    pub family_mismatch: Option<FamilyMismatch>,
    /// The proxy mode each ruleset shows (kube-proxy's iptables, IPVS, … mode).
    pub proxy_modes: ProxyModes,
    /// Set when nothing was found and the dump is from a proxy mode `explain` cannot
    /// analyse: what to say instead of "not found".
    pub unsupported_mode: Option<UnsupportedMode>,
}

/// The question's addresses are of one family, the rules found for the target of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyMismatch {
    /// The family the question's addresses are in.
    pub asked: Family,
    /// True when the dump has rulesets of that family (only not for this target).
    pub dump_has_family: bool,
}
