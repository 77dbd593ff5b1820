//! `check` as JSON: one document with every expectation on every node.
//!
//! # Format (`schema_version: 1`)
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "held": false,
//!   "results": [{
//!     "node": "node2", "input": "node2.rules",
//!     "expectation": "30109:external=preserved",
//!     "held": false, "fate": "failed", "message": "external is dropped on 30109/tcp, ...",
//!     "port": "30109/tcp", "class": "external", "actual": "dropped",
//!     "rule": {"line": 39, "table": "filter", "chain": "KUBE-EXTERNAL-SERVICES", "text": "..."},
//!     "available_classes": []
//!   }]
//! }
//! ```
//!
//! * `held` (top level) is true when every expectation held on every node (exit 0; else
//!   exit 5).
//! * `fate` is `held`, `failed` (a selected class has another verdict: `port`, `class`,
//!   `actual` and the `rule` that decided it), `no-such-class` (the nodePort has no class
//!   of that kind; `available_classes` lists those it has) or `not-found` (the nodePort or
//!   service is not in the dump) or `unsupported-mode` (the dump is from a proxy mode
//!   `explain` cannot analyse, named by `proxy_mode`, a code as in `explain`: not checked;
//!   `message` says what to run instead; exit 6). Fields that do not apply are null (or
//!   empty).

use std::io::{self, Write};

use serde::Serialize;

use crate::kube::check::Fate;
use crate::report::json::explain::SCHEMA_VERSION;
use crate::report::{CheckReport, sanitize, words};

#[derive(Serialize)]
struct Document {
    schema_version: u32,
    held: bool,
    results: Vec<ResultWire>,
}

#[derive(Serialize)]
struct ResultWire {
    node: String,
    input: String,
    expectation: String,
    held: bool,
    fate: &'static str,
    message: String,
    port: Option<String>,
    class: Option<&'static str>,
    actual: Option<&'static str>,
    rule: Option<RuleWire>,
    available_classes: Vec<&'static str>,
    proxy_mode: Option<&'static str>,
}

#[derive(Serialize)]
struct RuleWire {
    line: u32,
    table: String,
    chain: String,
    text: String,
}

fn clean(text: &str) -> String {
    sanitize(text).into_owned()
}

/// Writes the report as one pretty-printed JSON document and a newline.
pub fn render(report: &CheckReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let results: Vec<ResultWire> = report
        .results
        .iter()
        .map(|r| {
            let mut wire = ResultWire {
                node: clean(&r.node),
                input: clean(&r.source.name),
                expectation: clean(&r.expectation.text),
                held: r.fate.held(),
                fate: "held",
                message: clean(&words::fate(&r.fate)),
                port: None,
                class: None,
                actual: None,
                rule: None,
                available_classes: Vec::new(),
                proxy_mode: None,
            };
            match &r.fate {
                Fate::Held => {}
                Fate::Failed {
                    port,
                    class,
                    actual,
                    rule,
                } => {
                    wire.fate = "failed";
                    wire.port = Some(port.clone());
                    wire.class = Some(class);
                    wire.actual = Some(actual.as_str());
                    wire.rule = rule.as_ref().map(|r| RuleWire {
                        line: r.line,
                        table: clean(&r.table),
                        chain: clean(&r.chain),
                        text: clean(&r.text),
                    });
                }
                Fate::NoSuchClass { available } => {
                    wire.fate = "no-such-class";
                    wire.available_classes = available.clone();
                }
                Fate::NotFound => wire.fate = "not-found",
                Fate::UnsupportedMode { mode, .. } => {
                    wire.fate = "unsupported-mode";
                    wire.proxy_mode = Some(mode.mode.code());
                }
            }
            wire
        })
        .collect();
    let doc = Document {
        schema_version: SCHEMA_VERSION,
        held: results.iter().all(|r| r.held),
        results,
    };
    super::write_document(&doc, out)
}
