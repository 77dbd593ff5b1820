//! The packet-path evaluator: walks a new connection through the netfilter hooks in kernel
//! order, rule by rule, and returns every branch it can take.
//!
//! Order (IPv4/IPv6 alike): raw → mangle → nat PREROUTING for packets from the network, or
//! raw → mangle → nat → filter OUTPUT for packets sent by the node; then the routing decision
//! (is the — possibly DNATed — destination an address of this node?); then mangle/filter INPUT
//! (and nat INPUT) for local delivery, or mangle/filter FORWARD and mangle/nat POSTROUTING for
//! packets that leave. Only the first packet of a new connection is modelled, which is the
//! one the nat table sees.
//!
//! A rule whose outcome cannot be decided from the packet (`-m statistic` randomness, an
//! interface test, an unknown module) forks the path: every outcome becomes its own
//! [`Branch`], with its probability or the assumption it rests on.

use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use crate::analyze::packet::{Host, Origin, Packet};
use crate::model::matcher::{Interface, PortDirection, Statistic};
use crate::model::{
    ChainId, MarkOp, Match, ModuleKind, Negatable, PacketTests, Policy, PortRange, PortTests,
    Protocol, RuleBody, RuleId, TableId, TargetKind,
};
use crate::parse::RuleReader;
use crate::parse::scan::leading::leading_tests_until;

/// Deepest chain nesting followed before a branch is given up as a loop.
pub const MAX_DEPTH: usize = 64;
/// Most branches followed for one packet before the rest are given up.
pub const MAX_BRANCHES: usize = 4096;

/// A netfilter hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hook {
    /// Packets from the network, before routing.
    Prerouting,
    /// Packets delivered to this node.
    Input,
    /// Packets routed through this node.
    Forward,
    /// Packets sent by this node.
    Output,
    /// Every packet leaving, after routing.
    Postrouting,
}

impl Hook {
    /// The built-in chain's name.
    pub fn chain_name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }
}

/// A chain whose body is missing from the dump but whose effect is known (e.g. kube-proxy's
/// `KUBE-MARK-MASQ` in a `grep` fragment): a jump to it applies `mark` and returns.
#[derive(Debug, Clone, PartialEq)]
pub struct AssumedChain {
    /// The chain's name.
    pub name: String,
    /// The mark operation it performs.
    pub mark: MarkOp,
    /// What is assumed, for the report.
    pub description: String,
}

/// What the evaluator runs against.
#[derive(Debug, Clone)]
pub struct Context<'d, 'a> {
    /// The dump.
    pub dump: &'d RuleReader<'d, 'a>,
    /// The tables the packet meets (one per name: raw, mangle, nat, filter...).
    pub tables: Vec<TableId>,
    /// This node's addresses.
    pub host: &'d Host,
    /// Missing chains with a known effect.
    pub assumed_chains: Vec<AssumedChain>,
    /// For fragments without nat hook chains: the chain the nat stage starts in instead.
    pub nat_entry: Option<ChainId>,
}

/// What one matched rule (or a chain policy) did to the packet.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Jumped to a chain.
    Jump(String),
    /// Went to a chain (`-g`).
    Goto(String),
    /// Returned to the calling chain.
    Return,
    /// Changed the packet mark.
    Mark {
        /// Mark before.
        before: u32,
        /// Mark after.
        after: u32,
    },
    /// A missing chain assumed to apply a mark (see [`AssumedChain`]).
    AssumedMark {
        /// The chain.
        chain: String,
        /// Mark before.
        before: u32,
        /// Mark after.
        after: u32,
    },
    /// Destination NAT to this address.
    Dnat(String),
    /// Source NAT to the outgoing interface's address.
    Masquerade,
    /// Source NAT to this address.
    Snat(String),
    /// Accepted (ends the table for this hook).
    Accept,
    /// Dropped.
    Drop,
    /// Rejected.
    Reject,
    /// A built-in chain's policy applied.
    Policy(Policy),
    /// Matched but changed nothing (comment-only rule, LOG, counters...).
    NoEffect,
    /// A target whose effect is not modelled; the path continues, with a note.
    Ignored(String),
}

/// One step of a path: a rule that matched, or a chain policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The table's name.
    pub table: String,
    /// The hook being traversed.
    pub hook: Hook,
    /// The chain the rule is in.
    pub chain: String,
    /// The rule, or `None` for a policy.
    pub rule: Option<RuleId>,
    /// What it did.
    pub action: Action,
}

/// A decision the evaluator could not make from the packet alone, and what it assumed.
#[derive(Debug, Clone, PartialEq)]
pub struct Assumption {
    /// The rule it concerns, if any.
    pub rule: Option<RuleId>,
    /// What was assumed and why.
    pub text: String,
    /// True for a guess that forks the path (undetermined); false for a stated fact about
    /// a new connection (e.g. no affinity history).
    pub forks: bool,
}

/// A source or destination NAT that happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Nat {
    /// The rule that did it.
    pub rule: RuleId,
    /// The new address (and port) as the rule states it; for MASQUERADE, `None`.
    pub to: Option<String>,
    /// The one address the rule translates to, when it names exactly one (`SNAT
    /// --to-source 192.0.2.11[:ports]`); `None` for a range, several ranges or MASQUERADE.
    pub address: Option<IpAddr>,
}

