//! `ports` as text: per node, one aligned row per nodePort, LoadBalancer IP and externalIP,
//! verdicts coloured.

use std::io::{self, Write};

use crate::kube::ports::{COLUMNS, PortRow};
use crate::kube::summary::source_name;
use crate::report::text::explain::verdict_word;
use crate::report::text::table::{Cell, write_table};
use crate::report::{NodesTable, Palette, RULE_TEXT_SHOWN, sanitize, words};

/// Writes one node's rows, then how many there are.
pub fn render(rows: &[PortRow], filtered: bool, p: Palette, out: &mut dyn Write) -> io::Result<()> {
    if !rows.is_empty() {
        let kinds = words::rows_of_several_kinds(rows);
        let mut names = vec!["PORT"];
        if kinds {
            names.push("KIND");
        }
        names.extend(["SERVICE", "POLICY", "ENDPOINTS"]);
        let mut header: Vec<Cell> = names
            .into_iter()
            .map(|h| Cell::styled(h, p.dim(h)))
            .collect();
        for kind in COLUMNS {
            let name = source_name(kind).to_ascii_uppercase();
            header.push(Cell::styled(name.clone(), p.dim(&name)));
        }
        let mut table = vec![header];
        for row in rows {
            let mut cells = vec![Cell::plain(words::port_name(&row.destination, row.family))];
            if kinds {
                cells.push(Cell::plain(words::row_kind(row.destination.kind).0));
            }
            cells.extend([
                Cell::plain(
                    row.service
                        .as_deref()
                        .map(|s| sanitize::excerpt(s, RULE_TEXT_SHOWN))
                        .unwrap_or_else(|| "—".into()),
                ),
                Cell::plain(row.policy.as_str()),
                Cell::plain(words::row_endpoints(row)),
            ]);
            for cell in &row.cells {
                let plain = words::row_cell(row, cell.as_ref());
                let shown = match cell {
                    Some(c) => plain.replacen(c.verdict.as_str(), &verdict_word(c.verdict, p), 1),
                    None => plain.clone(),
                };
                cells.push(Cell::styled(plain, shown));
            }
            table.push(cells);
        }
        write_table(&table, "", out)?;
        for note in words::prefix_notes(rows) {
            writeln!(out, "{}", sanitize(&note))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{}", words::ports_footer(rows, filtered))?;
    if rows.iter().any(|r| r.partial) {
        writeln!(
            out,
            "(partial): chains or tables on the path are not in the dump (`srcip-rules explain PORT` says which)"
        )?;
    }
    Ok(())
}

/// The node × source-class tables of `explain` on several nodes: per nodePort, one row per
/// node — whether it answers external clients, its policy and endpoints, and each class's
/// verdict.
pub(crate) fn render_nodes(
    tables: &[NodesTable<'_>],
    p: Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let service = super::service_shown(t.service.as_deref());
        writeln!(
            out,
            "{}",
            p.heading(&format!(
                "{} — service {service} — {} nodes",
                words::destination_in(&t.destination, t.family),
                t.rows.len()
            ))
        )?;
        let mut header: Vec<Cell> = ["NODE", "ANSWERS", "POLICY", "ENDPOINTS"]
            .into_iter()
            .map(|h| Cell::styled(h, p.dim(h)))
            .collect();
        for kind in COLUMNS {
            let name = source_name(kind).to_ascii_uppercase();
            header.push(Cell::styled(name.clone(), p.dim(&name)));
        }
        let mut table = vec![header];
        for (node, row) in &t.rows {
            let mut cells = vec![Cell::plain(sanitize(node).into_owned())];
            match row {
                None => cells.push(Cell::plain(words::absent(&t.destination))),
                Some(row) => {
                    cells.push(Cell::plain(words::answers(row)));
                    cells.push(Cell::plain(row.policy.as_str()));
                    cells.push(Cell::plain(words::row_endpoints(row)));
                    for cell in &row.cells {
                        let plain = words::node_cell(row, cell.as_ref());
                        let shown = match cell {
                            Some(c) => {
                                plain.replacen(c.verdict.as_str(), &verdict_word(c.verdict, p), 1)
                            }
                            None => plain.clone(),
                        };
                        cells.push(Cell::styled(plain, shown));
                    }
                }
            }
            table.push(cells);
        }
        write_table(&table, "  ", out)?;
    }
    Ok(())
}
