//! The command line: clap arguments → a plain config per subcommand → the library.
//! The only module that knows clap; one file per subcommand.

pub mod explain;
pub mod generate;
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
#[command(
    name = "srcip-rules",
    version,
    about,
    long_about = None,
    after_help = "Examples:\n  iptables-save | srcip-rules explain 31015\n  srcip-rules explain test/nginx --node-ip 192.0.2.11 node1.txt\n  srcip-rules explain 31015 --src 203.0.113.7 --format markdown node1.txt\n  srcip-rules inspect --format json node1.txt node2.txt\n\nExit codes: 0 done, 1 nodePort/service not in the dump, 2 usage error,\n3 unreadable input or parse errors, 4 output could not be written."
)]
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
    /// Follow a new connection to a nodePort through the rules and say, for every kind of
    /// client, whether the backend sees its real IP, a node IP, or nothing (dropped).
    Explain {
        /// The nodePort (`31015`) or the service (`namespace/name` or `namespace/name:port`).
        target: String,
        /// Dump files; `-` or none reads standard input.
        files: Vec<String>,
        /// Only explain connections from this source address.
        #[arg(long)]
        src: Option<std::net::IpAddr>,
        /// The destination address the client uses (default: this node's address; a
        /// loopback source implies 127.0.0.1).
        #[arg(long)]
        dst: Option<std::net::IpAddr>,
        /// One of this node's own addresses (repeatable); a dump cannot say which they are.
        #[arg(long = "node-ip")]
        node_ips: Vec<std::net::IpAddr>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
    },
    /// Write a realistic kube-proxy iptables-save dump: N synthetic services, or a named
    /// test scenario. For benchmarks, fixtures and the kernel suite.
    Generate {
        /// Number of synthetic services (about 2 kB of rules each).
        #[arg(long, conflicts_with_all = ["scenario", "list_scenarios"])]
        services: Option<usize>,
        /// kube-proxy rule era for synthetic dumps.
        #[arg(long, value_enum, default_value_t = GenerateVersion::V1_28)]
        kube_version: GenerateVersion,
        /// iptables backend named in the header.
        #[arg(long, value_enum, default_value_t = GenerateBackend::Nft)]
        backend: GenerateBackend,
        /// A named scenario (see --list-scenarios).
        #[arg(long)]
        scenario: Option<String>,
        /// List the named scenarios.
        #[arg(long)]
        list_scenarios: bool,
    },
}

/// `generate --kube-version`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenerateVersion {
    /// KUBE-XLB era, 1.10–1.14.
    #[value(name = "1.14")]
    V1_14,
    /// KUBE-XLB era, 1.15–1.21.
    #[value(name = "1.21")]
    V1_21,
    /// KUBE-XLB era, 1.22–1.23.
    #[value(name = "1.23")]
    V1_23,
    /// KUBE-EXT/KUBE-SVL era, 1.24.
    #[value(name = "1.24")]
    V1_24,
    /// KUBE-EXT/KUBE-SVL era with filter drops, 1.25 and later.
    #[value(name = "1.28")]
    V1_28,
}

/// `generate --backend`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenerateBackend {
    /// iptables-nft
    Nft,
    /// iptables-legacy
    Legacy,
}

/// `explain --format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// Human-readable text.
    Text,
    /// Markdown, for support tickets.
    Markdown,
    /// JSON (schema documented in `report::json`).
    Json,
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
    let command_line: Vec<OsString> = args.into_iter().collect();
    let args = match Args::try_parse_from(&command_line) {
        Ok(args) => args,
        Err(err) => return report_usage_error(&err, &command_line),
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
        Command::Generate {
            services,
            kube_version,
            backend,
            scenario,
            list_scenarios,
        } => {
            use crate::generate::{Backend, KubeVersion};
            let what = if list_scenarios {
                generate::GenerateWhat::ListScenarios
            } else if let Some(name) = scenario {
                generate::GenerateWhat::Scenario(name)
            } else if let Some(services) = services {
                generate::GenerateWhat::Synthetic {
                    services,
                    version: match kube_version {
                        GenerateVersion::V1_14 => KubeVersion::V1_14,
                        GenerateVersion::V1_21 => KubeVersion::V1_21,
                        GenerateVersion::V1_23 => KubeVersion::V1_23,
                        GenerateVersion::V1_24 => KubeVersion::V1_24,
                        GenerateVersion::V1_28 => KubeVersion::V1_28,
                    },
                    backend: match backend {
                        GenerateBackend::Nft => Backend::Nft,
                        GenerateBackend::Legacy => Backend::Legacy,
                    },
                }
            } else {
                eprintln!(
                    "srcip-rules: generate needs --services N, --scenario NAME or --list-scenarios"
                );
                return Exit::Usage.code();
            };
            generate::run_generate(&what, &mut out)
        }
        Command::Explain {
            target,
            files,
            src,
            dst,
            node_ips,
            format,
        } => {
            let target = match target.parse::<explain::PortOrService>() {
                Ok(target) => target,
                Err(message) => {
                    eprintln!("srcip-rules: {}", crate::report::sanitize(&message));
                    return Exit::Usage.code();
                }
            };
            let format = match format {
                ExplainFormat::Text => explain::Format::Text,
                ExplainFormat::Markdown => explain::Format::Markdown,
                ExplainFormat::Json => explain::Format::Json,
            };
            explain::run_explain(
                &explain::ExplainConfig {
                    inputs: files,
                    target,
                    src,
                    dst,
                    node_ips,
                    format,
                    color,
                },
                &mut out,
            )
        }
    };
    let _ = out.flush();
    exit.code()
}

/// Prints clap's help, version or error and returns the exit code. An error can quote the
/// command line, which may hold control characters (`explain $'\e]52;c;QQ==\a'` would set
/// the terminal's clipboard): then the same command line is parsed again with every
/// argument sanitised, and that error, which quotes them escaped, is printed instead; if
/// it is not the same kind of error, the first one is printed as plain text, sanitised.
fn report_usage_error(err: &clap::Error, command_line: &[OsString]) -> u8 {
    use clap::error::ErrorKind;
    let code = match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Exit::Ok.code(),
        _ => Exit::Usage.code(),
    };
    let shown: Vec<String> = command_line
        .iter()
        .map(|arg| crate::report::sanitize(&arg.to_string_lossy()).into_owned())
        .collect();
    let all_printable = shown
        .iter()
        .zip(command_line)
        .all(|(shown, arg)| arg.to_str() == Some(shown.as_str()));
    if all_printable {
        let _ = err.print();
        return code;
    }
    match Args::try_parse_from(&shown) {
        Err(escaped) if escaped.kind() == err.kind() => {
            let _ = escaped.print();
        }
        _ => {
            let text = err.render().to_string();
            let lines: Vec<_> = text.split('\n').map(crate::report::sanitize).collect();
            eprint!("{}", lines.join("\n"));
        }
    }
    code
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
