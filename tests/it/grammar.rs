//! The examples in grammar/iptables-save.md: valid blocks parse cleanly, invalid ones don't.

use srcip_rules::parse::{parse_dump, parse_text};
use srcip_rules::source::{Source, SourceError};

const GRAMMAR: &str = include_str!("../../grammar/iptables-save.md");

/// A fenced example: its info string, first line number in the grammar, and text.
struct Example {
    kind: String,
    line: usize,
    text: String,
}

/// Every fenced block in `markdown`, with the line its content starts on.
fn fenced_blocks(markdown: &str) -> Vec<Example> {
    let mut blocks = Vec::new();
    let mut open: Option<Example> = None;
    for (index, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Example {
                    kind: info.trim().to_string(),
                    line: index + 2,
                    text: String::new(),
                });
            }
            (Some(_), Some("")) => blocks.extend(open.take()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "unclosed fenced block in the grammar");
    blocks
}

fn examples(kind: &str) -> Vec<Example> {
    fenced_blocks(GRAMMAR)
        .into_iter()
        .filter(|b| b.kind == kind)
        .collect()
}

#[test]
fn valid_grammar_examples_parse_without_errors() {
    let valid = examples("iptables");
    assert!(valid.len() >= 10, "only {} valid examples", valid.len());
    for example in valid {
        let parsed = parse_text(&example.text);
        assert!(
            parsed.errors().is_empty(),
            "grammar line {}: {:?}\n{}",
            example.line,
            parsed.errors(),
            example.text
        );
        assert!(
            !parsed.dump.rulesets.is_empty() || !parsed.dump.comments.is_empty(),
            "grammar line {}: nothing was read",
            example.line
        );
    }
}

#[test]
fn invalid_grammar_examples_give_errors() {
    let invalid = examples("iptables-invalid");
    assert!(
        invalid.len() >= 20,
        "only {} invalid examples",
        invalid.len()
    );
    for example in invalid {
        let parsed = parse_text(&example.text);
        assert!(
            !parsed.errors().is_empty(),
            "grammar line {}: expected an error\n{}",
            example.line,
            example.text
        );
    }
}

#[test]
fn every_error_kind_in_the_grammar_table_has_an_invalid_example() {
    let mut seen = std::collections::BTreeSet::new();
    for example in examples("iptables-invalid") {
        for error in parse_text(&example.text).errors() {
            let debug = format!("{:?}", error.kind);
            let name = debug
                .split(['(', ' ', '{'])
                .next()
                .unwrap_or("")
                .to_string();
            seen.insert(name);
        }
    }
    for kind in [
        "UnterminatedQuote",
        "UnknownDirective",
        "UnknownTable",
        "MissingChainName",
        "BadPolicy",
        "BadCounters",
        "MissingRuleChain",
        "MissingValue",
        "UnknownOption",
        "StrayWord",
        "OptionOutsideModule",
        "DanglingNegation",
        "BadAddress",
        "BadProtocol",
        "BadPort",
        "BadValue",
        "Incomplete",
        "OptionsOnChainJump",
        "RuleOutsideTable",
        "CommitOutsideTable",
        "ForeignText",
        "LooksWrapped",
    ] {
        assert!(
            seen.contains(kind),
            "no invalid example gives {kind}; seen {seen:?}"
        );
        assert!(
            GRAMMAR.contains(&format!("| `{kind}`")),
            "{kind} is missing from the error table"
        );
    }
}

#[test]
fn every_valid_example_also_reads_with_crlf_and_no_final_newline() {
    for example in examples("iptables") {
        let crlf = example.text.replace('\n', "\r\n");
        let text = crlf.trim_end_matches(['\r', '\n']);
        let parsed = parse_text(text);
        assert!(
            parsed.errors().is_empty(),
            "grammar line {} with CRLF: {:?}",
            example.line,
            parsed.errors()
        );
    }
}

#[test]
fn stray_non_utf8_byte_is_an_ordinary_character() {
    let bytes =
        b"# caf\xe9\n-A KUBE-SVC-X -m comment --comment \"caf\xe9\" -j KUBE-SEP-A\n".to_vec();
    let source = Source::from_bytes("latin1.txt", bytes).unwrap();
    assert_eq!(source.lossy_lines(), &[1, 2]);
    let parsed = parse_dump(&source);
    assert!(parsed.errors().is_empty(), "{:?}", parsed.errors());
    let body = parsed.rules().body(srcip_rules::model::RuleId(0)).unwrap();
    let comment = body.comment().unwrap();
    assert_eq!(comment.chars().count(), 4);
    assert_eq!(
        srcip_rules::source::escaped_byte(comment.chars().last().unwrap()),
        Some(0xe9)
    );
}

#[test]
fn binary_input_is_refused_before_parsing() {
    let err = Source::from_bytes("bin", b"*nat\n\x00COMMIT\n".to_vec()).unwrap_err();
    assert!(
        matches!(err, SourceError::Binary { line: 2, .. }),
        "{err:?}"
    );
    let noise: Vec<u8> = (0..64).map(|i| 0xc0 | (i % 0x20) as u8).collect();
    let err = Source::from_bytes("noise", noise).unwrap_err();
    assert!(matches!(err, SourceError::NotText { .. }), "{err:?}");
}
