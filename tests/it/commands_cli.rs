//! The commands of issue 12 as a user runs them — `ports`, `check`, `diff`, and `explain`
//! on several nodes — each in every format (insta snapshots), with their bad arguments.
//!
//! The kernel captures `testdata/kernel/v1_28ext-local-node1only/` are the seed articles'
//! situation: service `srcip/web:http` (nodePort 30109) has `externalTrafficPolicy: Local`
//! and its one endpoint, 198.18.1.10, runs on node1 (node1's KUBE-SVL-USQSCLFOMIHDCPRM
//! jumps to its KUBE-SEP; node2's KUBE-EXT chain ends without a jump and its filter
//! KUBE-EXTERNAL-SERVICES drops "has no local endpoints"). The kernel suite connected
//! from outside: node1 answered with the client's address, node2 timed out
//! (observations.json).

use assert_cmd::Command;

use crate::support::run;

const D: &str = "testdata/nodes/v1.28-ext-multi-service-nft.txt";
const XLB: &str = "testdata/nodes/v1.21-xlb-cluster-and-local-legacy.txt";
const NODE1: &str = "testdata/kernel/v1_28ext-local-node1only/node1.iptables-save";
const NODE2: &str = "testdata/kernel/v1_28ext-local-node1only/node2.iptables-save";

