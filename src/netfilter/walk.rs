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
//!
//! Work is bounded by the input, not by the number of paths: a chain call is walked once
//! per state it is entered in and shared by every path that makes it
//! ([`crate::netfilter::calls`]); a jump back into a chain on the call stack in the same
//! state is a cycle ([`Undecided::Loop`]), one nested deeper than [`MAX_DEPTH`] is
//! [`Undecided::TooDeep`]; a walk that would follow more than [`Context::max_paths`] paths
//! (many undecidable rules in a row) stops with one undetermined branch
//! ([`Undecided::TooManyPaths`]), and so does one that evaluates more rules than the path
//! limit times the dump's rule count ([`Undecided::TooMuchWork`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rustc_hash::FxHashSet;

use crate::model::{ChainId, Policy, RuleBody, RuleId};
use crate::netfilter::calls::{CallKey, Calls, Dependence, Exit, Exits, FrameId};
use crate::netfilter::matching::{Test, Tester};
use crate::netfilter::memo::{PacketKey, RuleMemo};
use crate::netfilter::packet::{Host, Packet};
use crate::netfilter::path::{
    Action, AssumedChain, Assumption, AssumptionKind, Branch, FORKING_RULES_KEPT, Fate, MAX_DEPTH,
    Miss, State, Step, Undecidable, Undecided,
};
use crate::netfilter::pipeline::{Pipeline, Stage, hooks_after_routing, hooks_before_routing};
use crate::netfilter::trail::{Item, Trail};
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
    /// Most distinct paths followed for one packet ([`crate::netfilter::MAX_PATHS`] by
    /// default).
    pub max_paths: usize,
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

/// What one walk did, for tests, benchmarks and the fuzzer's work bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// Rules looked at for a path (a rule looked at for two paths counts twice; a rule a
    /// long chain's candidate list skips does not count).
    pub rule_visits: u64,
    /// Chain calls made, shared or not.
    pub calls: u64,
    /// Chain calls walked (not taken from the cache).
    pub calls_walked: u64,
    /// Distinct paths followed.
    pub paths: u64,
    /// Walks made (one per packet).
    pub walks: u64,
}

impl WalkStats {
    fn add(&mut self, other: WalkStats) {
        self.rule_visits += other.rule_visits;
        self.calls += other.calls;
        self.calls_walked += other.calls_walked;
        self.paths += other.paths;
        self.walks += other.walks;
    }
}

thread_local! {
    static WORK_ON_THIS_THREAD: Cell<WalkStats> = Cell::new(WalkStats::default());
}

/// The sum of [`WalkStats`] of every walk made on this thread so far (the fuzzer checks the
/// work `explain` does, which makes several walks).
pub fn work_on_this_thread() -> WalkStats {
    WORK_ON_THIS_THREAD.with(Cell::get)
}

/// Runs `packet` through the rules and returns every branch.
pub fn evaluate<'a>(ctx: &Context<'_, 'a>, packet: Packet) -> Vec<Branch<'a>> {
    evaluate_with(ctx, &RuleMemo::default(), packet)
}

/// [`evaluate`], remembering what it learns about rules in `memo` for the next packet run
/// against the same context.
pub fn evaluate_with<'a>(
    ctx: &Context<'_, 'a>,
    memo: &RuleMemo<'a>,
    packet: Packet,
) -> Vec<Branch<'a>> {
    evaluate_counted(ctx, memo, packet).0
}

/// [`evaluate_with`], also saying how much work the walk did.
pub fn evaluate_counted<'a>(
    ctx: &Context<'_, 'a>,
    memo: &RuleMemo<'a>,
    packet: Packet,
) -> (Vec<Branch<'a>>, WalkStats) {
    Walker::new(ctx, memo, Calls::shared()).run(packet)
}

/// Runs `packet`, carrying `mark` from the start, through the rules; with `verbose`, every
/// rule is tested in order (no memo shortcuts) and each one that did not match is kept in
/// the branch's trail ([`Trail::events`]) with the test that failed: the walk
/// `srcip-rules trace` shows. The branches are those [`evaluate`] gives.
pub fn trace<'a>(
    ctx: &Context<'_, 'a>,
    packet: Packet,
    mark: u32,
    verbose: bool,
) -> Vec<Branch<'a>> {
    let memo = if verbose {
        RuleMemo::walking_every_rule()
    } else {
        RuleMemo::default()
    };
    let mut walker = Walker::new(ctx, &memo, Calls::shared());
    walker.verbose = verbose;
    walker.start_mark = mark;
    walker.run(packet).0
}

