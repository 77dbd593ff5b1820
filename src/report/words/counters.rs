//! What `iptables-save -c` counters say about a destination's verdicts, in words: the
//! confirmation, the contradiction with its possible causes and the command to run next,
//! or why they say nothing. Nothing here sanitises: callers do.

use crate::kube::RuleRef;
use crate::kube::counters::{
    ContradictionCause, CountedPaths, CounterEvidence, NextCommand, Silence, Taker, Way,
};
use crate::kube::explanation::{ClassKind, Verdict};
use crate::model::Counters;

/// The sentence for a destination's counter evidence.
pub fn counter_evidence(evidence: &CounterEvidence) -> String {
    match evidence {
        CounterEvidence::Confirms {
            seen,
            verdict,
            taken,
            by_elimination,
            unreached_dnat,
        } => confirms(seen, *verdict, taken, *by_elimination, unreached_dnat),
        CounterEvidence::Contradicts {
            seen,
            expected,
            causes,
            next_command: next,
        } => contradicts(seen, *expected, causes, next),
        CounterEvidence::Silent { seen, why } => silent(seen.as_ref(), *why),
    }
}

/// `iptables-save -c -t filter | grep -E -- '-A INPUT|31443'`.
pub fn next_command(next: &NextCommand) -> String {
    format!(
        "iptables-save -c -t {} | grep -E -- '{}'",
        next.table,
        next.patterns.join("|")
    )
}

/// "4211 packets (252660 bytes, 60 per packet)".
pub fn packets(c: Counters) -> String {
    match c.packets {
        0 => "0 packets".into(),
        1 => format!("1 packet ({} bytes)", c.bytes),
        n if c.bytes.is_multiple_of(n) => {
            format!(
                "{n} packets ({} bytes, {} per packet)",
                c.bytes,
                c.bytes / n
            )
        }
        n => format!("{n} packets ({} bytes)", c.bytes),
    }
}

fn rule_at(r: &RuleRef) -> String {
    format!("line {} ({} {})", r.line, r.table, r.chain)
}

/// A short name for a class taking a way.
fn taker_name(t: &Taker) -> String {
    let prefix = t.prefix.map(|p| format!(" {p}")).unwrap_or_default();
    match t.kind {
        ClassKind::Loopback => format!("loopback sources{prefix}"),
        ClassKind::Node => "this node's addresses".into(),
        ClassKind::Pods => format!("pods{prefix}"),
        ClassKind::Endpoint => "the endpoint itself".into(),
        ClassKind::Prefix => format!("sources in{prefix}"),
        ClassKind::Other => "external clients".into(),
        ClassKind::Given => "the given source".into(),
    }
}

