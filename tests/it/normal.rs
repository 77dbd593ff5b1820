//! A normalised view of a parsed dump, for comparing two parses of different text.
//!
//! Spans and line numbers point into the text, so they differ between an input and its
//! printed form; everything else (rulesets, tables, chains, policies, counters and rule
//! bodies) must be equal. Chains are keyed by name: iptables-save writes every chain
//! declaration before the rules, so the order chains are first seen in is not kept.
//! Also used by the fuzz target (`fuzz/fuzz_targets/parse.rs` includes this file).

use std::borrow::Cow;
use std::collections::BTreeMap;

use srcip_rules::model::{Backend, Counters, Family, Match, Policy, RuleBody, RuleId};
use srcip_rules::parse::RuleReader;
use srcip_rules::source::Span;

/// A dump without its positions.
#[derive(Debug, PartialEq)]
pub(crate) struct NormalDump<'a> {
    pub(crate) rulesets: Vec<NormalRuleset<'a>>,
    pub(crate) comments: Vec<&'a str>,
}

#[derive(Debug, PartialEq)]
pub(crate) struct NormalRuleset<'a> {
    pub(crate) generator: Option<(&'a str, &'a str, Option<Backend>)>,
    pub(crate) family: Family,
    pub(crate) legacy_tables_warning: bool,
    pub(crate) completed: bool,
    pub(crate) tables: Vec<NormalTable<'a>>,
}

#[derive(Debug, PartialEq)]
pub(crate) struct NormalTable<'a> {
    pub(crate) name: &'a str,
    /// Assumed for a fragment (no `*table` line).
    pub(crate) assumed: bool,
    pub(crate) committed: bool,
    pub(crate) chains: BTreeMap<&'a str, NormalChain<'a>>,
}

#[derive(Debug, PartialEq)]
pub(crate) struct NormalChain<'a> {
    pub(crate) policy: Option<Policy>,
    pub(crate) counters: Option<Counters>,
    pub(crate) declared: bool,
    pub(crate) rules: Vec<NormalRule<'a>>,
    pub(crate) referrers: usize,
}

#[derive(Debug, PartialEq)]
pub(crate) struct NormalRule<'a> {
    pub(crate) position: u32,
    pub(crate) counters: Option<Counters>,
    pub(crate) jump: Option<(&'a str, bool)>,
    /// The body without spans and words (which say where and how the rule was written).
    pub(crate) body: RuleBody<'a>,
    /// The text of each option's values, in option order.
    pub(crate) values: Vec<Vec<Cow<'a, str>>>,
}

/// The normalised view of `dump`. Panics if a stored rule does not parse again.
pub(crate) fn normalise<'a>(rules: &RuleReader<'_, 'a>) -> NormalDump<'a> {
    let dump = rules.dump();
    let rulesets = dump
        .rulesets
        .iter()
        .map(|ruleset| NormalRuleset {
            generator: ruleset.generator.map(|g| (g.program, g.version, g.backend)),
            family: ruleset.family,
            legacy_tables_warning: ruleset.legacy_tables_warning.is_some(),
            completed: ruleset.completed,
            tables: ruleset
                .tables
                .iter()
                .map(|&id| {
                    let table = dump.table(id);
                    NormalTable {
                        name: table.name,
                        assumed: table.line.is_none(),
                        committed: table.commit_line.is_some(),
                        chains: table
                            .chains
                            .iter()
                            .map(|&c| {
                                let chain = dump.chain(c);
                                (chain.name, normal_chain(rules, c))
                            })
                            .collect(),
                    }
                })
                .collect(),
        })
        .collect();
    NormalDump {
        rulesets,
        comments: dump.comments.iter().map(|(_, text)| *text).collect(),
    }
}

fn normal_chain<'a>(
    rules: &RuleReader<'_, 'a>,
    id: srcip_rules::model::ChainId,
) -> NormalChain<'a> {
    let dump = rules.dump();
    let chain = dump.chain(id);
    NormalChain {
        policy: chain.policy,
        counters: dump.chain_counters(id),
        declared: chain.declared_line().is_some(),
        rules: chain.rules.iter().map(|&r| normal_rule(rules, r)).collect(),
        referrers: rules.referrers(id).len(),
    }
}

fn normal_rule<'a>(rules: &RuleReader<'_, 'a>, id: RuleId) -> NormalRule<'a> {
    let dump = rules.dump();
    let rule = dump.rule(id);
    let mut body = rules
        .body(id)
        .unwrap_or_else(|e| panic!("stored rule {id:?} does not parse again: {e:?}"));
    let values = body
        .options
        .iter()
        .map(|option| body.values(option).iter().map(|w| w.text()).collect())
        .collect();
    clear_spans(&mut body);
    NormalRule {
        position: rule.position,
        counters: dump.rule_counters(id),
        jump: rules.jump_target_name(id),
        body,
        values,
    }
}

/// Sets every span in a rule body to `0..0` and forgets its words.
pub(crate) fn clear_spans(body: &mut RuleBody<'_>) {
    for m in &mut body.matches {
        if let Match::Module(module) = m {
            module.span = Span::default();
        }
    }
    if let Some(target) = &mut body.target {
        target.span = Span::default();
    }
    for option in &mut body.options {
        option.span = Span::default();
        option.values = Default::default();
    }
    body.words.clear();
}
