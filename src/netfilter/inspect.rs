//! What a dump is, before anyone trusts a verdict from it: generator, backend, family,
//! tables with their sizes, and whether it is complete, truncated, a fragment or split
//! across iptables backends.

use rustc_hash::FxHashSet;

use crate::model::{Backend, ChainId, Dump, Family, RuleId, ToleranceKind};
use crate::parse::RuleReader;

/// The facts `inspect` reports for one input.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// One entry per `iptables-save` run in the input.
    pub rulesets: Vec<RulesetSummary>,
    /// Lines in the input.
    pub lines: u32,
    /// Total rules parsed.
    pub rules: usize,
    /// Number of parse errors (all of them, kept in full or not).
    pub errors: usize,
    /// Lines where bytes that were not UTF-8 were escaped.
    pub lossy_lines: Vec<u32>,
    /// Things to know before trusting an analysis of this input.
    pub warnings: Vec<DumpWarning>,
}

/// Something to know about a dump before trusting an analysis of it. Each has a stable
/// code, which the JSON report carries.
#[derive(Debug, Clone, PartialEq)]
pub enum DumpWarning {
    /// `no-rules`: the input has no rules and no tables.
    Empty,
    /// `fragment`: rules without a `*table` header (`iptables-save | grep`); their tables
    /// were assumed.
    Fragment {
        /// Where the ruleset starts.
        ruleset_line: u32,
        /// The tables assumed.
        assumed: Vec<String>,
    },
    /// `truncated`: a table has no COMMIT.
    Truncated {
        /// Where the ruleset starts.
        ruleset_line: u32,
    },
    /// `legacy-tables-present`: iptables-nft says legacy tables exist too.
    LegacyTablesPresent {
        /// Where the ruleset starts.
        ruleset_line: u32,
        /// The warning's line.
        line: u32,
    },
    /// `no-nat-table`: a whole ruleset without a nat table.
    NoNatTable {
        /// Where the ruleset starts.
        ruleset_line: u32,
    },
    /// `old-iptables-nft`: saved by iptables-nft older than 1.8.8, which can omit matches.
    OldIptablesNft {
        /// Where the ruleset starts.
        ruleset_line: u32,
        /// The version.
        version: String,
    },
    /// `backend-split`: both nf_tables and legacy IPv4 rulesets.
    BackendSplit,
    /// `not-utf8`: lines with bytes that are not UTF-8.
    NotUtf8 {
        /// How many lines.
        lines: usize,
        /// The first.
        first: u32,
    },
    /// `jump-loop`: chains that jump to each other in a cycle (iptables-restore refuses
    /// such a ruleset; a packet would never leave it).
    JumpLoop {
        /// The chains of the cycle, in jump order (the first jumps to the second, ..., the
        /// last back to the first).
        chains: Vec<String>,
        /// The line of the rule closing it.
        line: u32,
    },
    /// `duplicate-declaration`: a chain declared twice in one table (iptables-restore
    /// refuses that).
    DuplicateDeclarations {
        /// The first few: the chain, its first declaration's line, the repeat's line.
        examples: Vec<(String, u32, u32)>,
        /// How many in all.
        count: usize,
    },
    /// `undeclared-chain`: rules appended to a chain the table never declares
    /// (iptables-restore refuses them; `grep` fragments aside).
    UndeclaredChains {
        /// The first few: the chain and the line of its first rule.
        examples: Vec<(String, u32)>,
        /// How many chains in all.
        count: usize,
    },
    /// Lines accepted although they are not plain iptables-save text, one warning per
    /// kind: `grep-separator`, `fragment-declaration`, `fragment-commit`, `log-prefix`,
    /// `shell-line`.
    Tolerated {
        /// What they were.
        kind: ToleranceKind,
        /// How many lines.
        lines: usize,
        /// The first.
        first: u32,
    },
    /// `missing-jump-target`: rules jump to a chain the dump neither declares nor fills.
    MissingJumpTargets {
        /// The first few: the chain and the line of the first rule jumping to it.
        examples: Vec<(String, u32)>,
        /// How many chains in all.
        count: usize,
    },
}

/// Most examples a finding lists (it counts the rest).
pub const EXAMPLES: usize = 5;

