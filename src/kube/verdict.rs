//! From the core's paths to `explain`'s vocabulary: each branch's verdict (preserved,
//! masqueraded, dropped, rejected, not-handled, undetermined) with the rules that decided
//! it, then one verdict per source class.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

use ipnet::IpNet;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::kube::chains::{
    DEFAULT_DROP_MARK, NODEPORTS, POSTROUTING, SERVICES, ServiceChain, is_kube_chain,
};
use crate::kube::destination::DestinationKind;
use crate::kube::era::Era;
use crate::kube::explanation::{
    BranchExplanation, BranchReason, DropCause, DropMark, Masquerade, MasqueradeAddress, Outcome,
    RuleRef, Verdict,
};
use crate::kube::findings::{BranchNote, BranchNoteKind};
use crate::kube::shape::{Locality, ServiceShape};
use crate::model::{NatRange, RuleId};
use crate::netfilter::{
    Action, AssumptionKind, Branch, Hook, SourceSeen, Step, Translation, Undecided,
};
use crate::parse::RuleReader;

/// The marks and chains a verdict depends on, the same for every branch of a nodePort.
pub(crate) struct VerdictContext<'v, 'p, 'a> {
    pub(crate) rules: RuleReader<'p, 'a>,
    /// What the destination is.
    pub(crate) kind: DestinationKind,
    /// The mark KUBE-MARK-MASQ sets.
    pub(crate) masquerade_mark: u32,
    /// True if nat POSTROUTING is in the dump (else kube-proxy's is assumed).
    pub(crate) has_postrouting: bool,
    /// True if chains or tables on the path are missing.
    pub(crate) partial: bool,
    pub(crate) shape: &'v ServiceShape,
    /// The locality of the shape's first endpoint at each address ([`localities`]).
    pub(crate) localities: FxHashMap<NatRange, Locality>,
    /// The KUBE-SERVICES rules that lead to KUBE-NODEPORTS.
    pub(crate) tail: &'v [RuleRef],
    /// True if the input holds a whole filter table (a `*filter` line): otherwise kubelet's
    /// and kube-proxy's standard filter drops are assumed.
    pub(crate) filter_whole: bool,
    /// The pod prefixes, when the nat table is shown only in part (else empty): a pod's
    /// path may hinge on a rule the input does not show.
    pub(crate) pod_nets: Vec<IpNet>,
    /// False when the input has no nat table (filter rules only): the service's nat chains,
    /// which decide first, are unknown.
    pub(crate) nat_shown: bool,
}

/// The locality of the first of `shape`'s endpoints at each address: a branch's is looked
/// up here, not by a search of the endpoints (a class has a branch per endpoint).
pub(crate) fn localities(shape: &ServiceShape) -> FxHashMap<NatRange, Locality> {
    let mut out = FxHashMap::default();
    for e in &shape.endpoints {
        if let Some(address) = e.address {
            out.entry(address).or_insert(e.locality);
        }
    }
    out
}

/// A rule cited in a report.
pub(crate) fn rule_ref(rules: &RuleReader<'_, '_>, rule: RuleId) -> RuleRef {
    let dump = rules.dump();
    let r = dump.rule(rule);
    let chain = dump.chain(r.chain);
    RuleRef {
        line: r.line,
        table: dump.table(chain.table).name.to_string(),
        chain: chain.name.to_string(),
        text: dump.rule_text(rule).to_string(),
        counters: dump.rule_counters(rule),
    }
}

/// What the steps of a path show: the decisive rules, the nat chains entered, and who set
/// the masquerade and drop marks.
struct PathReading {
    decisive: Vec<RuleRef>,
    chain_path: Vec<String>,
    marked_by: Option<RuleRef>,
    drop_marked_by: Option<RuleRef>,
}

