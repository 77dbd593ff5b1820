//! What real ticket attachments hold besides `iptables-save` lines, recognised so that the
//! parser can accept it with a warning, or refuse the whole input with one clear message:
//! journald/syslog prefixes, shell prompts and shell error lines, `iptables -L` tables,
//! `nft list ruleset` text, and a line that is the rest of the line before it.

use std::sync::OnceLock;

use regex::Regex;

/// Text that is not `iptables-save` output at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignText {
    /// `iptables -L [-n] [-v]` (`Chain INPUT (policy ACCEPT …)`, column headings).
    IptablesList,
    /// `nft list ruleset` (`table ip nat {`).
    NftRuleset,
}

/// The length of a journald or syslog prefix (`Jul 19 09:03:35 node1 kubelet[6717]: `,
/// `2024-07-19T09:03:35.123+00:00 node1 kube-proxy[6717]: `) before an iptables-save line,
/// if the line has one and what follows it starts like an iptables-save line.
pub fn log_prefix_len(line: &str) -> Option<usize> {
    // A month name and a blank (`Jul `) or a year and a dash (`2024-`) first: a cheap test
    // before the pattern, which `COMMIT`, on every dump, would otherwise compile (3 ms).
    if !starts_like_a_time_stamp(line.as_bytes()) {
        return None;
    }
    let prefix = log_prefix();
    let found = prefix.find(line)?;
    let rest = &line[found.end()..];
    starts_like_a_dump_line(rest).then_some(found.end())
}

/// True if `line` starts as a syslog time stamp (`Jul 19 `) or an ISO 8601 one (`2024-`).
fn starts_like_a_time_stamp(line: &[u8]) -> bool {
    match line {
        [m, o, n, b' ', ..] => {
            m.is_ascii_uppercase() && o.is_ascii_lowercase() && n.is_ascii_lowercase()
        }
        [y1, y2, y3, y4, b'-', ..] => [y1, y2, y3, y4].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    }
}

/// A journald or syslog line prefix: time stamp, host, unit (with its pid), colon.
fn log_prefix() -> &'static Regex {
    static PREFIX: OnceLock<Regex> = OnceLock::new();
    PREFIX.get_or_init(|| {
        Regex::new(concat!(
            r"^(?:[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}",
            r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)",
            r" \S+ [^\s:]+(?:\[\d+\])?: "
        ))
        .expect("the log prefix pattern compiles")
    })
}

/// True for a journal line that is no dump line: journalctl's own markers
/// (`-- Journal begins at … --`, `-- Boot 1a2b… --`, `-- No entries --`) and another
/// unit's message behind a journald/syslog prefix.
pub fn is_log_line(line: &str) -> bool {
    if line.starts_with("-- ") && line.ends_with(" --") {
        return true;
    }
    if !line.starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        return false;
    }
    let prefix = log_prefix();
    prefix.is_match(line)
}

/// True for what iptables-save lines start with.
fn starts_like_a_dump_line(text: &str) -> bool {
    text.starts_with(['#', '*', ':', '-', '[']) || text == "COMMIT"
}

/// True for a shell prompt with its command (`root@node1:~# iptables-save | grep x`,
/// `[root@node1 ~]# …`, `$ sudo iptables-save`) or a shell's error line (`-bash: …`,
/// `sudo: …`, `iptables-save: …`): pasted along with the output.
pub fn is_shell_line(line: &str) -> bool {
    // Every shell line has one of these; most unknown lines have none (a cheap test first).
    if !line
        .bytes()
        .any(|b| matches!(b, b'#' | b'$' | b'%' | b'>' | b':'))
    {
        return false;
    }
    static SHELL: OnceLock<Regex> = OnceLock::new();
    let shell = SHELL.get_or_init(|| {
        Regex::new(concat!(
            r"^(?:(?:\[[^\]]*\]|[\w.-]+@[\w.-]+(?::\S*)?)\s*[#$%>] ",
            r"|\$ ",
            r"|-?(?:ba|z|da|k|c|tc)?sh: ",
            r"|sudo: ",
            r"|ip6?tables(?:-save|-legacy-save|-nft-save)?: )"
        ))
        .expect("the shell line pattern compiles")
    });
    shell.is_match(line)
}

/// What the line shows the input to be, when it is not iptables-save text.
pub fn foreign_text(line: &str) -> Option<ForeignText> {
    // `Chain …`, `target …`, `num …`, `pkts …`, `table …`: a cheap test first.
    if !line.starts_with(['C', 't', 'n', 'p']) {
        return None;
    }
    static LIST: OnceLock<Regex> = OnceLock::new();
    static NFT: OnceLock<Regex> = OnceLock::new();
    let list = LIST.get_or_init(|| {
        Regex::new(concat!(
            r"^(?:Chain \S+ \((?:policy \w+|\d+ references)",
            r"|(?:num\s+)?(?:pkts\s+bytes\s+)?target\s+prot\s+opt\s)"
        ))
        .expect("the iptables -L pattern compiles")
    });
    let nft = NFT.get_or_init(|| {
        Regex::new(r"^table (?:ip|ip6|inet|arp|bridge|netdev) \S+ \{")
            .expect("the nft pattern compiles")
    });
    if list.is_match(line) {
        Some(ForeignText::IptablesList)
    } else if nft.is_match(line) {
        Some(ForeignText::NftRuleset)
    } else {
        None
    }
}

