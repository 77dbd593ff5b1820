//! Fuzz target: `explain` over any dump and any target. The input's first line is the
//! target (a port, `PORT/PROTO`, `ns/name[:port]`, `IP:PORT`); the rest is the dump.
//! Checks that nothing panics, that the walks' work stays within their documented bound
//! (per walk, at most the path limit times the dump's rule count plus 256 rule visits; no
//! more chain calls than rule visits plus the base chains of each path), and that every rule the
//! explanation cites is in the dump at the line it names, with that text, chain and table.

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use srcip_rules::kube::{
    BranchExplanation, BranchReason, DropCause, ExplainOptions, Explanation, RuleRef, Target,
    explain,
};
use srcip_rules::model::{Dump, RuleId};
use srcip_rules::netfilter::work_on_this_thread;
use srcip_rules::parse::parse_structure;
use srcip_rules::source::Source;

/// A small path limit: the fuzzer reaches it with a handful of undecidable rules.
const MAX_PATHS: usize = 64;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let Ok(spec) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let Ok(target) = spec.parse::<Target>() else {
        return;
    };
    let dump_bytes = data.get(split + 1..).unwrap_or_default().to_vec();
    let Ok(source) = Source::from_bytes("fuzz", dump_bytes) else {
        return;
    };
    let parsed = parse_structure(&source);
    let options = ExplainOptions {
        target,
        src: None,
        dst: None,
        node_ips: Vec::new(),
        max_paths: MAX_PATHS,
    };
    let before = work_on_this_thread();
    let explanation = explain(&parsed.rules(), &options);
    let after = work_on_this_thread();
    let walks = after.walks - before.walks;
    let visits = after.rule_visits - before.rule_visits;
    let calls = after.calls - before.calls;
    let paths = after.paths - before.paths;
    let rules = parsed.dump.rules.len() as u64;
    let per_walk = MAX_PATHS as u64 * (rules + 256) + 1;
    assert!(
        visits <= walks * per_walk,
        "{visits} rule visits in {walks} walks over {rules} rules"
    );
    // A call is made by a jump (a visited rule) or for a path entering a base chain.
    assert!(
        calls <= visits + 16 * paths,
        "{calls} chain calls for {visits} rule visits and {paths} paths"
    );
    check_citations(&parsed.dump, &explanation);
});

/// Every rule the explanation cites, by reference or by line, is in the dump as cited.
fn check_citations(dump: &Dump<'_>, explanation: &Explanation) {
    let by_line: HashMap<u32, usize> = dump
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.line, i))
        .collect();
    let rule_at = |line: u32| {
        *by_line
            .get(&line)
            .unwrap_or_else(|| panic!("line {line} is cited but holds no rule"))
    };
    let check = |cited: &RuleRef| {
        let rule = &dump.rules[rule_at(cited.line)];
        let chain = dump.chain(rule.chain);
        let text = dump.rule_text(RuleId(rule_at(cited.line) as u32));
        assert_eq!(text, cited.text, "text of line {}", cited.line);
        assert_eq!(chain.name, cited.chain, "chain of line {}", cited.line);
        assert_eq!(
            dump.table(chain.table).name,
            cited.table,
            "table of line {}",
            cited.line
        );
    };
    let check_line = |line: Option<u32>| {
        if let Some(line) = line {
            rule_at(line);
        }
    };
    for port in &explanation.ports {
        port.entry_rules.iter().for_each(check);
        for class in &port.classes {
            if let Some((line, _)) = &class.taken_by_other {
                rule_at(*line);
            }
            for branch in &class.branches {
                check_branch(branch, &check, &check_line);
            }
        }
    }
}

fn check_branch(
    branch: &BranchExplanation,
    check: &dyn Fn(&RuleRef),
    check_line: &dyn Fn(Option<u32>),
) {
    branch.decisive.iter().for_each(check);
    for note in &branch.notes {
        check_line(note.line);
    }
    if let Some(masquerade) = &branch.masquerade {
        masquerade.rule.iter().for_each(check);
        masquerade.marked_by.iter().for_each(check);
    }
    if let Some(mark) = &branch.drop_mark_ignored {
        check(&mark.rule);
    }
    check_reason(&branch.reason, check, check_line);
}

fn check_reason(reason: &BranchReason, check: &dyn Fn(&RuleRef), check_line: &dyn Fn(Option<u32>)) {
    match reason {
        BranchReason::AssumedDrop { cause, .. } => {
            if let DropCause::DropMark(mark) = cause {
                check(&mark.rule);
            }
        }
        BranchReason::PodRuleNotShown { shown, .. } | BranchReason::NatNotShown { shown } => {
            check_reason(shown, check, check_line);
        }
        BranchReason::HealthCheck { rule } => rule.iter().for_each(check),
        BranchReason::Dropped { rule, cause, .. } => {
            check_line(*rule);
            if let DropCause::DropMark(mark) = cause {
                check(&mark.rule);
            }
        }
        BranchReason::Rejected { rule, .. } => check(rule),
        BranchReason::MarkedIntoMissingChain { at, marked_by, .. } => {
            check_line(*at);
            marked_by.iter().for_each(check);
        }
        BranchReason::MissingChain { at, .. }
        | BranchReason::UnknownTarget { at, .. }
        | BranchReason::Unreadable { at }
        | BranchReason::Loop { at, .. }
        | BranchReason::TooDeep { at, .. } => check_line(*at),
        BranchReason::TooManyPaths {
            at, forking_lines, ..
        } => {
            check_line(*at);
            forking_lines.iter().for_each(|&l| check_line(Some(l)));
        }
        BranchReason::NeverReachesNodePorts { tail_lines, .. } => {
            tail_lines.iter().for_each(|&l| check_line(Some(l)));
        }
        BranchReason::TooMuchWork { .. }
        | BranchReason::MayLackRules { .. }
        | BranchReason::Forwarded
        | BranchReason::NotDnated
        | BranchReason::Masqueraded
        | BranchReason::MasqueradeAssumed
        | BranchReason::Preserved => {}
    }
}
