//! What `srcip-rules explain --format json` predicts for a probe, from the node's own
//! `iptables-save`, and whether the kernel agreed.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::Command;

use crate::netns;
use crate::probe::{Observation, Outcome, Probe};
use crate::topology;

/// One branch of the prediction: where the connection goes and what happens to it.
#[derive(Clone, Debug)]
pub(crate) struct PredictedBranch {
    /// The endpoint (`IP:port`) it is DNATed to, if any.
    pub(crate) endpoint: Option<String>,
    pub(crate) verdict: String,
    /// The masquerade object's `address_kind` (`exact`, `range`, `outgoing-interface`).
    pub(crate) address_kind: Option<String>,
    /// The masquerade object's `address`, when exact.
    pub(crate) address: Option<String>,
    /// True when the branch rests on an assumption about an undecidable rule.
    pub(crate) assumed: bool,
}

/// The prediction for one probe, read from the JSON document.
#[derive(Clone, Debug)]
pub(crate) struct Prediction {
    /// The class verdict (`preserved`, `masqueraded`, ...).
    pub(crate) verdict: String,
    /// The class summary, for failure messages.
    pub(crate) summary: String,
    pub(crate) branches: Vec<PredictedBranch>,
}

impl Prediction {
    /// Endpoints of the branches that reach one (preserved or masqueraded).
    pub(crate) fn reachable_endpoints(&self) -> BTreeSet<&str> {
        self.branches
            .iter()
            .filter(|b| b.verdict == "preserved" || b.verdict == "masqueraded")
            .filter_map(|b| b.endpoint.as_deref())
            .collect()
    }

    /// The endpoints, when the prediction is a random choice among several of them (no
    /// branch resting on an assumption): each must answer some attempt.
    pub(crate) fn balanced_endpoints(&self) -> Option<BTreeSet<&str>> {
        let reachable = self.reachable_endpoints();
        (reachable.len() >= 2 && self.branches.iter().all(|b| !b.assumed)).then_some(reachable)
    }

    fn branch_to(&self, backend: SocketAddrV4) -> Option<&PredictedBranch> {
        let backend = backend.to_string();
        self.branches
            .iter()
            .find(|b| b.endpoint.as_deref() == Some(backend.as_str()))
    }
}

