//! `diff`: what differs between two nodes (or one node before and after a change) for the
//! same destinations (every nodePort, or those asked: nodePorts, service addresses) — per
//! destination the source classes whose verdict differs, what the rules say about the
//! service on each side, and the decisive rules found on one side only.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::kube::destination::{Destination, Entry, find_entries};
use crate::kube::explain::{ExplainOptions, explain_each};
use crate::kube::explanation::{ClassExplanation, ClassKind, PortExplanation, RuleRef, Verdict};
use crate::kube::mode::{self, UnsupportedMode};
use crate::kube::nodeports::every_node_port;
use crate::kube::shape::{Locality, PolicyScope, TrafficPolicy};
use crate::kube::summary::{Sees, summarize_class};
use crate::kube::target::Target;
use crate::model::Family;
use crate::parse::RuleReader;

/// One class on one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side {
    /// The verdict.
    pub verdict: Verdict,
    /// What the endpoint sees.
    pub sees: Sees,
}

/// A source class whose outcome differs.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassDiff {
    /// The class.
    pub kind: ClassKind,
    /// On A, if A has the class.
    pub a: Option<Side>,
    /// On B, if B has the class.
    pub b: Option<Side>,
    /// Decisive rules of A's outcome whose text B's outcome does not have.
    pub only_a: Vec<RuleRef>,
    /// Decisive rules of B's outcome whose text A's outcome does not have.
    pub only_b: Vec<RuleRef>,
}

/// What the rules say about the service on one side.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSide {
    /// Which policy the destination's rules implement (internal for a ClusterIP).
    pub scope: PolicyScope,
    /// The policy.
    pub policy: TrafficPolicy,
    /// Endpoints in its rules.
    pub endpoints: usize,
    /// Those on this node.
    pub local_endpoints: usize,
}

/// One destination on both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct PortDiff {
    /// Where clients connect (its kind as A's rules say, else B's).
    pub destination: Destination,
    /// IPv4 or IPv6.
    pub family: Family,
    /// The service, from A or else B.
    pub service: Option<String>,
    /// The service on A, if A has the nodePort.
    pub a: Option<ServiceSide>,
    /// The service on B, if B has the nodePort.
    pub b: Option<ServiceSide>,
    /// The classes that differ (empty: the same verdicts on both).
    pub classes: Vec<ClassDiff>,
}

impl PortDiff {
    /// True if anything differs: presence, policy, local endpoints or a verdict.
    pub fn differs(&self) -> bool {
        self.a != self.b || !self.classes.is_empty()
    }
}

/// The classes compared: those every nodePort has.
const KINDS: [ClassKind; 4] = [
    ClassKind::Other,
    ClassKind::Pods,
    ClassKind::Node,
    ClassKind::Loopback,
];

/// A destination on either side: its address, port, protocol and family (its kind may
/// differ: a LoadBalancer IP on one node, an address no rule names on the other).
type Key = (Option<IpAddr>, u16, String, u8);

/// What a comparison needs of one side's explanation of a destination: far less than the
/// explanation itself (about 150 KB a nodePort, mostly branches; diff keeps one per
/// destination of both nodes until they are compared).
struct Explained {
    destination: Destination,
    family: Family,
    service: Option<String>,
    side: ServiceSide,
    /// For each of [`KINDS`] the destination has: the outcome, and the decisive rules of
    /// its first branch with that verdict.
    classes: Vec<(ClassKind, Side, Vec<RuleRef>)>,
}

impl Explained {
    fn of(p: PortExplanation) -> Self {
        let classes = KINDS
            .iter()
            .filter_map(|&kind| {
                let c = p.classes.iter().find(|c| c.kind == kind)?;
                let s = summarize_class(&p, c);
                let side = Side {
                    verdict: s.verdict,
                    sees: s.sees,
                };
                Some((kind, side, decisive(c)))
            })
            .collect();
        Explained {
            destination: p.destination,
            family: p.family,
            side: service_side(&p),
            service: p.service,
            classes,
        }
    }

    fn class(&self, kind: ClassKind) -> Option<&(ClassKind, Side, Vec<RuleRef>)> {
        self.classes.iter().find(|(k, _, _)| *k == kind)
    }
}

fn key(p: &Explained) -> Key {
    let d = &p.destination;
    (d.address, d.port, d.protocol.to_string(), p.family as u8)
}

