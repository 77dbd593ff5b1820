//! The parsed dump: rulesets → tables → chains → rules, borrowed from the input text.
//!
//! Plain data: nothing here parses. Rules are stored compactly (chain, position, line and
//! spans: 24 bytes), because a large node's dump has a million of them; a rule's typed
//! matches and target ([`RuleBody`]) are read from its text on demand by the parsing
//! layer's reader (`crate::parse::RuleReader`), which only the chains an analysis visits
//! pay for, and the few rules with counters keep them in a side table
//! ([`Dump::rule_counters`]). Chains are found by name without a scan.

pub mod addr;
pub mod matcher;
pub mod target;
pub mod word;

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rustc_hash::{FxHashMap, FxHashSet};

pub use addr::{Address, PortRange, Protocol};
pub use matcher::{
    Interface, Match, Module, ModuleKind, ModuleOption, Negatable, OptionRange, PacketTests,
    PortTests, WordRange,
};
pub use target::{MarkOp, NatRange, Target, TargetKind};

use crate::model::word::Word;
use crate::source::Span;

/// Index of a [`Ruleset`] in [`Dump::rulesets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RulesetId(pub u32);
/// Index of a [`Table`] in [`Dump::tables`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId(pub u32);
/// Index of a [`Chain`] in [`Dump::chains`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainId(pub u32);
/// Index of a [`Rule`] in [`Dump::rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub u32);

/// A line the parser accepted although it is not plain iptables-save text (grep or a pasted
/// terminal session put it there): never silent, reported as a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tolerance {
    /// The line.
    pub line: u32,
    /// What it was.
    pub kind: ToleranceKind,
}

/// The kinds of [`Tolerance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ToleranceKind {
    /// `--` between grep's context groups: skipped.
    GrepSeparator,
    /// A `:CHAIN` declaration with no `*table` line before it (grep output): taken into the
    /// fragment's table for that chain.
    FragmentDeclaration,
    /// `COMMIT` with no table open in a fragment (grep context): skipped.
    FragmentCommit,
    /// A journald or syslog prefix before the line: stripped.
    LogPrefix,
    /// A shell prompt with its command, or a shell's error line: skipped.
    ShellLine,
    /// A journal line that is no dump line (journalctl's `-- … --` markers, another unit's
    /// message): skipped.
    LogLine,
    /// The last line of a cut dump, with no line end, stopping inside a rule: left out.
    CutLine,
}

/// A chain declared again in its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redeclaration {
    /// The chain.
    pub chain: ChainId,
    /// The line of its first declaration.
    pub first: u32,
    /// The line declaring it again.
    pub again: u32,
}

/// The whole input: usually one ruleset, sometimes several (IPv4 then IPv6, nft then legacy).
#[derive(Debug, Default)]
pub struct Dump<'a> {
    /// The input text every span points into.
    pub text: &'a str,
    /// One entry per `iptables-save` run found in the input.
    pub rulesets: Vec<Ruleset<'a>>,
    /// All tables, in input order.
    pub tables: Vec<Table<'a>>,
    /// All chains, declared or only referenced.
    pub chains: Vec<Chain<'a>>,
    /// All rules, in input order.
    pub rules: Vec<Rule>,
    /// `#` lines other than the generator header/footer, with their line numbers.
    pub comments: Vec<(u32, &'a str)>,
    /// Chains declared a second time (iptables-restore refuses that), in input order.
    pub redeclared: Vec<Redeclaration>,
    /// Lines accepted although they are not plain iptables-save text, in input order.
    pub tolerated: Vec<Tolerance>,
    /// Number of lines in the input.
    pub line_count: u32,
    /// True when every rule's arguments were typed and checked while parsing; false when
    /// only the structure was read, and rules are typed (and checked) when an analysis
    /// reads them.
    pub rules_checked: bool,
    /// Chains by (table, name). Entries are bare ids, compared through [`Dump::chains`]:
    /// 4 bytes a chain rather than 32 for a (table, name) key, on dumps with 300,000 chains.
    chain_index: HashTable<ChainId>,
    /// Chain counters other than `[0:0]`, indexed from [`Chain`]s.
    chain_counters: Vec<Counters>,
    /// Counters written before `-A` (`iptables-save -c`), by rule, in rule order. Apart
    /// from [`Rule`] because most dumps have none and a million rules would each pay 24
    /// bytes for an empty `Option`.
    rule_counters: Vec<(RuleId, Counters)>,
    /// Which tables each ruleset's node meets ([`Dump::node_tables`]), gathered on first
    /// use (after parsing) in one pass over the rulesets.
    node_groups: OnceLock<NodeGroups>,
}

