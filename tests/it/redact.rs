//! `--redact`: verdicts unchanged by redaction on every shipped dump, stand-ins consistent
//! and keyed, prefixes still holding their addresses, special ranges kept, the user's own
//! addresses and targets mapped like the dump's, and the map file.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use srcip_rules::kube::redact::Redactor;
use srcip_rules::kube::{ExplainOptions, Target, explain};
use srcip_rules::parse::parse_text;
use srcip_rules::report::{self, Format, Palette};

const CNI: &str = "testdata/nodes/v1.28-ext-etp-local-cni-masquerade-breaks-preservation-nft.txt";

/// The nodePorts a dump's `-A KUBE-NODEPORTS` rules test (`--dport N`), and 30080 for the
/// generator's scenarios (see tests/it/explain.rs).
fn node_ports(path: &Path, text: &str) -> BTreeSet<u16> {
    let mut ports: BTreeSet<u16> = text
        .lines()
        .filter(|l| l.starts_with("-A KUBE-NODEPORTS ") || l.contains("] -A KUBE-NODEPORTS "))
        .filter_map(|l| {
            l.split("--dport ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    if path.to_string_lossy().contains("generated") {
        ports.insert(30080);
    }
    ports
}

/// What `explain --format json` decides, without any address or name: per nodePort its
/// protocol and policy, per class its kind and verdicts, per branch its verdict,
/// probability and the lines of its decisive rules.
fn verdicts(text: &str, port: u16) -> Value {
    let parsed = parse_text(text);
    let options = ExplainOptions {
        target: Target::NodePort {
            port,
            protocol: None,
        },
        src: None,
        dst: None,
        node_ips: Vec::new(),
        max_paths: srcip_rules::netfilter::MAX_PATHS,
    };
    let mut out = Vec::new();
    report::renderer(Format::Json, Palette::new(false))
        .explanation(&explain(&parsed.rules(), &options), &mut out)
        .expect("json");
    let doc: Value = serde_json::from_slice(&out).expect("json");
    let ports = doc["ports"].as_array().cloned().unwrap_or_default();
    Value::Array(
        ports
            .iter()
            .map(|p| {
                serde_json::json!({
                    "protocol": p["protocol"],
                    "node_port": p["node_port"],
                    "policy": p["external_traffic_policy"],
                    // In an order that does not depend on addresses (endpoint classes
                    // come in address order, which a permutation does not keep).
                    "classes": sorted(p["classes"].as_array().expect("classes").iter().map(|c| serde_json::json!({
                        "class": c["class"],
                        "verdict": c["verdict"],
                        "mixed": c["mixed"].as_array().expect("mixed").iter().map(|m| serde_json::json!([m["verdict"], m["probability"]])).collect::<Vec<_>>(),
                        "branches": c["branches"].as_array().expect("branches").iter().map(|b| serde_json::json!({
                            "verdict": b["verdict"],
                            "probability": b["probability"],
                            "decisive": b["decisive_rules"].as_array().expect("decisive").iter().map(|r| r["line"].clone()).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })).collect()),
                })
            })
            .collect(),
    )
}

fn sorted(mut values: Vec<Value>) -> Vec<Value> {
    values.sort_by_key(|v| v.to_string());
    values
}

#[test]
fn redaction_changes_no_verdict_on_any_shipped_dump() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files = Vec::new();
    let mut stack = vec![root.join("nodes"), root.join("partial")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "txt") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 30, "{files:?}");
    let mut compared = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        let redacted = Redactor::new(b"a key for the test").text(&text);
        assert_eq!(text.lines().count(), redacted.lines().count(), "{path:?}");
        for port in node_ports(&path, &text) {
            let before = verdicts(&text, port);
            assert_eq!(
                before,
                verdicts(&redacted, port),
                "{path:?} nodePort {port}"
            );
            compared += before.as_array().map_or(0, Vec::len);
        }
    }
    assert!(compared > 40, "only {compared} nodePorts compared");
}

fn srcip() -> Command {
    let mut cmd = Command::cargo_bin("srcip-rules").unwrap();
    cmd.env_remove("NO_COLOR").env_remove("SRCIP_REDACT_KEY");
    cmd
}

fn stdout(args: &[&str]) -> String {
    let out = srcip().args(args).assert().code(0);
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn the_same_key_gives_the_same_stand_ins_and_a_random_key_does_not() {
    let args = [
        "explain",
        "3001",
        CNI,
        "--format",
        "json",
        "--redact-key",
        "k1",
    ];
    let first = stdout(&args);
    assert_eq!(first, stdout(&args));
    let other = stdout(&[
        "explain",
        "3001",
        CNI,
        "--format",
        "json",
        "--redact-key",
        "k2",
    ]);
    assert_ne!(first, other);
    let random1 = stdout(&["explain", "3001", CNI, "--format", "json", "--redact"]);
    let random2 = stdout(&["explain", "3001", CNI, "--format", "json", "--redact"]);
    assert_ne!(random1, random2);
    for text in [&first, &other, &random1] {
        assert!(
            !text.contains("10.180.") && !text.contains("ns1/svc1"),
            "{text}"
        );
        assert!(!text.contains("XPGD46QRK7WJZT7O"), "{text}");
        // Kept: loopback and the documentation address standing for the node.
        assert!(
            text.contains("127.0.0.0/8") && text.contains("192.0.2.10"),
            "{text}"
        );
    }
}

#[test]
fn the_map_file_lists_every_stand_in_and_prefixes_still_hold_their_addresses() {
    let dir = std::env::temp_dir().join(format!("srcip-redact-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let map_path = dir.join("map.json");
    let map_arg = map_path.to_str().unwrap();
    let out = stdout(&[
        "explain",
        "3001",
        CNI,
        "--src",
        "10.180.0.1",
        "--redact-map",
        map_arg,
        "--color",
        "never",
    ]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&map_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let map: Value = serde_json::from_str(&std::fs::read_to_string(&map_path).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(map["schema_version"], 1);
    // The user's --src and target were mapped like the dump: the service was found, and
    // the source shown is the stand-in of 10.180.0.1.
    let src = map["addresses"]["10.180.0.1"]
        .as_str()
        .expect("10.180.0.1 mapped");
    assert!(out.contains(&format!("{src} → ")), "{out}");
    let ns = map["namespaces"]["ns1"].as_str().unwrap();
    let svc = map["services"]["svc1"].as_str().unwrap();
    assert!(out.contains(&format!("service {ns}/{svc}:port-")), "{out}");
    assert!(
        !out.contains("10.180.0.1") && !out.contains("ns1/svc1"),
        "{out}"
    );
    // Containment is the same before and after, for every address and prefix listed.
    let addresses: Vec<(IpAddr, IpAddr)> = map["addresses"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(a, b)| (a.parse().unwrap(), b.as_str().unwrap().parse().unwrap()))
        .collect();
    let prefixes: Vec<(ipnet::IpNet, ipnet::IpNet)> = map["prefixes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(a, b)| (a.parse().unwrap(), b.as_str().unwrap().parse().unwrap()))
        .collect();
    assert!(
        prefixes
            .iter()
            .any(|(p, _)| p.to_string() == "10.180.0.0/16")
    );
    let mut checked = 0;
    for (net, net_stand_in) in &prefixes {
        assert_eq!(net.prefix_len(), net_stand_in.prefix_len());
        for (address, stand_in) in &addresses {
            assert_eq!(
                net.contains(address),
                net_stand_in.contains(stand_in),
                "{net} {address} → {net_stand_in} {stand_in}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "{checked}");
    // Names and chain hashes.
    assert!(map["chain_hashes"]["XPGD46QRK7WJZT7O"].is_string());
    assert!(map["key_hex"].as_str().is_some_and(|k| k.len() == 64));
}

#[test]
fn every_command_redacts() {
    let inspect = stdout(&["inspect", CNI, "--redact-key", "k", "--color", "never"]);
    assert!(!inspect.is_empty());
    let graph = stdout(&["graph", "3001", CNI, "--redact-key", "k"]);
    assert!(
        graph.contains("DNAT to 10.") && !graph.contains("10.180."),
        "{graph}"
    );
    assert!(!graph.contains("XPGD46QRK7WJZT7O"), "{graph}");
    let generated = stdout(&[
        "generate",
        "--scenario",
        "v1.28-nft-etp-local-with-local-endpoint",
        "--redact-key",
        "k",
    ]);
    let plain = stdout(&[
        "generate",
        "--scenario",
        "v1.28-nft-etp-local-with-local-endpoint",
    ]);
    assert_eq!(generated.lines().count(), plain.lines().count());
    assert!(plain.contains("test/web:http") && !generated.contains("test/web:http"));
    // The generator's addresses are in 198.18.0.0/15 (benchmarking): kept.
    assert!(generated.contains("198.18.1.10"), "{generated}");
    // A service named on the command line is mapped like the dump's comments, so it is
    // still found (namespace and name replaced, the generic port name `http` kept).
    let explained = stdout(&[
        "explain",
        "test/web:http",
        "testdata/nodes/generated/v1.28-nft-etp-local-with-local-endpoint.txt",
        "--redact-key",
        "k",
        "--color",
        "never",
    ]);
    assert!(explained.contains("— service ns-"), "{explained}");
    assert!(
        explained.contains("/svc-") && explained.contains(":http"),
        "{explained}"
    );
    assert!(!explained.contains("test/web"), "{explained}");
    // An empty key is a usage error.
    srcip()
        .args(["inspect", CNI, "--redact-key", ""])
        .assert()
        .code(2);
}
