//! `inspect` as JSON.
//!
//! # Format (`schema_version` 1)
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "inputs": [{
//!     "name": "node.txt", "lines": 120, "rules": 80, "errors": 0,
//!     "rulesets": [{
//!       "first_line": 1, "program": "iptables-save", "version": "1.8.7",
//!       "backend": "nf_tables", "family": "ipv4", "fragment": false, "truncated": false,
//!       "legacy_tables_warning_line": null,
//!       "tables": [{"name": "nat", "line": 3, "commit_line": 90, "chains": 20, "rules": 70}],
//!       "proxy_mode": "ipvs",
//!       "proxy_mode_evidence": [{"line": 64, "table": "nat", "chain": "KUBE-NODE-PORT", "text": "-A KUBE-NODE-PORT ..."}],
//!       "other_proxy_modes": [{"mode": "iptables", "evidence": {"line": 80, "table": "nat", "chain": "KUBE-NODEPORTS", "text": null}}]
//!     }],
//!     "warnings": ["..."], "warning_codes": ["fragment"],
//!     "parse_errors": [{"line": 4, "column": 9, "message": "...", "text": "10.0.0.300"}],
//!     "lossy_lines": [],
//!     "proxy_mode": "ipvs",
//!     "proxy_mode_evidence": [{"line": 64, "table": "nat", "chain": "KUBE-NODE-PORT", "text": "-A KUBE-NODE-PORT ..."}]
//!   }]
//! }
//! ```
//! `backend` is `nf_tables`, `legacy` or null; `family` is `ipv4` or `ipv6`. All text
//! taken from the dump is sanitised (control characters escaped). `warning_codes` (added in
//! schema 1 without a version bump: only a field was added) gives each warning's stable
//! code, in the same order: `no-rules`, `fragment`, `truncated`, `legacy-tables-present`,
//! `no-nat-table`, `old-iptables-nft`, `backend-split`, `not-utf8`. `errors` counts every
//! parse error; `parse_errors` lists the first 1000 of them (`parse::KEPT_ERRORS`), or the
//! first `--max-errors` when that is more.
//! A parse error's `text` (the offending text) and `message` are bounded: past 200 and
//! 240 characters they are cut and end with `… (N bytes in all)`.
//!
//! `proxy_mode` (added in schema 1 without a version bump, for issue 9), per ruleset: the
//! proxy mode its chains show, one of `iptables`, `ipvs`, `userspace`, `nftables-or-none`
//! (only kubelet's chains: kube-proxy in nftables mode, or no kube-proxy), `cilium`
//! (Cilium's kube-proxy replacement) or `unknown`; `proxy_mode_evidence` lists up to three
//! lines that show it (`chain` null for an nftables line, `text` null for a chain
//! declaration); `other_proxy_modes` the other kube-proxy modes whose chains are in the
//! same ruleset (a mixed dump), each with the first line that shows it. Per input,
//! `proxy_mode` is the input's mode (the first ruleset in iptables mode, else IPVS,
//! userspace, `nftables` — kube-proxy's `table ip kube-proxy` in `nft list ruleset`
//! text —, `cilium`, `nftables-or-none`, else `unknown`) and `proxy_mode_evidence` what
//! shows it.

use std::io::{self, Write};

use serde::Serialize;

use crate::parse::ParseError;
use crate::report::json::mode;
use crate::report::sanitize::excerpt;
use crate::report::{InspectReport, InspectedInput, diagnostic, sanitize, words};
use crate::source::Source;

/// The JSON schema version; bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Most characters of an offending text repeated in `parse_errors[].text`.
pub const EXCERPT_CHARS: usize = 200;

#[derive(Serialize)]
struct JsonDocument<'a> {
    schema_version: u32,
    inputs: Vec<JsonInput<'a>>,
}

#[derive(Serialize)]
struct JsonInput<'a> {
    name: String,
    lines: u32,
    rules: usize,
    errors: usize,
    rulesets: Vec<JsonRuleset>,
    warnings: Vec<String>,
    warning_codes: Vec<&'static str>,
    parse_errors: Vec<JsonError>,
    lossy_lines: &'a [u32],
    proxy_mode: &'static str,
    proxy_mode_evidence: Vec<mode::SightingWire>,
}

#[derive(Serialize)]
struct JsonRuleset {
    first_line: u32,
    program: Option<String>,
    version: Option<String>,
    backend: Option<&'static str>,
    family: crate::model::Family,
    fragment: bool,
    truncated: bool,
    legacy_tables_warning_line: Option<u32>,
    tables: Vec<JsonTable>,
    proxy_mode: &'static str,
    proxy_mode_evidence: Vec<mode::SightingWire>,
    other_proxy_modes: Vec<mode::OtherModeWire>,
}

#[derive(Serialize)]
struct JsonTable {
    name: String,
    line: Option<u32>,
    commit_line: Option<u32>,
    chains: usize,
    rules: usize,
}

#[derive(Serialize)]
pub(super) struct JsonError {
    line: u32,
    column: usize,
    message: String,
    text: String,
}

/// A parse error as the JSON reports give it: where, what, and the offending text
/// (both bounded).
pub(super) fn error_wire(source: &Source, e: &ParseError) -> JsonError {
    let (line, column) = diagnostic::location(source, e);
    JsonError {
        line,
        column,
        message: excerpt(&e.kind.to_string(), diagnostic::MAX_MESSAGE),
        text: excerpt(&source.text()[e.span.range()], EXCERPT_CHARS),
    }
}

/// Writes one document for all inputs (see the module docs for the format).
pub fn render(report: &InspectReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let document = JsonDocument {
        schema_version: SCHEMA_VERSION,
        inputs: report.inputs.iter().map(json_input).collect(),
    };
    super::write_document(&document, out)
}

fn json_input<'a>(input: &'a InspectedInput<'_>) -> JsonInput<'a> {
    let ins = &input.inspection;
    JsonInput {
        name: sanitize(&input.source.name).into_owned(),
        lines: ins.lines,
        rules: ins.rules,
        errors: ins.errors,
        rulesets: ins
            .rulesets
            .iter()
            .zip(&input.proxy_modes.rulesets)
            .map(|(rs, m)| JsonRuleset {
                first_line: rs.first_line,
                program: rs.program.as_deref().map(|p| sanitize(p).into_owned()),
                version: rs.version.as_deref().map(|v| sanitize(v).into_owned()),
                backend: rs.backend.map(|b| b.as_str()),
                family: rs.family,
                fragment: rs.fragment,
                truncated: rs.truncated,
                legacy_tables_warning_line: rs.legacy_tables_warning,
                tables: rs
                    .tables
                    .iter()
                    .map(|t| JsonTable {
                        name: t.name.clone(),
                        line: t.line,
                        commit_line: t.commit_line,
                        chains: t.chains,
                        rules: t.rules,
                    })
                    .collect(),
                proxy_mode: m.mode.code(),
                proxy_mode_evidence: mode::sightings(&m.evidence),
                other_proxy_modes: mode::others(m),
            })
            .collect(),
        warnings: ins
            .warnings
            .iter()
            .map(|w| sanitize(&words::dump_warning(w)).into_owned())
            .collect(),
        warning_codes: ins.warnings.iter().map(|w| w.code()).collect(),
        parse_errors: input
            .errors
            .iter()
            .map(|e| error_wire(input.source, e))
            .collect(),
        lossy_lines: &ins.lossy_lines,
        proxy_mode: input.proxy_modes.mode().code(),
        proxy_mode_evidence: input
            .proxy_modes
            .deciding()
            .map_or_else(Vec::new, |m| mode::sightings(&m.evidence)),
    }
}