/// How a branch ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// Delivered to a socket on this node.
    Delivered,
    /// Sent out of the node (forwarded, or locally generated and routed away).
    Forwarded,
    /// Dropped by a rule, or by a chain policy (`rule: None`).
    Dropped {
        /// The rule.
        rule: Option<RuleId>,
        /// The chain.
        chain: String,
    },
    /// Rejected.
    Rejected {
        /// The rule.
        rule: RuleId,
    },
    /// The evaluator could not follow the path further.
    Undetermined {
        /// The rule where it stopped.
        rule: Option<RuleId>,
        /// Why.
        reason: Undecided,
    },
}

/// Why a branch could not be followed to its end.
#[derive(Debug, Clone, PartialEq)]
pub enum Undecided {
    /// A jump to a chain that is not in the dump (a fragment).
    MissingChain(String),
    /// A target whose effect is unknown (NFQUEUE, TPROXY, ...).
    Target(String),
    /// Deeper than [`MAX_DEPTH`]: a loop in the rules.
    TooDeep,
    /// More than [`MAX_BRANCHES`] branches.
    TooManyBranches,
}

/// One way a packet can go.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// Chance of this branch among those with the same assumptions.
    pub probability: f64,
    /// The packet as it entered.
    pub original: Packet,
    /// The packet as it is at the end (after NAT).
    pub packet: Packet,
    /// The packet mark at the end.
    pub mark: u32,
    /// Destination NAT, if any.
    pub dnat: Option<Nat>,
    /// Source NAT, if any.
    pub snat: Option<Nat>,
    /// Every rule that matched, and policies, in order.
    pub steps: Vec<Step>,
    /// Assumptions made on the way.
    pub assumptions: Vec<Assumption>,
    /// How it ended.
    pub fate: Fate,
}

impl Branch {
    fn new(packet: Packet) -> Self {
        Branch {
            probability: 1.0,
            original: packet.clone(),
            packet,
            mark: 0,
            dnat: None,
            snat: None,
            steps: Vec::new(),
            assumptions: Vec::new(),
            fate: Fate::Forwarded,
        }
    }
}

/// How a chain (or one rule) ends for a branch.
#[derive(Debug, Clone, PartialEq)]
enum End {
    /// Keep going with the next rule.
    Next,
    /// Fell off the end of the chain, or RETURN.
    Return,
    /// Ends the table for this hook and carries on with the next stage.
    Accept,
    /// Ends the packet's path.
    Final(Fate),
}

/// The result of testing one rule's matches against a branch.
enum Test {
    Yes,
    No,
    Chance(f64),
    Unknown(String),
    /// Does not match, for a reason worth telling (e.g. no affinity history).
    NoBecause(String),
}

/// Runs `packet` through the rules and returns every branch.
pub fn evaluate(ctx: &Context<'_, '_>, packet: Packet) -> Vec<Branch> {
    evaluate_with(ctx, &RuleMemo::default(), packet)
}

/// [`evaluate`], remembering what it learns about rules in `memo` for the next packet run
/// against the same context.
pub fn evaluate_with(ctx: &Context<'_, '_>, memo: &RuleMemo, packet: Packet) -> Vec<Branch> {
    let walker = Walker {
        ctx,
        memo,
        branches: Cell::new(1),
    };
    walker.walk(packet)
}

/// What the evaluator keeps of each rule it has typed: the tests that depend only on the
/// packet's destination, protocol and ports. `explain` runs one packet per source class,
/// and each walks every cluster-IP rule of KUBE-SERVICES (50,000 on a large node) and every
/// rule of KUBE-NODEPORTS; with the memo each of those is typed once, and later packets
/// pass a rule whose remembered test fails without typing it again. The memo only ever
/// skips rules that the typed test would reject too (any failing test rejects a rule, and
/// these tests have no side effects), and only rules that typed without error are in it.
///
/// For a long chain it also keeps, per packet key (destination, protocol and ports), the
/// positions of the rules whose remembered tests do not reject that key, so that the next
/// walk of KUBE-SERVICES with the same key visits a handful of rules, not 50,000 memo
/// entries. Building such a list reads each rule's first words ([`leading_tests`](crate::parse::scan::leading::leading_tests)) and
/// types only the rules those do not already reject; a rule rejected that way is not read
/// further, so an error later in its text is not reported (as for every rule `explain`
/// does not read; `inspect` checks them all).
#[derive(Debug)]
pub struct RuleMemo {
    rules: RefCell<FxHashMap<RuleId, PacketTests>>,
    candidates: RefCell<FxHashMap<(ChainId, PacketKey), Candidates>>,
    /// For each long chain, what was read of each rule, by position (a dense list: the
    /// second packet key passes over it in order instead of probing the map per rule).
    long_chain_tests: RefCell<FxHashMap<ChainId, Vec<ReadTests>>>,
    /// Chains with at least this many rules get candidate lists.
    long_chain: usize,
}

impl Default for RuleMemo {
    fn default() -> Self {
        RuleMemo {
            rules: RefCell::default(),
            candidates: RefCell::default(),
            long_chain_tests: RefCell::default(),
            long_chain: LONG_CHAIN,
        }
    }
}

