//! `explain` as JSON: one document per explanation, with serde wire types kept apart from
//! the analysis types.
//!
//! # Format (`schema_version: 1`)
//!
//! One JSON object. Field order is fixed, lists keep the analysis order, and nothing depends
//! on time or hash order, so equal inputs give byte-equal output. Text taken from the dump
//! (rule text, comments, chain names) is passed through [`crate::report::sanitize()`].
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "target": "3001",
//!   "found": true,
//!   "proxy_mode": "iptables",
//!   "unsupported_mode": null,
//!   "available_node_ports": [],
//!   "family_mismatch": null,
//!   "truncated": false, "parse_error_count": 0, "parse_errors": [],
//!   "input_warnings": [], "input_warning_codes": [],
//!   "ports": [{
//!     "service": "ns1/svc1:p80",
//!     "destination": {"kind": "node-port", "address": null, "port": 3001, "protocol": "tcp"},
//!     "protocol": "tcp", "node_port": 3001, "family": "ipv4",
//!     "era": "KUBE-EXT/KUBE-SVL era", "versions": "≥1.25", "era_clues": ["..."],
//!     "external_traffic_policy": "Local", "internal_traffic_policy": null,
//!     "policy_evidence": "...",
//!     "endpoints": [{"address": "10.180.2.1:80", "chain": "KUBE-SEP-ZX7GRIZKSNUQ3LAJ", "locality": "local"}],
//!     "node_port_rules": [{"line": 44, "table": "nat", "chain": "KUBE-NODEPORTS", "text": "-A KUBE-NODEPORTS ..."}],
//!     "partial": false, "missing_chains": [], "missing_tables": [],
//!     "assumptions": ["..."], "assumption_codes": ["symbolic-node-address"],
//!     "notes": ["..."], "note_codes": ["loopback-masquerade-only"],
//!     "classes": [{
//!       "class": "other", "name": "all other sources (external clients)", "prefix": null,
//!       "source": "203.0.113.2", "source_symbolic": false,
//!       "destination": "192.168.0.2", "destination_symbolic": false,
//!       "entry_hook": "PREROUTING", "verdict": "preserved", "mixed": [], "summary": "...",
//!       "branches": [{
//!         "endpoint": "10.180.2.1:80", "probability": 1.0, "verdict": "preserved",
//!         "detail": "...", "masquerade": null,
//!         "decisive_rules": [{"line": 44, "table": "nat", "chain": "KUBE-NODEPORTS", "text": "..."}],
//!         "chain_path": ["PREROUTING", "KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-EXT-...", "KUBE-SVL-...", "KUBE-SEP-..."],
//!         "assumptions": [], "assumption_codes": [], "notes": [], "note_codes": [],
//!         "partial": false
//!       }]
//!     }]
//!   }]
//! }
//! ```
//!
//! * `ports` has one entry per destination the question names (a nodePort in each
//!   ruleset; every address of a named service; the address asked). `destination` (added in
//!   schema 1 without a version bump) says what it is: `kind` is `node-port`,
//!   `load-balancer-ip`, `external-ip`, `external-address` (a LoadBalancer IP or an
//!   externalIP: a service without endpoints whose only rule does not say which),
//!   `cluster-ip`, `health-check-node-port` or `unhandled` (no rule names the address and
//!   port); `address` is the service address (null for a nodePort asked by number).
//!   `node_port` is the port for `node-port` entries and null for the others (it was always
//!   a number before destinations other than nodePorts were explained). For a ClusterIP,
//!   `internal_traffic_policy` gives the policy its rules implement and
//!   `external_traffic_policy` is `unknown`; for the others `internal_traffic_policy` is
//!   null. `node_port_rules` holds the rules naming the destination (KUBE-NODEPORTS rules
//!   of a nodePort; the KUBE-SERVICES and filter rules of an address).
//! * `verdict` is one of `preserved`, `masqueraded`, `dropped`, `rejected`, `not-handled`
//!   (not DNATed: the connection reaches the node itself), `forwarded` (not DNATed nor
//!   dropped, and the destination is not the node's: the node routes it on; added in schema
//!   1), `undetermined`.
//! * `mixed` (added in schema 1 without a version bump: only a field was added) is empty
//!   unless a class's connections end in different verdicts by chance alone (the random
//!   choice of endpoint, no undecidable rule), e.g. a hairpin where only the connection
//!   back to the client itself is masqueraded. Then it has one entry per verdict,
//!   `{"verdict": "masqueraded", "probability": 0.5, "endpoints": ["10.180.0.2:80"]}`,
//!   the class `verdict` first, then the likelier; the probabilities add up to 1. The class
//!   `verdict` is then the outcome worst for the client's address: `masqueraded`, else
//!   `rejected`, else `dropped`, else `not-handled`.
//! * `proxy_mode` and `unsupported_mode` (added in schema 1 without a version bump, for
//!   issue 9): `proxy_mode` is the proxy mode the input's rules show (`kube::mode`):
//!   `iptables`, `ipvs`, `userspace`, `nftables` (kube-proxy's table in `nft list ruleset`
//!   text), `nftables-or-none` (only kubelet's chains: kube-proxy in nftables mode, or no
//!   kube-proxy), `cilium` (Cilium's kube-proxy replacement) or `unknown` (no chain of
//!   kube-proxy, kubelet or Cilium). `unsupported_mode` is null unless the target has no
//!   rules `explain` can walk and the mode is one it cannot analyse (not `iptables` nor
//!   `unknown`); then `found` is false, `ports` empty, the process exits with 6, and it is
//!   `{"mode": "ipvs", "message": "...", "evidence": [SIGHTING], "rules": [{"role": "...",
//!   ...SIGHTING}], "commands": ["ipset list KUBE-NODE-PORT-LOCAL-TCP", ...]}`: `message`
//!   says it all in words (the mode, why these rules do not decide, what can be said by
//!   hand, what to run); `evidence` the lines that show the mode; `rules` the mode's rules
//!   (or nftables map elements) naming the target, `role` one of `ipvs-local-return`,
//!   `ipvs-mark`, `userspace-proxy`, `nft-dispatch`, `nft-no-endpoints`; `commands` what
//!   to run on the node instead. A SIGHTING is `{"line": 64, "table": "nat", "chain":
//!   "KUBE-NODE-PORT", "text": "-A KUBE-NODE-PORT ..."}`: `chain` is null for an
//!   nftables table line (`map NAME` for a map element), `text` null for a chain
//!   declaration.
//! * `available_node_ports` (added the same way) is empty unless `found` is false: then it
//!   lists nodePorts the dump does have, as `"3001/tcp (ns1/svc1:p80)"` (or `"3001/tcp"`
//!   without a comment): at most 8 (`kube::nodeports::NEAREST_NODE_PORTS`), the nearest to
//!   the target first (by port number for a port or address, by edit distance between
//!   service names for a service), so all of them only when the dump has 8 or fewer.
//! * `truncated`, `parse_error_count` and `parse_errors` (added the same way): `truncated`
//!   is true when the input stops inside a table (no COMMIT: cut by `head`, a full disk, a
//!   paste); `parse_errors` lists the input's first 20 parse errors as `inspect` gives them
//!   (`{"line", "column", "message", "text"}`, bounded), `parse_error_count` counts them
//!   all. A destination whose node tables are cut or hold unparsed lines has `partial`
//!   true and the note `input-cut` or `unparsed-lines`: none of its verdicts is final.
//! * `branches_omitted` (added in schema 1 without a version bump; absent when 0): a class
//!   lists at most 256 branches (a walk that forks on undecidable rules can have
//!   thousands, each differing only in its assumptions); this counts the ones left out.
//!   Their verdicts are in the class's `verdict` and `mixed`.
//! * `incomplete_chains` (added in schema 1 without a version bump; absent when empty): the
//!   chains the destination's path refers to that the input may show only in part (a
//!   fragment's undeclared chains, the last chains of a cut table).
//! * `input_warnings` and `input_warning_codes` (added the same way): lines the parser
//!   accepted although they are not iptables-save text, one entry per kind, with codes as
//!   `inspect` gives them: `grep-separator`, `fragment-declaration`, `fragment-commit`,
//!   `log-prefix`, `log-line`, `shell-line`, `cut-line`.
//! * `family_mismatch` (added the same way) is null unless `found` is false because the
//!   question's addresses (the target address, `--src`, `--dst`, `--node-ip`) are of the
//!   other family than the target's rules: `{"asked": "ipv6", "dump_has_family": false}`
//!   (`dump_has_family`: the dump has rules of the asked family, only not for the target).
//! * `class` is one of `loopback`, `node`, `pods`, `endpoint` (hairpin), `prefix`, `other`,
//!   `given` (`--src`).
//! * `masquerade`, when not null: `{"rule": RULE|null, "by_kube_proxy": bool, "to": "...",
//!   "address_kind": "...", "address": "IP"|null, "marked_by": RULE|null}`; `rule` is null
//!   when kube-proxy's KUBE-POSTROUTING is assumed for a fragment. `to` says in words what
//!   the endpoint sees; `address_kind` and `address` (added in schema 1 without a version
//!   bump) say it for programs: `exact` (`SNAT --to-source` naming one address, which is
//!   `address`), `range` (SNAT to a range or several addresses; `address` null) or
//!   `outgoing-interface` (MASQUERADE, also kube-proxy's assumed KUBE-POSTROUTING: the
//!   primary address of the interface the packet leaves by, which a dump does not show, so
//!   `address` is null).
//! * `probability` is the branch's chance among branches resting on the same
//!   `assumptions`; branches with assumptions come from rules the evaluator cannot decide.
//! * `assumption_codes` and `note_codes` (added in schema 1 without a version bump) give
//!   the stable code of each entry of `assumptions` and `notes`, in the same order, for
//!   programs: port level `node-address-from-dump`, `symbolic-node-address`,
//!   `nat-entry-assumed`, `node-port-tail-assumed`, `filter-entry-assumed`,
//!   `address-not-local`, `node-address-assumed` (assumptions),
//!   `loopback-masquerade-only`, `conflicting-node-port-rules`, `partial-dump`,
//!   `health-check-node-port`, `no-service-at-destination`, `input-cut`, `unparsed-lines`,
//!   `next-command`
//!   (notes); branch level
//!   `undecidable-rule` (assumptions), `no-affinity-history`, `connmark-ignored`,
//!   `standard-chain-assumed` (notes). A code never changes meaning; new codes may appear.
//! * `counters` (added in schema 1 without a version bump) is on every rule object
//!   (`node_port_rules`, `decisive_rules`, `masquerade.rule`, `masquerade.marked_by`,
//!   `counter_evidence`'s rules) when the dump was saved with `iptables-save -c`:
//!   `{"packets": 4211, "bytes": 252660}`, the numbers that also start its `text`. The field
//!   is absent (not null) for a rule without counters.
//! * `counter_evidence` (added the same way) is absent unless the destination's rules have
//!   counters. It says what they show of the verdicts:
//!   `{"finding": "confirms", "reason": null, "verdict": "dropped", "entry_rule": RULE,
//!   "ways": [{"rule": RULE, "role": "taken", "classes": ["other"], "verdicts":
//!   ["dropped"]}], "cause_codes": [], "next_command": null, "text": "..."}`.
//!   `entry_rule` is the destination's own nat rule the source classes pass on their way in
//!   (its `counters.packets` is how many packets entered); each of `ways` is the first
//!   decisive rule after it on some classes' paths (`rule` null when a path has none), with
//!   those `classes` and the `verdicts` a packet taking that way gets (a class undetermined
//!   only because the input may lack its pod rule, which would come first, counts on its
//!   way with the verdict of the path shown; the way that rule would take has `rule` null
//!   and the verdict `undetermined`). `finding` is `confirms` (the
//!   ways that counted packets, `role` `taken`, all end in `verdict`; the others counted 0),
//!   `contradicts` (packets entered and every way counted 0; the way that should have
//!   counted them, when one stands out, has `role` `expected` and gives `verdict`;
//!   `cause_codes` lists the possible causes: `filter-counters-reset` (kube-proxy rewrites
//!   filter chains on every sync), `chain-counters-reset` (a nat chain rewritten since),
//!   `earlier-rule` (a rule before the way took the packets); `next_command` is the command
//!   that would tell them apart) or `silent`, with `reason`: `nothing-counted` (the entry
//!   counted 0), `split` (ways of different verdicts counted packets), `fewer-counted`
//!   (the ways counted fewer than entered), `unseen` (some packets may have gone a way no
//!   counter shows), `one-source` (`--src`: one class followed, the counters count all),
//!   `no-entry` (no class passes a counted rule of the destination). `text` says it in
//!   words. Counters count packets, not clients: in nat, the first packet of each new
//!   connection, retries (SYN retransmissions) included.
//! * `endpoint_sees` and `remedy` (added in schema 1 without a version bump) sum a class
//!   up: what the endpoint sees under the class `verdict` (`client-address`,
//!   `node-address`, `snat-address`, `snat-range`, `nothing`, `unknown`), and, for a
//!   masqueraded, dropped or rejected class, what would change it: `{"code": "...",
//!   "text": "..."}` with code `external-traffic-policy-local`, `no-local-endpoint`,
//!   `exempt-masquerade-rule`, `masquerade-must-stay` or `no-endpoints`, else null.

