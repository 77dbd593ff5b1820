//! `ports` as Markdown: per node, a table with one row per nodePort, LoadBalancer IP and
//! externalIP; and the node × source-class tables of `explain` on several nodes.

use std::io::{self, Write};

use crate::kube::ports::{COLUMNS, PortRow};
use crate::kube::summary::source_name;
use crate::report::markdown::{cell, code_in_table, service_code};
use crate::report::sanitize::excerpt;
use crate::report::{NodesTable, RULE_TEXT_SHOWN, words};

/// Writes one node's table, then how many rows it has.
pub fn render(rows: &[PortRow], filtered: bool, out: &mut dyn Write) -> io::Result<()> {
    if !rows.is_empty() {
        let classes: Vec<&str> = COLUMNS.iter().map(|k| source_name(*k)).collect();
        let kinds = words::rows_of_several_kinds(rows);
        let (kind_head, kind_rule) = if kinds { (" kind |", "---|") } else { ("", "") };
        writeln!(
            out,
            "| port |{kind_head} service | policy | endpoints | {} |",
            classes.join(" | ")
        )?;
        writeln!(
            out,
            "|---|{kind_rule}---|---|---|{}",
            "---|".repeat(classes.len())
        )?;
        for row in rows {
            let verdicts: Vec<String> = row
                .cells
                .iter()
                .map(|c| words::row_cell(row, c.as_ref()))
                .collect();
            let kind = if kinds {
                format!(" {} |", words::row_kind(row.destination.kind).0)
            } else {
                String::new()
            };
            writeln!(
                out,
                "| {} |{kind} {} | {} | {} | {} |",
                words::port_name(&row.destination, row.family),
                row.service
                    .as_deref()
                    .map(|s| code_in_table(&excerpt(s, RULE_TEXT_SHOWN)))
                    .unwrap_or_else(|| "—".into()),
                row.policy.as_str(),
                words::row_endpoints(row),
                verdicts.join(" | ")
            )?;
        }
        writeln!(out)?;
        for note in words::prefix_notes(rows) {
            writeln!(out, "{}.", cell(&note))?;
            writeln!(out)?;
        }
    }
    writeln!(out, "{}.", cell(&words::ports_footer(rows, filtered)))?;
    if rows.iter().any(|r| r.partial) {
        writeln!(out)?;
        writeln!(
            out,
            "(partial): chains or tables on the path are not in the dump (`srcip-rules explain PORT` says which)."
        )?;
    }
    writeln!(out)?;
    Ok(())
}

/// The node × source-class tables of `explain` on several nodes (see the text report).
pub(crate) fn render_nodes(tables: &[NodesTable<'_>], out: &mut dyn Write) -> io::Result<()> {
    let classes: Vec<&str> = COLUMNS.iter().map(|k| source_name(*k)).collect();
    for t in tables {
        writeln!(
            out,
            "## {} — {} — {} nodes",
            words::destination_in(&t.destination, t.family),
            service_code(t.service.as_deref()),
            t.rows.len()
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "| node | answers | policy | endpoints | {} |",
            classes.join(" | ")
        )?;
        writeln!(out, "|---|---|---|---|{}", "---|".repeat(classes.len()))?;
        for (node, row) in &t.rows {
            match row {
                None => writeln!(
                    out,
                    "| {} | {} |{}",
                    code_in_table(node),
                    words::absent(&t.destination),
                    " |".repeat(2 + classes.len())
                )?,
                Some(row) => {
                    let verdicts: Vec<String> = row
                        .cells
                        .iter()
                        .map(|c| words::node_cell(row, c.as_ref()))
                        .collect();
                    writeln!(
                        out,
                        "| {} | {} | {} | {} | {} |",
                        code_in_table(node),
                        words::answers(row),
                        row.policy.as_str(),
                        words::row_endpoints(row),
                        verdicts.join(" | ")
                    )?;
                }
            }
        }
        writeln!(out)?;
    }
    Ok(())
}
