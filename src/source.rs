//! The input text: where it came from, byte spans into it, and how it was made from bytes.
//!
//! A dump is read whole into memory once (see `cli::input`); everything else borrows from
//! [`Source::text`]. Input that is valid UTF-8 (nearly every dump) is kept as it is,
//! without a copy. A stray byte that is not UTF-8 (a Latin-1 comment, say) is not fatal:
//! it is carried through in the text as one character of a reserved block and printed back
//! as `\xNN` by [`crate::report::sanitize()`], so the user sees exactly which byte it was.
//! Input that is clearly binary (a NUL byte, or mostly non-UTF-8) is refused with one
//! clear error, and so is input larger than [`MAX_INPUT_BYTES`].
//!
//! # The reserved block
//!
//! The text must be a `str`, so a raw byte has to become some character, and every
//! character can also occur genuinely in valid UTF-8. The last 256 code points,
//! `U+10FF00..=U+10FFFF` (private use, never seen in a real dump), are reserved for this,
//! and the two kinds are kept apart by construction:
//!
//! - a raw byte `0xNN` (always `0x80..=0xFF`: ASCII bytes are valid UTF-8) becomes the one
//!   character `U+10FFNN`, in `U+10FF80..=U+10FFFF` ([`escaped_byte_char`]);
//! - a genuine code point `U+10FFNN` in the input becomes two characters from the lower
//!   half, `U+10FF00 + (NN >> 4)` then `U+10FF10 + (NN & 0xF)`
//!   ([`genuine_reserved_pair`]); the range `U+10FF20..=U+10FF7F` is never produced.
//!
//! So a character in the upper half is always a raw byte, whatever slice of the text a
//! printer is given; a genuine code point is never shown as a byte. Valid UTF-8 without
//! any code point of the block (the check is one `memchr2` pass, shared with the NUL
//! check) stays on the zero-copy path; anything else is copied once, escaping as above.
//! [`Source::from_text`] takes text already in this form (tests, generated dumps, a dump
//! printed back from a model) and changes nothing.

use std::fmt;

/// The first code point of the reserved block (see the module doc).
const RESERVED_BASE: u32 = 0x10_FF00;

/// The first byte of every code point in the reserved block's UTF-8 encoding
/// (`F4 8F BC..=BF 80..=BF`).
const RESERVED_LEAD: u8 = 0xF4;

/// The largest input accepted, in bytes: 1 GiB.
///
/// The model's spans are `u32` byte offsets, so 4 GiB is the hard ceiling. The largest
/// real dumps are about a million lines, 100–200 MB (kube-proxy on clusters with tens of
/// thousands of services); 1 GiB leaves five times that, and bounds what a reader holds
/// for endless input (`yes | srcip-rules inspect`) or a gzip bomb at about 1 GiB, with
/// about 1.7 GiB of peak memory for a dump of exactly that size.
pub const MAX_INPUT_BYTES: usize = 1 << 30;

const _: () = assert!(MAX_INPUT_BYTES < u32::MAX as usize, "spans are u32 offsets");

/// One input: its display name (a path or `<stdin>`) and its text.
#[derive(Debug)]
pub struct Source {
    /// The name used in diagnostics: the path as given, or `<stdin>`.
    pub name: String,
    text: String,
    /// Lines (1-based) that contained bytes that were not UTF-8.
    lossy_lines: Vec<u32>,
}

/// Why raw bytes could not be accepted as a dump at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// A NUL byte: iptables-save never writes one, so this is a binary file.
    #[error(
        "{name}: this looks like a binary file, not iptables-save output (NUL byte at line {line}, byte offset {offset})"
    )]
    Binary {
        /// Display name of the input.
        name: String,
        /// 1-based line of the first NUL byte.
        line: usize,
        /// Byte offset of the first NUL byte.
        offset: usize,
    },
    /// Mostly bytes that are not UTF-8: not text.
    #[error(
        "{name}: this is not text: {invalid} of the first {checked} bytes are not UTF-8 (iptables-save writes text)"
    )]
    NotText {
        /// Display name of the input.
        name: String,
        /// How many bytes were invalid.
        invalid: usize,
        /// How many bytes were looked at.
        checked: usize,
    },
    /// Larger than [`MAX_INPUT_BYTES`].
    #[error("{name}: {}", too_large_message(*.size))]
    TooLarge {
        /// Display name of the input.
        name: String,
        /// Its size in bytes, when known (a regular file); `None` when reading stopped at
        /// the limit (a pipe, endless input, decompressed data).
        size: Option<u64>,
    },
}

fn too_large_message(size: Option<u64>) -> String {
    let limit = MAX_INPUT_BYTES;
    let what = match size {
        Some(size) => format!("the input is {size} bytes, more than"),
        None => "the input goes on past".to_string(),
    };
    format!(
        "{what} the {} GiB ({limit} bytes) srcip-rules reads from one dump (the largest real dumps are a few hundred MB); refusing it",
        limit >> 30
    )
}

