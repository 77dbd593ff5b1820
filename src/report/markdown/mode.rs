//! The proxy mode as Markdown: `explain`'s answer for a mode it cannot analyse, its note on
//! a mixed dump, and `inspect`'s list of each ruleset's mode.

use std::io::{self, Write};

use crate::kube::Explanation;
use crate::kube::mode::{ProxyModes, Sighting, UnsupportedMode};
use crate::report::markdown::{cell, code};
use crate::report::words::mode::{self as words, ModeAnswer};

/// `explain` for a target in a dump from a mode it cannot analyse (see
/// [`crate::report::text::mode::render_unsupported`]).
pub fn render_unsupported(
    explanation: &Explanation,
    u: &UnsupportedMode,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "## {}",
        cell(&words::unsupported_headline(u, &explanation.target))
    )?;
    writeln!(out)?;
    render_body(u, &ModeAnswer::for_target(u, &explanation.target), out)
}

/// A mode's answer without its headline (see
/// [`crate::report::text::mode::render_answer`]), as a list and a blank line.
pub fn render_body(u: &UnsupportedMode, said: &ModeAnswer, out: &mut dyn Write) -> io::Result<()> {
    if let Some((first, rest)) = u.evidence.split_first() {
        writeln!(out, "- **{}:** {}", label(words::SHOWN_BY), sighting(first))?;
        for s in rest {
            writeln!(out, "  - {}", sighting(s))?;
        }
    }
    writeln!(out, "- {}", cell(&said.why))?;
    if !u.target_rules.is_empty() {
        writeln!(out, "- **{}:**", label(said.rules_label))?;
        for r in &u.target_rules {
            writeln!(out, "  - {}", sighting(&r.sighting))?;
        }
    }
    if let Some(answer) = &said.answer {
        writeln!(out, "- **{}:** {}", label(words::BY_HAND), cell(answer))?;
    }
    if !said.commands.is_empty() {
        writeln!(out, "- **{}:**", label(words::RUN_INSTEAD))?;
        for command in &said.commands {
            writeln!(out, "  - {}", code(command))?;
        }
    }
    writeln!(out)?;
    Ok(())
}

/// A sighting: its place as text, its line's text as code.
fn sighting(s: &Sighting) -> String {
    match &s.text {
        Some(text) => format!("{}: {}", cell(&words::place(s)), code(text)),
        None => cell(&words::sighting(s)),
    }
}

/// `shown by` → `Shown by`.
fn label(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `explain`'s note for each ruleset showing more than one kube-proxy mode.
pub fn render_mixed_notes(modes: &ProxyModes, out: &mut dyn Write) -> io::Result<()> {
    for note in words::mixed_mode_notes(modes) {
        writeln!(out, "> **Note:** {}", cell(&note))?;
        writeln!(out)?;
    }
    Ok(())
}

/// `inspect`'s list of modes: each ruleset's, then kube-proxy's nftables tables.
pub fn render_modes(modes: &ProxyModes, out: &mut dyn Write) -> io::Result<()> {
    if modes.rulesets.is_empty() && modes.nft_tables.is_empty() {
        return Ok(());
    }
    if !modes.rulesets.is_empty() {
        // After the rulesets' table.
        writeln!(out)?;
    }
    writeln!(out, "**Proxy mode:**")?;
    writeln!(out)?;
    for m in &modes.rulesets {
        writeln!(
            out,
            "- ruleset at line {}: {}",
            m.first_line,
            cell(&words::ruleset_mode(m))
        )?;
    }
    for m in &modes.nft_tables {
        writeln!(out, "- {}", cell(&words::ruleset_mode(m)))?;
    }
    Ok(())
}
