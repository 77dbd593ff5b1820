//! Makes text taken from a dump safe to print: no terminal control characters and no
//! invisible or direction-changing characters, ever; and, for Markdown, no markup.
//!
//! Comments and chain names come from whoever wrote the rules. Printed raw, an escape
//! sequence in a comment could recolour, move the cursor or rewrite the terminal title of
//! the engineer reading a ticket; a bidirectional override could make a rule read
//! backwards; tag characters (`U+E0000..=U+E007F`) could carry hidden text to whatever
//! reads the ticket. [`sanitize`] shows these as visible escapes, in three forms that never
//! overlap:
//!
//! - `\xNN` with `NN` below `80`: an ASCII control character (`\x1b`, `\x09`, `\x7f`);
//! - `\xNN` with `NN` from `80` up: a raw byte of the input that was not UTF-8 (see
//!   [`crate::source`]);
//! - `\u{…}`: any other code point that must not be printed raw: C1 controls, format
//!   characters (general category Cf: bidi marks, embeddings, overrides and isolates,
//!   zero-width characters, soft hyphen, `U+061C`, tag characters), line and paragraph
//!   separators, and every other default-ignorable code point (variation selectors,
//!   Hangul fillers, combining grapheme joiner, the unassigned reserved ones); and every
//!   code point of the source's reserved block `U+10FF00..=U+10FFFF`, written as the code
//!   point it stands for.
//!
//! The Unicode properties come from ICU4X's `icu_properties`. The text must come from a
//! [`crate::source::Source`] (or contain no character of the reserved block), since a
//! raw byte is recognised by the character the source put in its place.
//!
//! [`markdown_text`], [`markdown_code`] and [`markdown_code_in_table`] make dump text
//! inert in Markdown (CommonMark and GitHub's extensions): nothing in it can become a
//! link, an image, HTML, emphasis, a code span's end or a table cell's end.

use std::borrow::Cow;
use std::fmt::Write;

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory};
use icu_properties::{CodePointMapData, CodePointSetData};

use crate::source;

