//! The packet walk: a new connection's first packet through the hooks in kernel order
//! ([`crate::netfilter::pipeline`]), each hook's base chains in priority order, rule by rule,
//! following jumps, applying marks and NAT, and returning every branch it can take.
//!
//! After the hooks before routing, the routing decision: is the (possibly DNATed)
//! destination an address of this node? Then the hooks for local delivery or for leaving
//! the node. Only the first packet of a new connection is modelled, which is the one the nat
//! table sees.
//!
//! A rule whose outcome cannot be decided from the packet (`-m statistic` randomness, an
//! interface test, an unknown module) forks the path: every outcome becomes its own
//! [`Branch`], with its probability or the assumption it rests on.

use std::cell::Cell;

use crate::model::{ChainId, Policy, RuleBody, RuleId};
use crate::netfilter::matching::{Test, Tester};
use crate::netfilter::memo::{PacketKey, RuleMemo};
use crate::netfilter::packet::{Host, Packet};
use crate::netfilter::path::{
    Action, AssumedChain, Assumption, AssumptionKind, Branch, Fate, MAX_BRANCHES, MAX_DEPTH, Miss,
    Step, Undecidable, Undecided,
};
use crate::netfilter::pipeline::{Pipeline, Stage, hooks_after_routing, hooks_before_routing};
use crate::parse::RuleReader;

/// What the walk runs against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'c, 'a> {
    /// The rules.
    pub rules: RuleReader<'c, 'a>,
    /// Where the rules attach to the packet path.
    pub pipeline: &'c Pipeline,
    /// This node's addresses.
    pub host: &'c Host,
    /// Missing chains with a known effect.
    pub assumed_chains: &'c [AssumedChain],
}

/// How a chain (or one rule) ends for a branch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum End<'a> {
    /// Keep going with the next rule.
    Next,
    /// Fell off the end of the chain, or RETURN.
    Return,
    /// Ends the table for this hook and carries on with the next stage.
    Accept,
    /// Ends the packet's path.
    Final(Fate<'a>),
}

/// Runs `packet` through the rules and returns every branch.
pub fn evaluate<'a>(ctx: &Context<'_, 'a>, packet: Packet) -> Vec<Branch<'a>> {
    evaluate_with(ctx, &RuleMemo::default(), packet)
}

/// [`evaluate`], remembering what it learns about rules in `memo` for the next packet run
/// against the same context.
pub fn evaluate_with<'a>(
    ctx: &Context<'_, 'a>,
    memo: &RuleMemo,
    packet: Packet,
) -> Vec<Branch<'a>> {
    let walker = Walker {
        ctx,
        memo,
        branches: Cell::new(1),
        verbose: false,
    };
    walker.walk(Branch::new(packet))
}

/// Runs `packet`, carrying `mark` from the start, through the rules testing every rule in
/// order (no shortcuts), and records in each branch's [`Branch::misses`] every rule that did
/// not match and why: the walk `srcip-rules trace --verbose` shows. Slower than
/// [`evaluate`] on large chains; the branches are the same.
pub fn trace<'a>(
    ctx: &Context<'_, 'a>,
    packet: Packet,
    mark: u32,
    verbose: bool,
) -> Vec<Branch<'a>> {
    let memo = RuleMemo::default();
    let walker = Walker {
        ctx,
        memo: &memo,
        branches: Cell::new(1),
        verbose,
    };
    let mut start = Branch::new(packet);
    start.mark = mark;
    walker.walk(start)
}

pub(crate) struct Walker<'w, 'c, 'a> {
    pub(crate) ctx: &'w Context<'c, 'a>,
    memo: &'w RuleMemo,
    /// Branches made so far, against [`MAX_BRANCHES`].
    branches: Cell<usize>,
    /// Test every rule and record the misses (no memo shortcuts).
    verbose: bool,
}

