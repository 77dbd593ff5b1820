//! The sentences about one branch (why it got its verdict) and one class (its summary).

use std::net::IpAddr;

use crate::kube::explanation::{
    BranchExplanation, BranchReason, ClassExplanation, DropCause, Masquerade, Outcome, Verdict,
};
use crate::kube::shape::Locality;
use crate::report::words::{endpoint_or, translation};

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
        BranchReason::MarkedIntoMissingChain { .. }
        | BranchReason::MissingChain { .. }
        | BranchReason::UnknownTarget { .. }
        | BranchReason::Unreadable { .. }
        | BranchReason::Loop { .. }
        | BranchReason::TooDeep { .. }
        | BranchReason::TooManyPaths { .. }
        | BranchReason::TooMuchWork { .. } => undetermined(&b.reason),
        _ => decided(b),
    }
}

/// Why a path could not be followed to its end.
fn undetermined(reason: &BranchReason) -> String {
    match reason {
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
        // The others are worded by `decided`.
        _ => String::new(),
    }
}

/// Why a path that was followed to its end got its verdict.
fn decided(b: &BranchExplanation) -> String {
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
        BranchReason::PodRuleNotShown { .. }
        | BranchReason::NatNotShown { .. }
        | BranchReason::MayLackRules { .. }
        | BranchReason::AssumedDrop { .. } => in_part(b),
        BranchReason::NotDnated => "No rule DNATs it: nothing of the service answers; the connection reaches the node itself.".into(),
        BranchReason::Forwarded => "No rule DNATs or drops it, and its destination is not this node's: the node routes it on toward that address; nothing of the service answers here.".into(),
        BranchReason::HealthCheck { rule } => format!(
            "Accepted{} and answered by kube-proxy's health server on this node (not DNATed): it reports whether the service has a local endpoint here.",
            rule.as_ref()
                .map(|r| format!(" by the rule on line {} in {}", r.line, r.chain))
                .unwrap_or_default()
        ),
        BranchReason::Masqueraded => masqueraded(b),
        BranchReason::MasqueradeAssumed => format!(
            "DNAT to {}; marked for masquerading and, assuming kube-proxy's KUBE-POSTROUTING (not in this dump), masqueraded.",
            endpoint_words(b)
        ),
        BranchReason::Preserved => format!(
            "DNAT to {} only; nothing rewrites the source: the endpoint sees the client's address.",
            endpoint_words(b)
        ),
        // The others are worded by `undetermined`.
        _ => String::new(),
    }
}

/// Why a path through rules the input shows only in part got its verdict.
fn in_part(b: &BranchExplanation) -> String {
    match &b.reason {
        BranchReason::PodRuleNotShown {
            chain,
            pods,
            shown,
        } => format!(
                "Undetermined: the input may not show {chain}'s pod rule (kube-proxy's `-s {pods} -j KUBE-SVC-…`, which names no service, so a grep for the service misses it). With it, a pod's connection takes the service chain instead (in kube-proxy's standard shape: preserved, or masqueraded when it reaches the pod itself). Without it, the rules shown say: {}",
                as_shown(b, shown)
            ),
        BranchReason::NatNotShown { shown } => format!(
                "Undetermined: the input has no nat table, and for this node's own connections and pods kube-proxy's nat chain for the service (KUBE-EXT-…, which runs first) decides: in its standard shape it sends them to the service's endpoints, masqueraded for this node, preserved for pods. The filter rules alone say: {}",
                as_shown(b, shown)
            ),
        BranchReason::MayLackRules { chains } => format!(
            "No rule shown DNATs it, but the path goes through {}, which the input may show only in part (a grep or a cut dump): a rule it leaves out could still DNAT or drop the connection.",
            chains.join(", ")
        ),
        BranchReason::AssumedDrop { chain, cause } => format!(
            "Not DNATed, then dropped by {chain} in the filter table, which is not in the input and is assumed in its standard form.{}",
            match cause {
                DropCause::DropMark(m) => format!(
                    " Line {} (in {}) set kubelet's drop mark 0x8000, and KUBE-FIREWALL (`-m mark --mark 0x8000/0x8000 -j DROP`, hooked from INPUT and OUTPUT) drops marked packets{}.",
                    m.rule.line,
                    m.rule.chain,
                    if m.no_local_endpoints {
                        ": externalTrafficPolicy is Local and this node has no local endpoints"
                    } else {
                        ""
                    }
                ),
                _ => " externalTrafficPolicy is Local and this node has no local endpoints: kube-proxy (≥1.25) drops such connections with a `\"… has no local endpoints\" … --dport N -j DROP` rule in KUBE-EXTERNAL-SERVICES, hooked from INPUT and FORWARD.".to_string(),
            }
        ),
        _ => String::new(),
    }
}

/// What the branch's rules alone would mean: `b` with the reason the rules shown give.
fn as_shown(b: &BranchExplanation, shown: &BranchReason) -> String {
    decided(&BranchExplanation {
        reason: shown.clone(),
        ..b.clone()
    })
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