/// True when a line that is no directive looks like the rest of the rule before it, cut in
/// two by a forum or a terminal: a target or option value (`S`, `NAT --to-source …`,
/// `--dport 80 -j DROP`, `10.0.0.1:80`).
pub fn looks_like_a_continuation(line: &str) -> bool {
    let first = line.split_ascii_whitespace().next().unwrap_or("");
    first.starts_with("--")
        || first
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '-' || c == '_')
        || first
            .chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '/' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journald_and_syslog_prefixes_are_found_only_before_dump_lines() {
        let line = "Jul 19 09:03:35 node1 kube-proxy[6717]: -A KUBE-NODEPORTS -j X";
        assert_eq!(log_prefix_len(line), Some(40));
        assert_eq!(&line[40..], "-A KUBE-NODEPORTS -j X");
        let iso = "2024-07-19T09:03:35.123+00:00 node1 kubelet[12]: *nat";
        assert_eq!(log_prefix_len(iso).map(|n| &iso[n..]), Some("*nat"));
        assert_eq!(
            log_prefix_len("Jul  9 09:03:35 node1 sh: COMMIT").map(|_| ()),
            Some(())
        );
        // Not followed by a dump line, or not a prefix.
        assert_eq!(
            log_prefix_len("Jul 19 09:03:35 node1 sshd[1]: Accepted"),
            None
        );
        assert_eq!(log_prefix_len("-A KUBE-NODEPORTS -j X"), None);
    }

    #[test]
    fn the_cheap_time_stamp_test_passes_every_line_the_pattern_finds() {
        for line in [
            "Jul 19 09:03:35 node1 kube-proxy[6717]: ",
            "Jul  9 09:03:35 node1 sh: ",
            "2024-07-19T09:03:35.123+00:00 node1 kubelet[12]: ",
            "2024-07-19 09:03:35 node1 kubelet: ",
        ] {
            assert!(log_prefix().is_match(line), "{line}");
            assert!(starts_like_a_time_stamp(line.as_bytes()), "{line}");
        }
        for line in [
            "COMMIT",
            "Chain INPUT (policy ACCEPT)",
            "JUL 19",
            "Jul",
            "202-07-19",
            "",
        ] {
            assert!(!starts_like_a_time_stamp(line.as_bytes()), "{line}");
            assert!(!log_prefix().is_match(line), "{line}");
        }
    }

    #[test]
    fn prompts_and_shell_errors_are_shell_lines_and_dump_lines_are_not() {
        for line in [
            "root@node1:~# iptables-save | grep 31015",
            "[root@node1 ~]# iptables-save",
            "$ sudo iptables-save",
            "-bash: iptables-save: command not found",
            "sudo: unable to resolve host node1",
            "iptables-save: Permission denied (you must be root)",
        ] {
            assert!(is_shell_line(line), "{line}");
        }
        for line in [
            "-A KUBE-NODEPORTS -p tcp -j X",
            "# Generated by iptables-save v1.8.7",
            ":KUBE-SVC-X - [0:0]",
            "COMMIT",
        ] {
            assert!(!is_shell_line(line), "{line}");
        }
    }

    #[test]
    fn other_rule_listings_are_named() {
        assert_eq!(
            foreign_text("Chain INPUT (policy ACCEPT 0 packets, 0 bytes)"),
            Some(ForeignText::IptablesList)
        );
        assert_eq!(
            foreign_text("Chain KUBE-SERVICES (2 references)"),
            Some(ForeignText::IptablesList)
        );
        assert_eq!(
            foreign_text(
                " pkts bytes target     prot opt in     out     source               destination"
                    .trim_start()
            ),
            Some(ForeignText::IptablesList)
        );
        assert_eq!(
            foreign_text("table ip kube-proxy {"),
            Some(ForeignText::NftRuleset)
        );
        assert_eq!(foreign_text("-A X -j ACCEPT"), None);
    }

    #[test]
    fn continuations_of_a_cut_rule_are_recognised() {
        for line in [
            "S",
            "NAT --to-source 192.0.2.1",
            "--dport 80 -j DROP",
            "10.0.0.1:80",
        ] {
            assert!(looks_like_a_continuation(line), "{line}");
        }
        assert!(!looks_like_a_continuation("hello world"));
    }
}
