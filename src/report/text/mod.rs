//! Plain (optionally coloured) text for a terminal: every command's report ([`explain`],
//! [`inspect`], [`trace`], [`ports`], `check`, [`diff`]).

pub mod diff;
pub mod explain;
pub mod inspect;
pub mod mode;
pub mod ports;
pub mod table;
pub mod trace;

use std::io::{self, Write};

use crate::kube::Explanation;
use crate::report::words;
use crate::report::words::mode::ModeAnswer;
use crate::report::{
    CheckReport, DiffReport, ExplainReport, InspectReport, Palette, PortsReport, Render,
    TraceReport, input_warnings, nodes_tables, path_only_footer, sanitize, unparsed_warning,
};

/// The text renderer.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    /// Colours, or none.
    pub palette: Palette,
}

impl Render for Text {
    fn explanation(&self, explanation: &Explanation, out: &mut dyn Write) -> io::Result<()> {
        explain::render(explanation, self.palette, false, out)
    }

    fn explain(&self, report: &ExplainReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        let several = report.inputs.len() > 1;
        if several {
            ports::render_nodes(&nodes_tables(report), self.palette, out)?;
            if report.brief {
                return Ok(());
            }
        }
        for input in &report.inputs {
            if several {
                writeln!(out)?;
                let name = if input.node == input.source.name {
                    sanitize(&input.node).into_owned()
                } else {
                    format!(
                        "{} ({})",
                        sanitize(&input.node),
                        sanitize(&input.source.name)
                    )
                };
                writeln!(out, "{}", self.palette.heading(&format!("== {name} ==")))?;
            }
            let errors = &input.errors;
            for warning in input_warnings(input.source, errors, input.error_count, &input.tolerated)
            {
                writeln!(out, "{} {warning}", self.palette.warn("warning:"))?;
            }
            explain::render(&input.explanation, self.palette, report.brief, out)?;
            // A footer, not a header: the verdict comes first.
            if let Some(footer) = path_only_footer(input).filter(|_| !report.brief) {
                writeln!(out, "\nnote: {footer}")?;
            }
        }
        Ok(())
    }

    fn inspect(&self, report: &InspectReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        for (i, input) in report.inputs.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            inspect::render(input, self.palette, report.max_errors, out)?;
        }
        Ok(())
    }

    fn trace(&self, report: &TraceReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        let several = report.inputs.len() > 1;
        for (i, input) in report.inputs.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            if several {
                writeln!(out, "== {} ==", sanitize(&input.source.name))?;
            }
            if let Some(warning) = unparsed_warning(input.source, &input.errors, input.error_count)
            {
                writeln!(out, "{} {warning}", self.palette.warn("warning:"))?;
            }
            trace::render(&input.trace, self.palette, out)?;
        }
        Ok(())
    }

    fn ports(&self, report: &PortsReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        let several = report.inputs.len() > 1;
        for (i, input) in report.inputs.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            if several {
                writeln!(
                    out,
                    "{}",
                    self.palette
                        .heading(&format!("== {} ==", sanitize(&input.name)))
                )?;
            }
            let errors = &input.errors;
            for warning in input_warnings(input.source, errors, input.error_count, &input.tolerated)
            {
                writeln!(out, "{} {warning}", self.palette.warn("warning:"))?;
            }
            match &input.unsupported_mode {
                Some(u) => mode::render_answer(u, &ModeAnswer::for_input(u), self.palette, out)?,
                None => ports::render(&input.rows, report.filtered, self.palette, out)?,
            }
        }
        Ok(())
    }

    fn check(&self, report: &CheckReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        let p = self.palette;
        let several = report.nodes > 1;
        for r in &report.results {
            let mark = if r.fate.held() {
                p.good("ok  ")
            } else if r.fate.unsupported_mode() {
                p.unsure("n/a ")
            } else {
                p.bad("FAIL")
            };
            let node = if several {
                format!("{}: ", sanitize(&r.node))
            } else {
                String::new()
            };
            writeln!(
                out,
                "{mark} {node}{}: {}",
                sanitize(&r.expectation.text),
                sanitize(&words::fate(&r.fate))
            )?;
        }
        let held = report.results.iter().filter(|r| r.fate.held()).count();
        writeln!(
            out,
            "{}",
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
        )
    }

    fn diff(&self, report: &DiffReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        diff::render(report, self.palette, out)
    }
}

/// A destination's service as a heading shows it: sanitised and cut to a bounded excerpt
/// (it comes from a rule comment), or that the rules name none.
pub(crate) fn service_shown(service: Option<&str>) -> String {
    service
        .map(|name| sanitize::excerpt(name, crate::report::RULE_TEXT_SHOWN))
        .unwrap_or_else(|| "(no comment: service unknown)".into())
}
