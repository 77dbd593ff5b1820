//! What srcip-rules predicts for a probe, from the node's own `iptables-save`, and whether
//! the kernel agreed.

use std::net::{IpAddr, Ipv4Addr};

use srcip_rules::analyze::explain::{ExplainOptions, Verdict, explain};
use srcip_rules::analyze::kube::PortOrService;
use srcip_rules::parse::parse_text;

use crate::probe::{Observation, Outcome};
use crate::topology::NodeId;

/// The verdict `explain` gives for the probe's source and destination on the node it
/// targets, and the class it put the source in.
pub(crate) fn predict(
    capture: &str,
    observation: &Observation,
) -> Result<(Verdict, String), String> {
    let parsed = parse_text(capture);
    let node = observation.probe.target_node();
    let options = ExplainOptions {
        target: PortOrService::Port(observation.destination.port()),
        src: Some(IpAddr::V4(observation.source)),
        dst: Some(IpAddr::V4(*observation.destination.ip())),
        node_ips: vec![IpAddr::V4(node.ip())],
    };
    let explanation = explain(&parsed.dump, &options);
    let port = explanation.ports.first().ok_or_else(|| {
        format!(
            "explain found no nodePort {}",
            observation.destination.port()
        )
    })?;
    let class = port
        .classes
        .first()
        .ok_or_else(|| "explain gave no source class for --src".to_string())?;
    Ok((class.verdict, class.summary.clone()))
}

/// What the kernel did, in explain's vocabulary: every verdict consistent with it. `None`
/// for a mix of outcomes.
pub(crate) fn observed_verdict(observation: &Observation) -> Option<Vec<Verdict>> {
    let outcome = observation.outcome()?;
    Some(match outcome {
        Outcome::Connected => {
            let mut possible = Vec::new();
            if observation
                .seen_sources
                .iter()
                .all(|s| *s == observation.source)
            {
                possible.push(Verdict::Preserved);
            }
            // MASQUERADE takes the address of the interface the packet leaves by: a node
            // IP or a pod-bridge address. For a probe from a node to a remote endpoint that
            // is the probe's own source, so such a connection fits both verdicts.
            if observation.seen_sources.iter().all(|s| is_node_address(*s)) {
                possible.push(Verdict::Masqueraded);
            }
            if possible.is_empty() {
                return None;
            }
            possible
        }
        Outcome::TimedOut => vec![Verdict::Dropped],
        // A REJECT and a port where nothing listens look the same from the client.
        Outcome::Refused => vec![Verdict::Rejected, Verdict::NotHandled],
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
    let observed = observed_verdict(observation);
    match (predict(capture, observation), observed) {
        (Err(error), _) => Some(format!("srcip-rules could not predict: {error}")),
        (Ok(_), None) => Some("the kernel gave mixed outcomes".to_string()),
        (Ok((predicted, summary)), Some(observed)) => (!observed.contains(&predicted)).then(|| {
            format!("srcip-rules predicted {predicted:?} ({summary}); the kernel did {observed:?}")
        }),
    }
}
