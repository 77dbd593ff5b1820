//! `check`: expectations about a node's verdicts (`31015:external=preserved`), parsed from
//! the command line or a file, and tested against explanations. Also the `CLASS=VERDICT`
//! filter `ports --verdict` shares with them.

use std::net::IpAddr;
use std::str::FromStr;

use crate::kube::destination::Destination;
use crate::kube::explanation::{ClassKind, Explanation, RuleRef, Verdict};
use crate::kube::mode::UnsupportedMode;
use crate::kube::summary::{SOURCE_NAMES, source_name};
use crate::kube::target::Target;

/// Every verdict, in the vocabulary's order.
pub const VERDICTS: [Verdict; 7] = [
    Verdict::Preserved,
    Verdict::Masqueraded,
    Verdict::Dropped,
    Verdict::Rejected,
    Verdict::NotHandled,
    Verdict::Forwarded,
    Verdict::Undetermined,
];

/// A verdict from its word (`preserved`, `not-handled`, ...).
pub fn parse_verdict(word: &str) -> Result<Verdict, String> {
    VERDICTS
        .into_iter()
        .find(|v| v.as_str() == word)
        .ok_or_else(|| {
            let words: Vec<&str> = VERDICTS.iter().map(|v| v.as_str()).collect();
            format!(
                "unknown verdict `{word}` (expected one of: {})",
                words.join(", ")
            )
        })
}

/// Which classes a name selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceSelector {
    /// Every class of this kind.
    Kind(ClassKind),
}

impl FromStr for SourceSelector {
    type Err = String;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        const KINDS: [ClassKind; 7] = [
            ClassKind::Other,
            ClassKind::Pods,
            ClassKind::Prefix,
            ClassKind::Node,
            ClassKind::Loopback,
            ClassKind::Endpoint,
            ClassKind::Given,
        ];
        KINDS
            .into_iter()
            .find(|k| source_name(*k) == word && *k != ClassKind::Given)
            .map(SourceSelector::Kind)
            .ok_or_else(|| {
                let names: Vec<&str> = SOURCE_NAMES
                    .iter()
                    .copied()
                    .filter(|n| *n != "given")
                    .collect();
                format!(
                    "unknown source class `{word}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

impl SourceSelector {
    /// True if the class is selected.
    pub fn selects(self, kind: ClassKind) -> bool {
        match self {
            SourceSelector::Kind(k) => k == kind,
        }
    }
}

/// `VERDICT` or `CLASS=VERDICT`: rows (or classes) with that verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictFilter {
    /// Only this class, or any.
    pub source: Option<SourceSelector>,
    /// The verdict.
    pub verdict: Verdict,
}

impl FromStr for VerdictFilter {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once('=') {
            Some((source, verdict)) => Ok(VerdictFilter {
                source: Some(source.parse()?),
                verdict: parse_verdict(verdict)?,
            }),
            None => Ok(VerdictFilter {
                source: None,
                verdict: parse_verdict(text)?,
            }),
        }
    }
}

/// One expectation: `TARGET:CLASS=VERDICT`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// As written (for the report).
    pub text: String,
    /// The nodePort or service.
    pub target: Target,
    /// The classes it is about.
    pub source: SourceSelector,
    /// The verdict expected.
    pub verdict: Verdict,
}

impl FromStr for Expectation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const FORM: &str = "expected TARGET:CLASS=VERDICT, e.g. `31015:external=preserved`";
        let Some((left, verdict)) = text.rsplit_once('=') else {
            return Err(format!("`{text}` has no `=`: {FORM}"));
        };
        let Some((target, source)) = left.rsplit_once(':') else {
            return Err(format!("`{text}` has no `:` before the class: {FORM}"));
        };
        if target.is_empty() {
            return Err(format!("`{text}` names no nodePort or service: {FORM}"));
        }
        let target: Target = target.parse().map_err(|e| format!("`{text}`: {e}"))?;
        let source: SourceSelector = source.parse().map_err(|e| format!("`{text}`: {e}"))?;
        let verdict = parse_verdict(verdict).map_err(|e| format!("`{text}`: {e}"))?;
        Ok(Expectation {
            text: text.to_string(),
            target,
            source,
            verdict,
        })
    }
}

/// Expectations from a file's text: one per line; blank lines and `#` comments are
/// skipped. An error names the 1-based line.
pub fn parse_expectations(text: &str) -> Result<Vec<Expectation>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        out.push(line.parse().map_err(|e| (i + 1, e))?);
    }
    Ok(out)
}

/// How one expectation fared on one node.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// Every selected class of every matching port has the verdict.
    Held,
    /// A selected class has another verdict.
    Failed {
        /// `31015/tcp`, `198.51.100.81:8109/tcp`
        port: String,
        /// The class that differs, by its name.
        class: &'static str,
        /// Its verdict.
        actual: Verdict,
        /// The last rule that decided it (of its first branch with that verdict).
        rule: Option<RuleRef>,
    },
    /// No matching port has a class of that kind.
    NoSuchClass {
        /// The classes it does have, by name.
        available: Vec<&'static str>,
    },
    /// The nodePort or service is not in the dump.
    NotFound,
    /// The dump is from a proxy mode `explain` cannot analyse: not checked.
    UnsupportedMode {
        /// The target, as asked.
        target: Target,
        /// The mode, as `explain` reports it.
        mode: Box<UnsupportedMode>,
    },
}

impl Fate {
    /// True if the expectation held.
    pub fn held(&self) -> bool {
        matches!(self, Fate::Held)
    }

    /// True if it could not be tested: the dump is from a mode `explain` cannot analyse.
    pub fn unsupported_mode(&self) -> bool {
        matches!(self, Fate::UnsupportedMode { .. })
    }
}

/// Tests `expectation` against `explanation` (explained for the expectation's target).
pub fn test(expectation: &Expectation, explanation: &Explanation) -> Fate {
    if explanation.ports.is_empty() {
        return match &explanation.unsupported_mode {
            Some(u) => Fate::UnsupportedMode {
                target: explanation.target.clone(),
                mode: Box::new(u.clone()),
            },
            None => Fate::NotFound,
        };
    }
    let mut any = false;
    for port in &explanation.ports {
        for class in port
            .classes
            .iter()
            .filter(|c| expectation.source.selects(c.kind))
        {
            any = true;
            if class.verdict != expectation.verdict {
                let rule = class
                    .branches
                    .iter()
                    .find(|b| b.verdict == class.verdict)
                    .and_then(|b| b.decisive.last().cloned());
                return Fate::Failed {
                    port: port_label(&port.destination),
                    class: source_name(class.kind),
                    actual: class.verdict,
                    rule,
                };
            }
        }
    }
    if any {
        return Fate::Held;
    }
    let mut available: Vec<&'static str> = explanation
        .ports
        .iter()
        .flat_map(|p| p.classes.iter().map(|c| source_name(c.kind)))
        .collect();
    available.dedup();
    available.sort_unstable();
    available.dedup();
    Fate::NoSuchClass { available }
}

/// A destination in a few characters: `31015/tcp` for a nodePort asked by number,
/// `198.51.100.81:8109/tcp` (`[2001:db8::1]:80/tcp`) for an address.
fn port_label(d: &Destination) -> String {
    match d.address {
        None => format!("{}/{}", d.port, d.protocol),
        Some(IpAddr::V4(a)) => format!("{a}:{}/{}", d.port, d.protocol),
        Some(IpAddr::V6(a)) => format!("[{a}]:{}/{}", d.port, d.protocol),
    }
}