/// The walk without sharing calls: every path walks every chain it enters. Exponential on
/// a diamond; the reference the shared walk is tested against.
#[cfg(test)]
pub(crate) fn evaluate_plain<'a>(
    ctx: &Context<'_, 'a>,
    packet: Packet,
) -> (Vec<Branch<'a>>, WalkStats) {
    Walker::new(ctx, &RuleMemo::walking_every_rule(), Calls::plain()).run(packet)
}

/// A path inside one chain call: its state, its chance relative to entering the chain, and
/// what it did there.
#[derive(Debug, Clone)]
pub(crate) struct Local<'a> {
    pub(crate) state: State,
    pub(crate) probability: f64,
    pub(crate) trail: Trail<'a>,
}

impl<'a> Local<'a> {
    /// Carries on after `exit`, a way out of a call this path made.
    pub(crate) fn after(&self, exit: &Rc<Exit<'a>>) -> Local<'a> {
        Local {
            state: exit.state.clone(),
            probability: self.probability * exit.probability,
            trail: self.trail.with(Item::Call(Rc::clone(exit))),
        }
    }
}

/// A call on the stack: its interned frame, and what its walk depends on so far.
struct Frame {
    id: FrameId,
    dependence: Dependence,
}

/// A chain call's outcome, and whether it was walked now (false: taken from the cache).
pub(crate) struct Called<'a> {
    pub(crate) exits: Exits<'a>,
    pub(crate) walked: bool,
}

pub(crate) struct Walker<'w, 'c, 'a> {
    pub(crate) ctx: &'w Context<'c, 'a>,
    memo: &'w RuleMemo<'a>,
    calls: RefCell<Calls<'a>>,
    stack: RefCell<Vec<Frame>>,
    on_stack: RefCell<FxHashSet<Rc<CallKey>>>,
    stats: Cell<WalkStats>,
    work_limit: u64,
    /// Distinct rules that forked the path, the first [`FORKING_RULES_KEPT`] in order.
    forking: RefCell<(Vec<RuleId>, FxHashSet<RuleId>)>,
    /// Why the walk stopped, once it has: where, and the reason.
    stopped: RefCell<Option<(Option<RuleId>, Undecided<'a>)>>,
    /// Keep every rule that did not match, with the test that failed.
    verbose: bool,
    /// The packet mark at the start.
    start_mark: u32,
}

impl<'w, 'c, 'a> Walker<'w, 'c, 'a> {
    fn new(ctx: &'w Context<'c, 'a>, memo: &'w RuleMemo<'a>, calls: Calls<'a>) -> Self {
        let rules = ctx.rules.dump().rules.len() as u64;
        Walker {
            ctx,
            memo,
            calls: RefCell::new(calls),
            stack: RefCell::default(),
            on_stack: RefCell::default(),
            stats: Cell::new(WalkStats {
                paths: 1,
                walks: 1,
                ..WalkStats::default()
            }),
            work_limit: (ctx.max_paths.max(1) as u64).saturating_mul(rules + 256),
            forking: RefCell::default(),
            stopped: RefCell::new(None),
            verbose: false,
            start_mark: 0,
        }
    }

    /// Walks `packet`; when the walk had to stop, one undetermined branch says why.
    fn run(self, packet: Packet) -> (Vec<Branch<'a>>, WalkStats) {
        let mut branches = self.walk(packet.clone());
        if let Some((rule, reason)) = self.stopped.take() {
            let mut stopped = Branch::new(packet);
            stopped.fate = Fate::Undetermined { rule, reason };
            branches = vec![stopped];
        }
        let stats = self.stats.get();
        WORK_ON_THIS_THREAD.with(|work| {
            let mut sum = work.get();
            sum.add(stats);
            work.set(sum);
        });
        (branches, stats)
    }

    fn is_stopped(&self) -> bool {
        self.stopped.borrow().is_some()
    }

    fn stop(&self, rule: Option<RuleId>, reason: Undecided<'a>) {
        let mut stopped = self.stopped.borrow_mut();
        if stopped.is_none() {
            *stopped = Some((rule, reason));
        }
    }

    fn update_stats(&self, change: impl FnOnce(&mut WalkStats)) {
        let mut stats = self.stats.get();
        change(&mut stats);
        self.stats.set(stats);
    }

