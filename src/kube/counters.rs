//! Counters as evidence: with `iptables-save -c` input, whether the packet counters of the
//! rules a destination's verdicts depend on confirm those verdicts, contradict them, or say
//! nothing. Typed findings only; the report words them.
//!
//! The reasoning, per destination:
//!
//! - The **entry** is the destination's own nat rule the source classes pass last on their
//!   way in (the KUBE-NODEPORTS rule jumping to the service's chain, the KUBE-SERVICES rule
//!   of an address). Its counter, N, is how many packets entered.
//! - Each class's path goes on from the entry to a **next rule**: the first decisive rule
//!   after it (the pods' short-circuit, the LOCAL masquerade mark, the drop). The classes
//!   stand for every source the rules tell apart, so, as far as the rules in the input show,
//!   each packet counted at the entry matched the next rule of its class's path: those are
//!   the **ways** the N packets can go on. A class undetermined only because a grep may have
//!   missed its pod rule (the first of a KUBE-XLB/KUBE-EXT chain) has two: the way shown,
//!   where its packets get the verdict of the path shown (they did not take the rule before
//!   it), and the way that rule would take, which no counter shows.
//! - N is 0: nothing to say ("no packets counted"). Every way counted 0, and each has a
//!   counter: the N packets were counted nowhere further on, which **contradicts** the
//!   verdicts; the way that should have counted them is named, with the possible causes (a
//!   counter reset, a rule before it that the input does not show) and the command whose
//!   output tells them apart. The ways that counted packets all lead to one verdict and the
//!   others counted 0: that verdict is **confirmed** when the counted ways add up to N (or
//!   more: a chain may also be entered from elsewhere), or when the rest can only have gone
//!   ways without a counter that lead to the same verdict (a path that ends without a
//!   counted rule: confirmed by elimination), or exactly N while other uncounted ways exist.
//!   Anything else (ways of different verdicts counted, fewer counted than entered, packets
//!   that may have gone a way no counter shows) neither confirms nor contradicts.
//! - `--src` follows one source, but counters count them all: nothing to say then.

use ipnet::IpNet;

use crate::kube::chains::ServiceChain;
use crate::kube::destination::DestinationKind;
use crate::kube::explanation::{
    BranchExplanation, BranchReason, ClassExplanation, ClassKind, PortExplanation, RuleRef, Verdict,
};
use crate::model::Counters;

/// What the counters say about one destination's verdicts.
#[derive(Debug, Clone, PartialEq)]
pub enum CounterEvidence {
    /// The counted packets all went the way of one verdict.
    Confirms {
        /// The entry and the ways on.
        seen: CountedPaths,
        /// The verdict confirmed.
        verdict: Verdict,
        /// The ways (indices into `seen.ways`) that took the packets.
        taken: Vec<usize>,
        /// True when the ways taken have no counter: every other way counted nothing, so
        /// the packets can only have gone there.
        by_elimination: bool,
        /// DNAT rules on the ways not taken, all of which counted 0 (empty when any of
        /// them counted packets: a DNAT rule also counts the ClusterIP's connections).
        unreached_dnat: Vec<RuleRef>,
    },
    /// Packets entered and no way on counted any.
    Contradicts {
        /// The entry and the ways on (all counted 0).
        seen: CountedPaths,
        /// The way that should have taken them, when one stands out (the only way, or the
        /// one every source not singled out by a rule takes).
        expected: Option<usize>,
        /// What could explain it: possibilities, not the answer.
        causes: Vec<ContradictionCause>,
        /// The command whose output would tell the possibilities apart.
        next_command: NextCommand,
    },
    /// The counters neither confirm nor contradict.
    Silent {
        /// The entry and the ways on, when there is an entry to speak of.
        seen: Option<CountedPaths>,
        /// Why.
        why: Silence,
    },
}

