//! Writing a [`Dump`] back as iptables-save text, from the model rather than the input.
//!
//! The output is what the parser reads back into an equal model: the same rulesets,
//! tables, chains, policies, counters and rule bodies (spans and line numbers aside).
//! Each ruleset is written as iptables-save lays it out: the generator header, then per
//! table `*name`, every chain declaration, the rules in input order and `COMMIT`, then the
//! footer. Tables assumed for a fragment (rules with no `*table`) are written as bare rules,
//! as they came. Other `#` comments go back before the first line that followed them.
//! The header, footer and legacy-tables warning are written as [`crate::parse::line`]
//! defines them, the definition the parser reads them by; the model does not keep the
//! dates of the header and footer, so they are left out.

use std::borrow::Cow;
use std::fmt::{self, Write};

use crate::model::{
    Counters, Dump, Match, Module, ModuleOption, Negatable, Policy, RuleBody, TableId, Target,
};
use crate::parse::line::{COMPLETED_FOOTER, GeneratedHeader, LEGACY_TABLES_WARNING};
use crate::parse::scan::words::{BLANKS, quote};

/// Options whose values iptables-save treats as free text and quotes unless they are
/// `[A-Za-z0-9_-]+`.
const TEXT_OPTIONS: &[&str] = &["comment", "log-prefix", "nflog-prefix", "nfacct-name"];

/// Writes `dump` as iptables-save text.
///
/// Fails only if `out` fails, or if a rule's span does not parse (a model built by hand
/// with a bad span: every parsed rule parses again).
pub fn write_dump(dump: &Dump<'_>, out: &mut impl Write) -> fmt::Result {
    let mut comments = Comments {
        pending: &dump.comments,
    };
    for ruleset in &dump.rulesets {
        if let Some(generator) = &ruleset.generator {
            comments.write_before(generator.line, out)?;
            let header = GeneratedHeader {
                program: generator.program,
                version: generator.version,
                backend: generator.backend,
            };
            writeln!(out, "{header}")?;
        }
        for &table in &ruleset.tables {
            write_table(dump, table, &mut comments, out)?;
        }
        if ruleset.completed {
            writeln!(out, "{COMPLETED_FOOTER}")?;
        }
        if ruleset.legacy_tables_warning.is_some() {
            writeln!(out, "{LEGACY_TABLES_WARNING}")?;
        }
    }
    comments.write_before(u32::MAX, out)
}

/// The `#` comments not yet written, in input order. Each is a line the parser read as
/// [`crate::parse::line::CommentLine::Other`], so it reads back as a comment wherever it goes.
struct Comments<'d, 'a> {
    pending: &'d [(u32, &'a str)],
}

impl Comments<'_, '_> {
    /// Writes the comments that came before input line `line`.
    fn write_before(&mut self, line: u32, out: &mut impl Write) -> fmt::Result {
        while let Some(((at, text), rest)) = self.pending.split_first() {
            if *at >= line {
                break;
            }
            writeln!(out, "{text}")?;
            self.pending = rest;
        }
        Ok(())
    }
}

/// `*name`, the chain declarations, the rules, `COMMIT`.
fn write_table(
    dump: &Dump<'_>,
    id: TableId,
    comments: &mut Comments<'_, '_>,
    out: &mut impl Write,
) -> fmt::Result {
    let table = dump.table(id);
    if let Some(line) = table.line {
        comments.write_before(line, out)?;
        writeln!(out, "*{}", table.name)?;
    }
    for &chain_id in &table.chains {
        let chain = dump.chain(chain_id);
        let Some(line) = chain.declared_line() else {
            continue;
        };
        comments.write_before(line, out)?;
        let policy = match chain.policy {
            Some(Policy::Accept) => "ACCEPT",
            Some(Policy::Drop) => "DROP",
            None => "-",
        };
        write!(out, ":{} {policy}", chain.name)?;
        if let Some(counters) = dump.chain_counters(chain_id) {
            write!(out, " {}", CountersText(counters))?;
        }
        out.write_char('\n')?;
    }
    // Rules in input order, not chain by chain: the order chains are first used in is
    // kept, and so is the order of each chain's rules.
    for (index, rule) in dump.rules.iter().enumerate() {
        if dump.chain(rule.chain).table != id {
            continue;
        }
        comments.write_before(rule.line, out)?;
        if let Some(counters) = dump.rule_counters(crate::model::RuleId(index as u32)) {
            write!(out, "{} ", CountersText(counters))?;
        }
        write!(out, "-A {}", dump.chain(rule.chain).name)?;
        let body =
            crate::parse::rule_body(dump.text, rule.args(), rule.line).map_err(|_| fmt::Error)?;
        write_rule_body(&body, out)?;
        out.write_char('\n')?;
    }
    if let Some(line) = table.commit_line {
        comments.write_before(line, out)?;
        out.write_str("COMMIT\n")?;
    }
    Ok(())
}

