//! Markdown for pasting into a ticket: every command's report ([`explain`], [`inspect`],
//! [`trace`], [`ports`], `check`, [`diff`]).

pub mod diff;
pub mod explain;
pub mod inspect;
pub mod mode;
pub mod ports;
pub mod trace;

use std::io::{self, Write};

use crate::kube::Explanation;
use crate::report::sanitize::{markdown_code, markdown_code_in_table, markdown_text};
use crate::report::words::mode::ModeAnswer;
use crate::report::{
    CheckReport, DiffReport, ExplainReport, InspectReport, PortsReport, Render, TraceReport,
    input_warnings, nodes_tables, path_only_footer, unparsed_warning, words,
};

/// The Markdown renderer.
#[derive(Debug, Clone, Copy)]
pub struct Markdown;

impl Render for Markdown {
    fn explanation(&self, explanation: &Explanation, out: &mut dyn Write) -> io::Result<()> {
        explain::render(explanation, false, out)
    }

    fn explain(&self, report: &ExplainReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        let several = report.inputs.len() > 1;
        if several {
            ports::render_nodes(&nodes_tables(report), out)?;
            if report.brief {
                return Ok(());
            }
        }
        for input in &report.inputs {
            if several {
                writeln!(
                    out,
                    "# Node {} ({})",
                    code(&input.node),
                    code(&input.source.name)
                )?;
                writeln!(out)?;
            }
            let errors = &input.errors;
            for warning in input_warnings(input.source, errors, input.error_count, &input.tolerated)
            {
                writeln!(out, "> **Warning:** {}", cell(&warning))?;
                writeln!(out)?;
            }
            explain::render(&input.explanation, report.brief, out)?;
            if let Some(footer) = path_only_footer(input).filter(|_| !report.brief) {
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

    fn ports(&self, report: &PortsReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        for input in &report.inputs {
            writeln!(out, "## Ports of {}", code(&input.name))?;
            writeln!(out)?;
            let errors = &input.errors;
            for warning in input_warnings(input.source, errors, input.error_count, &input.tolerated)
            {
                writeln!(out, "> **Warning:** {}", cell(&warning))?;
                writeln!(out)?;
            }
            match &input.unsupported_mode {
                Some(u) => {
                    let said = ModeAnswer::for_input(u);
                    writeln!(out, "**{}**", cell(&said.headline))?;
                    writeln!(out)?;
                    mode::render_body(u, &said, out)?;
                }
                None => ports::render(&input.rows, report.filtered, out)?,
            }
        }
        Ok(())
    }

    fn check(&self, report: &CheckReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "| node | expectation | result |")?;
        writeln!(out, "|---|---|---|")?;
        for r in &report.results {
            writeln!(
                out,
                "| {} | {} | {} {} |",
                code_in_table(&r.node),
                code_in_table(&r.expectation.text),
                if r.fate.held() {
                    "ok:"
                } else if r.fate.unsupported_mode() {
                    "**n/a:**"
                } else {
                    "**FAIL:**"
                },
                cell(&words::fate(&r.fate))
            )?;
        }
        writeln!(out)?;
        let held = report.results.iter().filter(|r| r.fate.held()).count();
        writeln!(
            out,
            "{}.",
            words::check_footer(
                held,
                report.results.len(),
                report.nodes,
                report
                    .results
                    .iter()
                    .filter(|r| r.fate.unsupported_mode())
                    .count()
            )
        )?;
        writeln!(out)
    }

    fn diff(&self, report: &DiffReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        diff::render(report, out)
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

/// A destination's service as a heading shows it: code, cut to a bounded excerpt with its
/// length (it comes from a rule comment), or that the rules name none.
pub(crate) fn service_code(service: Option<&str>) -> String {
    service
        .map(
            |name| match crate::report::shown_part(name, crate::report::RULE_TEXT_SHOWN) {
                (shown, Some(n)) => format!("{} … ({n} bytes in all)", code(shown)),
                (shown, None) => code(shown),
            },
        )
        .unwrap_or_else(|| "unknown (no comment)".into())
}
