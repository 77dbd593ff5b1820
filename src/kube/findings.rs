//! The notes and assumptions `explain` attaches to a nodePort or to one branch, each with a
//! stable code that the JSON report carries (codes never change meaning; new ones may be
//! added). The report layer words them.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::{MarkOp, Protocol};
use crate::netfilter::Undecidable;

/// A note about a nodePort's rules as a whole.
#[derive(Debug, Clone, PartialEq)]
pub enum PortNote {
    /// `loopback-masquerade-only`: a `-s 127.0.0.0/8 … -j KUBE-MARK-MASQ` rule only marks
    /// loopback sources for masquerading; it restricts nothing.
    ///
    /// Why it matters: it is often read as "only loopback may connect".
    LoopbackMasqueradeOnly {
        /// The rule's line.
        line: u32,
        /// The prefix (127.0.0.0/8 or ::1/128).
        net: IpNet,
    },
    /// `conflicting-node-port-rules`: KUBE-NODEPORTS has rules for several services on one
    /// (protocol, nodePort), which kube-proxy never writes.
    ConflictingRules {
        /// The nodePort.
        port: u16,
        /// Its protocol.
        protocol: Protocol,
        /// Each service and the lines of its rules, in rule order.
        services: Vec<(String, Vec<u32>)>,
    },
    /// `partial-dump`: chains the nodePort's path refers to are not in the dump.
    MissingChains {
        /// The chains.
        chains: Vec<String>,
    },
    /// `health-check-node-port`: the service (externalTrafficPolicy Local) has a
    /// healthCheckNodePort; a cloud load balancer's health check marks this node healthy
    /// only with a local endpoint.
    HealthCheckNodePort {
        /// The port.
        port: u16,
        /// The rule accepting it.
        line: u32,
        /// True if this node has a local endpoint (the check answers 200).
        healthy: bool,
    },
    /// `no-service-at-destination`: no kube-proxy rule names this address and port.
    NoServiceAtDestination,
    /// `input-cut`: a table of this node has no COMMIT: the input stops inside it, so rules
    /// after the cut (of that table and of the tables after it) are unknown and any verdict
    /// may change.
    InputCut {
        /// Each table without COMMIT, and the last line the input has of it.
        tables: Vec<(String, u32)>,
    },
    /// `unparsed-lines`: lines inside this node's tables could not be parsed and were left
    /// out of the analysis.
    UnparsedLines {
        /// Their line numbers (the first few).
        lines: Vec<u32>,
        /// How many there are in all.
        count: usize,
    },
    /// `next-command`: what to run on the node to fetch the rules a partial verdict lacks:
    /// `iptables-save | grep -E -- 'PATTERN|…'`. Only shell-safe chain names are used.
    NextCommand {
        /// The grep patterns: chain names, `-j KUBE-NODEPORTS`, `--dport N `.
        patterns: Vec<String>,
    },
}

impl PortNote {
    /// True when the note makes every verdict of the destination partial.
    pub fn makes_partial(&self) -> bool {
        matches!(
            self,
            PortNote::MissingChains { .. }
                | PortNote::InputCut { .. }
                | PortNote::UnparsedLines { .. }
        )
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            PortNote::LoopbackMasqueradeOnly { .. } => "loopback-masquerade-only",
            PortNote::ConflictingRules { .. } => "conflicting-node-port-rules",
            PortNote::MissingChains { .. } => "partial-dump",
            PortNote::HealthCheckNodePort { .. } => "health-check-node-port",
            PortNote::NoServiceAtDestination => "no-service-at-destination",
            PortNote::InputCut { .. } => "input-cut",
            PortNote::UnparsedLines { .. } => "unparsed-lines",
            PortNote::NextCommand { .. } => "next-command",
        }
    }
}

/// An assumption every class of a nodePort rests on.
#[derive(Debug, Clone, PartialEq)]
pub enum PortAssumption {
    /// `node-address-from-dump`: kube-proxy's `--nodeport-addresses` rules name the node's
    /// addresses; the first is used as this node's address and as the destination.
    NodeAddressFromDump {
        /// The addresses the KUBE-SERVICES rules send to KUBE-NODEPORTS.
        listed: Vec<IpAddr>,
        /// Those rules' lines.
        lines: Vec<u32>,
        /// The address used.
        node: IpAddr,
    },
    /// `symbolic-node-address`: no `--node-ip`, so a stand-in address is this node's.
    SymbolicNodeAddress {
        /// The stand-in.
        node: IpAddr,
    },
    /// `nat-entry-assumed`: the fragment has no nat PREROUTING/OUTPUT; the walk starts at
    /// this chain, as kube-proxy's hooks would send a packet there.
    NatEntry {
        /// The chain the walk starts in.
        chain: String,
    },
    /// `node-port-tail-assumed`: the input does not show KUBE-SERVICES's last rule, which
    /// sends what no service rule matched, to a node address, to KUBE-NODEPORTS; the walk
    /// enters KUBE-NODEPORTS where that rule, in its default form, would send it.
    NodePortTail {
        /// True when KUBE-SERVICES is in the input, just without that rule (a grep or a cut).
        services_shown: bool,
    },
    /// `filter-entry-assumed`: the fragment's filter rules have no INPUT/FORWARD chain; new
    /// connections enter KUBE-EXTERNAL-SERVICES there, as kube-proxy's hooks send them.
    FilterEntry,
    /// `address-not-local`: a LoadBalancer IP or externalIP is taken not to be an address of
    /// this node (kube-proxy's iptables mode does not assign it); it matters for a packet
    /// that is not DNATed, which is then routed on rather than delivered here.
    AddressNotLocal {
        /// The address.
        address: IpAddr,
    },
    /// `node-address-assumed`: an address asked with a nodePort is taken to be this node's.
    NodeAddressAssumed {
        /// The address.
        address: IpAddr,
    },
}

