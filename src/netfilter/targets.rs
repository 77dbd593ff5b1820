//! What a matched rule's target does to a branch: verdicts, jumps into other chains (or
//! into a missing chain, assumed or not), marks and NAT.

use std::rc::Rc;

use smallvec::SmallVec;

use crate::model::{ChainId, NatRange, RuleBody, RuleId, TargetKind};
use crate::netfilter::calls::CallKey;
use crate::netfilter::path::{
    Action, Assumption, AssumptionKind, Fate, Nat, Translation, Undecided,
};
use crate::netfilter::pipeline::Stage;
use crate::netfilter::trail::Item;
use crate::netfilter::walk::{End, Local, Walker, too_deep};

/// Where a matched rule is: what a step records.
struct Fired {
    stage: Stage,
    chain: ChainId,
    rule: RuleId,
}

impl<'a> Walker<'_, '_, 'a> {
    /// Applies a matched rule's target.
    pub(crate) fn fire(
        &self,
        stage: Stage,
        chain: ChainId,
        rule: RuleId,
        body: &RuleBody<'a>,
        mut b: Local<'a>,
        depth: usize,
    ) -> Vec<(Local<'a>, End<'a>)> {
        let Some(target) = &body.target else {
            b.trail
                .push(Item::Step(self.step(stage, chain, rule, Action::NoEffect)));
            return vec![(b, End::Next)];
        };
        let at = Fired { stage, chain, rule };
        let end = match &target.kind {
            TargetKind::Accept => self.record(&at, &mut b, Action::Accept, End::Accept),
            TargetKind::Drop => {
                let fate = Fate::Dropped {
                    rule: Some(rule),
                    chain,
                };
                self.record(&at, &mut b, Action::Drop, End::Final(fate))
            }
            TargetKind::Reject { .. } => {
                let fate = End::Final(Fate::Rejected { rule });
                self.record(&at, &mut b, Action::Reject, fate)
            }
            TargetKind::Return => self.record(&at, &mut b, Action::Return, End::Return),
            TargetKind::Chain(name) => {
                return self.jump(stage, chain, rule, name, target.goto, b, depth);
            }
            TargetKind::Dnat { .. } | TargetKind::Redirect { .. } => {
                self.destination_nat(&at, &mut b, &target.kind)
            }
            TargetKind::Snat { .. } | TargetKind::Masquerade { .. } => {
                self.source_nat(&at, &mut b, &target.kind)
            }
            TargetKind::Mark(op) => {
                let before = b.state.mark;
                b.state.mark = op.apply(before);
                let after = b.state.mark;
                self.record(&at, &mut b, Action::Mark { before, after }, End::Next)
            }
            TargetKind::Log => self.record(&at, &mut b, Action::NoEffect, End::Next),
            TargetKind::Connmark | TargetKind::Other => self.other(&at, &mut b, target.name),
        };
        vec![(b, end)]
    }

    /// Records the step a matched rule took and returns how the chain goes on.
    fn record(&self, at: &Fired, b: &mut Local<'a>, action: Action<'a>, end: End<'a>) -> End<'a> {
        b.trail
            .push(Item::Step(self.step(at.stage, at.chain, at.rule, action)));
        end
    }

    /// DNAT or REDIRECT: the packet's new destination.
    fn destination_nat(&self, at: &Fired, b: &mut Local<'a>, kind: &TargetKind<'a>) -> End<'a> {
        let packet = &mut b.state.packet;
        let to = match kind {
            TargetKind::Dnat { to } => {
                let to = translation(to);
                if let Some(range) = to.range() {
                    if let Some(address) = range.first {
                        packet.dst = address;
                    }
                    if let Some(ports) = range.ports {
                        packet.dport = ports.first;
                    }
                }
                to
            }
            TargetKind::Redirect { to_ports } => {
                if let Some(ports) = to_ports {
                    packet.dport = ports.first;
                }
                Translation::Redirect { port: packet.dport }
            }
            _ => Translation::Unspecified,
        };
        b.state.dnat = Some(Nat { rule: at.rule, to });
        self.record(at, b, Action::Dnat(to), End::Accept)
    }

