//! `diff` as Markdown: per destination that differs (or was asked), what the rules say
//! about the service on each node, the verdicts side by side, and the rules behind the
//! difference.

use std::io::{self, Write};

use crate::kube::summary::source_name;
use crate::report::markdown::{cell, code, code_in_table};
use crate::report::{DiffReport, node_ports_only, words};

/// Writes the diff.
pub fn render(report: &DiffReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let (a, b) = (code(&report.a.0), code(&report.b.0));
    let differing = report.ports.iter().filter(|d| d.differs()).count();
    writeln!(
        out,
        "# diff {a} {b}: {}",
        words::diff_gist(report.ports.len(), differing, node_ports_only(report))
    )?;
    writeln!(out)?;
    for d in report.ports.iter().filter(|d| report.asked || d.differs()) {
        writeln!(
            out,
            "## {} — {}",
            words::destination_in(&d.destination, d.family),
            d.service
                .as_deref()
                .map(code)
                .unwrap_or_else(|| "unknown (no comment)".into())
        )?;
        writeln!(out)?;
        for (name, side) in [(&a, &d.a), (&b, &d.b)] {
            writeln!(
                out,
                "- **{name}:** {}",
                words::diff_service(&d.destination, side.as_ref())
            )?;
        }
        writeln!(out)?;
        if d.classes.is_empty() {
            if d.a.is_some() && d.b.is_some() {
                writeln!(out, "The same verdicts for every source class.")?;
                writeln!(out)?;
            }
            continue;
        }
        writeln!(
            out,
            "| source | {} | {} |",
            code_in_table(&report.a.0),
            code_in_table(&report.b.0)
        )?;
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
                        "- {} on {name}: line {} ({}): {}",
                        source_name(c.kind),
                        r.line,
                        code(&format!("{} {}", r.table, r.chain)),
                        code(&r.text)
                    )?;
                }
            }
        }
        writeln!(out)?;
    }
    Ok(())
}
