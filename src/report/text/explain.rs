//! Plain (optionally coloured) text rendering of an [`Explanation`] for a terminal.

use std::io::{self, Write};

use crate::kube::{
    BranchExplanation, ClassExplanation, Explanation, PortExplanation, RuleRef, Verdict,
};
use crate::report::{Palette, sanitize, words};

/// Writes the explanation as text.
pub fn render(explanation: &Explanation, palette: Palette, out: &mut dyn Write) -> io::Result<()> {
    if let Some(unsupported) = &explanation.unsupported_mode {
        return super::mode::render_unsupported(explanation, unsupported, palette, out);
    }
    if explanation.ports.is_empty() {
        // Said once, on standard error, with the nodePorts the dump does have.
        return Ok(());
    }
    super::mode::render_mixed_notes(&explanation.proxy_modes, out)?;
    for (i, port) in explanation.ports.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        render_port(port, palette, out)?;
    }
    Ok(())
}

/// Colours a verdict word by meaning.
pub fn verdict_word(verdict: Verdict, palette: Palette) -> String {
    let word = verdict.as_str();
    match verdict {
        Verdict::Preserved => palette.good(word),
        Verdict::Masqueraded => palette.warn(word),
        Verdict::Dropped | Verdict::Rejected => palette.bad(word),
        Verdict::NotHandled | Verdict::Forwarded | Verdict::Undetermined => palette.unsure(word),
    }
}

fn rule_line(rule: &RuleRef, palette: Palette) -> String {
    format!(
        "{} {} {}",
        palette.location(&format!("line {}", rule.line)),
        palette.chain(&format!(
            "[{} {}]",
            sanitize(&rule.table),
            sanitize(&rule.chain)
        )),
        palette.dim(&sanitize(&rule.text))
    )
}

fn render_port(port: &PortExplanation, p: Palette, out: &mut dyn Write) -> io::Result<()> {
    let service = port
        .service
        .as_deref()
        .map(sanitize)
        .unwrap_or_else(|| "(no comment: service unknown)".into());
    writeln!(
        out,
        "{}",
        p.heading(&format!(
            "{} — service {service}",
            words::destination(&port.destination)
        ))
    )?;
    render_shape(port, p, out)?;
    render_rules_and_notes(port, p, out)?;
    render_counters(port, out)?;
    for class in &port.classes {
        render_class(class, p, out)?;
    }
    Ok(())
}

/// The era, policy and endpoints the rules show.
fn render_shape(port: &PortExplanation, p: Palette, out: &mut dyn Write) -> io::Result<()> {
    let shape = &port.shape;
    writeln!(
        out,
        "  rules: {} (kube-proxy {}), {} ruleset",
        words::era(shape.era),
        shape.versions,
        port.family
    )?;
    for clue in &shape.clues {
        writeln!(out, "    - {}", sanitize(&words::clue(clue)))?;
    }
    writeln!(
        out,
        "  {}: {} ({})",
        words::policy_name(shape.scope),
        shape.policy.as_str(),
        sanitize(&words::policy_evidence(&shape.policy_evidence))
    )?;
    if shape.endpoints.is_empty() {
        writeln!(out, "  endpoints: none found in the dump")?;
    } else {
        writeln!(out, "  endpoints:")?;
        for e in &shape.endpoints {
            writeln!(
                out,
                "    - {} ({}, {})",
                sanitize(&words::endpoint_address(e)),
                e.locality.label(),
                p.chain(&sanitize(&e.chain))
            )?;
        }
    }
    Ok(())
}

/// The nodePort's rules, what is missing, the notes and the assumptions.
fn render_rules_and_notes(
    port: &PortExplanation,
    p: Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    let shape = &port.shape;
    if !port.entry_rules.is_empty() {
        writeln!(out, "  {}:", words::entry_rules_name(port.destination.kind))?;
    }
    for r in &port.entry_rules {
        writeln!(out, "    {}", rule_line(r, p))?;
    }
    if port.partial {
        writeln!(
            out,
            "  {} missing chains: {}{}; missing tables: {}",
            p.unsure("partial dump:"),
            if shape.missing_chains.is_empty() {
                "none".to_string()
            } else {
                sanitize(&shape.missing_chains.join(", ")).into_owned()
            },
            if shape.incomplete_chains.is_empty() {
                String::new()
            } else {
                format!(
                    "; shown perhaps in part: {}",
                    sanitize(&shape.incomplete_chains.join(", "))
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
        writeln!(out, "  note: {}", sanitize(&words::port_note(note)))?;
    }
    for a in &port.assumptions {
        writeln!(
            out,
            "  assumption: {}",
            sanitize(&words::port_assumption(a))
        )?;
    }
    Ok(())
}

/// What the rules' counters say of the verdicts (`iptables-save -c` input only).
fn render_counters(port: &PortExplanation, out: &mut dyn Write) -> io::Result<()> {
    if let Some(evidence) = &port.counter_evidence {
        writeln!(
            out,
            "  counters: {}",
            sanitize(&words::counter_evidence(evidence))
        )?;
    }
    Ok(())
}

/// One source class: its verdict line, its summary, its branches.
fn render_class(class: &ClassExplanation, p: Palette, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "  {} {} → {}{}: {}{}",
        p.heading(&format!("{}:", words::class_name(class))),
        class.source,
        class.destination,
        if class.destination_symbolic {
            " (node address)"
        } else {
            ""
        },
        verdict_word(class.verdict, p),
        words::mixed_suffix(class)
    )?;
    writeln!(out, "    {}", sanitize(&words::class_summary(class)))?;
    for b in &class.branches {
        render_branch(b, p, out)?;
    }
    Ok(())
}

fn render_branch(b: &BranchExplanation, p: Palette, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "    - {} {} (p={:.4}){}",
        verdict_word(b.verdict, p),
        sanitize(&words::endpoint_or(b.endpoint.as_ref(), "no endpoint")),
        b.probability,
        if b.partial { " [partial]" } else { "" }
    )?;
    writeln!(out, "      {}", sanitize(&words::branch_detail(b)))?;
    if !b.chain_path.is_empty() {
        writeln!(
            out,
            "      path: {}",
            p.chain(&sanitize(&b.chain_path.join(" → ")))
        )?;
    }
    for r in &b.decisive {
        writeln!(out, "      {}", rule_line(r, p))?;
    }
    for a in b.notes.iter().filter(|n| n.forks()) {
        writeln!(
            out,
            "      {} {}",
            p.unsure("assumed:"),
            sanitize(&words::branch_note(a))
        )?;
    }
    for n in b.notes.iter().filter(|n| !n.forks()) {
        writeln!(out, "      note: {}", sanitize(&words::branch_note(n)))?;
    }
    Ok(())
}
