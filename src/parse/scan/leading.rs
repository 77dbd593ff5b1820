//! The packet tests a rule makes in its first words, read without typing the rule.
//!
//! `explain` must pass over every rule of KUBE-SERVICES and KUBE-NODEPORTS (a rule per
//! service each, 100,000 on a large node) to find the few that can match its packet. Nearly
//! all of them say why not in their first words: `-d 10.96.0.10/32 -p udp ...` or
//! `-p tcp -m comment --comment "..." -m tcp --dport 31015 ...`. [`leading_tests`] reads
//! words from the start while they are basic options (`[!] -s|-d|-p VALUE`, in any spelling
//! the typed parser's one list, `rule::RuleOption`, knows), a
//! `-m comment --comment VALUE` group or a `-m tcp|udp|sctp` group of `--sport`/`--dport`
//! options, and stops at the first word that is anything else. Each test it returns is one
//! the typed parser ([`crate::parse::rule::rule_args`]) reads from the same words, and
//! the first of its kind in the rule, so if one of them rejects a packet, the typed rule
//! rejects it too (for a rule that types without error).

use crate::model::{Negatable, PacketTests, PortTests, Protocol};
use crate::parse::rule::{RuleOption, is_bang, parse_address, parse_port_range};
use crate::parse::scan::words::Words;

/// Reads the tests at the start of `args` (the text after `-A CHAIN`): each one found is
/// the typed rule's test of that kind ([`PacketTests::of`]).
pub fn leading_tests(args: &str) -> PacketTests {
    leading_tests_until(args, |_| false)
}

/// [`leading_tests`], stopping as soon as `enough` says the tests found so far suffice
/// (e.g. they already reject the packet in question): KUBE-SERVICES rules start with the
/// `-d` that rules them out, and their quoted comment need not be scanned.
pub fn leading_tests_until(args: &str, enough: impl Fn(&PacketTests) -> bool) -> PacketTests {
    let mut found = PacketTests::default();
    let mut words = Words::new(args, 0).peekable();
    loop {
        let Some(Ok(mut word)) = words.next() else {
            return found;
        };
        let mut negated = false;
        if is_bang(&word) {
            negated = true;
            match words.next() {
                Some(Ok(next)) => word = next,
                _ => return found,
            }
        }
        let Some(option) = word.bare() else {
            return found;
        };
        match RuleOption::named(option) {
            Some(kind @ (RuleOption::Source | RuleOption::Destination | RuleOption::Protocol)) => {
                let Some(Ok(mut value)) = words.next() else {
                    return found;
                };
                // The old form `-s ! ADDR`.
                if is_bang(&value) {
                    negated = true;
                    match words.next() {
                        Some(Ok(next)) => value = next,
                        _ => return found,
                    }
                }
                match kind {
                    RuleOption::Destination => {
                        let Some(address) = parse_address(&value.text()) else {
                            return found;
                        };
                        found.destination.get_or_insert(Negatable {
                            value: address,
                            negated,
                        });
                    }
                    RuleOption::Protocol => {
                        let Some(protocol) = Protocol::from_name(&value.text()) else {
                            return found;
                        };
                        found.protocol.get_or_insert(Negatable {
                            value: protocol,
                            negated,
                        });
                    }
                    _ => {}
                }
                if enough(&found) {
                    return found;
                }
            }
            Some(RuleOption::Match) if !negated => {
                let Some(Ok(name)) = words.next() else {
                    return found;
                };
                let Some(name) = name.bare() else {
                    return found;
                };
                let group_ended = match name {
                    "comment" => comment_group(&mut words),
                    "tcp" | "udp" | "sctp" | "udplite" => port_group(&mut words, &mut found),
                    _ => false,
                };
                if !group_ended || enough(&found) {
                    return found;
                }
            }
            _ => return found,
        }
    }
}

