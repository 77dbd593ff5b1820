//! What a matched rule's target does to a branch: verdicts, jumps into other chains (or
//! into a missing chain, assumed or not), marks and NAT.

use smallvec::SmallVec;

use crate::model::{ChainId, NatRange, RuleBody, RuleId, TargetKind};
use crate::netfilter::path::{
    Action, Assumption, AssumptionKind, Branch, Fate, Nat, Translation, Undecided,
};
use crate::netfilter::pipeline::Stage;
use crate::netfilter::walk::{End, Walker};

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
        mut b: Branch<'a>,
        depth: usize,
    ) -> Vec<(Branch<'a>, End<'a>)> {
        let Some(target) = &body.target else {
            b.steps
                .push(self.step(stage, chain, rule, Action::NoEffect));
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
                let before = b.mark;
                b.mark = op.apply(before);
                let after = b.mark;
                self.record(&at, &mut b, Action::Mark { before, after }, End::Next)
            }
            TargetKind::Log => self.record(&at, &mut b, Action::NoEffect, End::Next),
            TargetKind::Connmark | TargetKind::Other => self.other(&at, &mut b, target.name),
        };
        vec![(b, end)]
    }

    /// Records the step a matched rule took and returns how the chain goes on.
    fn record(&self, at: &Fired, b: &mut Branch<'a>, action: Action<'a>, end: End<'a>) -> End<'a> {
        b.steps.push(self.step(at.stage, at.chain, at.rule, action));
        end
    }

    /// DNAT or REDIRECT: the packet's new destination.
    fn destination_nat(&self, at: &Fired, b: &mut Branch<'a>, kind: &TargetKind<'a>) -> End<'a> {
        let to = match kind {
            TargetKind::Dnat { to } => {
                let to = translation(to);
                if let Some(range) = to.range() {
                    if let Some(address) = range.first {
                        b.packet.dst = address;
                    }
                    if let Some(ports) = range.ports {
                        b.packet.dport = ports.first;
                    }
                }
                to
            }
            TargetKind::Redirect { to_ports } => {
                if let Some(ports) = to_ports {
                    b.packet.dport = ports.first;
                }
                Translation::Redirect {
                    port: b.packet.dport,
                }
            }
            _ => Translation::Unspecified,
        };
        b.dnat = Some(Nat { rule: at.rule, to });
        self.record(at, b, Action::Dnat(to), End::Accept)
    }

    /// SNAT or MASQUERADE: the packet's new source.
    fn source_nat(&self, at: &Fired, b: &mut Branch<'a>, kind: &TargetKind<'a>) -> End<'a> {
        let to = match kind {
            TargetKind::Snat { to } => {
                let to = translation(to);
                if let Some(address) = to.range().and_then(|r| r.first) {
                    b.packet.src = address;
                }
                to
            }
            _ => Translation::Masquerade,
        };
        b.snat = Some(Nat { rule: at.rule, to });
        self.record(at, b, Action::Snat(to), End::Accept)
    }

    /// A target the walk does not model: passed over when it cannot change the packet's
    /// addresses or mark, else the path ends undetermined.
    fn other(&self, at: &Fired, b: &mut Branch<'a>, name: &'a str) -> End<'a> {
        if !continues_after(name) {
            return End::Final(Fate::Undetermined {
                rule: Some(at.rule),
                reason: Undecided::Target(name),
            });
        }
        if name == "CONNMARK" {
            b.assumptions.push(Assumption {
                rule: Some(at.rule),
                kind: AssumptionKind::ConnmarkIgnored,
            });
        }
        self.record(at, b, Action::Ignored(name), End::Next)
    }

    /// Follows a jump (or goto) to chain `name`: into its rules when the dump has the
    /// chain, through its assumed effect when the caller knows one, else the branch ends
    /// undetermined.
    #[allow(clippy::too_many_arguments)]
    fn jump(
        &self,
        stage: Stage,
        chain: ChainId,
        rule: RuleId,
        name: &'a str,
        goto: bool,
        mut b: Branch<'a>,
        depth: usize,
    ) -> Vec<(Branch<'a>, End<'a>)> {
        let dump = self.ctx.rules.dump();
        let table = dump.chain(chain).table;
        let present = dump.chain_id(table, name).filter(|&t| dump.is_present(t));
        let after_return = if goto { End::Return } else { End::Next };
        let Some(target) = present else {
            if let Some(assumed) = self.ctx.assumed_chains.iter().find(|a| a.name == name) {
                let before = b.mark;
                b.mark = assumed.mark.apply(before);
                let after = b.mark;
                let action = Action::AssumedMark {
                    chain: name,
                    before,
                    after,
                };
                b.steps.push(self.step(stage, chain, rule, action));
                b.assumptions.push(Assumption {
                    rule: Some(rule),
                    kind: AssumptionKind::AssumedChain {
                        name,
                        mark: assumed.mark,
                    },
                });
                return vec![(b, after_return)];
            }
            b.steps
                .push(self.step(stage, chain, rule, entered(name, goto)));
            let fate = Fate::Undetermined {
                rule: Some(rule),
                reason: Undecided::MissingChain(name),
            };
            return vec![(b, End::Final(fate))];
        };
        b.steps
            .push(self.step(stage, chain, rule, entered(name, goto)));
        self.run_chain(stage, target, b, depth + 1)
            .into_iter()
            .map(|(out, end)| {
                let end = match end {
                    // Back from the called chain: carry on (jump) or leave this chain too (goto).
                    End::Return | End::Next => after_return.clone(),
                    other => other,
                };
                (out, end)
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