/// Rulesets grouped by family and program, each group with the first table of each name in
/// ruleset order.
#[derive(Debug, Default)]
struct NodeGroups {
    /// Each ruleset's group.
    group_of: Vec<u32>,
    /// Each group's first table of each name, in order of first appearance.
    firsts: Vec<Vec<TableId>>,
}

/// The index hash of chain `name` in `table`.
fn chain_hash(table: TableId, name: &str) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    table.hash(&mut hasher);
    name.hash(&mut hasher);
    hasher.finish()
}

/// The index hash of a stored chain (for growing the index).
fn stored_chain_hash(chains: &[Chain<'_>], id: ChainId) -> u64 {
    let chain = &chains[id.0 as usize];
    chain_hash(chain.table, chain.name)
}

/// True if the stored chain `id` is `name` in `table`.
fn is_chain(chains: &[Chain<'_>], id: ChainId, table: TableId, name: &str) -> bool {
    let chain = &chains[id.0 as usize];
    chain.table == table && chain.name == name
}

/// One `iptables-save` (or `ip6tables-save`) run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ruleset<'a> {
    /// From `# Generated by PROGRAM vVERSION (BACKEND) on DATE`, if present.
    pub generator: Option<Generator<'a>>,
    /// IPv4 or IPv6, from the program name or, failing that, the addresses seen.
    pub family: Family,
    /// Tables in input order.
    pub tables: Vec<TableId>,
    /// `# Warning: iptables-legacy tables present, use iptables-legacy-save to see them`
    pub legacy_tables_warning: Option<u32>,
    /// True if `# Completed on` was seen after the last `COMMIT`.
    pub completed: bool,
    /// Line of the first line that belongs to this ruleset.
    pub first_line: u32,
}

/// What `# Generated by ...` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generator<'a> {
    /// `iptables-save`, `ip6tables-save`, `iptables-nft-save`, ...
    pub program: &'a str,
    /// `1.8.7`
    pub version: &'a str,
    /// `nf_tables` or `legacy`, when the header says it (iptables ≥ 1.8).
    pub backend: Option<Backend>,
    /// The line it is on.
    pub line: u32,
}

/// The kernel interface the rules were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// iptables-nft (`(nf_tables)` in the header).
    NfTables,
    /// iptables-legacy (`(legacy)`).
    Legacy,
}

impl Backend {
    /// The word the header uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::NfTables => "nf_tables",
            Backend::Legacy => "legacy",
        }
    }
}

/// Address family of a ruleset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// iptables
    #[default]
    Ipv4,
    /// ip6tables
    Ipv6,
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}

/// A `*name` section, up to its `COMMIT`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table<'a> {
    /// `nat`, `filter`, ...
    pub name: &'a str,
    /// The ruleset it belongs to.
    pub ruleset: RulesetId,
    /// Line of `*name`; `None` when assumed for a fragment without headers.
    pub line: Option<u32>,
    /// Line of its `COMMIT`; `None` if the dump stops before it (truncated or a fragment).
    pub commit_line: Option<u32>,
    /// Chains in declaration (then first-use) order.
    pub chains: Vec<ChainId>,
    /// Its last rule in the input (rules are added in input order): for a table cut before
    /// its COMMIT, the rule the cut came after.
    pub last_rule: Option<RuleId>,
}

/// Packet and byte counters, `[packets:bytes]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Counters {
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

/// A built-in chain's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `ACCEPT`
    Accept,
    /// `DROP`
    Drop,
}