/// Most jump loops reported per input.
const LOOPS_REPORTED: usize = 3;

impl DumpWarning {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            DumpWarning::Empty => "no-rules",
            DumpWarning::Fragment { .. } => "fragment",
            DumpWarning::Truncated { .. } => "truncated",
            DumpWarning::LegacyTablesPresent { .. } => "legacy-tables-present",
            DumpWarning::NoNatTable { .. } => "no-nat-table",
            DumpWarning::OldIptablesNft { .. } => "old-iptables-nft",
            DumpWarning::BackendSplit => "backend-split",
            DumpWarning::NotUtf8 { .. } => "not-utf8",
            DumpWarning::JumpLoop { .. } => "jump-loop",
            DumpWarning::DuplicateDeclarations { .. } => "duplicate-declaration",
            DumpWarning::UndeclaredChains { .. } => "undeclared-chain",
            DumpWarning::MissingJumpTargets { .. } => "missing-jump-target",
            DumpWarning::Tolerated { kind, .. } => match kind {
                ToleranceKind::GrepSeparator => "grep-separator",
                ToleranceKind::FragmentDeclaration => "fragment-declaration",
                ToleranceKind::FragmentCommit => "fragment-commit",
                ToleranceKind::LogPrefix => "log-prefix",
                ToleranceKind::ShellLine => "shell-line",
                ToleranceKind::LogLine => "log-line",
                ToleranceKind::CutLine => "cut-line",
            },
        }
    }
}

/// One ruleset's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct RulesetSummary {
    /// Line where it starts.
    pub first_line: u32,
    /// `iptables-save`, `ip6tables-save`, ... if the header says.
    pub program: Option<String>,
    /// iptables version from the header.
    pub version: Option<String>,
    /// Backend from the header.
    pub backend: Option<Backend>,
    /// IPv4 or IPv6.
    pub family: Family,
    /// Tables in order.
    pub tables: Vec<TableSummary>,
    /// True if the input had rules outside any `*table` (grep output).
    pub fragment: bool,
    /// True if a table lacks its COMMIT.
    pub truncated: bool,
    /// Line of the legacy-tables warning, if present.
    pub legacy_tables_warning: Option<u32>,
}

/// One table's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSummary {
    /// `nat`, `filter`, ...
    pub name: String,
    /// Line of `*name`; `None` when assumed for a fragment.
    pub line: Option<u32>,
    /// Line of `COMMIT`.
    pub commit_line: Option<u32>,
    /// Chains declared or referenced.
    pub chains: usize,
    /// Rules.
    pub rules: usize,
}

/// Summarises a parsed dump.
pub fn inspect(rules: &RuleReader<'_, '_>, error_count: usize, lossy_lines: &[u32]) -> Inspection {
    let dump = rules.dump();
    let mut warnings = Vec::new();
    let mut rulesets = Vec::new();
    for ruleset in &dump.rulesets {
        let mut tables = Vec::new();
        for &table_id in &ruleset.tables {
            let table = dump.table(table_id);
            let rules = table
                .chains
                .iter()
                .map(|&c| dump.chain(c).rules.len())
                .sum();
            tables.push(TableSummary {
                name: table.name.to_string(),
                line: table.line,
                commit_line: table.commit_line,
                chains: table.chains.len(),
                rules,
            });
        }
        let fragment = tables.iter().any(|t| t.line.is_none());
        let truncated = tables
            .iter()
            .any(|t| t.line.is_some() && t.commit_line.is_none());
        let summary = RulesetSummary {
            first_line: ruleset.first_line,
            program: ruleset.generator.map(|g| g.program.to_string()),
            version: ruleset.generator.map(|g| g.version.to_string()),
            backend: ruleset.generator.and_then(|g| g.backend),
            family: ruleset.family,
            tables,
            fragment,
            truncated,
            legacy_tables_warning: ruleset.legacy_tables_warning,
        };
        warnings.extend(ruleset_warnings(&summary));
        rulesets.push(summary);
    }
    if rulesets.is_empty() {
        warnings.push(DumpWarning::Empty);
    }
    let backends: Vec<Backend> = rulesets
        .iter()
        .filter(|r| r.family == Family::Ipv4)
        .filter_map(|r| r.backend)
        .collect();
    if backends.contains(&Backend::Legacy) && backends.contains(&Backend::NfTables) {
        warnings.push(DumpWarning::BackendSplit);
    }
    warnings.extend(tolerated(dump));
    warnings.extend(chain_findings(rules));
    if !lossy_lines.is_empty() {
        warnings.push(DumpWarning::NotUtf8 {
            lines: lossy_lines.len(),
            first: lossy_lines[0],
        });
    }
    Inspection {
        rulesets,
        lines: dump.line_count,
        rules: dump.rules.len(),
        errors: error_count,
        lossy_lines: lossy_lines.to_vec(),
        warnings,
    }
}

