//! `srcip-rules explain PORT|ns/name[:port]`: reads dumps, explains the nodePort, renders it.

use std::io::{self, Write};
use std::net::IpAddr;

use crate::cli::input::read_sources;
use crate::exit::Exit;
pub use crate::kube::PortOrService;
use crate::kube::{ExplainOptions, explain};
use crate::report::{self, Palette};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Text for a terminal.
    Text,
    /// Markdown for a ticket.
    Markdown,
    /// JSON (see [`crate::report::json`]).
    Json,
}

/// Everything `explain` needs, already validated (no clap here).
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainConfig {
    /// The dumps to read (`-` or none: stdin); each is explained on its own.
    pub inputs: Vec<String>,
    /// The nodePort or service.
    pub target: PortOrService,
    /// Only this source.
    pub src: Option<IpAddr>,
    /// The destination (default: this node's address).
    pub dst: Option<IpAddr>,
    /// This node's addresses.
    pub node_ips: Vec<IpAddr>,
    /// Output format.
    pub format: Format,
    /// Colour text output.
    pub color: bool,
}

/// Runs `explain`; returns [`Exit::Ok`] if the target was found in every input,
/// [`Exit::NotFound`] if it was missing from one, [`Exit::InputError`] if an input could not
/// be read, [`Exit::OutputError`] if writing failed (a closed pipe counts as success).
pub fn run_explain(cfg: &ExplainConfig, out: &mut dyn Write) -> Exit {
    let options = ExplainOptions {
        target: cfg.target.clone(),
        src: cfg.src,
        dst: cfg.dst,
        node_ips: cfg.node_ips.clone(),
    };
    let mut exit = Exit::Ok;
    let sources = match read_sources(&cfg.inputs) {
        Ok(sources) => sources,
        Err(message) => {
            eprintln!("srcip-rules: {message}");
            return Exit::InputError;
        }
    };
    let several = sources.len() > 1;
    for source in &sources {
        // Only the structure: explain types just the rules on the nodePort's path, so a
        // million-rule dump costs one cheap pass (`inspect` checks every rule).
        let parsed = crate::parse::parse_structure(source);
        let explanation = explain(&parsed.rules(), &options);
        let errors = parsed.errors();
        if explanation.ports.is_empty() {
            exit = Exit::NotFound;
            eprintln!(
                "srcip-rules: no nodePort rule for `{}` in {}; {}",
                report::sanitize(&explanation.target.to_string()),
                report::sanitize(&source.name),
                report::text::available_line(&explanation.available)
            );
        }
        let result = (|| -> io::Result<()> {
            if several && cfg.format != Format::Json {
                writeln!(out, "== {} ==", report::sanitize(&source.name))?;
            }
            if !errors.is_empty() && cfg.format != Format::Json {
                // Say where, and where to see why: `inspect` renders each error with a caret.
                let mut lines: Vec<u32> = errors.iter().map(|e| e.line).collect();
                lines.sort_unstable();
                lines.dedup();
                let shown: Vec<String> = lines.iter().take(5).map(u32::to_string).collect();
                let more = if lines.len() > 5 { ", ..." } else { "" };
                let name = report::sanitize(&source.name);
                let how = if source.name == "<stdin>" {
                    "`srcip-rules inspect` on the same input".to_string()
                } else {
                    format!("`srcip-rules inspect {name}`")
                };
                writeln!(
                    out,
                    "warning: {} line(s) of {name} could not be parsed (line {}{more}); they were left out of the analysis. {how} shows why.",
                    errors.len(),
                    shown.join(", "),
                )?;
            }
            match cfg.format {
                Format::Text => report::text::render(&explanation, Palette::new(cfg.color), out)?,
                Format::Markdown => report::markdown::render(&explanation, out)?,
                Format::Json => report::json::render(&explanation, out)?,
            }
            // A footer, not a header: the verdict comes first.
            if !parsed.dump.rules_checked
                && !explanation.ports.is_empty()
                && cfg.format != Format::Json
            {
                writeln!(
                    out,
                    "\nnote: only the rules on the nodePort's path were checked for errors; `srcip-rules inspect` checks them all"
                )?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Exit::Ok,
            Err(_) => return Exit::OutputError,
        }
    }
    exit
}
