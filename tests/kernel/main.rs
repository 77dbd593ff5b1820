//! Kernel tests: kube-proxy-shaped rules in a namespace-built two-node cluster, real TCP probes.
//!
//! Runs as root with `ip`, `iptables-legacy-restore` and `iptables-nft-restore`; otherwise every
//! test prints `skipped: <reason>` and passes, unless `SRCIP_REQUIRE_KERNEL=1` makes it fail.

mod netns;
mod predict;
mod probe;
mod scenarios;
mod server;
mod topology;

use std::fmt::Write as _;
use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Instant;

use probe::{Observation, Outcome, Probe};
use scenarios::{Placement, Policy, Scenario};
use server::BackendServer;
use topology::{NodeId, Place, Topology};

/// Set to `1` (CI does) to turn every skip into a failure.
const REQUIRE_KERNEL: &str = "SRCIP_REQUIRE_KERNEL";

#[test]
fn kube_proxy_rules_treat_source_ips_as_the_kernel_reference_says() {
    if let Err(reason) = kernel_prerequisites() {
        skip_or_fail(&reason);
        return;
    }
    let started = Instant::now();
    let prefix;
    let results = {
        let topology = match Topology::build() {
            Ok(topology) => topology,
            Err(error) => panic!("building the namespace topology failed: {error}"),
        };
        prefix = topology.prefix();
        eprintln!(
            "kernel {}; bridge-nf-call-iptables in the nodes: {}",
            topology.facts.kernel_release,
            topology
                .facts
                .bridge_nf_call_iptables
                .as_deref()
                .unwrap_or("absent (br_netfilter not available)")
        );
        eprintln!("topology ready in {:.2?}", started.elapsed());
        let results = run_matrix(&topology);
        eprintln!(
            "matrix done after {:.2?}; removing namespaces",
            started.elapsed()
        );
        results
    };
    let leftovers = netns::leftovers(&prefix);
    eprintln!("kernel suite finished in {:.2?}", started.elapsed());
    assert!(
        leftovers.is_empty(),
        "cleanup left things behind: {leftovers:?}"
    );

    let results = results.unwrap_or_else(|error| panic!("{error}"));
    let failures: Vec<String> = results.iter().flat_map(ScenarioResult::failures).collect();
    assert!(
        failures.is_empty(),
        "{} problem(s): captures that do not parse or probes that disagree with the kernel facts:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Everything one scenario produced.
struct ScenarioResult {
    scenario: Scenario,
    /// `iptables-save` of each node after loading: what `srcip-rules` will analyse.
    captures: Vec<(NodeId, String)>,
    observations: Vec<Observation>,
}

impl ScenarioResult {
    /// What `iptables-save` printed on `node` after loading ("" if nothing was captured).
    fn capture(&self, node: NodeId) -> &str {
        self.captures
            .iter()
            .find(|(n, _)| *n == node)
            .map_or("", |(_, text)| text.as_str())
    }

    fn failures(&self) -> Vec<String> {
        let unparsed = self.captures.iter().filter_map(|(node, capture)| {
            let errors = srcip_rules::parse::parse_text(capture).errors;
            (!errors.is_empty()).then(|| {
                format!(
                    "scenario {}\n{node:?}'s iptables-save does not parse: {errors:?}\n{capture}",
                    self.scenario.name
                )
            })
        });
        let disagreements = self.observations
            .iter()
            .filter_map(|observation| {
                let expectation = expected(&self.scenario, observation.probe);
                let problem = expectation.problem_with(observation)?;
                let target = observation.probe.target_node();
                let rules = self.capture(target);
                Some(format!(
                    "scenario {}\nprobe    {}\nkernel   {problem}\nexpected {}\nrules loaded on {target:?} (iptables-save):\n{rules}",
                    self.scenario.name,
                    observation.summary(),
                    expectation.describe(),
                ))
            });
        let mispredicted = self.observations.iter().filter_map(|observation| {
            let target = observation.probe.target_node();
            let capture = self.capture(target);
            let problem = predict::disagreement(capture, observation)?;
            Some(format!(
                "scenario {}
probe    {}
mismatch {problem}
rules loaded on {target:?} (iptables-save):
{capture}",
                self.scenario.name,
                observation.summary(),
            ))
        });
        unparsed.chain(disagreements).chain(mispredicted).collect()
    }
}

fn run_matrix(topology: &Topology) -> Result<Vec<ScenarioResult>, String> {
    let _backends: Vec<BackendServer> = NodeId::ALL
        .into_iter()
        .map(|node| {
            BackendServer::start(&topology.namespace(Place::BackendPod(node)), node.backend())
        })
        .collect::<Result<_, _>>()?;
    // `SRCIP_KERNEL_RECORD=1` writes the captures into testdata/kernel/ (to be committed);
    // otherwise they go under the build's temporary directory.
    let output_dir = if std::env::var_os("SRCIP_KERNEL_RECORD").is_some_and(|v| v == "1") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/kernel")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kernel-captures")
    };
    let mut results = Vec::new();
    for scenario in scenarios::matrix() {
        let started = Instant::now();
        let mut captures = Vec::new();
        for node in NodeId::ALL {
            let rules = scenarios::node_rules(&scenario, node);
            let namespace = topology.namespace(Place::Node(node));
            let capture = scenarios::load(&namespace, &scenario, &rules).map_err(|error| {
                format!(
                    "scenario {}: loading {node:?} failed: {error}\nrules:\n{rules}",
                    scenario.name
                )
            })?;
            captures.push((node, capture));
        }
        let mut observations = Vec::new();
        for probe in Probe::ALL {
            observations.push(probe::run(
                topology,
                &scenario.name,
                probe,
                scenario.node_port,
            )?);
        }
        eprintln!("scenario {} ({:.2?}):", scenario.name, started.elapsed());
        for observation in &observations {
            eprintln!("  {}", observation.summary());
        }
        let result = ScenarioResult {
            scenario,
            captures,
            observations,
        };
        if let Err(error) = write_result(&output_dir, &result) {
            eprintln!("warning: could not save results: {error}");
        }
        results.push(result);
    }
    for node in NodeId::ALL {
        scenarios::clear(&topology.namespace(Place::Node(node)))?;
    }
    eprintln!(
        "captures and observations written under {}",
        output_dir.display()
    );
    Ok(results)
}

