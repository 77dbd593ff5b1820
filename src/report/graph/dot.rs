//! Graphviz DOT for `graph`: one cluster per nodePort (and input), one cluster per table
//! inside it, chains and actions as boxes, rules as labelled edges; decisive masquerading
//! rules orange, dropping and rejecting ones red.
//!
//! Every label is a double-quoted DOT string built by [`dot_string`]: the text is
//! sanitised (no control character survives), then every backslash and double quote is
//! escaped, so nothing in it can end the string or be read as one of Graphviz's `\N`,
//! `\G`, `\l`... escapes; line breaks are the writer's own `\n`.

use std::io::{self, Write};

use crate::kube::graph::{HighlightKind, NodeKind, PortGraph, RuleAction};
use crate::report::graph::{
    GraphReport, all_graphs, edge_label, graph_title, header, node_label, tables_in_order,
};
use crate::report::sanitize;

/// The colour of a decisive masquerade.
const MASQUERADE_COLOUR: &str = "#d35400";
/// The colour of a decisive drop or reject.
const DROP_COLOUR: &str = "#c0392b";

/// Writes the whole report as one `digraph`.
pub fn write(report: &GraphReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let target = report.inputs.first().map(|i| &i.graphs.target);
    writeln!(out, "// {}", comment_text(&header(target)))?;
    writeln!(out, "digraph \"srcip-rules\" {{")?;
    writeln!(out, "  rankdir=LR;")?;
    writeln!(
        out,
        "  node [shape=box, fontname=\"Helvetica\", fontsize=10];"
    )?;
    writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=9];")?;
    for (g, input_name, graph) in all_graphs(report) {
        write_graph(g, input_name, graph, out)?;
    }
    writeln!(out, "}}")
}

fn write_graph(
    g: usize,
    input_name: &str,
    graph: &PortGraph,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "  subgraph \"cluster_{g}\" {{")?;
    writeln!(
        out,
        "    label={};",
        dot_string(&[graph_title(input_name, graph)])
    )?;
    writeln!(out, "    labeljust=l;")?;
    for table in tables_in_order(graph) {
        writeln!(out, "    subgraph \"cluster_{g}_{}\" {{", identifier(table))?;
        writeln!(out, "      label={};", dot_string(&[table.to_string()]))?;
        writeln!(out, "      style=rounded; color=\"#888888\";")?;
        for (n, node) in graph.nodes.iter().enumerate() {
            if node.table != table {
                continue;
            }
            let mut attributes = vec![format!("label={}", dot_string(&node_label(node)))];
            match &node.kind {
                NodeKind::Hook { .. } => {
                    attributes.push("style=filled".into());
                    attributes.push("fillcolor=\"#e8e8e8\"".into());
                }
                NodeKind::Chain { missing: true, .. } => attributes.push("style=dashed".into()),
                NodeKind::Chain { .. } => {}
                NodeKind::Action { action, .. } => {
                    attributes.push("shape=box".into());
                    attributes.push(match action {
                        RuleAction::Dnat(_) | RuleAction::Redirect(_) => {
                            "style=\"rounded,filled\", fillcolor=\"#e3f1e3\"".into()
                        }
                        _ => "style=rounded".into(),
                    });
                }
            }
            if let Some(h) = &node.highlight {
                let colour = colour(h.kind);
                attributes.push(format!(
                    "color=\"{colour}\", fontcolor=\"{colour}\", penwidth=2.5"
                ));
            }
            writeln!(out, "      \"g{g}n{n}\" [{}];", attributes.join(", "))?;
        }
        writeln!(out, "    }}")?;
    }
    writeln!(out, "  }}")?;
    for edge in &graph.edges {
        let mut attributes = vec![format!("label={}", dot_string(&edge_label(edge)))];
        if edge.goto {
            attributes.push("style=dashed".into());
        }
        if let Some(h) = &edge.highlight {
            let colour = colour(h.kind);
            attributes.push(format!(
                "color=\"{colour}\", fontcolor=\"{colour}\", penwidth=2.5"
            ));
        }
        writeln!(
            out,
            "  \"g{g}n{}\" -> \"g{g}n{}\" [{}];",
            edge.from,
            edge.to,
            attributes.join(", ")
        )?;
    }
    Ok(())
}

fn colour(kind: HighlightKind) -> &'static str {
    match kind {
        HighlightKind::Masquerade => MASQUERADE_COLOUR,
        HighlightKind::Drop | HighlightKind::Reject => DROP_COLOUR,
    }
}

/// A double-quoted DOT string of `lines`, each sanitised and escaped, joined by `\n`.
pub fn dot_string(lines: &[String]) -> String {
    let mut out = String::from("\"");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str("\\n");
        }
        for c in sanitize(line).chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c => out.push(c),
            }
        }
    }
    out.push('"');
    out
}

/// A name made only of ASCII letters, digits and `_` (for cluster names built from a
/// table's name, which comes from the dump).
fn identifier(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Text for a `//` comment line: sanitised, so it holds no line break.
fn comment_text(text: &str) -> String {
    sanitize(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_backslashes_and_line_breaks_cannot_leave_the_string() {
        let text = "a\"] ; x -> y [label=\"\\N\nz\u{1b}[31m".to_string();
        let quoted = dot_string(&[text, "second".into()]);
        assert_eq!(
            quoted,
            "\"a\\\"] ; x -> y [label=\\\"\\\\N\\\\x0az\\\\x1b[31m\\nsecond\""
        );
        // Inside the delimiters, every quote is preceded by an odd number of backslashes.
        let inner = &quoted[1..quoted.len() - 1];
        let bytes = inner.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'"' {
                let backslashes = bytes[..i].iter().rev().take_while(|&&c| c == b'\\').count();
                assert_eq!(backslashes % 2, 1, "unescaped quote at {i} in {inner}");
            }
        }
        assert!(!quoted.contains('\n'));
    }

    #[test]
    fn table_names_become_identifiers() {
        assert_eq!(identifier("nat"), "nat");
        assert_eq!(identifier("a\"b c"), "a_b_c");
    }
}
