//! Which service proxy wrote a dump's rules — kube-proxy in iptables, IPVS, userspace or
//! nftables mode, Cilium's kube-proxy replacement, or none that shows — with the chains and
//! lines that show it ([`detect`]); for a target `explain` finds no rules for in a mode it
//! cannot analyse, what that mode's own rules say about it ([`unsupported()`]).

mod unsupported;

pub use unsupported::{
    ModeRule, ModeRuleRole, UnsupportedMode, ipvs_node_port_sets, nothing_answered, unanalysed,
    unsupported,
};

use crate::kube::chains::{EXTERNAL_SERVICES, NODEPORTS, SERVICES, ServiceChain};
use crate::model::{ChainId, Dump, Family, RuleId, RulesetId, TableId};
use crate::parse::RuleReader;

/// A proxy mode, as a dump shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// kube-proxy in iptables mode: KUBE-NODEPORTS, KUBE-EXTERNAL-SERVICES, per-service
    /// chains (KUBE-SVC-…), or a KUBE-SERVICES without any sign of IPVS.
    Iptables,
    /// kube-proxy in IPVS mode: KUBE-NODE-PORT (singular), KUBE-LOAD-BALANCER,
    /// KUBE-IPVS-FILTER. Its rules only mark and filter; IPVS and ipsets decide.
    Ipvs,
    /// kube-proxy in userspace mode (removed in 1.26): KUBE-PORTALS-CONTAINER/HOST,
    /// KUBE-NODEPORT-CONTAINER/HOST, KUBE-NODEPORT-NON-LOCAL.
    Userspace,
    /// kube-proxy in nftables mode: its `table ip kube-proxy` (or `ip6`) in `nft list
    /// ruleset` text.
    Nftables,
    /// Only kubelet's chains (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY, KUBE-FIREWALL) and
    /// no kube-proxy chain: kube-proxy in nftables mode, whose rules iptables-save does not
    /// show, or no kube-proxy at all. An iptables-save cannot tell the two apart.
    NftablesOrNone,
    /// No kube-proxy: Cilium's chains (CILIUM_…) and no KUBE-SERVICES, so Cilium's
    /// kube-proxy replacement handles services in eBPF.
    Cilium,
    /// No chain of kube-proxy, kubelet or Cilium (another host's rules, or a fragment
    /// without them).
    Unknown,
}

impl ProxyMode {
    /// The stable code the JSON reports carry. A code never changes meaning.
    pub fn code(self) -> &'static str {
        match self {
            ProxyMode::Iptables => "iptables",
            ProxyMode::Ipvs => "ipvs",
            ProxyMode::Userspace => "userspace",
            ProxyMode::Nftables => "nftables",
            ProxyMode::NftablesOrNone => "nftables-or-none",
            ProxyMode::Cilium => "cilium",
            ProxyMode::Unknown => "unknown",
        }
    }

    /// True for the modes `explain` walks: iptables mode, and rules it cannot place
    /// (walked as they are).
    pub fn is_explained(self) -> bool {
        matches!(self, ProxyMode::Iptables | ProxyMode::Unknown)
    }

    /// True for kube-proxy's modes that write iptables rules.
    fn is_kube_proxy_iptables(self) -> bool {
        matches!(
            self,
            ProxyMode::Iptables | ProxyMode::Ipvs | ProxyMode::Userspace
        )
    }
}

/// One line of the input that shows a mode: a chain's first rule, or its declaration when
/// it has no rules; for `nft list ruleset` text, a table or map element line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// 1-based input line.
    pub line: u32,
    /// The table (`nat`, `filter`, …; for nftables text, `ip kube-proxy`).
    pub table: String,
    /// The chain (for nftables text, `map NAME`), if the line is in one.
    pub chain: Option<String>,
    /// The rule's (or nftables line's) text; `None` for a chain declaration.
    pub text: Option<String>,
}

/// The proxy mode one ruleset shows.
#[derive(Debug, Clone, PartialEq)]
pub struct RulesetMode {
    /// The ruleset (`None` for kube-proxy's table in `nft list ruleset` text).
    pub ruleset: Option<RulesetId>,
    /// Its first line (for nftables text, the `table … kube-proxy {` line).
    pub first_line: u32,
    /// IPv4 or IPv6.
    pub family: Family,
    /// The mode.
    pub mode: ProxyMode,
    /// What shows it: a few chains of that mode, in a fixed order; empty for
    /// [`ProxyMode::Unknown`].
    pub evidence: Vec<Sighting>,
    /// Other kube-proxy modes whose chains are there too (a mixed dump, e.g. leftovers of
    /// an earlier mode), each with the first chain that shows it.
    pub others: Vec<(ProxyMode, Sighting)>,
}