/// Saves each node's capture and the observations as JSON for a later comparison with
/// `srcip-rules explain --format json`.
fn write_result(output_dir: &std::path::Path, result: &ScenarioResult) -> std::io::Result<()> {
    let directory = output_dir.join(&result.scenario.name);
    fs::create_dir_all(&directory)?;
    for (node, capture) in &result.captures {
        fs::write(
            directory.join(format!("{}.iptables-save", node.short_name())),
            capture,
        )?;
    }
    let report = serde_json::json!({
        "scenario": result.scenario,
        "observations": result.observations,
    });
    fs::write(
        directory.join("observations.json"),
        serde_json::to_string_pretty(&report)?,
    )
}

/// What the kernel must do for a probe (reference §9.2), independent of the analyzer.
#[derive(Debug)]
enum Expectation {
    /// Every attempt connects and the backend sees an address of a node, not the client.
    SeesNodeAddress,
    /// Every attempt connects and the backend sees the probe's own source address; when
    /// `backends_on` is set, only backends on that node answer.
    SeesClient { backends_on: Option<NodeId> },
    /// Every attempt times out (the SYN is dropped).
    TimesOut,
    /// Every attempt is refused (REJECT icmp-port-unreachable, or nothing listening).
    Refused,
}

fn expected(scenario: &Scenario, probe: Probe) -> Expectation {
    if scenario.placement == Placement::Nowhere {
        return Expectation::Refused;
    }
    let expectation = match scenario.policy {
        Policy::Cluster => Expectation::SeesNodeAddress,
        Policy::Local => match probe {
            Probe::ExternalToNode1
            | Probe::ExternalToNode2
            | Probe::SubnetClientToNode1
            | Probe::Node1ToNode2 => {
                // node1's address is not LOCAL on node2, so node1 → node2 counts as external.
                let target = probe.target_node();
                let has_local_endpoint = match scenario.placement {
                    Placement::Node1Only => target == NodeId::Node1,
                    Placement::BothNodes => true,
                    Placement::Nowhere => false,
                };
                if has_local_endpoint {
                    Expectation::SeesClient {
                        backends_on: Some(target),
                    }
                } else {
                    Expectation::TimesOut
                }
            }
            Probe::Node1ToLocalhost | Probe::Node1ToOwnIp => Expectation::SeesNodeAddress,
            Probe::PodToNode1 | Probe::Pod2ToNode2 => Expectation::SeesClient { backends_on: None },
        },
    };
    // The extra rule masquerades connections entering the pod network from a source
    // outside it: every client here except the client pod (198.18.1.20).
    match expectation {
        Expectation::SeesClient { .. }
            if !scenario.extra_nat_postrouting.is_empty()
                && !matches!(probe, Probe::PodToNode1 | Probe::Pod2ToNode2) =>
        {
            Expectation::SeesNodeAddress
        }
        other => other,
    }
}

