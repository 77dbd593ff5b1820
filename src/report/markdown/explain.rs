//! `explain` as Markdown: per destination the answer first (the verdict table the text
//! report has, what stands out, what would change it), then the service's shape and the
//! branches of each source class.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::{self, Write};

use crate::kube::summary::summarize;
use crate::kube::{ClassExplanation, Explanation, PortExplanation, RuleRef};
use crate::report::markdown::{cell, code, service_code};
use crate::report::{self, words};

/// Writes the explanation as Markdown; `brief`: only the answer (heading, table, what
/// stands out).
pub fn render(explanation: &Explanation, brief: bool, out: &mut dyn Write) -> io::Result<()> {
    if let Some(unsupported) = &explanation.unsupported_mode {
        return super::mode::render_unsupported(explanation, unsupported, out);
    }
    if explanation.ports.is_empty() {
        // The nodePorts it does have are offered once, on standard error.
        writeln!(out, "{}", cell(&words::not_found(explanation)))?;
        return Ok(());
    }
    super::mode::render_mixed_notes(&explanation.proxy_modes, out)?;
    for port in &explanation.ports {
        render_port(port, brief, out)?;
    }
    Ok(())
}

/// The lines of the rules a destination's report has shown in full.
type Shown = RefCell<BTreeSet<u32>>;

/// A cited rule: in full the first time, then by its line.
fn cited(r: &RuleRef, shown: &Shown) -> String {
    if shown.borrow_mut().insert(r.line) {
        return rule(r);
    }
    format!(
        "line {} ({}): {}",
        r.line,
        code(&format!("{} {}", r.table, r.chain)),
        words::shown_above(r)
    )
}

fn rule(r: &RuleRef) -> String {
    let (shown, length) = report::shown_part(&r.text, report::RULE_TEXT_SHOWN);
    format!(
        "line {} ({}): {}{}",
        r.line,
        code(&format!("{} {}", r.table, r.chain)),
        code(shown),
        length
            .map(|n| format!(" … ({n} bytes in all)"))
            .unwrap_or_default()
    )
}

fn render_port(port: &PortExplanation, brief: bool, out: &mut dyn Write) -> io::Result<()> {
    let service = service_code(port.service.as_deref());
    writeln!(
        out,
        "## {} — {service}",
        words::destination(&port.destination)
    )?;
    writeln!(out)?;
    writeln!(out, "{}", cell(&words::port_gist(port)))?;
    render_table(port, out)?;
    if brief {
        return Ok(());
    }
    render_remedies(port, out)?;
    writeln!(out, "### Evidence")?;
    writeln!(out)?;
    render_shape(port, out)?;
    let shown = RefCell::new(BTreeSet::new());
    render_rules_and_notes(port, &shown, out)?;
    render_counters(port, out)?;
    writeln!(out)?;
    for c in words::table_order(&port.classes) {
        render_class(c, &shown, out)?;
    }
    Ok(())
}

/// What would change each masqueraded or dropped class, each remedy once.
fn render_remedies(port: &PortExplanation, out: &mut dyn Write) -> io::Result<()> {
    let summary = summarize(port);
    let remedies = words::remedies(&summary);
    if remedies.is_empty() {
        return Ok(());
    }
    writeln!(out, "**What changes it**")?;
    writeln!(out)?;
    for (labels, text) in remedies {
        writeln!(out, "- **{labels}:** {}", cell(&text))?;
    }
    if let Some(l7) = words::l7_routes(&summary) {
        writeln!(out, "- {}", cell(l7))?;
    }
    writeln!(out)?;
    Ok(())
}

/// The era, policy and endpoints the rules show.
fn render_shape(port: &PortExplanation, out: &mut dyn Write) -> io::Result<()> {
    let shape = &port.shape;
    writeln!(
        out,
        "- **Rules:** {} (kube-proxy {}), {} ruleset",
        words::era(shape.era),
        shape.versions,
        port.family
    )?;
    for clue in &shape.clues {
        writeln!(out, "  - {}", cell(&words::clue(clue)))?;
    }
    writeln!(
        out,
        "- **{}:** {} — {}",
        words::policy_name(shape.scope),
        shape.policy.as_str(),
        cell(&words::policy_evidence(&shape.policy_evidence))
    )?;
    let endpoints: Vec<String> = shape
        .endpoints
        .iter()
        .map(|e| {
            format!(
                "{} ({})",
                code(&words::endpoint_address(e)),
                e.locality.label()
            )
        })
        .collect();
    writeln!(
        out,
        "- **Endpoints:** {}",
        if endpoints.is_empty() {
            "none in the dump".to_string()
        } else {
            endpoints.join(", ")
        }
    )?;
    Ok(())
}