/// What a candidate list has read of one rule.
#[derive(Debug, Clone)]
enum ReadTests {
    /// Not read yet.
    Unread,
    /// Its tests (all of them, or the first words' when those rejected a key).
    Tests(PacketTests),
    /// It could not be typed: always a candidate, and the walk reports it.
    Unreadable,
}

/// Positions (0-based) of the rules of a chain that a packet key may match.
type Candidates = Rc<[u32]>;

/// Chains with at least this many rules get candidate lists ([`RuleMemo`]) by default.
const LONG_CHAIN: usize = 256;

/// The fields of a packet that [`PacketTests`] test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PacketKey {
    dst: IpAddr,
    protocol: Protocol,
    sport: u16,
    dport: u16,
}

impl PacketKey {
    fn of(p: &Packet) -> Self {
        PacketKey {
            dst: p.dst,
            protocol: p.protocol,
            sport: p.sport,
            dport: p.dport,
        }
    }
}

/// True if one of `tests` fails for `p`: the same answers as [`Walker::test`].
fn tests_reject(tests: &PacketTests, p: &Packet) -> bool {
    let fails = |ok: bool, negated: bool| ok == negated;
    if let Some(d) = &tests.destination
        && fails(d.value.contains(p.dst), d.negated)
    {
        return true;
    }
    if let Some(n) = &tests.protocol
        && fails(n.value.matches(p.protocol), n.negated)
    {
        return true;
    }
    if let Some(PortTests { sport, dport }) = &tests.ports {
        return !ports_pass(sport, dport, p);
    }
    false
}

/// True if the packet's ports pass a `--sport` and a `--dport` test (an absent test passes).
fn ports_pass(
    sport: &Option<Negatable<PortRange>>,
    dport: &Option<Negatable<PortRange>>,
    p: &Packet,
) -> bool {
    let passes = |test: &Option<Negatable<PortRange>>, port: u16| {
        test.as_ref()
            .is_none_or(|t| t.value.contains(port) != t.negated)
    };
    passes(sport, p.sport) && passes(dport, p.dport)
}

impl RuleMemo {
    /// A memo without candidate lists, which looks at every rule of every chain it walks:
    /// the reference the lists are checked against.
    pub fn walking_every_rule() -> Self {
        RuleMemo {
            long_chain: usize::MAX,
            ..RuleMemo::default()
        }
    }

    /// True if `rule` was typed before and one of its tests fails for `packet`.
    fn rejects(&self, rule: RuleId, packet: &Packet) -> bool {
        self.rules
            .borrow()
            .get(&rule)
            .is_some_and(|tests| tests_reject(tests, packet))
    }

    /// For a long chain, the positions (0-based) of its rules that packets with `key` may
    /// match: every rule but those whose tests reject the key. Types each rule of the chain
    /// it has not seen yet. `None` for a short chain, which is walked rule by rule.
    fn candidates(
        &self,
        dump: &RuleReader<'_, '_>,
        chain: ChainId,
        key: PacketKey,
    ) -> Option<Candidates> {
        let rules = &dump.chain(chain).rules;
        if rules.len() < self.long_chain {
            return None;
        }
        if let Some(found) = self.candidates.borrow().get(&(chain, key)) {
            return Some(Rc::clone(found));
        }
        let probe = Packet {
            src: key.dst,
            dst: key.dst,
            protocol: key.protocol,
            sport: key.sport,
            dport: key.dport,
            origin: Origin::Remote,
            in_interface: None,
            out_interface: None,
        };
        let mut all_tests = self.long_chain_tests.borrow_mut();
        let read = all_tests
            .entry(chain)
            .or_insert_with(|| vec![ReadTests::Unread; rules.len()]);
        let mut list = Vec::new();
        for (position, &rule) in rules.iter().enumerate() {
            let slot = &mut read[position];
            if matches!(slot, ReadTests::Unread) {
                // Most rules of a long chain reject the key in their first words: those
                // are not typed, and what they showed is remembered.
                let args = &dump.text[dump.rule(rule).args().range()];
                let leading = leading_tests_until(args, |t| tests_reject(t, &probe));
                *slot = if tests_reject(&leading, &probe) {
                    ReadTests::Tests(leading)
                } else {
                    match dump.body(rule) {
                        Ok(body) => ReadTests::Tests(PacketTests::of(&body)),
                        Err(_) => ReadTests::Unreadable,
                    }
                };
            }
            let rejected = match slot {
                ReadTests::Tests(tests) => tests_reject(tests, &probe),
                ReadTests::Unread | ReadTests::Unreadable => false,
            };
            if !rejected {
                list.push(position as u32);
            }
        }
        let list: Candidates = list.into();
        self.candidates
            .borrow_mut()
            .insert((chain, key), Rc::clone(&list));
        Some(list)
    }

    /// Remembers the tests of `rule`, which typed as `body`.
    fn learn(&self, rule: RuleId, body: &RuleBody<'_>) {
        let mut rules = self.rules.borrow_mut();
        if rules.contains_key(&rule) {
            return;
        }
        let tests = PacketTests::of(body);
        if !tests.is_empty() {
            rules.insert(rule, tests);
        }
    }
}