impl<'a> Walker<'_, '_, 'a> {
    fn walk(&self, start: Branch<'a>) -> Vec<Branch<'a>> {
        let origin = start.packet.origin;
        let mut finished = Vec::new();
        let mut routed = vec![start];
        for &hook in hooks_before_routing(origin) {
            routed = self.run_hook(routed, self.ctx.pipeline.stages(hook), &mut finished);
        }
        for branch in routed {
            let local = self.ctx.host.is_local(branch.packet.dst);
            let mut through = vec![branch];
            for &hook in hooks_after_routing(origin, local) {
                through = self.run_hook(through, self.ctx.pipeline.stages(hook), &mut finished);
            }
            for mut done in through {
                done.fate = if local {
                    Fate::Delivered
                } else {
                    Fate::Forwarded
                };
                finished.push(done);
            }
        }
        finished
    }

    /// Runs branches through a hook's stages; returns the ones that got through all of
    /// them and pushes the ones that ended early onto `finished`.
    fn run_hook(
        &self,
        mut branches: Vec<Branch<'a>>,
        stages: &[Stage],
        finished: &mut Vec<Branch<'a>>,
    ) -> Vec<Branch<'a>> {
        for &stage in stages {
            let mut next = Vec::new();
            for branch in branches {
                for (mut out, end) in self.run_stage(stage, branch) {
                    match end {
                        End::Final(fate) => {
                            out.fate = fate;
                            finished.push(out);
                        }
                        End::Next | End::Return | End::Accept => next.push(out),
                    }
                }
            }
            branches = next;
        }
        branches
    }

    /// Runs one branch through a base chain; falling off its end, its policy decides.
    fn run_stage(&self, stage: Stage, branch: Branch<'a>) -> Vec<(Branch<'a>, End<'a>)> {
        let policy = self.ctx.rules.dump().chain(stage.chain).policy;
        let mut out = Vec::new();
        for (mut b, end) in self.run_chain(stage, stage.chain, branch, 0) {
            match (end, policy) {
                (End::Next | End::Return, Some(Policy::Drop)) => {
                    b.steps.push(Step {
                        table: stage.table,
                        hook: stage.hook,
                        chain: stage.chain,
                        rule: None,
                        action: Action::Policy(Policy::Drop),
                    });
                    let fate = Fate::Dropped {
                        rule: None,
                        chain: stage.chain,
                    };
                    out.push((b, End::Final(fate)));
                }
                (End::Next | End::Return, _) => out.push((b, End::Accept)),
                (other, _) => out.push((b, other)),
            }
        }
        out
    }

    /// Runs one branch through a chain; returns each resulting branch with how it ended.
    pub(crate) fn run_chain(
        &self,
        stage: Stage,
        chain: ChainId,
        branch: Branch<'a>,
        depth: usize,
    ) -> Vec<(Branch<'a>, End<'a>)> {
        if depth > MAX_DEPTH {
            let rule = branch.steps.last().and_then(|s| s.rule);
            let fate = Fate::Undetermined {
                rule,
                reason: Undecided::TooDeep,
            };
            return vec![(branch, End::Final(fate))];
        }
        let rules_reader = self.ctx.rules;
        let rules = &rules_reader.dump().chain(chain).rules;
        let key = PacketKey::of(&branch.packet);
        let candidates = match self.verbose {
            true => None,
            false => self.memo.candidates(&rules_reader, chain, key),
        };
        let mut active = vec![branch];
        // Two lists reused rule after rule: KUBE-SERVICES has a rule per service.
        let mut next = Vec::new();
        let mut done = Vec::new();
        let mut position = 0;
        let mut candidate = 0;
        while position < rules.len() {
            // Jump to the next rule that can match, while every branch has the list's key
            // (a DNAT changes it; from then on each rule is looked at).
            if let Some(list) = &candidates
                && active.iter().all(|b| PacketKey::of(&b.packet) == key)
            {
                while candidate < list.len() && (list[candidate] as usize) < position {
                    candidate += 1;
                }
                match list.get(candidate) {
                    Some(&next_position) => position = next_position as usize,
                    None => break,
                }
            }
            let rule = rules[position];
            position += 1;
            for b in active.drain(..) {
                if !self.verbose && self.memo.rejects(rule, &b.packet) {
                    next.push(b);
                    continue;
                }
                for (out, end) in self.apply_rule(stage, chain, rule, b, depth) {
                    match end {
                        End::Next => next.push(out),
                        other => done.push((out, other)),
                    }
                }
            }
            std::mem::swap(&mut active, &mut next);
            if active.is_empty() {
                break;
            }
        }
        done.extend(active.into_iter().map(|b| (b, End::Return)));
        done
    }

    fn fork_allowed(&self, extra: usize) -> bool {
        let count = self.branches.get() + extra;
        if count > MAX_BRANCHES {
            return false;
        }
        self.branches.set(count);
        true
    }

