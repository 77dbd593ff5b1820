//! The JSON wire types of what `iptables-save -c` counters say (`explain`): a rule's
//! `counters` and a destination's `counter_evidence`, kept apart from the analysis types.

use serde::Serialize;

use crate::kube::counters::{ContradictionCause, CountedPaths, CounterEvidence, Silence, Way};
use crate::model::Counters;
use crate::report::json::explain::{RuleWire, clean, rule};
use crate::report::words;

/// A rule's `[packets:bytes]`.
#[derive(Serialize)]
pub(super) struct CountersWire {
    packets: u64,
    bytes: u64,
}

/// `counters` of a rule object, when the dump has them.
pub(super) fn counters(c: Option<Counters>) -> Option<CountersWire> {
    c.map(|c| CountersWire {
        packets: c.packets,
        bytes: c.bytes,
    })
}

#[derive(Serialize)]
pub(super) struct CounterEvidenceWire {
    finding: &'static str,
    reason: Option<&'static str>,
    verdict: Option<&'static str>,
    entry_rule: Option<RuleWire>,
    ways: Vec<WayWire>,
    cause_codes: Vec<&'static str>,
    next_command: Option<String>,
    text: String,
}

#[derive(Serialize)]
struct WayWire {
    rule: Option<RuleWire>,
    role: &'static str,
    classes: Vec<&'static str>,
    verdicts: Vec<&'static str>,
}

fn ways(seen: &CountedPaths, role: impl Fn(usize) -> &'static str) -> Vec<WayWire> {
    seen.ways
        .iter()
        .enumerate()
        .map(|(i, w): (usize, &Way)| {
            let mut classes: Vec<&'static str> = Vec::new();
            for t in &w.takers {
                if !classes.contains(&t.kind.as_str()) {
                    classes.push(t.kind.as_str());
                }
            }
            WayWire {
                rule: w.rule.as_ref().map(rule),
                role: role(i),
                classes,
                verdicts: w.verdicts().iter().map(|v| v.as_str()).collect(),
            }
        })
        .collect()
}

fn silence_code(why: Silence) -> &'static str {
    match why {
        Silence::NothingCounted => "nothing-counted",
        Silence::Split => "split",
        Silence::FewerCounted { .. } => "fewer-counted",
        Silence::Unseen => "unseen",
        Silence::OneSource => "one-source",
        Silence::NoEntry => "no-entry",
    }
}

fn cause_code(c: &ContradictionCause) -> &'static str {
    match c {
        ContradictionCause::CountersReset { table } if table == "filter" => "filter-counters-reset",
        ContradictionCause::CountersReset { .. } => "chain-counters-reset",
        ContradictionCause::EarlierRule { .. } => "earlier-rule",
    }
}

/// The `counter_evidence` object of a destination.
pub(super) fn evidence(e: &CounterEvidence) -> CounterEvidenceWire {
    let text = clean(&words::counter_evidence(e));
    let entry = |seen: &CountedPaths| Some(rule(&seen.entry));
    match e {
        CounterEvidence::Confirms {
            seen,
            verdict,
            taken,
            ..
        } => CounterEvidenceWire {
            finding: "confirms",
            reason: None,
            verdict: Some(verdict.as_str()),
            entry_rule: entry(seen),
            ways: ways(seen, |i| if taken.contains(&i) { "taken" } else { "other" }),
            cause_codes: Vec::new(),
            next_command: None,
            text,
        },
        CounterEvidence::Contradicts {
            seen,
            expected,
            causes,
            next_command,
        } => CounterEvidenceWire {
            finding: "contradicts",
            reason: None,
            verdict: expected
                .and_then(|i| seen.ways[i].verdicts().first().copied())
                .map(|v| v.as_str()),
            entry_rule: entry(seen),
            ways: ways(seen, |i| {
                if *expected == Some(i) {
                    "expected"
                } else {
                    "other"
                }
            }),
            cause_codes: causes.iter().map(cause_code).collect(),
            next_command: Some(clean(&words::next_command(next_command))),
            text,
        },
        CounterEvidence::Silent { seen, why } => CounterEvidenceWire {
            finding: "silent",
            reason: Some(silence_code(*why)),
            verdict: None,
            entry_rule: seen.as_ref().and_then(entry),
            ways: seen
                .as_ref()
                .map_or_else(Vec::new, |s| ways(s, |_| "other")),
            cause_codes: Vec::new(),
            next_command: None,
            text,
        },
    }
}