use std::io::{self, Write};

use serde::Serialize;

use crate::kube::destination::{Destination, DestinationKind};
use crate::kube::findings::PortNote;
use crate::kube::shape::{PolicyScope, TrafficPolicy};
use crate::kube::summary::summarize_class;
use crate::kube::{
    BranchExplanation, ClassExplanation, Explanation, Masquerade, PortExplanation, RuleRef,
};
use crate::model::Family;
use crate::netfilter::Origin;
use crate::report::json::counters;
use crate::report::json::inspect::{JsonError, error_wire};
use crate::report::json::mode;
use crate::report::{self, ExplainReport, ExplainedInput, sanitize, words};

/// The schema version written in every document.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document {
    schema_version: u32,
    target: String,
    found: bool,
    proxy_mode: &'static str,
    unsupported_mode: Option<mode::UnsupportedWire>,
    available_node_ports: Vec<String>,
    family_mismatch: Option<FamilyMismatchWire>,
    truncated: bool,
    parse_error_count: usize,
    parse_errors: Vec<JsonError>,
    input_warnings: Vec<String>,
    input_warning_codes: Vec<&'static str>,
    ports: Vec<PortWire>,
}

/// Most parse errors listed in an explain document (all are counted).
const ERRORS_LISTED: usize = 20;

