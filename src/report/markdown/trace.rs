//! `trace` as Markdown: the packet, a table of branches (outcome first), then each
//! branch's events as a list.

use std::io::{self, Write};

use crate::kube::trace::{RulesetTrace, Trace, TraceEvent, TracedBranch};
use crate::report::markdown::{cell, code};
use crate::report::words::{branch_note, mode as mode_words, trace as words};

/// Writes one input's trace.
pub fn render(trace: &Trace, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## Trace: {}", cell(&words::trace_packet(trace)))?;
    writeln!(out)?;
    writeln!(out, "{}", cell(&words::node_addresses(trace)))?;
    writeln!(out)?;
    if let Some(u) = &trace.unsupported_mode {
        writeln!(out, "> **Note:** {}", cell(&mode_words::trace_note(u)))?;
        let commands = mode_words::ModeAnswer::for_input(u).commands;
        if !commands.is_empty() {
            let quoted: Vec<String> = commands.iter().map(|c| code(c)).collect();
            writeln!(out, ">")?;
            writeln!(
                out,
                "> {}: {}",
                cell(mode_words::RUN_INSTEAD),
                quoted.join(", ")
            )?;
        }
        writeln!(out)?;
    }
    if trace.rulesets.is_empty() {
        writeln!(out, "{}", cell(&words::no_ruleset(trace)))?;
        writeln!(out)?;
        return Ok(());
    }
    for ruleset in &trace.rulesets {
        render_ruleset(trace, ruleset, out)?;
    }
    Ok(())
}

fn render_ruleset(trace: &Trace, ruleset: &RulesetTrace, out: &mut dyn Write) -> io::Result<()> {
    let program = ruleset
        .program
        .as_deref()
        .unwrap_or("rules without a header");
    writeln!(
        out,
        "### {} ({}, from line {})",
        code(program),
        ruleset.family,
        ruleset.first_line
    )?;
    if !ruleset.missing_tables.is_empty() {
        writeln!(
            out,
            "- **Partial dump:** {}",
            cell(&words::missing_tables(ruleset))
        )?;
    }
    if let Some(chain) = &ruleset.nat_entered_at {
        writeln!(
            out,
            "- **Assumption:** the dump has no nat PREROUTING/OUTPUT chains; nat is entered at {} as kube-proxy's hooks would",
            code(chain)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "| branch | probability | outcome |")?;
    writeln!(out, "|---|---|---|")?;
    for (i, b) in ruleset.branches.iter().enumerate() {
        writeln!(
            out,
            "| {} | {:.4} | **{}**: {} |",
            i + 1,
            b.probability,
            words::trace_verdict(&b.end),
            cell(&words::trace_end(b))
        )?;
    }
    writeln!(out)?;
    for (i, b) in ruleset.branches.iter().enumerate() {
        render_branch(trace, i + 1, b, out)?;
    }
    Ok(())
}

fn render_branch(
    trace: &Trace,
    number: usize,
    b: &TracedBranch,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "#### Branch {number} — {}",
        words::trace_verdict(&b.end)
    )?;
    writeln!(out)?;
    for note in &b.notes {
        writeln!(out, "- _Assumption:_ {}", cell(&branch_note(note)))?;
    }
    for event in &b.events {
        match event {
            TraceEvent::Matched { hook, rule, action } => writeln!(
                out,
                "- {} line {} ({}): {} → {}",
                words::hook_name(*hook),
                rule.line,
                code(&format!("{} {}", rule.table, rule.chain)),
                code(&rule.text),
                cell(&words::trace_action(action))
            )?,
            TraceEvent::Policy {
                hook,
                table,
                chain,
                policy,
            } => writeln!(
                out,
                "- {} {}: {}",
                words::hook_name(*hook),
                code(&format!("{table} {chain}")),
                words::policy(*policy)
            )?,
            TraceEvent::Missed {
                hook,
                rule,
                test,
                fact,
            } => writeln!(
                out,
                "- {} line {} ({}): no match, {}: {}",
                words::hook_name(*hook),
                rule.line,
                code(&format!("{} {}", rule.table, rule.chain)),
                code(test),
                cell(&words::miss_fact(fact))
            )?,
            TraceEvent::Routed { destination, local } => writeln!(
                out,
                "- _{}_",
                words::routed(*destination, *local, trace.packet.origin)
            )?,
        }
    }
    writeln!(out)
}