impl VerdictContext<'_, '_, '_> {
    /// The explanation of one branch.
    pub(crate) fn explain_branch(&self, b: &Branch<'_>) -> BranchExplanation {
        let record = b.record();
        let mut path = self.read_path(&record.steps);
        let endpoint = b.dnat.map(|d| d.to);
        let locality = endpoint
            .and_then(|e| e.range())
            .and_then(|range| self.localities.get(&range).copied());
        let marked = b.mark & self.masquerade_mark != 0;
        let mut explained = BranchExplanation {
            endpoint,
            locality,
            probability: b.probability,
            verdict: Verdict::Undetermined,
            reason: BranchReason::NotDnated,
            masquerade: None,
            decisive: Vec::new(),
            chain_path: Vec::new(),
            notes: record
                .assumptions
                .iter()
                .map(|a| branch_note(&self.rules, a))
                .collect(),
            partial: self.partial,
            drop_mark_ignored: None,
        };
        match b.outcome() {
            crate::netfilter::Outcome::Passed {
                dnat: None, local, ..
            } => self.not_dnated(&mut explained, &mut path, b, local),
            crate::netfilter::Outcome::Passed { source, .. } => {
                self.passed(&mut explained, &path, source, marked)
            }
            crate::netfilter::Outcome::Dropped { rule, chain } => {
                explained.verdict = Verdict::Dropped;
                explained.reason = self.dropped(rule, chain, &path);
            }
            crate::netfilter::Outcome::Rejected { rule } => {
                let comment = self.comment(Some(rule));
                explained.verdict = Verdict::Rejected;
                explained.reason = BranchReason::Rejected {
                    rule: rule_ref(&self.rules, rule),
                    no_endpoints: comment.contains("has no endpoints"),
                };
            }
            crate::netfilter::Outcome::Undecided { rule, reason } => {
                self.undecided(&mut explained, rule, reason, marked, &path)
            }
        }
        if explained.verdict != Verdict::Dropped {
            explained.drop_mark_ignored = path.drop_marked_by.take().map(|rule| DropMark {
                no_local_endpoints: rule.text.contains("has no local endpoints"),
                rule,
            });
        }
        self.unseen_rules(&mut explained, b, &record.steps);
        explained.decisive = path.decisive;
        explained.chain_path = path.chain_path;
        explained
    }

    /// Makes a verdict undetermined when rules the input does not show would decide it
    /// first: kube-proxy's nat chains of a filter-only input (for this node's connections
    /// and pods), or a policy chain's pod rule a grep missed.
    fn unseen_rules(&self, explained: &mut BranchExplanation, b: &Branch<'_>, steps: &[&Step<'_>]) {
        let own_or_pod = b.original.origin == crate::netfilter::Origin::Local
            || self.pod_nets.iter().any(|n| n.contains(&b.original.src));
        if !self.nat_shown
            && self.kind == DestinationKind::NodePort
            && own_or_pod
            && !matches!(explained.verdict, Verdict::Undetermined | Verdict::Rejected)
        {
            explained.partial = true;
            explained.verdict = Verdict::Undetermined;
            explained.reason = BranchReason::NatNotShown {
                shown: Box::new(explained.reason.clone()),
            };
        }
        if explained.verdict != Verdict::Undetermined
            && let Some((chain, net)) = self.pod_rule_unseen(b, steps)
        {
            explained.partial = true;
            explained.verdict = Verdict::Undetermined;
            explained.reason = BranchReason::PodRuleNotShown {
                chain,
                pods: net,
                shown: Box::new(explained.reason.clone()),
            };
        }
    }

    /// For a pod's connection: the service's policy chain (KUBE-XLB or KUBE-EXT) on its
    /// path when the input may not show that chain's pod rule (`-s POD_CIDR -j KUBE-SVC-…`,
    /// its first rule, which names no service and so escapes a grep for one), and the pod
    /// prefix. With that rule the pod takes the service chain, not the path shown.
    fn pod_rule_unseen(&self, b: &Branch<'_>, steps: &[&Step<'_>]) -> Option<(String, IpNet)> {
        let net = *self.pod_nets.iter().find(|n| n.contains(&b.original.src))?;
        let dump = self.rules.dump();
        let chain = steps.iter().find_map(|s| {
            let id = dump.chain_id(s.table, s.action.chain_entered()?)?;
            let name = dump.chain(id).name;
            let policy = ServiceChain::Xlb.is(name) || ServiceChain::External.is(name);
            (policy && dump.may_lack_rules(id) && !self.has_pod_rule(id)).then_some(id)
        })?;
        Some((dump.chain(chain).name.to_string(), net))
    }

    /// True if the chain shows a rule sending a source prefix to a service chain.
    fn has_pod_rule(&self, chain: crate::model::ChainId) -> bool {
        self.rules.dump().chain(chain).rules.iter().any(|&r| {
            self.rules.body(r).is_ok_and(|body| {
                let to_cluster = body
                    .target
                    .as_ref()
                    .is_some_and(|t| ServiceChain::Cluster.is(t.name));
                to_cluster
                    && body
                        .matches
                        .iter()
                        .any(|m| matches!(m, crate::model::Match::Source(s) if !s.negated))
            })
        })
    }

    /// A path that got through every hook without DNAT: delivered to this node (nothing of
    /// the service answers, unless it is kube-proxy's health-check port), or routed on.
    fn not_dnated(
        &self,
        explained: &mut BranchExplanation,
        path: &mut PathReading,
        b: &Branch<'_>,
        local: bool,
    ) {
        if !local {
            explained.verdict = Verdict::Forwarded;
            explained.reason = BranchReason::Forwarded;
            if let Some(nat) = &b.snat {
                explained.masquerade = Some(self.masquerade(nat, path));
            }
            return;
        }
        if self.not_dnated_in_part(explained, path, b) {
            return;
        }
        explained.verdict = Verdict::NotHandled;
        let reached = path.chain_path.iter().any(|c| c == NODEPORTS);
        explained.reason = if self.kind == DestinationKind::HealthCheck {
            let accepted = b.record().steps.iter().rev().find_map(|s| match s.action {
                Action::Accept => s.rule,
                _ => None,
            });
            BranchReason::HealthCheck {
                rule: accepted.map(|r| rule_ref(&self.rules, r)),
            }
        } else if self.kind == DestinationKind::NodePort && !self.tail.is_empty() && !reached {
            path.decisive.extend(self.tail.iter().cloned());
            BranchReason::NeverReachesNodePorts {
                tail_lines: self.tail.iter().map(|r| r.line).collect(),
                destination: b.original.dst,
                port: b.original.dport,
            }
        } else {
            BranchReason::NotDnated
        };
    }

    /// A path delivered here without DNAT, when the input is partial: dropped by an assumed
    /// standard filter rule, or undetermined because a chain on it may lack rules. False
    /// when neither applies (the path is not handled).
    fn not_dnated_in_part(
        &self,
        explained: &mut BranchExplanation,
        path: &mut PathReading,
        b: &Branch<'_>,
    ) -> bool {
        if !self.filter_whole
            && let Some(marker) = path.drop_marked_by.take()
        {
            explained.partial = true;
            explained.verdict = Verdict::Dropped;
            explained.reason = BranchReason::AssumedDrop {
                chain: "KUBE-FIREWALL",
                cause: DropCause::DropMark(DropMark {
                    no_local_endpoints: marker.text.contains("has no local endpoints")
                        || self.shape.has_no_local_endpoint(),
                    rule: marker,
                }),
            };
            return true;
        }
        let partly_shown = self.partly_shown_chains(&b.record().steps);
        if !partly_shown.is_empty() {
            explained.partial = true;
            explained.verdict = Verdict::Undetermined;
            explained.reason = BranchReason::MayLackRules {
                chains: partly_shown,
            };
            return true;
        }
        let external_drop = !self.filter_whole
            && self.kind == DestinationKind::NodePort
            && b.original.origin == crate::netfilter::Origin::Remote
            && self.shape.era == Era::Ext
            && self.shape.has_no_local_endpoint();
        if external_drop {
            explained.partial = true;
            explained.verdict = Verdict::Dropped;
            explained.reason = BranchReason::AssumedDrop {
                chain: "KUBE-EXTERNAL-SERVICES",
                cause: DropCause::NoLocalEndpoints,
            };
        }
        external_drop
    }

    /// The chains a path went through (rules matched in them, or entered) that the input
    /// may show only in part, leaving out kube-proxy's and the kernel's standard chains,
    /// whose missing rules are assumed; in path order.
    fn partly_shown_chains(&self, steps: &[&Step<'_>]) -> Vec<String> {
        let dump = self.rules.dump();
        let mut chains: Vec<String> = Vec::new();
        for step in steps {
            let entered = step
                .action
                .chain_entered()
                .and_then(|name| dump.chain_id(step.table, name));
            for id in std::iter::once(step.chain).chain(entered) {
                let chain = dump.chain(id);
                let standard = chain.is_builtin()
                    || [SERVICES, NODEPORTS, POSTROUTING].contains(&chain.name)
                    || chain.name.starts_with("KUBE-MARK-");
                if !standard && dump.may_lack_rules(id) && !chains.iter().any(|c| c == chain.name) {
                    chains.push(chain.name.to_string());
                }
            }
        }
        chains
    }

    /// A source NAT's details.
    fn masquerade(&self, nat: &crate::netfilter::Nat, path: &PathReading) -> Masquerade {
        let rule = rule_ref(&self.rules, nat.rule);
        let address = match (nat.to, nat.to.single_address()) {
            (Translation::Masquerade, _) => MasqueradeAddress::OutgoingInterface,
            (_, Some(address)) => MasqueradeAddress::Exact(address),
            (_, None) => MasqueradeAddress::Range,
        };
        Masquerade {
            by_kube_proxy: is_kube_chain(&rule.chain),
            rule: Some(rule),
            to: (nat.to != Translation::Masquerade).then_some(nat.to),
            address,
            marked_by: path.marked_by.clone(),
        }
    }

    /// A DNATed path that got through every hook: preserved or masqueraded.
    fn passed(
        &self,
        explained: &mut BranchExplanation,
        path: &PathReading,
        source: SourceSeen<'_>,
        marked: bool,
    ) {
        match source {
            SourceSeen::Translated(nat) => {
                explained.verdict = Verdict::Masqueraded;
                explained.reason = BranchReason::Masqueraded;
                explained.masquerade = Some(self.masquerade(nat, path));
            }
            SourceSeen::Original if marked && !self.has_postrouting => {
                explained.partial = true;
                explained.verdict = Verdict::Masqueraded;
                explained.reason = BranchReason::MasqueradeAssumed;
                explained.masquerade = Some(self.assumed_postrouting(path));
            }
            SourceSeen::Original => {
                explained.verdict = Verdict::Preserved;
                explained.reason = BranchReason::Preserved;
            }
        }
    }

    /// kube-proxy's KUBE-POSTROUTING, missing from a fragment, masquerading a marked path.
    fn assumed_postrouting(&self, path: &PathReading) -> Masquerade {
        Masquerade {
            rule: None,
            by_kube_proxy: true,
            to: None,
            address: MasqueradeAddress::OutgoingInterface,
            marked_by: path.marked_by.clone(),
        }
    }

    fn dropped(
        &self,
        rule: Option<RuleId>,
        chain: crate::model::ChainId,
        path: &PathReading,
    ) -> BranchReason {
        let cause = if self.comment(rule).contains("has no local endpoints") {
            DropCause::NoLocalEndpoints
        } else if let Some(m) = &path.drop_marked_by {
            DropCause::DropMark(DropMark {
                no_local_endpoints: m.text.contains("has no local endpoints")
                    || self.shape.has_no_local_endpoint(),
                rule: m.clone(),
            })
        } else {
            DropCause::Plain
        };
        let dump = self.rules.dump();
        BranchReason::Dropped {
            rule: rule.map(|r| dump.rule(r).line),
            chain: dump.chain(chain).name.to_string(),
            cause,
        }
    }

    fn undecided(
        &self,
        explained: &mut BranchExplanation,
        rule: Option<RuleId>,
        reason: &Undecided<'_>,
        marked: bool,
        path: &PathReading,
    ) {
        let at = rule.map(|r| self.rules.dump().rule(r).line);
        explained.verdict = Verdict::Undetermined;
        explained.reason = match reason {
            Undecided::MissingChain(chain) if marked => {
                explained.partial = true;
                explained.verdict = Verdict::Masqueraded;
                explained.masquerade = Some(self.assumed_postrouting(path));
                BranchReason::MarkedIntoMissingChain {
                    chain: chain.to_string(),
                    at,
                    marked_by: path.marked_by.clone(),
                }
            }
            Undecided::MissingChain(chain) => {
                explained.partial = true;
                BranchReason::MissingChain {
                    chain: chain.to_string(),
                    at,
                    policy_chain: [
                        ServiceChain::Xlb,
                        ServiceChain::Local,
                        ServiceChain::External,
                    ]
                    .iter()
                    .any(|c| c.is(chain)),
                }
            }
            Undecided::Target(target) => BranchReason::UnknownTarget {
                target: target.to_string(),
                at,
            },
            Undecided::Unreadable => BranchReason::Unreadable { at },
            Undecided::Loop { chain } => BranchReason::Loop {
                chain: chain.to_string(),
                at,
            },
            Undecided::TooDeep => BranchReason::TooDeep {
                at,
                limit: crate::netfilter::MAX_DEPTH,
            },
            Undecided::TooManyPaths {
                limit,
                forking,
                forking_count,
            } => {
                let dump = self.rules.dump();
                BranchReason::TooManyPaths {
                    at,
                    limit: *limit,
                    forking_lines: forking.iter().map(|&r| dump.rule(r).line).collect(),
                    forking_count: *forking_count,
                }
            }
            Undecided::TooMuchWork { limit } => BranchReason::TooMuchWork { limit: *limit },
        };
    }

    /// The comment of a rule, or "".
    fn comment(&self, rule: Option<RuleId>) -> String {
        rule.and_then(|r| self.rules.body(r).ok())
            .and_then(|body| body.comment().map(str::to_string))
            .unwrap_or_default()
    }

    /// Reads the steps: decisive rules, nat chains entered, who set the marks.
    fn read_path(&self, steps: &[&Step<'_>]) -> PathReading {
        let dump = self.rules.dump();
        let mut path = PathReading {
            decisive: Vec::new(),
            chain_path: Vec::new(),
            marked_by: None,
            drop_marked_by: None,
        };
        for step in steps {
            let chain = dump.chain(step.chain).name;
            if dump.table(step.table).name == "nat"
                && matches!(step.hook, Hook::Prerouting | Hook::Output)
            {
                if path.chain_path.is_empty() {
                    path.chain_path.push(chain.to_string());
                }
                if let Some(entered) = step.action.chain_entered()
                    && !entered.starts_with("KUBE-MARK-")
                {
                    path.chain_path.push(entered.to_string());
                }
            }
            let Some(rule) = step.rule else {
                continue;
            };
            if is_decisive(chain, &step.action) {
                path.decisive.push(rule_ref(&self.rules, rule));
            }
            if let Some((before, after)) = step.action.mark_change() {
                // An assumed chain's mark is set by the rule jumping there, this one.
                let marker = || match step.action {
                    Action::AssumedMark { .. } => rule_ref(&self.rules, rule),
                    _ => self.caller_rule(steps, rule),
                };
                let mask = self.masquerade_mark;
                if before & mask == 0 && after & mask != 0 {
                    path.marked_by = Some(marker());
                }
                if before & DEFAULT_DROP_MARK == 0 && after & DEFAULT_DROP_MARK != 0 {
                    path.drop_marked_by = Some(marker());
                }
            }
        }
        path
    }

    /// The rule that jumped into the chain of the mark rule (e.g. the KUBE-NODEPORTS rule
    /// that jumps to KUBE-MARK-MASQ), which is the one worth citing; the mark rule itself
    /// if none.
    fn caller_rule(&self, steps: &[&Step<'_>], mark_rule: RuleId) -> RuleRef {
        let dump = self.rules.dump();
        let chain = dump.chain(dump.rule(mark_rule).chain).name;
        let pos = steps.iter().position(|s| s.rule == Some(mark_rule));
        let caller = pos.and_then(|p| {
            steps[..p]
                .iter()
                .rev()
                .find(|s| s.action.chain_entered() == Some(chain))
                .and_then(|s| s.rule)
        });
        rule_ref(&self.rules, caller.unwrap_or(mark_rule))
    }
}

/// True if a matched rule with this action, in chain `chain`, decided something worth
/// citing: not a jump every packet takes from a hook chain into kube-proxy's, not a
/// mark that changed nothing, not a no-op.
fn is_decisive(chain: &str, action: &Action<'_>) -> bool {
    let keep = match action {
        Action::Jump(c) | Action::Goto(c) => {
            !is_kube_chain(c) || (*c != SERVICES && *c != POSTROUTING)
        }
        Action::Mark { before, after } | Action::AssumedMark { before, after, .. } => {
            before != after
        }
        Action::Return => chain == POSTROUTING,
        Action::NoEffect | Action::Ignored(_) | Action::Policy(_) => false,
        _ => true,
    };
    let hook_jump = matches!(
        chain,
        "PREROUTING" | "OUTPUT" | "INPUT" | "FORWARD" | "POSTROUTING"
    ) && matches!(action, Action::Jump(c) if is_kube_chain(c));
    keep && !hook_jump
}

/// Branches that reach the same endpoint with the same verdict, rules and assumptions are
/// one outcome: their probabilities add up. Kept in first-seen order; a branch is compared
/// only with those of the same digest (thousands of branches: a large service, or many
/// undecidable rules).
pub(crate) fn merge_branches(branches: Vec<BranchExplanation>) -> Vec<BranchExplanation> {
    let mut out: Vec<BranchExplanation> = Vec::new();
    let mut by_digest: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
    for b in branches {
        let same = |o: &BranchExplanation| {
            o.endpoint == b.endpoint
                && o.verdict == b.verdict
                && o.decisive == b.decisive
                && forking_notes(o) == forking_notes(&b)
        };
        let candidates = by_digest.entry(merge_digest(&b)).or_default();
        match candidates.iter().find(|&&i| same(&out[i])) {
            Some(&i) => out[i].probability += b.probability,
            None => {
                candidates.push(out.len());
                out.push(b);
            }
        }
    }
    out
}

/// A digest of what [`merge_branches`] compares: equal branches have equal digests.
fn merge_digest(b: &BranchExplanation) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    b.verdict.hash(&mut hasher);
    b.endpoint
        .and_then(|e| e.range())
        .and_then(|r| r.first)
        .hash(&mut hasher);
    for rule in &b.decisive {
        rule.line.hash(&mut hasher);
    }
    for note in forking_notes(b) {
        note.line.hash(&mut hasher);
    }
    hasher.finish()
}

fn forking_notes(b: &BranchExplanation) -> Vec<&BranchNote> {
    b.notes.iter().filter(|n| n.forks()).collect()
}

/// The verdict over a class's branches (see [`crate::kube::ClassExplanation::verdict`]).
pub(crate) fn overall(branches: &[BranchExplanation]) -> Verdict {
    let verdicts: BTreeSet<Verdict> = branches.iter().map(|b| b.verdict).collect();
    if verdicts.len() == 1 {
        return verdicts.into_iter().next().unwrap_or(Verdict::Undetermined);
    }
    if verdicts.is_empty()
        || branches.iter().any(BranchExplanation::assumed)
        || verdicts.contains(&Verdict::Undetermined)
    {
        return Verdict::Undetermined;
    }
    // A random mix (e.g. hairpin: only the endpoint's own branch is masqueraded): the
    // outcome worst for the client's address stands for the class; `mixed` has them all.
    [
        Verdict::Masqueraded,
        Verdict::Rejected,
        Verdict::Dropped,
        Verdict::NotHandled,
    ]
    .into_iter()
    .find(|v| verdicts.contains(v))
    .unwrap_or(Verdict::Preserved)
}

/// The verdicts of a class whose branches differ by chance alone, `verdict`'s first, then
/// the likelier; empty if all agree or if an undecidable rule is involved.
pub(crate) fn mixed_outcomes(branches: &[BranchExplanation], verdict: Verdict) -> Vec<Outcome> {
    let verdicts: BTreeSet<Verdict> = branches.iter().map(|b| b.verdict).collect();
    if verdicts.len() < 2
        || verdicts.contains(&Verdict::Undetermined)
        || branches.iter().any(BranchExplanation::assumed)
    {
        return Vec::new();
    }
    let mut out: Vec<Outcome> = Vec::new();
    // Each outcome's endpoints so far (a set, not a search: a branch per endpoint).
    let mut seen: FxHashSet<(Verdict, Translation)> = FxHashSet::default();
    for b in branches {
        let at = match out.iter().position(|o| o.verdict == b.verdict) {
            Some(at) => at,
            None => {
                out.push(Outcome {
                    verdict: b.verdict,
                    probability: 0.0,
                    endpoints: Vec::new(),
                });
                out.len() - 1
            }
        };
        let entry = &mut out[at];
        entry.probability += b.probability;
        if let Some(e) = b.endpoint
            && seen.insert((b.verdict, e))
        {
            entry.endpoints.push(e);
        }
    }
    out.sort_by(|a, b| {
        (b.verdict == verdict)
            .cmp(&(a.verdict == verdict))
            .then(b.probability.total_cmp(&a.probability))
    });
    out
}

/// The core's assumption as a kube-level note.
pub(crate) fn branch_note(
    rules: &RuleReader<'_, '_>,
    a: &crate::netfilter::Assumption<'_>,
) -> BranchNote {
    let kind = match &a.kind {
        AssumptionKind::Decided { matched, why } => BranchNoteKind::Assumed {
            matched: *matched,
            why: why.iter().map(Into::into).collect(),
        },
        AssumptionKind::NoAffinityHistory { action, name } => BranchNoteKind::NoAffinityHistory {
            action: action.to_string(),
            name: name.to_string(),
        },
        AssumptionKind::ConnmarkIgnored => BranchNoteKind::ConnmarkIgnored,
        AssumptionKind::AssumedChain { name, mark } => BranchNoteKind::StandardChainAssumed {
            chain: name.to_string(),
            mark: *mark,
        },
    };
    BranchNote {
        line: a.rule.map(|r| rules.dump().rule(r).line),
        kind,
    }
}
