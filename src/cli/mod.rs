//! The command line: clap arguments (`args.rs`) → a plain config per subcommand → the
//! library, and the output written in one place ([`output`]). The only module that
//! knows clap; one file per subcommand.

mod args;
pub mod check;
pub mod diff;
pub mod docs;
pub mod explain;
pub mod generate;
pub mod graph;
pub mod input;
pub mod inspect;
pub mod nodes;
pub mod output;
pub mod ports;
pub mod redact;
pub mod trace;

use std::ffi::OsString;

use clap::Parser;

use crate::exit::Exit;
use args::{Args, ColorChoice, Command};

/// Runs the program with `args` (including the program name) and returns the exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> u8 {
    let command_line: Vec<OsString> = args.into_iter().collect();
    let args = match Args::try_parse_from(&command_line) {
        Ok(args) => args,
        Err(err) => return report_usage_error(&err, &command_line),
    };
    let color = resolve_color(args.color);
    let redacting = args.redact || args.redact_key.is_some() || args.redact_map.is_some();
    if redacting && let Err(message) = redact::start(args.redact_key.as_deref()) {
        return usage(&message).code();
    }
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
                target: redact::target(target),
                src: a.src.map(redact::address),
                dst: a.dst.map(redact::address),
                node_ips: redact::addresses(a.node_ips),
                max_paths: a.max_paths as usize,
                format: a.format.into(),
                color,
                brief: a.brief,
                names: a.names,
            }),
            Err(message) => usage(&message),
        },
        Command::Trace(a) => trace::run_trace(&trace_config(a, color)),
        Command::Graph(a) => match a.target.parse() {
            Ok(target) => graph::run_graph(&graph::GraphConfig {
                inputs: a.files,
                target: redact::target(target),
                node_ips: redact::addresses(a.node_ips),
                format: a.format.into(),
            }),
            Err(message) => usage(&message),
        },
        Command::Completions(a) => docs::completions(a.shell),
        Command::Man(a) => docs::man(a.subcommand.as_deref()),
        Command::Ports(a) => ports::run_ports(&ports_config(a, color)),
        Command::Check(a) => check::run_check(&check_config(a, color)),
        Command::Diff(a) => diff::run_diff(&diff_config(a, color)),
        Command::Generate(a) => match generate_what(a) {
            Some(what) => generate::run_generate(&what),
            None => usage("generate needs --services N, --scenario NAME or --list-scenarios"),
        },
    };
    if let Some(path) = &args.redact_map
        && let Err(message) = redact::write_map(path)
    {
        eprintln!("srcip-rules: {message}");
        return Exit::OutputError.code();
    }
    exit.code()
}

fn trace_config(a: args::TraceArgs, color: bool) -> trace::TraceConfig {
    let packet = crate::netfilter::Packet {
        src: redact::address(a.src),
        dst: redact::address(a.dst),
        protocol: a.protocol.into(),
        sport: a.sport,
        dport: a.dport,
        origin: if a.local {
            crate::netfilter::Origin::Local
        } else {
            crate::netfilter::Origin::Remote
        },
        in_interface: a.in_iface,
        out_interface: a.out_iface,
    };
    trace::TraceConfig {
        inputs: a.files,
        packet,
        mark: a.mark.unwrap_or(0),
        node_ips: redact::addresses(a.node_ips),
        verbose: a.verbose,
        format: a.format.into(),
        color,
    }
}

fn ports_config(a: args::PortsArgs, color: bool) -> ports::PortsConfig {
    ports::PortsConfig {
        inputs: a.files,
        names: a.names,
        node_ips: redact::addresses(a.node_ips),
        filter: crate::kube::ports::PortsFilter {
            namespace: a.namespace,
            verdict: a.verdict,
        },
        format: a.format.into(),
        color,
    }
}

fn check_config(a: args::CheckArgs, color: bool) -> check::CheckConfig {
    check::CheckConfig {
        inputs: a.files,
        names: a.names,
        expectations: a.expectations,
        expect_files: a.expect_files,
        node_ips: redact::addresses(a.node_ips),
        format: a.format.into(),
        color,
    }
}

fn diff_config(a: args::DiffArgs, color: bool) -> diff::DiffConfig {
    diff::DiffConfig {
        inputs: [a.a, a.b],
        targets: a.targets.into_iter().map(redact::target).collect(),
        names: a.names,
        node_ips: redact::addresses(a.node_ips),
        format: a.format.into(),
        color,
    }
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

/// Says what is wrong with the command line (its text may quote the user's arguments:
/// sanitised).
fn usage(message: &str) -> Exit {
    eprintln!("srcip-rules: {}", crate::report::sanitize(message));
    Exit::Usage
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
