//! `trace` as text: the packet, then per ruleset each branch's outcome first and its
//! events by hook, rule by rule.

use std::io::{self, Write};

use crate::kube::trace::{RulesetTrace, Trace, TraceEnd, TraceEvent, TracedBranch};
use crate::netfilter::Hook;
use crate::report::words::{branch_note, mode as mode_words, trace as words};
use crate::report::{Palette, sanitize};

/// Writes one input's trace.
pub fn render(trace: &Trace, palette: Palette, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} {}",
        palette.heading("trace:"),
        sanitize(&words::trace_packet(trace))
    )?;
    writeln!(out, "{}", words::node_addresses(trace))?;
    if let Some(u) = &trace.unsupported_mode {
        writeln!(
            out,
            "{} {}",
            palette.warn("note:"),
            sanitize(&mode_words::trace_note(u))
        )?;
        let commands = mode_words::ModeAnswer::for_input(u).commands;
        if !commands.is_empty() {
            writeln!(
                out,
                "  {}: {}",
                mode_words::RUN_INSTEAD,
                sanitize(&commands.join("; "))
            )?;
        }
    }
    if trace.rulesets.is_empty() {
        writeln!(out, "{}", sanitize(&words::no_ruleset(trace)))?;
        return Ok(());
    }
    for ruleset in &trace.rulesets {
        writeln!(out)?;
        render_ruleset(trace, ruleset, palette, out)?;
    }
    Ok(())
}

fn render_ruleset(
    trace: &Trace,
    ruleset: &RulesetTrace,
    palette: Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    let program = ruleset
        .program
        .as_deref()
        .unwrap_or("rules without a header");
    writeln!(
        out,
        "{} ({}, from line {}): {} branch(es)",
        palette.heading(&sanitize(program)),
        ruleset.family,
        ruleset.first_line,
        ruleset.branches.len()
    )?;
    if !ruleset.missing_tables.is_empty() {
        writeln!(out, "  partial dump: {}", words::missing_tables(ruleset))?;
    }
    if let Some(chain) = &ruleset.nat_entered_at {
        writeln!(
            out,
            "  assumption: the dump has no nat PREROUTING/OUTPUT chains; nat is entered at {} as kube-proxy's hooks would",
            sanitize(chain)
        )?;
    }
    for (i, branch) in ruleset.branches.iter().enumerate() {
        writeln!(out)?;
        render_branch(trace, i + 1, branch, palette, out)?;
    }
    Ok(())
}

fn render_branch(
    trace: &Trace,
    number: usize,
    b: &TracedBranch,
    palette: Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    let verdict = words::trace_verdict(&b.end);
    let coloured = match b.end {
        TraceEnd::Delivered | TraceEnd::Forwarded => palette.good(verdict),
        TraceEnd::Dropped { .. } | TraceEnd::Rejected { .. } => palette.bad(verdict),
        TraceEnd::Undetermined { .. } => palette.unsure(verdict),
    };
    writeln!(
        out,
        "  branch {number} (p={:.4}): {coloured}: {}",
        b.probability,
        sanitize(&words::trace_end(b))
    )?;
    for note in &b.notes {
        writeln!(out, "    assumption: {}", sanitize(&branch_note(note)))?;
    }
    let mut hook: Option<Hook> = None;
    for event in &b.events {
        render_event(trace, event, &mut hook, palette, out)?;
    }
    Ok(())
}

fn render_event(
    trace: &Trace,
    event: &TraceEvent,
    current: &mut Option<Hook>,
    palette: Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    let heading = |current: &mut Option<Hook>, hook: Hook, out: &mut dyn Write| {
        if *current == Some(hook) {
            return Ok(());
        }
        *current = Some(hook);
        writeln!(out, "    {}", palette.heading(words::hook_name(hook)))
    };
    match event {
        TraceEvent::Matched { hook, rule, action } => {
            heading(current, *hook, out)?;
            writeln!(
                out,
                "      {} {}",
                palette.location(&format!(
                    "line {} [{} {}]",
                    rule.line,
                    sanitize(&rule.table),
                    sanitize(&rule.chain)
                )),
                sanitize(&rule.text)
            )?;
            writeln!(out, "        → {}", sanitize(&words::trace_action(action)))?;
        }
        TraceEvent::Policy {
            hook,
            table,
            chain,
            policy,
        } => {
            heading(current, *hook, out)?;
            writeln!(
                out,
                "      [{} {}] {}",
                sanitize(table),
                sanitize(chain),
                words::policy(*policy)
            )?;
        }
        TraceEvent::Missed {
            hook,
            rule,
            test,
            fact,
        } => {
            heading(current, *hook, out)?;
            writeln!(
                out,
                "      {} no match: `{}`: {}",
                palette.dim(&format!(
                    "line {} [{} {}]",
                    rule.line,
                    sanitize(&rule.table),
                    sanitize(&rule.chain)
                )),
                sanitize(test),
                words::miss_fact(fact)
            )?;
        }
        TraceEvent::Routed { destination, local } => {
            *current = None;
            writeln!(
                out,
                "    {}",
                words::routed(*destination, *local, trace.packet.origin)
            )?;
        }
    }
    Ok(())
}
