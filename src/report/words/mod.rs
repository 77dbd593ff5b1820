//! The sentences every format shares: how an explanation's typed values read in English.
//! Text, Markdown and JSON all take their words from here, so a finding is worded once.
//! Nothing here sanitises: callers do, since each format escapes differently. A branch's
//! detail and a class's summary are in `branch`; what `iptables-save -c` counters say, in
//! `counters`; the proxy mode's words in [`mode`].

mod branch;
mod commands;
mod counters;
pub mod mode;
mod summary;
pub mod trace;

pub use branch::{branch_detail, class_summary, masquerade_to};
pub use commands::{
    absent, answers, check_footer, diff_gist, diff_not_compared, diff_service, diff_side, fate,
    graph_not_found, node_cell, port_name, ports_footer, prefix_notes, row_cell, row_endpoints,
    row_kind, rows_of_several_kinds,
};
pub use counters::{counter_evidence, next_command, packets};
pub use summary::{
    class_label, l7_routes, port_gist, reached, remedies, remedy, sees, standing_out, table_order,
    verdict_cell,
};

use std::net::IpAddr;

use crate::kube::BranchExplanation;
use crate::kube::chains::standard_chain_owner;
use crate::kube::destination::{Destination, DestinationKind};
use crate::kube::era::{Clue, Era};
use crate::kube::explanation::{AvailablePort, ClassExplanation, ClassKind, Explanation};
use crate::kube::findings::{BranchNote, BranchNoteKind, PortAssumption, PortNote, UndecidedTest};
use crate::kube::shape::{Endpoint, PolicyEvidence, PolicyScope};
use crate::kube::target::Target;
use crate::model::Family;
use crate::model::ToleranceKind;
use crate::netfilter::Translation;
use crate::netfilter::inspect::DumpWarning;

/// The era's name.
pub fn era(era: Era) -> &'static str {
    match era {
        Era::Xlb => "KUBE-XLB era",
        Era::Ext => "KUBE-EXT/KUBE-SVL era",
        Era::Unrecognised => "unrecognised",
    }
}

/// What a clue says, with the versions it implies.
pub fn clue(clue: &Clue) -> String {
    match clue {
        Clue::LoopbackMasqueradeRule => {
            "a `-s 127.0.0.0/8 … -j KUBE-MARK-MASQ` rule in KUBE-NODEPORTS (1.10–1.23)".into()
        }
        Clue::NoLoopbackMasqueradeRule => {
            "no 127.0.0.0/8 masquerade rule before the KUBE-XLB jump (≤1.9)".into()
        }
        Clue::XlbLocalTrafficRules { chain } => {
            format!("{chain} has the \"masquerade LOCAL traffic\" rules (1.15–1.23)")
        }
        Clue::XlbNoLocalTrafficRules { chain } => {
            format!("{chain} lacks the \"masquerade LOCAL traffic\" rules (≤1.14)")
        }
        Clue::JumpToExt { entry, chain } => format!("{entry} jumps to {chain} (≥1.24)"),
        Clue::MasqueradeInNodePorts => {
            "the nodePort's KUBE-MARK-MASQ rule is in KUBE-NODEPORTS (≤1.21)".into()
        }
        Clue::MasqueradeInServiceChain { chain } => {
            format!("the nodePort's KUBE-MARK-MASQ rule is in {chain} (1.22–1.23)")
        }
        Clue::OnlyNoEndpointsReject => "the nodePort only has a filter KUBE-EXTERNAL-SERVICES \"has no endpoints\" REJECT rule (≈1.13+)".into(),
        Clue::ClusterIpMasqueradeInServices => {
            "the ClusterIP's KUBE-MARK-MASQ rule is in KUBE-SERVICES (≤1.21)".into()
        }
        Clue::ClusterIpMasqueradeInServiceChain { chain } => {
            format!("the ClusterIP's KUBE-MARK-MASQ rule is in {chain} (≥1.22)")
        }

        Clue::RulesetHasChain {
            chain,
            era: Era::Xlb,
        } => format!("the ruleset has KUBE-XLB chains such as {chain} (≤1.23)"),
        Clue::RulesetHasChain { chain, .. } => {
            format!("the ruleset has KUBE-EXT/KUBE-SVL chains such as {chain} (≥1.24)")
        }
        Clue::LocalChainMarksDrop { chain } => format!("{chain} jumps to KUBE-MARK-DROP (1.24)"),
        Clue::ProxyFirewall => "filter chain KUBE-PROXY-FIREWALL exists (≥1.25)".into(),
        Clue::Nfacct => "an `-m nfacct` localhost nodePort rule (≥1.31)".into(),
        Clue::PostroutingTriplet => "KUBE-POSTROUTING has the RETURN / clear-mark / MASQUERADE triplet (≥1.18.6, or patched 1.16–1.17)".into(),
        Clue::PostroutingSingleRule => {
            "KUBE-POSTROUTING is the single mark-testing MASQUERADE rule (≤1.18.5)".into()
        }
    }
}

