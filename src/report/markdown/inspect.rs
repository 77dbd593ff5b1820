//! `inspect` as Markdown: per input, its size and status, a table of its rulesets and
//! tables, its warnings, and its first parse errors with their carets in a code block.

use std::io::{self, Write};

use crate::report::markdown::{cell, code, code_in_table};
use crate::report::{InspectedInput, Palette, diagnostic, words};

/// Writes one input's report, with at most `max_errors` errors in full.
pub fn render(
    input: &InspectedInput<'_>,
    max_errors: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let ins = &input.inspection;
    let status = if ins.errors == 0 {
        "ok".to_string()
    } else {
        format!("**{} parse error(s)**", ins.errors)
    };
    writeln!(
        out,
        "## {}: {} lines, {} rules, {} ruleset(s): {status}",
        code(&input.source.name),
        ins.lines,
        ins.rules,
        ins.rulesets.len()
    )?;
    writeln!(out)?;
    if !ins.rulesets.is_empty() {
        writeln!(
            out,
            "| ruleset | generator | backend | family | table | chains | rules | lines |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|")?;
    }
    for rs in &ins.rulesets {
        let generator = match (&rs.program, &rs.version) {
            (Some(p), Some(v)) => code_in_table(&format!("{p} v{v}")),
            _ => "no header".to_string(),
        };
        let backend = rs.backend.map_or("not stated", |b| b.as_str());
        let state = match (rs.fragment, rs.truncated) {
            (true, _) => " (fragment)",
            (_, true) => " (truncated)",
            _ => "",
        };
        for t in &rs.tables {
            let lines = match (t.line, t.commit_line) {
                (Some(a), Some(b)) => format!("{a}–{b}"),
                (Some(a), None) => format!("{a}– (no COMMIT)"),
                (None, _) => "assumed (no `*table` header)".to_string(),
            };
            writeln!(
                out,
                "| line {}{state} | {generator} | {backend} | {} | {} | {} | {} | {lines} |",
                rs.first_line,
                rs.family,
                cell(&t.name),
                t.chains,
                t.rules
            )?;
        }
    }
    super::mode::render_modes(&input.proxy_modes, out)?;
    if !ins.warnings.is_empty() {
        writeln!(out)?;
        writeln!(out, "**Warnings:**")?;
        writeln!(out)?;
        for w in &ins.warnings {
            writeln!(out, "- {}", cell(&words::dump_warning(w)))?;
        }
    }
    if !input.errors.is_empty() {
        writeln!(out)?;
        writeln!(out, "**Parse errors:**")?;
        writeln!(out)?;
        writeln!(out, "```text")?;
        for error in input.errors.iter().take(max_errors) {
            let shown = diagnostic::render(input.source, error, Palette::new(false));
            out.write_all(shown.replace("```", "'''").as_bytes())?;
        }
        // Counted: only the first errors are kept in full.
        let shown = input.errors.len().min(max_errors);
        if ins.errors > shown {
            writeln!(
                out,
                "... and {} more error(s) not shown (use --max-errors to see more)",
                ins.errors - shown
            )?;
        }
        writeln!(out, "```")?;
    }
    writeln!(out)?;
    Ok(())
}
