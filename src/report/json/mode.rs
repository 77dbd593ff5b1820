//! The proxy mode's JSON wire types, shared by the `explain` and `inspect` documents (their
//! module docs describe the fields).

use serde::Serialize;

use crate::kube::Explanation;
use crate::kube::mode::{RulesetMode, Sighting, UnsupportedMode};
use crate::report::sanitize;
use crate::report::words::mode::ModeAnswer;

/// A line that shows a mode, or a rule of that mode naming the target.
#[derive(Serialize)]
pub(super) struct SightingWire {
    line: u32,
    table: String,
    chain: Option<String>,
    text: Option<String>,
}

/// Another kube-proxy mode whose chains are in the same ruleset.
#[derive(Serialize)]
pub(super) struct OtherModeWire {
    mode: &'static str,
    evidence: SightingWire,
}

/// `explain`'s answer for a mode it cannot analyse.
#[derive(Serialize)]
pub(super) struct UnsupportedWire {
    mode: &'static str,
    message: String,
    evidence: Vec<SightingWire>,
    rules: Vec<ModeRuleWire>,
    commands: Vec<String>,
}

/// A rule of that mode naming the target, with what it does.
#[derive(Serialize)]
pub(super) struct ModeRuleWire {
    role: &'static str,
    #[serde(flatten)]
    sighting: SightingWire,
}

fn clean(text: &str) -> String {
    sanitize(text).into_owned()
}

pub(super) fn sighting(s: &Sighting) -> SightingWire {
    SightingWire {
        line: s.line,
        table: clean(&s.table),
        chain: s.chain.as_deref().map(clean),
        text: s.text.as_deref().map(clean),
    }
}

pub(super) fn sightings(all: &[Sighting]) -> Vec<SightingWire> {
    all.iter().map(sighting).collect()
}

pub(super) fn others(m: &RulesetMode) -> Vec<OtherModeWire> {
    m.others
        .iter()
        .map(|(mode, s)| OtherModeWire {
            mode: mode.code(),
            evidence: sighting(s),
        })
        .collect()
}

/// The `unsupported_mode` object of an explain document, when the explanation has one.
pub(super) fn unsupported(explanation: &Explanation) -> Option<UnsupportedWire> {
    let u = explanation.unsupported_mode.as_ref()?;
    Some(answer(u, &ModeAnswer::for_target(u, &explanation.target)))
}

/// The `unsupported_mode` object of a mode's answer (`message` is the answer in one
/// paragraph).
pub(super) fn answer(u: &UnsupportedMode, said: &ModeAnswer) -> UnsupportedWire {
    with_message(u, said, said.message())
}

/// The `unsupported_mode` object with another `message` (`trace`'s note).
pub(super) fn with_message(
    u: &UnsupportedMode,
    said: &ModeAnswer,
    message: String,
) -> UnsupportedWire {
    UnsupportedWire {
        mode: u.mode.code(),
        message: clean(&message),
        evidence: sightings(&u.evidence),
        rules: u
            .target_rules
            .iter()
            .map(|r| ModeRuleWire {
                role: r.role.code(),
                sighting: sighting(&r.sighting),
            })
            .collect(),
        commands: said.commands.iter().map(|c| clean(c)).collect(),
    }
}
