//! Finding a rule's jump target from its text alone, for the structure pass
//! ([`crate::parse::parse_structure`]), which must not type every rule.
//!
//! The typed parser ([`crate::parse::rule::rule_args`]) takes the last `-j`/`-g` that stands
//! where an option is expected. [`quick_target`] finds the same word without splitting the
//! whole line: it looks only at the words after the last `"` (so none of them is quoted),
//! takes the last bare `-j`/`-g` there, and checks the two words before it cannot have
//! consumed it as a value (by how many values the typed parser gives each option:
//! `rule::RuleOption::values` for the basic ones, `rule::fixed_arity` for long ones). Whenever that check cannot be made cheaply it answers
//! [`Quick::Unsure`] and the caller parses the rule fully, so for every rule the typed
//! parser accepts, the answer is the typed parser's.

use crate::parse::rule::{RuleOption, fixed_arity};
use crate::parse::scan::words::{BLANKS, is_blank};

/// What the quick look found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quick<'a> {
    /// The rule's target: its name, and true for `-g`.
    Target(&'a str, bool),
    /// Not decidable from the text cheaply: parse the rule.
    Unsure,
}

/// The target of the rule whose arguments (the text after `-A CHAIN`) are `args`.
pub fn quick_target(args: &str) -> Quick<'_> {
    let bytes = args.as_bytes();
    let (tail_start, quoted_before) = match memchr::memrchr(b'"', bytes) {
        Some(q) => (q + 1, true),
        None => (0, false),
    };
    let tail = &args[tail_start..];
    // A word glued to the closing quote (`"a"b`) would need the quote's word: give up.
    if quoted_before && !tail.is_empty() && !tail.starts_with(BLANKS) {
        return Quick::Unsure;
    }
    let mut words: smallvec::SmallVec<[&str; 16]> = smallvec::SmallVec::new();
    let tail_bytes = tail.as_bytes();
    let mut pos = 0;
    loop {
        while pos < tail_bytes.len() && is_blank(tail_bytes[pos]) {
            pos += 1;
        }
        if pos == tail_bytes.len() {
            break;
        }
        let start = pos;
        while pos < tail_bytes.len() && !is_blank(tail_bytes[pos]) {
            pos += 1;
        }
        if words.len() == words.inline_size() {
            return Quick::Unsure;
        }
        words.push(&tail[start..pos]);
    }
    // `--jump`/`--goto` can also be read as a module's long option: leave them to the parser.
    let Some(c) = words.iter().rposition(|w| matches!(*w, "-j" | "-g")) else {
        return Quick::Unsure;
    };
    let Some(&name) = words.get(c + 1) else {
        return Quick::Unsure;
    };
    // A `--jump`/`--goto` after it may be the last target instead (the property test
    // below found `-g X -c 1 --match-set --jump Y`, whose target is Y).
    if words[c + 2..]
        .iter()
        .any(|w| matches!(*w, "--jump" | "--goto"))
    {
        return Quick::Unsure;
    }
    // The two words before the candidate: in the tail, the quoted word (never an option),
    // or the word before that quoted word.
    let before = |back: usize| -> Option<Before<'_>> {
        if c >= back {
            return Some(Before::Word(words[c - back]));
        }
        if !quoted_before {
            return Some(Before::Start);
        }
        if c + 1 == back {
            return Some(Before::Quoted);
        }
        word_before_quoted(&args[..tail_start]).map(Before::Word)
    };
    let (Some(prev1), Some(prev2)) = (before(1), before(2)) else {
        return Quick::Unsure;
    };
    if consumes_next(prev1) || consumes_second_next(prev2) {
        return Quick::Unsure;
    }
    Quick::Target(name, words[c] == "-g")
}

/// A word before the candidate `-j`.
#[derive(Debug, Clone, Copy)]
enum Before<'a> {
    /// The start of the arguments.
    Start,
    /// A quoted word: always a value, never an option.
    Quoted,
    /// A bare word.
    Word(&'a str),
}

/// True if the word right before could take the candidate as its value.
fn consumes_next(before: Before<'_>) -> bool {
    let Before::Word(word) = before else {
        return false;
    };
    word == "!" || most_values(word) >= 1
}

/// True if the word two before could take the candidate as its second value.
fn consumes_second_next(before: Before<'_>) -> bool {
    let Before::Word(word) = before else {
        return false;
    };
    word == "!" || most_values(word) >= 2
}

/// The most words after `word` the typed parser may take as its values, whatever they look
/// like: a basic option's ([`RuleOption::values`]) or a long option's fixed arity
/// ([`fixed_arity`]); 0 for any other word.
fn most_values(word: &str) -> usize {
    let basic = RuleOption::named(word).map_or(0, RuleOption::values);
    let long = word.strip_prefix("--").and_then(fixed_arity).unwrap_or(0);
    basic.max(long)
}