impl PortAssumption {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            PortAssumption::NodeAddressFromDump { .. } => "node-address-from-dump",
            PortAssumption::SymbolicNodeAddress { .. } => "symbolic-node-address",
            PortAssumption::NatEntry { .. } => "nat-entry-assumed",
            PortAssumption::NodePortTail { .. } => "node-port-tail-assumed",
            PortAssumption::FilterEntry => "filter-entry-assumed",
            PortAssumption::AddressNotLocal { .. } => "address-not-local",
            PortAssumption::NodeAddressAssumed { .. } => "node-address-assumed",
        }
    }
}

/// What one branch rests on or should say, tied to the rule it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchNote {
    /// The rule's line, if a rule.
    pub line: Option<u32>,
    /// What.
    pub kind: BranchNoteKind,
}

/// The kinds of [`BranchNote`].
#[derive(Debug, Clone, PartialEq)]
pub enum BranchNoteKind {
    /// `undecidable-rule`: the rule's tests could not be decided; this branch assumes they
    /// matched (or not). The only kind that forks a class into several branches.
    Assumed {
        /// True on the branch that assumes the rule matched.
        matched: bool,
        /// Why the tests could not be decided (owned copies of the core's reasons).
        why: Vec<UndecidedTest>,
    },
    /// `no-affinity-history`: session affinity does not apply to a new client.
    NoAffinityHistory {
        /// `rcheck`, `update`...
        action: String,
        /// The list name.
        name: String,
    },
    /// `connmark-ignored`: CONNMARK is not modelled; the mark is assumed unchanged.
    ConnmarkIgnored,
    /// `standard-chain-assumed`: a standard chain missing from a fragment is assumed in
    /// its standard form (KUBE-MARK-MASQ by kube-proxy, KUBE-MARK-DROP by kubelet).
    StandardChainAssumed {
        /// The chain.
        chain: String,
        /// The mark it sets.
        mark: MarkOp,
    },
}

/// An owned copy of [`Undecidable`], for explanations that outlive the dump text.
#[derive(Debug, Clone, PartialEq)]
pub enum UndecidedTest {
    /// See [`Undecidable::UninterpretedOption`].
    UninterpretedOption {
        /// The module.
        module: String,
        /// The option.
        option: String,
    },
    /// See [`Undecidable::Interface`].
    Interface {
        /// `-i` (true) or `-o`.
        incoming: bool,
        /// `!`.
        negated: bool,
        /// The interface.
        name: String,
    },
    /// See [`Undecidable::AddressType`].
    AddressType(String),
    /// See [`Undecidable::ConnectionState`].
    ConnectionState(String),
    /// See [`Undecidable::ConntrackWithoutState`].
    ConntrackWithoutState {
        /// The module.
        module: String,
    },
    /// See [`Undecidable::Ipset`].
    Ipset {
        /// The set.
        name: String,
    },
    /// See [`Undecidable::Physdev`].
    Physdev,
    /// See [`Undecidable::Module`].
    Module {
        /// The module.
        name: String,
    },
}

impl From<&Undecidable<'_>> for UndecidedTest {
    fn from(why: &Undecidable<'_>) -> Self {
        match why {
            Undecidable::UninterpretedOption { module, option } => {
                UndecidedTest::UninterpretedOption {
                    module: module.to_string(),
                    option: option.to_string(),
                }
            }
            Undecidable::Interface {
                incoming,
                negated,
                name,
            } => UndecidedTest::Interface {
                incoming: *incoming,
                negated: *negated,
                name: name.to_string(),
            },
            Undecidable::AddressType(t) => UndecidedTest::AddressType(t.to_string()),
            Undecidable::ConnectionState(s) => UndecidedTest::ConnectionState(s.to_string()),
            Undecidable::ConntrackWithoutState { module } => UndecidedTest::ConntrackWithoutState {
                module: module.to_string(),
            },
            Undecidable::Ipset { name } => UndecidedTest::Ipset {
                name: name.to_string(),
            },
            Undecidable::Physdev => UndecidedTest::Physdev,
            Undecidable::Module { name } => UndecidedTest::Module {
                name: name.to_string(),
            },
        }
    }
}

impl BranchNote {
    /// True for an assumption that forks the class into branches.
    pub fn forks(&self) -> bool {
        matches!(self.kind, BranchNoteKind::Assumed { .. })
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self.kind {
            BranchNoteKind::Assumed { .. } => "undecidable-rule",
            BranchNoteKind::NoAffinityHistory { .. } => "no-affinity-history",
            BranchNoteKind::ConnmarkIgnored => "connmark-ignored",
            BranchNoteKind::StandardChainAssumed { .. } => "standard-chain-assumed",
        }
    }
}