/// Returns `text` with every character that must not be printed raw replaced by a
/// visible escape (see the module doc). Borrows when there is nothing to escape.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(byte) = source::escaped_byte(c) {
            let _ = write!(out, "\\x{byte:02x}");
            continue;
        }
        let genuine = chars
            .peek()
            .and_then(|&low| source::genuine_reserved_char(c, low));
        if let Some(genuine) = genuine {
            chars.next();
            let _ = write!(out, "\\u{{{:x}}}", u32::from(genuine));
        } else if !needs_escape(c) {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            // Includes half of a reserved pair whose other half the slice cut off: shown
            // as the code point it is, never as a byte.
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

/// True for characters that must not reach a terminal raw.
fn needs_escape(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    if source::is_reserved(c) {
        return true;
    }
    let invisible = matches!(
        CodePointMapData::<GeneralCategory>::new().get(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    );
    invisible || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
}

/// Dump text for an error message or a report field, sanitised and bounded: at most `max`
/// characters of it, then `… (N bytes in all)`. Input text repeated back (a bad token, a
/// line that did not parse) must not make a report as large as the input.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut chars = text.char_indices();
    let cut = chars.nth(max).map(|(at, _)| at);
    match cut {
        None => sanitize(text).into_owned(),
        Some(at) => format!("{}… ({} bytes in all)", sanitize(&text[..at]), text.len()),
    }
}

/// Dump text as inert Markdown inline text: sanitised, then every ASCII punctuation
/// character backslash-escaped (CommonMark makes a backslash before any ASCII punctuation
/// a literal), so no link, image, autolink, HTML, entity, emphasis, code span, heading,
/// list marker or table pipe can start inside it. A leading space is written `&#32;`, so
/// that leading spaces at a line's start cannot make an indented code block. Safe in
/// paragraphs, list items, headings and table cells.
pub fn markdown_text(text: &str) -> String {
    let clean = sanitize(text);
    let mut out = String::with_capacity(clean.len() + clean.len() / 4);
    let rest = match clean.strip_prefix(' ') {
        Some(rest) => {
            out.push_str("&#32;");
            rest
        }
        None => &clean,
    };
    for c in rest.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Dump text as one inert Markdown code span, fences included: sanitised (so it has no
/// line break), fenced with one more backtick than its longest run of backticks so it
/// cannot close the span, and padded with a space on each side when it starts or ends
/// with a backtick or a space (CommonMark strips one such pair). For prose; in a table
/// cell use [`markdown_code_in_table`]. Empty text gives an empty string.
pub fn markdown_code(text: &str) -> String {
    code_span(&sanitize(text))
}

/// [`markdown_code`] for a GitHub table cell: a `|` would end the cell even inside a code
/// span, so it is written `\|`, which the table reads as a `|` of the span. Text with a
/// backslash right before a pipe cannot be shown exactly in a code span there (renderers
/// disagree on `\\|`), so it is set as [`markdown_text`] instead.
pub fn markdown_code_in_table(text: &str) -> String {
    let clean = sanitize(text);
    if clean.contains("\\|") {
        return markdown_text(text);
    }
    code_span(&clean.replace('|', "\\|"))
}

fn code_span(content: &str) -> String {
    if content.is_empty() {
        return String::new();
    }
    let longest_run = content.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = content.starts_with(['`', ' ']) || content.ends_with(['`', ' ']);
    let pad = if pad && !content.bytes().all(|b| b == b' ') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{content}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_and_say_how_long_the_text_was() {
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(
            excerpt("0123456789abc", 10),
            "0123456789… (13 bytes in all)"
        );
        let long = "é".repeat(1000);
        let shown = excerpt(&long, 5);
        assert_eq!(shown, "ééééé… (2000 bytes in all)");
        assert_eq!(excerpt("a\u{1b}b", 10), "a\\x1bb");
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            sanitize("ns1/svc1:p80 cluster IP"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            sanitize("café 服务 ünïcödé → ✓"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn escape_sequences_and_bidi_overrides_are_made_visible() {
        assert_eq!(sanitize("a\u{1b}[31mb"), "a\\x1b[31mb");
        assert_eq!(sanitize("x\u{202e}y\ttab"), "x\\u{202e}y\\x09tab");
        assert_eq!(sanitize("del\u{7f}"), "del\\x7f");
    }

    #[test]
    fn c1_controls_are_code_points_not_bytes() {
        // Issue 14: `\x9b` must mean the raw byte 0x9B only.
        assert_eq!(sanitize("c1\u{9b}"), "c1\\u{9b}");
        assert_eq!(sanitize("\u{85}next line"), "\\u{85}next line");
    }

    #[test]
    fn format_and_tag_characters_and_soft_hyphen_are_escaped() {
        // The issue-14 cases: Arabic letter mark, a tag character, soft hyphen.
        assert_eq!(sanitize("a\u{61c}b"), "a\\u{61c}b");
        assert_eq!(sanitize("x\u{e0041}\u{e007f}"), "x\\u{e0041}\\u{e007f}");
        assert_eq!(sanitize("in\u{ad}visible"), "in\\u{ad}visible");
        // Every tag character, assigned or not.
        for code in 0xE0000..=0xE007F {
            let c = char::from_u32(code).unwrap();
            assert_eq!(sanitize(&c.to_string()), format!("\\u{{{code:x}}}"));
        }
    }

    #[test]
    fn every_invisible_or_direction_changing_character_is_escaped() {
        let cases = [
            '\u{200b}',  // zero-width space
            '\u{200c}',  // zero-width non-joiner
            '\u{200d}',  // zero-width joiner
            '\u{200e}',  // left-to-right mark
            '\u{200f}',  // right-to-left mark
            '\u{202a}',  // left-to-right embedding
            '\u{202d}',  // left-to-right override
            '\u{2066}',  // left-to-right isolate
            '\u{2069}',  // pop directional isolate
            '\u{2028}',  // line separator (Zl)
            '\u{2029}',  // paragraph separator (Zp)
            '\u{2060}',  // word joiner
            '\u{2064}',  // invisible plus
            '\u{206f}',  // nominal digit shapes (deprecated format)
            '\u{feff}',  // zero-width no-break space
            '\u{180e}',  // Mongolian vowel separator
            '\u{fe0f}',  // variation selector 16
            '\u{e0100}', // variation selector 17
            '\u{034f}',  // combining grapheme joiner (default ignorable)
            '\u{3164}',  // Hangul filler (default ignorable)
            '\u{ffa0}',  // halfwidth Hangul filler
            '\u{115f}',  // Hangul choseong filler
            '\u{1d173}', // musical symbol begin beam (format)
            '\u{fff9}',  // interlinear annotation anchor (format)
            '\u{600}',   // Arabic number sign (prepended concatenation mark, format)
            '\u{2065}',  // unassigned, reserved as default ignorable
        ];
        for c in cases {
            let escaped = sanitize(&format!("a{c}b")).into_owned();
            assert_eq!(escaped, format!("a\\u{{{:x}}}b", u32::from(c)), "{c:?}");
        }
    }

    #[test]
    fn visible_non_ascii_text_is_kept() {
        for text in ["é", "ß", "服务", "Ω", "👍", "\u{a0}", "\u{301}e"] {
            assert_eq!(sanitize(text), text);
        }
    }

    #[test]
    fn bytes_that_were_not_utf8_show_as_hex() {
        let text: String = ['c', 'a', 'f', source::escaped_byte_char(0xe9)]
            .into_iter()
            .collect();
        assert_eq!(sanitize(&text), "caf\\xe9");
    }

    #[test]
    fn genuine_reserved_code_points_show_as_code_points_distinct_from_raw_bytes() {
        // Issue 14: U+10FF41 printed as `\x41`. Read through a Source, as the CLI does.
        let mut bytes = "[\u{10ff41}|\u{10ffe9}|".as_bytes().to_vec();
        bytes.extend_from_slice(b"\xe9]");
        let src = source::Source::from_bytes("x", bytes).unwrap();
        assert_eq!(sanitize(src.text()), "[\\u{10ff41}|\\u{10ffe9}|\\xe9]");
    }

    #[test]
    fn half_a_reserved_pair_is_never_shown_as_a_byte() {
        let src = source::Source::from_bytes("x", "\u{10ffe9}".as_bytes().to_vec()).unwrap();
        let (first, _) = src.text().split_at(4);
        let (_, second) = src.text().split_at(4);
        assert_eq!(sanitize(first), "\\u{10ff0e}");
        assert_eq!(sanitize(second), "\\u{10ff19}");
    }

    #[test]
    fn markdown_text_escapes_every_ascii_punctuation_character() {
        assert_eq!(
            markdown_text("[x](https://e) <b>*_|`"),
            "\\[x\\]\\(https\\:\\/\\/e\\) \\<b\\>\\*\\_\\|\\`"
        );
        assert_eq!(markdown_text("a\nb"), "a\\\\x0ab");
        assert_eq!(markdown_text("plain words 42"), "plain words 42");
        assert_eq!(markdown_text("    code?"), "&#32;   code\\?");
    }

    #[test]
    fn markdown_code_chooses_a_fence_the_text_cannot_close() {
        assert_eq!(markdown_code("KUBE-SVC-X"), "`KUBE-SVC-X`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("a``b`c"), "```a``b`c```");
        assert_eq!(markdown_code("`x"), "`` `x ``");
        assert_eq!(markdown_code(" x "), "`  x  `");
        assert_eq!(markdown_code("   "), "`   `");
        assert_eq!(markdown_code(""), "");
        assert_eq!(markdown_code("a|b"), "`a|b`");
        assert_eq!(markdown_code_in_table("a|b"), "`a\\|b`");
        assert_eq!(markdown_code_in_table("a\\|b"), "a\\\\\\|b");
        assert_eq!(markdown_code("line\nbreak"), "`line\\x0abreak`");
    }
}
