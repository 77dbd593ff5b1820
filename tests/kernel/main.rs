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

use std::fs;
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use predict::Prediction;
use probe::{Observation, Outcome, Probe};
use scenarios::{Placement, Policy, Scenario};
use server::BackendServer;
use topology::{NodeId, Place, Topology};

/// Set to `1` (CI does) to turn every skip into a failure.
const REQUIRE_KERNEL: &str = "SRCIP_REQUIRE_KERNEL";
/// Set to `1` to make the suite wait (at most [`PAUSE_LIMIT`]) once the topology is built,
/// after printing [`PAUSED`]: the interrupt test signals it then.
const PAUSE_AFTER_TOPOLOGY: &str = "SRCIP_KERNEL_PAUSE_AFTER_TOPOLOGY";
const PAUSED: &str = "paused after building the topology";
const PAUSE_LIMIT: Duration = Duration::from_secs(60);
/// The suite's test name, for running it in a child process.
const SUITE: &str = "kube_proxy_rules_treat_source_ips_as_the_kernel_reference_says";

#[test]
fn kube_proxy_rules_treat_source_ips_as_the_kernel_reference_says() {
    if let Err(reason) = kernel_prerequisites() {
        skip_or_fail(&reason);
        return;
    }
    netns::remove_namespaces_on_interrupt();
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
        if std::env::var(PAUSE_AFTER_TOPOLOGY).as_deref() == Ok("1") {
            eprintln!("{PAUSED}");
            std::thread::sleep(PAUSE_LIMIT);
            panic!("paused for {PAUSE_LIMIT:?} and nobody interrupted the suite");
        }
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

/// SIGTERM to a running suite (here: a child running it, paused once its topology is built)
/// deletes every one of its namespaces and ends it with a failure status, within a bound.
#[test]
fn an_interrupted_suite_removes_its_namespaces() {
    if let Err(reason) = kernel_prerequisites() {
        skip_or_fail(&reason);
        return;
    }
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([SUITE, "--exact", "--nocapture", "--test-threads=1"])
        .env(PAUSE_AFTER_TOPOLOGY, "1")
        .env(REQUIRE_KERNEL, "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cannot run the test binary");
    let prefix = format!("{}{}-", netns::TAG, child.id());
    let (lines_sender, lines) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            if lines_sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut log = Vec::new();
    let paused = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let done = line == PAUSED;
                log.push(line);
                if done {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    let before: Vec<String> = netns::namespaces_with_tag()
        .into_iter()
        .filter(|name| name.starts_with(&prefix))
        .collect();
    // SAFETY: kill has no memory-safety preconditions; the pid is our own child's.
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = wait_timeout::ChildExt::wait_timeout(&mut child, Duration::from_secs(20))
        .expect("waiting for the child");
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let after: Vec<String> = netns::namespaces_with_tag()
        .into_iter()
        .filter(|name| name.starts_with(&prefix))
        .collect();
    for name in &after {
        let _ = netns::run("ip", &["netns", "del", name]);
    }
    assert!(
        paused,
        "the child never paused; its log:\n{}",
        log.join("\n")
    );
    eprintln!(
        "interrupt test: {} namespaces {prefix}* before SIGTERM, {} after; child {status:?}",
        before.len(),
        after.len()
    );
    assert!(
        before.len() >= 9,
        "expected the topology's 9 namespaces before SIGTERM, found {before:?}"
    );
    let status = status.expect("the child did not exit within 20 s of SIGTERM");
    assert!(
        !status.success(),
        "an interrupted suite must fail: {status:?}"
    );
    assert!(
        after.is_empty(),
        "SIGTERM left namespaces behind: {after:?}"
    );
}

/// One probe: what srcip-rules predicted beforehand, and what the kernel did.
struct ProbeResult {
    prediction: Result<Prediction, String>,
    observation: Observation,
}

/// Everything one scenario produced.
struct ScenarioResult {
    scenario: Scenario,
    /// `iptables-save` of each node after loading: what `srcip-rules` will analyse.
    captures: Vec<(NodeId, String)>,
    probes: Vec<ProbeResult>,
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
            let errors = srcip_rules::parse::parse_text(capture).errors();
            (!errors.is_empty()).then(|| {
                format!(
                    "scenario {}\n{node:?}'s iptables-save does not parse: {errors:?}\n{capture}",
                    self.scenario.name
                )
            })
        });
        let probes = self.probes.iter().filter_map(|result| {
            let observation = &result.observation;
            let expectation = expected(&self.scenario, observation.probe);
            let mut problems = Vec::new();
            if let Some(problem) = expectation.problem_with(observation) {
                problems.push(format!(
                    "kernel   {problem}\nexpected {} (the reference, independent of srcip-rules)",
                    expectation.describe()
                ));
            }
            match &result.prediction {
                Ok(prediction) => problems.extend(
                    predict::disagreements(prediction, observation)
                        .into_iter()
                        .map(|problem| format!("mismatch {problem}")),
                ),
                Err(error) => problems.push(format!("mismatch srcip-rules could not predict: {error}")),
            }
            if problems.is_empty() {
                return None;
            }
            let target = observation.probe.target_node();
            let capture = self.capture(target);
            Some(format!(
                "scenario {}\nprobe    {}\n{}\nsrcip-rules explain on {target:?}'s rules for this probe (the rules involved, by line):\n{}\nrules loaded on {target:?} (iptables-save):\n{capture}",
                self.scenario.name,
                observation.summary(),
                problems.join("\n"),
                predict::explain_text(capture, observation.probe, self.scenario.node_port),
            ))
        });
        unparsed.chain(probes).collect()
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
        let mut probes = Vec::new();
        for probe in Probe::ALL {
            // Predict first: a probe predicted to be balanced over several endpoints gets
            // enough attempts to see every one of them.
            let capture = captures
                .iter()
                .find(|(node, _)| *node == probe.target_node())
                .map_or("", |(_, text)| text.as_str());
            let prediction = predict::predict(capture, probe, scenario.node_port);
            let attempts = match &prediction {
                Ok(p) if p.balanced_endpoints().is_some() => probe::BALANCED_ATTEMPTS,
                _ => probe::ATTEMPTS,
            };
            let observation = probe::run(topology, &scenario, probe, attempts)?;
            probes.push(ProbeResult {
                prediction,
                observation,
            });
        }
        eprintln!("scenario {} ({:.2?}):", scenario.name, started.elapsed());
        for result in &probes {
            eprintln!("  {}", result.observation.summary());
        }
        let result = ScenarioResult {
            scenario,
            captures,
            probes,
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
    let observations: Vec<&Observation> = result.probes.iter().map(|p| &p.observation).collect();
    let report = serde_json::json!({
        "scenario": result.scenario,
        "observations": observations,
    });
    fs::write(
        directory.join("observations.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )
}

/// Which connections the probed node masquerades, in the reference (§9.2).
#[derive(Debug, Clone, Copy)]
enum Masquerades {
    /// Every connection.
    All,
    /// None: every backend sees the client's own address.
    None,
    /// Only a connection that lands on this backend (the client itself: a hairpin).
    OnlyBackToItself(SocketAddrV4),
}

/// What the kernel must do for a probe (reference §9.2), independent of the analyzer.
#[derive(Debug)]
enum Expectation {
    /// Every attempt connects; each backend sees the client's address or, where the node
    /// masquerades, the address of the node's interface toward that backend; when
    /// `backends_on` is set, only backends on that node answer.
    Connects {
        masquerades: Masquerades,
        backends_on: Option<NodeId>,
    },
    /// Every attempt times out (the SYN is dropped).
    TimesOut,
    /// Every attempt is refused (REJECT icmp-port-unreachable, or nothing listening).
    Refused,
}

fn expected(scenario: &Scenario, probe: Probe) -> Expectation {
    if scenario.placement == Placement::Nowhere {
        return Expectation::Refused;
    }
    let everything = Expectation::Connects {
        masquerades: Masquerades::All,
        backends_on: None,
    };
    let expectation = match scenario.policy {
        Policy::Cluster => everything,
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
                    Expectation::Connects {
                        masquerades: Masquerades::None,
                        backends_on: Some(target),
                    }
                } else {
                    Expectation::TimesOut
                }
            }
            Probe::Node1ToLocalhost | Probe::Node1ToOwnIp => everything,
            Probe::PodToNode1 | Probe::Pod2ToNode2 => Expectation::Connects {
                masquerades: Masquerades::None,
                backends_on: None,
            },
            // Pod traffic goes to the whole service; only the connection back to the
            // client pod itself is masqueraded (KUBE-SEP's `-s <pod IP> -j KUBE-MARK-MASQ`).
            Probe::Backend1ToNode1 => Expectation::Connects {
                masquerades: Masquerades::OnlyBackToItself(NodeId::Node1.backend()),
                backends_on: None,
            },
        },
    };
    // The extra rule masquerades connections entering the pod network from a source
    // outside it: every client here except the pods (198.18.0.0/16).
    match expectation {
        Expectation::Connects {
            masquerades: Masquerades::None,
            backends_on,
        } if !scenario.extra_nat_postrouting.is_empty()
            && !matches!(
                probe,
                Probe::PodToNode1 | Probe::Pod2ToNode2 | Probe::Backend1ToNode1
            ) =>
        {
            Expectation::Connects {
                masquerades: Masquerades::All,
                backends_on,
            }
        }
        other => other,
    }
}