/// `[packets:bytes]`
struct CountersText(Counters);

impl fmt::Display for CountersText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}:{}]", self.0.packets, self.0.bytes)
    }
}

/// The rule's arguments, each word after a space.
fn write_rule_body(body: &RuleBody<'_>, out: &mut impl Write) -> fmt::Result {
    // The target goes where it was written relative to the `-m` groups. Usually that is
    // last, but `-j ACCEPT -m comment --comment` (an option missing its value at the end
    // of the line) only reads back the same way with the target kept in front.
    let mut target = body.target.as_ref();
    for m in &body.matches {
        if let (Some(t), Match::Module(module)) = (target, m)
            && module.span.start > t.span.start
        {
            write_target(t, body, out)?;
            target = None;
        }
        write_match(m, body, out)?;
    }
    match target {
        Some(t) => write_target(t, body, out),
        None => Ok(()),
    }
}

/// One test of a rule as `iptables-save` writes it (`-d 10.96.0.10/32`, `-m tcp --dport 53`).
pub fn match_text(m: &Match<'_>, body: &RuleBody<'_>) -> String {
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = write_match(m, body, &mut text);
    text.trim_start().to_string()
}

fn write_match(m: &Match<'_>, body: &RuleBody<'_>, out: &mut impl Write) -> fmt::Result {
    match m {
        Match::Source(test) => write_basic(out, "-s", test, |a| a.to_string()),
        Match::Destination(test) => write_basic(out, "-d", test, |a| a.to_string()),
        Match::Protocol(test) => write_basic(out, "-p", test, |p| p.to_string()),
        Match::InInterface(test) => write_basic(out, "-i", test, |i| name_word(i.0).into()),
        Match::OutInterface(test) => write_basic(out, "-o", test, |i| name_word(i.0).into()),
        Match::Fragment { negated } => {
            write_bang(*negated, out)?;
            out.write_str(" -f")
        }
        Match::Module(module) => write_module(module, body, out),
    }
}

/// ` [!] -x VALUE`
fn write_basic<T>(
    out: &mut impl Write,
    option: &str,
    test: &Negatable<T>,
    value: impl Fn(&T) -> String,
) -> fmt::Result {
    write_bang(test.negated, out)?;
    write!(out, " {option} {}", value(&test.value))
}

fn write_bang(negated: bool, out: &mut impl Write) -> fmt::Result {
    if negated {
        out.write_str(" !")?;
    }
    Ok(())
}

/// ` -m NAME [options]`
fn write_module(module: &Module<'_>, body: &RuleBody<'_>, out: &mut impl Write) -> fmt::Result {
    write!(out, " -m {}", name_word(module.name))?;
    write_options(module.options_in(body), body, out)
}

/// ` -j NAME [options]` or ` -g CHAIN`
fn write_target(target: &Target<'_>, body: &RuleBody<'_>, out: &mut impl Write) -> fmt::Result {
    let flag = if target.goto { "-g" } else { "-j" };
    write!(out, " {flag} {}", name_word(target.name))?;
    write_options(target.options_in(body), body, out)
}

/// ` [!] --name value...` for each option.
fn write_options<'a>(
    options: &[ModuleOption<'a>],
    body: &RuleBody<'a>,
    out: &mut impl Write,
) -> fmt::Result {
    for option in options {
        write_bang(option.negated, out)?;
        write!(out, " --{}", option.name)?;
        let text = TEXT_OPTIONS.contains(&option.name);
        for value in body.values(option) {
            out.write_char(' ')?;
            let borrowed = value.borrowed().is_some();
            out.write_str(&value_word(&value.text(), borrowed, text))?;
        }
    }
    Ok(())
}

/// True for text that reads back as one bare word wherever a value may stand.
fn is_safe_bare(text: &str) -> bool {
    !text.is_empty() && text != "!" && !text.starts_with('-') && !splits_or_quotes(text)
}

/// True if `text`, written bare, would not read back as one word: it has a blank
/// (space, tab, carriage return) or a `"`.
fn splits_or_quotes(text: &str) -> bool {
    text.contains(BLANKS) || text.contains('"')
}

