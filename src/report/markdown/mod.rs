//! Markdown for pasting into a ticket: [`explain`] and [`inspect`] reports.

pub mod explain;
pub mod inspect;
pub mod mode;
pub mod trace;

use std::io::{self, Write};

use crate::kube::Explanation;
use crate::report::sanitize::{markdown_code, markdown_code_in_table, markdown_text};
use crate::report::words;
use crate::report::{
    ExplainReport, InspectReport, Render, TraceReport, path_only_footer, unparsed_warning,
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
                writeln!(out, "# {}", code(&input.source.name))?;
                writeln!(out)?;
            }
            if let Some(warning) = unparsed_warning(input.source, &input.errors, input.error_count)
            {
                writeln!(out, "> **Warning:** {}", cell(&warning))?;
                writeln!(out)?;
            }
            for warning in &input.tolerated {
                writeln!(
                    out,
                    "> **Warning:** {}",
                    cell(&words::dump_warning(warning))
                )?;
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
                writeln!(out, "# {}", code(&input.source.name))?;
                writeln!(out)?;
            }
            if let Some(warning) = unparsed_warning(input.source, &input.errors, input.error_count)
            {
                writeln!(out, "> **Warning:** {}", cell(&warning))?;
                writeln!(out)?;
            }
            trace::render(&input.trace, out)?;
        }
        Ok(())
    }
}

/// Dump text as one inert code span, its backtick fences included (never inside other
/// backticks): see [`markdown_code`].
pub(crate) fn code(text: &str) -> String {
    markdown_code(text)
}

/// [`code`] for a table cell (a `|` would end the cell even inside the span).
pub(crate) fn code_in_table(text: &str) -> String {
    markdown_code_in_table(text)
}

/// A sentence (which may quote the dump) as inert Markdown text, safe in paragraphs, list
/// items, headings and table cells: see [`markdown_text`].
pub(crate) fn cell(text: &str) -> String {
    markdown_text(text)
}
