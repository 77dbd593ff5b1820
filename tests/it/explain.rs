//! Snapshots of `explain` in all three formats for every shipped dump and fragment.
//!
//! Each dump is explained for every nodePort in its KUBE-NODEPORTS chain (and the generator
//! scenarios in `nodes/generated/` always for their nodePort 30080), with the node address
//! left symbolic (the default a user without `--node-ip` gets).

use std::collections::BTreeSet;
use std::path::Path;

use srcip_rules::kube::Target;
use srcip_rules::kube::{ExplainOptions, explain};
use srcip_rules::model::{Match, ModuleKind};
use srcip_rules::parse::parse_text;
use srcip_rules::report::{self, Format, Palette};

/// Every nodePort a dump's KUBE-NODEPORTS rules test.
fn node_ports(text: &str) -> BTreeSet<u16> {
    let parsed = parse_text(text);
    let dump = &parsed.dump;
    let rules = parsed.rules();
    let mut ports = BTreeSet::new();
    for t in 0..dump.tables.len() {
        let table = srcip_rules::model::TableId(t as u32);
        if dump.table(table).name == "filter" {
            continue;
        }
        let Some(chain) = dump.chain_id(table, "KUBE-NODEPORTS") else {
            continue;
        };
        for &rule in &dump.chain(chain).rules {
            let body = rules.body(rule).expect("rule body");
            for m in &body.matches {
                if let Match::Module(module) = m
                    && let ModuleKind::Ports { dport: Some(d), .. } = &module.kind
                {
                    ports.insert(d.value.first);
                }
            }
        }
    }
    ports
}

/// The nodePort of every generator scenario (`src/generate/scenarios.rs`). A scenario
/// without endpoints may have no KUBE-NODEPORTS rule for it at all (kube-proxy then
/// only writes a filter REJECT/DROP), so it is explained even when `node_ports` misses it.
const SCENARIO_NODE_PORT: u16 = 30080;

fn render_all(path: &Path) -> (String, String, String) {
    let text = std::fs::read_to_string(path).expect("read dump");
    let parsed = parse_text(&text);
    let mut ports = node_ports(&text);
    if path
        .parent()
        .is_some_and(|dir| dir.ends_with("nodes/generated"))
    {
        ports.insert(SCENARIO_NODE_PORT);
    }
    let (mut plain, mut md, mut json) = (Vec::new(), Vec::new(), Vec::new());
    for port in ports {
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
        let e = explain(&parsed.rules(), &options);
        let palette = Palette::new(false);
        report::renderer(Format::Text, palette)
            .explanation(&e, &mut plain)
            .expect("text");
        report::renderer(Format::Markdown, palette)
            .explanation(&e, &mut md)
            .expect("markdown");
        report::renderer(Format::Json, palette)
            .explanation(&e, &mut json)
            .expect("json");
    }
    let s = |v: Vec<u8>| String::from_utf8(v).expect("utf-8");
    (s(plain), s(md), s(json))
}

#[test]
fn explain_snapshots_for_every_dump() {
    insta::glob!("../../testdata", "{nodes,partial}/**/*.txt", |path| {
        let (text, markdown, json) = render_all(path);
        insta::assert_snapshot!("text", text);
        insta::assert_snapshot!("markdown", markdown);
        insta::assert_snapshot!("json", json);
    });
}

#[test]
fn json_names_the_schema_version_and_verdict_words() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/partial/seed-grep-31465-etp-cluster.txt"
    ))
    .expect("read");
    let parsed = parse_text(&text);
    let e = explain(
        &parsed.rules(),
        &ExplainOptions {
            target: Target::NodePort {
                port: 31465,
                protocol: None,
            },
            src: None,
            dst: None,
            node_ips: Vec::new(),
            max_paths: srcip_rules::netfilter::MAX_PATHS,
        },
    );
    let mut out = Vec::new();
    report::renderer(Format::Json, Palette::new(false))
        .explanation(&e, &mut out)
        .expect("json");
    let value: serde_json::Value = serde_json::from_slice(&out).expect("valid json");
    assert_eq!(value["schema_version"], 1);
    assert_eq!(value["found"], true);
    let classes = value["ports"][0]["classes"].as_array().expect("classes");
    assert!(!classes.is_empty());
    for class in classes {
        assert_eq!(class["verdict"], "masqueraded");
    }
}