/// Why the rules show the service's policy.
pub fn policy_evidence(evidence: &PolicyEvidence) -> String {
    match evidence {
        PolicyEvidence::Missing => "the rules that would show it are missing".into(),
        PolicyEvidence::ToXlb { entry, chain } => format!(
            "{entry} sends it to {chain} (external traffic to local endpoints only)"
        ),
        PolicyEvidence::ExtShortCircuits {
            chain,
            to_local_chain,
        } => format!(
            "{chain} short-circuits pod and node-local sources and otherwise {}",
            if *to_local_chain {
                "goes to the local-endpoint chain"
            } else {
                "ends without a jump (no local endpoints)"
            }
        ),
        PolicyEvidence::ExtMarksAll { chain } => {
            format!("{chain} marks all traffic for masquerading and jumps to the cluster chain")
        }
        PolicyEvidence::ToCluster { entry, chain } => {
            format!("{entry} jumps straight to {chain} (all endpoints)")
        }
        PolicyEvidence::InternalCluster { chain } => {
            format!("the ClusterIP's rule jumps to {chain} (all endpoints)")
        }
        PolicyEvidence::InternalLocal { chain } => {
            format!("the ClusterIP's rule jumps to {chain} (this node's endpoints only)")
        }
        PolicyEvidence::NoEndpoints => "not visible: the service has no endpoints, so kube-proxy wrote no nat rules for it, only the \"has no endpoints\" REJECT rule".into(),
    }
}

/// Where an endpoint's chain DNATs to, or which chain it is when the chain is missing.
pub fn endpoint_address(endpoint: &Endpoint) -> String {
    match endpoint.address {
        Some(range) => range.to_string(),
        None => format!("(in {})", endpoint.chain),
    }
}

/// What a destination is, in a heading: `nodePort 3001/tcp`, `ClusterIP 10.96.0.10:53/udp`.
pub fn destination(d: &Destination) -> String {
    let at = |address: IpAddr| match address {
        IpAddr::V6(v6) => format!("[{v6}]:{}/{}", d.port, d.protocol),
        IpAddr::V4(v4) => format!("{v4}:{}/{}", d.port, d.protocol),
    };
    let port = format!("{}/{}", d.port, d.protocol);
    match (d.kind, d.address) {
        (DestinationKind::NodePort, None) => format!("nodePort {port}"),
        (DestinationKind::NodePort, Some(a)) => format!("nodePort {port} on {a}"),
        (DestinationKind::HealthCheck, None) => format!("health-check nodePort {port}"),
        (DestinationKind::HealthCheck, Some(a)) => format!("health-check nodePort {port} on {a}"),
        (DestinationKind::LoadBalancerIp, Some(a)) => format!("LoadBalancer IP {}", at(a)),
        (DestinationKind::ExternalIp, Some(a)) => format!("externalIP {}", at(a)),
        (DestinationKind::ExternalAddress, Some(a)) => {
            format!("LoadBalancer IP or externalIP {}", at(a))
        }
        (DestinationKind::ClusterIp, Some(a)) => format!("ClusterIP {}", at(a)),
        (_, Some(a)) => at(a),
        (_, None) => port,
    }
}

