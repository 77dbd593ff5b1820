//! What `srcip-rules explain --format json` predicts for a probe, from the node's own
//! `iptables-save`, and whether the kernel agreed.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use crate::probe::{Observation, Outcome};
use crate::topology::NodeId;

/// The prediction for one probe, read from the JSON document.
pub(crate) struct Prediction {
    /// The class verdict (`preserved`, `masqueraded`, ...).
    pub(crate) verdict: String,
    /// The class summary, for failure messages.
    pub(crate) summary: String,
    /// Endpoints (`IP:port`) of the branches that reach one.
    pub(crate) endpoints: BTreeSet<String>,
}

/// Runs the binary on the capture of the node the probe targets, for the probe's source,
/// destination and that node's address.
pub(crate) fn predict(capture: &str, observation: &Observation) -> Result<Prediction, String> {
    let node = observation.probe.target_node();
    let mut child = Command::new(env!("CARGO_BIN_EXE_srcip-rules"))
        .args([
            "explain",
            &observation.destination.port().to_string(),
            "-",
            "--src",
            &observation.source.to_string(),
            "--dst",
            &observation.destination.ip().to_string(),
            "--node-ip",
            &node.ip().to_string(),
            "--format",
            "json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run srcip-rules: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(capture.as_bytes())
        .map_err(|e| format!("cannot feed the capture: {e}"))?;
    let output = child
        .wait_with_output()
        .map_err(|e| format!("srcip-rules did not finish: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "srcip-rules exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("srcip-rules printed invalid JSON: {e}"))?;
    let class = &json["ports"][0]["classes"][0];
    let verdict = class["verdict"]
        .as_str()
        .ok_or_else(|| format!("no class verdict in {json}"))?
        .to_owned();
    let endpoints = class["branches"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["endpoint"].as_str().map(str::to_owned))
        .collect();
    Ok(Prediction {
        verdict,
        summary: class["summary"].as_str().unwrap_or_default().to_owned(),
        endpoints,
    })
}

/// What the kernel did, in explain's vocabulary: every verdict consistent with it. `None`
/// for a mix of outcomes.
pub(crate) fn observed_verdict(observation: &Observation) -> Option<Vec<&'static str>> {
    let outcome = observation.outcome()?;
    Some(match outcome {
        Outcome::Connected => {
            let mut possible = Vec::new();
            if observation
                .seen_sources
                .iter()
                .all(|s| *s == observation.source)
            {
                possible.push("preserved");
            }
            // MASQUERADE takes the address of the interface the packet leaves by: a node
            // IP or a pod-bridge address. For a probe from a node to a remote endpoint that
            // is the probe's own source, so such a connection fits both verdicts.
            if observation.seen_sources.iter().all(|s| is_node_address(*s)) {
                possible.push("masqueraded");
            }
            if possible.is_empty() {
                return None;
            }
            possible
        }
        Outcome::TimedOut => vec!["dropped"],
        // A REJECT and a port where nothing listens look the same from the client.
        Outcome::Refused => vec!["rejected", "not-handled"],
        Outcome::Other(_) => return None,
    })
}

/// True for an address a node masquerades to.
fn is_node_address(address: Ipv4Addr) -> bool {
    NodeId::ALL
        .into_iter()
        .any(|node| node.ip() == address || node.bridge_ip() == address)
}

/// A disagreement between prediction and kernel, in words; `None` when they agree.
pub(crate) fn disagreement(capture: &str, observation: &Observation) -> Option<String> {
    let prediction = match predict(capture, observation) {
        Ok(prediction) => prediction,
        Err(error) => return Some(format!("srcip-rules could not predict: {error}")),
    };
    let Some(observed) = observed_verdict(observation) else {
        return Some("the kernel gave mixed outcomes".to_owned());
    };
    if !observed.contains(&prediction.verdict.as_str()) {
        return Some(format!(
            "srcip-rules predicted {} ({}); the kernel did {observed:?}",
            prediction.verdict, prediction.summary
        ));
    }
    // Every backend that answered must be one srcip-rules said the connection can reach.
    let unexpected: Vec<String> = observation
        .backends
        .iter()
        .map(ToString::to_string)
        .filter(|backend| !prediction.endpoints.contains(backend))
        .collect();
    (!unexpected.is_empty()).then(|| {
        format!(
            "backends {unexpected:?} answered, but srcip-rules predicted only {:?}",
            prediction.endpoints
        )
    })
}
