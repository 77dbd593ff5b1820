//! The command line as clap reads it, and its conversion to the plain configs the
//! commands run with. The only file that defines clap types.

use std::net::IpAddr;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

use crate::generate::{Backend, KubeVersion};
use crate::kube::Target;
use crate::kube::check::{Expectation, SourceSelector, VerdictFilter};
use crate::kube::explanation::ClassKind;
use crate::kube::ports::COLUMNS;
use crate::model::Protocol;
use crate::report::Format;
use crate::report::graph::GraphFormat;

/// Explain what kube-proxy's iptables rules do to a client's source IP: nodePorts,
/// LoadBalancer IPs, externalIPs, ClusterIPs, or any one packet.
///
/// Feed it `iptables-save` output from a Kubernetes node (a file, several files, or stdin).
#[derive(Debug, Parser)]
#[command(
    name = "srcip-rules",
    version,
    about,
    long_about = None,
    after_help = "Examples:\n  iptables-save | srcip-rules explain 31015\n  srcip-rules explain test/nginx --node-ip 192.0.2.11 node1.txt\n  srcip-rules explain 31015 --src 203.0.113.7 --format markdown node1.txt\n  srcip-rules explain 198.51.100.80:443 node1.txt\n  srcip-rules trace --src 203.0.113.7 --dst 198.51.100.80 --dport 443 -v node1.txt\n  srcip-rules ports node1.txt\n  srcip-rules check --expect 31015:external=preserved node1.txt\n  srcip-rules diff node1.txt node2.txt\n  srcip-rules inspect --format json node1.txt node2.txt\n\nExit codes: 0 done, 1 nodePort/service not in the dump, 2 usage error,\n3 unreadable input or parse errors, 4 output could not be written,\n5 an expectation of `check` did not hold,\n6 the dump is from a proxy mode srcip-rules cannot analyse (IPVS, nftables, userspace, none)."
)]
pub(crate) struct Args {
    /// When to colour text output. `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub(crate) color: ColorChoice,