/// [`destination`], and the family when IPv6: `nodePort 3001/tcp (IPv6)`.
pub fn destination_in(d: &Destination, family: Family) -> String {
    match family {
        Family::Ipv4 => destination(d),
        Family::Ipv6 => format!("{} (IPv6)", destination(d)),
    }
}

/// The traffic policy's name: `externalTrafficPolicy` or `internalTrafficPolicy`.
pub fn policy_name(scope: PolicyScope) -> &'static str {
    match scope {
        PolicyScope::External => "externalTrafficPolicy",
        PolicyScope::Internal => "internalTrafficPolicy",
    }
}

/// What the rules naming a destination are called in a report.
pub fn entry_rules_name(kind: DestinationKind) -> &'static str {
    match kind {
        DestinationKind::NodePort => "nodePort rules",
        DestinationKind::HealthCheck => "health-check rule",
        _ => "service rules",
    }
}

/// What a NAT rule translates to, as its rule writes it (an endpoint, for DNAT).
pub fn translation(to: &Translation) -> String {
    match to {
        Translation::Range { first, .. } => first.to_string(),
        Translation::Redirect { port } => format!("this node:{port}"),
        Translation::Unspecified | Translation::Masquerade => String::new(),
    }
}

/// A branch's endpoint, or `none` when it has none.
pub fn endpoint_or(endpoint: Option<&Translation>, none: &str) -> String {
    endpoint.map_or_else(|| none.to_string(), translation)
}

/// `3001/tcp (ns/svc:port)`: one of the nodePorts a dump has.
pub fn available_port(port: &AvailablePort) -> String {
    match &port.service {
        Some(s) => format!("{}/{} ({s})", port.port, port.protocol),
        None => format!("{}/{}", port.port, port.protocol),
    }
}

/// What was not found, for an explanation without destinations: the target, or the
/// address family the question is in.
pub fn not_found(explanation: &Explanation) -> String {
    let target = explanation.target.to_string();
    if let Some(mismatch) = explanation.family_mismatch {
        let other = match mismatch.asked {
            Family::Ipv4 => Family::Ipv6,
            Family::Ipv6 => Family::Ipv4,
        };
        return if mismatch.dump_has_family {
            format!(
                "`{target}` was asked with {} addresses, but its rules in the dump are {other} ones: ask with {other} addresses (--src, --dst, --node-ip)",
                mismatch.asked
            )
        } else {
            let save = match mismatch.asked {
                Family::Ipv4 => "iptables-save",
                Family::Ipv6 => "ip6tables-save",
            };
            format!(
                "`{target}` was asked with {} addresses, but the dump holds {other} rules only: save the node's {} rules with `{save}` (the two dumps may be concatenated into one input) and explain that",
                mismatch.asked, mismatch.asked
            )
        };
    }
    match &explanation.target {
        Target::Service { .. } => format!("no rule of service `{target}` in the dump"),
        _ => format!("no nodePort rule for `{target}` in the dump"),
    }
}

/// In place of a rule already shown in full in the same destination's report (with its
/// `-c` counters, which the evidence reads).
pub fn shown_above(rule: &crate::kube::RuleRef) -> String {
    match rule.counters {
        Some(c) => format!("[{}:{}] (the rule shown above)", c.packets, c.bytes),
        None => "(the rule shown above)".to_string(),
    }
}

/// The branches of a class a report leaves out, counted by verdict.
pub fn branches_not_shown(rest: &[BranchExplanation]) -> String {
    let mut counts: Vec<(&'static str, usize, f64)> = Vec::new();
    for b in rest {
        let word = b.verdict.as_str();
        match counts.iter_mut().find(|(w, _, _)| *w == word) {
            Some(entry) => {
                entry.1 += 1;
                entry.2 += b.probability;
            }
            None => counts.push((word, 1, b.probability)),
        }
    }
    let listed: Vec<String> = counts
        .iter()
        .map(|(word, n, p)| format!("{n} {word} (p={p:.4} in all)"))
        .collect();
    format!(
        "… and {} more branch(es), not shown: {} (they differ in the assumptions above; `--src` with one address narrows them)",
        rest.len(),
        listed.join(", ")
    )
}

/// Why `explain` gives no verdict for an input whose lines say it is not analysable as is.
pub fn refused_input() -> &'static str {
    "not analysed: the lines above say this input is not `iptables-save` output as written (another program's listing, or rules cut in two), and what to run or fix instead"
}

