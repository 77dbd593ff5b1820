//! `srcip-rules generate`: write a realistic kube-proxy dump (synthetic N services, or a
//! named test scenario) for benchmarks, fixtures and kernel tests.

use crate::cli::output::{exit_after, to_stdout};
use crate::exit::Exit;
use crate::generate::{Backend, KubeVersion, NodeSpec, scenarios, synthetic, write_dump};

/// What to generate.
#[derive(Debug, Clone)]
pub enum GenerateWhat {
    /// `--services N`: a deterministic realistic mix.
    Synthetic {
        /// Number of services.
        services: usize,
        /// Rule era.
        version: KubeVersion,
        /// Header backend.
        backend: Backend,
    },
    /// `--scenario NAME`: one of the named explain scenarios.
    Scenario(String),
    /// `--list-scenarios`.
    ListScenarios,
}

/// Runs `generate`, writing the dump to standard output.
pub fn run_generate(what: &GenerateWhat) -> Exit {
    let node: NodeSpec = match what {
        GenerateWhat::Synthetic {
            services,
            version,
            backend,
        } => synthetic(*services, *version, *backend),
        GenerateWhat::Scenario(name) => match scenarios().into_iter().find(|(n, _)| n == name) {
            Some((_, node)) => node,
            None => {
                eprintln!(
                    "srcip-rules: no scenario `{}`; `srcip-rules generate --list-scenarios` lists them",
                    crate::report::sanitize(name)
                );
                return Exit::Usage;
            }
        },
        GenerateWhat::ListScenarios => {
            let names: String = scenarios().iter().map(|(n, _)| format!("{n}\n")).collect();
            return exit_after(to_stdout(|out| out.write_all(names.as_bytes())), Exit::Ok);
        }
    };
    if !crate::cli::redact::active() {
        return exit_after(to_stdout(|out| write_dump(&node, out)), Exit::Ok);
    }
    let mut dump = Vec::new();
    if let Err(e) = write_dump(&node, &mut dump) {
        eprintln!("srcip-rules: cannot generate the dump: {e}");
        return Exit::OutputError;
    }
    // The generator writes ASCII only.
    let dump = crate::cli::redact::text(String::from_utf8_lossy(&dump).into_owned());
    exit_after(to_stdout(|out| out.write_all(dump.as_bytes())), Exit::Ok)
}