/// Reads `--comment VALUE` after `-m comment`; true if the next word starts a new group.
fn comment_group<'a>(words: &mut std::iter::Peekable<Words<'a>>) -> bool {
    match words.next() {
        Some(Ok(option)) if option.bare() == Some("--comment") => {}
        _ => return false,
    }
    // `--comment` takes exactly one value, whatever it looks like.
    if !matches!(words.next(), Some(Ok(_))) {
        return false;
    }
    next_starts_group(words)
}

/// Reads `[!] --sport|--dport PORT[:PORT]` options after `-m tcp` (or udp, sctp); true if
/// the group held only those and the next word starts a new group.
fn port_group<'a>(words: &mut std::iter::Peekable<Words<'a>>, found: &mut PacketTests) -> bool {
    let (mut sport, mut dport) = (None, None);
    loop {
        let negated = match words.peek() {
            Some(Ok(word)) if is_bang(word) => {
                words.next();
                true
            }
            _ => false,
        };
        let slot = match words.peek() {
            Some(Ok(word)) if let Some(option) = word.bare() => match option {
                "--sport" | "--source-port" => &mut sport,
                "--dport" | "--destination-port" => &mut dport,
                _ if negated => return false,
                _ => break,
            },
            _ if negated => return false,
            _ => break,
        };
        words.next();
        let Some(Ok(value)) = words.next() else {
            return false;
        };
        // The old form `--dport ! 80` is left to the typed parser.
        if is_bang(&value) {
            return false;
        }
        let Some(range) = parse_port_range(&value.text()) else {
            return false;
        };
        // A repeated option: the typed reading keeps the last one; let it decide.
        if slot.is_some() {
            return false;
        }
        *slot = Some(Negatable {
            value: range,
            negated,
        });
    }
    if !next_starts_group(words) {
        return false;
    }
    // Even an empty group counts: the typed reading takes the first port group, and a
    // later one must not stand in for it.
    if found.ports.is_none() {
        found.ports = Some(PortTests { sport, dport });
    }
    true
}