/// Why a target may be missing from a cut dump, and the command that would show its rules.
pub fn cut_not_found(target: &Target, last_line: u32) -> String {
    let grep = match target {
        Target::NodePort { port, .. } => format!("iptables-save | grep -- '--dport {port} '"),
        Target::Address { ip, port, .. } => {
            format!("iptables-save | grep -- '{ip}.*--dport {port} '")
        }
        Target::Service {
            namespace, name, ..
        } => format!("iptables-save | grep -- '{namespace}/{name}'"),
    };
    format!(
        "the input is cut (it ends at line {last_line}, inside a table with no COMMIT), so its rules may be after the cut: run `{grep}` on the node, or attach the whole `iptables-save` output"
    )
}

/// "the dump has nodePorts …" (or has none), for a target that was not found: all of them
/// when they are few, else how many and the nearest (`total` is how many there are).
pub fn available_line(available: &[AvailablePort], total: usize) -> String {
    let list: Vec<String> = available.iter().map(available_port).collect();
    if available.is_empty() {
        "the dump has no KUBE-NODEPORTS rules at all".to_string()
    } else if total <= available.len() {
        format!("the dump has nodePorts: {}", list.join(", "))
    } else {
        format!(
            "the dump has {total} nodePorts; the nearest to what was asked: {}, …",
            list.join(", ")
        )
    }
}

/// The class's name: which sources it stands for.
pub fn class_name(class: &ClassExplanation) -> String {
    let single = class
        .prefix
        .filter(|p| p.prefix_len() == p.max_prefix_len());
    match class.kind {
        ClassKind::Loopback => format!(
            "sources in {} (processes on this node connecting to {})",
            prefix_text(class),
            class.source
        ),
        ClassKind::Node => "this node's own addresses".into(),
        ClassKind::Endpoint => format!(
            "the endpoint's own address {} (hairpin)",
            single.map_or(class.source, |p| p.addr())
        ),
        ClassKind::Prefix => match single {
            Some(p) => format!("source {}", p.addr()),
            None => format!("sources in {}", prefix_text(class)),
        },
        ClassKind::Pods => format!("pods in {}", prefix_text(class)),
        ClassKind::Other => "all other sources (external clients)".into(),
        ClassKind::Given => format!("source {}", class.source),
    }
}

fn prefix_text(class: &ClassExplanation) -> String {
    class.prefix.map(|p| p.to_string()).unwrap_or_default()
}

/// " (mixed: masqueraded p=0.5000, preserved p=0.5000)" after a class verdict, or "".
pub fn mixed_suffix(class: &ClassExplanation) -> String {
    if class.mixed.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = class
        .mixed
        .iter()
        .map(|o| format!("{} p={:.4}", o.verdict.as_str(), o.probability))
        .collect();
    format!(" (mixed: {})", parts.join(", "))
}

