//! How a dump's proxy mode reads: its name, the lines that show it, a mixed dump, and, for
//! a mode `explain` cannot analyse, why these rules do not decide the target's fate, what
//! can be said by hand, and what to run on the node instead.

use std::net::IpAddr;

use crate::kube::mode::{
    ModeRule, ModeRuleRole, ProxyMode, ProxyModes, RulesetMode, Sighting, UnsupportedMode,
    ipvs_node_port_sets, nft_table_name,
};
use crate::kube::target::Target;
use crate::model::Protocol;

/// The label before the lines that show a mode.
pub const SHOWN_BY: &str = "shown by";
/// The label before the commands to run instead.
pub const RUN_INSTEAD: &str = "run on the node";
/// The label before what can be said by hand.
pub const BY_HAND: &str = "by hand";

/// The mode's name.
pub fn mode_name(mode: ProxyMode) -> &'static str {
    match mode {
        ProxyMode::Iptables => "kube-proxy in iptables mode",
        ProxyMode::Ipvs => "kube-proxy in IPVS mode",
        ProxyMode::Userspace => "kube-proxy in userspace mode (removed in Kubernetes 1.26)",
        ProxyMode::Nftables => "kube-proxy in nftables mode",
        ProxyMode::NftablesOrNone => {
            "kube-proxy in nftables mode, or no kube-proxy (only kubelet's chains)"
        }
        ProxyMode::Cilium => "no kube-proxy: Cilium's kube-proxy replacement (eBPF)",
        ProxyMode::Unknown => "not recognised: no chain of kube-proxy, kubelet or Cilium",
    }
}

/// Where a sighting is: `nat KUBE-NODE-PORT, line 64`, or `line 71`.
pub fn place(s: &Sighting) -> String {
    match &s.chain {
        Some(chain) => format!("{} {chain}, line {}", s.table, s.line),
        None => format!("line {}", s.line),
    }
}

