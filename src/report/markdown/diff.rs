//! `diff` as Markdown: per destination that differs (or was asked), what the rules say
//! about the service on each node, the verdicts side by side, and the rules behind the
//! difference.

use std::io::{self, Write};

use crate::kube::summary::source_name;
use crate::report::markdown::{cell, code, code_in_table, mode, service_code};
use crate::report::words::mode::ModeAnswer;
use crate::report::{DiffReport, node_ports_only, words};

/// Writes the diff.
pub fn render(report: &DiffReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let (a, b) = (code(&report.a.0), code(&report.b.0));
    if report.unsupported.iter().any(Option::is_some) {
        return render_unsupported(report, out);
    }
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
            service_code(d.service.as_deref())
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

/// A diff with a side from a proxy mode srcip-rules cannot analyse (see the text report).
fn render_unsupported(report: &DiffReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let names = [report.a.0.as_str(), report.b.0.as_str()];
    let unsupported: Vec<&str> = names
        .iter()
        .zip(&report.unsupported)
        .filter(|(_, u)| u.is_some())
        .map(|(n, _)| *n)
        .collect();
    writeln!(
        out,
        "# diff {} {}: {}",
        code(names[0]),
        code(names[1]),
        cell(&words::diff_not_compared(&unsupported))
    )?;
    writeln!(out)?;
    for (name, u) in names.iter().zip(&report.unsupported) {
        if let Some(u) = u {
            let said = ModeAnswer::for_input(u);
            writeln!(out, "## {}: {}", code(name), cell(&said.headline))?;
            writeln!(out)?;
            mode::render_body(u, &said, out)?;
        }
    }
    Ok(())
}
