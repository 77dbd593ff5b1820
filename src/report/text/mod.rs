//! Plain (optionally coloured) text for a terminal: [`explain`] and [`inspect`] reports.

pub mod explain;
pub mod inspect;
pub mod mode;
pub mod trace;

use std::io::{self, Write};

use crate::kube::Explanation;
use crate::report::words;
use crate::report::{
    ExplainReport, InspectReport, Palette, Render, TraceReport, path_only_footer, sanitize,
    unparsed_warning,
};

/// The text renderer.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    /// Colours, or none.
    pub palette: Palette,
}

impl Render for Text {
    fn explanation(&self, explanation: &Explanation, out: &mut dyn Write) -> io::Result<()> {
        explain::render(explanation, self.palette, out)
    }

    fn explain(&self, report: &ExplainReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        let several = report.inputs.len() > 1;
        for input in &report.inputs {
            if several {
                writeln!(out, "== {} ==", sanitize(&input.source.name))?;
            }
            if let Some(warning) = unparsed_warning(input.source, &input.errors, input.error_count)
            {
                writeln!(out, "{} {warning}", self.palette.warn("warning:"))?;
            }
            for warning in &input.tolerated {
                writeln!(
                    out,
                    "{} {}",
                    self.palette.warn("warning:"),
                    sanitize(&words::dump_warning(warning))
                )?;
            }
            explain::render(&input.explanation, self.palette, out)?;
            // A footer, not a header: the verdict comes first.
            if let Some(footer) = path_only_footer(input) {
                writeln!(out, "\nnote: {footer}")?;
            }
        }
        Ok(())
    }

    fn inspect(&self, report: &InspectReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        for (i, input) in report.inputs.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            inspect::render(input, self.palette, report.max_errors, out)?;
        }
        Ok(())
    }

    fn trace(&self, report: &TraceReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        let several = report.inputs.len() > 1;
        for (i, input) in report.inputs.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            if several {
                writeln!(out, "== {} ==", sanitize(&input.source.name))?;
            }
            if let Some(warning) = unparsed_warning(input.source, &input.errors, input.error_count)
            {
                writeln!(out, "{} {warning}", self.palette.warn("warning:"))?;
            }
            trace::render(&input.trace, self.palette, out)?;
        }
        Ok(())
    }
}