struct Walker<'c, 'd, 'a> {
    ctx: &'c Context<'d, 'a>,
    memo: &'c RuleMemo,
    branches: Cell<usize>,
}

/// One stage of the path: a table's built-in chain at a hook.
#[derive(Clone, Copy)]
struct Stage {
    table: &'static str,
    hook: Hook,
}

const fn stage(table: &'static str, hook: Hook) -> Stage {
    Stage { table, hook }
}

impl Walker<'_, '_, '_> {
    fn walk(&self, packet: Packet) -> Vec<Branch> {
        let before_routing: &[Stage] = match packet.origin {
            Origin::Remote => &[
                stage("raw", Hook::Prerouting),
                stage("mangle", Hook::Prerouting),
                stage("nat", Hook::Prerouting),
            ],
            Origin::Local => &[
                stage("raw", Hook::Output),
                stage("mangle", Hook::Output),
                stage("nat", Hook::Output),
                stage("filter", Hook::Output),
            ],
        };
        let mut finished = Vec::new();
        let routed = self.run_stages(vec![Branch::new(packet)], before_routing, &mut finished);
        for branch in routed {
            let local = self.ctx.host.is_local(branch.packet.dst);
            let after: &[Stage] = match (branch.original.origin, local) {
                (Origin::Remote, true) => &[
                    stage("mangle", Hook::Input),
                    stage("filter", Hook::Input),
                    stage("nat", Hook::Input),
                ],
                (Origin::Remote, false) => &[
                    stage("mangle", Hook::Forward),
                    stage("filter", Hook::Forward),
                    stage("mangle", Hook::Postrouting),
                    stage("nat", Hook::Postrouting),
                ],
                (Origin::Local, true) => &[
                    stage("mangle", Hook::Postrouting),
                    stage("nat", Hook::Postrouting),
                    stage("mangle", Hook::Input),
                    stage("filter", Hook::Input),
                    stage("nat", Hook::Input),
                ],
                (Origin::Local, false) => &[
                    stage("mangle", Hook::Postrouting),
                    stage("nat", Hook::Postrouting),
                ],
            };
            for mut done in self.run_stages(vec![branch], after, &mut finished) {
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

    /// Runs branches through stages; returns the ones that got through all of them and
    /// pushes the ones that ended early onto `finished`.
    fn run_stages(
        &self,
        mut branches: Vec<Branch>,
        stages: &[Stage],
        finished: &mut Vec<Branch>,
    ) -> Vec<Branch> {
        for st in stages {
            let mut next = Vec::new();
            for branch in branches {
                for (mut out, end) in self.run_stage(*st, branch) {
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

    fn table(&self, name: &str) -> Option<TableId> {
        self.ctx
            .tables
            .iter()
            .copied()
            .find(|&t| self.ctx.dump.table(t).name == name)
    }

    fn run_stage(&self, st: Stage, branch: Branch) -> Vec<(Branch, End)> {
        let Some(table) = self.table(st.table) else {
            return vec![(branch, End::Accept)];
        };
        let is_nat_entry = st.table == "nat" && matches!(st.hook, Hook::Prerouting | Hook::Output);
        let chain = match (is_nat_entry, self.ctx.nat_entry) {
            (true, Some(entry)) => Some(entry),
            _ => self.ctx.dump.chain_id(table, st.hook.chain_name()),
        };
        let Some(chain) = chain else {
            return vec![(branch, End::Accept)];
        };
        let policy = self.ctx.dump.chain(chain).policy;
        let mut out = Vec::new();
        for (mut b, end) in self.run_chain(st, chain, branch, 0) {
            match end {
                End::Next | End::Return => {
                    // Fell off a built-in chain: its policy decides.
                    match policy {
                        Some(Policy::Drop) => {
                            b.steps.push(Step {
                                table: st.table.to_string(),
                                hook: st.hook,
                                chain: st.hook.chain_name().to_string(),
                                rule: None,
                                action: Action::Policy(Policy::Drop),
                            });
                            let fate = Fate::Dropped {
                                rule: None,
                                chain: st.hook.chain_name().to_string(),
                            };
                            out.push((b, End::Final(fate)));
                        }
                        _ => out.push((b, End::Accept)),
                    }
                }
                other => out.push((b, other)),
            }
        }
        out
    }

    /// Runs one branch through a chain; returns each resulting branch with how it ended.
    fn run_chain(
        &self,
        st: Stage,
        chain: ChainId,
        branch: Branch,
        depth: usize,
    ) -> Vec<(Branch, End)> {
        if depth > MAX_DEPTH {
            let rule = branch.steps.last().and_then(|s| s.rule);
            let fate = Fate::Undetermined {
                rule,
                reason: Undecided::TooDeep,
            };
            return vec![(branch, End::Final(fate))];
        }
        let dump = self.ctx.dump;
        let rules = &dump.chain(chain).rules;
        let key = PacketKey::of(&branch.packet);
        let candidates = self.memo.candidates(dump, chain, key);
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
                if self.memo.rejects(rule, &b.packet) {
                    next.push(b);
                    continue;
                }
                for (out, end) in self.apply_rule(st, chain, rule, b, depth) {
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

    fn apply_rule(
        &self,
        st: Stage,
        chain: ChainId,
        rule: RuleId,
        branch: Branch,
        depth: usize,
    ) -> Vec<(Branch, End)> {
        let body = match self.ctx.dump.body(rule) {
            Ok(body) => {
                self.memo.learn(rule, &body);
                body
            }
            Err(_) => {
                let fate = Fate::Undetermined {
                    rule: Some(rule),
                    reason: Undecided::Target("the rule could not be read".to_string()),
                };
                return vec![(branch, End::Final(fate))];
            }
        };
        let tests: Vec<Test> = body
            .matches
            .iter()
            .map(|m| self.test(st, &branch, &body, m))
            .collect();
        if tests.iter().any(|t| matches!(t, Test::No)) {
            return vec![(branch, End::Next)];
        }
        let reasons: Vec<&String> = tests
            .iter()
            .filter_map(|t| match t {
                Test::NoBecause(why) => Some(why),
                _ => None,
            })
            .collect();
        if !reasons.is_empty() {
            let mut b = branch;
            for why in reasons {
                b.assumptions.push(Assumption {
                    rule: Some(rule),
                    text: why.clone(),
                    forks: false,
                });
            }
            return vec![(b, End::Next)];
        }
        let mut chance = 1.0;
        let mut unknown = Vec::new();
        for t in tests {
            match t {
                Test::Chance(p) => chance *= p,
                Test::Unknown(why) => unknown.push(why),
                Test::Yes | Test::No | Test::NoBecause(_) => {}
            }
        }
        // The worlds to follow: (matches?, probability factor, assumption).
        let mut worlds: Vec<(bool, f64, Option<String>)> = Vec::new();
        if unknown.is_empty() {
            worlds.push((true, chance, None));
            if chance < 1.0 {
                worlds.push((false, 1.0 - chance, None));
            }
        } else {
            let why = unknown.join("; ");
            worlds.push((true, chance, Some(format!("assumed to match: {why}"))));
            if chance < 1.0 {
                worlds.push((
                    false,
                    1.0 - chance,
                    Some(format!("assumed to match: {why}")),
                ));
            }
            worlds.push((false, 1.0, Some(format!("assumed not to match: {why}"))));
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
            if let Some(text) = assumption {
                b.assumptions.push(Assumption {
                    rule: Some(rule),
                    text,
                    forks: true,
                });
            }
            if !matched {
                out.push((b, End::Next));
                continue;
            }
            out.extend(self.fire(st, chain, rule, &body, b, depth));
        }
        out
    }

    fn step(&self, st: Stage, chain: ChainId, rule: RuleId, action: Action) -> Step {
        Step {
            table: st.table.to_string(),
            hook: st.hook,
            chain: self.ctx.dump.chain(chain).name.to_string(),
            rule: Some(rule),
            action,
        }
    }

    /// Records a destination NAT (DNAT or REDIRECT) on the branch; the nat table is done.
    fn record_dnat(
        &self,
        st: Stage,
        chain: ChainId,
        rule: RuleId,
        b: &mut Branch,
        to: String,
    ) -> End {
        b.steps
            .push(self.step(st, chain, rule, Action::Dnat(to.clone())));
        b.dnat = Some(Nat {
            rule,
            to: Some(to),
            address: None,
        });
        End::Accept
    }

    /// Applies a matched rule's target.
    fn fire(
        &self,
        st: Stage,
        chain: ChainId,
        rule: RuleId,
        body: &RuleBody<'_>,
        mut b: Branch,
        depth: usize,
    ) -> Vec<(Branch, End)> {
        let Some(target) = &body.target else {
            b.steps.push(self.step(st, chain, rule, Action::NoEffect));
            return vec![(b, End::Next)];
        };
        let end = match &target.kind {
            TargetKind::Accept => {
                b.steps.push(self.step(st, chain, rule, Action::Accept));
                End::Accept
            }
            TargetKind::Drop => {
                b.steps.push(self.step(st, chain, rule, Action::Drop));
                End::Final(Fate::Dropped {
                    rule: Some(rule),
                    chain: self.ctx.dump.chain(chain).name.to_string(),
                })
            }
            TargetKind::Reject { .. } => {
                b.steps.push(self.step(st, chain, rule, Action::Reject));
                End::Final(Fate::Rejected { rule })
            }
            TargetKind::Return => {
                b.steps.push(self.step(st, chain, rule, Action::Return));
                End::Return
            }
            TargetKind::Chain(name) => {
                return self.jump(st, chain, rule, name, target.goto, b, depth);
            }
            TargetKind::Dnat { to } => {
                let text = to.first().map(|r| r.to_string()).unwrap_or_default();
                if let Some(range) = to.first() {
                    if let Some(addr) = range.first {
                        b.packet.dst = addr;
                    }
                    if let Some(ports) = range.ports {
                        b.packet.dport = ports.first;
                    }
                }
                self.record_dnat(st, chain, rule, &mut b, text)
            }
            TargetKind::Redirect { to_ports } => {
                if let Some(ports) = to_ports {
                    b.packet.dport = ports.first;
                }
                let text = format!("this node:{}", b.packet.dport);
                self.record_dnat(st, chain, rule, &mut b, text)
            }
            TargetKind::Snat { to } => {
                let text = to.first().map(|r| r.to_string()).unwrap_or_default();
                if let Some(addr) = to.first().and_then(|r| r.first) {
                    b.packet.src = addr;
                }
                b.steps
                    .push(self.step(st, chain, rule, Action::Snat(text.clone())));
                let address = match to.as_slice() {
                    [single] => single
                        .first
                        .filter(|first| single.last.is_none_or(|last| last == *first)),
                    _ => None,
                };
                b.snat = Some(Nat {
                    rule,
                    to: Some(text),
                    address,
                });
                End::Accept
            }
            TargetKind::Masquerade { .. } => {
                b.steps.push(self.step(st, chain, rule, Action::Masquerade));
                b.snat = Some(Nat {
                    rule,
                    to: None,
                    address: None,
                });
                End::Accept
            }
            TargetKind::Mark(op) => {
                let before = b.mark;
                b.mark = op.apply(before);
                let after = b.mark;
                b.steps
                    .push(self.step(st, chain, rule, Action::Mark { before, after }));
                End::Next
            }
            TargetKind::Log => {
                b.steps.push(self.step(st, chain, rule, Action::NoEffect));
                End::Next
            }
            TargetKind::Connmark | TargetKind::Other => {
                let name = target.name;
                if continues_after(name) {
                    b.steps
                        .push(self.step(st, chain, rule, Action::Ignored(name.to_string())));
                    if name == "CONNMARK" {
                        b.assumptions.push(Assumption {
                            rule: Some(rule),
                            text: "CONNMARK is not modelled: the packet mark is assumed unchanged"
                                .to_string(),
                            forks: false,
                        });
                    }
                    End::Next
                } else {
                    End::Final(Fate::Undetermined {
                        rule: Some(rule),
                        reason: Undecided::Target(name.to_string()),
                    })
                }
            }
        };
        vec![(b, end)]
    }

    #[allow(clippy::too_many_arguments)]
    fn jump(
        &self,
        st: Stage,
        chain: ChainId,
        rule: RuleId,
        name: &str,
        goto: bool,
        mut b: Branch,
        depth: usize,
    ) -> Vec<(Branch, End)> {
        let dump = self.ctx.dump;
        let table = dump.chain(chain).table;
        let target = dump.chain_id(table, name);
        let present = target.filter(|&t| {
            let c = dump.chain(t);
            c.declared_line().is_some() || !c.rules.is_empty()
        });
        let Some(target) = present else {
            if let Some(assumed) = self.ctx.assumed_chains.iter().find(|a| a.name == name) {
                let before = b.mark;
                b.mark = assumed.mark.apply(before);
                let after = b.mark;
                b.steps.push(self.step(
                    st,
                    chain,
                    rule,
                    Action::AssumedMark {
                        chain: name.to_string(),
                        before,
                        after,
                    },
                ));
                b.assumptions.push(Assumption {
                    rule: Some(rule),
                    text: assumed.description.clone(),
                    forks: false,
                });
                return vec![(b, if goto { End::Return } else { End::Next })];
            }
            let action = if goto {
                Action::Goto(name.to_string())
            } else {
                Action::Jump(name.to_string())
            };
            b.steps.push(self.step(st, chain, rule, action));
            let fate = Fate::Undetermined {
                rule: Some(rule),
                reason: Undecided::MissingChain(name.to_string()),
            };
            return vec![(b, End::Final(fate))];
        };
        let action = if goto {
            Action::Goto(name.to_string())
        } else {
            Action::Jump(name.to_string())
        };
        b.steps.push(self.step(st, chain, rule, action));
        self.run_chain(st, target, b, depth + 1)
            .into_iter()
            .map(|(out, end)| {
                let end = match end {
                    // Back from the called chain: carry on (jump) or leave this chain too (goto).
                    End::Return | End::Next => {
                        if goto {
                            End::Return
                        } else {
                            End::Next
                        }
                    }
                    other => other,
                };
                (out, end)
            })
            .collect()
    }

    /// Tests one match of `body` against the branch's packet.
    fn test(&self, st: Stage, b: &Branch, body: &RuleBody<'_>, m: &Match<'_>) -> Test {
        let p = &b.packet;
        match m {
            Match::Source(n) => yes_no(n.value.contains(p.src) != n.negated),
            Match::Destination(n) => yes_no(n.value.contains(p.dst) != n.negated),
            Match::Protocol(n) => yes_no(n.value.matches(p.protocol) != n.negated),
            Match::InInterface(n) => self.interface_test(st, b, &n.value, n.negated, true),
            Match::OutInterface(n) => self.interface_test(st, b, &n.value, n.negated, false),
            Match::Fragment { negated } => yes_no(*negated),
            Match::Module(module) => {
                match &module.kind {
                    ModuleKind::Comment(_) => return Test::Yes,
                    ModuleKind::Nfacct { .. } => return Test::Yes,
                    ModuleKind::Recent { name, action } => {
                        return match *action {
                            "set" => Test::Yes,
                            _ => Test::NoBecause(format!(
                                "`-m recent --{action} --name {name}` (session affinity) does not match a new client: it has no entry in that list yet; a returning client would go to the endpoint it used before"
                            )),
                        };
                    }
                    _ => {}
                }
                if let Some(option) = module.uninterpreted(body).next() {
                    return Test::Unknown(format!(
                        "option `--{}` of `-m {}` is not interpreted",
                        option.name, module.name
                    ));
                }
                match &module.kind {
                    ModuleKind::Ports { sport, dport } => yes_no(ports_pass(sport, dport, p)),
                    ModuleKind::Multiport { direction, ports } => {
                        let hit = ports.value.iter().any(|r| match direction {
                            PortDirection::Source => r.contains(p.sport),
                            PortDirection::Destination => r.contains(p.dport),
                            PortDirection::Either => r.contains(p.sport) || r.contains(p.dport),
                        });
                        yes_no(hit != ports.negated)
                    }
                    ModuleKind::AddrType { src_type, dst_type } => {
                        let mut results = Vec::new();
                        if let Some(t) = src_type {
                            results.push(self.addr_type(p.src, &t.value, t.negated));
                        }
                        if let Some(t) = dst_type {
                            results.push(self.addr_type(p.dst, &t.value, t.negated));
                        }
                        all_of(results)
                    }
                    ModuleKind::Mark(n) => yes_no(n.value.matches(b.mark) != n.negated),
                    ModuleKind::Statistic(n) => match n.value {
                        Statistic::Random { probability } => {
                            let p = if n.negated {
                                1.0 - probability
                            } else {
                                probability
                            };
                            if p >= 1.0 {
                                Test::Yes
                            } else if p <= 0.0 {
                                Test::No
                            } else {
                                Test::Chance(p)
                            }
                        }
                        Statistic::Nth { every, .. } => Test::Chance(1.0 / f64::from(every.max(1))),
                    },
                    ModuleKind::Conntrack { states } => match states {
                        None => Test::Unknown(format!(
                            "`-m {}` without a state test is not interpreted",
                            module.name
                        )),
                        Some(states) => self.ct_state(b, &states.value, states.negated),
                    },
                    ModuleKind::Set { name, .. } => Test::Unknown(format!(
                        "the contents of ipset `{name}` are not in the dump"
                    )),
                    ModuleKind::Physdev => Test::Unknown(
                        "bridge port tests (`-m physdev`) are not interpreted".to_string(),
                    ),
                    ModuleKind::Other => Test::Unknown(format!(
                        "match module `-m {}` is not interpreted",
                        module.name
                    )),
                    ModuleKind::Comment(_)
                    | ModuleKind::Nfacct { .. }
                    | ModuleKind::Recent { .. } => Test::Yes,
                }
            }
        }
    }

    fn interface_test(
        &self,
        st: Stage,
        b: &Branch,
        iface: &Interface<'_>,
        negated: bool,
        incoming: bool,
    ) -> Test {
        let p = &b.packet;
        let known = if incoming {
            p.in_interface.clone().or_else(|| {
                // A packet the node sent to itself comes back in on `lo`.
                (p.origin == Origin::Local && st.hook == Hook::Input).then(|| "lo".to_string())
            })
        } else {
            p.out_interface.clone().or_else(|| {
                (p.origin == Origin::Local && self.ctx.host.is_local(p.dst))
                    .then(|| "lo".to_string())
            })
        };
        if let Some(name) = known {
            return yes_no(iface.matches(&name) != negated);
        }
        // A packet the node sends has no incoming interface before it loops back (reference
        // §6: in nat OUTPUT `-i X` never matches and `! -i X` always does).
        if incoming && p.origin == Origin::Local && st.hook != Hook::Input {
            return yes_no(negated);
        }
        // Packets from the network never arrive on the loopback interface.
        if incoming && p.origin == Origin::Remote && iface.0 == "lo" {
            return yes_no(negated);
        }
        let flag = if incoming { "-i" } else { "-o" };
        let bang = if negated { "! " } else { "" };
        Test::Unknown(format!(
            "interface test `{bang}{flag} {}` needs the {} interface, which the dump does not say",
            iface.0,
            if incoming { "incoming" } else { "outgoing" }
        ))
    }

    fn addr_type(&self, ip: IpAddr, types: &[&str], negated: bool) -> Test {
        let local = self.ctx.host.is_local(ip);
        let mut any = false;
        for t in types {
            let hit = match t.to_ascii_uppercase().as_str() {
                "LOCAL" => local,
                "UNICAST" => !local && !ip.is_multicast() && !is_broadcast(ip),
                "MULTICAST" => ip.is_multicast(),
                "BROADCAST" => is_broadcast(ip),
                "UNSPEC" => ip.is_unspecified(),
                other => {
                    return Test::Unknown(format!("address type `{other}` is not interpreted"));
                }
            };
            any |= hit;
        }
        yes_no(any != negated)
    }

    fn ct_state(&self, b: &Branch, states: &[&str], negated: bool) -> Test {
        let mut any = false;
        for s in states {
            let hit = match s.to_ascii_uppercase().as_str() {
                "NEW" => true,
                "ESTABLISHED" | "RELATED" | "INVALID" | "UNTRACKED" => false,
                "DNAT" => b.dnat.is_some(),
                "SNAT" => b.snat.is_some(),
                other => {
                    return Test::Unknown(format!("connection state `{other}` is not interpreted"));
                }
            };
            any |= hit;
        }
        yes_no(any != negated)
    }
}

fn yes_no(value: bool) -> Test {
    if value { Test::Yes } else { Test::No }
}

fn all_of(results: Vec<Test>) -> Test {
    let mut unknown = None;
    for r in results {
        match r {
            Test::No => return Test::No,
            Test::Unknown(why) => unknown = Some(why),
            _ => {}
        }
    }
    unknown.map_or(Test::Yes, Test::Unknown)
}

fn is_broadcast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_broadcast(),
        IpAddr::V6(_) => false,
    }
}

/// Targets that do not end the chain and do not change the packet's addresses or mark.
fn continues_after(name: &str) -> bool {
    matches!(
        name,
        "AUDIT"
            | "CHECKSUM"
            | "CLASSIFY"
            | "CONNMARK"
            | "CONNSECMARK"
            | "CT"
            | "DSCP"
            | "ECN"
            | "HL"
            | "IDLETIMER"
            | "LED"
            | "NFLOG"
            | "NOTRACK"
            | "RATEEST"
            | "SECMARK"
            | "SET"
            | "TCPMSS"
            | "TCPOPTSTRIP"
            | "TEE"
            | "TOS"
            | "TRACE"
            | "TTL"
            | "ULOG"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Backend, KubeVersion, dump_to_string, synthetic};
    use crate::parse::parse_structure_text;

    /// Values of `--dport N` and `-d A/32` in the rules of `chain`.
    fn tested_values(text: &str, chain: &str) -> (Vec<u16>, Vec<IpAddr>) {
        let prefix = format!("-A {chain} ");
        let lines = text.lines().filter(|l| l.starts_with(&prefix));
        let (mut ports, mut addresses) = (Vec::new(), Vec::new());
        for line in lines {
            let words: Vec<&str> = line.split(' ').collect();
            for pair in words.windows(2) {
                match pair[0] {
                    "--dport" => ports.extend(pair[1].parse::<u16>().ok()),
                    "-d" => {
                        addresses.extend(pair[1].trim_end_matches("/32").parse::<IpAddr>().ok())
                    }
                    _ => {}
                }
            }
        }
        (ports, addresses)
    }

    /// Candidate lists only skip rules a walk would find not matching: on dumps whose
    /// KUBE-SERVICES and KUBE-NODEPORTS are long chains, every packet gets the same
    /// branches as from a memo that walks every rule, for both eras, with the fast memo
    /// shared across packets as `explain` shares it.
    #[test]
    fn candidate_lists_give_the_same_branches_as_walking_every_rule() {
        for version in [KubeVersion::V1_21, KubeVersion::V1_28] {
            let text = dump_to_string(&synthetic(400, version, Backend::Nft));
            let parsed = parse_structure_text(&text);
            let dump = &parsed.rules();
            let services_chain = dump
                .chain_id(
                    dump.table_id(crate::model::RulesetId(0), "nat").unwrap(),
                    "KUBE-SERVICES",
                )
                .unwrap();
            assert!(dump.chain(services_chain).rules.len() >= LONG_CHAIN);
            let node: IpAddr = "192.0.2.10".parse().unwrap();
            let host = Host {
                local_addresses: vec![node],
            };
            let ctx = Context {
                dump,
                tables: dump.rulesets[0].tables.clone(),
                host: &host,
                assumed_chains: Vec::new(),
                nat_entry: None,
            };
            let (node_ports, _) = tested_values(&text, "KUBE-NODEPORTS");
            let (service_ports, cluster_ips) = tested_values(&text, "KUBE-SERVICES");
            let pick = |values: &[u16]| {
                [
                    values[0],
                    values[values.len() / 2],
                    values[values.len() - 1],
                ]
            };
            let mut packets = Vec::new();
            for port in pick(&node_ports) {
                for (src, dst) in [
                    ("127.0.0.1", "127.0.0.1"),
                    ("192.0.2.10", "192.0.2.10"),
                    ("198.18.0.5", "192.0.2.10"),
                    ("203.0.113.7", "192.0.2.10"),
                ] {
                    packets.push((src.parse().unwrap(), dst.parse().unwrap(), port));
                }
            }
            for (&ip, port) in [cluster_ips[0], cluster_ips[cluster_ips.len() - 1]]
                .iter()
                .zip(pick(&service_ports))
            {
                packets.push(("198.18.0.5".parse().unwrap(), ip, port));
                packets.push(("192.0.2.10".parse().unwrap(), ip, port));
            }
            let shared = RuleMemo::default();
            let mut skipped_with_lists = false;
            for protocol in [Protocol::Tcp, Protocol::Udp] {
                for &(src, dst, dport) in &packets {
                    let origin = if host.is_local(src) {
                        Origin::Local
                    } else {
                        Origin::Remote
                    };
                    let packet = Packet {
                        protocol,
                        ..Packet::tcp(src, dst, dport, origin)
                    };
                    let every_rule = RuleMemo::walking_every_rule();
                    assert_eq!(
                        evaluate_with(&ctx, &shared, packet.clone()),
                        evaluate_with(&ctx, &every_rule, packet.clone()),
                        "{version:?} {packet:?}"
                    );
                    skipped_with_lists |= !shared.candidates.borrow().is_empty();
                }
            }
            assert!(skipped_with_lists, "no chain was long enough to get a list");
        }
    }
}
