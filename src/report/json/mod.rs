//! JSON for programs: [`explain`], [`inspect`], [`trace`], [`ports`], [`check`] and [`diff`]
//! documents, each with its own versioned wire types (kept apart from the analysis types)
//! and its format in the module docs.

pub mod check;
mod counters;
pub mod diff;
pub mod explain;
pub mod inspect;
mod mode;
pub mod ports;
pub mod redaction;
pub mod trace;

use std::io::{self, Write};

use serde::Serialize;

use crate::kube::Explanation;
use crate::report::{
    CheckReport, DiffReport, ExplainReport, InspectReport, PortsReport, Render, TraceReport,
};

/// The JSON renderer.
#[derive(Debug, Clone, Copy)]
pub struct Json;

impl Render for Json {
    fn explanation(&self, explanation: &Explanation, out: &mut dyn Write) -> io::Result<()> {
        explain::render(explanation, out)
    }

    /// One document: the single-input one for one node, the nodes document for several.
    fn explain(&self, report: &ExplainReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        match report.inputs.as_slice() {
            [one] => explain::render_input(one, out),
            _ => explain::render_nodes(report, out),
        }
    }

    fn inspect(&self, report: &InspectReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        inspect::render(report, out)
    }

    fn trace(&self, report: &TraceReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        trace::render(report, out)
    }

    fn ports(&self, report: &PortsReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        ports::render(report, out)
    }

    fn check(&self, report: &CheckReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        check::render(report, out)
    }

    fn diff(&self, report: &DiffReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        diff::render(report, out)
    }
}

/// Writes `document` pretty-printed, then a newline. A write error comes back as the
/// I/O error it is (a closed pipe stays a closed pipe), not as a serialisation error.
pub(crate) fn write_document(document: &impl Serialize, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, document).map_err(|e| match e.io_error_kind() {
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    })?;
    writeln!(out)
}
