//! Which node each input is: an input holding several nodes' dumps one after the other
//! (`cat node1 node2 | srcip-rules explain 31015`) is split into one input per node, and
//! every node gets a name — from `--name` (in order), from a `# node: NAME` or
//! `# hostname: NAME` comment in the dump, or from the file name.
//!
//! A new node starts at a `# node:`/`# hostname:` comment, and at an `iptables-save` run
//! with a table the current node already has in that family (one node may have an IPv4
//! and an IPv6 run, or an nf_tables and a legacy one, but not two `nat` tables of one
//! family and backend). A split input
//! keeps its line numbers: each node's text is the input's own lines, with the lines
//! before them left empty.

use std::path::Path;

use crate::cli::input::read_sources;
use crate::exit::Exit;
use crate::model::{Backend, Family};
use crate::source::Source;

/// One node's dump and its name.
#[derive(Debug)]
pub struct NodeInput {
    /// The node's name.
    pub name: String,
    /// Its dump (a whole input, or the node's part of one).
    pub source: Source,
}

/// The comment keys that name the node whose dump follows.
const NAME_KEYS: [&str; 2] = ["node:", "hostname:"];

/// Reads the inputs `files` names and splits and names their nodes ([`node_inputs`]); on
/// failure, says why on standard error and gives the exit: [`Exit::InputError`] for an
/// input that could not be read, [`Exit::Usage`] for more `--name`s than nodes.
pub fn read_nodes(files: &[String], names: &[String]) -> Result<Vec<NodeInput>, Exit> {
    let sources = read_sources(files).map_err(|message| {
        eprintln!("srcip-rules: {message}");
        Exit::InputError
    })?;
    node_inputs(sources, names).map_err(|message| {
        eprintln!("srcip-rules: {}", crate::report::sanitize(&message));
        Exit::Usage
    })
}

/// Splits and names the inputs. `names` (from `--name`) name the nodes in order; there
/// must not be more of them than nodes.
pub fn node_inputs(sources: Vec<Source>, names: &[String]) -> Result<Vec<NodeInput>, String> {
    // (name found in the dump, fallback name, source)
    let mut nodes: Vec<(Option<String>, String, Source)> = Vec::new();
    for source in sources {
        let parts = split(source);
        let several = parts.len() > 1;
        for (k, (found, part)) in parts.into_iter().enumerate() {
            let stem = file_name(&part.name);
            let fallback = if several {
                format!("{stem} #{}", k + 1)
            } else {
                stem
            };
            nodes.push((found, fallback, part));
        }
    }
    if names.len() > nodes.len() {
        return Err(format!(
            "{} --name given for {} node(s): give at most one per node (each file, or each dump of a concatenated input)",
            names.len(),
            nodes.len()
        ));
    }
    let mut out: Vec<NodeInput> = nodes
        .into_iter()
        .enumerate()
        .map(|(i, (found, fallback, source))| NodeInput {
            name: names.get(i).cloned().or(found).unwrap_or(fallback),
            source,
        })
        .collect();
    // Two nodes with one name (two files both called node1.txt in different folders, or
    // one stdin split in parts): the later ones get their position.
    for i in 1..out.len() {
        if out[..i].iter().any(|n| n.name == out[i].name) {
            out[i].name = format!("{}#{}", out[i].name, i + 1);
        }
    }
    Ok(out)
}

/// A node's name from its file: the file name without its last extension; `stdin` for
/// standard input.
fn file_name(path: &str) -> String {
    if path == "<stdin>" {
        return "stdin".into();
    }
    Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| path.to_string())
}

/// The node name a comment line gives, if it is one.
fn named_by(comment: &str) -> Option<String> {
    let text = comment.trim_start_matches('#').trim();
    NAME_KEYS.iter().find_map(|key| {
        let rest = text.get(..key.len())?;
        if !rest.eq_ignore_ascii_case(key) {
            return None;
        }
        let name = text[key.len()..].trim();
        (!name.is_empty()).then(|| name.to_string())
    })
}

/// Most nodes one input is split into (several `iptables-save` runs pasted one after the
/// other); more is read as one node.
const MAX_NODES_PER_INPUT: usize = 32;

/// The nodes in one input, each with the name its comment gives, if any. Reads only the
/// lines that start with `#` or `*` (headers, comments, tables), without parsing the dump.
fn split(source: Source) -> Vec<(Option<String>, Source)> {
    let starts = node_starts(source.text());
    if starts.len() > MAX_NODES_PER_INPUT {
        // Each part keeps its line numbers by blank lines before it, so parts cost their
        // start line each: past a few dozen nodes that grows with the square of the input.
        eprintln!(
            "srcip-rules: {}: {} runs of the same tables in one input: more than {MAX_NODES_PER_INPUT} nodes, so it is read as one node (give each node its own file to compare them)",
            crate::report::sanitize(&source.name),
            starts.len()
        );
        return vec![(None, source)];
    }
    if starts.len() <= 1 {
        let name = starts.into_iter().next().and_then(|(_, n)| n);
        return vec![(name, source)];
    }
    let text = source.text();
    let mut out = Vec::new();
    for (i, (first, name)) in starts.iter().enumerate() {
        // The first node also keeps whatever came before its first table.
        let from = if i == 0 { 0 } else { first.offset };
        let to = starts.get(i + 1).map_or(text.len(), |(l, _)| l.offset);
        let blank = if i == 0 { 0 } else { first.line as usize - 1 };
        let mut part = String::with_capacity(blank + to - from);
        part.extend(std::iter::repeat_n('\n', blank));
        part.push_str(&text[from..to]);
        out.push((name.clone(), Source::from_text(source.name.clone(), part)));
    }
    out
}

