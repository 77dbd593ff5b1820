//! Splitting a rule's arguments into words, with iptables' quoting rules.
//!
//! `iptables-save` prints a string bare if it only has letters, digits, `_` and `-`;
//! otherwise it wraps it in double quotes and puts a backslash before `"`, `\` and `'`.
//! `iptables-restore` reads words split on spaces and tabs; a `"` opens a quoted part in
//! which a backslash takes the next character literally, and the closing `"` ends the word.
//! Outside quotes a backslash is an ordinary character. We accept exactly that, with one
//! addition: a carriage return outside quotes also separates words. CRLF line ends are
//! read as line ends, so a word ending in `\r` could never be printed back as itself (the
//! fuzzer found `-A X\r -6`: the ignored `-6` dropped, the chain's `\r` became a line end).

use std::borrow::Cow;

use wide::u8x16;

use crate::model::word::{Form, Word};

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
/// Every delimiter (space, tab, CR, `"`, `\\`) is ASCII, so the scan works on bytes: a
/// UTF-8 continuation byte never equals one of them, and every offset at or right after
/// a delimiter is a char boundary.
///
/// Rather than scanning from every word, it finds, for a block of up to 64 bytes at a
/// time, where runs of non-blank bytes start and end (`Words::refill`), and pairs them
/// off with `trailing_zeros`: each step clears one bit of each mask, with no chain of
/// dependent scans from one word to the next. A run with a `"` in it, or too long for a
/// block, is read by the byte scans (`Words::slow_word`), and the masks are recomputed
/// after it.
#[derive(Debug, Clone)]
pub struct Words<'a> {
    line: &'a str,
    base: usize,
    /// Offset in `line` of the block the masks describe (bit `i` is byte `block + i`).
    block: usize,
    /// Bits of the words' first bytes not read yet: non-blank bytes after a blank, or at
    /// the start of the block.
    starts: u64,
    /// Bits of the blanks that end the words not read yet (bytes past the end of the line
    /// count as blanks).
    ends: u64,
    /// Bits of the `"` in the block.
    quotes: u64,
    /// True if the block reaches past the end of the line: then it is the last, and each
    /// of its starts has an end.
    last: bool,
}

impl<'a> Words<'a> {
    /// The words of `line`, which starts at byte `base` of the source.
    pub fn new(line: &'a str, base: usize) -> Self {
        let mut words = Words {
            line,
            base,
            block: 0,
            starts: 0,
            ends: 0,
            quotes: 0,
            last: false,
        };
        words.refill(0);
        words
    }

    /// Computes the masks for the 64 bytes from `block` on, where a word may start.
    ///
    /// Sixteen bytes at a time, read straight from the line: when fewer than 64 remain,
    /// the last chunks overlap the ones before (giving the same bits for the same bytes)
    /// rather than being copied into a padded buffer, whose piecewise stores a 16-byte
    /// load cannot be forwarded from (a stall on every short line).
    #[inline(always)]
    fn refill(&mut self, block: usize) {
        let rest = &self.line.as_bytes()[block..];
        let len = rest.len().min(64);
        let (mut blanks, mut quotes) = (0, 0);
        if let Some(last) = len.checked_sub(16) {
            for chunk in 0..4 {
                let at = (16 * chunk).min(last);
                let (blank, quote) = chunk_masks(rest[at..at + 16].try_into().unwrap());
                blanks |= u64::from(blank) << at;
                quotes |= u64::from(quote) << at;
            }
        } else {
            // Fewer than 16 bytes: pad them with spaces.
            let mut chunk = [b' '; 16];
            chunk[..len].copy_from_slice(rest);
            let (blank, quote) = chunk_masks(&chunk);
            (blanks, quotes) = (u64::from(blank), u64::from(quote));
        }
        self.last = rest.len() < 64;
        if self.last {
            blanks |= u64::MAX << len;
        }
        // Byte `i` is after a blank (or the block's start, which is never inside a word).
        let after_blank = blanks << 1 | 1;
        self.block = block;
        self.starts = !blanks & after_blank;
        self.ends = blanks & !after_blank;
        self.quotes = quotes;
    }

