//! The `--redact-map` file: what every stand-in of a redacted run stands for.
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "note": "...",
//!   "key_hex": "6b6579",
//!   "addresses": { "10.180.0.1": "10.61.42.95" },
//!   "prefixes": { "10.180.0.0/16": "10.61.0.0/16" },
//!   "namespaces": { "ns1": "ns-2fq3t5ka" },
//!   "services": { "svc1": "svc-xk2m7a4q" },
//!   "ports": { "p80": "port-4nq2b7sd" },
//!   "chain_hashes": { "XPGD46QRK7WJZT7O": "ARFYECG23UVLYZTA" }
//! }
//! ```
//!
//! Keys are the originals, values their stand-ins; only what was replaced is listed
//! (kept addresses and names are not). `key_hex` is the redaction key: give it back as
//! `--redact-key` (its text, for a key that was typed; the hex of a random one is not
//! that text, so a run that must match a random-keyed one is redone with a typed key).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::kube::redact::{NameKind, RedactionMap};
use crate::report::json::write_document;

#[derive(Serialize)]
struct MapDocument<'m> {
    schema_version: u32,
    note: &'static str,
    key_hex: &'m str,
    addresses: BTreeMap<String, String>,
    prefixes: &'m BTreeMap<String, String>,
    namespaces: BTreeMap<String, String>,
    services: BTreeMap<String, String>,
    ports: BTreeMap<String, String>,
    chain_hashes: BTreeMap<String, String>,
}

/// Writes the map as one JSON document.
pub fn write_map(map: &RedactionMap, out: &mut dyn Write) -> io::Result<()> {
    let names = |kind: NameKind| map.names.get(&kind).cloned().unwrap_or_default();
    write_document(
        &MapDocument {
            schema_version: 1,
            note: "keep this file private: it reverses the redaction (original -> stand-in)",
            key_hex: &map.key_hex,
            addresses: map
                .addresses
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            prefixes: &map.prefixes,
            namespaces: names(NameKind::Namespace),
            services: names(NameKind::Service),
            ports: names(NameKind::Port),
            chain_hashes: names(NameKind::ChainHash),
        },
        out,
    )
}
