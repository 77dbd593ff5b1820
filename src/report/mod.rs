//! Turning analysis results into text for people (plain or coloured, Markdown) and JSON
//! for programs. Nothing here decides anything; everything printed from the dump goes
//! through [`sanitize()`].

pub mod diagnostic;
pub mod inspect;
pub mod json;
pub mod markdown;
pub mod palette;
pub mod sanitize;
pub mod text;
pub mod words;

pub use palette::Palette;
pub use sanitize::sanitize;