    /// Reads the word at `start` with [`slow_word`], then recomputes the masks from its
    /// end (or, after an error, ends the iteration: the error is the last item).
    #[inline(always)]
    fn slow_word(&mut self, start: usize) -> Result<Word<'a>, UnterminatedQuote> {
        let (word, end) = slow_word(self.line, self.base, start);
        match end {
            Some(end) => self.refill(end),
            None => {
                self.starts = 0;
                self.last = true;
            }
        }
        word
    }

    /// The word written from `start` to `end`.
    #[inline(always)]
    fn word(&self, start: usize, end: usize, form: Form) -> Word<'a> {
        Word::new(&self.line[start..end], (self.base + start) as u32, form)
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = Result<Word<'a>, UnterminatedQuote>;

    // Inlined so that `split_words` builds each word in place in its vector: returned
    // through memory, a `Word` is copied and read back at once, stalling the copy.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.starts == 0 {
                if self.last {
                    return None;
                }
                // Every word of the block ended in it: the next block starts after a blank.
                self.refill(self.block + 64);
                continue;
            }
            let start = self.starts.trailing_zeros();
            if self.ends == 0 {
                // The word runs past the block: look again from its start, or if it
                // already starts the block, scan it.
                if start == 0 {
                    return Some(self.slow_word(self.block));
                }
                self.refill(self.block + start as usize);
                continue;
            }
            let end = self.ends.trailing_zeros();
            if self.quotes & ((1 << end) - 1) != 0 {
                // A quote in the word (every quote before it was read with its word).
                return Some(self.slow_word(self.block + start as usize));
            }
            self.starts &= self.starts - 1;
            self.ends &= self.ends - 1;
            let (start, end) = (self.block + start as usize, self.block + end as usize);
            return Some(Ok(self.word(start, end, Form::Bare)));
        }
    }
}

/// The word of `line` at `start` (a non-blank byte), read with the byte scans: a quoted
/// word, a bare part joined to a quoted one, or a word longer than a block. Also returns
/// where it ends (`None` after an error, which ends the line).
///
/// A free function, not a method, so that the iterator's state can stay in registers.
#[cold]
#[inline(never)]
fn slow_word(
    line: &str,
    base: usize,
    start: usize,
) -> (Result<Word<'_>, UnterminatedQuote>, Option<usize>) {
    let bytes = line.as_bytes();
    let (end, form) = if bytes[start] == b'"' {
        match quoted_end(bytes, start) {
            Some((end, escapes)) => (end, if escapes { Form::Escaped } else { Form::Quoted }),
            None => return (Err(UnterminatedQuote { at: base + start }), None),
        }
    } else {
        let end = bare_end(bytes, start);
        // `abc"d e"`: iptables-restore joins the bare and the quoted part. An
        // unterminated quote is left for the next word, which reports it.
        match bytes.get(end) {
            Some(b'"') => match quoted_end(bytes, end) {
                Some((end, _)) => (end, Form::Escaped),
                None => (end, Form::Bare),
            },
            _ => (end, Form::Bare),
        }
    };
    let word = Word::new(&line[start..end], (base + start) as u32, form);
    (Ok(word), Some(end))
}

/// Masks of the blanks (space, tab, CR) and of the quotes in `chunk`: bit `i` for byte `i`.
///
/// With `wide`'s safe SIMD: SSE2 compares and a move mask on x86-64, plain loops where
/// there is no SIMD.
#[inline(always)]
fn chunk_masks(chunk: &[u8; 16]) -> (u16, u16) {
    let bytes = u8x16::new(*chunk);
    let blank = bytes.simd_eq(u8x16::splat(b' '))
        | bytes.simd_eq(u8x16::splat(b'\t'))
        | bytes.simd_eq(u8x16::splat(b'\r'));
    let quote = bytes.simd_eq(u8x16::splat(b'"'));
    // One bit per byte: the high bits of the 0xff / 0x00 lanes.
    (blank.to_bitmask() as u16, quote.to_bitmask() as u16)
}

/// The quoted part whose opening `"` is at `open`: where it ends (one past the closing
/// quote) and whether it has backslash escapes, or `None` if the quote is never closed.
fn quoted_end(bytes: &[u8], open: usize) -> Option<(usize, bool)> {
    let mut at = open + 1;
    let mut escapes = false;
    loop {
        let stop = at + memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
        if bytes[stop] == b'"' {
            return Some((stop + 1, escapes));
        }
        // A backslash takes the next character literally. Skipping one byte of it is
        // enough: the rest of a multi-byte character is never `"` or `\\`.
        escapes = true;
        at = stop + 2;
    }
}

/// Where the bare word starting at `pos` ends: the offset of the first blank or `"` from
/// `pos` on, or the length of `bytes`.
fn bare_end(bytes: &[u8], pos: usize) -> usize {
    stop_at(bytes, pos, true)
}