/// The bare word before the quoted word that ends `head` (which ends with its closing
/// quote), or `None` when that is not simple to tell (an escaped quote inside it, text
/// glued to its opening quote).
fn word_before_quoted(head: &str) -> Option<&str> {
    let bytes = head.as_bytes();
    let close = bytes.len().checked_sub(1)?;
    let open = memchr::memrchr(b'"', &bytes[..close])?;
    if open > 0 && !is_blank(bytes[open - 1]) {
        return None;
    }
    if bytes[open + 1..close].contains(&b'\\') {
        return None;
    }
    let before = head[..open].trim_end_matches(BLANKS);
    let start = before.rfind(BLANKS).map_or(0, |i| i + 1);
    let word = &before[start..];
    // A quote in it means it is (part of) a quoted word: not an option name.
    if word.contains('"') {
        return Some("");
    }
    Some(word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RuleBody, TargetKind};
    use crate::parse::rule;
    use crate::parse::scan::words;

    /// The typed parser's answer, as (name, goto); `Err` if the rule does not parse.
    fn typed(args: &str) -> Result<Option<(String, bool)>, ()> {
        let mut body = RuleBody::default();
        words::split_words(args, 0, &mut body.words).map_err(|_| ())?;
        rule::rule_args(&mut body).map_err(|_| ())?;
        Ok(body.target.map(|t| (t.name.to_string(), t.goto)))
    }

    #[track_caller]
    fn check(args: &str) {
        match quick_target(args) {
            Quick::Target(name, goto) => {
                // A rule the parser rejects is never typed: any answer will do.
                if let Ok(typed) = typed(args) {
                    assert_eq!(
                        Some((name.to_string(), goto)),
                        typed,
                        "quick and typed disagree on {args:?}"
                    );
                }
            }
            Quick::Unsure => {}
        }
    }

    #[test]
    fn kube_proxy_rules_are_decided_quickly() {
        for args in [
            r#" -p tcp -m comment --comment "ns/svc:http" -m tcp --dport 30080 -j KUBE-EXT-X"#,
            r#" -s 10.1.2.3/32 -m comment --comment "ns/svc:http" -j KUBE-MARK-MASQ"#,
            r#" -p tcp -m comment --comment "ns/svc:http" -m tcp -j DNAT --to-destination 10.1.2.3:80"#,
            " -m statistic --mode random --probability 0.5 -j KUBE-SEP-X",
            " -m mark ! --mark 0x4000/0x4000 -j RETURN",
            " -g KUBE-X",
        ] {
            assert!(matches!(quick_target(args), Quick::Target(..)), "{args}");
            check(args);
        }
        let _ = TargetKind::Accept;
    }

    #[test]
    fn words_that_may_be_values_are_left_to_the_parser() {
        for args in [
            " -m comment --comment -j -j ACCEPT",
            " -s ! -j X",
            " -m set --match-set x -j -j ACCEPT",
            r#" -m set --match-set "x y" -j -j ACCEPT"#,
            " -m tcp --tcp-flags ! SYN -j -j ACCEPT",
            " -c 1 -j -j ACCEPT",
            r#" -m comment --comment "a"b -j X"#,
            r#" -m comment --comment "a\"b" -j X"#,
            " -m comment --comment x --jump X",
            " -m comment --comment x",
        ] {
            assert_eq!(quick_target(args), Quick::Unsure, "{args}");
        }
    }

    #[test]
    fn quick_answers_agree_with_the_typed_parser() {
        for args in [
            " -j ACCEPT",
            " -j",
            r#" -m comment --comment "-j X" -j Y"#,
            r#" -m comment --comment "x" -j Y --foo"#,
            " -m comment --comment --comment -j X",
            " -p tcp --dport 80 -j X -j Y",
            " -m multiport --dports 1,2 -j REJECT --reject-with icmp-port-unreachable",
            r#" "x" -j Y"#,
            r#" -m comment --comment """" -j Y"#,
            // Found by the property test below with 20,000 cases: `--jump` after the
            // last `-g` is the target.
            " -j comment -g tcp -c 1 --match-set --jump tcp",
            " -g X --jump Y",
            " -j X\r-g\rY",
        ] {
            check(args);
        }
    }

    proptest::proptest! {
        /// Rules made of the words that make the quick look hard agree with the parser
        /// whenever the quick look answers.
        #[test]
        fn quick_look_never_contradicts_the_parser(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "-j", "-g", "X", "ACCEPT", "!", "-m", "comment", "--comment", "\"a b\"",
                "\"-j\"", "-s", "10.0.0.1", "--match-set", "--tcp-flags", "-c", "1",
                "--dport", "-p", "tcp", "--jump", "\"a\\\"b\"", "--to-destination",
                // Every other basic option, in one spelling or another.
                "--src", "-i", "--out-interface", "eth0", "-f", "-4", "--set-counters",
                "--match", "--goto",
            ]), 0..10)
        ) {
            let args = format!(" {}", parts.join(" "));
            check(&args);
        }
    }
}
