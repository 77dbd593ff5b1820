//! The sentences every format shares: how an explanation's typed values read in English.
//! Text, Markdown and JSON all take their words from here, so a finding is worded once.
//! Nothing here sanitises: callers do, since each format escapes differently.

use std::net::IpAddr;

use crate::kube::chains::standard_chain_owner;
use crate::kube::era::{Clue, Era};
use crate::kube::explanation::{
    AvailablePort, BranchExplanation, BranchReason, ClassExplanation, ClassKind, DropCause,
    Masquerade, Outcome, Verdict,
};
use crate::kube::findings::{BranchNote, BranchNoteKind, PortAssumption, PortNote, UndecidedTest};
use crate::kube::shape::{Endpoint, Locality, PolicyEvidence};
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
        Clue::NodePortsJumpToExt { chain } => format!("KUBE-NODEPORTS jumps to {chain} (≥1.24)"),
        Clue::MasqueradeInNodePorts => {
            "the nodePort's KUBE-MARK-MASQ rule is in KUBE-NODEPORTS (≤1.21)".into()
        }
        Clue::MasqueradeInServiceChain { chain } => {
            format!("the nodePort's KUBE-MARK-MASQ rule is in {chain} (1.22–1.23)")
        }
        Clue::OnlyNoEndpointsReject => "the nodePort only has a filter KUBE-EXTERNAL-SERVICES \"has no endpoints\" REJECT rule (≈1.13+)".into(),
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
        PolicyEvidence::NodePortsToXlb { chain } => format!(
            "KUBE-NODEPORTS sends it to {chain} (external traffic to local endpoints only)"
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
        PolicyEvidence::NodePortsToCluster { chain } => {
            format!("KUBE-NODEPORTS jumps straight to {chain} (all endpoints)")
        }
        PolicyEvidence::NoEndpoints => "not visible: the service has no endpoints, so kube-proxy wrote no nat rules for its nodePort, only the \"has no endpoints\" REJECT rule".into(),
    }
}

