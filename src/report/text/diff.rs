//! `diff` as text: per nodePort that differs (or was asked), the verdicts side by side,
//! then what the rules say about the service on each node and the rules behind the
//! difference.

use std::io::{self, Write};

use crate::kube::summary::source_name;
use crate::report::text::explain::verdict_word;
use crate::report::text::mode;
use crate::report::text::table::{Cell, write_table};
use crate::report::words::mode::ModeAnswer;
use crate::report::{DiffReport, Palette, RuleRefLine, node_ports_only, sanitize, words};

/// Writes the diff.
pub fn render(report: &DiffReport<'_>, p: Palette, out: &mut dyn Write) -> io::Result<()> {
    let (a, b) = (sanitize(&report.a.0), sanitize(&report.b.0));
    if report.unsupported.iter().any(Option::is_some) {
        return render_unsupported(report, p, out);
    }
    let differing = report.ports.iter().filter(|d| d.differs()).count();
    writeln!(
        out,
        "{}",
        p.heading(&format!(
            "diff {a} {b}: {}",
            words::diff_gist(report.ports.len(), differing, node_ports_only(report))
        ))
    )?;
    for d in report.ports.iter().filter(|d| report.asked || d.differs()) {
        writeln!(out)?;
        let service = super::service_shown(d.service.as_deref());
        writeln!(
            out,
            "{}",
            p.heading(&format!(
                "{} — service {service}",
                words::destination_in(&d.destination, d.family)
            ))
        )?;
        writeln!(
            out,
            "  {a}: {}",
            words::diff_service(&d.destination, d.a.as_ref())
        )?;
        writeln!(
            out,
            "  {b}: {}",
            words::diff_service(&d.destination, d.b.as_ref())
        )?;
        if d.classes.is_empty() {
            if d.a.is_some() && d.b.is_some() {
                writeln!(out, "  the same verdicts for every source class")?;
            }
            continue;
        }
        writeln!(out)?;
        let mut rows = vec![vec![
            Cell::styled("SOURCE", p.dim("SOURCE")),
            Cell::styled(a.to_string(), p.dim(&a)),
            Cell::styled(b.to_string(), p.dim(&b)),
        ]];
        for c in &d.classes {
            let cell = |side: Option<&crate::kube::diff::Side>| {
                let plain = words::diff_side(side);
                let shown = match side {
                    Some(s) => plain.replacen(s.verdict.as_str(), &verdict_word(s.verdict, p), 1),
                    None => plain.clone(),
                };
                Cell::styled(plain, shown)
            };
            rows.push(vec![
                Cell::plain(source_name(c.kind)),
                cell(c.a.as_ref()),
                cell(c.b.as_ref()),
            ]);
        }
        write_table(&rows, "  ", out)?;
        for c in &d.classes {
            if c.only_a.is_empty() && c.only_b.is_empty() {
                continue;
            }
            writeln!(out, "  rules behind {}:", source_name(c.kind))?;
            for (name, rules) in [(&a, &c.only_a), (&b, &c.only_b)] {
                for r in rules {
                    writeln!(out, "    {name}: {}", RuleRefLine(r).text(p))?;
                }
            }
        }
    }
    Ok(())
}

/// A diff with a side from a proxy mode srcip-rules cannot analyse: that side's mode, as
/// `ports` gives it, and no comparison.
fn render_unsupported(report: &DiffReport<'_>, p: Palette, out: &mut dyn Write) -> io::Result<()> {
    let names = [sanitize(&report.a.0), sanitize(&report.b.0)];
    let unsupported: Vec<&str> = names
        .iter()
        .zip(&report.unsupported)
        .filter(|(_, u)| u.is_some())
        .map(|(n, _)| n.as_ref())
        .collect();
    writeln!(
        out,
        "{}",
        p.heading(&format!(
            "diff {} {}: {}",
            names[0],
            names[1],
            words::diff_not_compared(&unsupported)
        ))
    )?;
    for (name, u) in names.iter().zip(&report.unsupported) {
        if let Some(u) = u {
            writeln!(out)?;
            writeln!(out, "{name}:")?;
            mode::render_answer(u, &ModeAnswer::for_input(u), p, out)?;
        }
    }
    Ok(())
}