#[derive(Serialize)]
struct FamilyMismatchWire {
    asked: &'static str,
    dump_has_family: bool,
}

#[derive(Serialize)]
struct PortWire {
    service: Option<String>,
    destination: DestinationWire,
    protocol: String,
    node_port: Option<u16>,
    family: &'static str,
    era: String,
    versions: String,
    era_clues: Vec<String>,
    external_traffic_policy: &'static str,
    internal_traffic_policy: Option<&'static str>,
    policy_evidence: String,
    endpoints: Vec<EndpointWire>,
    node_port_rules: Vec<RuleWire>,
    partial: bool,
    missing_chains: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    incomplete_chains: Vec<String>,
    missing_tables: Vec<String>,
    assumptions: Vec<String>,
    assumption_codes: Vec<&'static str>,
    notes: Vec<String>,
    note_codes: Vec<&'static str>,
    classes: Vec<ClassWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counter_evidence: Option<counters::CounterEvidenceWire>,
}

#[derive(Serialize)]
pub(super) struct DestinationWire {
    kind: &'static str,
    address: Option<String>,
    port: u16,
    protocol: String,
}

#[derive(Serialize)]
struct EndpointWire {
    address: String,
    chain: String,
    locality: &'static str,
}

#[derive(Serialize)]
pub(super) struct RuleWire {
    line: u32,
    table: String,
    chain: String,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    counters: Option<counters::CountersWire>,
}

