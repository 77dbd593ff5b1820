//! `explain` on dumps saved with `iptables-save -c`: each cited rule's counters, and the
//! sentence saying whether they confirm or contradict the verdict, in text, Markdown and
//! JSON (issue 9, "Counters are evidence").

use assert_cmd::Command;
use serde_json::Value;

const CONFIRMED: &str = "testdata/dumps/v1.28-ext-counters-drop-confirmed-nft.txt";
const CONTRADICTED: &str = "testdata/dumps/v1.28-ext-counters-drop-contradicted-nft.txt";
const XLB_CONFIRMED: &str = "testdata/dumps/v1.21-xlb-counters-mark-drop-confirmed-legacy.txt";
const NO_COUNTERS: &str = "testdata/nodes/v1.28-ext-multi-service-nft.txt";
/// EXPECTED.md 15a and 15b: `iptables-save -c | grep SERVICE` attachments.
const GREP_15A: &str = "testdata/partial/v1.22-grep-counters-xlb-drop-confirmed.txt";
const GREP_15B: &str = "testdata/partial/v1.27-grep-counters-contradict-filter-drop-nft.txt";

/// `explain ARGS --format FORMAT`, which must exit 0; its standard output.
fn explain(args: &[&str], format: &str) -> String {
    let out = Command::cargo_bin("srcip-rules")
        .unwrap()
        .arg("explain")
        .args(args)
        .args(["--format", format, "--color", "never"])
        .assert()
        .code(0);
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// The one line of the text report starting (after indentation) with `prefix`.
fn line_starting<'t>(text: &'t str, prefix: &str) -> &'t str {
    let mut found = text.lines().filter(|l| l.trim_start().starts_with(prefix));
    let line = found
        .next()
        .unwrap_or_else(|| panic!("no `{prefix}` line:\n{text}"));
    assert!(found.next().is_none(), "several `{prefix}` lines:\n{text}");
    line
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&explain(args, "json")).expect("one JSON document")
}

#[test]
fn text_shows_the_counters_of_each_decisive_rule_and_the_confirmation() {
    let out = explain(&["3001", CONFIRMED], "text");
    // The external clients' branch cites the nodePort rule and the filter DROP, each with
    // the counters the dump gives it.
    let other = out
        .split("all other sources (external clients)")
        .nth(1)
        .expect("external class");
    assert!(
        other.contains("line 92 [nat KUBE-NODEPORTS] [250:15000]"),
        "{other}"
    );
    assert!(
        other.contains(
            "line 39 [filter KUBE-EXTERNAL-SERVICES] [250:15000] -A KUBE-EXTERNAL-SERVICES"
        ),
        "{other}"
    );
    let counters = line_starting(&out, "counters:");
    assert!(
        counters.contains(
            "The counters confirm the verdict for external clients (dropped): line 92 (nat KUBE-NODEPORTS), where connections to this destination enter, counted 250 packets (15000 bytes, 60 per packet), and line 39 (filter KUBE-EXTERNAL-SERVICES) counted 250 packets"
        ),
        "{counters}"
    );
    assert!(
        counters
            .contains("line 83 (loopback sources 127.0.0.0/8, this node's addresses): 0 packets"),
        "{counters}"
    );
    assert!(
        counters.contains("line 82 (pods 10.0.0.0/8, the endpoint itself): 0 packets"),
        "{counters}"
    );
    assert!(
        counters.contains("The DNAT to an endpoint (line 105) counted no packet"),
        "{counters}"
    );
    assert!(
        counters.contains("so 250 packets are 250 connection attempts, not 250 clients"),
        "{counters}"
    );
}

#[test]
fn text_says_when_the_counters_contradict_the_verdict() {
    let out = explain(&["3001", CONTRADICTED], "text");
    // The verdict still follows the rules; the counters say something is off.
    assert!(
        out.contains(
            "all other sources (external clients): 203.0.113.2 → 192.0.2.10 (node address): dropped"
        ),
        "{out}"
    );
    let counters = line_starting(&out, "counters:");
    for expected in [
        "The counters contradict the verdict for external clients (dropped): line 92 (nat KUBE-NODEPORTS), where connections to this destination enter, counted 1843 packets (110580 bytes, 60 per packet).",
        "so all 1843 should have reached line 39 (filter KUBE-EXTERNAL-SERVICES), the way external clients go, and it counted none.",
        "kube-proxy rewrites its filter chains on every sync, which resets their counters, while the nat chains it leaves unchanged keep theirs; or an earlier rule in filter INPUT accepted or dropped the packets first.",
        "To tell them apart, run `iptables-save -c -t filter | grep -E -- '-A INPUT|3001'`.",
    ] {
        assert!(
            counters.contains(expected),
            "missing {expected:?} in {counters}"
        );
    }
}

