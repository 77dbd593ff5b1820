//! Whether one of a rule's tests matches a packet: yes, no, with a probability (random
//! balancing), or undecidable from what the dump says (an interface, an ipset, a module
//! the evaluator does not interpret).

use std::borrow::Cow;
use std::net::IpAddr;

use crate::model::matcher::{Interface, PortDirection, Statistic};
use crate::model::{Match, ModuleKind, Negatable, PacketTests, PortRange, PortTests, RuleBody};
use crate::netfilter::packet::{Host, Origin, Packet};
use crate::netfilter::path::{State, Undecidable};
use crate::netfilter::pipeline::Hook;

/// The result of testing one match against a branch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test<'a> {
    Yes,
    No,
    /// Matches with this probability.
    Chance(f64),
    /// Cannot be decided from the packet.
    Unknown(Undecidable<'a>),
    /// Session affinity (`-m recent --rcheck`): never matches a new client.
    NoAffinity {
        action: &'a str,
        name: Cow<'a, str>,
    },
}

/// What a test needs besides the match itself.
pub(crate) struct Tester<'h> {
    /// The node's addresses (`addrtype LOCAL`).
    pub(crate) host: &'h Host,
    /// The hook being walked (interfaces depend on it).
    pub(crate) hook: Hook,
}

impl Tester<'_> {
    /// Tests one match of `body` against a path's state.
    pub(crate) fn test<'a>(&self, b: &State, body: &RuleBody<'a>, m: &Match<'a>) -> Test<'a> {
        let p = &b.packet;
        match m {
            Match::Source(n) => yes_no(n.value.contains(p.src) != n.negated),
            Match::Destination(n) => yes_no(n.value.contains(p.dst) != n.negated),
            Match::Protocol(n) => yes_no(n.value.matches(p.protocol) != n.negated),
            Match::InInterface(n) => self.interface(p, &n.value, n.negated, true),
            Match::OutInterface(n) => self.interface(p, &n.value, n.negated, false),
            Match::Fragment { negated } => yes_no(*negated),
            Match::Module(module) => match &module.kind {
                ModuleKind::Comment(_) | ModuleKind::Nfacct { .. } => Test::Yes,
                ModuleKind::Recent { name, action } => match *action {
                    "set" => Test::Yes,
                    _ => Test::NoAffinity {
                        action,
                        name: name.clone(),
                    },
                },
                _ => match module.uninterpreted(body).next() {
                    Some(option) => Test::Unknown(Undecidable::UninterpretedOption {
                        module: module.name,
                        option: option.name,
                    }),
                    None => self.module(b, module.name, &module.kind),
                },
            },
        }
    }

    /// A module whose options are all interpreted.
    fn module<'a>(&self, b: &State, name: &'a str, kind: &ModuleKind<'a>) -> Test<'a> {
        let p = &b.packet;
        match kind {
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
                    results.push(self.address_type(p.src, &t.value, t.negated));
                }
                if let Some(t) = dst_type {
                    results.push(self.address_type(p.dst, &t.value, t.negated));
                }
                all_of(results)
            }
            ModuleKind::Mark(n) => yes_no(n.value.matches(b.mark) != n.negated),
            ModuleKind::Statistic(n) => statistic(n),
            ModuleKind::Conntrack { states } => match states {
                None => Test::Unknown(Undecidable::ConntrackWithoutState { module: name }),
                Some(states) => connection_state(b, &states.value, states.negated),
            },
            ModuleKind::Set { name, .. } => {
                Test::Unknown(Undecidable::Ipset { name: name.clone() })
            }
            ModuleKind::Physdev => Test::Unknown(Undecidable::Physdev),
            ModuleKind::Other => Test::Unknown(Undecidable::Module { name }),
            ModuleKind::Comment(_) | ModuleKind::Nfacct { .. } | ModuleKind::Recent { .. } => {
                Test::Yes
            }
        }
    }

    fn interface<'a>(
        &self,
        p: &Packet,
        iface: &Interface<'a>,
        negated: bool,
        incoming: bool,
    ) -> Test<'a> {
        let known = if incoming {
            p.in_interface.clone().or_else(|| {
                // A packet the node sent to itself comes back in on `lo`.
                (p.origin == Origin::Local && self.hook == Hook::Input).then(|| "lo".to_string())
            })
        } else {
            p.out_interface.clone().or_else(|| {
                (p.origin == Origin::Local && self.host.is_local(p.dst)).then(|| "lo".to_string())
            })
        };
        if let Some(name) = known {
            return yes_no(iface.matches(&name) != negated);
        }
        // A packet the node sends has no incoming interface before it loops back (reference
        // §6: in nat OUTPUT `-i X` never matches and `! -i X` always does).
        if incoming && p.origin == Origin::Local && self.hook != Hook::Input {
            return yes_no(negated);
        }
        // Packets from the network never arrive on the loopback interface.
        if incoming && p.origin == Origin::Remote && iface.0 == "lo" {
            return yes_no(negated);
        }
        Test::Unknown(Undecidable::Interface {
            incoming,
            negated,
            name: iface.0,
        })
    }

    fn address_type<'a>(&self, ip: IpAddr, types: &[&'a str], negated: bool) -> Test<'a> {
        let local = self.host.is_local(ip);
        let mut any = false;
        for &t in types {
            let hit = match t.to_ascii_uppercase().as_str() {
                "LOCAL" => local,
                "UNICAST" => !local && !ip.is_multicast() && !is_broadcast(ip),
                "MULTICAST" => ip.is_multicast(),
                "BROADCAST" => is_broadcast(ip),
                "UNSPEC" => ip.is_unspecified(),
                _ => return Test::Unknown(Undecidable::AddressType(t)),
            };
            any |= hit;
        }
        yes_no(any != negated)
    }
}

fn statistic<'a>(n: &Negatable<Statistic>) -> Test<'a> {
    match n.value {
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
    }
}

/// A new connection's first packet: NEW, and DNAT/SNAT once those happened to it.
fn connection_state<'a>(b: &State, states: &[&'a str], negated: bool) -> Test<'a> {
    let mut any = false;
    for &s in states {
        let hit = match s.to_ascii_uppercase().as_str() {
            "NEW" => true,
            "ESTABLISHED" | "RELATED" | "INVALID" | "UNTRACKED" => false,
            "DNAT" => b.dnat.is_some(),
            "SNAT" => b.snat.is_some(),
            _ => return Test::Unknown(Undecidable::ConnectionState(s)),
        };
        any |= hit;
    }
    yes_no(any != negated)
}

fn yes_no<'a>(value: bool) -> Test<'a> {
    if value { Test::Yes } else { Test::No }
}

/// All tests must match: no if one says no; else undecidable if one is (the last one
/// named); else yes.
fn all_of(results: Vec<Test<'_>>) -> Test<'_> {
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

/// True if the packet's ports pass a `--sport` and a `--dport` test (an absent test passes).
pub(crate) fn ports_pass(
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

/// True if one of `tests` fails for `p`: the same answers as [`Tester::test`] gives for
/// those matches.
pub(crate) fn tests_reject(tests: &PacketTests, p: &Packet) -> bool {
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
