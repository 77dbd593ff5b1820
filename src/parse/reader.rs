//! Reading a parsed dump's rules on demand: the one interface analyses use to get a rule's
//! typed body, its jump target, or the rules jumping to a chain.
//!
//! The model keeps only each rule's position and spans; typing a rule means parsing its
//! text again, which only the rules an analysis visits pay for. A rule that fails to parse
//! here (possible when only the dump's structure was read, see
//! [`crate::parse::parse_structure`]) is reported once, and [`Parsed::errors`] returns it
//! with the errors found while parsing: eager or late, every error reaches the caller the
//! same way.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use rustc_hash::FxHashSet;

use crate::model::target::is_builtin_target;
use crate::model::{ChainId, Dump, PacketTests, RuleBody, RuleId, TargetKind};
use crate::parse::scan::jump::{Quick, quick_target};
use crate::parse::scan::leading::leading_tests_until;
use crate::parse::{ParseError, rule_body};

/// The result of parsing: the model of everything that parsed, every error, and what the
/// reader ([`Parsed::rules`]) learns later.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// What was understood.
    pub dump: Dump<'a>,
    /// Problems found while parsing, in input order: the first ones (see
    /// [`crate::parse::KEPT_ERRORS`]).
    errors: Vec<ParseError>,
    /// How many problems were found while parsing, kept or not.
    error_count: usize,
    /// Problems found later, typing rules the structure pass had not checked.
    late_errors: Mutex<LateErrors>,
    /// The rules jumping to each chain, indexed on first use.
    referrers: OnceLock<Referrers>,
}

/// Errors found by typing rules after parsing: the first `room` in line order kept (by
/// line and offset), every one counted once.
#[derive(Debug, Default)]
struct LateErrors {
    kept: BTreeMap<(u32, u32), ParseError>,
    /// (line, offset) of every one found: a rule typed again reports nothing new.
    seen: FxHashSet<(u32, u32)>,
    /// How many may be kept besides those the parse kept.
    room: usize,
}

/// The rules that jump or go to each chain, in rule order: chain `c`'s are
/// `rules[starts[c]..starts[c + 1]]`.
#[derive(Debug, Default)]
struct Referrers {
    starts: Vec<u32>,
    rules: Vec<RuleId>,
}

impl<'a> Parsed<'a> {
    /// A parse result (parser use): `errors` are the first of `error_count`.
    pub(crate) fn new(dump: Dump<'a>, errors: Vec<ParseError>, error_count: usize) -> Self {
        let room = crate::parse::KEPT_ERRORS.saturating_sub(errors.len());
        Parsed {
            dump,
            errors,
            error_count,
            late_errors: Mutex::new(LateErrors {
                room,
                ..LateErrors::default()
            }),
            referrers: OnceLock::new(),
        }
    }

    /// Reads the dump's rules.
    pub fn rules(&self) -> RuleReader<'_, 'a> {
        RuleReader { parsed: self }
    }

    /// The errors found so far, in line order: those found while parsing, and those found
    /// since by typing rules that the structure pass had not checked. Only the first ones
    /// are kept in full ([`crate::parse::KEPT_ERRORS`]); [`Parsed::error_count`] counts
    /// them all.
    pub fn errors(&self) -> Vec<ParseError> {
        let late = self.late();
        if late.kept.is_empty() {
            return self.errors.clone();
        }
        let mut all = self.errors.clone();
        all.extend(late.kept.values().cloned());
        all.sort_by_key(|e| (e.line, e.span.start));
        all
    }

    /// How many errors were found so far, kept in full or not.
    pub fn error_count(&self) -> usize {
        self.error_count + self.late().seen.len()
    }

    /// True when no error has been found so far.
    pub fn is_clean(&self) -> bool {
        self.error_count() == 0
    }

    fn late(&self) -> std::sync::MutexGuard<'_, LateErrors> {
        self.late_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// An error found typing a rule after parsing. A rule the parser stored after typing it
    /// never fails here, and one it did not type was never checked: only the same rule
    /// typed again can repeat an error.
    /// The errors kept are the first ones in line order, whatever order the rules were
    /// typed in (several threads type rules at once for `ports`).
    fn late_error(&self, error: &ParseError) {
        let mut late = self.late();
        let at = (error.line, error.span.start);
        if !late.seen.insert(at) || late.room == 0 {
            return;
        }
        late.kept.insert(at, error.clone());
        if late.kept.len() > late.room {
            late.kept.pop_last();
        }
    }
}