/// A module, target or interface name. The parser wants these unescaped (a borrowed word),
/// so they are never written with backslash escapes.
fn name_word(name: &str) -> Cow<'_, str> {
    if !name.is_empty() && name != "!" && !splits_or_quotes(name) {
        Cow::Borrowed(name)
    } else if !name.contains('\\') {
        // A name read from a quoted word has no backslash or quote (the parser refuses
        // escapes in names), so plain quotes give it back.
        Cow::Owned(format!("\"{name}\""))
    } else {
        // A name with a backslash was written bare, so it has no blank in it.
        Cow::Borrowed(name)
    }
}

/// An option value, quoted as iptables-save would where that reads back the same.
///
/// Values the parser needs unescaped (`--src-type`, `--ctstate` lists) are never given
/// backslash escapes unless they were written with them. `borrowed` says the parser read
/// the value without unescaping it (it was bare, or quoted with no backslash).
fn value_word(text: &str, borrowed: bool, text_option: bool) -> Cow<'_, str> {
    if text_option {
        let quoted = quote(text);
        // `--comment -x` is legal, but a quoted `-x` cannot be mistaken for an option.
        if !quoted.starts_with('-') {
            return quoted;
        }
    } else if is_safe_bare(text) {
        return Cow::Borrowed(text);
    }
    if !text.contains(['"', '\\']) {
        Cow::Owned(format!("\"{text}\""))
    } else if borrowed && !splits_or_quotes(text) {
        // Borrowed text with a backslash was a bare word: write it bare again.
        Cow::Borrowed(text)
    } else {
        quote(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_text;

    #[track_caller]
    fn printed(text: &str) -> String {
        let parsed = parse_text(text);
        assert!(parsed.errors().is_empty(), "{:?}", parsed.errors());
        let mut out = String::new();
        write_dump(&parsed.dump, &mut out).unwrap();
        out
    }

    #[test]
    fn full_dump_prints_in_save_layout() {
        let text = "# Generated by iptables-save v1.8.7 (nf_tables) on Sun Nov 22 12:00:00 2026\n\
*nat\n\
:PREROUTING ACCEPT [3:180]\n\
:KUBE-SERVICES - [0:0]\n\
-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
[5:300] -A KUBE-SERVICES ! -s 10.0.0.0/8 -d 172.30.0.41/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ\n\
COMMIT\n\
# Completed on Sun Nov 22 12:00:00 2026\n";
        assert_eq!(
            printed(text),
            "# Generated by iptables-save v1.8.7 (nf_tables)\n\
*nat\n\
:PREROUTING ACCEPT [3:180]\n\
:KUBE-SERVICES - [0:0]\n\
-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
[5:300] -A KUBE-SERVICES ! -s 10.0.0.0/8 -d 172.30.0.41/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ\n\
COMMIT\n\
# Completed\n"
        );
    }

    #[test]
    fn old_negation_and_implicit_protocol_match_print_canonically() {
        assert_eq!(
            printed("*filter\n-A INPUT -s ! 10.0.0.1 -p tcp --dport ! 22 -j DROP\nCOMMIT\n"),
            "*filter\n-A INPUT ! -s 10.0.0.1/32 -p tcp -m tcp ! --dport 22 -j DROP\nCOMMIT\n"
        );
    }

    #[test]
    fn text_values_are_quoted_like_iptables_save() {
        assert_eq!(
            printed(
                "-A KUBE-SVC-X -m comment --comment \"say \\\"hi\\\" \\\\ it's\" -m comment --comment plain_1 -m comment --comment -dash\n"
            ),
            "-A KUBE-SVC-X -m comment --comment \"say \\\"hi\\\" \\\\ it\\'s\" -m comment --comment plain_1 -m comment --comment \"-dash\"\n"
        );
    }

    #[test]
    fn target_before_a_trailing_option_without_value_stays_in_front() {
        let text = "-A KUBE-SVC-X -j ACCEPT -m comment --comment\n";
        assert_eq!(printed(text), text);
    }

    #[test]
    fn fragment_tables_print_as_bare_rules_and_comments_keep_their_place() {
        let text = "# grep KUBE-NODEPORTS\n-A KUBE-NODEPORTS -p tcp -m tcp --dport 31015 -j KUBE-MARK-MASQ\n# end\n";
        assert_eq!(printed(text), text);
    }

    #[test]
    fn quoted_names_come_back_unescaped() {
        let text = "-A KUBE-SVC-X -i \"it's a\" -o eth0+ -j \"odd chain\"\n";
        assert_eq!(printed(text), text);
    }
}