impl Source {
    /// Accepts text that is already a string (tests, generated dumps, a dump printed back
    /// from a model), as it is: reserved-block characters in it are taken to be in this
    /// module's form already (see the module doc).
    pub fn from_text(name: impl Into<String>, text: impl Into<String>) -> Self {
        Source {
            name: name.into(),
            text: text.into(),
            lossy_lines: Vec::new(),
        }
    }

    /// Accepts raw bytes read from a file or stdin, refusing binary input and input larger
    /// than [`MAX_INPUT_BYTES`]. Valid UTF-8 with no code point of the reserved block is
    /// kept without a copy.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Result<Self, SourceError> {
        let name = name.into();
        if bytes.len() > MAX_INPUT_BYTES {
            return Err(SourceError::TooLarge {
                name,
                size: Some(bytes.len() as u64),
            });
        }
        if scan_for_nul_and_reserved(&name, &bytes)? {
            return Self::from_mostly_utf8(name, bytes);
        }
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Source {
                name,
                text,
                lossy_lines: Vec::new(),
            }),
            Err(err) => Self::from_mostly_utf8(name, err.into_bytes()),
        }
    }

    /// The copying path, for input with stray non-UTF-8 bytes or reserved-block code
    /// points: each is escaped as the module doc says.
    fn from_mostly_utf8(name: String, bytes: Vec<u8>) -> Result<Self, SourceError> {
        let mut text = String::with_capacity(bytes.len() + 64);
        let mut lossy_lines = Vec::new();
        let mut invalid = 0usize;
        let mut rest: &[u8] = &bytes;
        let mut line: u32 = 1;
        while !rest.is_empty() {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    push_escaping_reserved(&mut text, valid);
                    break;
                }
                Err(err) => {
                    let (valid, after) = rest.split_at(err.valid_up_to());
                    // `valid_up_to` guarantees this prefix is UTF-8.
                    let valid = std::str::from_utf8(valid).unwrap_or_default();
                    line += memchr::memchr_iter(b'\n', valid.as_bytes()).count() as u32;
                    push_escaping_reserved(&mut text, valid);
                    let bad = err.error_len().unwrap_or(after.len()).max(1);
                    for &byte in &after[..bad] {
                        text.push(escaped_byte_char(byte));
                    }
                    invalid += bad;
                    if lossy_lines.last() != Some(&line) {
                        lossy_lines.push(line);
                    }
                    rest = &after[bad..];
                }
            }
        }
        // Real dumps have at most a few odd bytes in comments; a file that is mostly
        // invalid is not a dump, and parsing it would only produce noise.
        if is_mostly_invalid(invalid, bytes.len()) {
            return Err(SourceError::NotText {
                name,
                invalid,
                checked: bytes.len(),
            });
        }
        Ok(Source {
            name,
            text,
            lossy_lines,
        })
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Lines (1-based) where bytes that were not UTF-8 were escaped.
    pub fn lossy_lines(&self) -> &[u32] {
        &self.lossy_lines
    }

    /// The same input with its text replaced by `text`, which must keep every line where
    /// it was (a redacted copy: `--redact`), so the lines with escaped bytes stay right.
    pub fn with_text(self, text: String) -> Self {
        Source { text, ..self }
    }
}

/// Refuses the first block of an input (say its first 64 KiB) when it is plainly not a
/// dump: a NUL byte, or mostly bytes that are not UTF-8. A reader calls it before reading
/// on, so binary or endless input (`/dev/zero`) is refused after one block, in bounded
/// memory. A character cut at the end of the block is not counted as invalid.
pub fn check_first_block(name: &str, block: &[u8]) -> Result<(), SourceError> {
    if let Some(offset) = memchr::memchr(0, block) {
        return Err(binary_error(name, block, offset));
    }
    let invalid = count_invalid_utf8(block);
    if is_mostly_invalid(invalid, block.len()) {
        return Err(SourceError::NotText {
            name: name.to_string(),
            invalid,
            checked: block.len(),
        });
    }
    Ok(())
}

/// One pass over raw input: refuses a NUL byte (binary), and says whether a code point of
/// the reserved block may be present (then the input takes the escaping path).
fn scan_for_nul_and_reserved(name: &str, bytes: &[u8]) -> Result<bool, SourceError> {
    let mut reserved = false;
    for at in memchr::memchr2_iter(0, RESERVED_LEAD, bytes) {
        if bytes[at] == 0 {
            return Err(binary_error(name, bytes, at));
        }
        reserved |= matches!(bytes[at..], [RESERVED_LEAD, 0x8F, 0xBC..=0xBF, ..]);
    }
    Ok(reserved)
}

