//! `srcip-rules graph`: snapshots of DOT and Mermaid for every hand-written node dump,
//! the decisive rules highlighted where `explain` finds them, dump text that cannot break
//! out of a label in either language, and the command's exit codes.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;
use srcip_rules::kube::Target;
use srcip_rules::kube::graph::{ChainGraphs, HighlightKind, NodeKind, RuleAction, graph};
use srcip_rules::kube::{ClassKind, ExplainOptions};
use srcip_rules::parse::parse_text;
use srcip_rules::report::graph::{GraphFormat, GraphReport, GraphedInput, write_graph};
use srcip_rules::report::sanitize;
use srcip_rules::source::Source;

const D: &str = "testdata/nodes/v1.28-ext-multi-service-nft.txt";
const CNI: &str = "testdata/nodes/v1.28-ext-etp-local-cni-masquerade-breaks-preservation-nft.txt";

fn options(port: u16) -> ExplainOptions {
    ExplainOptions {
        target: Target::NodePort {
            port,
            protocol: None,
        },
        src: None,
        dst: None,
        node_ips: Vec::new(),
        max_paths: srcip_rules::netfilter::MAX_PATHS,
    }
}

fn graphs_of(text: &str, port: u16) -> ChainGraphs {
    let parsed = parse_text(text);
    graph(&parsed.rules(), &options(port))
}

/// The nodePorts a dump's KUBE-NODEPORTS rules name (`--dport N` on an `-A KUBE-NODEPORTS`
/// line of the nat table), read from the text.
fn node_ports(text: &str) -> BTreeSet<u16> {
    let mut table = "";
    let mut ports = BTreeSet::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('*') {
            table = name.trim();
        }
        if table == "nat"
            && line.starts_with("-A KUBE-NODEPORTS ")
            && let Some(rest) = line.split("--dport ").nth(1)
            && let Some(port) = rest.split_whitespace().next()
        {
            ports.insert(port.parse().expect("port"));
        }
    }
    ports
}

/// Every nodePort of the dump, drawn in `format`.
fn render(name: &str, text: &str, format: GraphFormat) -> String {
    let source = Source::from_text(name, text);
    let parsed = parse_text(text);
    let mut report = GraphReport { inputs: Vec::new() };
    for port in node_ports(text) {
        report.inputs.push(GraphedInput {
            source: &source,
            graphs: graph(&parsed.rules(), &options(port)),
        });
    }
    let mut out = Vec::new();
    write_graph(format, &report, &mut out).expect("write");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn graph_snapshots_for_every_node_dump() {
    insta::glob!("../../testdata", "nodes/*.txt", |path| {
        let text = std::fs::read_to_string(path).expect("read");
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        insta::assert_snapshot!("dot", render(name, &text, GraphFormat::Dot));
        insta::assert_snapshot!("mermaid", render(name, &text, GraphFormat::Mermaid));
    });
}

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect("read")
}

#[test]
fn the_filter_drop_of_a_local_service_without_endpoints_is_highlighted_for_external_clients() {
    // Dump D line 39: `-A KUBE-EXTERNAL-SERVICES ... --dport 3001 ... -j DROP`
    // ("ns2/svc2:p80 has no local endpoints").
    let graphs = graphs_of(&read(D), 3001);
    let g = &graphs.ports[0];
    let drop = g
        .edges
        .iter()
        .find(|e| e.line == 39)
        .expect("line 39 drawn");
    let h = drop.highlight.as_ref().expect("highlighted");
    assert_eq!(h.kind, HighlightKind::Drop);
    assert_eq!(h.classes, vec![ClassKind::Other]);
    assert!(matches!(
        g.nodes[drop.to].kind,
        NodeKind::Action {
            line: 39,
            action: RuleAction::Drop
        }
    ));
    // Its chain is reached from the filter hooks (lines 28 and 33 jump there).
    let into = g.edges.iter().filter(|e| e.to == drop.from).map(|e| e.line);
    assert_eq!(into.collect::<Vec<_>>(), vec![28, 33]);
    // The filter rules of other nodePorts (3002, 3003) are not drawn.
    let drawn: Vec<u32> = g.edges.iter().map(|e| e.line).collect();
    for line in 1..=50u32 {
        let text = read(D)
            .lines()
            .nth(line as usize - 1)
            .unwrap_or("")
            .to_string();
        if text.contains("--dport 3002") || text.contains("--dport 3003") {
            assert!(!drawn.contains(&line), "line {line} drawn: {text}");
        }
    }
}