/// The classes taking `ways`, each once, optionally only those with `verdict`.
fn takers(ways: &[&Way], verdict: Option<Verdict>) -> String {
    let mut names: Vec<String> = Vec::new();
    for t in ways.iter().flat_map(|w| &w.takers) {
        if verdict.is_some_and(|v| v != t.verdict) {
            continue;
        }
        let name = taker_name(t);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(", ")
}

/// "line 8 (loopback sources 127.0.0.0/8, this node's addresses): 0 packets"; the one way
/// there is is "every source"'s.
fn way_count(seen: &CountedPaths, w: &Way) -> String {
    let who = if seen.ways.len() == 1 {
        "every source".to_string()
    } else {
        takers(&[w], None)
    };
    match (&w.rule, w.counters()) {
        (Some(r), Some(c)) => format!("line {} ({who}): {}", r.line, packets(c)),
        (Some(r), None) => format!("line {} ({who}): no counter", r.line),
        (None, _) => format!("the way {who} go: no rule counts it"),
    }
}

/// "line 5 (nat KUBE-NODEPORTS), where connections to this destination enter, counted …".
fn entered(seen: &CountedPaths) -> String {
    format!(
        "{}, where connections to this destination enter, counted {}",
        rule_at(&seen.entry),
        packets(seen.counters)
    )
}

/// What nat counters count, and what they do not.
fn caveat(seen: &CountedPaths) -> String {
    let n = seen.counters.packets;
    format!(
        "Counters count packets, not clients: a nat rule counts the first packet of each new connection, and a connection that gets no answer is tried again (for TCP, SYN retransmissions), each try counted again, so {n} packets are {n} connection attempts, not {n} clients."
    )
}

fn confirms(
    seen: &CountedPaths,
    verdict: Verdict,
    taken: &[usize],
    by_elimination: bool,
    unreached_dnat: &[RuleRef],
) -> String {
    let taken_ways: Vec<&Way> = taken.iter().map(|&i| &seen.ways[i]).collect();
    let others: Vec<String> = (0..seen.ways.len())
        .filter(|i| !taken.contains(i))
        .map(|i| way_count(seen, &seen.ways[i]))
        .collect();
    let (who, go) = if others.is_empty() {
        ("every source".to_string(), "goes")
    } else {
        (takers(&taken_ways, Some(verdict)), "go")
    };
    let mut out = format!(
        "The counters confirm the verdict for {who} ({}): {}",
        verdict.as_str(),
        entered(seen)
    );
    if by_elimination {
        out.push_str(&format!(
            ", and every other way on counted none ({}), so all of them went the way {who} {go}, which no rule counts.",
            others.join("; ")
        ));
    } else {
        let counted: Vec<String> = taken_ways
            .iter()
            .filter_map(|w| Some((w.rule.as_ref()?, w.counters()?)))
            .map(|(r, c)| format!("{} counted {}", rule_at(r), packets(c)))
            .collect();
        out.push_str(&format!(
            ", and {}: the way {who} {go}.",
            counted.join(", ")
        ));
        let not_taken = (0..seen.ways.len()).filter(|i| !taken.contains(i));
        let (zero, unseen): (Vec<usize>, Vec<usize>) =
            not_taken.partition(|&i| seen.ways[i].counters().is_some());
        if !zero.is_empty() {
            let zero: Vec<String> = zero
                .iter()
                .map(|&i| way_count(seen, &seen.ways[i]))
                .collect();
            out.push_str(&format!(
                " The other ways on counted none: {}.",
                zero.join("; ")
            ));
        }
        if !unseen.is_empty() {
            let unseen: Vec<&Way> = unseen.iter().map(|&i| &seen.ways[i]).collect();
            let who = takers(&unseen, None);
            let who = match who.rsplit_once(", ") {
                Some((head, last)) => format!("{head} and {last}"),
                None => who,
            };
            out.push_str(&format!(
                " A way no counter shows is open to {who} too, but the packets counted there are all that entered."
            ));
        }
    }
    if !unreached_dnat.is_empty() {
        let lines: Vec<u32> = unreached_dnat.iter().map(|r| r.line).collect();
        out.push_str(&format!(
            " The DNAT to an endpoint ({}) counted no packet: no connection reached an endpoint through this node.",
            super::lines_text(&lines)
        ));
    }
    out.push(' ');
    out.push_str(&caveat(seen));
    out
}

fn contradicts(
    seen: &CountedPaths,
    expected: Option<usize>,
    causes: &[ContradictionCause],
    next: &NextCommand,
) -> String {
    let n = seen.counters.packets;
    let mut out = match expected {
        Some(at) => expected_way(seen, at),
        None => {
            let all: Vec<String> = seen.ways.iter().map(|w| way_count(seen, w)).collect();
            format!(
                "The counters contradict the verdicts: {}, and no rule after it counted any: all {n} should have been counted by one of {}. ",
                entered(seen),
                all.join("; ")
            )
        }
    };
    let possible: Vec<String> = causes.iter().map(|c| cause(c, seen)).collect();
    let (lead, check) = if possible.len() == 1 {
        ("A possible reason", "To check")
    } else {
        ("Possible reasons", "To tell them apart")
    };
    out.push_str(&format!(
        "{lead} (the counters alone cannot tell): {}. {check}, run `{}`. ",
        possible.join("; or "),
        next_command(next)
    ));
    out.push_str(&caveat(seen));
    out
}

/// The contradiction when one way should have counted every packet.
fn expected_way(seen: &CountedPaths, at: usize) -> String {
    let n = seen.counters.packets;
    let way = &seen.ways[at];
    let verdicts: Vec<&str> = way.verdicts().iter().map(|v| v.as_str()).collect();
    let who = if seen.ways.len() == 1 {
        "every source".to_string()
    } else {
        takers(&[way], None)
    };
    let mut out = format!(
        "The counters contradict the verdict for {who} ({}): {}. ",
        verdicts.join(" or "),
        entered(seen)
    );
    let others: Vec<String> = (0..seen.ways.len())
        .filter(|&i| i != at)
        .map(|i| way_count(seen, &seen.ways[i]))
        .collect();
    if others.is_empty() {
        out.push_str(&format!("All {n} should have reached "));
    } else {
        out.push_str(&format!(
            "The rules that take other sources counted none ({}), so all {n} should have reached ",
            others.join("; ")
        ));
    }
    out.push_str(&format!(
        "{}, the way {who} {}, and it counted none. ",
        way.rule
            .as_ref()
            .map_or_else(|| "the end of their path".to_string(), rule_at),
        if seen.ways.len() == 1 { "goes" } else { "go" }
    ));
    out
}

fn cause(c: &ContradictionCause, seen: &CountedPaths) -> String {
    match c {
        ContradictionCause::CountersReset { table } if table == "filter" => "kube-proxy rewrites its filter chains on every sync, which resets their counters, while the nat chains it leaves unchanged keep theirs".into(),
        ContradictionCause::CountersReset { table } => format!(
            "the {table} chains after line {} were rewritten after those packets were counted (kube-proxy rewrites a service's chains when the service or its endpoints change), which starts their counters again from zero",
            seen.entry.line
        ),
        ContradictionCause::EarlierRule {
            table,
            hooks,
            in_input,
        } if hooks.is_empty() => format!(
            "a {table} rule between line {} and those rules{} took the packets first",
            seen.entry.line,
            if *in_input { "" } else { ", not in this input," }
        ),
        ContradictionCause::EarlierRule {
            table,
            hooks,
            in_input,
        } => format!(
            "an earlier rule in {table} {}{} accepted or dropped the packets first",
            hooks.join(" or "),
            if *in_input { "" } else { ", not in this input," }
        ),
    }
}

fn silent(seen: Option<&CountedPaths>, why: Silence) -> String {
    let lead = "The counters neither confirm nor contradict the verdicts";
    let Some(seen) = seen else {
        return match why {
            Silence::OneSource => format!(
                "{lead}: they count packets from every source, and only one source was followed (--src)."
            ),
            _ => format!("{lead}: no source's path passes a counted rule of this destination."),
        };
    };
    let ways: Vec<String> = seen.ways.iter().map(|w| way_count(seen, w)).collect();
    match why {
        Silence::NothingCounted => format!(
            "No packets counted: {} counted none, so the counters neither confirm nor contradict the verdicts.",
            rule_at(&seen.entry)
        ),
        Silence::Split => format!(
            "{lead}: {}, and the ways on that counted packets do not all lead to one verdict: {}.",
            entered(seen),
            ways.join("; ")
        ),
        Silence::FewerCounted { counted } => format!(
            "{lead}: {}, but the ways on counted {counted} in all: {}.",
            entered(seen),
            ways.join("; ")
        ),
        Silence::Unseen | Silence::OneSource | Silence::NoEntry => format!(
            "{lead}: {}, and some may have gone a way no counter shows: {}.",
            entered(seen),
            ways.join("; ")
        ),
    }
}
