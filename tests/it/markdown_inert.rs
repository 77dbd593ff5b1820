//! Issue 14: dump text set in Markdown must stay text. Payloads (links, images, raw HTML,
//! backticks, pipes, emphasis, newlines, autolinks, entities, block markers) go through
//! `markdown_text`, `markdown_code` and `markdown_code_in_table` into paragraphs, table
//! cells, list items and line starts; a real GitHub-flavoured renderer (comrak, a port of
//! GitHub's cmark-gfm) turns the result into HTML, which must hold no element but the
//! context's own, and whose text must be exactly the sanitised payload.

use proptest::prelude::*;
use srcip_rules::report::sanitize::{
    markdown_code, markdown_code_in_table, markdown_text, sanitize,
};

/// GitHub's flavour: tables, autolinks, strikethrough, task lists, footnotes, alerts; raw
/// HTML passed through, so that any that got in would show.
fn render(markdown: &str) -> String {
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.strikethrough = true;
    options.extension.tasklist = true;
    options.extension.footnotes = true;
    options.extension.alerts = true;
    options.render.r#unsafe = true;
    comrak::markdown_to_html(markdown, &options)
}

/// The element names in `html`, in order (opening tags only).
fn elements(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .filter(|tag| !tag.starts_with('/'))
        .map(|tag| {
            tag.chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect()
        })
        .collect()
}

/// The text of `html`: tags removed, the entities comrak writes decoded.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// How one function's output is set in Markdown, and what HTML elements that may give.
struct Context {
    name: &'static str,
    before: &'static str,
    after: &'static str,
    allowed: &'static [&'static str],
    /// The cell text is trimmed by the table, the line start by the paragraph.
    trims: bool,
}

const PROSE: &[Context] = &[
    Context {
        name: "paragraph",
        before: "Before ",
        after: " after.\n",
        allowed: &["p"],
        trims: false,
    },
    Context {
        name: "line start",
        before: "",
        after: "\n",
        allowed: &["p"],
        trims: true,
    },
    Context {
        name: "list item",
        before: "- ",
        after: "\n",
        allowed: &["ul", "li"],
        trims: true,
    },
    Context {
        name: "heading",
        before: "## nodePort 3001 — ",
        after: "\n",
        allowed: &["h2"],
        trims: true,
    },
];

const TABLE: Context = Context {
    name: "table cell",
    before: "| a | b |\n|---|---|\n| ",
    after: " | end |\n",
    allowed: &["table", "thead", "tr", "th", "tbody", "td"],
    trims: true,
};

/// Renders `escaped` in `context` and checks what came out: only the context's elements
/// (plus one `code` for a code span), and the payload's sanitised text, whole.
fn check(payload: &str, escaped: &str, context: &Context) {
    let code_span = escaped.starts_with('`');
    let markdown = format!("{}{escaped}{}", context.before, context.after);
    let html = render(&markdown);
    let mut found = elements(&html);
    let codes = found.iter().filter(|e| *e == "code").count();
    found.retain(|e| e != "code");
    let want_codes = usize::from(code_span);
    assert!(
        found.iter().all(|e| context.allowed.contains(&e.as_str())) && codes == want_codes,
        "{}: payload {payload:?} gave elements {found:?} and {codes} code spans\nmarkdown: {markdown:?}\nhtml: {html}",
        context.name
    );
    let clean = sanitize(payload);
    let text = text_of(&html);
    let shown = if context.name == "table cell" {
        // One body row of two cells: the payload's, then "end".
        let cells: Vec<&str> = html
            .split("<td>")
            .skip(1)
            .map(|cell| cell.split("</td>").next().unwrap_or(""))
            .collect();
        assert!(
            cells.len() == 2 && cells[1] == "end",
            "table broken: {cells:?}\nmarkdown: {markdown:?}\nhtml: {html}"
        );
        text_of(cells[0])
    } else {
        let prefix = context.before.trim_start_matches(['#', '-', ' ']);
        let suffix = context.after.trim_end_matches('\n');
        let (prefix, suffix) = if context.trims {
            (prefix.trim_end(), suffix.trim_start())
        } else {
            (prefix, suffix)
        };
        let body = text.trim_end_matches('\n');
        let body = body
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{html}"));
        body.strip_suffix(suffix)
            .unwrap_or_else(|| panic!("{html}"))
            .to_string()
    };
    let (shown, clean) = if context.trims {
        (shown.trim().to_string(), clean.trim().to_string())
    } else {
        (shown, clean.into_owned())
    };
    assert_eq!(
        shown, clean,
        "{}: text changed\nmarkdown: {markdown:?}\nhtml: {html}",
        context.name
    );
}

fn check_everywhere(payload: &str) {
    let clean = sanitize(payload);
    for context in PROSE {
        check(payload, &markdown_text(payload), context);
        let code = markdown_code(payload);
        assert_eq!(code.starts_with('`'), !clean.is_empty(), "{code:?}");
        check(payload, &code, context);
    }
    check(payload, &markdown_text(payload), &TABLE);
    let code = markdown_code_in_table(payload);
    // Set as escaped text only when a backslash stands right before a pipe.
    assert_eq!(
        code.starts_with('`'),
        !clean.is_empty() && !clean.contains("\\|"),
        "{code:?}"
    );
    check(payload, &code, &TABLE);
}

