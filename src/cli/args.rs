//! The command line as clap reads it, and its conversion to the plain configs the
//! commands run with. The only file that defines clap types.

use std::net::IpAddr;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

use crate::generate::{Backend, KubeVersion};
use crate::report::Format;

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
pub(crate) struct Args {
    /// When to colour text output. `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub(crate) color: ColorChoice,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Report what a dump is: iptables version and backend, tables, rule counts, whether it
    /// is partial or truncated, and every parse error.
    Inspect(InspectArgs),
    /// Follow a new connection to a nodePort through the rules and say, for every kind of
    /// client, whether the backend sees its real IP, a node IP, or nothing (dropped).
    Explain(ExplainArgs),
    /// Write a realistic kube-proxy iptables-save dump: N synthetic services, or a named
    /// test scenario. For benchmarks, fixtures and the kernel suite.
    Generate(GenerateArgs),
}

#[derive(Debug, ClapArgs)]
pub(crate) struct InspectArgs {
    /// Dump files; `-` or none reads standard input.
    pub(crate) files: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub(crate) format: FormatArg,
    /// Show at most this many parse errors in full (the rest are counted).
    #[arg(long, default_value_t = 20)]
    pub(crate) max_errors: usize,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct ExplainArgs {
    /// The nodePort (`31015`) or the service (`namespace/name` or `namespace/name:port`).
    pub(crate) target: String,
    /// Dump files; `-` or none reads standard input.
    pub(crate) files: Vec<String>,
    /// Only explain connections from this source address.
    #[arg(long)]
    pub(crate) src: Option<IpAddr>,
    /// The destination address the client uses (default: this node's address; a
    /// loopback source implies 127.0.0.1).
    #[arg(long)]
    pub(crate) dst: Option<IpAddr>,
    /// One of this node's own addresses (repeatable); a dump cannot say which they are.
    #[arg(long = "node-ip")]
    pub(crate) node_ips: Vec<IpAddr>,
    /// Follow at most this many distinct paths per kind of client; past it the verdict is
    /// undetermined, naming the rules that fork (many undecidable rules in a row).
    #[arg(long, default_value_t = crate::netfilter::MAX_PATHS as u32, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_paths: u32,
    /// Output format (the JSON schema is documented in docs/json.md).
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub(crate) format: FormatArg,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct GenerateArgs {
    /// Number of synthetic services (about 2 kB of rules each).
    #[arg(long, conflicts_with_all = ["scenario", "list_scenarios"])]
    pub(crate) services: Option<usize>,
    /// kube-proxy rule era for synthetic dumps.
    #[arg(long, value_enum, default_value_t = GenerateVersion::V1_28)]
    pub(crate) kube_version: GenerateVersion,
    /// iptables backend named in the header.
    #[arg(long, value_enum, default_value_t = GenerateBackend::Nft)]
    pub(crate) backend: GenerateBackend,
    /// A named scenario (see --list-scenarios).
    #[arg(long)]
    pub(crate) scenario: Option<String>,
    /// List the named scenarios.
    #[arg(long)]
    pub(crate) list_scenarios: bool,
}

/// `generate --kube-version`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GenerateVersion {
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

impl From<GenerateVersion> for KubeVersion {
    fn from(version: GenerateVersion) -> Self {
        match version {
            GenerateVersion::V1_14 => KubeVersion::V1_14,
            GenerateVersion::V1_21 => KubeVersion::V1_21,
            GenerateVersion::V1_23 => KubeVersion::V1_23,
            GenerateVersion::V1_24 => KubeVersion::V1_24,
            GenerateVersion::V1_28 => KubeVersion::V1_28,
        }
    }
}

/// `generate --backend`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GenerateBackend {
    /// iptables-nft
    Nft,
    /// iptables-legacy
    Legacy,
}

impl From<GenerateBackend> for Backend {
    fn from(backend: GenerateBackend) -> Self {
        match backend {
            GenerateBackend::Nft => Backend::Nft,
            GenerateBackend::Legacy => Backend::Legacy,
        }
    }
}

/// `--format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// Human-readable text.
    Text,
    /// Markdown, for support tickets.
    Markdown,
    /// JSON, for programs.
    Json,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Text => Format::Text,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Json => Format::Json,
        }
    }
}

/// `--color`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}