/// A note about a nodePort's rules.
pub fn port_note(note: &PortNote) -> String {
    match note {
        PortNote::LoopbackMasqueradeOnly { line, net } => format!(
            "The rule on line {line} (`-s {net} … -j KUBE-MARK-MASQ`) does not restrict access to loopback: it only marks connections from {net} for masquerading. Every other source skips it and goes on to the next rule."
        ),
        PortNote::ConflictingRules {
            port,
            protocol,
            services,
        } => {
            let listed: Vec<String> = services
                .iter()
                .map(|(s, lines)| format!("{s} ({})", lines_text(lines)))
                .collect();
            format!(
                "Conflicting rules: KUBE-NODEPORTS has rules for {} services on nodePort {port}/{protocol}: {}. kube-proxy never gives two services the same nodePort, so this dump is hand-made, a test fixture, or mixes rules from different kube-proxies. The kernel runs the rules in order and a rule that only marks (KUBE-MARK-MASQ, KUBE-MARK-DROP) does not stop it, so a later service's rule can still take the connection; the verdicts below follow the rules as written.",
                services.len(),
                listed.join(", ")
            )
        }
        PortNote::HealthCheckNodePort {
            port,
            line,
            healthy,
        } => format!(
            "The service has a healthCheckNodePort, {port} (line {line}): kube-proxy answers it on every node, with success only where the service has a local endpoint, so a cloud load balancer that checks it sends traffic only to those nodes, where the client IP is preserved. {}",
            if *healthy {
                "This node has a local endpoint: its check succeeds."
            } else {
                "This node has no local endpoint: its check fails, and a load balancer that checks it sends it no traffic."
            }
        ),
        PortNote::NoServiceAtDestination => "No kube-proxy rule names this address and port: no service is reached here; the verdicts below are what the rules do to such a connection.".into(),
        PortNote::InputCut { tables } => {
            let list: Vec<String> = tables
                .iter()
                .map(|(table, line)| format!("{table} (the input ends at line {line})"))
                .collect();
            format!(
                "The input is cut: no COMMIT for table {}. Rules after the cut are unknown, so every verdict here is partial and may change; attach the whole `iptables-save` output.",
                list.join(", ")
            )
        }
        PortNote::NextCommand { patterns } => format!(
            "To settle the partial verdicts, run this on the node and attach its output: `iptables-save | grep -E -- '{}'`",
            patterns.join("|")
        ),
        PortNote::UnparsedLines { lines, count } => {
            let shown: Vec<String> = lines.iter().map(u32::to_string).collect();
            let more = if *count > lines.len() {
                format!(" and {} more", count - lines.len())
            } else {
                String::new()
            };
            format!(
                "{count} line(s) of this node's rules could not be parsed (line {}{more}) and were left out, so every verdict here is partial; `srcip-rules inspect` shows why.",
                shown.join(", ")
            )
        }
        PortNote::MissingChains { chains } => {
            let one = chains.len() == 1;
            format!(
                "This dump is partial: {} {} not in it, so verdicts that depend on {} are partial.",
                chains.join(", "),
                if one { "is" } else { "are" },
                if one { "it" } else { "them" },
            )
        }
    }
}

/// "line 3" or "lines 3, 4".
pub(crate) fn lines_text(lines: &[u32]) -> String {
    let list: Vec<String> = lines.iter().map(u32::to_string).collect();
    format!(
        "line{} {}",
        if lines.len() == 1 { "" } else { "s" },
        list.join(", ")
    )
}

/// An assumption every class of a nodePort rests on.
pub fn port_assumption(assumption: &PortAssumption) -> String {
    match assumption {
        PortAssumption::NodeAddressFromDump {
            listed,
            lines,
            node,
        } => {
            let listed: Vec<String> = listed.iter().map(IpAddr::to_string).collect();
            format!(
                "this node's address is taken from the dump: KUBE-SERVICES sends only destination {} to KUBE-NODEPORTS ({}: kube-proxy's --nodeport-addresses), so the nodePort answers only there; {node} is used as this node's address and as the destination; give --node-ip (and --dst) to use others",
                listed.join(", "),
                lines_text(lines)
            )
        }
        PortAssumption::SymbolicNodeAddress { node } => format!(
            "this node's address is symbolic: {node} stands for an address of the node (addrtype LOCAL) outside every prefix the rules test; give --node-ip to use the real one"
        ),
        PortAssumption::AddressNotLocal { address } => format!(
            "{address} is taken not to be an address of this node (kube-proxy's iptables mode does not add it; a cloud may): a connection the rules do not DNAT is routed on, not delivered here; if the node has the address, give it with --node-ip"
        ),
        PortAssumption::NodeAddressAssumed { address } => format!(
            "{address} is taken to be an address of this node (it is asked with a nodePort and no rule names it as a service address); give --node-ip to say so"
        ),
        PortAssumption::NatEntry { chain } => format!(
            "nat PREROUTING/OUTPUT are not in the dump; the walk starts at {chain}, as kube-proxy's hooks would send a packet for a node address there"
        ),
        PortAssumption::FilterEntry => "filter INPUT/FORWARD are not in the input; new connections enter KUBE-EXTERNAL-SERVICES there, as kube-proxy's hooks (`-m conntrack --ctstate NEW -j KUBE-EXTERNAL-SERVICES`) would send them".to_string(),
        PortAssumption::NodePortTail { services_shown } => format!(
            "{}; the walk enters KUBE-NODEPORTS as kube-proxy's default last rule of KUBE-SERVICES would (`-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`; with `--nodeport-addresses` it names addresses instead, and 127.0.0.1 may not reach the nodePort)",
            if *services_shown {
                "the input shows KUBE-SERVICES without its last rule, the jump to KUBE-NODEPORTS (a grep or a cut dump)"
            } else {
                "KUBE-SERVICES, which leads to KUBE-NODEPORTS, is not in the input"
            }
        ),
    }
}

