//! Splitting a rule's arguments into words, with iptables' quoting rules.
//!
//! `iptables-save` prints a string bare if it only has letters, digits, `_` and `-`;
//! otherwise it wraps it in double quotes and puts a backslash before `"`, `\` and `'`.
//! `iptables-restore` reads words split on spaces and tabs; a `"` opens a quoted part in
//! which a backslash takes the next character literally, and the closing `"` ends the word.
//! Outside quotes a backslash is an ordinary character. We accept exactly that.

use std::borrow::Cow;

use nom::IResult;
use nom::Parser;
use nom::bytes::complete::{is_not, take_while};
use nom::character::complete::char;
use nom::sequence::preceded;

/// One word of a rule, unquoted, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word<'a> {
    /// The word's text with quotes and escapes removed.
    pub text: Cow<'a, str>,
    /// Byte offset of the word as written (quotes included) in the source.
    pub start: usize,
    /// One past the last byte of the word as written.
    pub end: usize,
    /// True if the word was (partly) quoted: then it is always a value, never an option.
    pub quoted: bool,
}

/// Why a line could not be split into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnterminatedQuote {
    /// Offset of the opening quote in the source.
    pub at: usize,
}

/// Splits `line` into words, replacing the contents of `out`.
///
/// `line` starts at byte `base` of the source; word offsets are absolute (`base` added).
pub fn split_words<'a>(
    line: &'a str,
    base: usize,
    out: &mut Vec<Word<'a>>,
) -> Result<(), UnterminatedQuote> {
    out.clear();
    let mut rest = line;
    loop {
        let (after_space, _) = blanks(rest).unwrap_or((rest, ""));
        if after_space.is_empty() {
            return Ok(());
        }
        let start = base + line.len() - after_space.len();
        let (after_word, word) = match quoted_word(after_space) {
            Some(result) => result.map_err(|()| UnterminatedQuote { at: start })?,
            None => bare_word(after_space),
        };
        let end = base + line.len() - after_word.len();
        out.push(Word {
            text: word.0,
            start,
            end,
            quoted: word.1,
        });
        rest = after_word;
    }
}

/// Skips spaces and tabs.
fn blanks(input: &str) -> IResult<&str, &str> {
    take_while(|c| c == ' ' || c == '\t')(input)
}

/// A word without quotes: `KUBE-SVC-X`, `10.0.0.0/8`, `a\b` (backslash is literal here).
/// A `"` inside it starts a quoted continuation, as iptables-restore allows.
fn bare_word(input: &str) -> (&str, (Cow<'_, str>, bool)) {
    let end = input.find([' ', '\t', '"']).unwrap_or(input.len());
    let (word, rest) = input.split_at(end);
    if rest.starts_with('"') {
        // `abc"d e"`: iptables-restore joins the bare and the quoted part.
        if let Some(Ok((after, (quoted, _)))) = quoted_word(rest) {
            let mut joined = word.to_string();
            joined.push_str(&quoted);
            return (after, (Cow::Owned(joined), true));
        }
    }
    (rest, (Cow::Borrowed(word), false))
}

/// A word starting with `"`. `None` if it does not start with a quote, `Some(Err)` if the
/// quote is never closed.
#[allow(clippy::type_complexity)]
fn quoted_word(input: &str) -> Option<Result<(&str, (Cow<'_, str>, bool)), ()>> {
    if !input.starts_with('"') {
        return None;
    }
    // Fast path: no backslash before the closing quote, so the text can be borrowed.
    let plain: IResult<&str, &str> = preceded(char('"'), is_not("\"\\")).parse(input);
    if let Ok((rest, text)) = plain {
        if let Some(after) = rest.strip_prefix('"') {
            return Some(Ok((after, (Cow::Borrowed(text), true))));
        }
    } else if let Some(after) = input.strip_prefix("\"\"") {
        return Some(Ok((after, (Cow::Borrowed(""), true))));
    }
    // Slow path: unescape.
    let mut text = String::new();
    let mut chars = input[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => text.push(escaped),
                None => return Some(Err(())),
            },
            '"' => return Some(Ok((&input[1 + i + 1..], (Cow::Owned(text), true)))),
            other => text.push(other),
        }
    }
    Some(Err(()))
}

/// How iptables-save would print `text` as one word (the inverse of [`split_words`]).
pub fn quote(text: &str) -> Cow<'_, str> {
    let bare = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(line: &str, expected: &[&str]) {
        let mut words = Vec::new();
        split_words(line, 0, &mut words).unwrap();
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_ref()).collect();
        assert_eq!(texts, expected, "splitting {line:?}");
    }

    #[test]
    fn bare_words_split_on_spaces_and_tabs() {
        check("-p tcp  -m\ttcp", &["-p", "tcp", "-m", "tcp"]);
        check("   ", &[]);
    }

    #[test]
    fn quoted_comment_keeps_spaces() {
        check(
            r#"--comment "ns1/svc1:p80 cluster IP" -j X"#,
            &["--comment", "ns1/svc1:p80 cluster IP", "-j", "X"],
        );
    }

    #[test]
    fn backslash_escapes_inside_quotes_only() {
        check(r#""say \"hi\" \\ it's""#, &[r#"say "hi" \ it's"#]);
        check(r"a\b", &[r"a\b"]);
        check(r#""it\'s""#, &["it's"]);
    }

    #[test]
    fn empty_quotes_are_an_empty_word() {
        check(r#"--comment """#, &["--comment", ""]);
    }

    #[test]
    fn utf8_in_quotes() {
        check(r#""服务 ç""#, &["服务 ç"]);
    }

    #[test]
    fn quote_joined_to_bare_text() {
        check(r#"ab"c d" e"#, &["abc d", "e"]);
    }

    #[test]
    fn unterminated_quote_points_at_the_opening_quote() {
        let mut words = Vec::new();
        let err = split_words(r#"-m comment --comment "oops"#, 0, &mut words).unwrap_err();
        assert_eq!(err.at, 21);
        let err = split_words(r#""trailing\"#, 0, &mut words).unwrap_err();
        assert_eq!(err.at, 0);
    }

    #[test]
    fn word_offsets_cover_the_written_form() {
        let mut words = Vec::new();
        split_words(r#"-A X "a b""#, 100, &mut words).unwrap();
        assert_eq!((words[2].start, words[2].end), (105, 110));
        assert!(words[2].quoted);
    }

    #[test]
    fn quote_round_trips() {
        for text in ["plain-word_1", "ns/svc:p80", "a \"b\" \\ 'c'", "", "服务"] {
            let quoted = quote(text);
            let mut words = Vec::new();
            split_words(&quoted, 0, &mut words).unwrap();
            assert_eq!(words.len(), 1, "{quoted}");
            assert_eq!(words[0].text, text);
        }
    }
}
