//! Reading iptables-save text into a [`Dump`], collecting every error and going on.
//!
//! Two levels, as the grammar (grammar/iptables-save.md) describes: the input is split
//! into lines (this cannot fail), then each line is parsed on its own by the first
//! character: `#` comment, `*` table, `:` chain, `-A`/`[` rule, `COMMIT`. A bad line gives a
//! [`ParseError`] and parsing continues with the next line, so every error is reported at
//! once and a partial or `grep`-ed dump still yields what it has.

pub mod error;
pub mod line;
pub mod print;
pub mod reader;
pub mod rule;
pub mod scan;
pub mod tolerate;

pub use error::{ParseError, ParseErrorKind};
pub use reader::{Parsed, RuleReader};

use crate::model::{
    ChainId, Counters, Dump, Family, Generator, Match, Policy, Rule, RuleBody, Ruleset, RulesetId,
    Table, TableId, TargetKind, Tolerance, ToleranceKind,
};
use crate::source::{Source, Span};

use line::CommentLine;
use scan::words::{self, is_blank};

/// The tables iptables has.
pub const TABLE_NAMES: &[&str] = &["raw", "mangle", "nat", "filter", "security"];

/// Errors kept in full by default: every error is counted ([`Parsed::error_count`]), the
/// first this many are kept ([`Parsed::errors`]), so that text which is not iptables-save
/// at all (an error on each of ten million lines) costs no more memory than the text.
pub const KEPT_ERRORS: usize = 1000;

/// Longest line read (1 MiB; iptables-save's longest lines are a few kB): a longer line is
/// an error for that line ([`ParseErrorKind::LineTooLong`]), pointing at its start, and is
/// not read further.
pub const MAX_LINE: usize = 1 << 20;

/// Parses a whole input, checking every rule's arguments.
pub fn parse_dump(source: &Source) -> Parsed<'_> {
    parse_text(source.text())
}

/// [`parse_dump`], keeping the first `keep` errors in full instead of [`KEPT_ERRORS`].
pub fn parse_dump_keeping(source: &Source, keep: usize) -> Parsed<'_> {
    parse_lines(source.text(), Depth::Full, keep)
}

/// Parses text (the same as [`parse_dump`], without a [`Source`]).
pub fn parse_text(text: &str) -> Parsed<'_> {
    parse_lines(text, Depth::Full, KEPT_ERRORS)
}

/// Reads only the dump's structure: lines, directives, tables, chains, each rule's chain,
/// position and jump target. A rule's arguments are typed later, by [`RuleReader::body`],
/// and only for the rules an analysis reads, so a bad rule elsewhere goes unreported
/// ([`Dump::rules_checked`] is false) and a bad rule that is read reports its error then
/// (see [`Parsed::errors`]). Everything else (directives, counters, chain declarations,
/// fragments and headerless dumps, whose rules are still typed to guess their table and
/// family) is as [`parse_dump`] reads it. For `explain`, which visits a few chains of a
/// million-rule dump.
pub fn parse_structure(source: &Source) -> Parsed<'_> {
    parse_structure_text(source.text())
}

/// [`parse_structure`] without a [`Source`].
pub fn parse_structure_text(text: &str) -> Parsed<'_> {
    parse_lines(text, Depth::Structure, KEPT_ERRORS)
}

/// How much of each rule the parser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// Type and check every rule.
    Full,
    /// Find each rule's jump target from its text when that is cheap and certain.
    Structure,
}

fn parse_lines(text: &str, depth: Depth, keep: usize) -> Parsed<'_> {
    let mut builder = Builder::new(text, depth, keep);
    let mut start = 0;
    let mut line_no: u32 = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len())) {
        if start > text.len() {
            break;
        }
        line_no += 1;
        let raw = &text[start..end];
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        // The last "line" after a final newline is empty, not a line.
        if line.len() > MAX_LINE {
            builder.too_long(line, start, line_no);
        } else if end == text.len() && start < end && builder.cuts_last_line(line) {
            builder.tolerate(line_no, ToleranceKind::CutLine);
        } else if !(end == text.len() && start == end) {
            builder.line(line, start, line_no);
        } else {
            line_no -= 1;
        }
        start = end + 1;
    }
    builder.finish(line_no)
}

