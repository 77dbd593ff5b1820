//! Splitting a rule's arguments into words, with iptables' quoting rules.
//!
//! `iptables-save` prints a string bare if it only has letters, digits, `_` and `-`;
//! otherwise it wraps it in double quotes and puts a backslash before `"`, `\` and `'`.
//! `iptables-restore` reads words split on spaces and tabs; a `"` opens a quoted part in
//! which a backslash takes the next character literally, and the closing `"` ends the word.
//! Outside quotes a backslash is an ordinary character. We accept exactly that.

use std::borrow::Cow;

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
    for word in Words::new(line, base) {
        out.push(word?);
    }
    Ok(())
}

/// The words of a line, one at a time (what [`split_words`] collects).
///
/// Every delimiter (space, tab, `"`, `\\`) is ASCII, so the scan works on bytes: a UTF-8
/// continuation byte never equals one of them.
#[derive(Debug, Clone)]
pub struct Words<'a> {
    line: &'a str,
    base: usize,
    pos: usize,
}

impl<'a> Words<'a> {
    /// The words of `line`, which starts at byte `base` of the source.
    pub fn new(line: &'a str, base: usize) -> Self {
        Words { line, base, pos: 0 }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = Result<Word<'a>, UnterminatedQuote>;

    // Inlined so that `split_words` builds each word in place in its vector: returned
    // through memory, a `Word` is copied and read back at once, stalling the copy.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.line.as_bytes();
        let mut pos = self.pos;
        while pos < bytes.len() && is_blank(bytes[pos]) {
            pos += 1;
        }
        if pos == bytes.len() {
            self.pos = pos;
            return None;
        }
        let start = pos;
        let word = if bytes[pos] == b'"' {
            match quoted_word(self.line, pos) {
                Ok((end, text)) => {
                    pos = end;
                    (text, true)
                }
                Err(()) => {
                    // Stop here: the error is the last item.
                    self.pos = bytes.len();
                    return Some(Err(UnterminatedQuote {
                        at: self.base + start,
                    }));
                }
            }
        } else {
            pos = bare_end(bytes, pos);
            let bare = &self.line[start..pos];
            // `abc"d e"`: iptables-restore joins the bare and the quoted part. An
            // unterminated quote is left for the next word, which reports it.
            match bytes.get(pos) {
                Some(b'"') => match quoted_word(self.line, pos) {
                    Ok((end, quoted)) => {
                        pos = end;
                        let mut joined = String::with_capacity(bare.len() + quoted.len());
                        joined.push_str(bare);
                        joined.push_str(&quoted);
                        (Cow::Owned(joined), true)
                    }
                    Err(()) => (Cow::Borrowed(bare), false),
                },
                _ => (Cow::Borrowed(bare), false),
            }
        };
        self.pos = pos;
        Some(Ok(Word {
            text: word.0,
            start: self.base + start,
            end: self.base + pos,
            quoted: word.1,
        }))
    }
}

/// Where the bare word starting at `pos` ends: the offset of the first blank or `"` from
/// `pos` on, or the length of `bytes`.
///
/// Eight bytes at a time while eight remain (a word is usually 2 to 20 bytes, so one to
/// three steps), then byte by byte.
fn bare_end(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(chunk) = bytes.get(pos..pos + 8) {
        let mut eight = [0; 8];
        eight.copy_from_slice(chunk);
        let word = u64::from_le_bytes(eight);
        let found =
            bytes_equal_to(word, b' ') | bytes_equal_to(word, b'\t') | bytes_equal_to(word, b'"');
        if found != 0 {
            // Little-endian: the lowest flagged byte is the first in the text.
            return pos + (found.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while pos < bytes.len() && !matches!(bytes[pos], b' ' | b'\t' | b'"') {
        pos += 1;
    }
    pos
}

/// The high bit of each byte of `word` that equals `byte`, exact up to the first such byte
/// (the subtraction's borrow can flag a byte after it, never one before), which is all
/// [`bare_end`] reads.
fn bytes_equal_to(word: u64, byte: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_where_equal = word ^ (ONES * u64::from(byte));
    zero_where_equal.wrapping_sub(ONES) & !zero_where_equal & HIGHS
}

/// True for the two bytes that separate words: space and tab.
pub fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `input` without its leading spaces and tabs (a byte scan: this is the hot path).
pub fn skip_blanks(input: &str) -> &str {
    let blanks = input.bytes().take_while(|&b| is_blank(b)).count();
    &input[blanks..]
}

/// Offset of the first space or tab in `text`, or its length: where its first word ends.
/// A plain loop: the words it measures (chain names, policies) are short, where memchr's
/// setup costs more than the scan.
pub fn first_blank(text: &str) -> usize {
    text.bytes().position(is_blank).unwrap_or(text.len())
}

/// The quoted word whose opening `"` is at `open` in `line`: where it ends (one past the
/// closing quote) and its unescaped text, or `Err` if the quote is never closed.
fn quoted_word(line: &str, open: usize) -> Result<(usize, Cow<'_, str>), ()> {
    let body_start = open + 1;
    let body = &line.as_bytes()[body_start..];
    // Fast path: no backslash before the closing quote, so the text can be borrowed.
    let stop = memchr::memchr2(b'"', b'\\', body).ok_or(())?;
    if body[stop] == b'"' {
        let close = body_start + stop;
        return Ok((close + 1, Cow::Borrowed(&line[body_start..close])));
    }
    // Slow path: a backslash takes the next character literally.
    let mut text = String::new();
    let mut chars = line[body_start..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => text.push(escaped),
                None => return Err(()),
            },
            '"' => return Ok((body_start + i + 1, Cow::Owned(text))),
            other => text.push(other),
        }
    }
    Err(())
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
    fn bare_end_finds_the_first_stop_from_every_offset() {
        let texts = [
            "KUBE-SVC-ABCDEFGHIJKLMNOP -j\tX",
            "a b\tc\"d\" 0123456789abcdef\"",
            "12345678 123456789 1234567",
            "nostopsinthislongword",
            "服务 ç\"x",
        ];
        for text in texts {
            let bytes = text.as_bytes();
            for from in 0..=bytes.len() {
                let expected = (from..bytes.len())
                    .find(|&i| matches!(bytes[i], b' ' | b'\t' | b'"'))
                    .unwrap_or(bytes.len());
                assert_eq!(bare_end(bytes, from), expected, "{text:?} from {from}");
            }
        }
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
