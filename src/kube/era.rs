//! Which kube-proxy generation wrote a service's rules: the era (the chain families it
//! uses), the range of versions consistent with every clue, and the clues themselves.

/// The rule era: which chains carry a nodePort's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// KUBE-NODEPORTS jumps to KUBE-XLB (Local) or KUBE-SVC (Cluster): ≤ 1.23.
    Xlb,
    /// KUBE-NODEPORTS jumps to KUBE-EXT, then KUBE-SVC or KUBE-SVL: ≥ 1.24.
    Ext,
    /// The rules that would tell are missing.
    Unrecognised,
}

/// An inclusive range of kube-proxy minor versions (1.lo – 1.hi; no `hi`: and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    /// The lowest minor version.
    pub lo: u32,
    /// The highest, if bounded.
    pub hi: Option<u32>,
}

impl Versions {
    /// Every version.
    pub const ANY: Versions = Versions { lo: 0, hi: None };

    /// Narrows to the versions also in `lo..=hi`; contradictory clues (a mixed dump) keep
    /// the earlier reading.
    pub fn narrow(&mut self, lo: u32, hi: Option<u32>) {
        let new_lo = self.lo.max(lo);
        let new_hi = match (self.hi, hi) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if new_hi.is_none_or(|h| h >= new_lo) {
            self.lo = new_lo;
            self.hi = new_hi;
        }
    }
}

impl std::fmt::Display for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.hi {
            None => write!(f, "≥1.{}", self.lo),
            Some(h) if h == self.lo => write!(f, "1.{h}"),
            Some(h) if self.lo == 0 => write!(f, "≤1.{h}"),
            Some(h) => write!(f, "1.{}–1.{h}", self.lo),
        }
    }
}

/// A fact in the dump that dates its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clue {
    /// A `-s 127.0.0.0/8 … -j KUBE-MARK-MASQ` rule in KUBE-NODEPORTS (1.10–1.23).
    LoopbackMasqueradeRule,
    /// No 127.0.0.0/8 masquerade rule before the KUBE-XLB jump (≤ 1.9).
    NoLoopbackMasqueradeRule,
    /// The XLB chain has the "masquerade LOCAL traffic" rules (1.15–1.23).
    XlbLocalTrafficRules {
        /// The chain.
        chain: String,
    },
    /// The XLB chain lacks them (≤ 1.14).
    XlbNoLocalTrafficRules {
        /// The chain.
        chain: String,
    },
    /// The entry chain (KUBE-NODEPORTS, KUBE-SERVICES) jumps to a KUBE-EXT chain (≥ 1.24).
    JumpToExt {
        /// The chain jumping.
        entry: String,
        /// The KUBE-EXT chain.
        chain: String,
    },
    /// The nodePort's KUBE-MARK-MASQ rule is in KUBE-NODEPORTS (≤ 1.21).
    MasqueradeInNodePorts,
    /// The nodePort's KUBE-MARK-MASQ rule is in the service chain (1.22–1.23).
    MasqueradeInServiceChain {
        /// The chain.
        chain: String,
    },
    /// Only a filter KUBE-EXTERNAL-SERVICES "has no endpoints" REJECT rule (≈ 1.13+).
    OnlyNoEndpointsReject,
    /// The ClusterIP's KUBE-MARK-MASQ rule is in KUBE-SERVICES (≤ 1.21).
    ClusterIpMasqueradeInServices,
    /// The ClusterIP's KUBE-MARK-MASQ rule is in the service chain (≥ 1.22).
    ClusterIpMasqueradeInServiceChain {
        /// The chain.
        chain: String,
    },

    /// The destination's own rules do not show the era, but the ruleset has chains of one
    /// (a KUBE-EXT or KUBE-SVL chain: ≥ 1.24; a KUBE-XLB chain: ≤ 1.23).
    RulesetHasChain {
        /// One such chain.
        chain: String,
        /// The era it belongs to.
        era: Era,
    },
    /// The KUBE-SVL chain jumps to KUBE-MARK-DROP (1.24).
    LocalChainMarksDrop {
        /// The chain.
        chain: String,
    },
    /// The filter chain KUBE-PROXY-FIREWALL exists (≥ 1.25).
    ProxyFirewall,
    /// An `-m nfacct` localhost nodePort rule (≥ 1.31).
    Nfacct,
    /// KUBE-POSTROUTING has the RETURN / clear-mark / MASQUERADE triplet (≥ 1.18.6).
    PostroutingTriplet,
    /// KUBE-POSTROUTING is the single mark-testing MASQUERADE rule (≤ 1.18.5).
    PostroutingSingleRule,
}