/// A branch's note, prefixed with its rule's line.
pub fn branch_note(note: &BranchNote) -> String {
    let text = branch_note_text(&note.kind);
    match note.line {
        Some(line) => format!("line {line}: {text}"),
        None => text,
    }
}

fn branch_note_text(kind: &BranchNoteKind) -> String {
    match kind {
        BranchNoteKind::Assumed { matched, why } => {
            let why: Vec<String> = why.iter().map(undecided_test).collect();
            format!(
                "assumed {}: {}",
                if *matched { "to match" } else { "not to match" },
                why.join("; ")
            )
        }
        BranchNoteKind::NoAffinityHistory { action, name } => format!(
            "`-m recent --{action} --name {name}` (session affinity) does not match a new client: it has no entry in that list yet; a returning client would go to the endpoint it used before"
        ),
        BranchNoteKind::ConnmarkIgnored => {
            "CONNMARK is not modelled: the packet mark is assumed unchanged".into()
        }
        BranchNoteKind::StandardChainAssumed { chain, mark } => format!(
            "{chain} is not in the dump; assumed to be {}'s standard `-j MARK --set-xmark {:#x}/{:#x}`",
            standard_chain_owner(chain),
            mark.value,
            mark.mask
        ),
    }
}

/// Why a test could not be decided.
pub fn undecided_test(why: &UndecidedTest) -> String {
    match why {
        UndecidedTest::UninterpretedOption { module, option } => {
            format!("option `--{option}` of `-m {module}` is not interpreted")
        }
        UndecidedTest::Interface {
            incoming,
            negated,
            name,
        } => format!(
            "interface test `{}{} {name}` needs the {} interface, which the dump does not say",
            if *negated { "! " } else { "" },
            if *incoming { "-i" } else { "-o" },
            if *incoming { "incoming" } else { "outgoing" }
        ),
        UndecidedTest::AddressType(t) => {
            format!(
                "address type `{}` is not interpreted",
                t.to_ascii_uppercase()
            )
        }
        UndecidedTest::ConnectionState(s) => format!(
            "connection state `{}` is not interpreted",
            s.to_ascii_uppercase()
        ),
        UndecidedTest::ConntrackWithoutState { module } => {
            format!("`-m {module}` without a state test is not interpreted")
        }
        UndecidedTest::Ipset { name } => {
            format!("the contents of ipset `{name}` are not in the dump")
        }
        UndecidedTest::Physdev => "bridge port tests (`-m physdev`) are not interpreted".into(),
        UndecidedTest::Module { name } => format!("match module `-m {name}` is not interpreted"),
    }
}

