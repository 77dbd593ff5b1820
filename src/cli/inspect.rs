//! `srcip-rules inspect`: what is this dump, and can it be trusted?

use std::io::Write;

use crate::cli::InspectFormat;
use crate::cli::input::read_sources;
use crate::exit::Exit;
use crate::netfilter::inspect::inspect;
use crate::parse::parse_dump;
use crate::report::Palette;
use crate::report::inspect::{InspectedInput, render_json, render_text};

/// Options for `inspect`, free of clap.
#[derive(Debug, Clone)]
pub struct InspectConfig {
    /// Paths; empty or `-` is stdin.
    pub files: Vec<String>,
    /// Output format.
    pub format: InspectFormat,
    /// Errors shown in full in text output.
    pub max_errors: usize,
    /// Colour text output.
    pub color: bool,
}

/// Runs `inspect`: exit 0 if every input parsed cleanly, 3 if any had errors or could not
/// be read.
pub fn run_inspect(config: &InspectConfig, out: &mut dyn Write) -> Exit {
    let sources = match read_sources(&config.files) {
        Ok(sources) => sources,
        Err(message) => {
            eprintln!("srcip-rules: {message}");
            return Exit::InputError;
        }
    };
    let mut inputs = Vec::new();
    for source in &sources {
        let parsed = parse_dump(source);
        let errors = parsed.errors();
        let inspection = inspect(&parsed.dump, &errors, source.lossy_lines());
        inputs.push(InspectedInput {
            source,
            inspection,
            errors,
        });
    }
    let text = match config.format {
        InspectFormat::Json => render_json(&inputs),
        InspectFormat::Text => {
            let palette = Palette::new(config.color);
            let parts: Vec<String> = inputs
                .iter()
                .map(|i| render_text(i, palette, config.max_errors))
                .collect();
            parts.join("\n")
        }
    };
    if let Err(exit) = crate::cli::write_output(out, &text) {
        return exit;
    }
    if inputs.iter().any(|i| !i.errors.is_empty()) {
        Exit::InputError
    } else {
        Exit::Ok
    }
}