/// Runs with `stdin` as standard input.
fn run_stdin(args: &[&str], stdin: Vec<u8>, code: i32) -> String {
    let out = Command::cargo_bin("srcip-rules")
        .unwrap()
        .args(args)
        .arg("--color")
        .arg("never")
        .write_stdin(stdin)
        .assert()
        .code(code);
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn ports_lists_every_node_port_in_every_format() {
    // Dump D: 3001 is Local without a local endpoint (dropped from outside), 3002 and
    // 3003 are Cluster (masqueraded); dump C (XLB): 3001 Cluster, 3002 Local with one
    // local endpoint of two, 3003 Local with none.
    for format in ["text", "markdown", "json"] {
        let (out, _) = run(&["ports", D, XLB, "--format", format], 0);
        insta::assert_snapshot!(format!("ports_{format}"), out);
    }
}

#[test]
fn ports_rows_say_what_explain_says() {
    let (out, _) = run(&["ports", D, "--format", "json"], 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = doc["nodes"][0]["node_ports"].as_array().unwrap();
    let asked: Vec<String> = rows
        .iter()
        .map(|r| {
            let d = &r["destination"];
            match d["address"].as_str() {
                Some(address) => format!("{address}:{}", d["port"]),
                None => d["port"].to_string(),
            }
        })
        .collect();
    assert_eq!(
        asked,
        [
            "3001",
            "3002",
            "3003",
            "1.2.3.4:80",
            "5.6.7.8:80",
            "192.168.99.22:80",
            "192.168.99.33:80"
        ]
    );
    for (row, port) in rows.iter().zip(&asked) {
        let (explained, _) = run(&["explain", port, D, "--format", "json"], 0);
        let explained: serde_json::Value = serde_json::from_str(&explained).unwrap();
        let classes = explained["ports"][0]["classes"].as_array().unwrap();
        let prefixes: Vec<(String, serde_json::Value)> = classes
            .iter()
            .filter(|c| c["class"] == "prefix")
            .map(|c| {
                (
                    c["prefix"].as_str().unwrap().to_string(),
                    c["verdict"].clone(),
                )
            })
            .collect();
        let shown: Vec<(String, serde_json::Value)> = row["source_prefixes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["prefix"].as_str().unwrap().to_string(),
                    p["verdict"].clone(),
                )
            })
            .collect();
        let is_load_balancer = row["destination"]["kind"] == "load-balancer-ip";
        assert_eq!(
            shown,
            if is_load_balancer {
                prefixes
            } else {
                Vec::new()
            },
            "{port}"
        );
        for (column, class) in [
            ("external", "other"),
            ("node", "node"),
            ("loopback", "loopback"),
            ("pods", "pods"),
        ] {
            let want = explained["ports"][0]["classes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["class"] == class)
                .map(|c| c["verdict"].clone());
            let got = row["verdicts"][column]
                .as_object()
                .map(|c| c["verdict"].clone());
            assert_eq!(got, want, "port {port} {column}");
        }
    }
}

#[test]
fn ports_lists_load_balancer_ips_and_external_ips_with_their_source_ranges() {
    // Derived from dump D's rules by hand. 5.6.7.8:80 (ns5/svc5, Cluster): KUBE-SERVICES
    // line 118 sends it to KUBE-FW-NUKIZ6OKUXPJNT4C, whose line 89 lets 203.0.113.0/25 on
    // to KUBE-EXT (line 85 marks: masqueraded); everyone else falls through line 90 and
    // filter KUBE-PROXY-FIREWALL line 45 drops it, on FORWARD (external, pods) and OUTPUT
    // (this node). 192.168.99.33:80 (ns4/svc4 externalIP, Cluster): line 116 to
    // KUBE-EXT-4SW47YFZTEDKD3PK, line 80 marks every source: masqueraded.
    let (out, _) = run(&["ports", D], 0);
    let row = |start: &str| {
        out.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no row {start}: {out}"))
            .split_whitespace()
            .collect::<Vec<&str>>()
    };
    let lb = row("5.6.7.8:80/tcp ");
    assert_eq!(&lb[1..4], ["LoadBalancer", "IP", "ns5/svc5:p80"], "{out}");
    assert_eq!(
        &lb[lb.len() - 4..],
        ["dropped", "dropped", "dropped", "—"],
        "{out}"
    );
    assert!(
        out.contains("5.6.7.8:80/tcp: source prefixes its rules test (loadBalancerSourceRanges): from 203.0.113.0/25: masqueraded; EXTERNAL is everyone else"),
        "{out}"
    );
    let external_ip = row("192.168.99.33:80/tcp ");
    assert_eq!(external_ip[1], "externalIP", "{out}");
    assert_eq!(
        &external_ip[external_ip.len() - 4..],
        ["masqueraded", "masqueraded", "masqueraded", "—"],
        "{out}"
    );
    assert!(
        out.contains("3 nodePorts, 2 LoadBalancer IPs, 2 externalIPs"),
        "{out}"
    );
    // The source prefixes are classes for the verdict filter: `prefix`, or any class.
    let (out, _) = run(&["ports", D, "--verdict", "prefix=masqueraded"], 0);
    assert!(
        out.contains("5.6.7.8:80/tcp") && !out.contains("3002/tcp"),
        "{out}"
    );
    assert!(
        out.contains("1 LoadBalancer IP matches the filters"),
        "{out}"
    );
    let (out, _) = run(
        &["ports", D, "--verdict", "masqueraded", "--namespace", "ns5"],
        0,
    );
    assert!(
        out.contains("1 nodePort, 1 LoadBalancer IP match the filters"),
        "{out}"
    );
    // Only nodePorts: no KIND column.
    let (out, _) = run(&["ports", XLB], 0);
    assert!(out.starts_with("PORT      SERVICE"), "{out}");
}

#[test]
fn ports_filters_by_namespace_and_verdict() {
    let (out, _) = run(&["ports", D, "--namespace", "ns5"], 0);
    assert!(
        out.contains("3002/tcp") && !out.contains("3001/tcp"),
        "{out}"
    );
    assert!(
        out.contains("1 nodePort, 1 LoadBalancer IP match the filters"),
        "{out}"
    );
    let (out, _) = run(&["ports", D, "--verdict", "external=dropped"], 0);
    assert!(
        out.contains("3001/tcp") && !out.contains("3002/tcp"),
        "{out}"
    );
    let (out, _) = run(&["ports", D, "--verdict", "rejected"], 0);
    assert!(
        out.contains("no nodePort, LoadBalancer IP or externalIP matches the filters"),
        "{out}"
    );
}

#[test]
fn ports_bad_arguments_are_usage_errors() {
    let (_, err) = run(&["ports", D, "--verdict", "bogus"], 2);
    assert!(err.contains("unknown verdict `bogus`"), "{err}");
    assert!(err.contains("preserved, masqueraded"), "{err}");
    let (_, err) = run(&["ports", D, "--verdict", "visitors=dropped"], 2);
    assert!(err.contains("unknown source class `visitors`"), "{err}");
    let (_, err) = run(&["ports", D, "--verdict", "hairpin=dropped"], 2);
    assert!(
        err.contains("external, pods, node and loopback, and a LoadBalancer IP's source prefixes (`prefix`), not `hairpin`"),
        "{err}"
    );
    let (_, err) = run(&["ports", D, "--name", "a", "--name", "b"], 2);
    assert!(err.contains("2 --name given for 1 node"), "{err}");
    let (_, err) = run(&["ports", "testdata/does-not-exist.txt"], 3);
    assert!(err.contains("does-not-exist.txt"), "{err}");
}

#[test]
fn ports_splits_concatenated_nodes_on_stdin() {
    let mut both = std::fs::read(NODE1).unwrap();
    both.extend(std::fs::read(NODE2).unwrap());
    let out = run_stdin(&["ports", "--name", "node1", "--name", "node2"], both, 0);
    let node2 = out.split("== node2 ==").nth(1).expect("a node2 section");
    assert!(out.starts_with("== node1 =="), "{out}");
    let line = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("30109/tcp"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap()
    };
    assert!(line(out.split("== node2 ==").next().unwrap()).contains("Local 1 (1 local) preserved"));
    assert!(line(node2).contains("Local 1 (0 local) dropped"));
}

/// The seed situation as CI would pin it: on node1 external clients keep their address,
/// on node2 they are dropped (line 39 of node2's dump, filter KUBE-EXTERNAL-SERVICES
/// "has no local endpoints" DROP); 127.0.0.0/8 is masqueraded on both.
const SEED_EXPECTATIONS: [&str; 6] = [
    "--expect",
    "30109:external=preserved",
    "--expect",
    "30109:loopback=masqueraded",
    "--expect",
    "srcip/web:pods=preserved",
];

#[test]
fn check_exits_0_when_every_expectation_holds() {
    let mut args = vec!["check", NODE1];
    args.extend(SEED_EXPECTATIONS);
    let (out, _) = run(&args, 0);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        3,
        "{out}"
    );
    assert!(out.ends_with("3 of 3 expectations held\n"), "{out}");
}

