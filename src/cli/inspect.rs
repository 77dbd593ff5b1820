//! `srcip-rules inspect`: what is this dump, and can it be trusted?

use crate::cli::input::read_sources;
use crate::cli::output::{exit_after, to_stdout};
use crate::exit::Exit;
use crate::netfilter::inspect::inspect;
use crate::parse::{KEPT_ERRORS, parse_dump_keeping};
use crate::report::{self, Format, InspectReport, InspectedInput, Palette};

/// Options for `inspect`, free of clap.
#[derive(Debug, Clone)]
pub struct InspectConfig {
    /// Paths; empty or `-` is stdin.
    pub files: Vec<String>,
    /// Output format.
    pub format: Format,
    /// Errors shown in full in text and Markdown output.
    pub max_errors: usize,
    /// Colour text output.
    pub color: bool,
}

/// Runs `inspect`: exit 0 if every input parsed cleanly, 3 if any had errors or could not
/// be read.
pub fn run_inspect(config: &InspectConfig) -> Exit {
    let sources = match read_sources(&config.files) {
        Ok(sources) => sources,
        Err(message) => {
            eprintln!("srcip-rules: {message}");
            return Exit::InputError;
        }
    };
    let mut report = InspectReport {
        inputs: Vec::new(),
        max_errors: config.max_errors,
    };
    for source in &sources {
        // Every error is counted; the first ones are kept in full, enough to show
        // `--max-errors` of them.
        let parsed = parse_dump_keeping(source, config.max_errors.max(KEPT_ERRORS));
        let errors = parsed.errors();
        let inspection = inspect(&parsed.rules(), parsed.error_count(), source.lossy_lines());
        report.inputs.push(InspectedInput {
            source,
            inspection,
            errors,
            proxy_modes: crate::kube::mode::detect(&parsed.rules()),
        });
    }
    let renderer = report::renderer(config.format, Palette::new(config.color));
    let clean = report.inputs.iter().all(|i| i.inspection.errors == 0);
    let done = if clean { Exit::Ok } else { Exit::InputError };
    exit_after(to_stdout(|out| renderer.inspect(&report, out)), done)
}