/// One warning per kind of line accepted although it is not iptables-save text.
pub fn tolerated(dump: &Dump<'_>) -> Vec<DumpWarning> {
    let mut by_kind: Vec<(ToleranceKind, usize, u32)> = Vec::new();
    for t in &dump.tolerated {
        match by_kind.iter_mut().find(|(kind, _, _)| *kind == t.kind) {
            Some((_, lines, _)) => *lines += 1,
            None => by_kind.push((t.kind, 1, t.line)),
        }
    }
    by_kind.sort();
    by_kind
        .into_iter()
        .map(|(kind, lines, first)| DumpWarning::Tolerated { kind, lines, first })
        .collect()
}

/// What iptables-restore would refuse about the chains: duplicate declarations, rules in
/// undeclared chains, jumps to chains that are nowhere, and jump loops. Tables assumed for
/// a fragment (no `*table` header) are left out: a `grep` keeps no declarations.
fn chain_findings(rules: &RuleReader<'_, '_>) -> Vec<DumpWarning> {
    let dump = rules.dump();
    let headed = |c: ChainId| dump.table(dump.chain(c).table).line.is_some();
    let mut findings = Vec::new();
    let duplicates: Vec<(String, u32, u32)> = dump
        .redeclared
        .iter()
        .map(|r| (dump.chain(r.chain).name.to_string(), r.first, r.again))
        .collect();
    if !duplicates.is_empty() {
        findings.push(DumpWarning::DuplicateDeclarations {
            count: duplicates.len(),
            examples: duplicates.into_iter().take(EXAMPLES).collect(),
        });
    }
    let mut undeclared = Vec::new();
    let mut missing = Vec::new();
    let mut missing_names: FxHashSet<&str> = FxHashSet::default();
    for (index, chain) in dump.chains.iter().enumerate() {
        let id = ChainId(index as u32);
        if !headed(id) || chain.declared_line().is_some() || chain.is_builtin() {
            continue;
        }
        if let Some(&first) = chain.rules.first() {
            undeclared.push((chain.name.to_string(), dump.rule(first).line));
        }
    }
    // Every rule's jump, read once for both findings below.
    let jumps = jumps(rules);
    // A chain only jumped to is not in the model: read the jumps.
    for (index, chain) in dump.chains.iter().enumerate() {
        if !headed(ChainId(index as u32)) {
            continue;
        }
        for &rule in chain.rules.iter() {
            let name = match jumps[rule.0 as usize] {
                Jump::To(target) if dump.is_present(target) => continue,
                Jump::None => continue,
                _ => rules.jump_target_name(rule).map_or("", |(name, _)| name),
            };
            // A set, not a search of the list: a dump jumping to 100,000 distinct missing
            // chains took 14 s.
            if missing_names.insert(name) && missing.len() < EXAMPLES {
                missing.push((name.to_string(), dump.rule(rule).line));
            }
        }
    }
    if !undeclared.is_empty() {
        findings.push(DumpWarning::UndeclaredChains {
            count: undeclared.len(),
            examples: undeclared.into_iter().take(EXAMPLES).collect(),
        });
    }
    if !missing.is_empty() {
        findings.push(DumpWarning::MissingJumpTargets {
            count: missing_names.len(),
            examples: missing,
        });
    }
    findings.extend(jump_loops(rules, &jumps));
    findings
}

/// Where a rule jumps: nowhere, to a chain of the model, or to a name no chain has.
#[derive(Clone, Copy)]
enum Jump {
    None,
    To(ChainId),
    Nowhere,
}