#[test]
fn a_cni_masquerade_rule_is_highlighted_for_the_sources_it_masquerades() {
    // Line 66: `-A FLANNEL-POSTRTG ! -s 10.180.0.0/16 -d 10.180.0.0/16 ... -j MASQUERADE`;
    // line 75 is kube-proxy's own MASQUERADE, line 68 marks LOCAL sources.
    let graphs = graphs_of(&read(CNI), 3001);
    let g = &graphs.ports[0];
    let highlight = |line: u32| {
        g.edges
            .iter()
            .find(|e| e.line == line)
            .and_then(|e| e.highlight.clone())
    };
    let flannel = highlight(66).expect("line 66 highlighted");
    assert_eq!(flannel.kind, HighlightKind::Masquerade);
    assert_eq!(flannel.classes, vec![ClassKind::Pods, ClassKind::Other]);
    let kube = highlight(75).expect("line 75 highlighted");
    assert!(kube.classes.contains(&ClassKind::Loopback));
    assert_eq!(
        highlight(68).expect("line 68").classes,
        vec![ClassKind::Loopback, ClassKind::Node]
    );
    // Rules that decide nothing are not highlighted: the DNAT, the RETURN.
    assert_eq!(highlight(77), None);
    assert_eq!(highlight(65), None);
    // The probability and the negated source are on their edges.
    let labels = render("cni", &read(CNI), GraphFormat::Dot);
    assert!(labels.contains("line 83\\nprobability 0.5"), "{labels}");
    assert!(
        labels.contains("line 66\\nsrc not 10.180.0.0/16, dst 10.180.0.0/16"),
        "{labels}"
    );
}

/// A dump whose chain name, comment and unknown module are written to break out of a
/// DOT or Mermaid label: quotes, brackets, arrows, Graphviz escapes, a terminal escape
/// sequence, HTML, Mermaid entities and keywords.
fn hostile_dump() -> (String, Vec<String>) {
    let chain = "KUBE-EXT-a];x->y[`#35;</b>|{}";
    let comment = "ns/a\\\"]; b -> c [label=\\\"\\\\N\u{1b}]52;c;QQ==\u{7} end %%";
    let lines = [
        "*nat".to_string(),
        ":PREROUTING ACCEPT [0:0]".into(),
        ":KUBE-SERVICES - [0:0]".into(),
        ":KUBE-NODEPORTS - [0:0]".into(),
        format!(":{chain} - [0:0]"),
        "-A PREROUTING -j KUBE-SERVICES".into(),
        "-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS".into(),
        format!(
            "-A KUBE-NODEPORTS -p tcp -m comment --comment \"{comment}\" -m tcp --dport 3001 -j {chain}"
        ),
        format!("-A {chain} -m geoip --src-cc \"X\\\"|<br>\" -j DNAT --to-destination 10.0.0.1:80"),
        "COMMIT".into(),
    ];
    // What the labels must show, once decoded: the text as the dump means it, sanitised.
    let expected = vec![
        chain.to_string(),
        sanitize("ns/a\"]; b -> c [label=\"\\N\u{1b}]52;c;QQ==\u{7} end %%").into_owned(),
        "-m geoip --src-cc \"X\\\"|<br>\"".to_string(),
    ];
    (lines.join("\n") + "\n", expected)
}

/// The double-quoted strings of a DOT text, unescaped (`\\` and `\"`), with `\n` turned
/// into line breaks. Fails on a line break inside a string or an unterminated string.
fn dot_strings(dot: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut chars = dot.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        loop {
            match chars.next().expect("unterminated DOT string") {
                '"' => break,
                '\n' => panic!("line break inside a DOT string: {s}"),
                '\\' => match chars.next().expect("escape") {
                    'n' => s.push('\n'),
                    other => s.push(other),
                },
                other => s.push(other),
            }
        }
        strings.push(s);
    }
    strings
}