impl Expectation {
    fn describe(&self) -> String {
        match self {
            Expectation::SeesNodeAddress => format!(
                "connected, backend sees a node address {:?}",
                topology::node_addresses()
            ),
            Expectation::SeesClient { backends_on: None } => {
                "connected, backend sees the client's own address".to_owned()
            }
            Expectation::SeesClient {
                backends_on: Some(node),
            } => {
                format!(
                    "connected, backend sees the client's own address, only {node:?}'s backend answers"
                )
            }
            Expectation::TimesOut => "timed out (dropped)".to_owned(),
            Expectation::Refused => "refused".to_owned(),
        }
    }

    /// `None` when the observation fits, otherwise what was wrong.
    fn problem_with(&self, observation: &Observation) -> Option<String> {
        let outcome = observation.outcome();
        let wanted_outcome = match self {
            Expectation::SeesNodeAddress | Expectation::SeesClient { .. } => Outcome::Connected,
            Expectation::TimesOut => Outcome::TimedOut,
            Expectation::Refused => Outcome::Refused,
        };
        if outcome != Some(&wanted_outcome) {
            return Some(format!("outcomes {:?}", observation.outcomes));
        }
        let mut problem = String::new();
        match self {
            Expectation::SeesNodeAddress => {
                let nodes = topology::node_addresses();
                let foreign: Vec<&Ipv4Addr> = observation
                    .seen_sources
                    .iter()
                    .filter(|seen| !nodes.contains(seen))
                    .collect();
                if !foreign.is_empty() {
                    let _ = write!(problem, "backend saw non-node sources {foreign:?}");
                }
            }
            Expectation::SeesClient { backends_on } => {
                let source = observation.source;
                if observation.seen_sources.iter().any(|seen| *seen != source) {
                    let _ = write!(
                        problem,
                        "backend saw {:?}, not only {source}",
                        observation.seen_sources
                    );
                }
                if let Some(node) = backends_on
                    && observation
                        .backends
                        .iter()
                        .any(|backend| *backend != node.backend())
                {
                    let _ = write!(
                        problem,
                        " answered by {:?}, not only {:?}",
                        observation.backends,
                        node.backend()
                    );
                }
            }
            Expectation::TimesOut | Expectation::Refused => {}
        }
        (!problem.is_empty()).then_some(problem)
    }
}

/// Why the kernel tests cannot run here, if they cannot.
fn kernel_prerequisites() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not running as root".to_owned());
    }
    for (program, version_flag) in [
        ("ip", "-V"),
        ("iptables-legacy-restore", "--version"),
        ("iptables-nft-restore", "--version"),
    ] {
        netns::run(program, &[version_flag])
            .map_err(|error| format!("`{program}` is not usable: {error}"))?;
    }
    netns::remove_stale_namespaces();
    let mut trial = netns::NamespaceGuard::new();
    trial
        .add("trial")
        .map_err(|error| format!("`ip netns add` failed: {error}"))?;
    Ok(())
}

fn skip_or_fail(reason: &str) {
    if std::env::var(REQUIRE_KERNEL).as_deref() == Ok("1") {
        panic!("kernel tests required ({REQUIRE_KERNEL}=1) but cannot run: {reason}");
    }
    eprintln!("skipped: {reason}");
}
