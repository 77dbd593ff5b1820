//! Mermaid for `graph`: a `flowchart` with a subgraph per nodePort (and input) and per
//! table, chains and actions as nodes, rules as labelled links; decisive masquerading
//! rules orange, dropping and rejecting ones red (`classDef`, `linkStyle`).
//!
//! Every label is a double-quoted Mermaid string built by [`mermaid_string`]: the text is
//! sanitised, then every character other than ASCII letters, digits, space and
//! `.,:/_+=!()-` is written as Mermaid's entity code `#NNN;` (its decimal code point), so
//! no quote, bracket, pipe, `<`, backtick or `#` from the dump can end the label, start
//! markup or HTML, or open an entity of its own; line breaks are the writer's own `<br>`.
//! Node and subgraph ids are the writer's (`g0n3`), never dump text.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::kube::graph::{HighlightKind, NodeKind, PortGraph};
use crate::report::graph::{
    GraphReport, all_graphs, edge_label, graph_title, header, node_label, tables_in_order,
};
use crate::report::sanitize;

/// Writes the whole report as one flowchart.
pub fn write(report: &GraphReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let target = report.inputs.first().map(|i| &i.graphs.target);
    writeln!(out, "%% {}", comment_text(&header(target)))?;
    writeln!(out, "flowchart LR")?;
    let mut links = 0usize;
    let mut styles = Vec::new();
    for (g, input_name, graph) in all_graphs(report) {
        write_graph(g, input_name, graph, out, &mut links, &mut styles)?;
    }
    writeln!(out, "  classDef hook fill:#e8e8e8,stroke:#555555")?;
    writeln!(out, "  classDef missing stroke-dasharray:5 5")?;
    writeln!(out, "  classDef dnat fill:#e3f1e3")?;
    writeln!(
        out,
        "  classDef masquerade stroke:#d35400,stroke-width:3px,color:#d35400"
    )?;
    writeln!(
        out,
        "  classDef drop stroke:#c0392b,stroke-width:3px,color:#c0392b"
    )?;
    for line in styles {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

fn write_graph(
    g: usize,
    input_name: &str,
    graph: &PortGraph,
    out: &mut dyn Write,
    links: &mut usize,
    styles: &mut Vec<String>,
) -> io::Result<()> {
    writeln!(
        out,
        "  subgraph g{g}[{}]",
        mermaid_string(&[graph_title(input_name, graph)])
    )?;
    for (t, table) in tables_in_order(graph).into_iter().enumerate() {
        writeln!(
            out,
            "    subgraph g{g}t{t}[{}]",
            mermaid_string(&[table.to_string()])
        )?;
        for (n, node) in graph.nodes.iter().enumerate() {
            if node.table != table {
                continue;
            }
            writeln!(out, "      g{g}n{n}[{}]", mermaid_string(&node_label(node)))?;
            let class = match (&node.highlight, &node.kind) {
                (Some(h), _) => Some(class_name(h.kind)),
                (None, NodeKind::Hook { .. }) => Some("hook"),
                (None, NodeKind::Chain { missing: true, .. }) => Some("missing"),
                (
                    None,
                    NodeKind::Action {
                        action:
                            crate::kube::graph::RuleAction::Dnat(_)
                            | crate::kube::graph::RuleAction::Redirect(_),
                        ..
                    },
                ) => Some("dnat"),
                _ => None,
            };
            if let Some(class) = class {
                styles.push(format!("class g{g}n{n} {class}"));
            }
        }
        writeln!(out, "    end")?;
    }
    writeln!(out, "  end")?;
    for edge in &graph.edges {
        let arrow = if edge.goto { "-.->" } else { "-->" };
        writeln!(
            out,
            "  g{g}n{} {arrow}|{}| g{g}n{}",
            edge.from,
            mermaid_string(&edge_label(edge)),
            edge.to
        )?;
        if let Some(h) = &edge.highlight {
            let colour = match h.kind {
                HighlightKind::Masquerade => "#d35400",
                HighlightKind::Drop | HighlightKind::Reject => "#c0392b",
            };
            styles.push(format!(
                "linkStyle {links} stroke:{colour},stroke-width:3px,color:{colour}"
            ));
        }
        *links += 1;
    }
    Ok(())
}

fn class_name(kind: HighlightKind) -> &'static str {
    match kind {
        HighlightKind::Masquerade => "masquerade",
        HighlightKind::Drop | HighlightKind::Reject => "drop",
    }
}

/// True for the characters a label may hold as they are.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || " .,:/_+=!()-".contains(c)
}

/// A double-quoted Mermaid label of `lines`, each sanitised and with every other
/// character written as `#NNN;`, joined by `<br>`.
pub fn mermaid_string(lines: &[String]) -> String {
    let mut out = String::from("\"");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        for c in sanitize(line).chars() {
            if plain(c) {
                out.push(c);
            } else {
                let _ = write!(out, "#{};", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// Text for a `%%` comment line: sanitised and reduced to plain characters, so it holds
/// no line break.
fn comment_text(text: &str) -> String {
    sanitize(text)
        .chars()
        .map(|c| if plain(c) { c } else { ' ' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_hold_only_plain_characters_and_entities() {
        let text = "a\"]-->B[\"x\"]\nend %% <img src=x> `code` #35; |pipe| é".to_string();
        let quoted = mermaid_string(&[text, "two".into()]);
        assert_eq!(
            quoted,
            "\"a#34;#93;--#62;B#91;#34;x#34;#93;#92;x0aend #37;#37; #60;img src=x#62; #96;code#96; #35;35#59; #124;pipe#124; #233;<br>two\""
        );
        let inner = &quoted[1..quoted.len() - 1];
        assert!(
            inner
                .replace("<br>", "")
                .chars()
                .all(|c| plain(c) || c == '#' || c == ';'),
            "{inner}"
        );
    }
}