    /// Replace addresses, namespaces, service names and chain hashes by consistent
    /// stand-ins (prefixes keep containing their addresses; 127.0.0.0/8, link-local,
    /// documentation and other special ranges are kept), for a public ticket.
    #[arg(long, global = true)]
    pub(crate) redact: bool,
    /// The redaction key (implies --redact): the same key gives the same stand-ins, e.g.
    /// for several nodes' dumps. Default: a random key per run.
    #[arg(long, global = true, env = "SRCIP_REDACT_KEY", hide_env_values = true)]
    pub(crate) redact_key: Option<String>,
    /// Write what each stand-in stands for (and the key) to FILE, as JSON, readable by
    /// its owner only (implies --redact). Keep it private.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) redact_map: Option<String>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Report what a dump is: iptables version and backend, tables, rule counts, whether it
    /// is partial or truncated, and every parse error.
    Inspect(InspectArgs),
    /// Follow a new connection to a nodePort or service address through the rules and say,
    /// for every kind of client, whether the backend sees its real IP, a node IP, or nothing
    /// (dropped, rejected).
    Explain(ExplainArgs),
    /// Follow one packet through every hook and table in kernel order: each rule that
    /// matched (with --verbose, every rule tested and why it did not match), the routing
    /// decision, and how each branch ends: delivered, forwarded to which endpoint with which
    /// source address, dropped or rejected by which rule, or undetermined at which rule.
    Trace(TraceArgs),
    /// List every nodePort, LoadBalancer IP and externalIP of each node, one row each:
    /// service, policy, endpoints, and the verdict for external clients, pods, this node
    /// and 127.0.0.0/8 (and inside each source range of a LoadBalancer IP).
    Ports(PortsArgs),
    /// Test expectations about each node's verdicts (for CI): exit 0 when all hold, 5
    /// when one does not.
    Check(CheckArgs),
    /// Compare two nodes (or one node before and after a change) for the same nodePorts
    /// (or the addresses and services asked): the verdicts that differ first, then the
    /// rules behind the difference.
    Diff(DiffArgs),
    /// Write a realistic kube-proxy iptables-save dump: N synthetic services, or a named
    /// test scenario. For benchmarks, fixtures and the kernel suite.
    Generate(GenerateArgs),
    /// Draw the chains a destination's connections can pass (KUBE-SERVICES → KUBE-NODEPORTS
    /// or KUBE-FW → KUBE-EXT/XLB → KUBE-SVC/SVL → KUBE-SEP, masquerading and filter drops)
    /// as a Graphviz DOT or Mermaid graph, every rule labelled with its line and tests.
    Graph(GraphArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  srcip-rules completions bash > /etc/bash_completion.d/srcip-rules\n  srcip-rules completions zsh > \"${fpath[1]}/_srcip-rules\"\n  srcip-rules completions fish > ~/.config/fish/completions/srcip-rules.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), generated from these definitions: the main page, or
    /// one subcommand's (`srcip-rules man explain`).
    #[command(after_help = "Example:\n  srcip-rules man | man -l -")]
    Man(ManArgs),
}

#[derive(Debug, ClapArgs)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct ManArgs {
    /// A subcommand whose page to print (`srcip-rules-explain(1)`); none: the main page.
    pub(crate) subcommand: Option<String>,
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
    /// What to explain: a nodePort (`31015`, `31015/udp`), a service address and port
    /// (`10.96.0.10:53/udp`, `[2001:db8::1]:443`: a ClusterIP, LoadBalancer IP, externalIP
    /// or node address), or a service (`namespace/name[:port]`: each of its addresses).
    pub(crate) target: String,
    /// Dump files, one per node; `-` or none reads standard input (several dumps one after
    /// another are several nodes).
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
    /// Print only the answer: per destination the verdict table and what stands out (text
    /// and Markdown).
    #[arg(long)]
    pub(crate) brief: bool,
    /// Name the nodes, in order (repeatable; default: a `# node: NAME` comment in the dump,
    /// or the file name). Several nodes get a node-by-node table first.
    #[arg(long = "name")]
    pub(crate) names: Vec<String>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct PortsArgs {
    /// Dump files; `-` or none reads standard input (several dumps one after another are
    /// several nodes).
    pub(crate) files: Vec<String>,
    /// Only services in this namespace.
    #[arg(long)]
    pub(crate) namespace: Option<String>,
    /// Only rows with this verdict, for any class (`masqueraded`) or one
    /// (`external=dropped`; classes: external, pods, node, loopback, and prefix for a
    /// LoadBalancer IP's source ranges).
    #[arg(long, value_parser = parse_verdict_filter)]
    pub(crate) verdict: Option<VerdictFilter>,
    /// Name the nodes, in order (repeatable; default: a `# node: NAME` comment in the dump,
    /// or the file name).
    #[arg(long = "name")]
    pub(crate) names: Vec<String>,
    /// One of the node's own addresses (repeatable).
    #[arg(long = "node-ip")]
    pub(crate) node_ips: Vec<IpAddr>,
    /// Output format (the JSON schema is documented in docs/json.md).
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub(crate) format: FormatArg,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct CheckArgs {
    /// Dump files; `-` or none reads standard input (several dumps one after another are
    /// several nodes).
    pub(crate) files: Vec<String>,
    /// An expectation, `TARGET:CLASS=VERDICT` (repeatable): TARGET a nodePort (`31015`,
    /// `31015/udp`), a service address and port (`198.51.100.80:443`) or a service
    /// (`ns/name[:port]`), as `explain` takes it; CLASS one of external, pods, prefix,
    /// node, loopback, hairpin; VERDICT one of preserved, masqueraded, dropped, rejected,
    /// not-handled, forwarded, undetermined. Every class of that kind must have the
    /// verdict.
    #[arg(long = "expect", value_parser = parse_expectation)]
    pub(crate) expectations: Vec<Expectation>,
    /// A file of expectations, one per line (`#` starts a comment).
    #[arg(long = "expect-file")]
    pub(crate) expect_files: Vec<String>,
    /// Name the nodes, in order (repeatable).
    #[arg(long = "name")]
    pub(crate) names: Vec<String>,
    /// One of the node's own addresses (repeatable).
    #[arg(long = "node-ip")]
    pub(crate) node_ips: Vec<IpAddr>,
    /// Output format (the JSON schema is documented in docs/json.md).
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub(crate) format: FormatArg,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct DiffArgs {
    /// Node A's dump (`-`: standard input).
    pub(crate) a: String,
    /// Node B's dump (`-`: standard input).
    pub(crate) b: String,
    /// What to compare, as `explain` takes it (`31015`, `198.51.100.80:443`,
    /// `ns/name[:port]`); none: every nodePort of either node, showing those that differ.
    #[arg(value_parser = parse_target)]
    pub(crate) targets: Vec<Target>,
    /// Name the two nodes (A's, then B's; default: the file names).
    #[arg(long = "name")]
    pub(crate) names: Vec<String>,
    /// One of the nodes' own addresses (repeatable).
    #[arg(long = "node-ip")]
    pub(crate) node_ips: Vec<IpAddr>,
    /// Output format (the JSON schema is documented in docs/json.md).
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub(crate) format: FormatArg,
}

fn parse_target(text: &str) -> Result<Target, String> {
    text.parse()
}

fn parse_expectation(text: &str) -> Result<Expectation, String> {
    text.parse()
}

/// `--verdict VERDICT|CLASS=VERDICT`, checked as clap reads it.
fn parse_verdict_filter(text: &str) -> Result<VerdictFilter, String> {
    let filter: VerdictFilter = text.parse()?;
    match filter.source {
        Some(SourceSelector::Kind(kind))
            if !COLUMNS.contains(&kind) && kind != ClassKind::Prefix =>
        {
            Err(format!(
                "`ports` has columns for external, pods, node and loopback, and a LoadBalancer IP's source prefixes (`prefix`), not `{}`",
                crate::kube::summary::source_name(kind)
            ))
        }
        _ => Ok(filter),
    }
}

#[derive(Debug, ClapArgs)]
pub(crate) struct TraceArgs {
    /// Dump files; `-` or none reads standard input.
    pub(crate) files: Vec<String>,
    /// The packet's source address.
    #[arg(long)]
    pub(crate) src: IpAddr,
    /// The packet's destination address.
    #[arg(long)]
    pub(crate) dst: IpAddr,
    /// The destination port.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) dport: u16,
    /// The source port (no kube-proxy rule tests it).
    #[arg(long, default_value_t = 40000, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) sport: u16,
    /// The transport protocol.
    #[arg(short = 'p', long = "protocol", value_enum, default_value_t = ProtocolArg::Tcp)]
    pub(crate) protocol: ProtocolArg,
    /// The interface the packet arrives on (rules testing `-i` are undecidable without it).
    #[arg(long = "in-iface", conflicts_with = "local")]
    pub(crate) in_iface: Option<String>,
    /// The interface the packet leaves by (rules testing `-o`).
    #[arg(long = "out-iface")]
    pub(crate) out_iface: Option<String>,
    /// The packet is sent by a process on this node (nat OUTPUT first); --src is then one of
    /// this node's addresses (or loopback).
    #[arg(long)]
    pub(crate) local: bool,
    /// The packet mark it starts with (`0x4000` or decimal).
    #[arg(long, value_parser = parse_mark)]
    pub(crate) mark: Option<u32>,
    /// One of this node's own addresses (repeatable): addrtype LOCAL tests and local
    /// delivery depend on them.
    #[arg(long = "node-ip")]
    pub(crate) node_ips: Vec<IpAddr>,
    /// Also show every rule tested that did not match, and the test that failed.
    #[arg(short, long)]
    pub(crate) verbose: bool,
    /// Output format (the JSON schema is documented in docs/json.md).
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub(crate) format: FormatArg,
}

/// `--mark 0x4000` or `--mark 16384`.
fn parse_mark(text: &str) -> Result<u32, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => text.parse::<u32>(),
    };
    parsed.map_err(|_| format!("`{text}` is not a mark: write 0x4000 or 16384 (32 bits)"))
}

/// `trace -p`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProtocolArg {
    /// TCP
    Tcp,
    /// UDP
    Udp,
    /// SCTP
    Sctp,
}