/// Parses one rule's arguments (`args` is the span after `-A CHAIN` in `text`).
pub fn rule_body(text: &str, args: Span, line: u32) -> Result<RuleBody<'_>, ParseError> {
    let mut body = RuleBody::default();
    let args_text = &text[args.range()];
    let fail = |kind, start: usize, end: usize| ParseError {
        kind,
        line,
        span: Span::new(start, end),
        line_span: args,
    };
    words::split_words(args_text, args.start as usize, &mut body.words)
        .map_err(|e| fail(ParseErrorKind::UnterminatedQuote, e.at, e.at + 1))?;
    rule::rule_args(&mut body).map_err(|e| fail(e.kind, e.start, e.end))?;
    Ok(body)
}

/// State while building the dump line by line.
struct Builder<'a> {
    dump: Dump<'a>,
    /// The first `keep` errors.
    errors: Vec<ParseError>,
    /// Every error.
    error_count: usize,
    keep: usize,
    /// The ruleset lines currently belong to.
    ruleset: Option<RulesetId>,
    /// The table between `*name` and `COMMIT`.
    open_table: Option<TableId>,
    /// True once a table of the current ruleset was closed by COMMIT.
    closed_a_table: bool,
    /// The chain of the previous rule: rules come grouped by chain, so this saves a lookup.
    last_chain: Option<(TableId, &'a str, ChainId)>,
    /// Scratch space for one rule's words and body, reused from line to line.
    body: RuleBody<'a>,
    depth: Depth,
    /// The line number of the previous line if it was a rule (a wrapped rule's rest may
    /// follow).
    previous_rule: Option<u32>,
    /// Set once the input shows itself to be another listing than iptables-save: the
    /// rest is not read.
    foreign: bool,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, depth: Depth, keep: usize) -> Self {
        let mut dump = Dump::new(text);
        dump.reserve_for(text.len());
        dump.rules_checked = depth == Depth::Full;
        Builder {
            depth,
            dump,
            errors: Vec::new(),
            error_count: 0,
            keep,
            ruleset: None,
            open_table: None,
            closed_a_table: false,
            last_chain: None,
            body: RuleBody::default(),
            previous_rule: None,
            foreign: false,
        }
    }

    fn tolerate(&mut self, line: u32, kind: ToleranceKind) {
        self.dump.tolerated.push(Tolerance { line, kind });
    }

    fn error(
        &mut self,
        kind: ParseErrorKind,
        line: u32,
        line_span: Span,
        start: usize,
        end: usize,
    ) {
        self.error_count += 1;
        if self.errors.len() < self.keep {
            self.errors.push(ParseError {
                kind,
                line,
                span: Span::new(start, end),
                line_span,
            });
        }
    }

    /// A line longer than [`MAX_LINE`]: an error pointing at its first bytes.
    fn too_long(&mut self, line: &str, start: usize, line_no: u32) {
        let mut shown = 80.min(line.len());
        while !line.is_char_boundary(shown) {
            shown -= 1;
        }
        let excerpt = Span::new(start, start + shown);
        let kind = ParseErrorKind::LineTooLong { length: line.len() };
        self.error(kind, line_no, excerpt, start, start + shown);
    }

    /// True for the input's last line when it has no line end, inside a table that has no
    /// COMMIT, and is a rule or chain declaration: the input was cut in the middle of it
    /// (iptables-save ends every line, and its output ends with COMMIT and a comment), so
    /// what it says is not to be trusted (`--dport 30` may be `--dport 3003` cut short).
    fn cuts_last_line(&self, line: &str) -> bool {
        let in_table = self
            .open_table
            .is_some_and(|t| self.dump.table(t).line.is_some());
        in_table && words::skip_blanks(line).starts_with(['-', '[', ':'])
    }

    fn line(&mut self, line: &'a str, start: usize, line_no: u32) {
        if self.foreign {
            return;
        }
        let previous_rule = self.previous_rule.take();
        // Trailing blanks, carriage returns included (`-A X\r  `), are not part of the
        // line: kept, a `\r` would end up in the last word, where no printer could put it
        // back. A byte loop: a char-pattern trim costs more, on every line of the input.
        let end = line
            .bytes()
            .rposition(|b| !is_blank(b))
            .map_or(0, |i| i + 1);
        let trimmed = &line[..end];
        let mut content = words::skip_blanks(trimmed);
        if content.is_empty() {
            return;
        }
        if !content.starts_with(['#', '*', ':', '-', '['])
            && let Some(prefix) = tolerate::log_prefix_len(content)
        {
            self.tolerate(line_no, ToleranceKind::LogPrefix);
            content = &content[prefix..];
        }
        let offset = start + (trimmed.len() - content.len());
        let line_span = Span::new(offset, offset + content.len());
        let at = LineAt {
            text: content,
            offset,
            number: line_no,
            span: line_span,
        };
        match content.as_bytes()[0] {
            b'#' => self.comment(&at),
            b'*' => self.table(&at),
            b':' => self.chain_decl(&at),
            b'-' if content == "--" => self.tolerate(line_no, ToleranceKind::GrepSeparator),
            b'-' | b'[' => {
                if self.rule(&at) {
                    self.previous_rule = Some(line_no);
                } else if tolerate::is_shell_line(content) {
                    self.drop_last_error();
                    self.tolerate(line_no, ToleranceKind::ShellLine);
                } else if tolerate::is_log_line(content) {
                    self.drop_last_error();
                    self.tolerate(line_no, ToleranceKind::LogLine);
                } else if let Some(previous) = previous_rule
                    && tolerate::looks_like_a_continuation(content)
                {
                    self.drop_last_error();
                    let word_end = words::first_blank(content);
                    self.error(
                        ParseErrorKind::LooksWrapped { previous },
                        line_no,
                        line_span,
                        offset,
                        offset + word_end,
                    );
                }
            }
            _ if content == "COMMIT" => self.commit(&at),
            _ => self.unknown_line(&at, previous_rule),
        }
    }

    /// A line that is no directive: a shell line (skipped), the sign that the whole input
    /// is another listing (one error, the rest unread), the rest of a wrapped rule, or an
    /// unknown line.
    fn unknown_line(&mut self, at: &LineAt<'a>, previous_rule: Option<u32>) {
        if tolerate::is_shell_line(at.text) {
            self.tolerate(at.number, ToleranceKind::ShellLine);
            return;
        }
        if tolerate::is_log_line(at.text) {
            self.tolerate(at.number, ToleranceKind::LogLine);
            return;
        }
        let word_end = words::first_blank(at.text);
        let kind = if let Some(what) = tolerate::foreign_text(at.text) {
            self.foreign = true;
            ParseErrorKind::ForeignText(what)
        } else if let Some(previous) = previous_rule
            && tolerate::looks_like_a_continuation(at.text)
        {
            ParseErrorKind::LooksWrapped { previous }
        } else {
            ParseErrorKind::UnknownDirective
        };
        self.error(kind, at.number, at.span, at.offset, at.offset + word_end);
    }

    /// Takes back the error just recorded (a line first read as a rule that turns out to
    /// be a shell's error line).
    fn drop_last_error(&mut self) {
        self.error_count -= 1;
        if self.errors.len() > self.error_count {
            self.errors.pop();
        }
    }

    /// The current ruleset, starting one if needed.
    fn ruleset(&mut self, first_line: u32) -> RulesetId {
        if let Some(id) = self.ruleset {
            return id;
        }
        self.new_ruleset(first_line)
    }

    fn new_ruleset(&mut self, first_line: u32) -> RulesetId {
        let id = RulesetId(self.dump.rulesets.len() as u32);
        self.dump.rulesets.push(Ruleset {
            first_line,
            ..Ruleset::default()
        });
        self.ruleset = Some(id);
        self.closed_a_table = false;
        self.last_chain = None;
        id
    }

    fn ruleset_mut(&mut self, id: RulesetId) -> &mut Ruleset<'a> {
        &mut self.dump.rulesets[id.0 as usize]
    }

    fn comment(&mut self, at: &LineAt<'a>) {
        let kind = line::comment_line(at.text);
        if let CommentLine::Generated(header) = kind {
            self.close_unterminated(at);
            // iptables-save prints a header before every table, so a header only starts a
            // new ruleset when a different program/version/backend wrote it (a repeated
            // table name also starts one, see `table`).
            let needs_new = self.ruleset.is_some_and(|id| {
                let rs = &self.dump.rulesets[id.0 as usize];
                match rs.generator {
                    Some(g) => {
                        (g.program, g.version, g.backend)
                            != (header.program, header.version, header.backend)
                    }
                    None => !rs.tables.is_empty(),
                }
            });
            let id = if needs_new {
                self.new_ruleset(at.number)
            } else {
                self.ruleset(at.number)
            };
            let ruleset = self.ruleset_mut(id);
            if ruleset.generator.is_some() {
                return;
            }
            ruleset.family = if header.program.starts_with("ip6") {
                Family::Ipv6
            } else {
                Family::Ipv4
            };
            ruleset.generator = Some(Generator {
                program: header.program,
                version: header.version,
                backend: header.backend,
                line: at.number,
            });
        } else if kind == CommentLine::Completed {
            // Like the warning, the footer starts a ruleset if none has started. It was
            // dropped then, so `# Warning ...` then `# Completed` read as a complete
            // ruleset and its printed form (footer first) as one that was not.
            let id = self.ruleset(at.number);
            self.ruleset_mut(id).completed = true;
        } else if kind == CommentLine::LegacyTablesWarning {
            let id = self.ruleset(at.number);
            self.ruleset_mut(id).legacy_tables_warning = Some(at.number);
        } else {
            self.dump.comments.push((at.number, at.text));
        }
    }

    fn table(&mut self, at: &LineAt<'a>) {
        let name = line::table_header(at.text).unwrap_or("");
        self.close_unterminated(at);
        if !TABLE_NAMES.contains(&name) {
            self.error(
                ParseErrorKind::UnknownTable(name.to_string()),
                at.number,
                at.span,
                at.offset + 1,
                at.offset + 1 + name.len(),
            );
            return;
        }
        // A table name seen again means a second ruleset (IPv6 after IPv4, say).
        let mut id = self.ruleset(at.number);
        if self.dump.table_id(id, name).is_some() {
            id = self.new_ruleset(at.number);
        }
        let table = self.dump.push_table(Table {
            name,
            ruleset: id,
            line: Some(at.number),
            commit_line: None,
            chains: Vec::new(),
            last_rule: None,
        });
        self.open_table = Some(table);
    }

    /// Closes a table left open (no COMMIT) when a new table or ruleset starts. Not an
    /// error: every line of a cut dump is fine; the table keeps `commit_line: None`, which
    /// `inspect` and `explain` report as a cut input.
    /// Lines after it with no `*table` are outside any table, as after a COMMIT.
    fn close_unterminated(&mut self, _at: &LineAt<'a>) {
        if self.open_table.take().is_some() {
            self.closed_a_table = true;
        }
    }

    fn chain_decl(&mut self, at: &LineAt<'a>) {
        let Some(decl) = line::chain_decl(at.text) else {
            self.error(
                ParseErrorKind::MissingChainName,
                at.number,
                at.span,
                at.offset,
                at.offset + 1,
            );
            return;
        };
        let table = match self.open_table {
            Some(table) => table,
            // `iptables-save | grep CHAIN` keeps the chain's declaration: a fragment's.
            None if !self.closed_a_table => {
                self.tolerate(at.number, ToleranceKind::FragmentDeclaration);
                let name = guess_fragment_table(decl.name, &RuleBody::default());
                self.fragment_table(at.number, name)
            }
            None => {
                self.error(
                    ParseErrorKind::RuleOutsideTable,
                    at.number,
                    at.span,
                    at.offset,
                    at.offset + at.text.len(),
                );
                return;
            }
        };
        let policy = match decl.policy {
            "ACCEPT" => Some(Policy::Accept),
            "DROP" => Some(Policy::Drop),
            "-" => None,
            other => {
                let start = at.offset + decl.policy_at;
                self.error(
                    ParseErrorKind::BadPolicy(other.to_string()),
                    at.number,
                    at.span,
                    start,
                    start + other.len(),
                );
                None
            }
        };
        let counters = match decl.counters {
            Some(Ok(c)) => Some(c),
            Some(Err(offset)) => {
                self.error(
                    ParseErrorKind::BadCounters,
                    at.number,
                    at.span,
                    at.offset + offset,
                    at.offset + at.text.len(),
                );
                None
            }
            None => None,
        };
        let id = self.dump.chain_or_insert(table, decl.name);
        self.dump.declare_chain(id, at.number, policy, counters);
    }

    fn commit(&mut self, at: &LineAt<'a>) {
        let in_fragment = self.ruleset.is_some_and(|id| {
            self.dump.rulesets[id.0 as usize]
                .tables
                .iter()
                .all(|&t| self.dump.table(t).line.is_none())
        });
        match self.open_table.take() {
            Some(id) => {
                self.dump.tables[id.0 as usize].commit_line = Some(at.number);
                self.closed_a_table = true;
            }
            // grep context (`-A`) after a fragment's last rule.
            None if in_fragment => self.tolerate(at.number, ToleranceKind::FragmentCommit),
            None => self.error(
                ParseErrorKind::CommitOutsideTable,
                at.number,
                at.span,
                at.offset,
                at.offset + at.text.len(),
            ),
        }
    }

    /// Reads a rule line; false when it is not one (no `-A CHAIN` head).
    fn rule(&mut self, at: &LineAt<'a>) -> bool {
        let previous = self.last_chain.map_or("", |(_, name, _)| name);
        let head = match line::rule_head(at.text, previous) {
            Ok(Some(head)) => head,
            Ok(None) => {
                let word_end = words::first_blank(at.text);
                self.error(
                    ParseErrorKind::UnknownDirective,
                    at.number,
                    at.span,
                    at.offset,
                    at.offset + word_end,
                );
                return false;
            }
            Err(offset) => {
                let end = at.text.find(']').map_or(at.text.len(), |i| i + 1);
                self.error(
                    ParseErrorKind::BadCounters,
                    at.number,
                    at.span,
                    at.offset + offset,
                    at.offset + end,
                );
                return false;
            }
        };
        let Some(chain_name) = head.chain else {
            let start = at.offset + head.chain_at;
            self.error(
                ParseErrorKind::MissingRuleChain,
                at.number,
                at.span,
                start,
                start,
            );
            return false;
        };
        let args_text = &at.text[head.args_at..];
        let args_start = at.offset + head.args_at;
        if self.depth == Depth::Structure && self.rule_structure(at, chain_name, &head) {
            return true;
        }
        if let Err(e) = words::split_words(args_text, args_start, &mut self.body.words) {
            self.error(
                ParseErrorKind::UnterminatedQuote,
                at.number,
                at.span,
                e.at,
                e.at + 1,
            );
            return true;
        }
        // Typed in place in the reused `self.body`: moved out and back, the body was
        // copied twice a rule.
        if let Err(e) = rule::rule_args(&mut self.body) {
            self.error(e.kind, at.number, at.span, e.start, e.end);
            return true;
        }
        let Some(table) = self.table_for_rule(at, chain_name) else {
            return true;
        };
        let chain = self.chain_id(table, chain_name, head.names_previous);
        // Without a generator header, an IPv6 address is what tells the family.
        let ruleset = self.dump.table(table).ruleset;
        if self.dump.rulesets[ruleset.0 as usize].generator.is_none()
            && self.body.matches.iter().any(is_ipv6_address_test)
        {
            self.ruleset_mut(ruleset).family = Family::Ipv6;
        }
        self.store_rule(at, chain, args_start, head.counters);
        true
    }

    fn store_rule(
        &mut self,
        at: &LineAt<'a>,
        chain: ChainId,
        args_start: usize,
        counters: Option<Counters>,
    ) {
        let position = self.dump.chain(chain).rules.len() as u32 + 1;
        let rule = Rule {
            chain,
            position,
            line: at.number,
            span: at.span,
            args_start: args_start as u32,
        };
        self.dump.push_rule(rule, counters);
    }

    /// The structure pass's rule: stored without typing it. False when the rule's body is
    /// needed to guess its table (a fragment) or its family (no generator header): then
    /// the caller types the rule as [`parse_dump`] does.
    fn rule_structure(
        &mut self,
        at: &LineAt<'a>,
        chain_name: &'a str,
        head: &line::RuleHead<'a>,
    ) -> bool {
        let Some(table) = self.open_table else {
            return false;
        };
        let has_generator = self
            .ruleset
            .is_some_and(|id| self.dump.rulesets[id.0 as usize].generator.is_some());
        if !has_generator {
            return false;
        }
        let chain = self.chain_id(table, chain_name, head.names_previous);
        self.store_rule(at, chain, at.offset + head.args_at, head.counters);
        true
    }

    /// The chain id, using the previous rule's chain when it is the same. `names_last`:
    /// the rule head already found that `name` is the previous rule's chain name.
    fn chain_id(&mut self, table: TableId, name: &'a str, names_last: bool) -> ChainId {
        let id = match self.last_chain {
            Some((t, n, id)) if t == table && (names_last || n == name) => return id,
            // iptables-save prints rules chain by chain in declaration order, so a new
            // chain's rules are usually those of one of the next chains declared.
            Some((_, _, last)) => self.declared_after(last, table, name),
            None => None,
        };
        let id = id.unwrap_or_else(|| self.dump.chain_or_insert(table, name));
        self.last_chain = Some((table, name, id));
        id
    }

    /// The chain `name` of `table` if it is one of the few stored right after `last`.
    fn declared_after(&self, last: ChainId, table: TableId, name: &str) -> Option<ChainId> {
        let start = last.0 as usize + 1;
        let end = (start + 4).min(self.dump.chains.len());
        (start..end)
            .find(|&i| {
                let chain = &self.dump.chains[i];
                chain.table == table && chain.name == name
            })
            .map(|i| ChainId(i as u32))
    }

    /// The open table, or for a fragment (rules with no `*table`) the table the chain most
    /// likely belongs to (guessed from the rule just typed into `self.body`), created on
    /// first use and marked as assumed (`line: None`).
    fn table_for_rule(&mut self, at: &LineAt<'a>, chain: &str) -> Option<TableId> {
        if let Some(table) = self.open_table {
            return Some(table);
        }
        if self.closed_a_table {
            self.error(
                ParseErrorKind::RuleOutsideTable,
                at.number,
                at.span,
                at.offset,
                at.offset + at.text.len(),
            );
            return None;
        }
        let name = guess_fragment_table(chain, &self.body);
        Some(self.fragment_table(at.number, name))
    }

    /// The fragment's table called `name`, created (assumed: `line: None`) on first use.
    fn fragment_table(&mut self, first_line: u32, name: &'static str) -> TableId {
        let ruleset = self.ruleset(first_line);
        if let Some(existing) = self.dump.table_id(ruleset, name) {
            return existing;
        }
        self.dump.push_table(Table {
            name,
            ruleset,
            line: None,
            commit_line: None,
            chains: Vec::new(),
            last_rule: None,
        })
    }

    fn finish(mut self, line_count: u32) -> Parsed<'a> {
        // A table still open has no COMMIT: the input was cut (see `close_unterminated`).
        self.open_table = None;
        self.dump.line_count = line_count;
        Parsed::new(self.dump, self.errors, self.error_count)
    }
}

/// One non-blank line, trimmed, with where it is.
struct LineAt<'a> {
    text: &'a str,
    offset: usize,
    number: u32,
    span: Span,
}

/// True for an `-s`/`-d` test of an IPv6 address.
fn is_ipv6_address_test(m: &Match<'_>) -> bool {
    match m {
        Match::Source(test) | Match::Destination(test) => test.value.is_ipv6(),
        _ => false,
    }
}

/// Which table a rule from a `grep` fragment (no `*table` line) most likely came from,
/// from what netfilter itself says: the built-in chains that only exist in one of `nat` and
/// `filter`, and the filtering verdicts, which belong in `filter`. Everything else (jumps,
/// marks, NAT targets) is taken as `nat`, where a packet's path through user chains starts.
pub fn guess_fragment_table(chain: &str, body: &RuleBody<'_>) -> &'static str {
    match chain {
        "INPUT" | "FORWARD" => return "filter",
        "PREROUTING" | "POSTROUTING" => return "nat",
        _ => {}
    }
    match body.target.as_ref().map(|t| &t.kind) {
        Some(TargetKind::Reject { .. } | TargetKind::Accept | TargetKind::Drop) => "filter",
        _ => "nat",
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod structure_tests;

#[cfg(test)]
mod limits_tests;