#[derive(Serialize)]
struct ClassWire {
    class: &'static str,
    name: String,
    prefix: Option<String>,
    source: String,
    source_symbolic: bool,
    destination: String,
    destination_symbolic: bool,
    entry_hook: &'static str,
    verdict: &'static str,
    mixed: Vec<OutcomeWire>,
    summary: String,
    endpoint_sees: &'static str,
    remedy: Option<RemedyWire>,
    branches: Vec<BranchWire>,
    #[serde(skip_serializing_if = "is_zero")]
    branches_omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct RemedyWire {
    code: &'static str,
    text: String,
}

#[derive(Serialize)]
struct OutcomeWire {
    verdict: &'static str,
    probability: f64,
    endpoints: Vec<String>,
}

#[derive(Serialize)]
struct BranchWire {
    endpoint: Option<String>,
    probability: f64,
    verdict: &'static str,
    detail: String,
    masquerade: Option<MasqueradeWire>,
    decisive_rules: Vec<RuleWire>,
    chain_path: Vec<String>,
    assumptions: Vec<String>,
    assumption_codes: Vec<&'static str>,
    notes: Vec<String>,
    note_codes: Vec<&'static str>,
    partial: bool,
}

#[derive(Serialize)]
struct MasqueradeWire {
    rule: Option<RuleWire>,
    by_kube_proxy: bool,
    to: String,
    address_kind: &'static str,
    address: Option<String>,
    marked_by: Option<RuleWire>,
}

/// Rounded so that float noise (0.49999999) never reaches a snapshot or a test.
fn round(p: f64) -> f64 {
    (p * 1e6).round() / 1e6
}

pub(super) fn clean(text: &str) -> String {
    sanitize(text).into_owned()
}

fn clean_all(items: &[String]) -> Vec<String> {
    items.iter().map(|s| clean(s)).collect()
}

pub(super) fn rule(r: &RuleRef) -> RuleWire {
    RuleWire {
        line: r.line,
        table: clean(&r.table),
        chain: clean(&r.chain),
        text: clean(&r.text),
        counters: counters::counters(r.counters),
    }
}

fn masquerade(m: &Masquerade) -> MasqueradeWire {
    MasqueradeWire {
        rule: m.rule.as_ref().map(rule),
        by_kube_proxy: m.by_kube_proxy,
        to: clean(&words::masquerade_to(m)),
        address_kind: m.address.kind(),
        address: m.address.exact().map(|a| a.to_string()),
        marked_by: m.marked_by.as_ref().map(rule),
    }
}

fn branch(b: &BranchExplanation) -> BranchWire {
    BranchWire {
        endpoint: b.endpoint.as_ref().map(|e| clean(&words::translation(e))),
        probability: round(b.probability),
        verdict: b.verdict.as_str(),
        detail: clean(&words::branch_detail(b)),
        masquerade: b.masquerade.as_ref().map(masquerade),
        decisive_rules: b.decisive.iter().map(rule).collect(),
        chain_path: clean_all(&b.chain_path),
        assumptions: b
            .notes
            .iter()
            .filter(|n| n.forks())
            .map(|n| clean(&words::branch_note(n)))
            .collect(),
        assumption_codes: b
            .notes
            .iter()
            .filter(|n| n.forks())
            .map(|n| n.code())
            .collect(),
        notes: b
            .notes
            .iter()
            .filter(|n| !n.forks())
            .map(|n| clean(&words::branch_note(n)))
            .collect(),
        note_codes: b
            .notes
            .iter()
            .filter(|n| !n.forks())
            .map(|n| n.code())
            .collect(),
        partial: b.partial,
    }
}

fn class(p: &PortExplanation, c: &ClassExplanation) -> ClassWire {
    let summary = summarize_class(p, c);
    ClassWire {
        class: c.kind.as_str(),
        name: clean(&words::class_name(c)),
        prefix: c.prefix.map(|p| p.to_string()),
        source: c.source.to_string(),
        source_symbolic: c.source_symbolic,
        destination: c.destination.to_string(),
        destination_symbolic: c.destination_symbolic,
        entry_hook: match c.origin {
            Origin::Remote => "PREROUTING",
            Origin::Local => "OUTPUT",
        },
        verdict: c.verdict.as_str(),
        mixed: c
            .mixed
            .iter()
            .map(|o| OutcomeWire {
                verdict: o.verdict.as_str(),
                probability: round(o.probability),
                endpoints: o
                    .endpoints
                    .iter()
                    .map(|e| clean(&words::translation(e)))
                    .collect(),
            })
            .collect(),
        summary: clean(&words::class_summary(c)),
        endpoint_sees: super::ports::sees_word(summary.sees),
        remedy: summary.remedy.as_ref().map(|r| RemedyWire {
            code: r.code(),
            text: clean(&words::remedy(r)),
        }),
        branches: c
            .branches
            .iter()
            .take(report::BRANCHES_IN_JSON)
            .map(branch)
            .collect(),
        branches_omitted: c.branches.len().saturating_sub(report::BRANCHES_IN_JSON),
    }
}

/// A destination's wire form.
pub(super) fn destination(d: &Destination) -> DestinationWire {
    DestinationWire {
        kind: d.kind.as_str(),
        address: d.address.map(|a| a.to_string()),
        port: d.port,
        protocol: d.protocol.to_string(),
    }
}

/// `node_port`: the port of a nodePort, null for the other kinds.
pub(super) fn node_port(d: &Destination) -> Option<u16> {
    (d.kind == DestinationKind::NodePort).then_some(d.port)
}

/// The policy fields: the external policy (`unknown` for a ClusterIP, whose rules
/// implement the internal one) and the internal policy (null but for a ClusterIP).
pub(super) fn policies(
    scope: PolicyScope,
    policy: TrafficPolicy,
) -> (&'static str, Option<&'static str>) {
    match scope {
        PolicyScope::External => (policy.as_str(), None),
        PolicyScope::Internal => ("unknown", Some(policy.as_str())),
    }
}

pub(super) fn family_name(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "ipv4",
        Family::Ipv6 => "ipv6",
    }
}