/// A cheap handle on a [`Parsed`] dump for reading its rules.
#[derive(Debug, Clone, Copy)]
pub struct RuleReader<'p, 'a> {
    parsed: &'p Parsed<'a>,
}

impl<'p, 'a> RuleReader<'p, 'a> {
    /// The dump.
    pub fn dump(&self) -> &'p Dump<'a> {
        &self.parsed.dump
    }

    /// The lines found not to parse so far (the structure pass's, and any typing found
    /// since), sorted, without repeats.
    pub fn unparsed_lines(&self) -> Vec<u32> {
        let mut lines: Vec<u32> = self.parsed.errors().iter().map(|e| e.line).collect();
        lines.sort_unstable();
        lines.dedup();
        lines
    }

    /// The rule's matches and target. A rule the parser had already checked always types;
    /// one it had not may fail here, and its error is kept for [`Parsed::errors`].
    pub fn body(&self, id: RuleId) -> Result<RuleBody<'a>, ParseError> {
        let dump = self.dump();
        let rule = dump.rule(id);
        let body = rule_body(dump.text, rule.args(), rule.line);
        if let Err(error) = &body {
            self.parsed.late_error(error);
        }
        body
    }

    /// The name of the chain the rule jumps (`-j`) or goes (`-g`) to, and true for `-g`;
    /// `None` when its target is built in (ACCEPT, DNAT, ...), it has none, or it does not
    /// parse. Read from the rule's text, cheaply when that is certain
    /// ([`quick_target`]), else by typing the rule.
    pub fn jump_target_name(&self, id: RuleId) -> Option<(&'a str, bool)> {
        let dump = self.dump();
        let args = &dump.text[dump.rule(id).args().range()];
        let (name, goto) = match quick_target(args) {
            Quick::Target(name, goto) => (name, goto),
            Quick::Unsure => {
                let target = self.body(id).ok()?.target?;
                match target.kind {
                    TargetKind::Chain(name) => (name, target.goto),
                    _ => return None,
                }
            }
        };
        (goto || !is_builtin_target(name)).then_some((name, goto))
    }

    /// The chain the rule jumps or goes to, when its target is a chain of its table that
    /// the dump declares or appends rules to. Looked up when asked: the parser does not
    /// resolve a million jumps that an analysis never follows.
    pub fn jump_target(&self, id: RuleId) -> Option<ChainId> {
        let (name, _) = self.jump_target_name(id)?;
        let dump = self.dump();
        dump.chain_id(dump.chain(dump.rule(id).chain).table, name)
    }

    /// The rules in the same table that jump or go to `chain`, in input order. The first
    /// call indexes every chain's, in one pass over the rules.
    pub fn referrers(&self, chain: ChainId) -> &'p [RuleId] {
        let parsed = self.parsed;
        let index = parsed.referrers.get_or_init(|| self.index_referrers());
        let c = chain.0 as usize;
        match (index.starts.get(c), index.starts.get(c + 1)) {
            (Some(&start), Some(&end)) => &index.rules[start as usize..end as usize],
            _ => &[],
        }
    }

    fn index_referrers(&self) -> Referrers {
        let dump = self.dump();
        // Count per target, turn counts into starts, then place each rule.
        let targets: Vec<Option<ChainId>> = (0..dump.rules.len())
            .map(|id| self.jump_target(RuleId(id as u32)))
            .collect();
        let mut starts = vec![0u32; dump.chains.len() + 1];
        for target in targets.iter().flatten() {
            starts[target.0 as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut rules = vec![RuleId(0); starts[dump.chains.len()] as usize];
        for (id, target) in targets.iter().enumerate() {
            if let Some(target) = *target {
                let slot = &mut next[target.0 as usize];
                rules[*slot as usize] = RuleId(id as u32);
                *slot += 1;
            }
        }
        Referrers { starts, rules }
    }

    /// The destination, protocol and port tests among the rule's first words, read without
    /// typing the rule, stopping as soon as `enough` says so (see
    /// [`crate::parse::scan::leading`]).
    pub fn leading_tests_until(
        &self,
        id: RuleId,
        enough: impl Fn(&PacketTests) -> bool,
    ) -> PacketTests {
        let dump = self.dump();
        leading_tests_until(&dump.text[dump.rule(id).args().range()], enough)
    }
}