/// The proxy modes of one input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProxyModes {
    /// One per ruleset of the dump, in order.
    pub rulesets: Vec<RulesetMode>,
    /// kube-proxy's nftables tables in `nft list ruleset` text (looked for only when no
    /// ruleset shows a kube-proxy mode).
    pub nft_tables: Vec<RulesetMode>,
}

impl ProxyModes {
    /// The ruleset (or nftables table) that names the input's mode: the first showing
    /// iptables mode, else IPVS, userspace, nftables, Cilium, kubelet only, in that order.
    pub fn deciding(&self) -> Option<&RulesetMode> {
        const ORDER: [ProxyMode; 6] = [
            ProxyMode::Iptables,
            ProxyMode::Ipvs,
            ProxyMode::Userspace,
            ProxyMode::Nftables,
            ProxyMode::Cilium,
            ProxyMode::NftablesOrNone,
        ];
        ORDER.iter().find_map(|&mode| {
            self.rulesets
                .iter()
                .chain(&self.nft_tables)
                .find(|r| r.mode == mode)
        })
    }

    /// The input's mode ([`ProxyMode::Unknown`] when nothing shows one).
    pub fn mode(&self) -> ProxyMode {
        self.deciding().map_or(ProxyMode::Unknown, |r| r.mode)
    }
}

/// Most chains cited as a mode's evidence.
const EVIDENCE: usize = 3;

/// Chains only kube-proxy's iptables mode writes.
const IPTABLES_CHAINS: &[&str] = &[NODEPORTS, EXTERNAL_SERVICES];
/// IPVS mode's nat chain of nodePort rules (singular, unlike iptables mode's).
pub const IPVS_NODE_PORT: &str = "KUBE-NODE-PORT";
/// Chains only kube-proxy's IPVS mode writes.
const IPVS_CHAINS: &[&str] = &[
    IPVS_NODE_PORT,
    "KUBE-LOAD-BALANCER",
    "KUBE-IPVS-FILTER",
    "KUBE-IPVS-OUT-FILTER",
];
/// userspace mode's nodePort chains (from containers and other hosts; from this node).
pub(crate) const USERSPACE_NODE_PORT_CHAINS: &[&str] =
    &["KUBE-NODEPORT-CONTAINER", "KUBE-NODEPORT-HOST"];
/// userspace mode's service address chains.
pub(crate) const USERSPACE_PORTAL_CHAINS: &[&str] =
    &["KUBE-PORTALS-CONTAINER", "KUBE-PORTALS-HOST"];
/// Chains only kube-proxy's userspace mode writes.
const USERSPACE_CHAINS: &[&str] = &[
    "KUBE-NODEPORT-CONTAINER",
    "KUBE-NODEPORT-HOST",
    "KUBE-PORTALS-CONTAINER",
    "KUBE-PORTALS-HOST",
    "KUBE-NODEPORT-NON-LOCAL",
];
/// Chains kubelet writes whatever the proxy.
const KUBELET_CHAINS: &[&str] = &["KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY", "KUBE-FIREWALL"];
/// The prefix of Cilium's chains.
const CILIUM_PREFIX: &str = "CILIUM_";

/// The proxy mode of every ruleset of the dump, and kube-proxy's nftables tables when the
/// input is `nft list ruleset` text (read only when no ruleset shows kube-proxy, so a
/// large iptables dump costs a few chain lookups per ruleset).
pub fn detect(rules: &RuleReader<'_, '_>) -> ProxyModes {
    let dump = rules.dump();
    let rulesets: Vec<RulesetMode> = (0..dump.rulesets.len())
        .map(|i| ruleset_mode(rules, RulesetId(i as u32)))
        .collect();
    let kube_proxy = rulesets.iter().any(|r| r.mode.is_kube_proxy_iptables());
    let nft_tables = if kube_proxy {
        Vec::new()
    } else {
        nft_kube_proxy_tables(dump.text)
    };
    ProxyModes {
        rulesets,
        nft_tables,
    }
}