#[test]
fn text_says_no_packets_counted_and_fewer_counted_without_a_verdict_on_them() {
    let out = explain(&["3002", CONFIRMED], "text");
    assert_eq!(
        line_starting(&out, "counters:").trim(),
        "counters: No packets counted: line 94 (nat KUBE-NODEPORTS) counted none, so the counters neither confirm nor contradict the verdicts."
    );
    let out = explain(&["3003", CONTRADICTED], "text");
    let counters = line_starting(&out, "counters:");
    assert!(
        counters.contains("neither confirm nor contradict"),
        "{counters}"
    );
    assert!(counters.contains("counted 40 packets"), "{counters}");
    assert!(
        counters.contains("but the ways on counted 25 in all"),
        "{counters}"
    );
}

#[test]
fn xlb_drop_mark_confirmed_and_the_dnat_never_reached() {
    let out = explain(&["30080", XLB_CONFIRMED], "text");
    let counters = line_starting(&out, "counters:");
    assert!(
        counters.contains(
            "and line 51 (nat KUBE-XLB-5JBHKBGPD2A2QXBH) counted 4211 packets (252660 bytes, 60 per packet): the way external clients go."
        ),
        "{counters}"
    );
    assert!(
        counters.contains("The DNAT to an endpoint (lines 40, 42) counted no packet"),
        "{counters}"
    );
}

#[test]
fn a_dump_without_counters_gets_no_counters_line_nor_field() {
    let out = explain(&["3001", NO_COUNTERS], "text");
    assert!(!out.contains("counters:"), "{out}");
    let md = explain(&["3001", NO_COUNTERS], "markdown");
    assert!(!md.contains("**Counters:**"), "{md}");
    let raw = explain(&["3001", NO_COUNTERS], "json");
    assert!(!raw.contains("\"counters\""), "{raw}");
    assert!(!raw.contains("\"counter_evidence\""), "{raw}");
}

#[test]
fn markdown_carries_the_same_sentence() {
    let md = explain(&["3001", CONTRADICTED], "markdown");
    let line = line_starting(&md, "- **Counters:**");
    // Markdown escapes punctuation; the words are the text report's.
    assert!(
        line.contains("The counters contradict the verdict for external clients"),
        "{line}"
    );
    assert!(line.contains("1843 packets"), "{line}");
}

#[test]
fn json_rules_carry_counters_and_the_port_its_evidence() {
    let doc = json(&["3001", CONFIRMED]);
    let port = &doc["ports"][0];
    let entry = &port["node_port_rules"][0];
    assert_eq!(entry["line"], 92);
    assert_eq!(entry["counters"]["packets"], 250);
    assert_eq!(entry["counters"]["bytes"], 15000);
    let other = port["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == "other")
        .expect("external class");
    let rules = other["branches"][0]["decisive_rules"].as_array().unwrap();
    let drop = rules.iter().find(|r| r["line"] == 39).expect("the DROP");
    assert_eq!(drop["counters"]["packets"], 250);
    let e = &port["counter_evidence"];
    assert_eq!(e["finding"], "confirms");
    assert_eq!(e["reason"], Value::Null);
    assert_eq!(e["verdict"], "dropped");
    assert_eq!(e["entry_rule"]["line"], 92);
    let taken: Vec<&Value> = e["ways"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["role"] == "taken")
        .collect();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0]["rule"]["line"], 39);
    assert_eq!(taken[0]["classes"], serde_json::json!(["other"]));
    assert_eq!(taken[0]["verdicts"], serde_json::json!(["dropped"]));
    assert_eq!(e["next_command"], Value::Null);
    assert!(
        e["text"]
            .as_str()
            .unwrap()
            .starts_with("The counters confirm the verdict for external clients (dropped)")
    );
}

#[test]
fn json_contradiction_names_the_expected_rule_causes_and_next_command() {
    let doc = json(&["3001", CONTRADICTED]);
    let e = &doc["ports"][0]["counter_evidence"];
    assert_eq!(e["finding"], "contradicts");
    assert_eq!(e["verdict"], "dropped");
    assert_eq!(e["entry_rule"]["counters"]["packets"], 1843);
    let ways = e["ways"].as_array().unwrap();
    let expected: Vec<&Value> = ways.iter().filter(|w| w["role"] == "expected").collect();
    assert_eq!(expected.len(), 1);
    assert_eq!(expected[0]["rule"]["line"], 39);
    assert_eq!(expected[0]["rule"]["counters"]["packets"], 0);
    assert!(ways.iter().all(|w| w["rule"]["counters"]["packets"] == 0));
    assert_eq!(
        e["cause_codes"],
        serde_json::json!(["filter-counters-reset", "earlier-rule"])
    );
    assert_eq!(
        e["next_command"],
        "iptables-save -c -t filter | grep -E -- '-A INPUT|3001'"
    );
}

