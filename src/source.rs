//! The input text: where it came from, byte spans into it, and how it was read from bytes.
//!
//! A dump is read whole into memory once (a large file is mapped rather than copied, see
//! [`Source::from_mapped_file`]); everything else borrows from [`Source::text`]. Input that
//! is valid UTF-8 (nearly every dump) is kept as it is, without a copy. A stray
//! byte that is not UTF-8 (a Latin-1 comment, say) is not fatal: it is carried through as a
//! character from the private-use range `U+10FF80..=U+10FFFF` and printed back as `\xNN` by
//! [`crate::report::sanitize()`], so the user sees exactly which byte it was. Input that is
//! clearly binary (a NUL byte, or mostly non-UTF-8) is refused with one clear error.

use std::fmt;

/// Where a byte of raw input that is not UTF-8 goes: `U+10FF00 + byte`.
const ESCAPED_BYTE_BASE: u32 = 0x10_FF00;

/// The largest input we accept: spans are stored as `u32` byte offsets.
pub const MAX_INPUT_BYTES: usize = u32::MAX as usize;

/// One input: its display name (a path or `<stdin>`) and its text.
#[derive(Debug)]
pub struct Source {
    /// The name used in diagnostics: the path as given, or `<stdin>`.
    pub name: String,
    text: Text,
    /// Lines (1-based) that contained bytes that were not UTF-8.
    lossy_lines: Vec<u32>,
}

/// Where a source's text lives.
#[derive(Debug)]
enum Text {
    /// In memory we own.
    Owned(String),
    /// A file mapped read-only, found to be UTF-8 when it was mapped.
    Mapped(memmap2::Mmap),
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
    /// Larger than the 4 GiB spans can address.
    #[error("{name}: input is {size} bytes; the largest accepted is 4 GiB")]
    TooLarge {
        /// Display name of the input.
        name: String,
        /// Its size in bytes.
        size: usize,
    },
}

impl Source {
    /// Accepts text that is already a string (tests, generated dumps).
    pub fn from_text(name: impl Into<String>, text: impl Into<String>) -> Self {
        Source {
            name: name.into(),
            text: Text::Owned(text.into()),
            lossy_lines: Vec::new(),
        }
    }

    /// Accepts a mapped file, refusing binary input as [`Source::from_bytes`] does. A file
    /// that is UTF-8 is used where it lies, which saves copying (and, for a 100 MB dump,
    /// zeroing) the memory a read would fill: a fifth of `explain`'s time on such a dump.
    /// One with stray non-UTF-8 bytes is copied and escaped like read input.
    ///
    /// The text is checked once, here; if another program rewrote the file while it is
    /// mapped, what the parser sees could change under it. `iptables-save` writes a dump
    /// once and nothing rewrites it in place, so the reader (`cli::input`) maps only
    /// regular files and says so in the README.
    pub fn from_mapped_file(
        name: impl Into<String>,
        map: memmap2::Mmap,
    ) -> Result<Self, SourceError> {
        let name = name.into();
        check_not_binary(&name, &map)?;
        if std::str::from_utf8(&map).is_ok() {
            return Ok(Source {
                name,
                text: Text::Mapped(map),
                lossy_lines: Vec::new(),
            });
        }
        Self::from_mostly_utf8(name, map.to_vec())
    }

    /// Accepts raw bytes read from a file or stdin, refusing binary input.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Result<Self, SourceError> {
        let name = name.into();
        check_not_binary(&name, &bytes)?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Source {
                name,
                text: Text::Owned(text),
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
                    // SAFETY-free: `valid_up_to` guarantees this prefix is UTF-8.
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
        if invalid * 10 > bytes.len() && invalid > 16 {
            return Err(SourceError::NotText {
                name,
                invalid,
                checked: bytes.len(),
            });
        }
        Ok(Source {
            name,
            text: Text::Owned(text),
            lossy_lines,
        })
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        match &self.text {
            Text::Owned(text) => text,
            // SAFETY: `from_mapped_file` stores a map only after `from_utf8` accepted all
            // of it, and the map is read-only (see its caveat on files rewritten in place).
            Text::Mapped(map) => unsafe { std::str::from_utf8_unchecked(map) },
        }
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

/// Refuses input too large for 32-bit spans, or with a NUL byte (binary).
fn check_not_binary(name: &str, bytes: &[u8]) -> Result<(), SourceError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(SourceError::TooLarge {
            name: name.to_string(),
            size: bytes.len(),
        });
    }
    if let Some(offset) = memchr::memchr(0, bytes) {
        let line = memchr::memchr_iter(b'\n', &bytes[..offset]).count() + 1;
        return Err(SourceError::Binary {
            name: name.to_string(),
            line,
            offset,
        });
    }
    Ok(())
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
    fn line_col_counts_characters() {
        let src = Source::from_text("x", "ab\nçd e");
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(3), (2, 1));
        assert_eq!(src.line_col(6), (2, 3));
    }
}
