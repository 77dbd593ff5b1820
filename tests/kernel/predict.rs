//! What `srcip-rules explain --format json` predicts for a probe, from the node's own
//! `iptables-save`, and whether the kernel agreed.
//!
//! nodePort probes ask `explain NODEPORT --src SRC --dst DST --node-ip NODE`. The probes to
//! every other destination (LoadBalancer IP, externalIP, cluster IP, health-check port, an
//! address or port no rule names: kind `unhandled`) ask
//! `explain DST_IP:PORT --src SRC --node-ip NODE` once [`EXPLAIN_TAKES_ADDRESSES`] is set
//! (issue 11); until then they are checked against the hand-derived expectation only
//! (`expect.rs`). The JSON read is the same for both forms: `ports[0].classes[0]` with its
//! `verdict` and `branches` (`endpoint`, `verdict`, `masquerade.address_kind`/`address`,
//! `assumptions`), plus, when present, `ports[0].destination.kind`, which must name the
//! probed kind ([`Destination::explain_kind`]). Verdicts beyond today's: `forwarded` (not
//! DNATed, not dropped: the node routes the packet back out; a masquerade object on the
//! branch if it is masqueraded on the way) and `accepted` (delivered to a process on the
//! node, the health-check port).

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::Command;

use crate::netns;
use crate::probe::{Destination, Observation, Outcome, Probe};
use crate::scenarios::Scenario;
use crate::topology;

/// Whether `srcip-rules explain` answers `explain IP:PORT` for every destination kind
/// (issue 11). Set it to `true`, and nothing else, to compare every probe with `explain`.
pub(crate) const EXPLAIN_TAKES_ADDRESSES: bool = true;

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

/// The arguments of `explain` for the probe, on the capture given on standard input: the
/// nodePort with the probe's source, destination address and the target node's address, or
/// (once `explain` takes them) the destination `IP:PORT` with the source and the node's
/// address. `None` when `explain` cannot be asked about this destination yet.
fn explain_args(probe: Probe, scenario: &Scenario, format: &str) -> Option<Vec<String>> {
    explain_args_for(probe, scenario, format, EXPLAIN_TAKES_ADDRESSES)
}