impl From<ProtocolArg> for Protocol {
    fn from(protocol: ProtocolArg) -> Self {
        match protocol {
            ProtocolArg::Tcp => Protocol::Tcp,
            ProtocolArg::Udp => Protocol::Udp,
            ProtocolArg::Sctp => Protocol::Sctp,
        }
    }
}

#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples:\n  srcip-rules graph 31015 node1.txt | dot -Tsvg > 31015.svg\n  srcip-rules graph 31015 --format mermaid node1.txt"
)]
pub(crate) struct GraphArgs {
    /// What to draw, as `explain` takes it: a nodePort (`31015`, `31015/udp`), an address
    /// and port (a LoadBalancer IP, externalIP or ClusterIP: `198.51.100.80:443`), or a
    /// service (`namespace/name[:port]`: a graph per address it has).
    pub(crate) target: String,
    /// Dump files; `-` or none reads standard input.
    pub(crate) files: Vec<String>,
    /// One of this node's own addresses (repeatable), as for `explain`: it decides which
    /// rules are highlighted as decisive.
    #[arg(long = "node-ip")]
    pub(crate) node_ips: Vec<IpAddr>,
    /// Graph language.
    #[arg(long, value_enum, default_value_t = GraphFormatArg::Dot)]
    pub(crate) format: GraphFormatArg,
}

/// `graph --format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormatArg {
    /// Graphviz DOT: `dot -Tsvg`.
    Dot,
    /// A Mermaid flowchart (GitHub renders it in Markdown).
    Mermaid,
}

impl From<GraphFormatArg> for GraphFormat {
    fn from(format: GraphFormatArg) -> Self {
        match format {
            GraphFormatArg::Dot => GraphFormat::Dot,
            GraphFormatArg::Mermaid => GraphFormat::Mermaid,
        }
    }
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
