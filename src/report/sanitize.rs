//! Makes text taken from a dump safe to print: no terminal control characters, ever.
//!
//! Comments and chain names come from whoever wrote the rules. Printed raw, an escape
//! sequence in a comment could recolour, move the cursor or rewrite the terminal title of
//! the engineer reading a ticket. Control characters (C0, DEL, C1), bidirectional overrides
//! and zero-width characters are shown as `\x1b` / `\u{202e}` instead; bytes that were not
//! UTF-8 in the input (see [`crate::source`]) are shown as `\xNN`.

use std::borrow::Cow;
use std::fmt::Write;

/// Returns `text` with every unsafe character replaced by a visible escape.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if let Some(byte) = crate::source::escaped_byte(c) {
            let _ = write!(out, "\\x{byte:02x}");
        } else if needs_escape(c) {
            let code = u32::from(c);
            if code <= 0xff {
                let _ = write!(out, "\\x{code:02x}");
            } else {
                let _ = write!(out, "\\u{{{code:x}}}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// True for characters that must not reach a terminal raw.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || crate::source::escaped_byte(c).is_some()
        || matches!(c,
            '\u{200b}'..='\u{200f}'   // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202e}' // line/paragraph separators, bidi embeddings/overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{feff}'              // zero-width no-break space
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            sanitize("ns1/svc1:p80 cluster IP"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn escape_sequences_and_bidi_overrides_are_made_visible() {
        assert_eq!(sanitize("a\u{1b}[31mb"), "a\\x1b[31mb");
        assert_eq!(sanitize("x\u{202e}y\ttab"), "x\\u{202e}y\\x09tab");
        assert_eq!(sanitize("c1\u{9b}"), "c1\\x9b");
    }

    #[test]
    fn bytes_that_were_not_utf8_show_as_hex() {
        let text: String = ['c', 'a', 'f', crate::source::escaped_byte_char(0xe9)]
            .into_iter()
            .collect();
        assert_eq!(sanitize(&text), "caf\\xe9");
    }
}