fn explain_args_for(
    probe: Probe,
    scenario: &Scenario,
    format: &str,
    takes_addresses: bool,
) -> Option<Vec<String>> {
    let node = probe.target_node().ip().to_string();
    let source = probe.source().to_string();
    let destination = probe.destination(scenario);
    let args: Vec<String> = if probe.destination_kind() == Destination::NodePort {
        [
            "explain",
            &destination.port().to_string(),
            "-",
            "--src",
            &source,
            "--dst",
            &destination.ip().to_string(),
            "--node-ip",
            &node,
            "--format",
            format,
        ]
        .map(str::to_owned)
        .to_vec()
    } else if takes_addresses {
        let mut args: Vec<String> = [
            "explain",
            &destination.to_string(),
            "-",
            "--src",
            &source,
            "--node-ip",
            &node,
            "--format",
            format,
        ]
        .map(str::to_owned)
        .to_vec();
        // Where the probe puts the service address on the node itself, explain is told so,
        // as its assumption `address-not-local` asks.
        if probe.destination_local_on() == Some(probe.target_node()) {
            args.extend(["--node-ip".to_owned(), destination.ip().to_string()]);
        }
        args
    } else {
        return None;
    };
    Some(args)
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
pub(crate) fn explain_text(capture: &str, probe: Probe, scenario: &Scenario) -> String {
    let Some(args) = explain_args(probe, scenario, "text") else {
        return format!(
            "(srcip-rules explain cannot be asked about a {} yet: issue 11)",
            probe.destination_kind().explain_kind()
        );
    };
    match explain(capture, &args) {
        Ok(text) => String::from_utf8_lossy(&text).into_owned(),
        Err(error) => error,
    }
}

/// Runs the binary on the capture of the node the probe targets; `Ok(None)` when `explain`
/// cannot be asked about this destination yet.
pub(crate) fn predict(
    capture: &str,
    probe: Probe,
    scenario: &Scenario,
) -> Result<Option<Prediction>, String> {
    let Some(args) = explain_args(probe, scenario, "json") else {
        return Ok(None);
    };
    let stdout = explain(capture, &args)?;
    let json: serde_json::Value = serde_json::from_slice(&stdout)
        .map_err(|e| format!("srcip-rules printed invalid JSON: {e}"))?;
    parse_prediction(&json, probe.destination_kind()).map(Some)
}

/// Reads the first class of the first port of `explain --format json`; a
/// `destination.kind`, when the document has one, must be `kind`'s.
fn parse_prediction(json: &serde_json::Value, kind: Destination) -> Result<Prediction, String> {
    let port = &json["ports"][0];
    // A service without endpoints has only a filter REJECT naming its address, which does
    // not say whether it is a LoadBalancer IP or an externalIP.
    let either = named_either(kind);
    if let Some(named) = port["destination"]["kind"].as_str()
        && named != kind.explain_kind()
        && !(either && named == "external-address")
    {
        return Err(format!(
            "srcip-rules answered about a {named}, not a {}",
            kind.explain_kind()
        ));
    }
    let class = &port["classes"][0];
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

/// True for the kinds explain may name `external-address` when the rules cannot tell.
fn named_either(kind: Destination) -> bool {
    matches!(kind.explain_kind(), "load-balancer-ip" | "external-ip")
}

/// Whether the probed node sent the connection's packets back out instead of handling them:
/// no backend answered, and it sent packets away ([`Observation::packets_sent_away`]).
fn left_the_probed_node(observation: &Observation) -> bool {
    observation.backends.is_empty() && observation.packets_sent_away().unwrap_or_default() > 0
}

/// What the kernel did, in explain's vocabulary (ignoring the source address), or `None`
/// for a mix of outcomes.
fn observed_outcome(observation: &Observation) -> Option<Vec<&'static str>> {
    let left = left_the_probed_node(observation);
    Some(match observation.outcome()? {
        // kube-proxy's health server answers on the node: explain says `not-handled` (no
        // DNAT: the node itself answers), with the health-check reason.
        Outcome::Connected if observation.destination_kind == Destination::HealthCheckNodePort => {
            vec!["accepted", "not-handled"]
        }
        Outcome::Connected => vec!["preserved", "masqueraded"],
        // What happens after the node sends a packet back out depends on the network.
        Outcome::TimedOut | Outcome::Refused | Outcome::Unreachable if left => {
            vec!["forwarded"]
        }
        Outcome::TimedOut => vec!["dropped"],
        // A REJECT and a port where nothing listens look the same from the client, not to
        // the node: it answers a REJECT with ICMP, a closed port with a reset of its own.
        Outcome::Refused => refused_how(observation)?,
        Outcome::Unreachable | Outcome::Other(_) => return None,
    })
}

/// Whether the probed node refused the connection by a rule (`rejected`: an ICMP
/// destination-unreachable per attempt, no reset) or by its TCP stack, nothing listening on
/// a port no rule handles (`not-handled`: a reset per attempt, no ICMP error); `None` when
/// its counters show neither.
fn refused_how(observation: &Observation) -> Option<Vec<&'static str>> {
    let node = observation.counters(observation.probe.target_node().short_name());
    let attempts = observation.attempts as u64;
    match (node.unreachable_sent, node.resets_sent) {
        (icmp, 0) if icmp >= attempts => Some(vec!["rejected"]),
        (0, resets) if resets >= attempts => Some(vec!["not-handled"]),
        _ => None,
    }
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
#[allow(
    clippy::too_many_lines,
    reason = "one check per observed field; splitting would hide the list"
)]
pub(crate) fn disagreements(prediction: &Prediction, observation: &Observation) -> Vec<String> {
    let probe = observation.probe;
    let mut problems = Vec::new();
    let Some(observed) = observed_outcome(observation) else {
        return vec![format!(
            "the kernel's outcomes {:?} are mixed or have no verdict in explain's words",
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
    // address that endpoint's branch says (the client's, or the masquerade address). A
    // connection the node accepted itself reached no endpoint: its listener must have seen
    // the client. A connection sent back out masqueraded was source-NATed once each.
    let mut expected_source_nat = 0;
    if prediction.verdict == "forwarded"
        && prediction.branches.iter().any(|b| b.address_kind.is_some())
    {
        expected_source_nat = observation.attempts as u64;
    }
    let accepted = prediction.verdict == "accepted"
        || (prediction.verdict == "not-handled"
            && observation.destination_kind == Destination::HealthCheckNodePort);
    for (backend, record) in &observation.backends {
        if accepted {
            if *backend != observation.destination
                || record.seen_sources.keys().any(|s| *s != probe.source())
            {
                problems.push(format!(
                    "srcip-rules predicted the node accepts the connection itself, but {backend} answered having seen {:?}",
                    record.seen_sources
                ));
            }
            continue;
        }
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::SocketAddrV4;

    use super::{Prediction, disagreements, explain_args_for, observed_outcome, parse_prediction};
    use crate::probe::{BackendRecord, Destination, Observation, Outcome, Probe};
    use crate::scenarios::{self, Scenario};
    use crate::snmp::IpCounters;
    use crate::topology::NodeId;

    fn scenario(name: &str) -> Scenario {
        scenarios::matrix()
            .into_iter()
            .find(|s| s.name == name)
            .expect(name)
    }

    #[test]
    fn node_ports_ask_the_port_and_addresses_wait_for_explain_ip_port() {
        let local = scenario("v1_28ext-local-node1only");
        let words = |args: Option<Vec<String>>| args.map(|a| a.join(" "));
        assert_eq!(
            words(explain_args_for(
                Probe::ExternalToNode2,
                &local,
                "json",
                false
            )),
            Some(format!(
                "explain {} - --src 203.0.113.10 --dst 192.0.2.12 --node-ip 192.0.2.12 --format json",
                local.node_port
            ))
        );
        assert_eq!(
            explain_args_for(Probe::ExternalToLbViaNode2, &local, "json", false),
            None
        );
        assert_eq!(
            words(explain_args_for(
                Probe::ExternalToLbViaNode2,
                &local,
                "json",
                true
            )),
            Some(format!(
                "explain 198.51.100.80:{} - --src 203.0.113.10 --node-ip 192.0.2.12 --format json",
                local.service_port
            ))
        );
        assert_eq!(
            words(explain_args_for(Probe::Node2ToLb, &local, "json", true)),
            Some(format!(
                "explain 198.51.100.80:{} - --src 192.0.2.12 --node-ip 192.0.2.12 --format json",
                local.service_port
            ))
        );
        assert_eq!(
            words(explain_args_for(
                Probe::ExternalToHealthCheckNode1,
                &local,
                "text",
                true
            )),
            Some(format!(
                "explain 192.0.2.11:{} - --src 203.0.113.10 --node-ip 192.0.2.11 --format text",
                local.node_port + 1000
            ))
        );
        // The addresses no rule names are asked like any address.
        assert_eq!(
            words(explain_args_for(Probe::PodToUnnamed, &local, "json", true)),
            Some(format!(
                "explain 198.51.100.99:{} - --src 198.18.1.20 --node-ip 192.0.2.11 --format json",
                local.service_port
            ))
        );
        assert_eq!(
            words(explain_args_for(
                Probe::ExternalToNode1UnusedPort,
                &local,
                "json",
                true
            )),
            Some(format!(
                "explain 192.0.2.11:{} - --src 203.0.113.10 --node-ip 192.0.2.11 --format json",
                local.service_port - 1
            ))
        );
    }

    #[test]
    fn a_named_destination_kind_must_be_the_probed_one() {
        let json = serde_json::json!({"ports": [{
            "destination": {"kind": "load-balancer-ip"},
            "classes": [{"verdict": "dropped", "summary": "", "branches": []}],
        }]});
        assert!(parse_prediction(&json, Destination::LoadBalancerIp).is_ok());
        assert!(parse_prediction(&json, Destination::ExternalIp).is_err());
        // Today's documents name no kind: accepted as they are.
        let today = serde_json::json!({"ports": [{
            "classes": [{"verdict": "dropped", "summary": "", "branches": []}],
        }]});
        assert!(parse_prediction(&today, Destination::NodePort).is_ok());
    }

    /// An observation of `probe` where every attempt ended in `outcome` and the hosts'
    /// counters went up by `counters`.
    fn observed(
        probe: Probe,
        outcome: Outcome,
        backends: BTreeMap<SocketAddrV4, BackendRecord>,
        counters: &[(&'static str, IpCounters)],
        snat: u64,
    ) -> Observation {
        let scenario = scenario("v1_21xlb-local-node1only");
        Observation {
            scenario: scenario.name.clone(),
            probe,
            destination_kind: probe.destination_kind(),
            source: probe.source(),
            destination: probe.destination(&scenario),
            service_addresses_routed_via: probe.routed_via(),
            attempts: 12,
            outcomes: BTreeMap::from([(outcome, 12)]),
            backends,
            source_nat_packets: BTreeMap::from([
                (probe.target_node(), snat),
                (probe.target_node().other(), 0),
            ]),
            ip_counters: counters.iter().copied().collect(),
        }
    }

    /// A host that routed on and sent out `count` packets.
    fn forwarded(count: u64) -> IpCounters {
        IpCounters {
            forward_attempts: count,
            transmitted: Some(count),
            ..IpCounters::default()
        }
    }

    fn prediction(verdict: &str, masqueraded: bool) -> Prediction {
        Prediction {
            verdict: verdict.to_owned(),
            summary: String::new(),
            branches: vec![super::PredictedBranch {
                endpoint: None,
                verdict: verdict.to_owned(),
                address_kind: masqueraded.then(|| "outgoing-interface".to_owned()),
                address: None,
                assumed: false,
            }],
        }
    }

    #[test]
    fn a_syn_sent_back_out_is_forwarded_whatever_the_client_then_sees() {
        let looped = observed(
            Probe::OutsideRangeToRangedLbViaNode2,
            Outcome::Unreachable,
            BTreeMap::new(),
            &[(
                "node2",
                IpCounters {
                    time_exceeded_sent: 12,
                    ..forwarded(384)
                },
            )],
            0,
        );
        assert_eq!(observed_outcome(&looped), Some(vec!["forwarded"]));
        assert!(disagreements(&prediction("forwarded", false), &looped).is_empty());
        assert!(!disagreements(&prediction("dropped", false), &looped).is_empty());
        // Masqueraded on the way out: the node counted one source NAT per attempt.
        let martian = observed(
            Probe::OutsideRangeToRangedLbViaNode1,
            Outcome::TimedOut,
            BTreeMap::new(),
            &[("node1", forwarded(12)), ("router", forwarded(12))],
            12,
        );
        assert!(disagreements(&prediction("forwarded", true), &martian).is_empty());
        assert!(!disagreements(&prediction("forwarded", false), &martian).is_empty());
        // The node's own connection: the router routed its SYNs on, node1 rejected them.
        let node1_rejects = IpCounters {
            unreachable_sent: 12,
            ..forwarded(12)
        };
        let own = observed(
            Probe::Node2ToLb,
            Outcome::Refused,
            BTreeMap::new(),
            &[
                ("node2", forwarded(0)),
                ("router", forwarded(12)),
                ("node1", node1_rejects),
            ],
            0,
        );
        assert_eq!(observed_outcome(&own), Some(vec!["forwarded"]));
    }

    #[test]
    fn a_refusal_by_icmp_is_a_rule_and_one_by_a_reset_a_port_no_rule_handles() {
        // Its own connection to itself, rejected there: its SYNs went over loopback (sent,
        // but not away) and nothing reached the router.
        let to_itself = observed(
            Probe::Node1ToOwnIp,
            Outcome::Refused,
            BTreeMap::new(),
            &[(
                "node1",
                IpCounters {
                    unreachable_sent: 12,
                    ..forwarded(24)
                },
            )],
            0,
        );
        assert_eq!(observed_outcome(&to_itself), Some(vec!["rejected"]));
        // A REJECT on the probed node itself: its only packets are its ICMP errors.
        let rejected = observed(
            Probe::PodToEmptyClusterIp,
            Outcome::Refused,
            BTreeMap::new(),
            &[(
                "node1",
                IpCounters {
                    forward_attempts: 12,
                    transmitted: Some(12),
                    unreachable_sent: 12,
                    time_exceeded_sent: 0,
                    resets_sent: 0,
                },
            )],
            0,
        );
        assert_eq!(observed_outcome(&rejected), Some(vec!["rejected"]));
        // Delivered to the node, where nothing listens (a port no rule names): its TCP stack
        // resets each attempt.
        let closed = observed(
            Probe::ExternalToNode1,
            Outcome::Refused,
            BTreeMap::new(),
            &[(
                "node1",
                // Its resets are all it sent: nothing routed on.
                IpCounters {
                    transmitted: Some(12),
                    resets_sent: 12,
                    ..IpCounters::default()
                },
            )],
            0,
        );
        assert_eq!(observed_outcome(&closed), Some(vec!["not-handled"]));
        assert!(disagreements(&prediction("not-handled", false), &closed).is_empty());
        assert!(!disagreements(&prediction("rejected", false), &closed).is_empty());
        // A refusal the probed node's counters do not explain has no word.
        let unexplained = observed(
            Probe::ExternalToNode1,
            Outcome::Refused,
            BTreeMap::new(),
            &[],
            0,
        );
        assert_eq!(observed_outcome(&unexplained), None);
    }

    #[test]
    fn a_timeout_without_routing_is_a_drop_and_an_unreachable_without_it_has_no_word() {
        // Dropped in FORWARD: counted as a routing attempt, never sent.
        let dropped = observed(
            Probe::ExternalToLbViaNode2,
            Outcome::TimedOut,
            BTreeMap::new(),
            &[(
                "node2",
                IpCounters {
                    forward_attempts: 12,
                    transmitted: Some(0),
                    ..IpCounters::default()
                },
            )],
            0,
        );
        assert_eq!(observed_outcome(&dropped), Some(vec!["dropped"]));
        let odd = observed(
            Probe::ExternalToLbViaNode2,
            Outcome::Unreachable,
            BTreeMap::new(),
            &[],
            0,
        );
        assert_eq!(observed_outcome(&odd), None);
    }

    #[test]
    fn the_health_check_port_is_accepted_by_the_node_itself() {
        let probe = Probe::ExternalToHealthCheckNode2;
        let scenario = scenario("v1_21xlb-local-node1only");
        let listener = probe.destination(&scenario);
        let record = |seen| BackendRecord {
            answers: 12,
            seen_sources: BTreeMap::from([(seen, 12)]),
        };
        let served = observed(
            probe,
            Outcome::Connected,
            BTreeMap::from([(listener, record(probe.source()))]),
            &[],
            0,
        );
        assert_eq!(
            observed_outcome(&served),
            Some(vec!["accepted", "not-handled"])
        );
        assert!(disagreements(&prediction("not-handled", false), &served).is_empty());
        assert!(disagreements(&prediction("accepted", false), &served).is_empty());
        let natted = observed(
            probe,
            Outcome::Connected,
            BTreeMap::from([(listener, record(NodeId::Node2.ip()))]),
            &[],
            0,
        );
        assert!(!disagreements(&prediction("accepted", false), &natted).is_empty());
    }
}
