//! `explain` as Markdown: per nodePort, the service's shape, a verdict table, then the
//! branches of each source class.

use std::io::{self, Write};

use crate::kube::{ClassExplanation, Explanation, PortExplanation, RuleRef};
use crate::report::markdown::{cell, code};
use crate::report::words;

/// Writes the explanation as Markdown.
pub fn render(explanation: &Explanation, out: &mut dyn Write) -> io::Result<()> {
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
        render_port(port, out)?;
    }
    Ok(())
}

fn rule(r: &RuleRef) -> String {
    format!(
        "line {} ({}): {}",
        r.line,
        code(&format!("{} {}", r.table, r.chain)),
        code(&r.text)
    )
}

fn render_port(port: &PortExplanation, out: &mut dyn Write) -> io::Result<()> {
    let service = port
        .service
        .as_deref()
        .map(code)
        .unwrap_or_else(|| "unknown (no comment)".to_string());
    writeln!(
        out,
        "## {} — {service}",
        words::destination(&port.destination)
    )?;
    writeln!(out)?;
    render_shape(port, out)?;
    render_rules_and_notes(port, out)?;
    render_counters(port, out)?;
    render_table(port, out)?;
    for c in &port.classes {
        render_class(c, out)?;
    }
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

/// The nodePort's rules, what is missing, the notes and the assumptions.
fn render_rules_and_notes(port: &PortExplanation, out: &mut dyn Write) -> io::Result<()> {
    let shape = &port.shape;
    if !port.entry_rules.is_empty() {
        writeln!(
            out,
            "- **{}:**",
            capitalised(words::entry_rules_name(port.destination.kind))
        )?;
    }
    for r in &port.entry_rules {
        writeln!(out, "  - {}", rule(r))?;
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
    for note in &port.notes {
        writeln!(out, "- **Note:** {}", cell(&words::port_note(note)))?;
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

/// The verdict table: one row per source class.
fn render_table(port: &PortExplanation, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "| sources | from → to | verdict | why |")?;
    writeln!(out, "|---|---|---|---|")?;
    for c in &port.classes {
        writeln!(
            out,
            "| {} | {} → {}{} | **{}**{} | {} |",
            cell(&words::class_name(c)),
            c.source,
            c.destination,
            if c.destination_symbolic {
                " (node address)"
            } else {
                ""
            },
            c.verdict.as_str(),
            words::mixed_suffix(c),
            cell(&words::class_summary(c))
        )?;
    }
    writeln!(out)?;
    Ok(())
}

/// One source class's branches.
fn render_class(c: &ClassExplanation, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "### {} — {}{}",
        cell(&words::class_name(c)),
        c.verdict.as_str(),
        words::mixed_suffix(c)
    )?;
    writeln!(out)?;
    for b in &c.branches {
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
            writeln!(out, "  - {}", rule(r))?;
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