    /// Tests a rule against a branch and, where it matches, applies its target.
    fn apply_rule(
        &self,
        stage: Stage,
        chain: ChainId,
        rule: RuleId,
        branch: Branch<'a>,
        depth: usize,
    ) -> Vec<(Branch<'a>, End<'a>)> {
        let body = match self.ctx.rules.body(rule) {
            Ok(body) => {
                self.memo.learn(rule, &body);
                body
            }
            Err(_) => {
                let fate = Fate::Undetermined {
                    rule: Some(rule),
                    reason: Undecided::Unreadable,
                };
                return vec![(branch, End::Final(fate))];
            }
        };
        let tester = Tester {
            host: self.ctx.host,
            hook: stage.hook,
        };
        let tests: Vec<Test<'a>> = body
            .matches
            .iter()
            .map(|m| tester.test(&branch, &body, m))
            .collect();
        if let Some(failed) = tests.iter().position(|t| matches!(t, Test::No)) {
            let mut branch = branch;
            if self.verbose {
                branch.misses.push(Miss {
                    before_step: branch.steps.len(),
                    table: stage.table,
                    hook: stage.hook,
                    chain,
                    rule,
                    failed,
                    packet: branch.packet.clone(),
                    mark: branch.mark,
                });
            }
            return vec![(branch, End::Next)];
        }
        let mut no_affinity = Vec::new();
        let mut chance = 1.0;
        let mut unknown = Vec::new();
        for t in tests {
            match t {
                Test::Chance(p) => chance *= p,
                Test::Unknown(why) => unknown.push(why),
                Test::NoAffinity { action, name } => {
                    no_affinity.push(AssumptionKind::NoAffinityHistory { action, name })
                }
                Test::Yes | Test::No => {}
            }
        }
        if !no_affinity.is_empty() {
            let mut b = branch;
            b.assumptions
                .extend(no_affinity.into_iter().map(|kind| Assumption {
                    rule: Some(rule),
                    kind,
                }));
            return vec![(b, End::Next)];
        }
        self.fork(stage, chain, rule, &body, branch, depth, chance, unknown)
    }

    /// Follows every world a matching rule leaves open: it matches (with probability
    /// `chance`), it does not (the rest of the chance), and, when some test is undecidable,
    /// the world where it does not match at all.
    #[allow(clippy::too_many_arguments)]
    fn fork(
        &self,
        stage: Stage,
        chain: ChainId,
        rule: RuleId,
        body: &RuleBody<'a>,
        branch: Branch<'a>,
        depth: usize,
        chance: f64,
        unknown: Vec<Undecidable<'a>>,
    ) -> Vec<(Branch<'a>, End<'a>)> {
        // The worlds to follow: (matches?, probability factor, assumption).
        let mut worlds: Vec<(bool, f64, Option<AssumptionKind<'a>>)> = Vec::new();
        let assumed = |matched: bool| {
            (!unknown.is_empty()).then(|| AssumptionKind::Decided {
                matched,
                why: unknown.clone(),
            })
        };
        worlds.push((true, chance, assumed(true)));
        if chance < 1.0 {
            worlds.push((false, 1.0 - chance, assumed(true)));
        }
        if !unknown.is_empty() {
            worlds.push((false, 1.0, assumed(false)));
        }
        if worlds.len() > 1 && !self.fork_allowed(worlds.len() - 1) {
            let fate = Fate::Undetermined {
                rule: Some(rule),
                reason: Undecided::TooManyBranches,
            };
            return vec![(branch, End::Final(fate))];
        }
        let mut out = Vec::new();
        for (matched, factor, assumption) in worlds {
            let mut b = branch.clone();
            b.probability *= factor;
            if let Some(kind) = assumption {
                b.assumptions.push(Assumption {
                    rule: Some(rule),
                    kind,
                });
            }
            if matched {
                out.extend(self.fire(stage, chain, rule, body, b, depth));
            } else {
                out.push((b, End::Next));
            }
        }
        out
    }

    pub(crate) fn step(
        &self,
        stage: Stage,
        chain: ChainId,
        rule: RuleId,
        action: Action<'a>,
    ) -> Step<'a> {
        Step {
            table: stage.table,
            hook: stage.hook,
            chain,
            rule: Some(rule),
            action,
        }
    }
}