/// True if the next word is a short option (`-j`, `-m`, `!`...) or there is none: the
/// current group has no further options.
fn next_starts_group(words: &mut std::iter::Peekable<Words<'_>>) -> bool {
    match words.peek() {
        None => true,
        Some(Ok(word)) => word.bare().is_some_and(|w| !w.starts_with("--")),
        Some(Err(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Backend, KubeVersion, dump_to_string, synthetic};
    use crate::model::{Address, PortRange};

    fn net(text: &str) -> Address {
        parse_address(text).unwrap()
    }

    #[test]
    fn cluster_ip_rule_gives_destination_protocol_and_port() {
        let t = leading_tests(
            r#"-d 198.19.0.19/32 -p udp -m comment --comment "ns/svc:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-X"#,
        );
        assert_eq!(t.destination.unwrap().value, net("198.19.0.19/32"));
        assert_eq!(t.protocol.unwrap().value, Protocol::Udp);
        let ports = t.ports.unwrap();
        assert_eq!(ports.sport, None);
        assert_eq!(ports.dport.unwrap().value, PortRange::single(53));
    }

    #[test]
    fn negations_old_and_new_are_kept() {
        let t = leading_tests("! -d 10.0.0.0/8 -p ! tcp -j X");
        assert!(t.destination.unwrap().negated);
        assert!(t.protocol.unwrap().negated);
        let t = leading_tests("-p tcp -m tcp ! --dport 80 -j X");
        assert!(t.ports.unwrap().dport.unwrap().negated);
    }

    #[test]
    fn reading_stops_at_anything_else() {
        // An unknown module: nothing after it is read.
        let t = leading_tests("-m addrtype --dst-type LOCAL -d 1.2.3.4/32 -j X");
        assert_eq!(t, PacketTests::default());
        // A port group with another option is not a pure port test.
        let t = leading_tests("-p tcp -m tcp --dport 80 --tcp-flags SYN SYN -j X");
        assert_eq!(t.protocol.unwrap().value, Protocol::Tcp);
        assert_eq!(t.ports, None);
        // The old `--dport ! 80` form and a repeated option are left to the typed parser.
        assert_eq!(leading_tests("-m tcp --dport ! 80 -j X").ports, None);
        assert_eq!(leading_tests("-m tcp --dport 80 --dport 81").ports, None);
        // A bad address ends the reading, the typed parser reports it.
        assert_eq!(leading_tests("-d 1.2.3.400 -p tcp").protocol, None);
    }

    #[test]
    fn reading_stops_when_the_caller_has_enough() {
        let args = "-d 1.1.1.1/32 -p tcp -m tcp --dport 80 -j X";
        let t = leading_tests_until(args, |t| t.destination.is_some());
        assert!(t.destination.is_some() && t.protocol.is_none());
        assert_eq!(leading_tests_until(args, |_| false), leading_tests(args));
    }

    #[test]
    fn only_the_first_of_each_kind_counts() {
        let t = leading_tests("-d 1.1.1.1/32 -d 2.2.2.2/32 -p tcp -p udp");
        assert_eq!(t.destination.unwrap().value, net("1.1.1.1/32"));
        assert_eq!(t.protocol.unwrap().value, Protocol::Tcp);
        // An empty port group is the first one: the later `--dport 80` is not it.
        let t = leading_tests("-m tcp -m tcp --dport 80 -j X");
        assert_eq!(t.ports, Some(PortTests::default()));
    }

    /// Each test read from a rule's first words is the typed rule's test of that kind.
    fn assert_leading_agrees(args: &str) {
        let Ok(body) = crate::parse::rule_body(args, crate::source::Span::new(0, args.len()), 1)
        else {
            return;
        };
        let typed = PacketTests::of(&body);
        let leading = leading_tests(args);
        if leading.destination.is_some() {
            assert_eq!(leading.destination, typed.destination, "{args}");
        }
        if leading.protocol.is_some() {
            assert_eq!(leading.protocol, typed.protocol, "{args}");
        }
        if leading.ports.is_some() {
            assert_eq!(leading.ports, typed.ports, "{args}");
        }
    }

    #[test]
    fn leading_tests_agree_with_typed_rules_in_every_shipped_and_generated_dump() {
        let mut texts: Vec<String> = Vec::new();
        let mut stack = vec![std::path::PathBuf::from("testdata")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "txt") {
                    texts.push(String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into());
                }
            }
        }
        for version in [KubeVersion::V1_14, KubeVersion::V1_21, KubeVersion::V1_28] {
            texts.push(dump_to_string(&synthetic(200, version, Backend::Legacy)));
        }
        let mut checked = 0;
        for text in &texts {
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("-A ")
                    && let Some((_, args)) = rest.split_once(' ')
                {
                    assert_leading_agrees(args);
                    checked += 1;
                }
            }
        }
        assert!(checked > 5_000, "{checked} rules");
    }

    proptest::proptest! {
        /// Rule text made of the words the leading reader looks at, in any order.
        #[test]
        fn leading_tests_agree_with_typed_rules_on_word_soup(
            words in proptest::collection::vec(proptest::sample::select(vec![
                "!", "-d", "-s", "-p", "--dst", "--protocol", "10.0.0.1/32", "10.0.0.0/8",
                "::1", "tcp", "udp", "-m", "comment", "--comment", "\"a b\"", "-x", "tcp",
                "udp", "sctp", "--dport", "--sport", "--destination-port", "80", "1:1024",
                "53", "--tcp-flags", "SYN", "addrtype", "--dst-type", "LOCAL", "-j",
                "KUBE-SVC-X", "\"-d\"", "--",
                // The other spellings of the options it reads, and options it stops at.
                "--source", "--src", "--destination", "--match", "-i", "eth0", "-f", "-4",
            ]), 0..14)
        ) {
            assert_leading_agrees(&words.join(" "));
        }
    }
}