fn port(p: &PortExplanation) -> PortWire {
    PortWire {
        service: p.service.as_deref().map(clean),
        destination: destination(&p.destination),
        protocol: p.destination.protocol.to_string(),
        node_port: node_port(&p.destination),
        family: family_name(p.family),
        era: words::era(p.shape.era).to_string(),
        versions: p.shape.versions.to_string(),
        era_clues: p
            .shape
            .clues
            .iter()
            .map(|c| clean(&words::clue(c)))
            .collect(),
        external_traffic_policy: policies(p.shape.scope, p.shape.policy).0,
        internal_traffic_policy: policies(p.shape.scope, p.shape.policy).1,
        policy_evidence: clean(&words::policy_evidence(&p.shape.policy_evidence)),
        endpoints: p
            .shape
            .endpoints
            .iter()
            .map(|e| EndpointWire {
                address: clean(&words::endpoint_address(e)),
                chain: clean(&e.chain),
                locality: e.locality.as_str(),
            })
            .collect(),
        node_port_rules: p.entry_rules.iter().map(rule).collect(),
        partial: p.partial,
        missing_chains: clean_all(&p.shape.missing_chains),
        incomplete_chains: clean_all(&p.shape.incomplete_chains),
        missing_tables: p.missing_tables.iter().map(|t| t.to_string()).collect(),
        assumptions: p
            .assumptions
            .iter()
            .map(|a| clean(&words::port_assumption(a)))
            .collect(),
        assumption_codes: p.assumptions.iter().map(|a| a.code()).collect(),
        notes: p
            .notes
            .iter()
            .map(|n| clean(&words::port_note(n)))
            .collect(),
        note_codes: p.notes.iter().map(|n| n.code()).collect(),
        classes: p.classes.iter().map(|c| class(p, c)).collect(),
        counter_evidence: p.counter_evidence.as_ref().map(counters::evidence),
    }
}