/// Why the counters say nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silence {
    /// The entry counted no packet.
    NothingCounted,
    /// The ways that counted packets lead to different verdicts.
    Split,
    /// The ways on counted fewer packets than entered, in all.
    FewerCounted {
        /// How many they counted.
        counted: u64,
    },
    /// Some packets may have gone a way no counter shows.
    Unseen,
    /// Only one source was followed (`--src`): the counters count every source.
    OneSource,
    /// No class's path passes a counted rule of the destination.
    NoEntry,
}

/// A possible reason why packets that entered were not counted further on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContradictionCause {
    /// The counters of the way's table were reset after the entry's were.
    CountersReset {
        /// The table (`filter`: kube-proxy rewrites its filter chains on every sync; `nat`:
        /// a service's chains when the service or its endpoints change).
        table: String,
    },
    /// A rule before the way, in a base chain the packets pass, took them first.
    EarlierRule {
        /// The table.
        table: String,
        /// The base chains.
        hooks: Vec<&'static str>,
        /// False when that chain is not in the input (a fragment).
        in_input: bool,
    },
}

/// `iptables-save -c -t TABLE | grep -E -- 'P1|P2…'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextCommand {
    /// The table to save.
    pub table: String,
    /// The alternatives to grep for (dump text: sanitise before printing).
    pub patterns: Vec<String>,
}

/// The entry rule and the ways on from it.
#[derive(Debug, Clone, PartialEq)]
pub struct CountedPaths {
    /// The destination's rule the classes pass on their way in, with its counters.
    pub entry: RuleRef,
    /// Its counters.
    pub counters: Counters,
    /// The ways on, in class order.
    pub ways: Vec<Way>,
}

/// One way the packets counted at the entry can go on.
#[derive(Debug, Clone, PartialEq)]
pub struct Way {
    /// The first decisive rule after the entry; `None` when the path has none (it ends, or
    /// goes on only through rules the walk does not cite).
    pub rule: Option<RuleRef>,
    /// The classes whose paths go this way, each with its branch's verdict.
    pub takers: Vec<Taker>,
    /// The DNAT rules the paths going this way end in (to an endpoint).
    pub dnat: Vec<RuleRef>,
}

impl Way {
    /// The way's counters: `None` when it has no rule, or a rule without counters.
    pub fn counters(&self) -> Option<Counters> {
        self.rule.as_ref().and_then(|r| r.counters)
    }

    /// The distinct verdicts of the packets taking this way, in order.
    pub fn verdicts(&self) -> Vec<Verdict> {
        let mut out: Vec<Verdict> = Vec::new();
        for t in &self.takers {
            if !out.contains(&t.on_way) {
                out.push(t.on_way);
            }
        }
        out
    }
}

/// A class taking a way, and where that leads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Taker {
    /// The class.
    pub kind: ClassKind,
    /// Its prefix, if any.
    pub prefix: Option<IpNet>,
    /// The verdict of its branch going this way.
    pub verdict: Verdict,
    /// What a packet of this class that takes this way gets: the branch's verdict, or,
    /// when the branch is undetermined only because a rule the input may lack could take
    /// the packet before this way (a grep misses a policy chain's pod rule), the verdict
    /// of the path shown.
    pub on_way: Verdict,
}

/// What the counters say about `port`'s verdicts; `None` when none of its rules has
/// counters.
pub(crate) fn counter_evidence(port: &PortExplanation) -> Option<CounterEvidence> {
    let counted = |r: &RuleRef| r.counters.is_some();
    let any = port.entry_rules.iter().any(counted)
        || port
            .classes
            .iter()
            .flat_map(|c| &c.branches)
            .flat_map(|b| &b.decisive)
            .any(counted);
    if !any {
        return None;
    }
    if port.classes.iter().any(|c| c.kind == ClassKind::Given) {
        return Some(CounterEvidence::Silent {
            seen: None,
            why: Silence::OneSource,
        });
    }
    let Some((entry, counters)) = entry_rule(port) else {
        return Some(CounterEvidence::Silent {
            seen: None,
            why: Silence::NoEntry,
        });
    };
    let ways = ways_on(port, &entry);
    let seen = CountedPaths {
        entry,
        counters,
        ways,
    };
    Some(judge(seen, Facts::of(port)))
}

