//! Plain (optionally coloured) text rendering of an [`Explanation`] for a terminal: per
//! destination the answer first (a verdict table, what stands out, what would change it),
//! then the evidence (the service's rules, and per class the branches and decisive rules).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::{self, Write};

use crate::kube::summary::{ClassSummary, summarize};
use crate::kube::{
    BranchExplanation, ClassExplanation, Explanation, PortExplanation, RuleRef, Verdict,
};
use crate::report::text::table::{Cell, write_table};
use crate::report::{self, Palette, sanitize, words};

/// Writes the explanation as text; `brief`: only the answer (heading, table, what stands
/// out).
pub fn render(
    explanation: &Explanation,
    palette: Palette,
    brief: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
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
        render_port(port, palette, brief, out)?;
    }
    Ok(())
}

/// Colours a verdict word by meaning.
pub fn verdict_word(verdict: Verdict, palette: Palette) -> String {
    paint_verdict(verdict, verdict.as_str(), palette)
}

/// The lines of the rules a destination's report has shown in full: a rule cited again is
/// referred to by its line (a report's size follows its rules, not its paths).
type Shown = RefCell<BTreeSet<u32>>;

/// A cited rule: in full the first time, then by its line.
fn cited(rule: &RuleRef, palette: Palette, shown: &Shown) -> String {
    if shown.borrow_mut().insert(rule.line) {
        return rule_line(rule, palette);
    }
    format!(
        "{} {} {}",
        palette.location(&format!("line {}", rule.line)),
        palette.chain(&format!(
            "[{} {}]",
            sanitize(&rule.table),
            sanitize(&rule.chain)
        )),
        palette.dim(&words::shown_above(rule))
    )
}

fn rule_line(rule: &RuleRef, palette: Palette) -> String {
    let (shown, length) = report::shown_part(&rule.text, report::RULE_TEXT_SHOWN);
    let cut = length
        .map(|n| format!("… ({n} bytes in all)"))
        .unwrap_or_default();
    format!(
        "{} {} {}",
        palette.location(&format!("line {}", rule.line)),
        palette.chain(&format!(
            "[{} {}]",
            sanitize(&rule.table),
            sanitize(&rule.chain)
        )),
        palette.dim(&format!("{}{cut}", sanitize(shown)))
    )
}

fn render_port(
    port: &PortExplanation,
    p: Palette,
    brief: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let service = super::service_shown(port.service.as_deref());
    writeln!(
        out,
        "{}",
        p.heading(&format!(
            "{} — service {service}",
            words::destination(&port.destination)
        ))
    )?;
    writeln!(out, "  {}", sanitize(&words::port_gist(port)))?;
    writeln!(out)?;
    let summary = summarize(port);
    render_summary(&summary, p, out)?;
    render_standing_out(port, &summary, p, out)?;
    if brief {
        return Ok(());
    }
    render_remedies(&summary, p, out)?;
    writeln!(out)?;
    writeln!(out, "  {}", p.heading("evidence"))?;
    render_shape(port, p, out)?;
    let shown = RefCell::new(BTreeSet::new());
    render_rules_and_notes(port, p, &shown, out)?;
    render_counters(port, out)?;
    for class in words::table_order(&port.classes) {
        render_class(class, p, &shown, out)?;
    }
    Ok(())
}

/// The verdict table: one line per source class.
fn render_summary(summary: &[ClassSummary], p: Palette, out: &mut dyn Write) -> io::Result<()> {
    let mut rows = vec![vec![
        Cell::styled("SOURCE", p.dim("SOURCE")),
        Cell::styled("VERDICT", p.dim("VERDICT")),
        Cell::styled("THE ENDPOINT SEES", p.dim("THE ENDPOINT SEES")),
        Cell::styled("THROUGH", p.dim("THROUGH")),
    ]];
    for s in summary {
        let verdict = words::verdict_cell(s);
        rows.push(vec![
            Cell::plain(words::class_label(s)),
            Cell::styled(verdict.clone(), paint_verdict(s.verdict, &verdict, p)),
            Cell::plain(words::sees(s.sees)),
            Cell::plain(sanitize(&words::reached(&s.endpoints))),
        ]);
    }
    write_table(&rows, "  ", out)
}