#[test]
fn dump_text_cannot_break_out_of_a_dot_label() {
    let (text, expected) = hostile_dump();
    let dot = render("hostile", &text, GraphFormat::Dot);
    // Comments are whole lines of their own; every other line is a statement.
    let strings = dot_strings(
        &dot.lines()
            .filter(|l| !l.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    for want in &expected {
        assert!(
            strings.iter().any(|s| s.contains(want.as_str())),
            "{want:?} not shown whole in:\n{dot}"
        );
    }
    assert!(!dot.contains('\u{1b}') && !dot.contains('\u{7}'), "{dot}");
    // Five nodes, four edges: nothing was injected.
    let node_lines = dot
        .lines()
        .filter(|l| l.trim_start().starts_with("\"g0n") && !l.contains(" -> "))
        .count();
    assert_eq!(node_lines, 5, "{dot}");
    assert_eq!(dot.matches(" -> \"g0n").count(), 4, "{dot}");
    // And Graphviz reads it as exactly that, when it is installed.
    let Ok(mut child) = Process::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("skipped: Graphviz `dot` is not installed");
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(dot.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("dot");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = String::from_utf8(out.stdout).expect("svg");
    assert_eq!(svg.matches("class=\"node\"").count(), 5);
    assert_eq!(svg.matches("class=\"edge\"").count(), 4);
}

/// A Mermaid label decoded: `<br>` is a line break, `#NNN;` the character NNN.
fn mermaid_decode(label: &str) -> String {
    let mut out = String::new();
    let text = label.replace("<br>", "\n");
    let mut rest = text.as_str();
    while let Some(at) = rest.find('#') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').expect("entity end") + at;
        let code: u32 = rest[at + 1..end].parse().expect("decimal entity");
        out.push(char::from_u32(code).expect("code point"));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn dump_text_cannot_break_out_of_a_mermaid_label() {
    let (text, expected) = hostile_dump();
    let mermaid = render("hostile", &text, GraphFormat::Mermaid);
    let mut labels = Vec::new();
    for line in mermaid.lines().filter(|l| !l.starts_with("%%")) {
        // A label is the only quoted part of a line, and holds no quote of its own.
        let quotes = line.matches('"').count();
        assert!(quotes == 0 || quotes == 2, "{line}");
        if quotes == 2 {
            let label = line.split('"').nth(1).expect("label");
            assert!(
                label
                    .replace("<br>", "")
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || " .,:/_+=!()-#;".contains(c)),
                "{label}"
            );
            labels.push(mermaid_decode(label));
        }
    }
    for want in &expected {
        assert!(
            labels.iter().any(|l| l.contains(want.as_str())),
            "{want:?} not shown whole in:\n{mermaid}"
        );
    }
    // The ids are the writer's: five nodes, two subgraphs, four links.
    assert_eq!(mermaid.matches("[\"").count(), 5 + 2, "{mermaid}");
    assert_eq!(mermaid.matches(" -->|").count(), 4, "{mermaid}");
}

fn srcip() -> Command {
    let mut cmd = Command::cargo_bin("srcip-rules").unwrap();
    cmd.env_remove("NO_COLOR");
    cmd
}

#[test]
fn graph_cli_formats_and_exit_codes() {
    let out = srcip().args(["graph", "3001", D]).assert().code(0);
    let dot = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(dot.contains("digraph \"srcip-rules\" {"), "{dot}");
    let out = srcip()
        .args(["graph", "3001/tcp", D, "--format", "mermaid"])
        .assert()
        .code(0);
    let mermaid = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(mermaid.contains("\nflowchart LR\n"), "{mermaid}");
    assert!(mermaid.contains("nodePort 3001/tcp"), "{mermaid}");

    let out = srcip().args(["graph", "9999", D]).assert().code(1);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("no nodePort rule for `9999`"), "{err}");
    assert!(err.contains("3002/tcp"), "{err}");

    assert!(out.get_output().stdout.is_empty(), "no empty graph");

    // An address: its rules (dump D, by hand: KUBE-SERVICES line 118 → KUBE-FW line 89
    // for 203.0.113.0/25 → KUBE-EXT; KUBE-PROXY-FIREWALL line 45 drops everyone else), and
    // of the filter chains only the rules that may concern 5.6.7.8:80 (not line 37's or
    // line 38's DROP for 192.168.99.22 and 1.2.3.4, though on port 80 too).
    let out = srcip().args(["graph", "5.6.7.8:80", D]).assert().code(0);
    let dot = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for wanted in [
        "LoadBalancer IP 5.6.7.8:80/tcp IPv4 (ns5/svc5:p80)",
        r#""g0n0" -> "g0n7" [label="line 118\ndst 5.6.7.8/32, tcp, dport 80"]"#,
        r#"[label="line 89\nsrc 203.0.113.0/25"]"#,
        r#"DROP\nline 45\ndrops: this node, pods, endpoint itself, external clients"#,
        r#"MASQUERADE\nline 97\nmasquerades: a tested prefix"#,
    ] {
        assert!(dot.contains(wanted), "{wanted}: {dot}");
    }
    assert!(
        !dot.contains("line 37") && !dot.contains("line 38"),
        "{dot}"
    );
    // A service: a graph per address it has.
    let out = srcip().args(["graph", "ns5/svc5", D]).assert().code(0);
    let dot = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for title in [
        "nodePort 3002/tcp IPv4 (ns5/svc5:p80)",
        "LoadBalancer IP 5.6.7.8:80/tcp IPv4 (ns5/svc5:p80)",
        "ClusterIP 172.30.0.45:80/tcp IPv4 (ns5/svc5:p80)",
    ] {
        assert!(dot.contains(title), "{title}: {dot}");
    }
    // An address no rule names: nothing to draw, said on standard error.
    let out = srcip().args(["graph", "5.6.7.9:80", D]).assert().code(1);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        err.contains("no kube-proxy rule names `5.6.7.9:80`")
            && err.contains("srcip-rules explain 5.6.7.9:80"),
        "{err}"
    );
    assert!(out.get_output().stdout.is_empty());

    let out = srcip().args(["graph", "not-a-port", D]).assert().code(2);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("is not a nodePort"), "{err}");
    srcip()
        .args(["graph", "3001", D, "--format", "png"])
        .assert()
        .code(2);
    srcip()
        .args(["graph", "3001", "testdata/does-not-exist.txt"])
        .assert()
        .code(3);
}