fn same_rule(a: &RuleRef, b: &RuleRef) -> bool {
    a.line == b.line && a.table == b.table && a.chain == b.chain
}

/// The last of the destination's own counted nat rules on a branch's path, and where.
fn entry_on(port: &PortExplanation, decisive: &[RuleRef]) -> Option<usize> {
    decisive.iter().rposition(|r| {
        r.table != "filter"
            && r.counters.is_some()
            && port.entry_rules.iter().any(|e| same_rule(e, r))
    })
}

/// The entry most branches pass (the first such, on a tie).
fn entry_rule(port: &PortExplanation) -> Option<(RuleRef, Counters)> {
    let mut seen: Vec<(RuleRef, usize)> = Vec::new();
    for b in port.classes.iter().flat_map(|c| &c.branches) {
        let Some(at) = entry_on(port, &b.decisive) else {
            continue;
        };
        let rule = &b.decisive[at];
        match seen.iter_mut().find(|(r, _)| same_rule(r, rule)) {
            Some((_, n)) => *n += 1,
            None => seen.push((rule.clone(), 1)),
        }
    }
    let most = seen.iter().map(|(_, n)| *n).max()?;
    let (rule, _) = seen.into_iter().find(|(_, n)| *n == most)?;
    let counters = rule.counters?;
    Some((rule, counters))
}

/// Every branch whose path passes `entry` (as its last entry rule), with its class and the
/// next decisive rule after the entry, if any.
fn passing<'p>(
    port: &'p PortExplanation,
    entry: &'p RuleRef,
) -> impl Iterator<
    Item = (
        &'p ClassExplanation,
        &'p BranchExplanation,
        Option<&'p RuleRef>,
    ),
> {
    port.classes.iter().flat_map(move |class| {
        class.branches.iter().filter_map(move |b| {
            let at = entry_on(port, &b.decisive)?;
            same_rule(&b.decisive[at], entry).then(|| (class, b, b.decisive.get(at + 1)))
        })
    })
}