/// Compares the destinations `targets` ask for (every nodePort of either side when none)
/// on `a` and `b`, sorted by address, port, protocol and family.
pub fn diff(
    a: &RuleReader<'_, '_>,
    b: &RuleReader<'_, '_>,
    targets: &[Target],
    options: &ExplainOptions,
) -> Vec<PortDiff> {
    let explained_a = explain_side(a, targets, options);
    let explained_b = explain_side(b, targets, options);
    let mut keys: Vec<Key> = explained_a.iter().chain(&explained_b).map(key).collect();
    keys.sort();
    keys.dedup();
    // Each side by key, the first explanation of a key kept: a map, not a search of the
    // side for each key (20,000 nodePorts took 12 s).
    let (mut by_a, mut by_b) = (by_key(explained_a), by_key(explained_b));
    keys.into_iter()
        .filter_map(|k| compare(by_a.remove(&k), by_b.remove(&k)))
        .collect()
}

/// The explanations by key, the first of each key kept.
fn by_key(side: Vec<Explained>) -> FxHashMap<Key, Explained> {
    let mut out = FxHashMap::default();
    for p in side {
        out.entry(key(&p)).or_insert(p);
    }
    out
}

fn explain_side(
    rules: &RuleReader<'_, '_>,
    targets: &[Target],
    options: &ExplainOptions,
) -> Vec<Explained> {
    let entries: Vec<Entry> = if targets.is_empty() {
        every_node_port(rules)
            .into_iter()
            .map(|p| Entry::from_node_port(p, None))
            .collect()
    } else {
        targets
            .iter()
            .flat_map(|t| find_entries(rules, t))
            .collect()
    };
    explain_each(rules, options, &entries, Explained::of)
}

fn service_side(p: &PortExplanation) -> ServiceSide {
    ServiceSide {
        scope: p.shape.scope,
        policy: p.shape.policy,
        endpoints: p.shape.endpoints.len(),
        local_endpoints: p
            .shape
            .endpoints
            .iter()
            .filter(|e| e.locality == Locality::Local)
            .count(),
    }
}

/// Compares one destination (`None` when neither side has it).
fn compare(a: Option<Explained>, b: Option<Explained>) -> Option<PortDiff> {
    let either = a.as_ref().or(b.as_ref())?;
    let (destination, family) = (either.destination, either.family);
    let mut classes = Vec::new();
    for kind in KINDS {
        let ca = a.as_ref().and_then(|p| p.class(kind));
        let cb = b.as_ref().and_then(|p| p.class(kind));
        let (sa, sb) = (ca.map(|c| c.1), cb.map(|c| c.1));
        if sa == sb {
            continue;
        }
        let no_rules = Vec::new();
        let rules_a = ca.map_or(&no_rules, |c| &c.2);
        let rules_b = cb.map_or(&no_rules, |c| &c.2);
        classes.push(ClassDiff {
            kind,
            a: sa,
            b: sb,
            only_a: only_in(rules_a, rules_b),
            only_b: only_in(rules_b, rules_a),
        });
    }
    let service = a
        .as_ref()
        .and_then(|p| p.service.clone())
        .or_else(|| b.as_ref().and_then(|p| p.service.clone()));
    Some(PortDiff {
        destination,
        family,
        service,
        a: a.map(|p| p.side),
        b: b.map(|p| p.side),
        classes,
    })
}

/// The decisive rules of the class's first branch with its verdict.
fn decisive(class: &ClassExplanation) -> Vec<RuleRef> {
    class
        .branches
        .iter()
        .find(|b| b.verdict == class.verdict)
        .map(|b| b.decisive.clone())
        .unwrap_or_default()
}

/// The rules of `these` whose text `others` does not have (line numbers differ between
/// nodes; the text is what the rules say).
fn only_in(these: &[RuleRef], others: &[RuleRef]) -> Vec<RuleRef> {
    these
        .iter()
        .filter(|r| !others.iter().any(|o| o.text == r.text))
        .cloned()
        .collect()
}

/// Each side's proxy mode when that side shows none of the destinations compared and is
/// from a mode `explain` cannot analyse (A's, then B's): comparing it would only say "no
/// such nodePort".
pub fn unanalysed_sides(
    a: &RuleReader<'_, '_>,
    b: &RuleReader<'_, '_>,
    ports: &[PortDiff],
    node_ips: &[IpAddr],
) -> [Option<UnsupportedMode>; 2] {
    let a_has = ports.iter().any(|p| p.a.is_some());
    let b_has = ports.iter().any(|p| p.b.is_some());
    [
        (!a_has).then(|| mode::unanalysed(a, node_ips)).flatten(),
        (!b_has).then(|| mode::unanalysed(b, node_ips)).flatten(),
    ]
}
