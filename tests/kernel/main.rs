//! Kernel tests: kube-proxy-shaped rules in a namespace-built two-node cluster, real TCP probes.
//!
//! Runs as root with `ip`, `iptables-legacy-restore` and `iptables-nft-restore`; otherwise every
//! test prints `skipped: <reason>` and passes, unless `SRCIP_REQUIRE_KERNEL=1` makes it fail.

mod expect;
mod netns;
mod predict;
mod probe;
mod scenarios;
mod server;
mod snmp;
mod topology;

use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use expect::Expected;
use predict::Prediction;
use probe::{Observation, Probe};
use scenarios::Scenario;
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
        before.len() >= 10,
        "expected the topology's 10 namespaces before SIGTERM, found {before:?}"
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

/// One probe: what the reference says, what srcip-rules predicted beforehand (`None` while
/// `explain` cannot be asked about the destination), and what the kernel did.
struct ProbeResult {
    expected: Expected,
    prediction: Result<Option<Prediction>, String>,
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
            let expected = &result.expected;
            let mut problems = Vec::new();
            if let Some(problem) = expected.problem_with(observation) {
                problems.push(format!(
                    "kernel   {problem}\nexpected {} (the reference, independent of srcip-rules: {})",
                    expected.expectation.describe(),
                    expected.basis
                ));
            }
            match &result.prediction {
                Ok(Some(prediction)) => problems.extend(
                    predict::disagreements(prediction, observation)
                        .into_iter()
                        .map(|problem| format!("mismatch {problem}")),
                ),
                Ok(None) => {}
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
                predict::explain_text(capture, observation.probe, &self.scenario),
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
        // kube-proxy's health server on each node, for the healthCheckNodePort probes.
        let _health_servers: Vec<BackendServer> = match scenario.health_check_node_port() {
            Some(port) if scenario.every_destination => NodeId::ALL
                .into_iter()
                .map(|node| {
                    let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
                    BackendServer::start(&topology.namespace(Place::Node(node)), any)
                })
                .collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        let mut probes = Vec::new();
        for probe in Probe::ALL.into_iter().filter(|p| p.applies_to(&scenario)) {
            // Predict first: a probe expected or predicted to be balanced over several
            // endpoints gets enough attempts to see every one of them.
            let capture = captures
                .iter()
                .find(|(node, _)| *node == probe.target_node())
                .map_or("", |(_, text)| text.as_str());
            let expected = expect::expected(&scenario, probe);
            let prediction = predict::predict(capture, probe, &scenario);
            let balanced = !expected.balanced_over.is_empty()
                || matches!(&prediction, Ok(Some(p)) if p.balanced_endpoints().is_some());
            let attempts = if balanced {
                probe::BALANCED_ATTEMPTS
            } else {
                probe::ATTEMPTS
            };
            let observation = probe::run(topology, &scenario, probe, attempts)?;
            probes.push(ProbeResult {
                expected,
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
    let observations: Vec<serde_json::Value> = result
        .probes
        .iter()
        .map(|p| {
            let mut value = serde_json::to_value(&p.observation).unwrap_or_default();
            value["expected"] = serde_json::json!({
                "outcome": p.expected.expectation.describe(),
                "basis": p.expected.basis,
                "reference_differs": p.expected.reference_differs,
            });
            value
        })
        .collect();
    let report = serde_json::json!({
        "scenario": result.scenario,
        "observations": observations,
    });
    fs::write(
        directory.join("observations.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )
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