/// True if `way` is the one going on by `next`.
fn is_way(way: &Way, next: Option<&RuleRef>) -> bool {
    match (&way.rule, next) {
        (Some(a), Some(b)) => same_rule(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// The ways on from `entry`: per branch passing it, the next decisive rule; and, for a
/// branch whose pod rule the input may not show, the way that rule would take (no counter).
fn ways_on(port: &PortExplanation, entry: &RuleRef) -> Vec<Way> {
    let mut ways: Vec<Way> = Vec::new();
    for (class, b, next) in passing(port, entry) {
        let mut taker = Taker {
            kind: class.kind,
            prefix: class.prefix,
            verdict: b.verdict,
            on_way: b.verdict,
        };
        if let BranchReason::PodRuleNotShown { chain, shown, .. } = &b.reason
            && next.is_some_and(|r| r.chain == *chain)
        {
            // The pod rule would be the chain's first: packets counted further in it did
            // not take it, and went the way shown.
            taker.on_way = shown_verdict(shown);
            let unseen = Taker {
                on_way: Verdict::Undetermined,
                ..taker
            };
            add_taker(&mut ways, None, unseen, None);
        }
        add_taker(&mut ways, next, taker, dnat_rule(b));
    }
    ways
}

fn add_taker(ways: &mut Vec<Way>, next: Option<&RuleRef>, taker: Taker, dnat: Option<&RuleRef>) {
    let at = match ways.iter().position(|w| is_way(w, next)) {
        Some(at) => at,
        None => {
            ways.push(Way {
                rule: next.cloned(),
                takers: Vec::new(),
                dnat: Vec::new(),
            });
            ways.len() - 1
        }
    };
    let way = &mut ways[at];
    if !way.takers.contains(&taker) {
        way.takers.push(taker);
    }
    if let Some(rule) = dnat
        && !way.dnat.iter().any(|r| same_rule(r, rule))
    {
        way.dnat.push(rule.clone());
    }
}

/// The verdict a reason stands for (undetermined when it does not say).
fn shown_verdict(reason: &BranchReason) -> Verdict {
    match reason {
        BranchReason::Dropped { .. } | BranchReason::AssumedDrop { .. } => Verdict::Dropped,
        BranchReason::Rejected { .. } => Verdict::Rejected,
        BranchReason::Masqueraded
        | BranchReason::MasqueradeAssumed
        | BranchReason::MarkedIntoMissingChain { .. } => Verdict::Masqueraded,
        BranchReason::Preserved => Verdict::Preserved,
        BranchReason::NotDnated => Verdict::NotHandled,
        BranchReason::Forwarded => Verdict::Forwarded,
        _ => Verdict::Undetermined,
    }
}

/// The DNAT rule of a DNATed branch: the last of its rules in an endpoint chain.
fn dnat_rule(b: &BranchExplanation) -> Option<&RuleRef> {
    b.endpoint?;
    b.decisive
        .iter()
        .rev()
        .find(|r| r.table == "nat" && ServiceChain::Endpoint.is(&r.chain))
}

/// The one verdict every taker of `ways` has, if it is a definite one.
fn single_verdict<'w>(ways: impl IntoIterator<Item = &'w Way>) -> Option<Verdict> {
    let mut verdicts = ways.into_iter().flat_map(|w| w.verdicts());
    let first = verdicts.next()?;
    (first != Verdict::Undetermined && verdicts.all(|v| v == first)).then_some(first)
}

/// What the finding depends on besides the counts: the destination.
#[derive(Debug, Clone, Copy)]
struct Facts {
    kind: DestinationKind,
    address: Option<std::net::IpAddr>,
    port: u16,
    partial: bool,
}

impl Facts {
    fn of(port: &PortExplanation) -> Self {
        Facts {
            kind: port.destination.kind,
            address: port.destination.address,
            port: port.destination.port,
            partial: port.partial,
        }
    }
}

/// The finding, from the entry's count and the ways' counts (see the module docs).
fn judge(seen: CountedPaths, facts: Facts) -> CounterEvidence {
    let entered = seen.counters.packets;
    if entered == 0 {
        return silent(seen, Silence::NothingCounted);
    }
    if seen.ways.is_empty() {
        return silent(seen, Silence::Unseen);
    }
    let index = |keep: &dyn Fn(&Way) -> bool| -> Vec<usize> {
        (0..seen.ways.len())
            .filter(|&i| keep(&seen.ways[i]))
            .collect()
    };
    let counted = index(&|w| w.counters().is_some_and(|c| c.packets > 0));
    let unseen = index(&|w| w.counters().is_none());
    if counted.is_empty() && unseen.is_empty() {
        return contradicts(seen, facts);
    }
    let ways_at = |at: &[usize]| at.iter().map(|&i| &seen.ways[i]).collect::<Vec<_>>();
    if counted.is_empty() {
        return match single_verdict(ways_at(&unseen)) {
            Some(verdict) => confirms(seen, verdict, unseen, true),
            None => silent(seen, Silence::Unseen),
        };
    }
    let Some(verdict) = single_verdict(ways_at(&counted)) else {
        return silent(seen, Silence::Split);
    };
    let total: u64 = counted
        .iter()
        .filter_map(|&i| seen.ways[i].counters())
        .map(|c| c.packets)
        .sum();
    let unseen_agree = !unseen.is_empty() && single_verdict(ways_at(&unseen)) == Some(verdict);
    if unseen_agree {
        // What the counted ways miss went the unseen ways, of the same verdict.
        let mut taken = counted;
        taken.extend(unseen);
        taken.sort_unstable();
        return confirms(seen, verdict, taken, false);
    }
    if total == entered || (unseen.is_empty() && total > entered) {
        return confirms(seen, verdict, counted, false);
    }
    let why = if unseen.is_empty() {
        Silence::FewerCounted { counted: total }
    } else {
        Silence::Unseen
    };
    silent(seen, why)
}

fn silent(seen: CountedPaths, why: Silence) -> CounterEvidence {
    CounterEvidence::Silent {
        seen: Some(seen),
        why,
    }
}

fn confirms(
    seen: CountedPaths,
    verdict: Verdict,
    taken: Vec<usize>,
    by_elimination: bool,
) -> CounterEvidence {
    let unreached_dnat = if matches!(verdict, Verdict::Preserved | Verdict::Masqueraded) {
        Vec::new()
    } else {
        unreached_dnat(&seen, &taken)
    };
    CounterEvidence::Confirms {
        seen,
        verdict,
        taken,
        by_elimination,
        unreached_dnat,
    }
}

/// The DNAT rules the ways not taken lead to, when every one of them counted 0 (one that
/// counted packets may count the ClusterIP's connections: it says nothing here).
fn unreached_dnat(seen: &CountedPaths, taken: &[usize]) -> Vec<RuleRef> {
    let mut out: Vec<RuleRef> = Vec::new();
    for (i, way) in seen.ways.iter().enumerate() {
        if taken.contains(&i) {
            continue;
        }
        for rule in &way.dnat {
            if !out.iter().any(|r| same_rule(r, rule)) {
                out.push(rule.clone());
            }
        }
    }
    if out
        .iter()
        .all(|r| r.counters.is_some_and(|c| c.packets == 0))
    {
        out
    } else {
        Vec::new()
    }
}

/// Every way counted 0: the packets that entered were not counted further on.
fn contradicts(seen: CountedPaths, facts: Facts) -> CounterEvidence {
    let expected = if seen.ways.len() == 1 {
        Some(0)
    } else {
        seen.ways
            .iter()
            .position(|w| w.takers.iter().any(|t| t.kind == ClassKind::Other))
    };
    let hooks: Vec<&'static str> = match facts.kind {
        DestinationKind::NodePort | DestinationKind::HealthCheck => vec!["INPUT"],
        _ => vec!["INPUT", "FORWARD"],
    };
    // The tables of the way that should have counted the packets (of every way, when
    // none stands out): where a reset or an earlier rule would have hidden them.
    let mut tables: Vec<String> = Vec::new();
    let suspects = match expected {
        Some(i) => &seen.ways[i..=i],
        None => &seen.ways[..],
    };
    for r in suspects.iter().filter_map(|w| w.rule.as_ref()) {
        if !tables.contains(&r.table) {
            tables.push(r.table.clone());
        }
    }
    let filter = tables.iter().any(|t| t == "filter");
    let mut causes: Vec<ContradictionCause> = tables
        .iter()
        .map(|table| ContradictionCause::CountersReset {
            table: table.clone(),
        })
        .collect();
    if filter {
        causes.push(ContradictionCause::EarlierRule {
            table: "filter".into(),
            hooks: hooks.clone(),
            in_input: !facts.partial,
        });
    } else if facts.partial {
        causes.push(ContradictionCause::EarlierRule {
            table: seen.entry.table.clone(),
            hooks: Vec::new(),
            in_input: false,
        });
    }
    let next_command = next_command(&seen, facts, filter, &hooks);
    CounterEvidence::Contradicts {
        seen,
        expected,
        causes,
        next_command,
    }
}

/// What to save and grep to tell the possibilities apart.
fn next_command(
    seen: &CountedPaths,
    facts: Facts,
    filter: bool,
    hooks: &[&'static str],
) -> NextCommand {
    let named = match facts.address {
        Some(address) if facts.kind != DestinationKind::NodePort => address.to_string(),
        _ => facts.port.to_string(),
    };
    if filter {
        let mut patterns: Vec<String> = hooks.iter().map(|h| format!("-A {h}")).collect();
        patterns.push(named);
        return NextCommand {
            table: "filter".into(),
            patterns,
        };
    }
    let mut patterns: Vec<String> = Vec::new();
    for r in seen.ways.iter().filter_map(|w| w.rule.as_ref()) {
        if !patterns.contains(&r.chain) {
            patterns.push(r.chain.clone());
        }
    }
    patterns.push(named);
    NextCommand {
        table: seen.entry.table.clone(),
        patterns,
    }
}

#[cfg(test)]
#[path = "counters_tests.rs"]
mod tests;
