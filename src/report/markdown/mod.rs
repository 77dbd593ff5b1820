//! Markdown for pasting into a ticket: [`explain`] and [`inspect`] reports.

pub mod explain;
pub mod inspect;
pub mod trace;

use std::io::{self, Write};

use crate::kube::Explanation;
use crate::report::{
    ExplainReport, InspectReport, Render, TraceReport, path_only_footer, sanitize, unparsed_warning,
};

/// The Markdown renderer.
#[derive(Debug, Clone, Copy)]
pub struct Markdown;

impl Render for Markdown {
    fn explanation(&self, explanation: &Explanation, out: &mut dyn Write) -> io::Result<()> {
        explain::render(explanation, out)
    }

    fn explain(&self, report: &ExplainReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        let several = report.inputs.len() > 1;
        for input in &report.inputs {
            if several {
                writeln!(out, "# `{}`", code(&input.source.name))?;
                writeln!(out)?;
            }
            if let Some(warning) = unparsed_warning(input.source, &input.errors) {
                writeln!(out, "> **Warning:** {}", cell(&warning))?;
                writeln!(out)?;
            }
            explain::render(&input.explanation, out)?;
            if let Some(footer) = path_only_footer(input) {
                writeln!(out, "_Note: {}_", cell(footer))?;
                writeln!(out)?;
            }
        }
        Ok(())
    }

    fn inspect(&self, report: &InspectReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        for input in &report.inputs {
            inspect::render(input, report.max_errors, out)?;
        }
        Ok(())
    }

    fn trace(&self, report: &TraceReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        let several = report.inputs.len() > 1;
        for input in &report.inputs {
            if several {
                writeln!(out, "# `{}`", code(&input.source.name))?;
                writeln!(out)?;
            }
            if let Some(warning) = unparsed_warning(input.source, &input.errors) {
                writeln!(out, "> **Warning:** {}", cell(&warning))?;
                writeln!(out)?;
            }
            trace::render(&input.trace, out)?;
        }
        Ok(())
    }
}

/// Dump text inside backticks: sanitised, and backticks made harmless.
pub(crate) fn code(text: &str) -> String {
    sanitize(text).replace('`', "'")
}

/// Dump text in a table cell or a sentence.
pub(crate) fn cell(text: &str) -> String {
    sanitize(text).replace('|', "\\|")
}