/// The mode one ruleset shows, from the chains of the tables its node meets.
fn ruleset_mode(rules: &RuleReader<'_, '_>, ruleset: RulesetId) -> RulesetMode {
    let dump = rules.dump();
    let tables = dump.node_tables(ruleset);
    let seen = Seen {
        rules,
        tables: &tables,
    };
    let mut iptables = seen.named(IPTABLES_CHAINS);
    if iptables.is_empty() {
        iptables = seen.service_chain().into_iter().collect();
    }
    let ipvs = seen.named(IPVS_CHAINS);
    if iptables.is_empty() && ipvs.is_empty() {
        // KUBE-SERVICES is both modes'; without a sign of IPVS it is iptables mode's.
        iptables = seen.named(&[SERVICES]);
    }
    let userspace = seen.named(USERSPACE_CHAINS);
    let modes: Vec<(ProxyMode, Vec<Sighting>)> = [
        (ProxyMode::Iptables, iptables),
        (ProxyMode::Ipvs, ipvs),
        (ProxyMode::Userspace, userspace),
    ]
    .into_iter()
    .filter(|(_, sightings)| !sightings.is_empty())
    .collect();
    let (mode, evidence, others) = if modes.is_empty() {
        let (mode, evidence) = seen.without_kube_proxy();
        (mode, evidence, Vec::new())
    } else {
        let primary = seen.hooked(&modes);
        let mut evidence = Vec::new();
        let mut others = Vec::new();
        for (mode, mut sightings) in modes {
            if mode == primary {
                evidence = sightings;
            } else {
                others.push((mode, sightings.swap_remove(0)));
            }
        }
        (primary, evidence, others)
    };
    let info = &dump.rulesets[ruleset.0 as usize];
    RulesetMode {
        ruleset: Some(ruleset),
        first_line: info.first_line,
        family: info.family,
        mode,
        evidence,
        others,
    }
}

/// The chains of one node's tables, looked at for a mode.
pub(crate) struct Seen<'s, 'p, 'a> {
    pub(crate) rules: &'s RuleReader<'p, 'a>,
    pub(crate) tables: &'s [TableId],
}

impl Seen<'_, '_, '_> {
    /// The chain called `name` in the node's tables, if present (nat first: the name may
    /// be in several tables).
    pub(crate) fn chain(&self, name: &str) -> Option<ChainId> {
        let dump = self.rules.dump();
        self.ordered_tables()
            .into_iter()
            .filter_map(|t| dump.chain_id(t, name))
            .find(|&c| dump.is_present(c))
    }

    /// The node's tables, nat first, then filter, then the rest in order.
    fn ordered_tables(&self) -> Vec<TableId> {
        let dump = self.rules.dump();
        let rank = |t: &TableId| match dump.table(*t).name {
            "nat" => 0,
            "filter" => 1,
            _ => 2,
        };
        let mut tables = self.tables.to_vec();
        tables.sort_by_key(rank);
        tables
    }

    /// The chains of `names` that are present, in the order of `names`, at most
    /// [`EVIDENCE`].
    fn named(&self, names: &[&str]) -> Vec<Sighting> {
        names
            .iter()
            .filter_map(|name| self.chain(name))
            .take(EVIDENCE)
            .map(|c| sighting(self.rules.dump(), c))
            .collect()
    }

    /// The first present chain whose name passes `wanted`, nat first.
    fn first_chain(&self, wanted: impl Fn(&str) -> bool) -> Option<ChainId> {
        let dump = self.rules.dump();
        self.ordered_tables().into_iter().find_map(|t| {
            dump.table(t)
                .chains
                .iter()
                .copied()
                .find(|&c| wanted(dump.chain(c).name) && dump.is_present(c))
        })
    }

    /// The first per-service chain of iptables mode (KUBE-SVC-…, KUBE-SEP-…), for a
    /// fragment without KUBE-NODEPORTS.
    fn service_chain(&self) -> Option<Sighting> {
        let chain = self.first_chain(|name| ServiceChain::of(name).is_some())?;
        Some(sighting(self.rules.dump(), chain))
    }

    /// The mode of a ruleset without kube-proxy chains: Cilium's, kubelet's only, or
    /// nothing known.
    fn without_kube_proxy(&self) -> (ProxyMode, Vec<Sighting>) {
        if let Some(chain) = self.first_chain(|name| name.starts_with(CILIUM_PREFIX)) {
            return (ProxyMode::Cilium, vec![sighting(self.rules.dump(), chain)]);
        }
        let kubelet = self.named(KUBELET_CHAINS);
        if kubelet.is_empty() {
            (ProxyMode::Unknown, kubelet)
        } else {
            (ProxyMode::NftablesOrNone, kubelet)
        }
    }

    /// Which of several kube-proxy modes is the live one: the one KUBE-SERVICES (or, for
    /// userspace mode, PREROUTING) jumps into; else IPVS, iptables, userspace in that
    /// order. `modes` is not empty.
    fn hooked(&self, modes: &[(ProxyMode, Vec<Sighting>)]) -> ProxyMode {
        let has = |mode| modes.iter().any(|(m, _)| *m == mode);
        if modes.len() == 1 {
            return modes[0].0;
        }
        for target in self.jump_targets(SERVICES) {
            if has(ProxyMode::Ipvs) && IPVS_CHAINS.contains(&target) {
                return ProxyMode::Ipvs;
            }
            if has(ProxyMode::Iptables)
                && (target == NODEPORTS || ServiceChain::of(target).is_some())
            {
                return ProxyMode::Iptables;
            }
        }
        let into_userspace = self
            .jump_targets("PREROUTING")
            .iter()
            .any(|t| USERSPACE_CHAINS.contains(t));
        if has(ProxyMode::Userspace) && into_userspace {
            return ProxyMode::Userspace;
        }
        [ProxyMode::Ipvs, ProxyMode::Iptables, ProxyMode::Userspace]
            .into_iter()
            .find(|&m| has(m))
            .unwrap_or(modes[0].0)
    }

    /// The chains the rules of chain `name` (nat first) jump or go to.
    fn jump_targets(&self, name: &str) -> Vec<&str> {
        let Some(chain) = self.chain(name) else {
            return Vec::new();
        };
        let dump = self.rules.dump();
        dump.chain(chain)
            .rules
            .iter()
            .filter_map(|&r| self.rules.jump_target_name(r).map(|(target, _)| target))
            .collect()
    }
}

