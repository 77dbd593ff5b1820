//! The kinds of source `explain` asks about: loopback, this node, each prefix a rule on the
//! path tests (pods, an endpoint's own address), and everyone else; with one concrete
//! address for each, chosen inside its prefix and outside every narrower one.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::kube::chains::{MARK_MASQ, SERVICES, ServiceChain};
use crate::kube::explanation::ClassKind;
use crate::model::{Family, Match, RuleId, TableId};
use crate::netfilter::{Hook, Pipeline};
use crate::parse::RuleReader;

/// Most source classes evaluated (endpoint /32s beyond this are left out).
const MAX_CLASSES: usize = 24;

/// A source class before evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Class {
    pub(crate) kind: ClassKind,
    pub(crate) prefix: Option<IpNet>,
    pub(crate) source: IpAddr,
}

/// A prefix tested by a rule on the path, and what it seems to stand for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Tested {
    pub(crate) net: IpNet,
    pub(crate) pods: bool,
}

/// The `-s` prefixes tested by rules a destination's packets can meet: the rules naming
/// it (`start`, and every chain they lead to except KUBE-SERVICES), and `base` (those of
/// the base chains, from [`base_prefixes`]).
pub(crate) fn tested_prefixes(
    rules: &RuleReader<'_, '_>,
    start: &[RuleId],
    base: &[Tested],
) -> Vec<Tested> {
    let mut out: BTreeSet<Tested> = base.iter().cloned().collect();
    collect_prefixes(rules, start.to_vec(), &mut out);
    // One entry per prefix; "pods" if any rule testing it said so. The set is sorted by
    // prefix first, so a prefix's entries are next to each other: only the last merged
    // one can have it (a search of every one merged made 40,000 source ranges quadratic).
    let mut merged: Vec<Tested> = Vec::new();
    for t in out {
        match merged.last_mut().filter(|m| m.net == t.net) {
            Some(m) => m.pods |= t.pods,
            None => merged.push(t),
        }
    }
    merged
}

/// The `-s` prefixes tested by the base chains of `pipeline` and every chain they lead to
/// except KUBE-SERVICES (where every other service's rules are): the same for every
/// destination of a node's ruleset.
pub(crate) fn base_prefixes(rules: &RuleReader<'_, '_>, pipeline: &Pipeline) -> Vec<Tested> {
    let dump = rules.dump();
    let mut queue: Vec<RuleId> = Vec::new();
    for hook in Hook::ALL {
        for stage in pipeline.stages(hook) {
            queue.extend(dump.chain(stage.chain).rules.iter().copied());
        }
    }
    let mut out = BTreeSet::new();
    collect_prefixes(rules, queue, &mut out);
    out.into_iter().collect()
}

/// Adds the `-s` prefixes tested by the rules of `queue` and of every chain they lead to
/// except KUBE-SERVICES.
fn collect_prefixes(
    rules: &RuleReader<'_, '_>,
    mut queue: Vec<RuleId>,
    out: &mut BTreeSet<Tested>,
) {
    let dump = rules.dump();
    let mut seen_chains = BTreeSet::new();
    while let Some(rule) = queue.pop() {
        // Every spelling of a source test (`-s`, `--source`, `--src`) contains "-s": a
        // rule without it is not typed (the filter chains on the path have a rule per
        // service).
        if dump.rule_text(rule).contains("-s")
            && let Ok(body) = rules.body(rule)
        {
            let comment = body.comment().unwrap_or("").to_ascii_lowercase();
            let target = body.target.as_ref().map(|t| t.name).unwrap_or("");
            for m in &body.matches {
                if let Match::Source(s) = &m
                    && let Some(net) = s.value.net()
                {
                    // kube-proxy tests pods (its local-traffic detector) to short-circuit them
                    // to the cluster chain, or with `!` to masquerade everyone else
                    // reaching a service address.
                    let detector = s.negated
                        && target == MARK_MASQ
                        && (comment.ends_with(" cluster ip") || comment.ends_with(" external ip"));
                    // A firewall chain's `-s RANGE -j KUBE-SVC-…` is a
                    // loadBalancerSourceRanges entry, not pods.
                    let in_firewall =
                        ServiceChain::Firewall.is(dump.chain(dump.rule(rule).chain).name);
                    let pods = comment.contains("pod")
                        || (ServiceChain::Cluster.is(target) && !s.negated && !in_firewall)
                        || detector;
                    out.insert(Tested {
                        net: net.trunc(),
                        pods,
                    });
                }
            }
        }
        if let Some(next) = rules.jump_target(rule) {
            let name = dump.chain(next).name;
            if name == SERVICES || seen_chains.len() > 2000 || !seen_chains.insert(next) {
                continue;
            }
            queue.extend(dump.chain(next).rules.iter().copied());
        }
    }
}

