//! The JSON wire types of what `iptables-save -c` counters say (`explain`): a rule's
//! `counters`, kept apart from the analysis types.

use serde::Serialize;

use crate::model::Counters;

/// A rule's `[packets:bytes]`.
#[derive(Serialize)]
pub(super) struct CountersWire {
    packets: u64,
    bytes: u64,
}

/// `counters` of a rule object, when the dump has them.
pub(super) fn counters(c: Option<Counters>) -> Option<CountersWire> {
    c.map(|c| CountersWire {
        packets: c.packets,
        bytes: c.bytes,
    })
}
