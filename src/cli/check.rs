//! `srcip-rules check [FILE...] --expect TARGET:CLASS=VERDICT ...`: tests expectations
//! about each node's verdicts, for CI and snapshot tests of node dumps.

use std::net::IpAddr;

use crate::cli::nodes::{NodeInput, read_nodes};
use crate::cli::output::{exit_after, to_stdout};
use crate::cli::redact;
use crate::exit::Exit;
use crate::kube::check::{Expectation, parse_expectations, test};
use crate::kube::{ExplainOptions, Explanation, Target, explain};
use crate::report::{self, CheckReport, CheckResult, Format, Palette};

/// Everything `check` needs, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    /// The dumps (`-` or none: stdin).
    pub inputs: Vec<String>,
    /// Node names, in order.
    pub names: Vec<String>,
    /// The expectations (`--expect`, then those of `--expect-file`).
    pub expectations: Vec<Expectation>,
    /// `--expect-file` paths, read when the command runs.
    pub expect_files: Vec<String>,
    /// This node's addresses.
    pub node_ips: Vec<IpAddr>,
    /// Output format.
    pub format: Format,
    /// Colour text output.
    pub color: bool,
}

/// Runs `check`: [`Exit::UnsupportedMode`] when a node's dump is from a proxy mode
/// `explain` cannot analyse (its expectations are not checked; as in `explain`, this
/// outranks the other nodes' results), else [`Exit::Ok`] when every expectation holds on
/// every node, [`Exit::ExpectationFailed`] otherwise; [`Exit::Usage`] for a bad expectation file or
/// none at all, [`Exit::InputError`] for an unreadable dump.
pub fn run_check(cfg: &CheckConfig) -> Exit {
    let expectations = match expectations(cfg) {
        Ok(expectations) => expectations,
        Err(exit) => return exit,
    };
    let nodes = match read_nodes(&cfg.inputs, &cfg.names) {
        Ok(nodes) => nodes,
        Err(exit) => return exit,
    };
    let mut report = CheckReport {
        results: Vec::new(),
        nodes: nodes.len(),
    };
    for node in &nodes {
        report
            .results
            .extend(check_node(node, &expectations, &cfg.node_ips));
    }
    let done = if report.results.iter().any(|r| r.fate.unsupported_mode()) {
        // As explain: a mode it cannot analyse outranks what other nodes answered.
        Exit::UnsupportedMode
    } else if report.results.iter().all(|r| r.fate.held()) {
        Exit::Ok
    } else {
        Exit::ExpectationFailed
    };
    let renderer = report::renderer(cfg.format, Palette::new(cfg.color));
    exit_after(to_stdout(|out| renderer.check(&report, out)), done)
}

/// The expectations of `--expect`, then those of each `--expect-file`, their targets as
/// the (redacted) dumps name them; a message and [`Exit::Usage`] for an unreadable or bad
/// file, or for none at all.
fn expectations(cfg: &CheckConfig) -> Result<Vec<Expectation>, Exit> {
    let mut expectations = cfg.expectations.clone();
    for path in &cfg.expect_files {
        let text = std::fs::read_to_string(path).map_err(|e| {
            eprintln!(
                "srcip-rules: cannot read expectation file {}: {e}",
                report::sanitize(path)
            );
            Exit::Usage
        })?;
        let found = parse_expectations(&text).map_err(|(line, message)| {
            eprintln!(
                "srcip-rules: {}:{line}: {}",
                report::sanitize(path),
                report::sanitize(&message)
            );
            Exit::Usage
        })?;
        expectations.extend(found);
    }
    if expectations.is_empty() {
        eprintln!(
            "srcip-rules: check needs at least one expectation: --expect 31015:external=preserved or --expect-file FILE"
        );
        return Err(Exit::Usage);
    }
    // The report keeps each expectation's text as given.
    for e in &mut expectations {
        e.target = redact::target(e.target.clone());
    }
    Ok(expectations)
}

/// How each expectation fares on one node (one explanation per target asked about).
fn check_node<'n>(
    node: &'n NodeInput,
    expectations: &[Expectation],
    node_ips: &[IpAddr],
) -> Vec<CheckResult<'n>> {
    let parsed = crate::parse::parse_structure(&node.source);
    let rules = parsed.rules();
    let mut explained: Vec<(Target, Explanation)> = Vec::new();
    for e in expectations {
        if !explained.iter().any(|(t, _)| *t == e.target) {
            let options = ExplainOptions {
                target: e.target.clone(),
                src: None,
                dst: None,
                node_ips: node_ips.to_vec(),
                max_paths: crate::netfilter::MAX_PATHS,
            };
            explained.push((e.target.clone(), explain(&rules, &options)));
        }
    }
    expectations
        .iter()
        .filter_map(|e| {
            let (_, explanation) = explained.iter().find(|(t, _)| *t == e.target)?;
            Some(CheckResult {
                node: node.name.clone(),
                source: &node.source,
                expectation: e.clone(),
                fate: test(e, explanation),
            })
        })
        .collect()
}
