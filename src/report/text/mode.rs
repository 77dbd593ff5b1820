//! The proxy mode as text: `explain`'s answer for a mode it cannot analyse, its note on a
//! mixed dump, and `inspect`'s line per ruleset.

use std::io::{self, Write};

use crate::kube::Explanation;
use crate::kube::mode::{ProxyModes, RulesetMode, Sighting, UnsupportedMode};
use crate::report::words::mode::{self as words, ModeAnswer};
use crate::report::{Palette, sanitize};

/// `explain` for a target in a dump from a mode it cannot analyse: the mode, what shows
/// it, why these rules do not decide, the rules that name the target, what can be said by
/// hand, and what to run instead.
pub fn render_unsupported(
    explanation: &Explanation,
    u: &UnsupportedMode,
    p: Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    render_answer(u, &ModeAnswer::for_target(u, &explanation.target), p, out)
}

/// A mode's answer (about a target, or about a whole input for `ports` and `diff`): the
/// headline, what shows the mode, why these rules do not decide, the mode's rules, what can
/// be said by hand, and what to run instead.
pub fn render_answer(
    u: &UnsupportedMode,
    said: &ModeAnswer,
    p: Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "{}", p.heading(&sanitize(&said.headline)))?;
    writeln!(
        out,
        "  {}: {}",
        words::SHOWN_BY,
        sanitize(&words::evidence(&u.evidence))
    )?;
    writeln!(out, "  {}", sanitize(&said.why))?;
    if !u.target_rules.is_empty() {
        writeln!(out, "  {}:", said.rules_label)?;
        for r in &u.target_rules {
            writeln!(out, "    {}", line(&r.sighting, p))?;
        }
    }
    if let Some(answer) = &said.answer {
        writeln!(out, "  {}: {}", p.unsure(words::BY_HAND), sanitize(answer))?;
    }
    if !said.commands.is_empty() {
        writeln!(out, "  {}:", words::RUN_INSTEAD)?;
        for command in &said.commands {
            writeln!(out, "    {}", sanitize(command))?;
        }
    }
    Ok(())
}

/// A rule or nftables line: `line 64 [nat KUBE-NODE-PORT] -A KUBE-NODE-PORT …`.
fn line(s: &Sighting, p: Palette) -> String {
    let place = match &s.chain {
        Some(chain) => format!("[{} {chain}]", s.table),
        None => format!("[{}]", s.table),
    };
    format!(
        "{} {} {}",
        p.location(&format!("line {}", s.line)),
        p.chain(&sanitize(&place)),
        p.dim(&sanitize(s.text.as_deref().unwrap_or_default()))
    )
}

/// `explain`'s note for each ruleset showing more than one kube-proxy mode.
pub fn render_mixed_notes(modes: &ProxyModes, out: &mut dyn Write) -> io::Result<()> {
    for note in words::mixed_mode_notes(modes) {
        writeln!(out, "note: {}", sanitize(&note))?;
    }
    Ok(())
}

/// `inspect`'s line for one ruleset's (or nftables table's) mode.
pub fn mode_line(m: &RulesetMode) -> String {
    format!("proxy mode: {}", sanitize(&words::ruleset_mode(m)))
}
