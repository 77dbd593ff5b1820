//! Semantic colours for text output. Renderers ask for a meaning, never for a colour.
//!
//! `colored` decides globally whether to emit escapes; [`crate::cli`] sets that once from
//! `--color`/`NO_COLOR`. A `Palette` with `enabled: false` returns plain strings, so
//! renderers and their tests need no global state.

use colored::Colorize;

/// Styles text by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// When false every method returns its input unstyled.
    pub enabled: bool,
}

impl Palette {
    /// A palette that styles (if `enabled`).
    pub fn new(enabled: bool) -> Self {
        Palette { enabled }
    }

    fn paint(&self, text: &str, style: impl FnOnce(&str) -> colored::ColoredString) -> String {
        if self.enabled {
            style(text).to_string()
        } else {
            text.to_string()
        }
    }

    /// A good outcome: source IP preserved.
    pub fn good(&self, text: &str) -> String {
        self.paint(text, |t| t.green().bold())
    }

    /// A lossy outcome: masqueraded.
    pub fn warn(&self, text: &str) -> String {
        self.paint(text, |t| t.yellow().bold())
    }

    /// A failure: dropped, rejected, parse error.
    pub fn bad(&self, text: &str) -> String {
        self.paint(text, |t| t.red().bold())
    }

    /// Something we could not decide.
    pub fn unsure(&self, text: &str) -> String {
        self.paint(text, |t| t.magenta().bold())
    }

    /// A chain name.
    pub fn chain(&self, text: &str) -> String {
        self.paint(text, |t| t.cyan())
    }

    /// A line number or location.
    pub fn location(&self, text: &str) -> String {
        self.paint(text, |t| t.blue().bold())
    }

    /// Secondary text (rule text, notes).
    pub fn dim(&self, text: &str) -> String {
        self.paint(text, |t| t.dimmed())
    }

    /// A heading.
    pub fn heading(&self, text: &str) -> String {
        self.paint(text, |t| t.bold())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_palette_returns_plain_text() {
        let p = Palette::new(false);
        assert_eq!(p.bad("dropped"), "dropped");
        assert_eq!(p.chain("KUBE-SVC-X"), "KUBE-SVC-X");
    }
}
