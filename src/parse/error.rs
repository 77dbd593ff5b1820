//! Parse errors: where, what was found, what was expected.

/// A problem with one line of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
}

/// The kinds of parse error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Placeholder.
    Unknown,
}