/// Where a line starts: its 1-based number and byte offset.
#[derive(Debug, Clone, Copy)]
struct LineStart {
    line: u32,
    offset: usize,
}

/// One `iptables-save` run of the current node: its family, backend and tables.
struct Run<'a> {
    family: Family,
    backend: Option<Backend>,
    tables: Vec<&'a str>,
}

/// Where each node of `text` starts, with the name its `# node:` comment gives. A node
/// starts at a name comment, or at a table the current node already has in a run of the
/// same family, unless both runs' headers name different backends (nf_tables and legacy
/// rules of one node); a node's `# Generated by` header line goes with it.
fn node_starts(text: &str) -> Vec<(LineStart, Option<String>)> {
    let mut starts: Vec<(LineStart, Option<String>)> = Vec::new();
    let mut runs: Vec<Run<'_>> = Vec::new();
    // The last `# Generated by` header not yet followed by a table.
    let mut header: Option<(LineStart, Family, Option<Backend>)> = None;
    let mut family = Family::Ipv4;
    let mut offset = 0;
    let mut line = 0u32;
    while offset < text.len() {
        line += 1;
        let end =
            memchr::memchr(b'\n', &text.as_bytes()[offset..]).map_or(text.len(), |i| offset + i);
        let here = LineStart { line, offset };
        let content = text[offset..end].trim_end_matches('\r');
        offset = end + 1;
        if let Some(program) = content.strip_prefix("# Generated by ") {
            let f = if program.starts_with("ip6") {
                Family::Ipv6
            } else {
                Family::Ipv4
            };
            let backend = if program.contains("(nf_tables)") {
                Some(Backend::NfTables)
            } else if program.contains("(legacy)") {
                Some(Backend::Legacy)
            } else {
                None
            };
            header = Some((here, f, backend));
        } else if let Some(name) = content.strip_prefix('#').and_then(|_| named_by(content)) {
            if starts.is_empty() || !runs.is_empty() {
                starts.push((here, Some(name)));
                runs.clear();
            } else if let Some((_, current)) = starts.last_mut() {
                *current = Some(name);
            }
        } else if let Some(table) = content.strip_prefix('*') {
            let table = table.trim();
            let (start, backend) = match header.take() {
                Some((at, f, backend)) => {
                    family = f;
                    (at, backend)
                }
                None => (here, None),
            };
            let repeated = runs.iter().any(|r| {
                r.family == family
                    && r.tables.contains(&table)
                    && !matches!((r.backend, backend), (Some(x), Some(y)) if x != y)
            });
            if starts.is_empty() {
                starts.push((LineStart { line: 1, offset: 0 }, None));
            } else if repeated {
                starts.push((start, None));
                runs.clear();
            }
            match runs
                .iter_mut()
                .find(|r| r.family == family && (r.backend == backend || backend.is_none()))
            {
                Some(run) => run.tables.push(table),
                None => runs.push(Run {
                    family,
                    backend,
                    tables: vec![table],
                }),
            }
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "# Generated by iptables-save v1.8.7 (nf_tables) on Thu\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n# Completed on Thu\n";

    #[test]
    fn two_runs_of_one_backend_are_two_nodes_with_their_own_lines() {
        let text = format!("{RUN}{RUN}");
        let nodes = node_inputs(vec![Source::from_text("<stdin>", text)], &[]).unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(
            (nodes[0].name.as_str(), nodes[1].name.as_str()),
            ("stdin #1", "stdin #2")
        );
        // The second node's `*nat` is line 7 of the input, and still line 7.
        assert_eq!(nodes[1].source.text().lines().nth(6), Some("*nat"));
        assert!(nodes[1].source.text().lines().take(5).all(str::is_empty));
    }

    #[test]
    fn node_comments_name_the_nodes_and_ipv6_stays_with_its_node() {
        let v6 = RUN.replace("iptables-save", "ip6tables-save");
        let text = format!("# node: alpha\n{RUN}{v6}# hostname: beta\n{RUN}");
        let nodes = node_inputs(vec![Source::from_text("<stdin>", text)], &[]).unwrap();
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["alpha", "beta"]);
    }

    #[test]
    fn names_come_from_flags_then_comments_then_files() {
        let nodes = node_inputs(
            vec![
                Source::from_text("dir/node1.rules", RUN),
                Source::from_text("other/node1.rules", RUN),
            ],
            &[],
        )
        .unwrap();
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["node1", "node1#2"]);
        let named = node_inputs(vec![Source::from_text("a.txt", RUN)], &["web-1".into()]).unwrap();
        assert_eq!(named[0].name, "web-1");
        let too_many = node_inputs(
            vec![Source::from_text("a.txt", RUN)],
            &["x".into(), "y".into()],
        );
        assert!(too_many.unwrap_err().contains("2 --name given for 1 node"));
    }
}
