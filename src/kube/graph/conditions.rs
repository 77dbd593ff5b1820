//! A rule's tests as graph conditions, in the order written.

use super::Condition;
use crate::model::matcher::{Interface, Statistic};
use crate::model::{Match, Module, ModuleKind, Negatable, RuleBody};

/// A rule's tests, in the order written; `text` is the dump's text (for tests shown as
/// written).
pub(super) fn conditions(text: &str, body: &RuleBody<'_>) -> Vec<Condition> {
    let mut out = Vec::new();
    for m in &body.matches {
        match m {
            Match::Source(s) => out.push(Condition::Source(s.clone())),
            Match::Destination(d) => out.push(Condition::Destination(d.clone())),
            Match::Protocol(p) => out.push(Condition::Protocol(p.clone())),
            Match::InInterface(i) => out.push(interface(true, i)),
            Match::OutInterface(i) => out.push(interface(false, i)),
            Match::Fragment { negated } => out.push(Condition::Fragment { negated: *negated }),
            Match::Module(module) => module_conditions(text, body, module, &mut out),
        }
    }
    out
}

fn interface(incoming: bool, test: &Negatable<Interface<'_>>) -> Condition {
    Condition::Interface {
        incoming,
        negated: test.negated,
        name: test.value.0.to_string(),
    }
}

/// The tests of one `-m` group (none for a comment).
fn module_conditions(
    text: &str,
    body: &RuleBody<'_>,
    module: &Module<'_>,
    out: &mut Vec<Condition>,
) {
    let as_written = || Condition::Other(text.get(module.span.range()).unwrap_or("").to_string());
    if module.uninterpreted(body).next().is_some() {
        out.push(as_written());
        return;
    }
    match &module.kind {
        ModuleKind::Ports { sport, dport } => {
            for (destination, test) in [(false, sport), (true, dport)] {
                if let Some(ports) = test {
                    out.push(Condition::Port {
                        destination,
                        ports: ports.clone(),
                    });
                }
            }
        }
        ModuleKind::Multiport { direction, ports } => out.push(Condition::Ports {
            direction: *direction,
            ports: ports.clone(),
        }),
        ModuleKind::AddrType { src_type, dst_type } => {
            for (source, test) in [(true, src_type), (false, dst_type)] {
                if let Some(types) = test {
                    out.push(Condition::AddressType {
                        source,
                        negated: types.negated,
                        types: types.value.iter().map(|t| t.to_string()).collect(),
                    });
                }
            }
        }
        ModuleKind::Mark(mark) => out.push(Condition::Mark(mark.clone())),
        ModuleKind::Statistic(stat) => out.push(match stat.value {
            Statistic::Random { probability } => Condition::Probability {
                negated: stat.negated,
                probability,
            },
            Statistic::Nth { every, packet } => Condition::Nth {
                negated: stat.negated,
                every,
                packet,
            },
        }),
        ModuleKind::Conntrack {
            states: Some(states),
        } => out.push(Condition::ConnectionState {
            negated: states.negated,
            states: states.value.iter().map(|s| s.to_string()).collect(),
        }),
        ModuleKind::Set {
            name,
            flags,
            negated,
        } => out.push(Condition::Set {
            negated: *negated,
            name: name.to_string(),
            flags: flags.to_string(),
        }),
        ModuleKind::Recent { name, action } => out.push(Condition::Recent {
            action: action.to_string(),
            name: name.to_string(),
        }),
        ModuleKind::Comment(_) | ModuleKind::Nfacct { .. } => {}
        ModuleKind::Conntrack { states: None } | ModuleKind::Physdev | ModuleKind::Other => {
            out.push(as_written())
        }
    }
}