/// The pod prefixes kube-proxy's local-traffic detector names in KUBE-SERVICES's
/// cluster-IP masquerade rules (`! -s POD_CIDR … "… cluster IP" -j KUBE-MARK-MASQ`). For a
/// partial input, whose nodePort path may not show the rules that test pods.
pub(crate) fn pod_detectors(rules: &RuleReader<'_, '_>, nat: TableId) -> Vec<Tested> {
    let dump = rules.dump();
    let Some(services) = dump.chain_id(nat, SERVICES) else {
        return Vec::new();
    };
    let mut out: Vec<Tested> = Vec::new();
    for &rule in &dump.chain(services).rules {
        if !dump.rule_text(rule).contains("! -s") {
            continue;
        }
        let Ok(body) = rules.body(rule) else {
            continue;
        };
        if body.target.as_ref().map(|t| t.name) != Some(MARK_MASQ) {
            continue;
        }
        for m in &body.matches {
            if let Match::Source(s) = m
                && s.negated
                && let Some(net) = s.value.net()
                && !out.iter().any(|t| t.net == net.trunc())
            {
                out.push(Tested {
                    net: net.trunc(),
                    pods: true,
                });
            }
        }
    }
    out
}

/// Documentation and reserved addresses that can stand for this node.
pub(crate) fn node_candidates(family: Family) -> Vec<IpAddr> {
    let texts: &[&str] = match family {
        Family::Ipv4 => &[
            "192.0.2.10",
            "198.51.100.10",
            "100.64.0.10",
            "172.31.254.10",
        ],
        Family::Ipv6 => &["2001:db8:fffe::1", "2001:db8:fffd::1", "fd00:ffff::1"],
    };
    texts.iter().filter_map(|s| s.parse().ok()).collect()
}

/// Addresses that can stand for an external client.
fn external_candidates(family: Family) -> Vec<IpAddr> {
    let texts: &[&str] = match family {
        Family::Ipv4 => &[
            "203.0.113.2",
            "198.51.100.2",
            "192.0.2.2",
            "100.64.1.2",
            "8.8.8.8",
        ],
        Family::Ipv6 => &["2001:db8:ffff::2", "2001:db8:fff0::2", "2606:4700::2"],
    };
    texts.iter().filter_map(|s| s.parse().ok()).collect()
}

