//! The input text: where it came from, byte spans into it, and how it was made from bytes.
//!
//! A dump is read whole into memory once (see `cli::input`); everything else borrows from
//! [`Source::text`]. Input that is valid UTF-8 (nearly every dump) is kept as it is,
//! without a copy. A stray byte that is not UTF-8 (a Latin-1 comment, say) is not fatal:
//! it is carried through as a character from the private-use range `U+10FF80..=U+10FFFF`
//! and printed back as `\xNN` by [`crate::report::sanitize()`], so the user sees exactly
//! which byte it was. Input that is clearly binary (a NUL byte, or mostly non-UTF-8) is
//! refused with one clear error, and so is input larger than [`MAX_INPUT_BYTES`].

use std::fmt;

/// Where a byte of raw input that is not UTF-8 goes: `U+10FF00 + byte`.
const ESCAPED_BYTE_BASE: u32 = 0x10_FF00;

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
    /// Accepts text that is already a string (tests, generated dumps).
    pub fn from_text(name: impl Into<String>, text: impl Into<String>) -> Self {
        Source {
            name: name.into(),
            text: text.into(),
            lossy_lines: Vec::new(),
        }
    }

    /// Accepts raw bytes read from a file or stdin, refusing binary input and input larger
    /// than [`MAX_INPUT_BYTES`]. Valid UTF-8 is kept without a copy.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Result<Self, SourceError> {
        let name = name.into();
        if bytes.len() > MAX_INPUT_BYTES {
            return Err(SourceError::TooLarge {
                name,
                size: Some(bytes.len() as u64),
            });
        }
        if let Some(offset) = memchr::memchr(0, &bytes) {
            return Err(binary_error(&name, &bytes, offset));
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

    /// The slow path for input with stray non-UTF-8 bytes: escape each such byte.
    fn from_mostly_utf8(name: String, bytes: Vec<u8>) -> Result<Self, SourceError> {
        let mut text = String::with_capacity(bytes.len() + 64);
        let mut lossy_lines = Vec::new();
        let mut invalid = 0usize;
        let mut rest: &[u8] = &bytes;
        let mut line: u32 = 1;
        while !rest.is_empty() {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    text.push_str(valid);
                    break;
                }
                Err(err) => {
                    let (valid, after) = rest.split_at(err.valid_up_to());
                    // `valid_up_to` guarantees this prefix is UTF-8.
                    let valid = std::str::from_utf8(valid).unwrap_or_default();
                    line += memchr::memchr_iter(b'\n', valid.as_bytes()).count() as u32;
                    text.push_str(valid);
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

    /// 1-based line and column (in characters) of a byte offset. Slow (a scan): for errors only.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = self.text();
        let offset = offset.min(text.len());
        let before = &text.as_bytes()[..offset];
        let line = memchr::memchr_iter(b'\n', before).count() + 1;
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        let col = text[line_start..offset].chars().count() + 1;
        (line, col)
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

/// The character that stands for a raw byte that was not UTF-8.
pub fn escaped_byte_char(byte: u8) -> char {
    char::from_u32(ESCAPED_BYTE_BASE + u32::from(byte)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The raw byte a character stands for, if it is one of [`escaped_byte_char`]'s.
pub fn escaped_byte(c: char) -> Option<u8> {
    let code = u32::from(c);
    code.checked_sub(ESCAPED_BYTE_BASE)
        .and_then(|b| u8::try_from(b).ok())
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

    #[test]
    fn line_col_counts_characters() {
        let src = Source::from_text("x", "ab\nçd e");
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(3), (2, 1));
        assert_eq!(src.line_col(6), (2, 3));
    }
}