/// Every rule's jump, by rule id: one target lookup a rule.
fn jumps(rules: &RuleReader<'_, '_>) -> Vec<Jump> {
    let dump = rules.dump();
    dump.rules
        .iter()
        .enumerate()
        .map(|(index, rule)| {
            let Some((name, _)) = rules.jump_target_name(RuleId(index as u32)) else {
                return Jump::None;
            };
            match dump.chain_id(dump.chain(rule.chain).table, name) {
                Some(target) => Jump::To(target),
                None => Jump::Nowhere,
            }
        })
        .collect()
}

/// Cycles in the jump graph, found by a depth-first walk over every chain (iterative: a
/// long chain of jumps must not overflow the stack).
fn jump_loops(rules: &RuleReader<'_, '_>, jumps: &[Jump]) -> Vec<DumpWarning> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let dump = rules.dump();
    let mut mark = vec![Mark::New; dump.chains.len()];
    let mut loops = Vec::new();
    for start in 0..dump.chains.len() {
        if mark[start] != Mark::New || loops.len() >= LOOPS_REPORTED {
            continue;
        }
        // The path of chains being walked, each with the index of its next rule.
        let mut path: Vec<(ChainId, usize)> = vec![(ChainId(start as u32), 0)];
        mark[start] = Mark::OnPath;
        while let Some(&mut (chain, ref mut next)) = path.last_mut() {
            let chain_rules = &dump.chain(chain).rules;
            let Some(&rule) = chain_rules.get(*next) else {
                mark[chain.0 as usize] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            let Jump::To(target) = jumps[rule.0 as usize] else {
                continue;
            };
            match mark[target.0 as usize] {
                Mark::New => {
                    mark[target.0 as usize] = Mark::OnPath;
                    path.push((target, 0));
                }
                Mark::OnPath => {
                    let from = path.iter().position(|&(c, _)| c == target).unwrap_or(0);
                    loops.push(DumpWarning::JumpLoop {
                        chains: path[from..]
                            .iter()
                            .map(|&(c, _)| dump.chain(c).name.to_string())
                            .collect(),
                        line: dump.rule(rule).line,
                    });
                }
                Mark::Done => {}
            }
        }
    }
    loops
}

/// Warnings about one ruleset.
fn ruleset_warnings(summary: &RulesetSummary) -> Vec<DumpWarning> {
    let mut warnings = Vec::new();
    let ruleset_line = summary.first_line;
    if summary.fragment {
        let assumed = summary
            .tables
            .iter()
            .filter(|t| t.line.is_none())
            .map(|t| t.name.clone())
            .collect();
        warnings.push(DumpWarning::Fragment {
            ruleset_line,
            assumed,
        });
    }
    if summary.truncated {
        warnings.push(DumpWarning::Truncated { ruleset_line });
    }
    if let Some(line) = summary.legacy_tables_warning {
        warnings.push(DumpWarning::LegacyTablesPresent { ruleset_line, line });
    }
    if !summary.fragment && summary.tables.iter().all(|t| t.name != "nat") {
        warnings.push(DumpWarning::NoNatTable { ruleset_line });
    }
    // iptables 1.8.7 cannot show some matches written by newer iptables-nft (it drops
    // `-m mark`, kubernetes/kubernetes#112477), so an nft dump from an old binary may lie.
    if summary.backend == Some(Backend::NfTables)
        && let Some(version) = summary.version.as_deref()
        && version_below(version, (1, 8, 8))
    {
        warnings.push(DumpWarning::OldIptablesNft {
            ruleset_line,
            version: version.to_string(),
        });
    }
    warnings
}