    /// Counts `extra` new paths made at `rule`; stops the walk past the limit.
    pub(crate) fn more_paths(&self, extra: usize, rule: Option<RuleId>) {
        if extra == 0 {
            return;
        }
        self.update_stats(|s| s.paths += extra as u64);
        if self.stats.get().paths > self.ctx.max_paths as u64 {
            let (forking, seen) = &*self.forking.borrow();
            self.stop(
                rule,
                Undecided::TooManyPaths {
                    limit: self.ctx.max_paths,
                    forking: forking.clone(),
                    forking_count: seen.len(),
                },
            );
        }
    }

    /// A rule forked the path into `worlds` outcomes.
    fn forked(&self, rule: RuleId, worlds: usize) {
        {
            let (first, seen) = &mut *self.forking.borrow_mut();
            if seen.insert(rule) && first.len() < FORKING_RULES_KEPT {
                first.push(rule);
            }
        }
        self.more_paths(worlds - 1, Some(rule));
    }

    /// Counts a rule looked at for a path; stops the walk past the work limit.
    fn visit(&self) {
        self.update_stats(|s| s.rule_visits += 1);
        if self.stats.get().rule_visits > self.work_limit {
            self.stop(
                None,
                Undecided::TooMuchWork {
                    limit: self.work_limit,
                },
            );
        }
    }

