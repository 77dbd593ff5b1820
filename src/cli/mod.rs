//! The command line: clap arguments → a plain config per subcommand → the library.
//! The only module that knows clap; one file per subcommand.

pub mod input;
pub mod inspect;

use std::ffi::OsString;
use std::io::Write;

use clap::{Parser, Subcommand, ValueEnum};

use crate::exit::Exit;

/// Explain what kube-proxy's iptables rules do to a client's source IP on a nodePort.
///
/// Feed it `iptables-save` output from a Kubernetes node (a file, several files, or stdin).
#[derive(Debug, Parser)]
#[command(name = "srcip-rules", version, about, long_about = None)]
struct Args {
    /// When to colour text output. `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Report what a dump is: iptables version and backend, tables, rule counts, whether it
    /// is partial or truncated, and every parse error.
    Inspect {
        /// Dump files; `-` or none reads standard input.
        files: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = InspectFormat::Text)]
        format: InspectFormat,
        /// Show at most this many parse errors in full (the rest are counted).
        #[arg(long, default_value_t = 20)]
        max_errors: usize,
    },
}

/// `--color`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `inspect --format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    /// Human-readable text.
    Text,
    /// JSON (schema documented in `report::inspect`).
    Json,
}

/// Runs the program with `args` (including the program name) and returns the exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> u8 {
    let args = match Args::try_parse_from(args) {
        Ok(args) => args,
        Err(err) => {
            let _ = err.print();
            return match err.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    Exit::Ok.code()
                }
                _ => Exit::Usage.code(),
            };
        }
    };
    let color = resolve_color(args.color);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let exit = match args.command {
        Command::Inspect {
            files,
            format,
            max_errors,
        } => inspect::run_inspect(
            &inspect::InspectConfig {
                files,
                format,
                max_errors,
                color,
            },
            &mut out,
        ),
    };
    let _ = out.flush();
    exit.code()
}

/// Decides once whether text output is coloured, and tells `colored` the same.
fn resolve_color(choice: ColorChoice) -> bool {
    use std::io::IsTerminal;
    let enabled = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    };
    colored::control::set_override(enabled);
    enabled
}

/// Writes `text` to `out`; a closed pipe (`| head`) is not an error.
pub fn write_output(out: &mut dyn Write, text: &str) -> Result<(), Exit> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Exit::Ok),
        Err(e) => {
            eprintln!("srcip-rules: cannot write output: {e}");
            Err(Exit::OutputError)
        }
    }
}
