//! Markdown for pasting into a ticket: [`explain`] and [`inspect`] reports.

pub mod explain;
pub mod inspect;
pub mod ports;

use std::io::{self, Write};

use crate::kube::Explanation;
use crate::report::{
    CheckReport, DiffReport, ExplainReport, InspectReport, PortsReport, Render, nodes_tables,
    path_only_footer, sanitize, unparsed, unparsed_warning,
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
                    "# Node `{}` (`{}`)",
                    code(&input.node),
                    code(&input.source.name)
                )?;
                writeln!(out)?;
            }
            if let Some(warning) = unparsed_warning(input) {
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

    fn ports(&self, report: &PortsReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        for input in &report.inputs {
            writeln!(out, "## nodePorts of `{}`", code(&input.name))?;
            writeln!(out)?;
            if let Some(warning) = unparsed(input.source, &input.errors) {
                writeln!(out, "> **Warning:** {}", cell(&warning))?;
                writeln!(out)?;
            }
            ports::render(&input.rows, report.filtered, out)?;
        }
        Ok(())
    }

    fn check(&self, report: &CheckReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "| node | expectation | result |")?;
        writeln!(out, "|---|---|---|")?;
        for r in &report.results {
            writeln!(
                out,
                "| `{}` | `{}` | {} {} |",
                code(&r.node),
                code(&r.expectation.text),
                if r.fate.held() { "ok:" } else { "**FAIL:**" },
                cell(&crate::report::words::fate(&r.fate))
            )?;
        }
        writeln!(out)?;
        let held = report.results.iter().filter(|r| r.fate.held()).count();
        writeln!(
            out,
            "{}.",
            crate::report::words::check_footer(held, report.results.len(), report.nodes)
        )?;
        writeln!(out)
    }

    fn diff(&self, report: &DiffReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        use crate::kube::summary::source_name;
        use crate::report::words;
        let (a, b) = (code(&report.a.0), code(&report.b.0));
        let differing = report.ports.iter().filter(|d| d.differs()).count();
        writeln!(
            out,
            "# diff `{a}` `{b}`: {}",
            words::diff_gist(report.ports.len(), differing)
        )?;
        writeln!(out)?;
        for d in report.ports.iter().filter(|d| report.asked || d.differs()) {
            writeln!(
                out,
                "## nodePort {} — `{}`",
                words::port_name(d.node_port, &d.protocol, d.family),
                d.service
                    .as_deref()
                    .map(code)
                    .unwrap_or_else(|| "unknown (no comment)".into())
            )?;
            writeln!(out)?;
            writeln!(out, "- **`{a}`:** {}", words::diff_service(d.a.as_ref()))?;
            writeln!(out, "- **`{b}`:** {}", words::diff_service(d.b.as_ref()))?;
            writeln!(out)?;
            if d.classes.is_empty() {
                if d.a.is_some() && d.b.is_some() {
                    writeln!(out, "The same verdicts for every source class.")?;
                    writeln!(out)?;
                }
                continue;
            }
            writeln!(out, "| source | `{a}` | `{b}` |")?;
            writeln!(out, "|---|---|---|")?;
            for c in &d.classes {
                writeln!(
                    out,
                    "| {} | {} | {} |",
                    source_name(c.kind),
                    cell(&words::diff_side(c.a.as_ref())),
                    cell(&words::diff_side(c.b.as_ref()))
                )?;
            }
            writeln!(out)?;
            for c in &d.classes {
                for (name, rules) in [(&a, &c.only_a), (&b, &c.only_b)] {
                    for r in rules {
                        writeln!(
                            out,
                            "- {} on `{name}`: line {} (`{} {}`): `{}`",
                            source_name(c.kind),
                            r.line,
                            code(&r.table),
                            code(&r.chain),
                            code(&r.text)
                        )?;
                    }
                }
            }
            writeln!(out)?;
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