fn binary_error(name: &str, bytes: &[u8], offset: usize) -> SourceError {
    SourceError::Binary {
        name: name.to_string(),
        line: memchr::memchr_iter(b'\n', &bytes[..offset]).count() + 1,
        offset,
    }
}

/// How many bytes of `bytes` are not UTF-8, not counting a character cut at the end.
fn count_invalid_utf8(mut bytes: &[u8]) -> usize {
    let mut invalid = 0;
    while let Err(err) = std::str::from_utf8(bytes) {
        let Some(bad) = err.error_len() else {
            break;
        };
        invalid += bad;
        bytes = &bytes[err.valid_up_to() + bad..];
    }
    invalid
}

/// More than a tenth of the bytes (and more than a few) are not UTF-8: not a dump.
fn is_mostly_invalid(invalid: usize, len: usize) -> bool {
    invalid * 10 > len && invalid > 16
}

/// Appends `valid`, replacing each genuine code point of the reserved block by its pair.
fn push_escaping_reserved(out: &mut String, valid: &str) {
    let mut rest = valid;
    // In valid UTF-8, 0xF4 only ever starts a character, so `at` is a char boundary.
    while let Some(at) = memchr::memchr(RESERVED_LEAD, rest.as_bytes()) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let Some(c) = from.chars().next() else {
            break;
        };
        match genuine_reserved_pair(c) {
            Some(pair) => out.extend(pair),
            None => out.push(c),
        }
        rest = &from[c.len_utf8()..];
    }
    out.push_str(rest);
}