/// The family's loopback address.
pub(crate) fn loopback(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

/// The family's loopback prefix: 127.0.0.0/8 or ::1/128.
pub(crate) fn loopback_net(family: Family) -> IpNet {
    match family {
        Family::Ipv4 => {
            IpNet::V4(ipnet::Ipv4Net::new(Ipv4Addr::new(127, 0, 0, 0), 8).unwrap_or_default())
        }
        Family::Ipv6 => {
            IpNet::V6(ipnet::Ipv6Net::new(Ipv6Addr::LOCALHOST, 128).unwrap_or_default())
        }
    }
}

/// The first candidate inside no tested prefix and not in `avoid`.
pub(crate) fn pick_outside(
    candidates: &[IpAddr],
    prefixes: &[Tested],
    avoid: &[IpAddr],
) -> Option<IpAddr> {
    candidates.iter().copied().find(|c| {
        !avoid.contains(c) && !c.is_loopback() && !prefixes.iter().any(|p| p.net.contains(c))
    })
}

/// An address inside `net` but inside none of the narrower tested prefixes, nor `avoid`.
fn pick_inside(net: IpNet, prefixes: &[Tested], avoid: &[IpAddr]) -> Option<IpAddr> {
    let narrower: Vec<&IpNet> = prefixes
        .iter()
        .map(|p| &p.net)
        .filter(|p| p.prefix_len() > net.prefix_len() && net.contains(*p))
        .collect();
    let ok = |ip: &IpAddr| !avoid.contains(ip) && !narrower.iter().any(|n| n.contains(ip));
    let mut tried = 0;
    for ip in net.hosts() {
        // Prefer .2 over .1 (.1 is often a gateway), like kube-proxy's own tests.
        tried += 1;
        if tried > 4096 {
            break;
        }
        if tried == 1 && net.prefix_len() < net.max_prefix_len() - 1 {
            continue;
        }
        if ok(&ip) {
            return Some(ip);
        }
    }
    net.hosts().next().filter(ok)
}

/// What the classes are chosen from.
pub(crate) struct ClassInputs<'i> {
    /// The prefixes rules on the path test.
    pub(crate) prefixes: &'i [Tested],
    /// The service's endpoint addresses.
    pub(crate) endpoint_ips: &'i BTreeSet<IpAddr>,
    /// The `--node-ip` addresses given.
    pub(crate) node_ips: &'i [IpAddr],
    /// This node's address (given, derived or symbolic).
    pub(crate) node_address: IpAddr,
    /// The ruleset's family.
    pub(crate) family: Family,
    /// True when processes on the node may connect from the loopback address (a nodePort).
    pub(crate) loopback: bool,
}

/// The one class for `--src`.
pub(crate) fn given_class(src: IpAddr, prefixes: &[Tested]) -> Class {
    let containing = prefixes
        .iter()
        .filter(|p| p.net.contains(&src))
        .max_by_key(|p| p.net.prefix_len());
    Class {
        kind: ClassKind::Given,
        prefix: containing.map(|p| p.net),
        source: src,
    }
}

/// Every class: loopback (for a nodePort), this node, one per tested prefix, and everyone
/// else.
pub(crate) fn source_classes(inputs: &ClassInputs<'_>) -> Vec<Class> {
    let mut classes = Vec::new();
    if inputs.loopback {
        classes.push(Class {
            kind: ClassKind::Loopback,
            prefix: Some(loopback_net(inputs.family)),
            source: loopback(inputs.family),
        });
    }
    classes.push(Class {
        kind: ClassKind::Node,
        prefix: None,
        source: inputs.node_address,
    });
    let mut avoid: Vec<IpAddr> = inputs.node_ips.to_vec();
    avoid.push(inputs.node_address);
    for p in inputs.prefixes {
        if classes.len() >= MAX_CLASSES {
            break;
        }
        if let Some(class) = prefix_class(p, inputs, &avoid) {
            classes.push(class);
        }
    }
    if let Some(ext) = pick_outside(&external_candidates(inputs.family), inputs.prefixes, &avoid) {
        classes.push(Class {
            kind: ClassKind::Other,
            prefix: None,
            source: ext,
        });
    }
    classes
}

/// The class of one tested prefix, if it has an address to stand for it.
fn prefix_class(p: &Tested, inputs: &ClassInputs<'_>, avoid: &[IpAddr]) -> Option<Class> {
    let single = p.net.prefix_len() == p.net.max_prefix_len();
    if p.net.addr().is_loopback() || (single && p.net.contains(&inputs.node_address)) {
        return None;
    }
    let (kind, source) = if single {
        let ip = p.net.addr();
        let kind = if inputs.endpoint_ips.contains(&ip) {
            ClassKind::Endpoint
        } else {
            ClassKind::Prefix
        };
        (kind, Some(ip))
    } else if p.pods {
        (ClassKind::Pods, pick_inside(p.net, inputs.prefixes, avoid))
    } else {
        (
            ClassKind::Prefix,
            pick_inside(p.net, inputs.prefixes, avoid),
        )
    };
    Some(Class {
        kind,
        prefix: Some(p.net),
        source: source?,
    })
}