/// True if dotted `version` is below `(major, minor, patch)`.
fn version_below(version: &str, floor: (u32, u32, u32)) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let v = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    v < floor
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_text;

    #[test]
    fn fragment_and_truncation_are_reported() {
        let parsed = parse_text("-A KUBE-NODEPORTS -p tcp -m tcp --dport 1 -j KUBE-SVC-X\n");
        let inspection = inspect(&parsed.rules(), parsed.error_count(), &[]);
        assert!(inspection.rulesets[0].fragment);
        assert!(matches!(
            &inspection.warnings[0],
            DumpWarning::Fragment { assumed, .. } if assumed == &["nat".to_string()]
        ));

        let parsed = parse_text("*nat\n-A X -j ACCEPT\n");
        let inspection = inspect(&parsed.rules(), parsed.error_count(), &[]);
        assert!(inspection.rulesets[0].truncated);
        assert_eq!(
            inspection.errors, 0,
            "a cut dump is a warning, not an error"
        );
        assert!(
            inspection
                .warnings
                .iter()
                .any(|w| matches!(w, DumpWarning::Truncated { .. }))
        );
    }

    #[test]
    fn mixed_backends_warn() {
        let text = "# Generated by iptables-save v1.8.9 (nf_tables) on x\n*nat\nCOMMIT\n\
# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n\
# Generated by iptables-save v1.8.9 (legacy) on x\n*nat\nCOMMIT\n";
        let parsed = parse_text(text);
        let inspection = inspect(&parsed.rules(), parsed.error_count(), &[]);
        assert_eq!(inspection.rulesets.len(), 2);
        assert!(inspection.warnings.contains(&DumpWarning::BackendSplit));
        assert!(
            inspection
                .warnings
                .iter()
                .any(|w| matches!(w, DumpWarning::LegacyTablesPresent { line: 4, .. }))
        );
    }

    #[test]
    fn chains_iptables_restore_would_refuse_are_findings() {
        let text = "*nat\n:PREROUTING ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n:C - [0:0]\n:A - [0:0]\n\
-A PREROUTING -j A\n-A A -j B\n-A B -j C\n-A C -p tcp -j A\n-A D -j ACCEPT\n-A B -j GONE\nCOMMIT\n";
        let parsed = parse_text(text);
        let inspection = inspect(&parsed.rules(), parsed.error_count(), &[]);
        let codes: Vec<&str> = inspection.warnings.iter().map(DumpWarning::code).collect();
        assert_eq!(
            codes,
            [
                "duplicate-declaration",
                "undeclared-chain",
                "missing-jump-target",
                "jump-loop"
            ]
        );
        assert!(inspection.warnings.iter().any(|w| matches!(w,
            DumpWarning::JumpLoop { chains, line: 10 } if chains == &["A", "B", "C"])));
        assert!(inspection.warnings.iter().any(|w| matches!(w,
            DumpWarning::DuplicateDeclarations { examples, count: 1 } if examples == &[("A".to_string(), 3, 6)])));
        assert!(inspection.warnings.iter().any(|w| matches!(w,
            DumpWarning::UndeclaredChains { examples, .. } if examples == &[("D".to_string(), 11)])));
        assert!(inspection.warnings.iter().any(|w| matches!(w,
            DumpWarning::MissingJumpTargets { examples, .. } if examples == &[("GONE".to_string(), 12)])));
    }

    #[test]
    fn a_deep_chain_of_jumps_is_not_a_loop_and_a_fragment_has_no_declarations_to_miss() {
        // 200 chains in a row: deeper than the walk follows, but no cycle.
        let mut text = String::from("*filter\n");
        for i in 0..200 {
            text.push_str(&format!(":C{i} - [0:0]\n"));
        }
        for i in 0..199 {
            text.push_str(&format!("-A C{i} -j C{}\n", i + 1));
        }
        text.push_str("COMMIT\n");
        let parsed = parse_text(&text);
        let inspection = inspect(&parsed.rules(), parsed.error_count(), &[]);
        let codes: Vec<&str> = inspection.warnings.iter().map(DumpWarning::code).collect();
        assert_eq!(codes, ["no-nat-table"]);
        let parsed = parse_text("-A KUBE-NODEPORTS -p tcp -m tcp --dport 1 -j KUBE-SVC-X\n");
        let inspection = inspect(&parsed.rules(), parsed.error_count(), &[]);
        let codes: Vec<&str> = inspection.warnings.iter().map(DumpWarning::code).collect();
        assert_eq!(codes, ["fragment"]);
    }

    #[test]
    fn old_nft_iptables_warns_about_skew() {
        assert!(version_below("1.8.7", (1, 8, 8)));
        assert!(!version_below("1.8.10", (1, 8, 8)));
    }
}