/// The arguments of `explain` for the probe: its source, destination and the target node's
/// address, on the capture given on standard input.
fn explain_args(probe: Probe, node_port: u16, format: &str) -> Vec<String> {
    let node = probe.target_node();
    [
        "explain",
        &node_port.to_string(),
        "-",
        "--src",
        &probe.source().to_string(),
        "--dst",
        &probe.destination().to_string(),
        "--node-ip",
        &node.ip().to_string(),
        "--format",
        format,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Runs the binary on `capture` (bounded like every external command).
fn explain(capture: &str, args: &[String]) -> Result<Vec<u8>, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_srcip-rules"));
    command.args(args);
    let description = format!("srcip-rules {}", args.join(" "));
    let output = netns::output_within(command, capture, &description)?;
    if !output.status.success() {
        return Err(format!(
            "`{description}` exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(output.stdout)
}

/// The text report for the probe: the verdict with every rule involved, by line number.
pub(crate) fn explain_text(capture: &str, probe: Probe, node_port: u16) -> String {
    match explain(capture, &explain_args(probe, node_port, "text")) {
        Ok(text) => String::from_utf8_lossy(&text).into_owned(),
        Err(error) => error,
    }
}

/// Runs the binary on the capture of the node the probe targets.
pub(crate) fn predict(capture: &str, probe: Probe, node_port: u16) -> Result<Prediction, String> {
    let stdout = explain(capture, &explain_args(probe, node_port, "json"))?;
    let json: serde_json::Value = serde_json::from_slice(&stdout)
        .map_err(|e| format!("srcip-rules printed invalid JSON: {e}"))?;
    let class = &json["ports"][0]["classes"][0];
    let verdict = class["verdict"]
        .as_str()
        .ok_or_else(|| format!("no class verdict in {json}"))?
        .to_owned();
    let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
    let branches = class["branches"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| PredictedBranch {
            endpoint: text(&b["endpoint"]),
            verdict: text(&b["verdict"]).unwrap_or_default(),
            address_kind: text(&b["masquerade"]["address_kind"]),
            address: text(&b["masquerade"]["address"]),
            assumed: b["assumptions"].as_array().is_some_and(|a| !a.is_empty()),
        })
        .collect();
    Ok(Prediction {
        verdict,
        summary: class["summary"].as_str().unwrap_or_default().to_owned(),
        branches,
    })
}

/// What the kernel did, in explain's vocabulary (ignoring the source address), or `None`
/// for a mix of outcomes.
fn observed_outcome(observation: &Observation) -> Option<Vec<&'static str>> {
    Some(match observation.outcome()? {
        Outcome::Connected => vec!["preserved", "masqueraded"],
        Outcome::TimedOut => vec!["dropped"],
        // A REJECT and a port where nothing listens look the same from the client.
        Outcome::Refused => vec!["rejected", "not-handled"],
        Outcome::Other(_) => return None,
    })
}

/// The address a backend must see when the prediction's branch to it is right, in the
/// topology the probe ran in; `Err` with the reason when the branch cannot be compared.
fn expected_source(
    probe: Probe,
    branch: &PredictedBranch,
    backend: SocketAddrV4,
) -> Result<Ipv4Addr, String> {
    match (branch.verdict.as_str(), branch.address_kind.as_deref()) {
        ("preserved", _) => Ok(probe.source()),
        ("masqueraded", Some("exact")) => branch
            .address
            .as_deref()
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("exact masquerade without an IPv4 address: {branch:?}")),
        // MASQUERADE: the primary address of the probed node's interface toward the backend.
        ("masqueraded", Some("outgoing-interface")) => {
            topology::masquerade_source(probe.target_node(), backend)
                .ok_or_else(|| format!("{backend} is not a backend of the topology"))
        }
        (verdict, kind) => Err(format!(
            "backend {backend} answered, but srcip-rules predicted {verdict} (masquerade address {kind:?}) for it"
        )),
    }
}

/// Every disagreement between prediction and kernel, in words; empty when they agree.
pub(crate) fn disagreements(prediction: &Prediction, observation: &Observation) -> Vec<String> {
    let probe = observation.probe;
    let mut problems = Vec::new();
    let Some(observed) = observed_outcome(observation) else {
        return vec![format!(
            "the kernel gave mixed outcomes {:?}",
            observation.outcomes
        )];
    };
    if !observed.contains(&prediction.verdict.as_str()) {
        problems.push(format!(
            "srcip-rules predicted {} ({}); the kernel did {observed:?}",
            prediction.verdict, prediction.summary
        ));
    }
    // Per backend: it must be a predicted endpoint, and it must have seen exactly the
    // address that endpoint's branch says (the client's, or the masquerade address).
    let mut expected_source_nat = 0;
    for (backend, record) in &observation.backends {
        let Some(branch) = prediction.branch_to(*backend) else {
            problems.push(format!(
                "backend {backend} answered, but srcip-rules predicted only {:?}",
                prediction.reachable_endpoints()
            ));
            continue;
        };
        match expected_source(probe, branch, *backend) {
            Ok(expected) => {
                if record.seen_sources.keys().any(|seen| *seen != expected) {
                    problems.push(format!(
                        "backend {backend} saw {:?}; srcip-rules predicted {} ({:?}), so only {expected}",
                        record.seen_sources, branch.verdict, branch.address_kind
                    ));
                }
            }
            Err(problem) => problems.push(problem),
        }
        if branch.verdict == "masqueraded" {
            expected_source_nat += record.answers as u64;
        }
    }
    // Independent of addresses: the probed node's MASQUERADE/SNAT rules must have counted
    // exactly the connections to masqueraded endpoints, and no other node any.
    for (node, packets) in &observation.source_nat_packets {
        let expected = if *node == probe.target_node() {
            expected_source_nat
        } else {
            0
        };
        if *packets != expected {
            problems.push(format!(
                "{node:?}'s nat MASQUERADE/SNAT rules counted {packets} new connection(s); the prediction means {expected}"
            ));
        }
    }
    if let Some(balanced) = prediction.balanced_endpoints() {
        let silent: Vec<&&str> = balanced
            .iter()
            .filter(|endpoint| {
                !observation
                    .backends
                    .keys()
                    .any(|backend| backend.to_string() == **endpoint)
            })
            .collect();
        if !silent.is_empty() {
            problems.push(format!(
                "srcip-rules predicted random balancing over {balanced:?}, but {silent:?} never answered in {} attempts",
                observation.attempts
            ));
        }
    }
    problems
}
