//! One word of a rule's arguments as written, and its text: the data the parser's word
//! splitter ([`crate::parse::scan::words`]) produces and typed options point into.

use std::borrow::Cow;

/// One word of a rule, as written, with where it was. Its text (quotes and escapes
/// removed) is [`Word::text`]: nearly always a slice of the source; only a word with
/// backslash escapes, or a bare part joined to a quoted one, builds a string for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    /// The word as written, quotes and escapes included.
    written: &'a str,
    /// Byte offset of `written` in the source (inputs are at most 4 GiB: 24-byte words).
    start: u32,
    /// How it was written.
    form: Form,
}

/// How a word was written, which says how to read its text from its written form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// No quotes: the text is the written form.
    Bare,
    /// `"..."` without backslashes: the text is between the quotes.
    Quoted,
    /// Quoted with backslash escapes, or a bare part joined to a quoted one (`ab"c d"`).
    Escaped,
}

impl<'a> Word<'a> {
    /// The word written as `written`, starting at byte `start` of the source.
    #[inline(always)]
    pub fn new(written: &'a str, start: u32, form: Form) -> Self {
        Word {
            written,
            start,
            form,
        }
    }

    /// The word's text with quotes and escapes removed.
    pub fn text(&self) -> Cow<'a, str> {
        match self.form {
            Form::Bare => Cow::Borrowed(self.written),
            Form::Quoted => Cow::Borrowed(between_quotes(self.written)),
            Form::Escaped => Cow::Owned(unescape(self.written)),
        }
    }

    /// The text when it is a slice of the source ([`Word::text`] borrows it): `None` for
    /// a word with escapes or a joined quoted part.
    pub fn borrowed(&self) -> Option<&'a str> {
        match self.form {
            Form::Bare => Some(self.written),
            Form::Quoted => Some(between_quotes(self.written)),
            Form::Escaped => None,
        }
    }

    /// The text of an unquoted word (which may be an option); `None` if it was quoted.
    pub fn bare(&self) -> Option<&'a str> {
        match self.form {
            Form::Bare => Some(self.written),
            Form::Quoted | Form::Escaped => None,
        }
    }

    /// True if the word was (partly) quoted: then it is always a value, never an option.
    pub fn quoted(&self) -> bool {
        self.form != Form::Bare
    }

    /// Byte offset of the word as written (quotes included) in the source.
    pub fn start(&self) -> usize {
        self.start as usize
    }

    /// One past the last byte of the word as written.
    pub fn end(&self) -> usize {
        self.start as usize + self.written.len()
    }
}

/// `"text"` → `text` (a written form of [`Form::Quoted`]).
fn between_quotes(written: &str) -> &str {
    written
        .strip_prefix('"')
        .and_then(|w| w.strip_suffix('"'))
        .unwrap_or(written)
}

/// The text of a word written as `bare"quoted"` (either part possibly empty): the bare
/// part as it is, then the quoted part, in which a backslash takes the next character
/// literally, up to its closing quote.
fn unescape(written: &str) -> String {
    let mut text = String::with_capacity(written.len());
    let mut chars = written.chars();
    for c in chars.by_ref() {
        if c == '"' {
            break;
        }
        text.push(c);
    }
    while let Some(c) = chars.next() {
        match c {
            '\\' => text.extend(chars.next()),
            '"' => break,
            other => text.push(other),
        }
    }
    text
}