    fn walk(&self, packet: Packet) -> Vec<Branch<'a>> {
        let origin = packet.origin;
        let mut finished = Vec::new();
        let mut start = Branch::new(packet);
        start.mark = self.start_mark;
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
                if self.is_stopped() {
                    return Vec::new();
                }
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
        let key = Rc::new(CallKey::new(stage, stage.chain, branch.state()));
        let called = self.call(key, 0);
        if !called.walked {
            self.more_paths(called.exits.len().saturating_sub(1), None);
        }
        let mut out = Vec::new();
        for exit in called.exits.iter() {
            let mut b = branch.clone();
            b.set_state(exit.state.clone());
            b.probability *= exit.probability;
            b.trail.push(Item::Call(Rc::clone(exit)));
            match (exit.end.clone(), policy) {
                (End::Next | End::Return, Some(Policy::Drop)) => {
                    b.trail.push(Item::Step(Step {
                        table: stage.table,
                        hook: stage.hook,
                        chain: stage.chain,
                        rule: None,
                        action: Action::Policy(Policy::Drop),
                    }));
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

    /// True if a call to `key` would re-enter a chain on the call stack in the same state.
    pub(crate) fn would_loop(&self, key: &CallKey) -> bool {
        self.on_stack.borrow().contains(key)
    }

    /// The walk of the chain on top of the stack met a cycle or the depth limit: its
    /// outcome depends on the call stack.
    pub(crate) fn depends_on_stack(&self) {
        if let Some(top) = self.stack.borrow_mut().last_mut() {
            top.dependence.on_stack = true;
        }
    }

    /// Calls a chain: its outcome from the cache, or walked now (and kept).
    pub(crate) fn call(&self, key: Rc<CallKey>, depth: usize) -> Called<'a> {
        self.update_stats(|s| s.calls += 1);
        let caller = self.stack.borrow().last().map_or(FrameId::ROOT, |f| f.id);
        let frame = self.calls.borrow_mut().frame(caller, &key);
        let found = self.calls.borrow().find(&key, frame, depth);
        if let Some((exits, dependence)) = found {
            self.include(dependence);
            return Called {
                exits,
                walked: false,
            };
        }
        self.update_stats(|s| s.calls_walked += 1);
        self.stack.borrow_mut().push(Frame {
            id: frame,
            dependence: Dependence::default(),
        });
        self.on_stack.borrow_mut().insert(Rc::clone(&key));
        let entry = Local {
            state: key.state.clone(),
            probability: 1.0,
            trail: Trail::default(),
        };
        // Each level of nesting takes a few kB of stack (17 kB unoptimised): past the first
        // levels, the recursion goes on in stack segments allocated as needed.
        let outcomes = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || {
            self.run_chain(key.stage, key.chain, entry, depth)
        });
        self.on_stack.borrow_mut().remove(&key);
        let dependence = self
            .stack
            .borrow_mut()
            .pop()
            .map(|f| f.dependence)
            .unwrap_or_default();
        let exits: Exits<'a> = outcomes
            .into_iter()
            .map(|(local, end)| {
                Rc::new(Exit {
                    state: local.state,
                    probability: local.probability,
                    trail: local.trail,
                    end,
                })
            })
            .collect();
        if !self.is_stopped() {
            self.calls.borrow_mut().keep(key, frame, &exits, dependence);
        }
        self.include(dependence);
        Called {
            exits,
            walked: true,
        }
    }

    /// The chain on top of the stack made a call that depended on `callee`.
    fn include(&self, callee: Dependence) {
        if let Some(top) = self.stack.borrow_mut().last_mut() {
            top.dependence.include(callee);
        }
    }

    /// Runs one path through a chain; returns each resulting path with how it ended.
    fn run_chain(
        &self,
        stage: Stage,
        chain: ChainId,
        entry: Local<'a>,
        depth: usize,
    ) -> Vec<(Local<'a>, End<'a>)> {
        let rules_reader = self.ctx.rules;
        let rules = &rules_reader.dump().chain(chain).rules;
        let key = PacketKey::of(&entry.state.packet);
        let candidates = self.memo.candidates(&rules_reader, chain, key);
        let mut active = vec![entry];
        // Two lists reused rule after rule: KUBE-SERVICES has a rule per service.
        let mut next = Vec::new();
        let mut done = Vec::new();
        let mut position = 0;
        let mut candidate = 0;
        while position < rules.len() {
            // Jump to the next rule that can match, while every path has the list's key
            // (a DNAT changes it; from then on each rule is looked at).
            if let Some(list) = &candidates
                && active.iter().all(|l| PacketKey::of(&l.state.packet) == key)
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
            for local in active.drain(..) {
                self.visit();
                if self.is_stopped() {
                    return Vec::new();
                }
                if !self.verbose && self.memo.rejects(rule, &local.state.packet) {
                    next.push(local);
                    continue;
                }
                for (out, end) in self.apply_rule(stage, chain, rule, local, depth) {
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
        done.extend(active.into_iter().map(|l| (l, End::Return)));
        done
    }

    /// The rule's typed body, typed once for every walk sharing the memo; `None` if it
    /// does not parse.
    fn body(&self, rule: RuleId) -> Option<Rc<RuleBody<'a>>> {
        self.memo.body(&self.ctx.rules, rule)
    }

    /// Tests a rule against a path and, where it matches, applies its target.
    fn apply_rule(
        &self,
        stage: Stage,
        chain: ChainId,
        rule: RuleId,
        local: Local<'a>,
        depth: usize,
    ) -> Vec<(Local<'a>, End<'a>)> {
        let Some(body) = self.body(rule) else {
            let fate = Fate::Undetermined {
                rule: Some(rule),
                reason: Undecided::Unreadable,
            };
            return vec![(local, End::Final(fate))];
        };
        let tester = Tester {
            host: self.ctx.host,
            hook: stage.hook,
        };
        let tests: Vec<Test<'a>> = body
            .matches
            .iter()
            .map(|m| tester.test(&local.state, &body, m))
            .collect();
        if let Some(failed) = tests.iter().position(|t| matches!(t, Test::No)) {
            let mut local = local;
            if self.verbose {
                local.trail.push(Item::Miss(Miss {
                    table: stage.table,
                    hook: stage.hook,
                    chain,
                    rule,
                    failed,
                    packet: local.state.packet.clone(),
                    mark: local.state.mark,
                }));
            }
            return vec![(local, End::Next)];
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
            let mut l = local;
            for kind in no_affinity {
                l.trail.push(Item::Assumption(Assumption {
                    rule: Some(rule),
                    kind,
                }));
            }
            return vec![(l, End::Next)];
        }
        self.fork(stage, chain, rule, &body, local, depth, chance, unknown)
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
        local: Local<'a>,
        depth: usize,
        chance: f64,
        unknown: Vec<Undecidable<'a>>,
    ) -> Vec<(Local<'a>, End<'a>)> {
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
        if worlds.len() > 1 {
            self.forked(rule, worlds.len());
            if self.is_stopped() {
                return Vec::new();
            }
        }
        let mut out = Vec::new();
        for (matched, factor, assumption) in worlds {
            let mut l = local.clone();
            l.probability *= factor;
            if let Some(kind) = assumption {
                l.trail.push(Item::Assumption(Assumption {
                    rule: Some(rule),
                    kind,
                }));
            }
            if matched {
                out.extend(self.fire(stage, chain, rule, body, l, depth));
            } else {
                out.push((l, End::Next));
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

/// Stack left when a chain call grows the stack ([`stacker::maybe_grow`]).
const STACK_RED_ZONE: usize = 128 * 1024;
/// Stack added each time.
const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// A call nested deeper than [`MAX_DEPTH`] is not made.
pub(crate) fn too_deep(depth: usize) -> bool {
    depth > MAX_DEPTH
}
