//! The documented JSON schema of `explain`, as serde types: a document that does not fit
//! them fails the contract tests.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Document {
    pub(crate) schema_version: u32,
    pub(crate) target: String,
    pub(crate) found: bool,
    pub(crate) proxy_mode: String,
    pub(crate) unsupported_mode: Option<UnsupportedMode>,
    pub(crate) available_node_ports: Vec<String>,
    pub(crate) family_mismatch: Option<FamilyMismatch>,
    pub(crate) truncated: bool,
    pub(crate) parse_error_count: usize,
    pub(crate) parse_errors: Vec<ParseErrorWire>,
    pub(crate) input_warnings: Vec<String>,
    pub(crate) input_warning_codes: Vec<String>,
    pub(crate) ports: Vec<Port>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "the fields are checked by deny_unknown_fields")]
pub(crate) struct ParseErrorWire {
    pub(crate) line: u32,
    pub(crate) column: usize,
    pub(crate) message: String,
    pub(crate) text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UnsupportedMode {
    pub(crate) mode: String,
    pub(crate) message: String,
    pub(crate) evidence: Vec<Sighting>,
    pub(crate) rules: Vec<ModeRule>,
    pub(crate) commands: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sighting {
    pub(crate) line: u32,
    pub(crate) table: String,
    pub(crate) chain: Option<String>,
    pub(crate) text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModeRule {
    pub(crate) role: String,
    pub(crate) line: u32,
    pub(crate) table: String,
    pub(crate) chain: Option<String>,
    pub(crate) text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FamilyMismatch {
    pub(crate) asked: String,
    pub(crate) dump_has_family: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Destination {
    pub(crate) kind: String,
    pub(crate) address: Option<String>,
    pub(crate) port: u16,
    pub(crate) protocol: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Port {
    pub(crate) service: Option<String>,
    pub(crate) destination: Destination,
    pub(crate) protocol: String,
    pub(crate) node_port: Option<u16>,
    pub(crate) family: String,
    pub(crate) era: String,
    pub(crate) versions: String,
    pub(crate) era_clues: Vec<String>,
    pub(crate) external_traffic_policy: String,
    pub(crate) internal_traffic_policy: Option<String>,
    pub(crate) policy_evidence: String,
    pub(crate) endpoints: Vec<Endpoint>,
    pub(crate) node_port_rules: Vec<Rule>,
    pub(crate) partial: bool,
    pub(crate) missing_chains: Vec<String>,
    /// Absent when empty (documented in src/report/json/explain.rs).
    #[serde(default)]
    pub(crate) incomplete_chains: Vec<String>,
    pub(crate) missing_tables: Vec<String>,
    pub(crate) assumptions: Vec<String>,
    pub(crate) assumption_codes: Vec<String>,
    pub(crate) notes: Vec<String>,
    pub(crate) note_codes: Vec<String>,
    pub(crate) classes: Vec<Class>,
    /// Only when the dump has counters (`iptables-save -c`).
    #[serde(default)]
    pub(crate) counter_evidence: Option<CounterEvidence>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Endpoint {
    pub(crate) address: String,
    pub(crate) chain: String,
    pub(crate) locality: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rule {
    pub(crate) line: u32,
    pub(crate) table: String,
    pub(crate) chain: String,
    pub(crate) text: String,
    /// Only when the dump has counters (`iptables-save -c`).
    #[serde(default)]
    pub(crate) counters: Option<RuleCounters>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleCounters {
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CounterEvidence {
    pub(crate) finding: String,
    pub(crate) reason: Option<String>,
    pub(crate) verdict: Option<String>,
    pub(crate) entry_rule: Option<Rule>,
    pub(crate) ways: Vec<CounterWay>,
    pub(crate) cause_codes: Vec<String>,
    pub(crate) next_command: Option<String>,
    pub(crate) text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CounterWay {
    pub(crate) rule: Option<Rule>,
    pub(crate) role: String,
    pub(crate) classes: Vec<String>,
    pub(crate) verdicts: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Class {
    pub(crate) class: String,
    pub(crate) name: String,
    pub(crate) prefix: Option<String>,
    pub(crate) source: String,
    pub(crate) source_symbolic: bool,
    pub(crate) destination: String,
    pub(crate) destination_symbolic: bool,
    pub(crate) entry_hook: String,
    pub(crate) verdict: String,
    pub(crate) mixed: Vec<Outcome>,
    pub(crate) summary: String,
    pub(crate) endpoint_sees: String,
    pub(crate) remedy: Option<Remedy>,
    pub(crate) branches: Vec<Branch>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Remedy {
    pub(crate) code: String,
    pub(crate) text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Outcome {
    pub(crate) verdict: String,
    pub(crate) probability: f64,
    pub(crate) endpoints: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Branch {
    pub(crate) endpoint: Option<String>,
    pub(crate) probability: f64,
    pub(crate) verdict: String,
    pub(crate) detail: String,
    pub(crate) masquerade: Option<Masquerade>,
    pub(crate) decisive_rules: Vec<Rule>,
    pub(crate) chain_path: Vec<String>,
    pub(crate) assumptions: Vec<String>,
    pub(crate) assumption_codes: Vec<String>,
    pub(crate) notes: Vec<String>,
    pub(crate) note_codes: Vec<String>,
    pub(crate) partial: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Masquerade {
    pub(crate) rule: Option<Rule>,
    pub(crate) by_kube_proxy: bool,
    pub(crate) to: String,
    pub(crate) address_kind: String,
    pub(crate) address: Option<String>,
    pub(crate) marked_by: Option<Rule>,
}