    /// SNAT or MASQUERADE: the packet's new source.
    fn source_nat(&self, at: &Fired, b: &mut Local<'a>, kind: &TargetKind<'a>) -> End<'a> {
        let to = match kind {
            TargetKind::Snat { to } => {
                let to = translation(to);
                if let Some(address) = to.range().and_then(|r| r.first) {
                    b.state.packet.src = address;
                }
                to
            }
            _ => Translation::Masquerade,
        };
        b.state.snat = Some(Nat { rule: at.rule, to });
        self.record(at, b, Action::Snat(to), End::Accept)
    }

    /// A target the walk does not model: passed over when it cannot change the packet's
    /// addresses or mark, else the path ends undetermined.
    fn other(&self, at: &Fired, b: &mut Local<'a>, name: &'a str) -> End<'a> {
        if !continues_after(name) {
            return End::Final(Fate::Undetermined {
                rule: Some(at.rule),
                reason: Undecided::Target(name),
            });
        }
        if name == "CONNMARK" {
            b.trail.push(Item::Assumption(Assumption {
                rule: Some(at.rule),
                kind: AssumptionKind::ConnmarkIgnored,
            }));
        }
        self.record(at, b, Action::Ignored(name), End::Next)
    }

    /// Follows a jump (or goto) to chain `name`: into its rules when the dump has the
    /// chain, through its assumed effect when the caller knows one, else the path ends
    /// undetermined. A jump back into a chain on the call stack, in the state it was
    /// entered in, is a cycle; one nested deeper than the limit is not followed.
    #[allow(clippy::too_many_arguments)]
    fn jump(
        &self,
        stage: Stage,
        chain: ChainId,
        rule: RuleId,
        name: &'a str,
        goto: bool,
        mut b: Local<'a>,
        depth: usize,
    ) -> Vec<(Local<'a>, End<'a>)> {
        let dump = self.ctx.rules.dump();
        let table = dump.chain(chain).table;
        let present = dump.chain_id(table, name).filter(|&t| dump.is_known(t));
        let after_return = if goto { End::Return } else { End::Next };
        let Some(target) = present else {
            if let Some(assumed) = self.ctx.assumed_chains.iter().find(|a| a.name == name) {
                let before = b.state.mark;
                b.state.mark = assumed.mark.apply(before);
                let after = b.state.mark;
                let action = Action::AssumedMark {
                    chain: name,
                    before,
                    after,
                };
                b.trail
                    .push(Item::Step(self.step(stage, chain, rule, action)));
                b.trail.push(Item::Assumption(Assumption {
                    rule: Some(rule),
                    kind: AssumptionKind::AssumedChain {
                        name,
                        mark: assumed.mark,
                    },
                }));
                return vec![(b, after_return)];
            }
            b.trail.push(Item::Step(self.step(
                stage,
                chain,
                rule,
                entered(name, goto),
            )));
            let fate = Fate::Undetermined {
                rule: Some(rule),
                reason: Undecided::MissingChain(name),
            };
            return vec![(b, End::Final(fate))];
        };
        b.trail.push(Item::Step(self.step(
            stage,
            chain,
            rule,
            entered(name, goto),
        )));
        let key = Rc::new(CallKey::new(stage, target, b.state.clone()));
        let stuck = if self.would_loop(&key) {
            Some(Undecided::Loop { chain: name })
        } else if too_deep(depth + 1) {
            Some(Undecided::TooDeep)
        } else {
            None
        };
        if let Some(reason) = stuck {
            self.depends_on_stack();
            let fate = Fate::Undetermined {
                rule: Some(rule),
                reason,
            };
            return vec![(b, End::Final(fate))];
        }
        let called = self.call(key, depth + 1);
        if !called.walked {
            self.more_paths(called.exits.len().saturating_sub(1), Some(rule));
        }
        called
            .exits
            .iter()
            .map(|exit| {
                let end = match &exit.end {
                    // Back from the called chain: carry on (jump) or leave this chain too (goto).
                    End::Return | End::Next => after_return.clone(),
                    other => other.clone(),
                };
                (b.after(exit), end)
            })
            .collect()
    }
}

fn entered(name: &str, goto: bool) -> Action<'_> {
    if goto {
        Action::Goto(name)
    } else {
        Action::Jump(name)
    }
}

/// A DNAT/SNAT rule's ranges as one translation.
fn translation(to: &SmallVec<[NatRange; 1]>) -> Translation {
    match to.first() {
        Some(&first) => Translation::Range {
            first,
            several: to.len() > 1,
        },
        None => Translation::Unspecified,
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