/// What to know about a dump before trusting an analysis of it.
pub fn dump_warning(warning: &DumpWarning) -> String {
    let ruleset = |line: &u32| format!("ruleset at line {line}");
    match warning {
        DumpWarning::Empty => {
            "the input has no rules and no tables: is this iptables-save output?".into()
        }
        DumpWarning::Fragment {
            ruleset_line,
            assumed,
        } => format!(
            "{} is a fragment (rules without a `*table` header, as from `iptables-save | grep`): assumed table(s) {}; chains not in the fragment are unknown",
            ruleset(ruleset_line),
            assumed.join(", ")
        ),
        DumpWarning::Truncated { ruleset_line } => format!(
            "{} is truncated: a table has no COMMIT, so later rules may be missing",
            ruleset(ruleset_line)
        ),
        DumpWarning::LegacyTablesPresent { ruleset_line, line } => format!(
            "{}: line {line} says iptables-legacy tables are present too; their rules are not in this dump (run iptables-legacy-save as well)",
            ruleset(ruleset_line)
        ),
        DumpWarning::NoNatTable { ruleset_line } => format!(
            "{} has no nat table: kube-proxy's DNAT and masquerade rules live there",
            ruleset(ruleset_line)
        ),
        DumpWarning::OldIptablesNft {
            ruleset_line,
            version,
        } => format!(
            "{} was saved by iptables {version} (nf_tables): versions before 1.8.8 can silently omit matches (such as `-m mark`) from rules written by a newer iptables; if the node's kube-proxy image ships a newer iptables, save with that one",
            ruleset(ruleset_line)
        ),
        DumpWarning::BackendSplit => "the input holds both nf_tables and legacy IPv4 rulesets: the kernel applies both, so a verdict from one alone may be wrong".into(),
        DumpWarning::NotUtf8 { lines, first } => format!(
            "{lines} line(s) contain bytes that are not UTF-8 (shown as \\xNN), first on line {first}"
        ),
        DumpWarning::JumpLoop { chains, line } => format!(
            "the chains {} jump to each other in a loop (closed by line {line}): iptables-restore refuses this, and a packet entering it would never leave; this is not what a node runs",
            chains.join(" → ")
        ),
        DumpWarning::DuplicateDeclarations { examples, count } => {
            let shown: Vec<String> = examples
                .iter()
                .map(|(chain, first, again)| format!("{chain} (lines {first} and {again})"))
                .collect();
            format!(
                "{count} chain(s) declared twice in one table: {}{}; iptables-restore refuses this, so the dump was edited or spliced: the later declaration is used",
                shown.join(", "),
                more(*count, examples.len())
            )
        }
        DumpWarning::UndeclaredChains { examples, count } => {
            let shown: Vec<String> = examples
                .iter()
                .map(|(chain, line)| format!("{chain} (first rule on line {line})"))
                .collect();
            format!(
                "{count} chain(s) have rules but no `:CHAIN` declaration in their table: {}{}; iptables-restore refuses this, so lines are missing or the dump was edited",
                shown.join(", "),
                more(*count, examples.len())
            )
        }
        DumpWarning::Tolerated { kind, lines, first } => format!(
            "{lines} line(s) from line {first} on are {}",
            tolerated(*kind)
        ),
        DumpWarning::MissingJumpTargets { examples, count } => {
            let shown: Vec<String> = examples
                .iter()
                .map(|(chain, line)| format!("{chain} (jumped to on line {line})"))
                .collect();
            format!(
                "{count} chain(s) are jumped to but are not in the dump: {}{}; a path through them cannot be followed",
                shown.join(", "),
                more(*count, examples.len())
            )
        }
    }
}

/// What a kind of pasted line is, and what the parser did with it.
fn tolerated(kind: ToleranceKind) -> &'static str {
    match kind {
        ToleranceKind::GrepSeparator => "grep's `--` group separators, skipped",
        ToleranceKind::FragmentDeclaration => {
            "chain declarations with no `*table` line before them (grep output), taken into the fragment's table for each chain"
        }
        ToleranceKind::FragmentCommit => "COMMIT lines with no table open (grep context), skipped",
        ToleranceKind::LogPrefix => {
            "journald/syslog prefixes (`Jul 19 09:03:35 host unit[pid]: `), stripped"
        }
        ToleranceKind::ShellLine => {
            "shell prompts or shell error lines pasted with the output, skipped"
        }
        ToleranceKind::LogLine => {
            "journal lines that are not iptables-save output (journalctl's `-- … --` markers, other units' messages), skipped"
        }
        ToleranceKind::CutLine => {
            "the end of a cut dump: the last line has no line end and stops inside a table before its COMMIT, so it was cut mid-rule and is left out"
        }
    }
}

/// `, and 3 more` when a list shows `shown` of `count`.
fn more(count: usize, shown: usize) -> String {
    if count > shown {
        format!(", and {} more", count - shown)
    } else {
        String::new()
    }
}