/// Writes the explanation as one pretty-printed JSON document and a newline, without the
/// input's parse errors (see [`render_input`]).
pub fn render(explanation: &Explanation, out: &mut dyn Write) -> io::Result<()> {
    super::write_document(&document(explanation, None), out)
}

/// Writes one input's explanation as one document, with its parse errors.
pub fn render_input(input: &ExplainedInput<'_>, out: &mut dyn Write) -> io::Result<()> {
    super::write_document(&document(&input.explanation, Some(input)), out)
}

/// Writes the explanations of several nodes as one document (see docs/json.md): each
/// node's name and input, and its explanation as the single-input document (with its
/// parse errors).
pub fn render_nodes(report: &ExplainReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    #[derive(Serialize)]
    struct Nodes {
        schema_version: u32,
        target: String,
        nodes: Vec<NodeWire>,
    }
    #[derive(Serialize)]
    struct NodeWire {
        name: String,
        input: String,
        explanation: Document,
    }
    let doc = Nodes {
        schema_version: SCHEMA_VERSION,
        target: report
            .inputs
            .first()
            .map(|i| clean(&i.explanation.target.to_string()))
            .unwrap_or_default(),
        nodes: report
            .inputs
            .iter()
            .map(|i| NodeWire {
                name: clean(&i.node),
                input: clean(&i.source.name),
                explanation: document(&i.explanation, Some(i)),
            })
            .collect(),
    };
    super::write_document(&doc, out)
}