/// Where a sighting is, short: `nat KUBE-NODE-PORT (line 64)`, or `line 71`.
fn cite(s: &Sighting) -> String {
    match &s.chain {
        Some(chain) => format!("{} {chain} (line {})", s.table, s.line),
        None => format!("line {}", s.line),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn listed(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A sighting with its text: `nat KUBE-NODE-PORT, line 64: `-A …``.
pub fn sighting(s: &Sighting) -> String {
    match &s.text {
        Some(text) => format!("{}: `{text}`", place(s)),
        None => format!("{} (declared, no rules)", place(s)),
    }
}

/// What shows a mode: the first sighting with its text, then where the others are.
pub fn evidence(sightings: &[Sighting]) -> String {
    let Some((first, rest)) = sightings.split_first() else {
        return String::new();
    };
    let mut text = sighting(first);
    if !rest.is_empty() {
        let cited: Vec<String> = rest.iter().map(cite).collect();
        text += &format!("; also {}", listed(&cited));
    }
    text
}

/// A ruleset's mode with where it shows (a chain and line; an nftables line with its
/// text), and the other modes of a mixed dump.
pub fn ruleset_mode(m: &RulesetMode) -> String {
    let mut text = mode_name(m.mode).to_string();
    if !m.evidence.is_empty() {
        let shown: Vec<String> = m
            .evidence
            .iter()
            .map(|s| match s.chain {
                Some(_) => cite(s),
                None => sighting(s),
            })
            .collect();
        text += &format!(", {SHOWN_BY} {}", listed(&shown));
    }
    for (other, s) in &m.others {
        text += &format!(
            "; beside chains of {}: {} — a mixed dump, such as one an earlier mode left behind",
            mode_name(*other),
            cite(s)
        );
    }
    text
}

/// For an explained target: one note per ruleset showing more than one kube-proxy mode.
pub fn mixed_mode_notes(modes: &ProxyModes) -> Vec<String> {
    modes
        .rulesets
        .iter()
        .filter(|m| !m.others.is_empty())
        .map(|m| {
            let mut seen = vec![(m.mode, m.evidence.first())];
            seen.extend(m.others.iter().map(|(mode, s)| (*mode, Some(s))));
            let named: Vec<String> = seen
                .iter()
                .map(|(mode, s)| match s {
                    Some(s) => format!("{} ({})", mode_name(*mode), place(s)),
                    None => mode_name(*mode).to_string(),
                })
                .collect();
            let besides: Vec<&str> = seen
                .iter()
                .filter(|(mode, _)| *mode != ProxyMode::Iptables)
                .map(|(mode, _)| mode_name(*mode))
                .collect();
            format!(
                "the ruleset at line {} shows more than one proxy mode: {} — a mixed dump, such as one an earlier mode left behind. The verdicts follow the iptables rules a connection meets; what {} does besides is not in them.",
                m.first_line,
                named.join(" and "),
                besides.join(" and ")
            )
        })
        .collect()
}

/// What was asked, in a sentence: `nodePort 30081/tcp`, `10.96.0.10:53/udp`, `service web/x`.
fn asked(target: &Target, protocol: Protocol) -> String {
    match target {
        Target::NodePort { port, .. } => format!("nodePort {port}/{protocol}"),
        Target::Address {
            ip: IpAddr::V6(ip),
            port,
            ..
        } => format!("[{ip}]:{port}/{protocol}"),
        Target::Address { ip, port, .. } => format!("{ip}:{port}/{protocol}"),
        Target::Service { .. } => format!("service {target}"),
    }
}

/// The first line of the answer: what was asked and which mode the dump is from.
pub fn unsupported_headline(u: &UnsupportedMode, target: &Target) -> String {
    format!("{}: {}", asked(target, u.protocol), mode_clause(u))
}

/// Which mode the dump is from and that srcip-rules cannot analyse it (after `what was
/// asked: `).
fn mode_clause(u: &UnsupportedMode) -> String {
    match u.mode {
        ProxyMode::Ipvs => {
            "the dump is from kube-proxy in IPVS mode, which srcip-rules cannot analyse".into()
        }
        ProxyMode::Userspace => "the dump is from kube-proxy in userspace mode (removed in Kubernetes 1.26), which srcip-rules does not walk: the backend never sees the client's address".into(),
        ProxyMode::Nftables => format!(
            "this is kube-proxy's nftables mode (table {}), which srcip-rules cannot analyse yet",
            nft_table_name(u.family)
        ),
        ProxyMode::NftablesOrNone => "this iptables-save has no kube-proxy service rules, only kubelet's chains: kube-proxy runs in nftables mode or not at all (an eBPF replacement such as Cilium's), and srcip-rules can analyse neither".into(),
        ProxyMode::Cilium => "no kube-proxy here: Cilium's chains are present and there is no KUBE-SERVICES, so Cilium's kube-proxy replacement handles services in eBPF, which srcip-rules cannot analyse".into(),
        ProxyMode::Iptables | ProxyMode::Unknown => {
            format!("the dump is from {}", mode_name(u.mode))
        }
    }
}

/// Why the dump's rules do not decide the target's fate.
pub fn unsupported_why(u: &UnsupportedMode, target: &Target) -> String {
    let t = asked(target, u.protocol);
    match u.mode {
        ProxyMode::Nftables => format!("{}{}", nft_why(u), nft_dispatch(u, &t)),
        _ => why(u, &t),
    }
}

/// nftables: the rules are not iptables rules.
fn nft_why(u: &UnsupportedMode) -> String {
    format!(
        "kube-proxy's rules are nftables rules in table {}, not iptables rules, and srcip-rules reads only iptables-save output.",
        nft_table_name(u.family)
    )
}

/// Why the dump's rules do not decide the fate of `t` (what was asked, or `its nodePorts`).
fn why(u: &UnsupportedMode, t: &str) -> String {
    let table = nft_table_name(u.family);
    match u.mode {
        ProxyMode::Ipvs => format!(
            "In IPVS mode these rules only mark connections for masquerading and filter them: whether {t} is served, whether it is marked, and which endpoints IPVS sends it to are decided by ipsets and IPVS virtual servers, which iptables-save does not show."
        ),
        ProxyMode::Userspace => match line_numbers(&u.target_rules) {
            Some((lines, verb)) => format!(
                "{lines} {verb} {t} to a port of kube-proxy's own process, which opens a new connection to an endpoint."
            ),
            None => format!(
                "In this mode the rules send every service connection to a port of kube-proxy's own process (no rule here names {t}), which opens a new connection to an endpoint."
            ),
        },
        ProxyMode::Nftables => nft_why(u),
        ProxyMode::NftablesOrNone => format!(
            "Either way the rules that decide {t} are not in iptables-save: nftables mode keeps them in nftables table {table}, and a replacement in its own datapath; an iptables-save cannot tell the two apart.{}",
            if u.legacy_tables_present {
                " This dump also warns that iptables-legacy tables exist: kube-proxy's rules may be there instead (`iptables-legacy-save`)."
            } else {
                ""
            }
        ),
        ProxyMode::Cilium => format!(
            "Cilium's eBPF programs, not these iptables rules, decide {t}, and iptables-save does not show them."
        ),
        ProxyMode::Iptables | ProxyMode::Unknown => String::new(),
    }
}

/// `Lines 56 and 57` with `send`, `Line 56` with `sends`, or `None` when there are none.
fn line_numbers(rules: &[ModeRule]) -> Option<(String, &'static str)> {
    let numbers: Vec<String> = rules.iter().map(|r| r.sighting.line.to_string()).collect();
    match numbers.as_slice() {
        [] => None,
        [one] => Some((format!("Line {one}"), "sends")),
        [init @ .., last] => Some((format!("Lines {} and {last}", init.join(", ")), "send")),
    }
}

/// nftables: which element dispatches (or drops) the target, and to which chain.
fn nft_dispatch(u: &UnsupportedMode, t: &str) -> String {
    if u.target_rules.is_empty() {
        return format!(" No element of its maps names {t}.");
    }
    let said: Vec<String> = u
        .target_rules
        .iter()
        .map(|r| match &r.role {
            ModeRuleRole::NftDispatch { chain: Some(chain) } => format!(
                "line {} ({}) sends {t} to chain {chain}, which decides its fate",
                r.sighting.line,
                r.sighting.chain.as_deref().unwrap_or_default()
            ),
            ModeRuleRole::NftNoEndpoints => format!(
                "line {} ({}) drops or rejects {t}: the service has no endpoint for it here",
                r.sighting.line,
                r.sighting.chain.as_deref().unwrap_or_default()
            ),
            _ => format!("line {} names {t}", r.sighting.line),
        })
        .collect();
    format!(" In it, {}.", said.join("; "))
}

/// What can be said by hand from the mode and the rules that name the target, if anything.
pub fn unsupported_answer(u: &UnsupportedMode, target: &Target) -> Option<String> {
    let node_port = match target {
        Target::NodePort { port, .. } => Some(port.to_string()),
        _ => None,
    };
    answer(u, node_port.as_deref())
}

/// What can be said by hand; `node_port`: the nodePort asked (`30081`, `a nodePort`), if
/// one is.
fn answer(u: &UnsupportedMode, node_port: Option<&str>) -> Option<String> {
    match u.mode {
        ProxyMode::Ipvs => node_port.map(|port| ipvs_answer(u, port)),
        ProxyMode::Userspace => Some(
            "Whatever the source, the backend never sees the client's address: it sees an address of this node, as if masqueraded. To keep client addresses, run kube-proxy in iptables or IPVS mode and give the service externalTrafficPolicy: Local.".into(),
        ),
        ProxyMode::Nftables => node_port.map(|_| {
            "In kube-proxy's nftables rules, a service with externalTrafficPolicy: Cluster masquerades every source of its nodePort; with Local, external clients reach this node's endpoints with their own address, pods keep theirs, and connections from this node's own addresses are masqueraded.".into()
        }),
        ProxyMode::NftablesOrNone => Some(format!(
            "If `nft list table {}` shows the table, kube-proxy runs in nftables mode, and its `service-nodeports` and `service-ips` maps name the chain that decides; if there is no such table, no kube-proxy runs here: ask the service proxy that replaces it (Cilium: `cilium-dbg service list`).",
            nft_table_name(u.family)
        )),
        ProxyMode::Cilium => Some(
            "Whether the client's address survives depends on the service's externalTrafficPolicy (Local keeps it) and on Cilium's load-balancing mode: SNAT, the default, masquerades connections it sends to another node's endpoint; DSR keeps the address (hybrid: DSR for TCP, SNAT for UDP).".into(),
        ),
        ProxyMode::Iptables | ProxyMode::Unknown => None,
    }
}

/// IPVS: the conditional verdicts, by which ipset holds the nodePort.
fn ipvs_answer(u: &UnsupportedMode, port: &str) -> String {
    let (local, all) = ipvs_node_port_sets(u.protocol);
    let line_of = |role: ModeRuleRole| {
        u.target_rules
            .iter()
            .find(|r| r.role == role)
            .map(|r| r.sighting.line)
    };
    let local_rule = match line_of(ModeRuleRole::IpvsLocalReturn) {
        Some(line) => format!("the rule on line {line}"),
        None => "kube-proxy's KUBE-NODE-PORT rule for that set (not in this dump)".into(),
    };
    let mark_rule = match line_of(ModeRuleRole::IpvsMark) {
        Some(line) => format!("the rule on line {line}"),
        None => "kube-proxy's KUBE-NODE-PORT rule for that set (not in this dump)".into(),
    };
    format!(
        "If {port} is in {local} (externalTrafficPolicy: Local), {local_rule} returns before any mark: external clients and pods keep their address. If it is only in {all}, {mark_rule} marks it and KUBE-POSTROUTING masquerades every source (IPVS serves no nodePort on 127.0.0.1)."
    )
}

/// The commands that show what decides the target (empty when the answer needs none).
pub fn unsupported_commands(u: &UnsupportedMode, target: &Target) -> Vec<String> {
    commands(u, || ipvs_commands(u, target))
}

/// The commands that show what decides, IPVS's from `ipvs`.
fn commands(u: &UnsupportedMode, ipvs: impl FnOnce() -> Vec<String>) -> Vec<String> {
    let table = nft_table_name(u.family);
    match u.mode {
        ProxyMode::Ipvs => ipvs(),
        ProxyMode::Nftables => vec![format!("nft list table {table}")],
        ProxyMode::NftablesOrNone => {
            let legacy = u
                .legacy_tables_present
                .then(|| "iptables-legacy-save".to_string());
            legacy
                .into_iter()
                .chain([
                    format!("nft list table {table}"),
                    "cilium-dbg service list".into(),
                ])
                .collect()
        }
        ProxyMode::Cilium => vec![
            "cilium-dbg service list".into(),
            "cilium-dbg status --verbose".into(),
        ],
        ProxyMode::Userspace | ProxyMode::Iptables | ProxyMode::Unknown => Vec::new(),
    }
}

/// IPVS: the nodePort's ipsets and the IPVS virtual server of the asked address.
fn ipvs_commands(u: &UnsupportedMode, target: &Target) -> Vec<String> {
    let service = match u.protocol {
        Protocol::Udp => "-u",
        Protocol::Sctp => "--sctp-service",
        _ => "-t",
    };
    let at = |ip: Option<IpAddr>, port: u16| match ip {
        Some(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
        Some(IpAddr::V4(v4)) => format!("{v4}:{port}"),
        None => format!("<node IP>:{port}"),
    };
    match target {
        Target::NodePort { port, .. } => {
            let (local, all) = ipvs_node_port_sets(u.protocol);
            vec![
                format!("ipset list {local}"),
                format!("ipset list {all}"),
                format!("ipvsadm -Ln {service} {}", at(u.node_ip, *port)),
            ]
        }
        Target::Address { ip, port, .. } => {
            vec![format!("ipvsadm -Ln {service} {}", at(Some(*ip), *port))]
        }
        Target::Service { .. } => vec!["ipvsadm -Ln".into()],
    }
}

/// What the rules naming the target are called, for a heading.
pub fn target_rules_label(u: &UnsupportedMode) -> &'static str {
    match u.mode {
        ProxyMode::Nftables => "map elements that name it",
        _ => "rules that name it",
    }
}

/// The whole answer in one paragraph (for JSON).
pub fn unsupported_message(u: &UnsupportedMode, target: &Target) -> String {
    ModeAnswer::for_target(u, target).message()
}

/// A mode's answer, worded once for every format: about one target (`explain`, `graph`,
/// `check`) or about a whole input (`ports`, `diff`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModeAnswer {
    /// What was asked and which mode the dump is from.
    pub headline: String,
    /// Why the dump's rules do not decide.
    pub why: String,
    /// What the rules listed (the mode's rules naming the target) are called.
    pub rules_label: &'static str,
    /// What can be said by hand, if anything.
    pub answer: Option<String>,
    /// What to run on the node instead.
    pub commands: Vec<String>,
}

impl ModeAnswer {
    /// The answer about `target` (`explain`'s).
    pub fn for_target(u: &UnsupportedMode, target: &Target) -> Self {
        ModeAnswer {
            headline: unsupported_headline(u, target),
            why: unsupported_why(u, target),
            rules_label: target_rules_label(u),
            answer: unsupported_answer(u, target),
            commands: unsupported_commands(u, target),
        }
    }

    /// The answer about a whole input, none of whose nodePorts these rules show
    /// (`ports`, `diff`); its rules are the mode's nodePort rules.
    pub fn for_input(u: &UnsupportedMode) -> Self {
        let headline = format!("nodePorts: {}", mode_clause(u));
        let why = match u.mode {
            ProxyMode::Ipvs => "In IPVS mode these rules only mark connections for masquerading and filter them: which nodePorts are served, which are marked, and which endpoints IPVS sends them to are decided by ipsets and IPVS virtual servers, which iptables-save does not show.".into(),
            ProxyMode::Nftables => format!(
                "{} Its map service-nodeports lists the nodePorts.",
                nft_why(u)
            ),
            _ => why(u, "its nodePorts"),
        };
        let (local, all) = ipvs_node_port_sets(u.protocol);
        ModeAnswer {
            headline,
            why,
            rules_label: "its nodePort rules",
            answer: answer(u, Some("a nodePort")),
            commands: commands(u, || {
                vec![
                    format!("ipset list {local}"),
                    format!("ipset list {all}"),
                    "ipvsadm -Ln".into(),
                ]
            }),
        }
    }

    /// The whole answer in one paragraph (for JSON and standard error).
    pub fn message(&self) -> String {
        let mut text = format!("{}. {}", self.headline, self.why);
        if let Some(answer) = &self.answer {
            text += &format!(" {answer}");
        }
        if !self.commands.is_empty() {
            let quoted: Vec<String> = self.commands.iter().map(|c| format!("`{c}`")).collect();
            text += &format!(" Run on the node: {}.", quoted.join("; "));
        }
        text
    }
}

/// `trace`'s note on a dump from a mode `explain` cannot analyse: the mode, what shows
/// it, and what the trace, which walks only the iptables rules, does not show.
pub fn trace_note(u: &UnsupportedMode) -> String {
    let shown: Vec<String> = u.evidence.iter().map(cite).collect();
    let mode = if shown.is_empty() {
        mode_name(u.mode).to_string()
    } else {
        format!("{}, {SHOWN_BY} {}", mode_name(u.mode), listed(&shown))
    };
    const ONLY: &str = "this trace shows only what its iptables rules do.";
    let table = nft_table_name(u.family);
    let missing = match u.mode {
        ProxyMode::Ipvs => format!(
            "{ONLY} IPVS, not these rules, does the DNAT: a connection to a service address or nodePort is delivered locally (INPUT), where IPVS picks an endpoint and rewrites the destination, then sends it on, masqueraded if these rules marked it. The ipsets these rules test are not in the dump either: tests on them are assumed."
        ),
        ProxyMode::Userspace => format!(
            "{ONLY} A rule that REDIRECTs or DNATs a service connection sends it to kube-proxy's own process, which opens a second connection, from a node address, to an endpoint: that connection is not traced."
        ),
        ProxyMode::Nftables => format!(
            "kube-proxy's rules are nftables rules in table {table}, which srcip-rules cannot walk yet; it walks only iptables-save rules."
        ),
        ProxyMode::NftablesOrNone => format!(
            "{ONLY} kube-proxy's nftables rules (table {table}), or a replacement's own datapath, decide service connections, and iptables-save does not show them."
        ),
        ProxyMode::Cilium => format!(
            "{ONLY} Cilium's eBPF programs handle service addresses and nodePorts before these rules see the packet, and such connections may never meet them."
        ),
        ProxyMode::Iptables | ProxyMode::Unknown => String::new(),
    };
    format!("the dump is from {mode}: {missing}")
}
