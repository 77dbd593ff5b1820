//! `trace` as JSON.
//!
//! # Format (`schema_version` 1)
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "inputs": [{
//!     "name": "node.txt",
//!     "packet": {"protocol": "tcp", "src": "203.0.113.7", "sport": 40000,
//!                "dst": "198.51.100.80", "dport": 80, "origin": "remote",
//!                "in_interface": null, "out_interface": null, "mark": 0},
//!     "node_addresses": ["192.0.2.10"], "verbose": false,
//!     "found": true, "not_found": null,
//!     "rulesets": [{
//!       "family": "ipv4", "program": "iptables-nft-save", "first_line": 1,
//!       "missing_tables": [], "nat_entered_at": null,
//!       "branches": [{
//!         "verdict": "forwarded", "probability": 0.5, "summary": "forwarded to ...",
//!         "endpoint": "198.18.1.10:8080", "destination": "198.18.1.10:8080",
//!         "source": {"kind": "masquerade", "address": null, "rule": RULE},
//!         "end_rule": null, "mark": 16384,
//!         "routed": {"destination": "198.18.1.10", "local": false},
//!         "rules": [{"line": 12, "table": "nat", "chain": "PREROUTING", "text": "-A ...",
//!                    "hook": "PREROUTING", "action": "jump to KUBE-SERVICES"}],
//!         "misses": [],
//!         "assumptions": [], "assumption_codes": [], "notes": [], "note_codes": []
//!       }]
//!     }],
//!     "parse_errors": 0
//!   }]
//! }
//! ```
//! * `origin`: `remote` (arrives from the network: nat PREROUTING first) or `local` (sent by
//!   a process on the node: nat OUTPUT first). `mark` is the packet mark at the start
//!   (`packet`) or the end (branch), as a number.
//! * `found` is false when the dump has no rules of the packet's family; `not_found` then
//!   says so in words, and `rulesets` is empty.
//! * `unsupported_mode` is null, or, for a dump from a proxy mode `explain` cannot analyse
//!   (IPVS, nftables, userspace, no kube-proxy), the object `explain` gives such a mode
//!   (`mode`, `evidence`, `rules`, `commands`), its `message` saying what the walk of the
//!   iptables rules does not show (IPVS's DNAT at INPUT, for instance). The walk is still
//!   there: it is what the iptables rules do.
//! * `verdict` is `delivered` (to a socket on this node), `forwarded` (out of the node),
//!   `dropped`, `rejected` or `undetermined`; `end_rule` is the rule that dropped, rejected
//!   or stopped the walk (null for a chain policy or when the branch passed).
//! * `endpoint` is where a DNAT sent the packet, as its rule writes it (null without DNAT);
//!   `destination` is the packet's destination at the end.
//! * `source.kind`: `original` (the receiver sees the sender's address), `masquerade` (the
//!   address of the interface it leaves by) or `snat` (`address` when the rule names one).
//! * `rules` are the rules that matched and the policies that decided (then `line` is null
//!   and `text` empty), in kernel order; `misses` (only with `--verbose`) every rule tested
//!   that did not match: `{"line", "table", "chain", "text", "hook", "test", "why"}`, `test`
//!   being the failed test as written.
//! * `routed` is the routing decision (null when the branch ended before it).
//! * `assumptions`/`assumption_codes`, `notes`/`note_codes`: as in `explain`'s branches.
//! * A `RULE` object (`source.rule`, `end_rule`) carries `counters`, as in `explain`, when
//!   the dump was saved with `iptables-save -c`.

use std::io::{self, Write};

use serde::Serialize;

use crate::kube::trace::{RulesetTrace, TraceEnd, TraceEvent, TracedBranch};
use crate::model::Family;
use crate::netfilter::{Origin, Translation};
use crate::report::json::explain::{RuleWire, clean, rule};
use crate::report::json::mode::{self, UnsupportedWire};
use crate::report::words::mode::ModeAnswer;
use crate::report::words::{self, trace as trace_words};
use crate::report::{TraceReport, TracedInput};

/// The JSON schema version; bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document {
    schema_version: u32,
    inputs: Vec<InputWire>,
}

#[derive(Serialize)]
struct InputWire {
    name: String,
    packet: PacketWire,
    node_addresses: Vec<String>,
    verbose: bool,
    found: bool,
    not_found: Option<String>,
    rulesets: Vec<RulesetWire>,
    parse_errors: usize,
    unsupported_mode: Option<UnsupportedWire>,
}

#[derive(Serialize)]
struct PacketWire {
    protocol: String,
    src: String,
    sport: u16,
    dst: String,
    dport: u16,
    origin: &'static str,
    in_interface: Option<String>,
    out_interface: Option<String>,
    mark: u32,
}

#[derive(Serialize)]
struct RulesetWire {
    family: &'static str,
    program: Option<String>,
    first_line: u32,
    missing_tables: Vec<&'static str>,
    nat_entered_at: Option<String>,
    branches: Vec<BranchWire>,
}

#[derive(Serialize)]
struct BranchWire {
    verdict: &'static str,
    probability: f64,
    summary: String,
    endpoint: Option<String>,
    destination: String,
    source: SourceWire,
    end_rule: Option<RuleWire>,
    mark: u32,
    routed: Option<RoutedWire>,
    rules: Vec<StepWire>,
    misses: Vec<MissWire>,
    assumptions: Vec<String>,
    assumption_codes: Vec<&'static str>,
    notes: Vec<String>,
    note_codes: Vec<&'static str>,
}

#[derive(Serialize)]
struct SourceWire {
    kind: &'static str,
    address: Option<String>,
    rule: Option<RuleWire>,
}

#[derive(Serialize)]
struct RoutedWire {
    destination: String,
    local: bool,
}

#[derive(Serialize)]
struct StepWire {
    line: Option<u32>,
    table: String,
    chain: String,
    text: String,
    hook: &'static str,
    action: String,
}

#[derive(Serialize)]
struct MissWire {
    line: u32,
    table: String,
    chain: String,
    text: String,
    hook: &'static str,
    test: String,
    why: String,
}

/// Writes the report as one pretty-printed JSON document and a newline.
pub fn render(report: &TraceReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let doc = Document {
        schema_version: SCHEMA_VERSION,
        inputs: report.inputs.iter().map(input).collect(),
    };
    super::write_document(&doc, out)
}

fn input(input: &TracedInput<'_>) -> InputWire {
    let trace = &input.trace;
    let p = &trace.packet;
    InputWire {
        name: clean(&input.source.name),
        packet: PacketWire {
            protocol: p.protocol.to_string(),
            src: p.src.to_string(),
            sport: p.sport,
            dst: p.dst.to_string(),
            dport: p.dport,
            origin: match p.origin {
                Origin::Remote => "remote",
                Origin::Local => "local",
            },
            in_interface: p.in_interface.as_deref().map(clean),
            out_interface: p.out_interface.as_deref().map(clean),
            mark: trace.mark,
        },
        node_addresses: trace.node_addresses.iter().map(|a| a.to_string()).collect(),
        verbose: trace.verbose,
        found: !trace.rulesets.is_empty(),
        not_found: trace
            .rulesets
            .is_empty()
            .then(|| clean(&trace_words::no_ruleset(trace))),
        rulesets: trace.rulesets.iter().map(ruleset).collect(),
        parse_errors: input.errors.len(),
        unsupported_mode: trace.unsupported_mode.as_ref().map(|u| {
            let said = ModeAnswer::for_input(u);
            mode::with_message(u, &said, words::mode::trace_note(u))
        }),
    }
}

fn ruleset(r: &RulesetTrace) -> RulesetWire {
    RulesetWire {
        family: match r.family {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        },
        program: r.program.as_deref().map(clean),
        first_line: r.first_line,
        missing_tables: r.missing_tables.clone(),
        nat_entered_at: r.nat_entered_at.as_deref().map(clean),
        branches: r.branches.iter().map(branch).collect(),
    }
}

/// The events as the document lists them: the routing decision, the rules that matched
/// (and policies), the rules that did not.
fn events(b: &TracedBranch) -> (Option<RoutedWire>, Vec<StepWire>, Vec<MissWire>) {
    let mut routed = None;
    let mut rules = Vec::new();
    let mut misses = Vec::new();
    for event in &b.events {
        match event {
            TraceEvent::Matched {
                hook,
                rule: r,
                action,
            } => rules.push(StepWire {
                line: Some(r.line),
                table: clean(&r.table),
                chain: clean(&r.chain),
                text: clean(&r.text),
                hook: hook.chain_name(),
                action: clean(&trace_words::trace_action(action)),
            }),
            TraceEvent::Policy {
                hook,
                table,
                chain,
                policy,
            } => rules.push(StepWire {
                line: None,
                table: clean(table),
                chain: clean(chain),
                text: String::new(),
                hook: hook.chain_name(),
                action: trace_words::policy(*policy).to_string(),
            }),
            TraceEvent::Missed {
                hook,
                rule: r,
                test,
                fact,
            } => misses.push(MissWire {
                line: r.line,
                table: clean(&r.table),
                chain: clean(&r.chain),
                text: clean(&r.text),
                hook: hook.chain_name(),
                test: clean(test),
                why: trace_words::miss_fact(fact),
            }),
            TraceEvent::Routed { destination, local } => {
                routed = Some(RoutedWire {
                    destination: destination.to_string(),
                    local: *local,
                });
            }
        }
    }
    (routed, rules, misses)
}

/// The source address the receiver sees, and the rule that rewrote it.
fn source(b: &TracedBranch) -> SourceWire {
    match &b.snat {
        None => SourceWire {
            kind: "original",
            address: Some(b.packet.src.to_string()),
            rule: None,
        },
        Some(nat) => SourceWire {
            kind: match nat.to {
                Translation::Masquerade => "masquerade",
                _ => "snat",
            },
            address: nat.to.single_address().map(|a| a.to_string()),
            rule: Some(rule(&nat.rule)),
        },
    }
}

fn branch(b: &TracedBranch) -> BranchWire {
    let (routed, rules, misses) = events(b);
    let end_rule = match &b.end {
        TraceEnd::Dropped { rule: r, .. } | TraceEnd::Undetermined { rule: r, .. } => {
            r.as_ref().map(rule)
        }
        TraceEnd::Rejected { rule: r } => Some(rule(r)),
        TraceEnd::Delivered | TraceEnd::Forwarded => None,
    };
    let forks = |forking: bool| b.notes.iter().filter(move |n| n.forks() == forking);
    BranchWire {
        verdict: trace_words::trace_verdict(&b.end),
        probability: (b.probability * 1e6).round() / 1e6,
        summary: clean(&trace_words::trace_end(b)),
        endpoint: b.dnat.as_ref().map(|nat| words::translation(&nat.to)),
        destination: trace_words::socket(b.packet.dst, b.packet.dport),
        source: source(b),
        end_rule,
        mark: b.mark,
        routed,
        rules,
        misses,
        assumptions: forks(true).map(|n| clean(&words::branch_note(n))).collect(),
        assumption_codes: forks(true).map(|n| n.code()).collect(),
        notes: forks(false)
            .map(|n| clean(&words::branch_note(n)))
            .collect(),
        note_codes: forks(false).map(|n| n.code()).collect(),
    }
}