#[test]
fn check_exits_5_with_one_line_per_failed_expectation_in_every_format() {
    for format in ["text", "markdown", "json"] {
        let mut args = vec!["check", NODE1, NODE2, "--format", format];
        args.extend(SEED_EXPECTATIONS);
        args.extend(["--expect", "31999:external=preserved"]);
        let (out, _) = run(&args, 5);
        insta::assert_snapshot!(format!("check_{format}"), out);
    }
    let mut args = vec!["check", NODE1, NODE2];
    args.extend(SEED_EXPECTATIONS);
    let (out, _) = run(&args, 5);
    let failed: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(
        failed,
        [
            "FAIL node2: 30109:external=preserved: external is dropped on 30109/tcp, decided by line 39 (filter KUBE-EXTERNAL-SERVICES)"
        ]
    );
}

#[test]
fn check_reads_expectation_files() {
    let dir = std::env::temp_dir().join(format!("srcip-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.txt");
    std::fs::write(&good, "# the seed situation, node1\n30109:external=preserved\n\n30109:node=masqueraded  # this node\n").unwrap();
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "30109:external=preserved\n30109:node=masq\n").unwrap();
    let (out, _) = run(
        &["check", NODE1, "--expect-file", good.to_str().unwrap()],
        0,
    );
    assert!(out.contains("2 of 2 expectations held"), "{out}");
    let (_, err) = run(&["check", NODE1, "--expect-file", bad.to_str().unwrap()], 2);
    assert!(
        err.contains("bad.txt:2: `30109:node=masq`: unknown verdict `masq`"),
        "{err}"
    );
    let (_, err) = run(
        &[
            "check",
            NODE1,
            "--expect-file",
            dir.join("none.txt").to_str().unwrap(),
        ],
        2,
    );
    assert!(err.contains("cannot read expectation file"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_bad_expectations_are_usage_errors() {
    for (expectation, says) in [
        ("30109", "has no `=`"),
        ("external=preserved", "has no `:` before the class"),
        (
            "30109:visitors=preserved",
            "unknown source class `visitors`",
        ),
        ("30109:external=fine", "unknown verdict `fine`"),
        ("bogus:external=preserved", "is not a nodePort"),
    ] {
        let (_, err) = run(&["check", NODE1, "--expect", expectation], 2);
        assert!(err.contains(says), "{expectation}: {err}");
    }
    let (_, err) = run(&["check", NODE1], 2);
    assert!(err.contains("needs at least one expectation"), "{err}");
}

#[test]
fn check_a_class_the_port_lacks_fails_and_lists_those_it_has() {
    // No rule on 30109's path tests another prefix than the pod CIDR.
    let (out, _) = run(&["check", NODE1, "--expect", "30109:prefix=preserved"], 5);
    assert!(
        out.contains("FAIL 30109:prefix=preserved: the target has no such source class (it has: external, hairpin, loopback, node, pods)"),
        "{out}"
    );
}

/// The seed articles' situation (a Local service, its pod on one node): node1 answers
/// and preserves the client's address, node2 drops — first, in a node × class table.
#[test]
fn explain_on_several_nodes_puts_the_node_table_first_in_every_format() {
    for format in ["text", "markdown"] {
        let (out, _) = run(
            &[
                "explain", "30109", NODE1, NODE2, "--brief", "--format", format,
            ],
            0,
        );
        insta::assert_snapshot!(format!("explain_nodes_{format}"), out);
    }
    let (out, _) = run(&["explain", "30109", NODE1, NODE2], 0);
    let table: Vec<String> = out
        .lines()
        .take(4)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        table,
        [
            "nodePort 30109/tcp — service srcip/web:http — 2 nodes",
            "NODE ANSWERS POLICY ENDPOINTS EXTERNAL PODS NODE LOOPBACK",
            "node1 yes Local 1 (1 local) preserved preserved masqueraded masqueraded",
            "node2 no (dropped) Local 1 (0 local) dropped preserved masqueraded masqueraded",
        ]
    );
    // Then each node's own report, under its name.
    let node2 = out.find("== node2 (").expect("node2's section");
    assert!(out.find("== node1 (").unwrap() < node2);
    assert!(out[node2..].contains("Dropped by the rule on line 39 in KUBE-EXTERNAL-SERVICES"));
}

#[test]
fn explain_json_for_several_nodes_is_one_document_naming_each() {
    let (out, _) = run(
        &[
            "explain", "30109", NODE1, NODE2, "--name", "a", "--name", "b", "--format", "json",
        ],
        0,
    );
    let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["target"], "30109");
    let nodes = doc["nodes"].as_array().unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(nodes[1]["input"], NODE2);
    // Each node's explanation is the single-input document.
    let (single, _) = run(&["explain", "30109", NODE2, "--format", "json"], 0);
    let single: serde_json::Value = serde_json::from_str(&single).unwrap();
    assert_eq!(nodes[1]["explanation"], single);
}

#[test]
fn explain_reads_several_nodes_from_stdin_with_their_names() {
    let mut both = b"# node: worker-a\n".to_vec();
    both.extend(std::fs::read(NODE1).unwrap());
    both.extend(b"# node: worker-b\n");
    both.extend(std::fs::read(NODE2).unwrap());
    let out = run_stdin(&["explain", "30109", "--brief"], both, 0);
    assert!(out.contains("worker-a  yes"), "{out}");
    assert!(out.contains("worker-b  no (dropped)"), "{out}");
}

#[test]
fn diff_shows_the_verdicts_then_the_rules_in_every_format() {
    for format in ["text", "markdown", "json"] {
        let (out, _) = run(&["diff", NODE1, NODE2, "30109", "--format", format], 0);
        insta::assert_snapshot!(format!("diff_{format}"), out);
    }
    let (out, _) = run(&["diff", NODE1, NODE2, "30109"], 0);
    // node2's drop rule is the difference; the rules both nodes share are not repeated.
    assert!(
        out.contains("node2: line 39 [filter KUBE-EXTERNAL-SERVICES]"),
        "{out}"
    );
    assert!(
        !out.contains("KUBE-SERVICES -m comment --comment \"kubernetes service nodeports"),
        "{out}"
    );
}

#[test]
fn diff_of_a_node_with_itself_finds_nothing() {
    let (out, _) = run(&["diff", NODE1, NODE1], 0);
    assert_eq!(
        out,
        "diff node1 (A) node1 (B): 2 nodePorts compared, 0 differ\n"
    );
    let (out, _) = run(&["diff", NODE1, NODE1, "30109"], 0);
    assert!(
        out.contains("the same verdicts for every source class"),
        "{out}"
    );
}

#[test]
fn diff_lists_node_ports_only_one_side_has() {
    let (out, _) = run(&["diff", D, NODE1, "--format", "json"], 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let only_in_d: Vec<u64> = doc["node_ports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["b"].is_null())
        .map(|p| p["node_port"].as_u64().unwrap())
        .collect();
    assert_eq!(only_in_d, [3001, 3002, 3003]);
    assert_eq!(doc["compared"], 5);
}

#[test]
fn diff_bad_arguments_have_clear_errors() {
    let (_, err) = run(&["diff", NODE1, NODE2, "31999"], 1);
    assert!(
        err.contains("no nodePort rule for `31999` on either node"),
        "{err}"
    );
    let (_, err) = run(&["diff", "-", "-"], 2);
    assert!(
        err.contains("at most one of its two dumps from standard input"),
        "{err}"
    );
    let (_, err) = run(&["diff", NODE1, "testdata/does-not-exist.txt"], 3);
    assert!(err.contains("does-not-exist.txt"), "{err}");
    let (_, err) = run(&["diff", NODE1, NODE2, "not-a-port"], 2);
    assert!(err.contains("is not a nodePort"), "{err}");
    let (_, err) = run(&["diff", NODE1], 2);
    assert!(err.contains("<B>"), "{err}");
    let dir = std::env::temp_dir().join(format!("srcip-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let both = dir.join("both.rules");
    let mut text = std::fs::read(NODE1).unwrap();
    text.extend(std::fs::read(NODE2).unwrap());
    std::fs::write(&both, text).unwrap();
    let (_, err) = run(&["diff", both.to_str().unwrap(), NODE2], 2);
    assert!(err.contains("holds 2 dumps one after another"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--brief` is the answer alone: heading, gist, the verdict table and what stands out —
/// the first screen of the full report, without remedies or evidence.
#[test]
fn explain_brief_prints_only_the_table_and_what_stands_out() {
    let (brief, _) = run(
        &[
            "explain",
            "30010",
            "testdata/nodes/v1.21-xlb-etp-local-legacy.txt",
            "--brief",
        ],
        0,
    );
    let (full, _) = run(
        &[
            "explain",
            "30010",
            "testdata/nodes/v1.21-xlb-etp-local-legacy.txt",
        ],
        0,
    );
    assert!(full.starts_with(&brief), "{brief}\n---\n{full}");
    assert!(
        !brief.contains("evidence") && !brief.contains("what changes it"),
        "{brief}"
    );
    // The 127.0.0.0/8 rule's meaning stands out right under the table.
    assert!(brief.contains("! The rule on line"), "{brief}");
    assert!(brief.lines().count() < 15, "{brief}");
}
