//! Caret rendering of parse errors: `file:line:col`, the line (control characters escaped),
//! and `^^^` under the offending text, then what was expected.
//!
//! ```text
//! error: bad address `10.0.0.300`: expected ADDR, ADDR/PREFIX or ADDR/MASK (IPv4 or IPv6)
//!   --> node.txt:2:9
//!    |
//!  2 | -A X -s 10.0.0.300 -j ACCEPT
//!    |         ^^^^^^^^^^
//! ```

use std::fmt::Write;

use crate::parse::ParseError;
use crate::report::sanitize::excerpt;
use crate::report::{Palette, sanitize};
use crate::source::Source;

/// Longest stretch of a line shown; longer lines are cut around the error.
const MAX_SHOWN: usize = 160;

/// Longest message shown (a message quotes the offending text, which may be huge).
pub const MAX_MESSAGE: usize = 240;

/// Where an error is, for people: 1-based line and column (in characters).
pub fn location(source: &Source, error: &ParseError) -> (u32, usize) {
    let line_start = line_start(source.text(), error.span.start as usize);
    let col = source.text()[line_start..error.span.start as usize]
        .chars()
        .count()
        + 1;
    (error.line, col)
}

fn line_start(text: &str, offset: usize) -> usize {
    memchr::memrchr(b'\n', &text.as_bytes()[..offset.min(text.len())]).map_or(0, |i| i + 1)
}

/// Renders one error with its caret.
pub fn render(source: &Source, error: &ParseError, palette: Palette) -> String {
    let text = source.text();
    let (line_no, col) = location(source, error);
    let start = error.span.start as usize;
    let end = (error.span.end as usize).max(start);
    let line_begin = line_start(text, start);
    let line_end = memchr::memchr(b'\n', &text.as_bytes()[start.min(text.len())..])
        .map_or(text.len(), |i| start + i);
    let line_text = text[line_begin..line_end].trim_end_matches('\r');
    let before = sanitize(&text[line_begin..start]).chars().count();
    let marked_end = end.min(line_begin + line_text.len()).max(start);
    let width = sanitize(&text[start..marked_end]).chars().count().max(1);
    let shown = sanitize(line_text);
    // Cut very long lines (a 10 kB rule) to a window around the error.
    let skip = before.saturating_sub(MAX_SHOWN / 2);
    let mut window: String = shown.chars().skip(skip).take(MAX_SHOWN).collect();
    if skip > 0 {
        window.insert_str(0, "...");
    }
    if shown.chars().count() > skip + MAX_SHOWN {
        window.push_str("...");
    }
    let caret_at = before - skip + if skip > 0 { 3 } else { 0 };
    let gutter = line_no.to_string().len();
    let pad = " ".repeat(gutter);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {}",
        palette.bad("error"),
        excerpt(&error.kind.to_string(), MAX_MESSAGE)
    );
    let _ = writeln!(
        out,
        "{pad}{} {}:{line_no}:{col}",
        palette.location("-->"),
        sanitize(&source.name)
    );
    let _ = writeln!(out, "{pad} {}", palette.location("|"));
    let _ = writeln!(
        out,
        "{} {} {window}",
        palette.location(&line_no.to_string()),
        palette.location("|")
    );
    let carets = "^".repeat(width.min(MAX_SHOWN));
    let _ = writeln!(
        out,
        "{pad} {} {}{}",
        palette.location("|"),
        " ".repeat(caret_at),
        palette.bad(&carets)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_dump;

    #[test]
    fn caret_sits_under_the_bad_address() {
        let source = Source::from_text("node.txt", "*nat\n-A X -s 10.0.0.300 -j ACCEPT\nCOMMIT\n");
        let parsed = parse_dump(&source);
        let shown = render(&source, &parsed.errors()[0], Palette::new(false));
        insta::assert_snapshot!(shown, @r"
        error: bad address `10.0.0.300`: expected ADDR, ADDR/PREFIX or ADDR/MASK (IPv4 or IPv6)
         --> node.txt:2:9
          |
        2 | -A X -s 10.0.0.300 -j ACCEPT
          |         ^^^^^^^^^^
        ");
    }

    #[test]
    fn control_characters_in_the_line_are_escaped_and_caret_follows() {
        let source = Source::from_text(
            "x",
            "*nat\n-A X -m comment --comment \"\u{1b}[2J\" -z\nCOMMIT\n",
        );
        let parsed = parse_dump(&source);
        let shown = render(&source, &parsed.errors()[0], Palette::new(false));
        assert!(!shown.contains('\u{1b}'));
        let lines: Vec<&str> = shown.lines().collect();
        let caret_col = lines[4].find('^').unwrap();
        assert_eq!(&lines[3][caret_col..caret_col + 2], "-z");
    }
}