fn document(explanation: &Explanation, input: Option<&ExplainedInput<'_>>) -> Document {
    let errors = input.map_or(&[][..], |i| i.errors.as_slice());
    let cut = explanation.ports.iter().any(|p| {
        p.notes
            .iter()
            .any(|n| matches!(n, PortNote::InputCut { .. }))
    });
    let truncated = cut || input.is_some_and(|i| i.truncated);
    Document {
        schema_version: SCHEMA_VERSION,
        target: clean(&explanation.target.to_string()),
        found: !explanation.ports.is_empty(),
        proxy_mode: explanation.proxy_modes.mode().code(),
        unsupported_mode: mode::unsupported(explanation),
        available_node_ports: explanation
            .available
            .iter()
            .map(|a| clean(&words::available_port(a)))
            .collect(),
        family_mismatch: explanation.family_mismatch.map(|m| FamilyMismatchWire {
            asked: family_name(m.asked),
            dump_has_family: m.dump_has_family,
        }),
        truncated,
        parse_error_count: errors.len(),
        parse_errors: input.map_or_else(Vec::new, |i| {
            errors
                .iter()
                .take(ERRORS_LISTED)
                .map(|e| error_wire(i.source, e))
                .collect()
        }),
        input_warnings: input.map_or_else(Vec::new, |i| {
            i.tolerated
                .iter()
                .map(|w| clean(&words::dump_warning(w)))
                .collect()
        }),
        input_warning_codes: input
            .map_or_else(Vec::new, |i| i.tolerated.iter().map(|w| w.code()).collect()),
        ports: explanation.ports.iter().map(port).collect(),
    }
}