/// The rules naming the destination, what is missing, and the assumptions (the notes
/// stand out under the verdict table).
fn render_rules_and_notes(
    port: &PortExplanation,
    shown: &Shown,
    out: &mut dyn Write,
) -> io::Result<()> {
    let shape = &port.shape;
    if !port.entry_rules.is_empty() {
        writeln!(
            out,
            "- **{}:**",
            capitalised(words::entry_rules_name(port.destination.kind))
        )?;
    }
    for r in &port.entry_rules {
        writeln!(out, "  - {}", cited(r, shown))?;
    }
    if port.partial {
        writeln!(
            out,
            "- **Partial dump:** missing chains: {}{}; missing tables: {}",
            if shape.missing_chains.is_empty() {
                "none".to_string()
            } else {
                code(&shape.missing_chains.join(", "))
            },
            if shape.incomplete_chains.is_empty() {
                String::new()
            } else {
                format!(
                    "; shown perhaps in part: {}",
                    code(&shape.incomplete_chains.join(", "))
                )
            },
            if port.missing_tables.is_empty() {
                "none".to_string()
            } else {
                port.missing_tables.join(", ")
            }
        )?;
    }
    for a in &port.assumptions {
        writeln!(
            out,
            "- **Assumption:** {}",
            cell(&words::port_assumption(a))
        )?;
    }
    Ok(())
}

/// What the rules' counters say of the verdicts (`iptables-save -c` input only).
fn render_counters(port: &PortExplanation, out: &mut dyn Write) -> io::Result<()> {
    if let Some(evidence) = &port.counter_evidence {
        writeln!(
            out,
            "- **Counters:** {}",
            cell(&words::counter_evidence(evidence))
        )?;
    }
    Ok(())
}

/// The verdict table (one row per source class, as in the text report), then what
/// stands out.
fn render_table(port: &PortExplanation, out: &mut dyn Write) -> io::Result<()> {
    let summary = summarize(port);
    writeln!(out)?;
    writeln!(out, "| source | verdict | the endpoint sees | through |")?;
    writeln!(out, "|---|---|---|---|")?;
    for s in &summary {
        writeln!(
            out,
            "| {} | **{}** | {} | {} |",
            cell(&words::class_label(s)),
            cell(&words::verdict_cell(s)),
            cell(&words::sees(s.sees)),
            cell(&words::reached(&s.endpoints)),
        )?;
    }
    writeln!(out)?;
    let standing_out = words::standing_out(port, &summary);
    for (i, line) in standing_out.iter().enumerate() {
        if i > 0 {
            writeln!(out, ">")?;
        }
        writeln!(out, "> **!** {}", cell(line))?;
    }
    if !standing_out.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

/// One source class's branches.
fn render_class(c: &ClassExplanation, shown: &Shown, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "#### {} — {}{}",
        cell(&words::class_name(c)),
        c.verdict.as_str(),
        words::mixed_suffix(c)
    )?;
    writeln!(out)?;
    let listed = c.branches.len().min(report::BRANCHES_SHOWN);
    if listed < c.branches.len() {
        let rest = &c.branches[listed..];
        writeln!(out, "{}", cell(&words::branches_not_shown(rest)))?;
        writeln!(out)?;
    }
    for b in &c.branches[..listed] {
        writeln!(
            out,
            "- **{}** {} (probability {:.4}){}: {}",
            b.verdict.as_str(),
            b.endpoint
                .as_ref()
                .map(|e| code(&words::translation(e)))
                .unwrap_or_else(|| "no endpoint".to_string()),
            b.probability,
            if b.partial { " _partial_" } else { "" },
            cell(&words::branch_detail(b))
        )?;
        if !b.chain_path.is_empty() {
            writeln!(out, "  - path: {}", code(&b.chain_path.join(" → ")))?;
        }
        for r in &b.decisive {
            writeln!(out, "  - {}", cited(r, shown))?;
        }
        for a in b.notes.iter().filter(|n| n.forks()) {
            writeln!(out, "  - assumed: {}", cell(&words::branch_note(a)))?;
        }
        for n in b.notes.iter().filter(|n| !n.forks()) {
            writeln!(out, "  - note: {}", cell(&words::branch_note(n)))?;
        }
    }
    writeln!(out)?;
    Ok(())
}

/// `nodePort rules` → `nodePort rules`, `service rules` → `Service rules`: a list label.
fn capitalised(text: &str) -> String {
    if text.starts_with("nodePort") {
        return text.to_string();
    }
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
