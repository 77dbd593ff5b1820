//! The command line: clap arguments (`args.rs`) → a plain config per subcommand → the
//! library, and the output written in one place ([`output`]). The only module that
//! knows clap; one file per subcommand.

mod args;
pub mod explain;
pub mod generate;
pub mod input;
pub mod inspect;
pub mod output;

use std::ffi::OsString;

use clap::Parser;

use crate::exit::Exit;
use args::{Args, ColorChoice, Command};

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
    let exit = match args.command {
        Command::Inspect(a) => inspect::run_inspect(&inspect::InspectConfig {
            files: a.files,
            format: a.format.into(),
            max_errors: a.max_errors,
            color,
        }),
        Command::Explain(a) => match a.target.parse() {
            Ok(target) => explain::run_explain(&explain::ExplainConfig {
                inputs: a.files,
                target,
                src: a.src,
                dst: a.dst,
                node_ips: a.node_ips,
                format: a.format.into(),
                color,
            }),
            Err(message) => usage(&message),
        },
        Command::Generate(a) => match generate_what(a) {
            Some(what) => generate::run_generate(&what),
            None => usage("generate needs --services N, --scenario NAME or --list-scenarios"),
        },
    };
    exit.code()
}

fn generate_what(a: args::GenerateArgs) -> Option<generate::GenerateWhat> {
    if a.list_scenarios {
        return Some(generate::GenerateWhat::ListScenarios);
    }
    if let Some(name) = a.scenario {
        return Some(generate::GenerateWhat::Scenario(name));
    }
    Some(generate::GenerateWhat::Synthetic {
        services: a.services?,
        version: a.kube_version.into(),
        backend: a.backend.into(),
    })
}

/// Says what is wrong with the command line.
fn usage(message: &str) -> Exit {
    eprintln!("srcip-rules: {message}");
    Exit::Usage
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