/// The offset of the first blank (or, if `quotes`, `"`) from `pos` on, or the length of
/// `bytes`.
///
/// Eight bytes at a time while eight remain (a word is usually 2 to 20 bytes, so one to
/// three steps), then byte by byte. Every stop byte is below `#` (tab, CR, space, `"`),
/// so one test finds the bytes that may be stops; the first is then checked exactly (a
/// `!` or a control character is not a stop, and the scan goes on after it).
#[inline]
fn stop_at(bytes: &[u8], mut pos: usize, quotes: bool) -> usize {
    let limit = if quotes { b'"' + 1 } else { b' ' + 1 };
    while let Some(chunk) = bytes.get(pos..pos + 8) {
        let mut eight = [0; 8];
        eight.copy_from_slice(chunk);
        let below = bytes_below(u64::from_le_bytes(eight), limit);
        if below != 0 {
            // Little-endian: the lowest flagged byte is the first in the text.
            let at = pos + (below.trailing_zeros() / 8) as usize;
            if is_stop(bytes[at], quotes) {
                return at;
            }
            pos = at + 1;
        } else {
            pos += 8;
        }
    }
    while pos < bytes.len() && !is_stop(bytes[pos], quotes) {
        pos += 1;
    }
    pos
}

/// True for a blank, or with `quotes` for `"` too.
fn is_stop(byte: u8, quotes: bool) -> bool {
    is_blank(byte) || (quotes && byte == b'"')
}

/// The high bit of each byte of `word` that is below `limit` (at most 128), exact up to
/// the first such byte (the subtraction's borrow can flag a byte after it, never one
/// before), which is all [`stop_at`] reads.
fn bytes_below(word: u64, limit: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS
}

/// True for the bytes that separate words: space, tab and carriage return.
pub fn is_blank(b: u8) -> bool {
    // One shift and mask rather than three comparisons, which compile to a jump table.
    const BLANK_BITS: u64 = 1 << b' ' | 1 << b'\t' | 1 << b'\r';
    b <= b' ' && (BLANK_BITS >> b) & 1 != 0
}

/// [`is_blank`]'s bytes, as a pattern for `str` methods.
pub const BLANKS: [char; 3] = [' ', '\t', '\r'];

/// `input` without its leading spaces and tabs (a byte scan: this is the hot path).
pub fn skip_blanks(input: &str) -> &str {
    let blanks = input.bytes().take_while(|&b| is_blank(b)).count();
    &input[blanks..]
}

/// `input` without its trailing spaces and tabs.
pub fn trim_end_blanks(input: &str) -> &str {
    let end = input
        .bytes()
        .rposition(|b| !is_blank(b))
        .map_or(0, |i| i + 1);
    &input[..end]
}