#[test]
fn json_silence_has_a_reason() {
    let doc = json(&["3002", CONFIRMED]);
    let e = &doc["ports"][0]["counter_evidence"];
    assert_eq!(e["finding"], "silent");
    assert_eq!(e["reason"], "nothing-counted");
    assert_eq!(e["verdict"], Value::Null);
    let doc = json(&["3001", CONTRADICTED, "--src", "203.0.113.9"]);
    let e = &doc["ports"][0]["counter_evidence"];
    assert_eq!(
        (e["finding"].as_str(), e["reason"].as_str()),
        (Some("silent"), Some("one-source"))
    );
    assert_eq!(e["entry_rule"], Value::Null);
}

#[test]
fn fixture_15a_grep_counters_confirm_the_drop() {
    let out = explain(&["31643", GREP_15A], "text");
    assert!(
        out.contains(
            "all other sources (external clients): 203.0.113.2 → 192.0.2.10 (node address): dropped"
        ),
        "{out}"
    );
    let other = out
        .split("all other sources (external clients)")
        .nth(1)
        .unwrap();
    assert!(
        other.contains("line 2 [nat KUBE-NODEPORTS] [4211:252660]"),
        "{other}"
    );
    assert!(
        other.contains(
            "line 10 [nat KUBE-XLB-MGEI27QQRIOYZR5D] [4211:252660] -A KUBE-XLB-MGEI27QQRIOYZR5D"
        ),
        "{other}"
    );
    let counters = line_starting(&out, "counters:");
    for expected in [
        "The counters confirm the verdict for external clients (dropped): line 2 (nat KUBE-NODEPORTS), where connections to this destination enter, counted 4211 packets (252660 bytes, 60 per packet), and line 10 (nat KUBE-XLB-MGEI27QQRIOYZR5D) counted 4211 packets (252660 bytes, 60 per packet): the way external clients go.",
        "The other ways on counted none: line 9 (loopback sources 127.0.0.0/8): 0 packets; line 8 (this node's addresses): 0 packets.",
        "A way no counter shows is open to pods 10.100.0.0/16 and the endpoint itself too, but the packets counted there are all that entered.",
        "The DNAT to an endpoint (line 4) counted no packet: no connection reached an endpoint through this node.",
        "so 4211 packets are 4211 connection attempts, not 4211 clients.",
    ] {
        assert!(
            counters.contains(expected),
            "missing {expected:?} in {counters}"
        );
    }
    let e = &json(&["31643", GREP_15A])["ports"][0]["counter_evidence"];
    assert_eq!(
        (e["finding"].as_str(), e["verdict"].as_str()),
        (Some("confirms"), Some("dropped"))
    );
    let taken: Vec<&Value> = e["ways"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["role"] == "taken")
        .collect();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0]["rule"]["line"], 10);
    assert_eq!(taken[0]["rule"]["counters"]["packets"], 4211);
}

#[test]
fn fixture_15b_grep_counters_contradict_the_drop() {
    let out = explain(&["31443", GREP_15B], "text");
    assert!(
        out.contains(
            "all other sources (external clients): 203.0.113.2 → 192.0.2.10 (node address): dropped"
        ),
        "{out}"
    );
    let counters = line_starting(&out, "counters:");
    for expected in [
        "The counters contradict the verdict for external clients (dropped): line 5 (nat KUBE-NODEPORTS), where connections to this destination enter, counted 1843 packets (110580 bytes, 60 per packet).",
        "The rules that take other sources counted none (line 3 (loopback sources 127.0.0.0/8, this node's addresses): 0 packets; line 2 (pods 10.244.0.0/16, the endpoint itself): 0 packets), so all 1843 should have reached line 1 (filter KUBE-EXTERNAL-SERVICES), the way external clients go, and it counted none.",
        "Possible reasons (the counters alone cannot tell): kube-proxy rewrites its filter chains on every sync, which resets their counters, while the nat chains it leaves unchanged keep theirs; or an earlier rule in filter INPUT, not in this input, accepted or dropped the packets first.",
        "To tell them apart, run `iptables-save -c -t filter | grep -E -- '-A INPUT|31443'`.",
    ] {
        assert!(
            counters.contains(expected),
            "missing {expected:?} in {counters}"
        );
    }
    let e = &json(&["31443", GREP_15B])["ports"][0]["counter_evidence"];
    assert_eq!(e["finding"], "contradicts");
    assert_eq!(
        e["next_command"],
        "iptables-save -c -t filter | grep -E -- '-A INPUT|31443'"
    );
    let expected: Vec<&Value> = e["ways"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["role"] == "expected")
        .collect();
    assert_eq!(expected[0]["rule"]["line"], 1);
    assert_eq!(expected[0]["rule"]["counters"]["packets"], 0);
}