const PAYLOADS: &[&str] = &[
    "[click](https://example.com/phish)",
    "![track](https://example.com/pixel.png)",
    "[x][ref]\n\n[ref]: https://example.com",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "<https://example.com> and <a@example.com>",
    "https://example.com/autolink www.example.com a@example.com",
    "`code` and ``double`` and a lone `",
    "`",
    "``",
    "` `",
    "a|b||c",
    "\\|a backslash before a pipe\\",
    "*em* _em_ **strong** __strong__ ~~del~~ ~del~",
    "line one\nline two\n\n# heading\r\n",
    "&lt;entity&gt; &amp; &#x41; &#65;",
    "# heading",
    "1. item",
    "- item",
    "+ item",
    "> quote",
    "---",
    "===",
    "    indented code",
    " leading and trailing spaces ",
    "- [ ] task",
    "[^1] footnote\n\n[^1]: note",
    "> [!WARNING]\n> alert",
    "KUBE-SVC-ABCDEF ns/svc:http → 10.0.0.1:8080",
    "\u{1b}]52;c;QQ==\u{7} and \u{202e}reversed",
    "trailing backslash\\",
    "",
];

#[test]
fn every_payload_is_inert_in_every_context() {
    for payload in PAYLOADS {
        check_everywhere(payload);
    }
}

proptest! {
    /// Any mixture of Markdown's special characters, letters and spaces stays text.
    #[test]
    fn any_mixture_of_markdown_syntax_stays_text(
        payload in "( {0,5})[a-z0-9:/. \\[\\]()!<>`|*_~#&;\\\\=+\\-@\\n\"'{}^$%?,]{0,40}"
    ) {
        check_everywhere(&payload);
    }
}

/// A dump whose comments, chain names' neighbours, header and `# node:` name carry
/// Markdown payloads, put through every Markdown report: the rendered HTML has only the
/// reports' own elements.
#[test]
fn every_markdown_report_keeps_dump_payloads_inert() {
    use assert_cmd::Command;
    let payload = r#"x](https://evil.example/a) ![i](https://evil.example/i.png) <img src=x onerror=alert(1)> <https://evil.example> | **b** `c` &amp; [^1] > q"#;
    let dump = std::fs::read_to_string("testdata/nodes/v1.28-ext-multi-service-nft.txt")
        .expect("dump D")
        .replace("ns2/svc2:p80", payload)
        .replace(
            "iptables-nft-save v1.8.9",
            "iptables-nft-save<b>x</b>|`y` v1.8.9",
        );
    // The node's name, as `ports`, `check` and `diff` show it.
    let named = format!("# node: {payload}\n{dump}");
    // `diff` reads its second node from a file.
    let other = std::env::temp_dir().join(format!("srcip-md-inert-{}.txt", std::process::id()));
    std::fs::write(&other, &named).expect("write node B");
    let other_path = other.to_str().expect("utf-8 path");
    let allowed = [
        "h1",
        "h2",
        "h3",
        "h4",
        "p",
        "ul",
        "li",
        "strong",
        "em",
        "code",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "blockquote",
        "pre",
    ];
    for (args, shown) in markdown_reports(other_path) {
        let out = Command::cargo_bin("srcip-rules")
            .unwrap()
            .args(&args)
            .write_stdin(named.clone())
            .output()
            .expect("run");
        let markdown = String::from_utf8(out.stdout).expect("utf-8");
        let html = render(&markdown);
        for element in elements(&html) {
            assert!(
                allowed.contains(&element.as_str()),
                "{args:?}: <{element}> from the dump\n{html}"
            );
        }
        assert!(
            text_of(&html).contains(shown),
            "{args:?}: the payload reads as written\n{markdown}"
        );
    }
    let _ = std::fs::remove_file(&other);
}

/// Every Markdown report, run on the payload dump (standard input; `other`: a copy for
/// `diff`'s second node), and a payload its text must show as written.
fn markdown_reports(other: &str) -> Vec<(Vec<&str>, &'static str)> {
    let from_comment = "![i](https://evil.example/i.png)";
    let from_header = "iptables-nft-save<b>x</b>|`y` v1.8.9";
    vec![
        (
            vec!["explain", "3001", "--format", "markdown", "-"],
            from_comment,
        ),
        (
            vec!["explain", "192.168.99.22:80", "--format", "markdown", "-"],
            from_comment,
        ),
        (
            vec![
                "trace",
                "--src",
                "203.0.113.7",
                "--dst",
                "192.0.2.10",
                "--dport",
                "3001",
                "--node-ip",
                "192.0.2.10",
                "-v",
                "--format",
                "markdown",
                "-",
            ],
            from_comment,
        ),
        (vec!["inspect", "--format", "markdown", "-"], from_header),
        (vec!["ports", "--format", "markdown", "-"], from_comment),
        (
            vec![
                "check",
                "--expect",
                "3001:external=preserved",
                "--format",
                "markdown",
                "-",
            ],
            from_comment,
        ),
        (
            vec!["diff", "-", other, "3001", "--format", "markdown"],
            from_comment,
        ),
    ]
}
