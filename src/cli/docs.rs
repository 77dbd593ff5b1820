//! `srcip-rules completions SHELL` and `srcip-rules man [SUBCOMMAND]`: shell completion
//! scripts (clap_complete) and manual pages (clap_mangen), generated from the clap
//! definitions in `args.rs`, so they always match the binary that prints them.
//!
//! The man page is a subcommand rather than a build step: a build script cannot see the
//! clap definitions (they are in the library it would build), and a build that writes
//! into the source tree is a build that changes what it builds from. The copies in
//! `docs/man/` (for reading online and for packagers) are this command's output, and
//! `tests/it/docs.rs` fails when they are stale.

use clap::CommandFactory;

use crate::cli::args::Args;
use crate::cli::output::{exit_after, to_stdout};
use crate::exit::Exit;

/// The program's name, as installed.
const NAME: &str = "srcip-rules";

/// Writes the completion script for `shell` to standard output.
pub(crate) fn completions(shell: clap_complete::Shell) -> Exit {
    let mut command = Args::command();
    exit_after(
        to_stdout(|out| {
            clap_complete::generate(shell, &mut command, NAME, out);
            Ok(())
        }),
        Exit::Ok,
    )
}

/// Writes the man page of the program, or of one of its subcommands, to standard output.
pub(crate) fn man(subcommand: Option<&str>) -> Exit {
    let mut command = Args::command();
    command.build();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .filter(|name| name != "help")
        .collect();
    let page = match subcommand {
        None => command,
        Some(name) => match command.find_subcommand(name) {
            Some(sub) => sub
                .clone()
                .name(format!("{NAME}-{}", sub.get_name()))
                .version(env!("CARGO_PKG_VERSION")),
            None => {
                eprintln!(
                    "srcip-rules: no subcommand `{}`; the pages are: {}",
                    crate::report::sanitize(name),
                    names.join(", ")
                );
                return Exit::Usage;
            }
        },
    };
    exit_after(
        to_stdout(|out| clap_mangen::Man::new(page).render(out)),
        Exit::Ok,
    )
}