/// A chain: declared with `:NAME POLICY [p:b]`, or only seen in `-A`/`-j`.
///
/// 56 bytes: a large dump has 300,000 chains. The declaration's line and counters are
/// read through [`Chain::declared_line`] and [`Dump::chain_counters`].
#[derive(Debug, Clone, PartialEq)]
pub struct Chain<'a> {
    /// Its name.
    pub name: &'a str,
    /// Rules, in order. Inline up to four: most of a large dump's chains are a service's
    /// endpoint or service chains with a few rules, and 300,000 small heap lists cost more
    /// than parsing the lines that fill them.
    pub rules: ChainRules,
    /// The table it is in.
    pub table: TableId,
    /// Built-in chains have one; user chains show `-`.
    pub policy: Option<Policy>,
    /// Line of `:NAME ...`, 0 if never declared (lines count from 1).
    declared: u32,
    /// The declaration's counters (see [`ChainCounters`]).
    counters: ChainCounters,
}

/// Where a chain's declared counters are: nearly every declaration says `[0:0]` (dumps
/// saved without `-c`), so only other counters take room, in [`Dump::chain_counters`]'s
/// side table. One `u32` (an enum with an index would take 8 bytes, and 300,000 chains
/// pay for each byte): [`ChainCounters::ABSENT`], [`ChainCounters::ZERO`], or the index
/// in the side table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChainCounters(u32);

impl ChainCounters {
    /// No counters written.
    const ABSENT: ChainCounters = ChainCounters(u32::MAX);
    /// `[0:0]`.
    const ZERO: ChainCounters = ChainCounters(u32::MAX - 1);
}

/// The rules of a chain (a slice when read).
pub type ChainRules = smallvec::SmallVec<[RuleId; 4]>;

impl Chain<'_> {
    /// Line of its `:NAME ...` declaration; `None` if it was never declared.
    pub fn declared_line(&self) -> Option<u32> {
        (self.declared != 0).then_some(self.declared)
    }

    /// True for the five netfilter hook chains.
    pub fn is_builtin(&self) -> bool {
        matches!(
            self.name,
            "PREROUTING" | "INPUT" | "FORWARD" | "OUTPUT" | "POSTROUTING"
        )
    }
}

/// One `-A` line, stored compactly. The parsing layer's reader types its matches and target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The chain it is appended to.
    pub chain: ChainId,
    /// 1-based position in the chain (what `iptables -L --line-numbers` shows).
    pub position: u32,
    /// 1-based line in the input.
    pub line: u32,
    /// The whole line, without its line end.
    pub span: Span,
    /// Where the arguments after `-A CHAIN` start; they end where the line does
    /// ([`Rule::args`]). An offset rather than a span: a million rules, 4 bytes each.
    pub args_start: u32,
}

impl Rule {
    /// The arguments after `-A CHAIN` (possibly empty).
    pub fn args(&self) -> Span {
        Span {
            start: self.args_start,
            end: self.span.end,
        }
    }
}

/// A rule's typed arguments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleBody<'a> {
    /// The tests, in the order written.
    pub matches: Vec<Match<'a>>,
    /// The target; `None` for a rule that only counts (or only carries a comment).
    pub target: Option<Target<'a>>,
    /// The options of all its modules and its target, in the order written; each module
    /// and the target say which are theirs ([`OptionRange`]).
    pub options: Vec<ModuleOption<'a>>,
    /// The rule's arguments as written, word by word: an option's values are some of
    /// them ([`RuleBody::values`]), read when needed rather than copied out while typing.
    pub words: Vec<Word<'a>>,
}

impl<'a> RuleBody<'a> {
    /// The values of one of its options, as written.
    pub fn values(&self, option: &ModuleOption<'a>) -> &[Word<'a>] {
        option.values.of(&self.words)
    }

    /// The `-m comment --comment` text, if any.
    pub fn comment(&self) -> Option<&str> {
        self.matches.iter().find_map(|m| match m {
            Match::Module(Module {
                kind: ModuleKind::Comment(text),
                ..
            }) => Some(text.as_ref()),
            _ => None,
        })
    }
}

impl<'a> Dump<'a> {
    /// An empty dump over `text`; the parser fills it.
    pub fn new(text: &'a str) -> Self {
        Dump {
            text,
            ..Dump::default()
        }
    }

