//! What a rule does when it matches: `-j TARGET [options]` or `-g CHAIN`.

use std::borrow::Cow;
use std::net::IpAddr;

use smallvec::SmallVec;

use crate::model::RuleBody;
use crate::model::addr::PortRange;
use crate::model::matcher::{ModuleOption, OptionRange};
use crate::source::Span;

/// A rule's target with its raw options and a typed reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Target<'a> {
    /// The name after `-j`/`-g`.
    pub name: &'a str,
    /// True for `-g` (goto: no return to the calling chain).
    pub goto: bool,
    /// Its options, in [`RuleBody::options`].
    pub options: OptionRange,
    /// The typed reading.
    pub kind: TargetKind<'a>,
    /// From `-j`/`-g` to the end of the last option.
    pub span: Span,
}

impl<'a> Target<'a> {
    /// Its options, as written; `body` is the rule it is in.
    pub fn options_in<'b, 'r>(&self, body: &'b RuleBody<'r>) -> &'b [ModuleOption<'r>] {
        self.options.of(body)
    }
}

/// The typed reading of a target.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetKind<'a> {
    /// `ACCEPT`
    Accept,
    /// `DROP`
    Drop,
    /// `RETURN`
    Return,
    /// `REJECT [--reject-with TYPE]`
    Reject {
        /// The ICMP reply, if written.
        with: Option<Cow<'a, str>>,
    },
    /// A jump (or goto) to a user chain.
    Chain(&'a str),
    /// `DNAT --to-destination ADDR[:PORT]`
    Dnat {
        /// The translation ranges (nearly always one, kept inline: a DNAT rule per
        /// endpoint would otherwise allocate each time it is typed).
        to: SmallVec<[NatRange; 1]>,
    },
    /// `SNAT --to-source ADDR[:PORT]`
    Snat {
        /// The translation ranges (kept inline like DNAT's).
        to: SmallVec<[NatRange; 1]>,
    },
    /// `MASQUERADE [--to-ports P] [--random] [--random-fully]`
    Masquerade {
        /// `--to-ports`.
        to_ports: Option<PortRange>,
        /// `--random-fully`.
        random_fully: bool,
    },
    /// `REDIRECT [--to-ports P]`: DNAT to this node.
    Redirect {
        /// `--to-ports`.
        to_ports: Option<PortRange>,
    },
    /// `MARK --set-xmark|--set-mark|--or-mark|--and-mark|--xor-mark`
    Mark(MarkOp),
    /// `CONNMARK ...`: connection mark bookkeeping; never changes the packet mark directly
    /// unless `--restore-mark`, which the analysis flags.
    Connmark,
    /// `LOG [--log-prefix P] ...`: logs and continues.
    Log,
    /// Any other target: kept with its options; the analysis cannot decide it.
    Other,
}

/// `(mark AND NOT mask) XOR value`: the kernel's form of every MARK operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkOp {
    /// Bits XORed in.
    pub value: u32,
    /// Bits cleared first.
    pub mask: u32,
}

impl MarkOp {
    /// The packet mark after the operation.
    pub fn apply(&self, mark: u32) -> u32 {
        (mark & !self.mask) ^ self.value
    }
}

/// A NAT translation: `ADDR[-ADDR][:PORT[-PORT]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NatRange {
    /// First address of the range (absent for a port-only range).
    pub first: Option<IpAddr>,
    /// Last address of the range (equal to `first` for one address).
    pub last: Option<IpAddr>,
    /// Ports, if written.
    pub ports: Option<PortRange>,
}

impl std::fmt::Display for NatRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.first, self.last) {
            (Some(IpAddr::V6(a)), _) if self.ports.is_some() => write!(f, "[{a}]")?,
            (Some(a), Some(b)) if a != b => write!(f, "{a}-{b}")?,
            (Some(a), _) => write!(f, "{a}")?,
            (None, _) => {}
        }
        if let Some(p) = self.ports {
            if p.first == p.last {
                write!(f, ":{}", p.first)?;
            } else {
                write!(f, ":{}-{}", p.first, p.last)?;
            }
        }
        Ok(())
    }
}

/// The target names iptables knows as targets rather than chains. A `-j NAME` whose name is
/// not here is a jump to a user chain.
pub const BUILTIN_TARGETS: &[&str] = &[
    "ACCEPT",
    "AUDIT",
    "CHECKSUM",
    "CLASSIFY",
    "CLUSTERIP",
    "CONNMARK",
    "CONNSECMARK",
    "CT",
    "DNAT",
    "DNPT",
    "DROP",
    "DSCP",
    "ECN",
    "HL",
    "HMARK",
    "IDLETIMER",
    "LED",
    "LOG",
    "MARK",
    "MASQUERADE",
    "MIRROR",
    "NETMAP",
    "NFLOG",
    "NFQUEUE",
    "NOTRACK",
    "QUEUE",
    "RATEEST",
    "REDIRECT",
    "REJECT",
    "RETURN",
    "SAME",
    "SECMARK",
    "SET",
    "SNAT",
    "SNPT",
    "SYNPROXY",
    "TCPMSS",
    "TCPOPTSTRIP",
    "TEE",
    "TOS",
    "TPROXY",
    "TRACE",
    "TTL",
    "ULOG",
];

/// True if `name` is a built-in or extension target rather than a user chain.
pub fn is_builtin_target(name: &str) -> bool {
    // Every built-in name is upper-case letters only, so a chain name such as
    // `KUBE-SVC-…` is turned away at its first `-` without a search.
    name.bytes().all(|b| b.is_ascii_uppercase()) && BUILTIN_TARGETS.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_target_list_is_sorted_for_binary_search() {
        let mut sorted = BUILTIN_TARGETS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, BUILTIN_TARGETS);
        assert!(is_builtin_target("MASQUERADE"));
        assert!(!is_builtin_target("KUBE-MARK-MASQ"));
        assert!(
            BUILTIN_TARGETS
                .iter()
                .all(|t| t.bytes().all(|b| b.is_ascii_uppercase())),
            "is_builtin_target's quick rejection relies on upper-case-only names"
        );
    }

    #[test]
    fn mark_ops_follow_kernel_arithmetic() {
        let or_mark = MarkOp {
            value: 0x4000,
            mask: 0x4000,
        };
        assert_eq!(or_mark.apply(0x1), 0x4001);
        let xor_mark = MarkOp {
            value: 0x4000,
            mask: 0,
        };
        assert_eq!(xor_mark.apply(0x4001), 0x1);
    }
}