impl Expectation {
    fn describe(&self) -> String {
        match self {
            Expectation::Connects {
                masquerades,
                backends_on,
            } => {
                let who = match masquerades {
                    Masquerades::All => {
                        "every connection masqueraded to the probed node's address toward the backend".to_owned()
                    }
                    Masquerades::None => "the client's own address, nothing masqueraded".to_owned(),
                    Masquerades::OnlyBackToItself(backend) => format!(
                        "the client's own address, except {backend} (the client itself), masqueraded"
                    ),
                };
                let only = backends_on
                    .map(|node| format!(", only {:?}'s backend answers", node.backend()))
                    .unwrap_or_default();
                format!("connected, backends see {who}{only}")
            }
            Expectation::TimesOut => "timed out (dropped)".to_owned(),
            Expectation::Refused => "refused".to_owned(),
        }
    }

    /// `None` when the observation fits, otherwise what was wrong.
    fn problem_with(&self, observation: &Observation) -> Option<String> {
        let outcome = observation.outcome();
        let wanted_outcome = match self {
            Expectation::Connects { .. } => Outcome::Connected,
            Expectation::TimesOut => Outcome::TimedOut,
            Expectation::Refused => Outcome::Refused,
        };
        if outcome != Some(&wanted_outcome) {
            return Some(format!("outcomes {:?}", observation.outcomes));
        }
        let target = observation.probe.target_node();
        let mut problems = Vec::new();
        let mut masqueraded_connections = 0;
        if let Expectation::Connects {
            masquerades,
            backends_on,
        } = self
        {
            for (backend, record) in &observation.backends {
                let masqueraded = match masquerades {
                    Masquerades::All => true,
                    Masquerades::None => false,
                    Masquerades::OnlyBackToItself(itself) => backend == itself,
                };
                let wanted = if masqueraded {
                    masqueraded_connections += record.answers as u64;
                    topology::masquerade_source(target, *backend)
                } else {
                    Some(observation.source)
                };
                if record.seen_sources.keys().any(|seen| Some(*seen) != wanted) {
                    problems.push(format!(
                        "backend {backend} saw {:?}, not only {wanted:?}",
                        record.seen_sources
                    ));
                }
                if let Some(node) = backends_on
                    && *backend != node.backend()
                {
                    problems.push(format!(
                        "answered by {backend}, not only {:?}",
                        node.backend()
                    ));
                }
            }
        }
        for (node, packets) in &observation.source_nat_packets {
            let wanted = if *node == target {
                masqueraded_connections
            } else {
                0
            };
            if *packets != wanted {
                problems.push(format!(
                    "{node:?} source-NATed {packets} new connection(s), not {wanted}"
                ));
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}

/// Why the kernel tests cannot run here, if they cannot (checked once per process: the
/// tests run in parallel and would otherwise race on the trial namespace).
fn kernel_prerequisites() -> Result<(), String> {
    static CHECKED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    CHECKED.get_or_init(check_kernel_prerequisites).clone()
}

fn check_kernel_prerequisites() -> Result<(), String> {
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