    /// The chain called `name` in `table`.
    pub fn chain_id(&self, table: TableId, name: &str) -> Option<ChainId> {
        let chains = &self.chains;
        self.chain_index
            .find(chain_hash(table, name), |&id| {
                is_chain(chains, id, table, name)
            })
            .copied()
    }

    /// The chain for an id.
    pub fn chain(&self, id: ChainId) -> &Chain<'a> {
        &self.chains[id.0 as usize]
    }

    /// The rule for an id.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.0 as usize]
    }

    /// The table for an id.
    pub fn table(&self, id: TableId) -> &Table<'a> {
        &self.tables[id.0 as usize]
    }

    /// The table called `name` in `ruleset`.
    pub fn table_id(&self, ruleset: RulesetId, name: &str) -> Option<TableId> {
        self.rulesets[ruleset.0 as usize]
            .tables
            .iter()
            .copied()
            .find(|&t| self.table(t).name == name)
    }

    /// The counters written before the rule's `-A` (`iptables-save -c`), if any.
    pub fn rule_counters(&self, id: RuleId) -> Option<Counters> {
        self.rule_counters
            .binary_search_by_key(&id, |&(rule, _)| rule)
            .ok()
            .map(|at| self.rule_counters[at].1)
    }

    /// True if the chain is in the dump: declared, or with rules. (A name only jumped to
    /// has no chain, or one without either, when a fragment leaves it out.)
    pub fn is_present(&self, chain: ChainId) -> bool {
        let chain = self.chain(chain);
        chain.declared_line().is_some() || !chain.rules.is_empty()
    }

    /// True if the input holds the whole table: its `*table` line and its COMMIT (not a
    /// fragment's assumed table, not a table the input was cut in).
    pub fn table_is_whole(&self, id: TableId) -> bool {
        let table = self.table(id);
        table.line.is_some() && table.commit_line.is_some()
    }

    /// True if the input may not show all of the chain's rules: it is in a fragment's
    /// assumed table and not declared there (`iptables-save | grep NAME` keeps the
    /// declaration along with every rule of the chain, a grep for anything else keeps only
    /// some rules), or in a table cut before its COMMIT and either holds the table's last
    /// rule or has no rules and is declared after the chain that does (iptables-save writes
    /// a table's rules chain by chain, in declaration order: a chain whose rules are
    /// followed by another chain's is whole).
    pub fn may_lack_rules(&self, id: ChainId) -> bool {
        let chain = self.chain(id);
        let table = self.table(chain.table);
        if table.line.is_none() {
            return chain.declared_line().is_none();
        }
        if table.commit_line.is_some() {
            return false;
        }
        let Some(last) = table.last_rule.map(|r| self.rule(r).chain) else {
            return true;
        };
        if !chain.rules.is_empty() {
            return id == last;
        }
        // A table's chains are stored in the order ids are given (`chain_or_insert`), so
        // comparing ids compares their places in the table (a search of the table's chains
        // for each made `ports` on a cut 50,000-service dump quadratic: 28 s).
        chain.declared_line().is_none() || id.0 >= last.0
    }

    /// True if the input shows the chain, and shows it has rules or is whole: a chain
    /// declared in a cut table whose rules would come after the cut is not known.
    pub fn is_known(&self, id: ChainId) -> bool {
        self.is_present(id) && !(self.chain(id).rules.is_empty() && self.may_lack_rules(id))
    }

    /// The tables one node's packets meet, for the ruleset holding `ruleset`'s tables:
    /// `iptables-save` writes a `# Generated by` header per table, so a node's tables can be
    /// spread over several consecutive rulesets; tables of the same family and program are
    /// gathered, the first of each name winning (this ruleset's own first).
    ///
    /// The groups are gathered once for all rulesets, so a call costs the size of the
    /// answer, not a pass over every ruleset (an input of 100,000 rulesets asks for each).
    pub fn node_tables(&self, ruleset: RulesetId) -> Vec<TableId> {
        let Some(home) = self.rulesets.get(ruleset.0 as usize) else {
            return Vec::new();
        };
        let groups = self.node_groups.get_or_init(|| self.gather_node_groups());
        let mut out: Vec<TableId> = home.tables.clone();
        let mut names: FxHashSet<&str> = out.iter().map(|&t| self.table(t).name).collect();
        for &t in &groups.firsts[groups.group_of[ruleset.0 as usize] as usize] {
            if names.insert(self.table(t).name) {
                out.push(t);
            }
        }
        out
    }

    /// The rulesets' groups for [`Dump::node_tables`]: same family, same program.
    fn gather_node_groups(&self) -> NodeGroups {
        let mut groups = NodeGroups::default();
        let mut index: FxHashMap<(Family, Option<&str>), u32> = FxHashMap::default();
        let mut names: Vec<FxHashSet<&str>> = Vec::new();
        for r in &self.rulesets {
            let key = (r.family, r.generator.map(|g| g.program));
            let next = groups.firsts.len() as u32;
            let group = *index.entry(key).or_insert(next);
            if group == next {
                groups.firsts.push(Vec::new());
                names.push(FxHashSet::default());
            }
            groups.group_of.push(group);
            for &t in &r.tables {
                if names[group as usize].insert(self.table(t).name) {
                    groups.firsts[group as usize].push(t);
                }
            }
        }
        groups
    }

    /// True when a table of the input has a `*table` header but no COMMIT: the input was
    /// cut inside it.
    pub fn is_cut(&self) -> bool {
        self.tables
            .iter()
            .any(|t| t.line.is_some() && t.commit_line.is_none())
    }

    /// The table called `name` among `tables`.
    pub fn find_table(&self, tables: &[TableId], name: &str) -> Option<TableId> {
        tables.iter().copied().find(|&t| self.table(t).name == name)
    }

    /// The text of a rule's line, as in the input.
    pub fn rule_text(&self, id: RuleId) -> &'a str {
        &self.text[self.rule(id).span.range()]
    }

    /// Adds a table (parser use).
    pub fn push_table(&mut self, table: Table<'a>) -> TableId {
        let id = TableId(self.tables.len() as u32);
        let ruleset = table.ruleset;
        self.tables.push(table);
        self.rulesets[ruleset.0 as usize].tables.push(id);
        id
    }

    /// Finds or adds the chain `name` in `table` (parser use).
    pub fn chain_or_insert(&mut self, table: TableId, name: &'a str) -> ChainId {
        let next = ChainId(self.chains.len() as u32);
        let chains = &self.chains;
        // One hash and one probe, whether the chain is new or not.
        let entry = self.chain_index.entry(
            chain_hash(table, name),
            |&id| is_chain(chains, id, table, name),
            |&id| stored_chain_hash(chains, id),
        );
        let id = match entry {
            Entry::Occupied(found) => *found.get(),
            Entry::Vacant(slot) => *slot.insert(next).get(),
        };
        if id == next {
            self.chains.push(Chain {
                name,
                rules: ChainRules::new(),
                table,
                policy: None,
                declared: 0,
                counters: ChainCounters::ABSENT,
            });
            let left = self.chains.capacity() - self.chains.len();
            let table_chains = &mut self.tables[table.0 as usize].chains;
            // A table with many chains (a large nat table) takes the room left for the
            // dump's chains at once instead of doubling: each larger copy lands on fresh
            // pages the kernel must clear (a profile of `explain` on 278,000 chains put
            // 7 % of its samples there; only address space is reserved beyond that).
            if table_chains.len() == table_chains.capacity() && table_chains.len() >= 1024 {
                table_chains.reserve(left.max(table_chains.len()));
            }
            table_chains.push(id);
        }
        id
    }

    /// Makes room for the chains and rules of a text of `bytes` bytes (parser use), so a
    /// large dump's index is not rehashed and its rules not copied as they grow. The
    /// ratios are a generated kube-proxy dump's (≈120 bytes a rule, ≈350 a chain): more
    /// than that is only address space, since untouched pages take no memory.
    pub fn reserve_for(&mut self, bytes: usize) {
        self.rules.reserve(bytes / 100);
        self.chains.reserve(bytes / 300);
        let chains = &self.chains;
        self.chain_index
            .reserve(bytes / 300, |&id| stored_chain_hash(chains, id));
    }

    /// Records a chain's declaration: its line, policy and counters (parser use). A
    /// chain declared again takes the later declaration's.
    pub fn declare_chain(
        &mut self,
        id: ChainId,
        line: u32,
        policy: Option<Policy>,
        counters: Option<Counters>,
    ) {
        let counters = match counters {
            None => ChainCounters::ABSENT,
            Some(c) if c == Counters::default() => ChainCounters::ZERO,
            Some(c) => {
                self.chain_counters.push(c);
                ChainCounters(self.chain_counters.len() as u32 - 1)
            }
        };
        let chain = &mut self.chains[id.0 as usize];
        if chain.declared != 0 && chain.declared != line {
            self.redeclared.push(Redeclaration {
                chain: id,
                first: chain.declared,
                again: line,
            });
        }
        chain.declared = line;
        chain.policy = policy;
        chain.counters = counters;
    }

    /// The counters written in a chain's declaration (`[0:0]` unless saved with `-c`).
    pub fn chain_counters(&self, id: ChainId) -> Option<Counters> {
        match self.chain(id).counters {
            ChainCounters::ABSENT => None,
            ChainCounters::ZERO => Some(Counters::default()),
            ChainCounters(at) => self.chain_counters.get(at as usize).copied(),
        }
    }

    /// Appends a rule, with the counters written before it, to its chain (parser use).
    pub fn push_rule(&mut self, rule: Rule, counters: Option<Counters>) -> RuleId {
        let id = RuleId(self.rules.len() as u32);
        let chain = &mut self.chains[rule.chain.0 as usize];
        chain.rules.push(id);
        self.tables[chain.table.0 as usize].last_rule = Some(id);
        if let Some(counters) = counters {
            self.rule_counters.push((id, counters));
        }
        self.rules.push(rule);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_text;

    /// The definition of [`Dump::node_tables`], one pass over every ruleset per call: the
    /// reference for the grouped version (issue 13: 100,000 rulesets made it quadratic).
    fn node_tables_by_scanning<'a>(dump: &Dump<'a>, ruleset: RulesetId) -> Vec<TableId> {
        let home = &dump.rulesets[ruleset.0 as usize];
        let program = |r: &Ruleset<'a>| r.generator.map(|g| g.program);
        let mut out: Vec<TableId> = home.tables.clone();
        for r in &dump.rulesets {
            if r.family != home.family || program(r) != program(home) {
                continue;
            }
            for &t in &r.tables {
                let name = dump.table(t).name;
                if !out.iter().any(|&o| dump.table(o).name == name) {
                    out.push(t);
                }
            }
        }
        out
    }

    #[test]
    fn node_tables_gather_each_name_once_per_family_and_program() {
        let header = |program: &str| format!("# Generated by {program} v1.8.9 (nf_tables) on x\n");
        let table = |name: &str| format!("*{name}\n:X - [0:0]\nCOMMIT\n");
        let mut text = String::new();
        for (program, tables) in [
            ("iptables-save", &["nat", "filter"][..]),
            ("ip6tables-save", &["nat"][..]),
            ("iptables-save", &["mangle", "nat"][..]),
            ("iptables-save", &["raw"][..]),
            ("ip6tables-save", &["filter", "filter"][..]),
            ("iptables-legacy-save", &["nat"][..]),
        ] {
            text.push_str(&header(program));
            for name in tables {
                text.push_str(&table(name));
            }
        }
        let parsed = parse_text(&text);
        let dump = &parsed.dump;
        assert!(dump.rulesets.len() >= 6, "{}", dump.rulesets.len());
        for r in 0..dump.rulesets.len() {
            let id = RulesetId(r as u32);
            assert_eq!(
                dump.node_tables(id),
                node_tables_by_scanning(dump, id),
                "ruleset {r}"
            );
        }
        // The first IPv4 iptables-save ruleset meets its own nat and filter, then the
        // later rulesets' mangle and raw.
        let names: Vec<&str> = dump
            .node_tables(RulesetId(0))
            .iter()
            .map(|&t| dump.table(t).name)
            .collect();
        assert_eq!(names, ["nat", "filter", "mangle", "raw"]);
    }
}