/// Offset of the first space or tab in `text`, or its length: where its first word ends.
/// Eight bytes at a time, not memchr: the words it measures (chain names, policies) are
/// short, and memchr's setup costs more than the scan.
pub fn first_blank(text: &str) -> usize {
    stop_at(text.as_bytes(), 0, false)
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
        let texts: Vec<String> = words.iter().map(|w| w.text().into_owned()).collect();
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
        assert_eq!((words[2].start(), words[2].end()), (105, 110));
        assert!(words[2].quoted());
    }

    #[test]
    fn word_ends_are_the_first_stop_from_every_offset() {
        let texts = [
            "KUBE-SVC-ABCDEFGHIJKLMNOP -j\tX",
            "a b\tc\"d\" 0123456789abcdef\"",
            "12345678 123456789 1234567",
            "nostopsinthislongword",
            "服务 ç\"x",
            "a!b\u{1}c!!!!!!!!!!d e\u{7f}f\rg!\"h",
            "!!!!!!!!!!!!!!!!\u{1f}\u{1f}\u{1f}\u{1f}\u{1f}\u{1f}\u{1f}\u{1f}\u{1f} x",
        ];
        for text in texts {
            let bytes = text.as_bytes();
            for from in 0..=bytes.len() {
                let expected = (from..bytes.len())
                    .find(|&i| is_blank(bytes[i]) || bytes[i] == b'"')
                    .unwrap_or(bytes.len());
                assert_eq!(bare_end(bytes, from), expected, "{text:?} from {from}");
                let blank = (from..bytes.len())
                    .find(|&i| is_blank(bytes[i]))
                    .unwrap_or(bytes.len());
                assert_eq!(stop_at(bytes, from, false), blank, "{text:?} from {from}");
            }
            let first = text.find(BLANKS).unwrap_or(text.len());
            assert_eq!(first_blank(text), first, "{text:?}");
        }
    }

    /// The splitter as it was before the block masks (one scan per word): the reference
    /// the fast one must match exactly.
    struct ReferenceWords<'a> {
        line: &'a str,
        base: usize,
        pos: usize,
    }

    impl<'a> Iterator for ReferenceWords<'a> {
        type Item = Result<Word<'a>, UnterminatedQuote>;

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
            let form = if bytes[pos] == b'"' {
                match quoted_end(bytes, pos) {
                    Some((end, escapes)) => {
                        pos = end;
                        if escapes { Form::Escaped } else { Form::Quoted }
                    }
                    None => {
                        self.pos = bytes.len();
                        return Some(Err(UnterminatedQuote {
                            at: self.base + start,
                        }));
                    }
                }
            } else {
                pos = bare_end(bytes, pos);
                match bytes.get(pos) {
                    Some(b'"') => match quoted_end(bytes, pos) {
                        Some((end, _)) => {
                            pos = end;
                            Form::Escaped
                        }
                        None => Form::Bare,
                    },
                    _ => Form::Bare,
                }
            };
            self.pos = pos;
            Some(Ok(Word::new(
                &self.line[start..pos],
                (self.base + start) as u32,
                form,
            )))
        }
    }

    /// Asserts that the fast splitter gives exactly the reference's words and error, both
    /// through [`split_words`] and through [`Words`].
    fn assert_same_as_reference(line: &str, base: usize) {
        let reference: Vec<_> = ReferenceWords { line, base, pos: 0 }.collect();
        let fast: Vec<_> = Words::new(line, base).collect();
        assert_eq!(fast, reference, "{line:?}");
        let mut words = Vec::new();
        let result = split_words(line, base, &mut words);
        let expected_words: Vec<_> = reference.iter().map_while(|w| w.ok()).collect();
        assert_eq!(words, expected_words, "{line:?}");
        let expected_result = match reference.last() {
            Some(Err(e)) => Err(*e),
            _ => Ok(()),
        };
        assert_eq!(result, expected_result, "{line:?}");
    }

    #[test]
    fn fast_split_matches_the_reference_on_chunk_edges() {
        // Words and quotes on every side of the 16- and 64-byte edges, lines shorter
        // than a chunk, and a word longer than a block.
        for length in [0, 1, 15, 16, 17, 62, 63, 64, 65, 66, 127, 128, 129, 200] {
            for tail in ["", " x", "\"a b\" y", "a\"b c\"d", " \"open", "\t\r!"] {
                let long = "k".repeat(length);
                assert_same_as_reference(&format!("{long}{tail}"), 7);
                assert_same_as_reference(&format!("-j {long} {tail} {long}"), 0);
                assert_same_as_reference(&format!("\"{long}\"{tail}"), 0);
            }
        }
    }

    /// Characters that matter to the splitter, and some that must not.
    const SPLIT_CHARS: &[char] = &[
        ' ',
        ' ',
        '\t',
        '\r',
        '"',
        '"',
        '\\',
        '!',
        '\u{1}',
        '\u{1f}',
        '\u{7f}',
        'a',
        'b',
        '-',
        '#',
        'é',
        '服',
        '\u{1f600}',
    ];

    proptest::proptest! {
        // Arbitrary text of the splitter's interesting characters.
        #[test]
        fn fast_split_matches_the_reference(
            chars in proptest::collection::vec(proptest::sample::select(SPLIT_CHARS), 0..300),
            base in 0usize..1000,
        ) {
            let line: String = chars.into_iter().collect();
            assert_same_as_reference(&line, base);
        }

        // Words of lengths near the chunk and block sizes, with varied separators.
        #[test]
        fn fast_split_matches_the_reference_on_long_words(
            parts in proptest::collection::vec(
                (
                    proptest::sample::select(vec![0usize, 1, 2, 7, 8, 14, 15, 16, 17, 31, 47, 62, 63, 64, 65, 70, 130]),
                    proptest::sample::select(vec!["x", "é", "\"", "\\", "!"]),
                    proptest::sample::select(vec![" ", "  ", "\t", "\r", "\"", "\" ", " \"", ""]),
                ),
                0..8,
            ),
        ) {
            let mut line = String::new();
            for (length, filler, separator) in parts {
                line.push_str(&filler.repeat(length));
                line.push_str(separator);
            }
            assert_same_as_reference(&line, 0);
        }
    }

    #[test]
    fn quote_round_trips() {
        for text in ["plain-word_1", "ns/svc:p80", "a \"b\" \\ 'c'", "", "服务"] {
            let quoted = quote(text);
            let mut words = Vec::new();
            split_words(&quoted, 0, &mut words).unwrap();
            assert_eq!(words.len(), 1, "{quoted}");
            assert_eq!(words[0].text(), text);
        }
    }
}
