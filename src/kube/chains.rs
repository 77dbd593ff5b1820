//! kube-proxy's (and kubelet's) chain names: which chains are theirs, the per-service chain
//! families that share a hash, the marks, and the standard chains a fragment may jump to
//! without their bodies.

use crate::model::{Dump, MarkOp, TableId, TargetKind};
use crate::netfilter::AssumedChain;
use crate::parse::RuleReader;

/// kube-proxy's default masquerade mark (bit 14).
pub const DEFAULT_MASQUERADE_MARK: u32 = 0x4000;
/// kubelet's default drop mark (bit 15).
pub const DEFAULT_DROP_MARK: u32 = 0x8000;

/// The chain that marks connections for masquerading.
pub const MARK_MASQ: &str = "KUBE-MARK-MASQ";
/// kubelet's chain that marks packets for dropping (until 1.27).
pub const MARK_DROP: &str = "KUBE-MARK-DROP";
/// The nat chain that masquerades marked connections.
pub const POSTROUTING: &str = "KUBE-POSTROUTING";
/// The nat chain the hooks send every new connection to.
pub const SERVICES: &str = "KUBE-SERVICES";
/// The nat chain of nodePort rules (iptables mode).
pub const NODEPORTS: &str = "KUBE-NODEPORTS";
/// The filter chain of externally visible services' REJECT/DROP rules.
pub const EXTERNAL_SERVICES: &str = "KUBE-EXTERNAL-SERVICES";
/// The filter chain of load balancer source-range drops (≥ 1.25).
pub const PROXY_FIREWALL: &str = "KUBE-PROXY-FIREWALL";

/// A per-service chain family: the prefix before a service port's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceChain {
    /// `KUBE-SVC-`: the cluster-policy chain (all endpoints).
    Cluster,
    /// `KUBE-XLB-`: the external local-policy chain (≤ 1.23).
    Xlb,
    /// `KUBE-EXT-`: the external-traffic chain (≥ 1.24).
    External,
    /// `KUBE-SVL-`: the local-policy chain (≥ 1.24).
    Local,
    /// `KUBE-FW-`: the load balancer firewall chain.
    Firewall,
    /// `KUBE-SEP-`: one endpoint.
    Endpoint,
}

impl ServiceChain {
    const ALL: [ServiceChain; 6] = [
        ServiceChain::Cluster,
        ServiceChain::Xlb,
        ServiceChain::External,
        ServiceChain::Local,
        ServiceChain::Firewall,
        ServiceChain::Endpoint,
    ];

    /// The name prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            ServiceChain::Cluster => "KUBE-SVC-",
            ServiceChain::Xlb => "KUBE-XLB-",
            ServiceChain::External => "KUBE-EXT-",
            ServiceChain::Local => "KUBE-SVL-",
            ServiceChain::Firewall => "KUBE-FW-",
            ServiceChain::Endpoint => "KUBE-SEP-",
        }
    }

    /// The family of a chain name, if it is one of these.
    pub fn of(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| name.starts_with(c.prefix()))
    }

    /// True if `name` is a chain of this family.
    pub fn is(self, name: &str) -> bool {
        name.starts_with(self.prefix())
    }
}

/// The chain of family `family` with the same service hash as `name` (a service chain
/// other than an endpoint's).
pub fn sibling(name: &str, family: ServiceChain) -> Option<String> {
    let own = ServiceChain::of(name).filter(|&c| c != ServiceChain::Endpoint)?;
    let hash = name.strip_prefix(own.prefix())?;
    Some(format!("{}{hash}", family.prefix()))
}

/// True for a chain kube-proxy (or kubelet, for its KUBE- chains) writes.
pub fn is_kube_chain(name: &str) -> bool {
    name.starts_with("KUBE-")
}

/// True if `chain` of `table` is in the dump (declared, or with rules).
pub fn present(dump: &Dump<'_>, table: TableId, chain: &str) -> bool {
    dump.chain_id(table, chain)
        .is_some_and(|c| dump.is_present(c))
}

/// The mark `KUBE-MARK-MASQ` sets (default 0x4000 if the chain is missing).
pub fn masquerade_mark(rules: &RuleReader<'_, '_>, nat: TableId) -> u32 {
    let Some(chain) = rules.dump().chain_id(nat, MARK_MASQ) else {
        return DEFAULT_MASQUERADE_MARK;
    };
    rules
        .dump()
        .chain(chain)
        .rules
        .iter()
        .find_map(|&r| match rules.body(r).ok()?.target?.kind {
            TargetKind::Mark(op) => Some(op.value),
            _ => None,
        })
        .unwrap_or(DEFAULT_MASQUERADE_MARK)
}

/// kube-proxy's and kubelet's mark chains, to assume in their standard form when a
/// fragment jumps to them without their body.
pub fn assumed_mark_chains(dump: &Dump<'_>, nat: TableId) -> Vec<AssumedChain> {
    [
        (MARK_MASQ, DEFAULT_MASQUERADE_MARK),
        (MARK_DROP, DEFAULT_DROP_MARK),
    ]
    .into_iter()
    .filter(|(name, _)| !present(dump, nat, name))
    .map(|(name, mark)| AssumedChain {
        name: name.to_string(),
        mark: MarkOp {
            value: mark,
            mask: mark,
        },
    })
    .collect()
}

/// Who writes a standard chain a fragment left out (for the report).
pub fn standard_chain_owner(name: &str) -> &'static str {
    if name == MARK_DROP {
        "kubelet"
    } else {
        "kube-proxy"
    }
}