/// A chain's sighting: its first rule, or its declaration when it has none.
fn sighting(dump: &Dump<'_>, chain: ChainId) -> Sighting {
    let c = dump.chain(chain);
    let table = dump.table(c.table).name.to_string();
    match c.rules.first() {
        Some(&rule) => rule_sighting(dump, rule),
        None => Sighting {
            line: c.declared_line().unwrap_or_default(),
            table,
            chain: Some(c.name.to_string()),
            text: None,
        },
    }
}

/// A rule's sighting.
pub(crate) fn rule_sighting(dump: &Dump<'_>, rule: RuleId) -> Sighting {
    let r = dump.rule(rule);
    let chain = dump.chain(r.chain);
    Sighting {
        line: r.line,
        table: dump.table(chain.table).name.to_string(),
        chain: Some(chain.name.to_string()),
        text: Some(dump.rule_text(rule).to_string()),
    }
}

/// kube-proxy's tables in `nft list ruleset` text (`table ip kube-proxy {`).
fn nft_kube_proxy_tables(text: &str) -> Vec<RulesetMode> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let family = nft_kube_proxy_table(line)?;
            let line_no = u32::try_from(i + 1).ok()?;
            Some(RulesetMode {
                ruleset: None,
                first_line: line_no,
                family,
                mode: ProxyMode::Nftables,
                evidence: vec![Sighting {
                    line: line_no,
                    table: nft_table_name(family).to_string(),
                    chain: None,
                    text: Some(line.trim().to_string()),
                }],
                others: Vec::new(),
            })
        })
        .collect()
}

/// The family of a `table ip kube-proxy {` / `table ip6 kube-proxy {` line.
pub(crate) fn nft_kube_proxy_table(line: &str) -> Option<Family> {
    let mut words = line.split_ascii_whitespace();
    if words.next()? != "table" {
        return None;
    }
    let family = match words.next()? {
        "ip" => Family::Ipv4,
        "ip6" => Family::Ipv6,
        _ => return None,
    };
    (words.next()? == "kube-proxy" && words.next()? == "{").then_some(family)
}

/// kube-proxy's nftables table of a family, as nft names it.
pub fn nft_table_name(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "ip kube-proxy",
        Family::Ipv6 => "ip6 kube-proxy",
    }
}

#[cfg(test)]
mod tests;