/// The character that stands for a raw byte that was not UTF-8 (`0x80..=0xFF`; a byte
/// below `0x80` is always valid UTF-8 and never escaped, and gives `U+FFFD`).
pub fn escaped_byte_char(byte: u8) -> char {
    if byte < 0x80 {
        return char::REPLACEMENT_CHARACTER;
    }
    char::from_u32(RESERVED_BASE + u32::from(byte)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The raw byte a character stands for, if it is one of [`escaped_byte_char`]'s.
pub fn escaped_byte(c: char) -> Option<u8> {
    u32::from(c)
        .checked_sub(RESERVED_BASE)
        .and_then(|b| u8::try_from(b).ok())
        .filter(|&b| b >= 0x80)
}

/// The two characters that stand for a genuine code point of the reserved block
/// (`U+10FF00..=U+10FFFF`), or `None` for any other character.
pub fn genuine_reserved_pair(c: char) -> Option<[char; 2]> {
    let low_byte = u32::from(c).checked_sub(RESERVED_BASE)?;
    let high = char::from_u32(RESERVED_BASE + (low_byte >> 4))?;
    let low = char::from_u32(RESERVED_BASE + 0x10 + (low_byte & 0xF))?;
    Some([high, low])
}

/// The genuine code point a pair from [`genuine_reserved_pair`] stands for; `None` when
/// `high`, `low` are not such a pair.
pub fn genuine_reserved_char(high: char, low: char) -> Option<char> {
    let high = u32::from(high).checked_sub(RESERVED_BASE)?;
    let low = u32::from(low).checked_sub(RESERVED_BASE + 0x10)?;
    if high > 0xF || low > 0xF {
        return None;
    }
    char::from_u32(RESERVED_BASE + (high << 4) + low)
}

/// True for a character of the reserved block (a raw byte, half of a genuine code point's
/// pair, or an unescaped code point in text that did not come from [`Source::from_bytes`]).
pub fn is_reserved(c: char) -> bool {
    u32::from(c) >= RESERVED_BASE
}

/// A half-open byte range `start..end` into a [`Source`]'s text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `usize` offsets (inputs are at most 4 GiB, checked on reading).
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The span as a `Range` for slicing.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// True for an empty span.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn utf8_input_is_kept_as_is() {
        let src = Source::from_bytes("x", b"*nat\n".to_vec()).unwrap();
        assert_eq!(src.text(), "*nat\n");
        assert!(src.lossy_lines().is_empty());
    }

    #[test]
    fn latin1_byte_is_escaped_and_its_line_recorded() {
        let src = Source::from_bytes("x", b"# ok\n# caf\xe9\n".to_vec()).unwrap();
        assert_eq!(src.lossy_lines(), &[2]);
        let c = src.text().chars().nth(10).unwrap();
        assert_eq!(escaped_byte(c), Some(0xe9));
    }

    #[test]
    fn nul_byte_is_binary() {
        let err = Source::from_bytes("f", b"*nat\n\x00\x01".to_vec()).unwrap_err();
        assert_eq!(
            err,
            SourceError::Binary {
                name: "f".into(),
                line: 2,
                offset: 5
            }
        );
    }

    #[test]
    fn mostly_invalid_bytes_are_not_text() {
        let bytes: Vec<u8> = (0..200).map(|i| 0x80 + (i % 0x40) as u8).collect();
        assert!(matches!(
            Source::from_bytes("f", bytes),
            Err(SourceError::NotText { .. })
        ));
    }

    #[test]
    fn a_genuine_reserved_code_point_stays_distinct_from_the_raw_byte_with_its_number() {
        // Issue 14: U+10FFC1 in valid UTF-8 used to come out as `\xc1`, like the raw byte.
        let mut bytes = "# \u{10ffc1} ".as_bytes().to_vec();
        bytes.extend_from_slice(b"\xc1\n");
        let src = Source::from_bytes("x", bytes).unwrap();
        let chars: Vec<char> = src.text().chars().skip(2).collect();
        assert_eq!(
            genuine_reserved_char(chars[0], chars[1]),
            Some('\u{10ffc1}')
        );
        assert_eq!(escaped_byte(chars[0]), None);
        assert_eq!(escaped_byte(chars[1]), None);
        assert_eq!(escaped_byte(chars[3]), Some(0xc1));
        // Only the raw byte makes the line lossy.
        assert_eq!(src.lossy_lines(), &[1]);
    }

    #[test]
    fn valid_utf8_with_a_reserved_code_point_takes_the_escaping_path() {
        let src = Source::from_bytes("x", "a\u{10ff00}b\u{10ffff}".as_bytes().to_vec()).unwrap();
        let chars: Vec<char> = src.text().chars().collect();
        assert_eq!(chars.len(), 6);
        assert_eq!(
            genuine_reserved_char(chars[1], chars[2]),
            Some('\u{10ff00}')
        );
        assert_eq!(
            genuine_reserved_char(chars[4], chars[5]),
            Some('\u{10ffff}')
        );
        assert!(src.lossy_lines().is_empty());
        // Other plane-16 characters (lead byte 0xF4 too) are kept as they are.
        let src = Source::from_bytes("x", "\u{10fe00}\u{100000}".as_bytes().to_vec()).unwrap();
        assert_eq!(src.text(), "\u{10fe00}\u{100000}");
    }

    /// Undoes the module's escaping: raw bytes back to bytes, pairs back to code points.
    fn original_bytes(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if let Some(byte) = escaped_byte(c) {
                out.push(byte);
                continue;
            }
            let genuine = chars.peek().and_then(|&low| genuine_reserved_char(c, low));
            let c = match genuine {
                Some(genuine) => {
                    chars.next();
                    genuine
                }
                None => c,
            };
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
        out
    }

    proptest! {
        /// The escaping is reversible: every input that is accepted can be told back byte
        /// for byte from its text, so no raw byte and no genuine character are confused.
        #[test]
        fn escaping_keeps_raw_bytes_and_reserved_code_points_apart(
            pieces in proptest::collection::vec(
                prop_oneof![
                    proptest::string::string_regex("[a-z \n]{0,8}").unwrap().prop_map(String::into_bytes),
                    (0x80u8..=0xff).prop_map(|b| vec![b]),
                    (0x10ff00u32..=0x10ffff).prop_map(|c| char::from_u32(c).unwrap().to_string().into_bytes()),
                    proptest::collection::vec(proptest::num::u8::ANY, 0..4),
                ],
                0..24,
            )
        ) {
            let bytes: Vec<u8> = pieces.concat();
            if let Ok(src) = Source::from_bytes("p", bytes.clone()) {
                prop_assert_eq!(original_bytes(src.text()), bytes);
            }
        }
    }

    #[test]
    fn first_block_of_zeros_is_binary() {
        let err = check_first_block("z", &[0; 65536]).unwrap_err();
        assert!(
            matches!(
                err,
                SourceError::Binary {
                    line: 1,
                    offset: 0,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn first_block_of_noise_is_not_text_but_a_cut_character_is_fine() {
        let noise: Vec<u8> = (0..4096).map(|i| 0x80 + (i % 0x40) as u8).collect();
        assert!(matches!(
            check_first_block("n", &noise),
            Err(SourceError::NotText { checked: 4096, .. })
        ));
        // A block that ends inside a character (the reader cut it there) is still text.
        let mut block = "# é ".repeat(1000).into_bytes();
        block.push(0xc3);
        assert_eq!(check_first_block("t", &block), Ok(()));
    }

    #[test]
    fn too_large_message_names_the_limit() {
        let err = SourceError::TooLarge {
            name: "big".into(),
            size: Some(5 << 30),
        };
        assert_eq!(
            err.to_string(),
            "big: the input is 5368709120 bytes, more than the 1 GiB (1073741824 bytes) srcip-rules reads from one dump (the largest real dumps are a few hundred MB); refusing it"
        );
    }
}
