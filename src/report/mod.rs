//! Turning results into text for people (plain or coloured, Markdown) and JSON for
//! programs. Nothing here decides anything. One renderer per format ([`text`],
//! [`markdown`], [`json`]) implements [`Render`] for every command, warnings and footers
//! included; the sentences they share are in [`words`]; everything printed from the dump
//! goes through [`sanitize()`].

pub mod diagnostic;
pub mod graph;
pub mod json;
pub mod markdown;
pub mod palette;
pub mod sanitize;
pub mod text;
pub mod words;

use std::io::{self, Write};

pub use palette::Palette;
pub use sanitize::sanitize;

use crate::kube::Explanation;
use crate::kube::mode::ProxyModes;
use crate::kube::trace::Trace;
use crate::netfilter::inspect::{DumpWarning, Inspection};
use crate::parse::ParseError;
use crate::source::Source;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Text for a terminal (coloured when the palette is).
    Text,
    /// Markdown for a ticket.
    Markdown,
    /// JSON for programs (schemas in [`json`]).
    Json,
}

/// What `explain` found in each input.
#[derive(Debug)]
pub struct ExplainReport<'s> {
    /// One entry per input, in the order given.
    pub inputs: Vec<ExplainedInput<'s>>,
}

/// One input's explanation, with what the reader must know about the input.
#[derive(Debug)]
pub struct ExplainedInput<'s> {
    /// The input.
    pub source: &'s Source,
    /// What was found.
    pub explanation: Explanation,
    /// Lines that could not be parsed (left out of the analysis): the first ones.
    pub errors: Vec<ParseError>,
    /// How many errors there were in all.
    pub error_count: usize,
    /// False when only the rules on the path were checked for errors.
    pub rules_checked: bool,
    /// True when a table of the input has no COMMIT (the input was cut).
    pub truncated: bool,
    /// Lines accepted although they are not iptables-save text (one warning per kind).
    pub tolerated: Vec<DumpWarning>,
}

/// What `inspect` found in each input.
#[derive(Debug)]
pub struct InspectReport<'s> {
    /// One entry per input, in the order given.
    pub inputs: Vec<InspectedInput<'s>>,
    /// Parse errors shown in full per input (text and Markdown); the rest are counted.
    pub max_errors: usize,
}

/// One inspected input.
#[derive(Debug)]
pub struct InspectedInput<'s> {
    /// The input.
    pub source: &'s Source,
    /// Its summary.
    pub inspection: Inspection,
    /// Its parse errors.
    pub errors: Vec<ParseError>,
    /// The proxy mode of each ruleset.
    pub proxy_modes: ProxyModes,
}

/// What `trace` found in each input.
#[derive(Debug)]
pub struct TraceReport<'s> {
    /// One entry per input, in the order given.
    pub inputs: Vec<TracedInput<'s>>,
}

/// One input's trace.
#[derive(Debug)]
pub struct TracedInput<'s> {
    /// The input.
    pub source: &'s Source,
    /// The packet's walk.
    pub trace: Trace,
    /// Lines that could not be parsed (left out of the walk): the first ones.
    pub errors: Vec<ParseError>,
    /// How many errors there were in all.
    pub error_count: usize,
}

/// One output format, for every command.
pub trait Render {
    /// One explanation on its own (the body of an `explain` report for one input).
    fn explanation(&self, explanation: &Explanation, out: &mut dyn Write) -> io::Result<()>;
    /// The whole `explain` report: every input, with its warnings and footer.
    fn explain(&self, report: &ExplainReport<'_>, out: &mut dyn Write) -> io::Result<()>;
    /// The whole `inspect` report.
    fn inspect(&self, report: &InspectReport<'_>, out: &mut dyn Write) -> io::Result<()>;
    /// The whole `trace` report.
    fn trace(&self, report: &TraceReport<'_>, out: &mut dyn Write) -> io::Result<()>;
}

/// The renderer for `format`; `palette` colours text output.
pub fn renderer(format: Format, palette: Palette) -> Box<dyn Render> {
    match format {
        Format::Text => Box::new(text::Text { palette }),
        Format::Markdown => Box::new(markdown::Markdown),
        Format::Json => Box::new(json::Json),
    }
}

/// The lines (sorted, without repeats) of some parse errors, and how to see why: the
/// warning every human format gives for an input with errors.
pub(crate) fn unparsed_warning(
    source: &Source,
    errors: &[ParseError],
    error_count: usize,
) -> Option<String> {
    if error_count == 0 {
        return None;
    }
    let mut lines: Vec<u32> = errors.iter().map(|e| e.line).collect();
    lines.sort_unstable();
    lines.dedup();
    let shown: Vec<String> = lines.iter().take(5).map(u32::to_string).collect();
    let more = if lines.len() > 5 || error_count > errors.len() {
        ", ..."
    } else {
        ""
    };
    let name = sanitize(&source.name);
    let how = if source.name == "<stdin>" {
        "`srcip-rules inspect` on the same input".to_string()
    } else {
        format!("`srcip-rules inspect {name}`")
    };
    Some(format!(
        "{} line(s) of {name} could not be parsed (line {}{more}); they were left out of the analysis. {how} shows why.",
        error_count,
        shown.join(", "),
    ))
}

/// The footer for an input whose rules were checked only along the path, if due.
pub(crate) fn path_only_footer(input: &ExplainedInput<'_>) -> Option<&'static str> {
    (!input.rules_checked && !input.explanation.ports.is_empty()).then_some(
        "only the rules on the nodePort's path were checked for errors; `srcip-rules inspect` checks them all",
    )
}
