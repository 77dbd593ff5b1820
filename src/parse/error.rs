//! Parse errors: which line, which bytes, what was found and what was expected.
//!
//! Spans are absolute byte offsets into the source text; the column is computed only when
//! an error is rendered (see [`crate::report::diagnostic`]).

use crate::parse::tolerate::ForeignText;
use crate::source::Span;

/// A problem with one line of input. Parsing goes on after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// 1-based line number.
    pub line: u32,
    /// The offending bytes (may be empty, at the point where something was missing).
    pub span: Span,
    /// The whole line, for display.
    pub line_span: Span,
}

/// The kinds of parse error, each with the message shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// A `"` that is never closed.
    #[error("unterminated quote: expected a closing `\"` before the end of the line")]
    UnterminatedQuote,
    /// A line that is none of the forms iptables-save writes.
    #[error(
        "unknown line: expected `*table`, `:CHAIN POLICY [packets:bytes]`, `-A CHAIN ...`, `COMMIT`, a `#` comment or a blank line"
    )]
    UnknownDirective,
    /// `*` with no name, or a name that is not a table.
    #[error("unknown table `{0}`: expected one of raw, mangle, nat, filter, security after `*`")]
    UnknownTable(String),
    /// `:` with no chain name.
    #[error("chain declaration without a name: expected `:NAME POLICY [packets:bytes]`")]
    MissingChainName,
    /// A policy other than ACCEPT, DROP or `-`.
    #[error(
        "bad chain policy `{0}`: expected ACCEPT or DROP (built-in chains) or `-` (user chains)"
    )]
    BadPolicy(String),
    /// `[p:b]` that is not two numbers.
    #[error("bad counters: expected `[packets:bytes]` with two decimal numbers")]
    BadCounters,
    /// `-A` with nothing after it.
    #[error("`-A` without a chain name: expected `-A CHAIN [rule arguments]`")]
    MissingRuleChain,
    /// An option that needs a value is last on the line.
    #[error("option `{0}` is missing its value")]
    MissingValue(String),
    /// A short option iptables does not have.
    #[error(
        "unknown option `{0}`: expected -s, -d, -p, -i, -o, -f, -m MODULE, -j TARGET or -g CHAIN (each optionally after `!`)"
    )]
    UnknownOption(String),
    /// A word where an option was expected.
    #[error("unexpected `{0}`: expected an option starting with `-`")]
    StrayWord(String),
    /// A `--long` option with no `-m` group (and no protocol to imply one).
    #[error("option `{0}` outside a `-m MODULE` group: expected `-m MODULE` before it")]
    OptionOutsideModule(String),
    /// `!` not followed by something it can negate.
    #[error("`!` must be followed by an option to negate")]
    DanglingNegation,
    /// An address iptables-save would not print.
    #[error("bad address `{0}`: expected ADDR, ADDR/PREFIX or ADDR/MASK (IPv4 or IPv6)")]
    BadAddress(String),
    /// A protocol that is neither a known name nor a number.
    #[error(
        "bad protocol `{0}`: expected a name such as tcp, udp, sctp, icmp, all, or a number 0-255"
    )]
    BadProtocol(String),
    /// A port or port range that does not parse.
    #[error("bad port `{0}`: expected PORT or FIRST:LAST with numbers 0-65535")]
    BadPort(String),
    /// A number (mark, probability, ...) that does not parse.
    #[error("bad value `{value}` for {what}")]
    BadValue {
        /// What kind of value was expected.
        what: &'static str,
        /// The text found.
        value: String,
    },
    /// An option that is required by a module or target is absent.
    #[error("{0}")]
    Incomplete(&'static str),
    /// `-j CHAIN` followed by options: chains take none.
    #[error(
        "jump to chain `{0}` cannot take options: expected a target such as DNAT, MARK, REJECT, or nothing after the chain name"
    )]
    OptionsOnChainJump(String),
    /// A rule line with no table around it, after a table was closed.
    #[error(
        "rule outside a table: expected `*table` before rules (the previous table was closed by COMMIT)"
    )]
    RuleOutsideTable,
    /// `COMMIT` with no open table.
    #[error("COMMIT without an open table: expected `*table` first")]
    CommitOutsideTable,
    /// The input is another listing of rules, not iptables-save text.
    #[error("{}", foreign_text_message(*.0))]
    ForeignText(ForeignText),
    /// A line that is no directive and looks like the rest of the rule on the line before.
    #[error(
        "this line does not start like an iptables-save line; it looks like the rest of line {previous}, cut in two (by a forum, a mail client or a terminal): join the two lines"
    )]
    LooksWrapped {
        /// The line it seems to continue.
        previous: u32,
    },
    /// A line that has something iptables-save never writes after a complete directive.
    #[error("unexpected text after `{0}`")]
    TrailingText(&'static str),
    /// A line longer than [`crate::parse::MAX_LINE`]: not read.
    #[error(
        "line of {length} bytes is longer than the 1 MiB limit: it was not read (iptables-save lines are a few kB at most)"
    )]
    LineTooLong {
        /// Its length in bytes.
        length: usize,
    },
}

/// What to say about input that is not iptables-save text.
impl ParseErrorKind {
    /// True for an error that says the input as a whole cannot be analysed as it is:
    /// another program's listing, or rules cut in two (whose first halves read as rules
    /// that jump to chains named by a fragment of a name).
    pub fn refuses_analysis(&self) -> bool {
        matches!(
            self,
            ParseErrorKind::ForeignText(_) | ParseErrorKind::LooksWrapped { .. }
        )
    }
}

fn foreign_text_message(what: ForeignText) -> &'static str {
    match what {
        ForeignText::IptablesList => {
            "this is `iptables -L` output, not `iptables-save`: its table layout drops what the analysis needs (marks, comments, jump order across tables); run `iptables-save` (as root) and give its output instead"
        }
        ForeignText::NftRuleset => {
            "this is `nft list ruleset` output (nftables syntax), which srcip-rules does not read yet: on a node whose kube-proxy runs in iptables mode, run `iptables-save`; kube-proxy's nftables mode (table `ip kube-proxy`) cannot be analysed yet"
        }
    }
}