/// What must not be missed: partial or undetermined verdicts, mixed outcomes, and the
/// port's notes (the 127.0.0.0/8 rule's meaning, conflicting rules, missing chains).
fn render_standing_out(
    port: &PortExplanation,
    summary: &[ClassSummary],
    p: Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    let lines = words::standing_out(port, summary);
    if lines.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    for line in lines {
        writeln!(out, "  {} {}", p.warn("!"), sanitize(&line))?;
    }
    Ok(())
}

/// What would change each masqueraded or dropped class, each remedy once.
fn render_remedies(summary: &[ClassSummary], p: Palette, out: &mut dyn Write) -> io::Result<()> {
    let remedies = words::remedies(summary);
    if remedies.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "  {}", p.heading("what changes it"))?;
    for (labels, text) in remedies {
        writeln!(out, "  - {}: {}", labels, sanitize(&text))?;
    }
    if let Some(l7) = words::l7_routes(summary) {
        writeln!(out, "  - {l7}")?;
    }
    Ok(())
}

/// A verdict's text (`plain`: the word, perhaps with a mixed mark) coloured by its
/// meaning.
fn paint_verdict(verdict: Verdict, plain: &str, palette: Palette) -> String {
    match verdict {
        Verdict::Preserved => palette.good(plain),
        Verdict::Masqueraded => palette.warn(plain),
        Verdict::Dropped | Verdict::Rejected => palette.bad(plain),
        Verdict::NotHandled | Verdict::Forwarded | Verdict::Undetermined => palette.unsure(plain),
    }
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

/// The rules naming the destination, what is missing, and the assumptions (the notes
/// stand out under the verdict table).
fn render_rules_and_notes(
    port: &PortExplanation,
    p: Palette,
    shown: &Shown,
    out: &mut dyn Write,
) -> io::Result<()> {
    let shape = &port.shape;
    if !port.entry_rules.is_empty() {
        writeln!(out, "  {}:", words::entry_rules_name(port.destination.kind))?;
    }
    for r in &port.entry_rules {
        writeln!(out, "    {}", cited(r, p, shown))?;
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

/// One source class's evidence: its heading, then its branches (one branch: its detail and
/// rules directly under the heading). The table above already says the verdict in short.
fn render_class(
    class: &ClassExplanation,
    p: Palette,
    shown: &Shown,
    out: &mut dyn Write,
) -> io::Result<()> {
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
    if let [only] = class.branches.as_slice()
        && class.taken_by_other.is_none()
    {
        return render_branch_evidence(only, "    ", p, shown, out);
    }
    if class.taken_by_other.is_some() || !class.mixed.is_empty() {
        writeln!(out, "    {}", sanitize(&words::class_summary(class)))?;
    }
    let listed = class.branches.len().min(report::BRANCHES_SHOWN);
    if listed < class.branches.len() {
        let rest = &class.branches[listed..];
        writeln!(out, "    {}", sanitize(&words::branches_not_shown(rest)))?;
    }
    for b in &class.branches[..listed] {
        writeln!(
            out,
            "    - {} {} (p={:.4}){}",
            verdict_word(b.verdict, p),
            sanitize(&words::endpoint_or(b.endpoint.as_ref(), "no endpoint")),
            b.probability,
            if b.partial { " [partial]" } else { "" }
        )?;
        render_branch_evidence(b, "      ", p, shown, out)?;
    }
    Ok(())
}

/// A branch's sentence, path, decisive rules, assumptions and notes.
fn render_branch_evidence(
    b: &BranchExplanation,
    indent: &str,
    p: Palette,
    shown: &Shown,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "{indent}{}{}",
        sanitize(&words::branch_detail(b)),
        if b.partial { " [partial]" } else { "" }
    )?;
    if !b.chain_path.is_empty() {
        writeln!(
            out,
            "{indent}path: {}",
            p.chain(&sanitize(&b.chain_path.join(" → ")))
        )?;
    }
    for r in &b.decisive {
        writeln!(out, "{indent}{}", cited(r, p, shown))?;
    }
    for a in b.notes.iter().filter(|n| n.forks()) {
        writeln!(
            out,
            "{indent}{} {}",
            p.unsure("assumed:"),
            sanitize(&words::branch_note(a))
        )?;
    }
    for n in b.notes.iter().filter(|n| !n.forks()) {
        writeln!(out, "{indent}note: {}", sanitize(&words::branch_note(n)))?;
    }
    Ok(())
}