/// Where an endpoint's chain DNATs to, or which chain it is when the chain is missing.
pub fn endpoint_address(endpoint: &Endpoint) -> String {
    match endpoint.address {
        Some(range) => range.to_string(),
        None => format!("(in {})", endpoint.chain),
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
fn lines_text(lines: &[u32]) -> String {
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
        PortAssumption::NatEntry { chain } => format!(
            "nat PREROUTING/OUTPUT are not in the dump; the walk starts at {chain}, as kube-proxy's hooks would send a packet for a node address there"
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

/// What the endpoint sees under a source NAT, in words.
pub fn masquerade_to(m: &Masquerade) -> String {
    match (&m.rule, &m.to) {
        (None, _) => "a node address (kube-proxy's KUBE-POSTROUTING masquerades marked packets; not in this dump)".into(),
        (Some(_), Some(to)) => translation(to),
        (Some(_), None) => "a node address (MASQUERADE uses the address of the interface the packet leaves by: the node IP toward other nodes, a CNI bridge address toward local pods on bridge CNIs)".into(),
    }
}

/// " (line N)" for a reason's rule, or "".
fn at(line: Option<u32>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

/// "More than N distinct paths; the rules on lines … fork each time": a walk that stopped
/// at the path limit.
fn too_many_paths(line: Option<u32>, limit: usize, lines: &[u32], count: usize) -> String {
    let mut listed: Vec<String> = lines.iter().map(u32::to_string).collect();
    if count > lines.len() {
        listed.push("…".to_string());
    }
    let forks = match (lines.len(), count) {
        (0, _) => String::new(),
        (1, 1) => format!("; the rule on line {} forks each time", listed[0]),
        _ => format!(
            "; the rules on lines {} ({count} rules) fork each time",
            listed.join(", ")
        ),
    };
    format!(
        "More than {limit} distinct paths{}{forks}, so the walk stopped: `--max-paths` raises the limit.",
        at(line)
    )
}

/// One or two sentences on why a branch got its verdict.
pub fn branch_detail(b: &BranchExplanation) -> String {
    let mut detail = reason(b);
    if let Some(m) = &b.drop_mark_ignored {
        detail.push_str(&format!(
            " Line {} (in {}) had set kubelet's drop mark 0x8000{}, but a mark does not stop the walk: the rules after it went on, and nothing on this path drops marked packets (kubelet's KUBE-FIREWALL, which does, is hooked only from filter INPUT and OUTPUT).",
            m.rule.line,
            m.rule.chain,
            if m.no_local_endpoints {
                " (\"has no local endpoints\")"
            } else {
                ""
            }
        ));
    }
    detail
}

/// The endpoint, with its locality when the rules say it.
fn endpoint_words(b: &BranchExplanation) -> String {
    let endpoint = endpoint_or(b.endpoint.as_ref(), "");
    match b.locality {
        Some(l) if b.endpoint.is_some() && l != Locality::Unknown => {
            format!("{endpoint} ({} endpoint)", l.as_str())
        }
        _ => endpoint,
    }
}

fn reason(b: &BranchExplanation) -> String {
    match &b.reason {
        BranchReason::Dropped { rule, chain, cause } => dropped(*rule, chain, cause),
        BranchReason::Rejected { rule, no_endpoints } => format!(
            "Rejected by the rule on line {} in {}.{}",
            rule.line,
            rule.chain,
            if *no_endpoints {
                " The service has no endpoints at all."
            } else {
                ""
            }
        ),
        BranchReason::MarkedIntoMissingChain {
            chain,
            at: line,
            marked_by,
        } => format!(
            "Marked for masquerading{}, then the path goes on in {chain}{}, which is not in the dump: whichever endpoint it picks, kube-proxy's KUBE-POSTROUTING masquerades the marked connection (partial: the endpoint is unknown).",
            marked_by
                .as_ref()
                .map(|m| format!(" by line {}", m.line))
                .unwrap_or_default(),
            at(*line)
        ),
        BranchReason::MissingChain {
            chain,
            at: line,
            policy_chain,
        } => format!(
            "The path continues in {chain}{}, which is not in the dump; the verdict depends on it{}.",
            at(*line),
            if *policy_chain {
                " (with a local endpoint the source would be preserved; without one the connection would be dropped)"
            } else {
                ""
            }
        ),
        BranchReason::UnknownTarget { target, at: line } => format!(
            "The target `{target}`{} is not interpreted; what happens next is unknown.",
            at(*line)
        ),
        BranchReason::Unreadable { at: line } => format!(
            "The rule{} could not be read (a parse error); what happens next is unknown.",
            at(*line)
        ),
        BranchReason::Loop { chain, at: line } => format!(
            "A loop in the rules: the jump{} goes back into {chain}, which is already being walked with the packet unchanged, so the path never ends (a kernel refuses to load such rules).",
            at(*line)
        ),
        BranchReason::TooDeep { at: line, limit } => format!(
            "Chains nested more than {limit} deep{}: the walk follows no deeper. This is not a loop (no chain is entered twice in the same state); iptables-nft itself refuses more than 16 levels.",
            at(*line)
        ),
        BranchReason::TooManyPaths {
            at: line,
            limit,
            forking_lines,
            forking_count,
        } => too_many_paths(*line, *limit, forking_lines, *forking_count),
        BranchReason::TooMuchWork { limit } => format!(
            "More than {limit} rule evaluations: chains on the path are entered in ever new states (a mark or an address that changes on each call), so the walk stopped."
        ),
        BranchReason::NeverReachesNodePorts {
            tail_lines,
            destination,
            port,
        } => {
            let plural = tail_lines.len() > 1;
            let lines: Vec<String> = tail_lines.iter().map(u32::to_string).collect();
            format!(
                "It never reaches KUBE-NODEPORTS: the KUBE-SERVICES rule{} that lead{} there (line{} {}) {} not match destination {destination}. No rule DNATs it, so nothing of the service answers; the connection reaches the node itself (refused unless something else listens on port {port}).",
                if plural { "s" } else { "" },
                if plural { "" } else { "s" },
                if plural { "s" } else { "" },
                lines.join(", "),
                if plural { "do" } else { "does" },
            )
        }
        BranchReason::NotDnated => "No rule DNATs it: nothing of the service answers; the connection reaches the node itself.".into(),
        BranchReason::Masqueraded => masqueraded(b),
        BranchReason::MasqueradeAssumed => format!(
            "DNAT to {}; marked for masquerading and, assuming kube-proxy's KUBE-POSTROUTING (not in this dump), masqueraded.",
            endpoint_words(b)
        ),
        BranchReason::Preserved => format!(
            "DNAT to {} only; nothing rewrites the source: the endpoint sees the client's address.",
            endpoint_words(b)
        ),
    }
}

fn dropped(rule: Option<u32>, chain: &str, cause: &DropCause) -> String {
    let by = match rule {
        Some(line) => format!("rule on line {line} in {chain}"),
        None => format!("the policy of {chain}"),
    };
    let why = match cause {
        DropCause::NoLocalEndpoints => {
            " externalTrafficPolicy is Local and this node has no local endpoints.".to_string()
        }
        DropCause::DropMark(m) => format!(
            " Line {} (in {}) set the drop mark 0x8000 and kubelet's KUBE-FIREWALL rule drops marked packets{}.",
            m.rule.line,
            m.rule.chain,
            if m.no_local_endpoints {
                ": externalTrafficPolicy is Local and this node has no local endpoints"
            } else {
                ""
            }
        ),
        DropCause::Plain => String::new(),
    };
    format!("Dropped by the {by}.{why}")
}

fn masqueraded(b: &BranchExplanation) -> String {
    let Some(m) = &b.masquerade else {
        return String::new();
    };
    let Some(rule) = &m.rule else {
        return String::new();
    };
    let why = match (&m.marked_by, m.by_kube_proxy) {
        (Some(marker), true) => format!(
            " because line {} (in {}) marked it",
            marker.line, marker.chain
        ),
        (_, false) => " — a rule outside kube-proxy's chains".to_string(),
        (None, true) => String::new(),
    };
    let sees = match m.to {
        Some(to) => translation(&to),
        None => "a node address".to_string(),
    };
    format!(
        "DNAT to {}; masqueraded by line {} ({}){why}: the endpoint sees {sees}.",
        endpoint_words(b),
        rule.line,
        rule.chain,
    )
}

/// One or two sentences summing up a class.
pub fn class_summary(class: &ClassExplanation) -> String {
    let mut summary = if class.mixed.is_empty() {
        summarise(&class.branches, class.verdict)
    } else {
        summarise_mixed(&class.mixed, class.source)
    };
    if let Some((line, service)) = &class.taken_by_other {
        summary.push_str(&format!(
            " It is taken by another service's rule for the same nodePort: line {line} ({service}); see the note on conflicting rules."
        ));
    }
    summary
}

fn summarise(branches: &[BranchExplanation], verdict: Verdict) -> String {
    let endpoints: Vec<String> = branches
        .iter()
        .filter_map(|b| b.endpoint.as_ref().map(translation))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let all_same = branches.iter().all(|b| b.verdict == verdict);
    let forks = branches.iter().any(BranchExplanation::assumed);
    match verdict {
        Verdict::Preserved => format!(
            "Source IP preserved: DNAT only, to {}.",
            list_or(&endpoints, "an endpoint")
        ),
        Verdict::Masqueraded if all_same => {
            let kube = branches
                .iter()
                .filter_map(|b| b.masquerade.as_ref())
                .all(|m| m.by_kube_proxy);
            format!(
                "Masqueraded{}: the endpoint ({}) sees a node address, not the client's.",
                if kube {
                    " by kube-proxy"
                } else {
                    " by a rule outside kube-proxy"
                },
                list_or(&endpoints, "unknown")
            )
        }
        _ if all_same && !forks => branches.first().map(branch_detail).unwrap_or_default(),
        _ => {
            let outcomes: std::collections::BTreeSet<&str> =
                branches.iter().map(|b| b.verdict.as_str()).collect();
            format!(
                "Undetermined: depending on rules the evaluator cannot decide, the connection is {}; see the branches.",
                outcomes.into_iter().collect::<Vec<_>>().join(" or ")
            )
        }
    }
}

/// "Mixed, by the random choice of endpoint: masqueraded for 1 of 2 endpoints (…), …".
fn summarise_mixed(outcomes: &[Outcome], source: IpAddr) -> String {
    let total: usize = outcomes.iter().map(|o| o.endpoints.len().max(1)).sum();
    let what = |o: &Outcome| {
        let endpoints: Vec<String> = o.endpoints.iter().map(translation).collect();
        format!(
            "{}, p={:.4}",
            list_or(&endpoints, "no endpoint"),
            o.probability
        )
    };
    let mut parts = Vec::new();
    for (i, o) in outcomes.iter().enumerate() {
        if i + 1 == outcomes.len() {
            parts.push(format!("{} otherwise ({})", o.verdict.as_str(), what(o)));
        } else {
            let n = o.endpoints.len().max(1);
            parts.push(format!(
                "{} for {n} of {total} endpoint{} ({})",
                o.verdict.as_str(),
                if total == 1 { "" } else { "s" },
                what(o)
            ));
        }
    }
    let hairpin = outcomes.iter().any(|o| {
        o.verdict == Verdict::Masqueraded
            && o.endpoints
                .iter()
                .any(|e| e.range().and_then(|r| r.first) == Some(source))
    });
    format!(
        "Mixed, by the random choice of endpoint: {}.{}",
        parts.join(", "),
        if hairpin {
            " The connection that lands on the client's own address is masqueraded (hairpin); the others keep the client's address."
        } else {
            ""
        }
    )
}

fn list_or(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        empty.to_string()
    } else {
        items.join(", ")
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
    }
}
