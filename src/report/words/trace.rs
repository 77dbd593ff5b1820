//! The sentences of a `trace` report: the packet, each event of a branch, and how the
//! branch ends. Unsanitised: the renderers sanitise.

use std::net::{IpAddr, SocketAddr};

use crate::kube::trace::{
    MissFact, RulesetTrace, Trace, TraceAction, TraceEnd, TracedBranch, Unfollowed,
};
use crate::model::{Family, Policy};
use crate::netfilter::{Hook, Origin, Packet, Translation};
use crate::report::words::translation;

/// `tcp 203.0.113.7:40000 → 198.51.100.80:80, from the network, mark 0x0`
pub fn trace_packet(trace: &Trace) -> String {
    let p = &trace.packet;
    let mut text = format!(
        "{} {} → {}, {}",
        p.protocol,
        socket(p.src, p.sport),
        socket(p.dst, p.dport),
        match p.origin {
            Origin::Remote => "from the network (nat PREROUTING first)",
            Origin::Local => "sent by a process on this node (nat OUTPUT first)",
        }
    );
    if let Some(name) = &p.in_interface {
        text.push_str(&format!(", in on {name}"));
    }
    if let Some(name) = &p.out_interface {
        text.push_str(&format!(", out on {name}"));
    }
    text.push_str(&format!(", mark {:#x}", trace.mark));
    text
}

/// Which addresses count as this node's.
pub fn node_addresses(trace: &Trace) -> String {
    if trace.node_addresses.is_empty() {
        return "this node's addresses: none given, so only loopback counts as local (give --node-ip for addrtype LOCAL tests and local delivery)".into();
    }
    let list: Vec<String> = trace.node_addresses.iter().map(IpAddr::to_string).collect();
    format!("this node's addresses: {} (and loopback)", list.join(", "))
}

/// Why there is nothing to trace: the dump has no rules of the packet's family.
pub fn no_ruleset(trace: &Trace) -> String {
    let family = match trace.packet.dst {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    };
    let save = match family {
        Family::Ipv4 => "iptables-save",
        Family::Ipv6 => "ip6tables-save",
    };
    match trace.other_families.first() {
        Some(other) => format!(
            "the packet is {family} but the dump holds {other} rules only: save the node's {family} rules with `{save}` (the two dumps may be concatenated) and trace that"
        ),
        None => "the dump has no rules".into(),
    }
}

/// Which table headers the input lacks, and what that means for the walk.
pub fn missing_tables(ruleset: &RulesetTrace) -> String {
    format!(
        "no {} table header: the rules the input has are walked, rules it lacks (whole chains, filter drops) are not",
        ruleset.missing_tables.join(" or ")
    )
}

/// `ADDR:PORT`, IPv6 in brackets.
pub fn socket(ip: IpAddr, port: u16) -> String {
    SocketAddr::new(ip, port).to_string()
}

/// The hook's built-in chain name, as a heading.
pub fn hook_name(hook: Hook) -> &'static str {
    hook.chain_name()
}

/// How a branch ends, in one sentence.
pub fn trace_end(b: &TracedBranch) -> String {
    let at = |rule: &Option<crate::kube::RuleRef>| {
        rule.as_ref().map_or(String::new(), |r| {
            format!(" (line {}, {} {})", r.line, r.table, r.chain)
        })
    };
    match &b.end {
        TraceEnd::Delivered => format!(
            "delivered to a socket on this node at {}{}; {}",
            socket(b.packet.dst, b.packet.dport),
            dnat_by(b),
            source_seen(b)
        ),
        TraceEnd::Forwarded => format!(
            "forwarded to {}{}; {}",
            socket(b.packet.dst, b.packet.dport),
            dnat_by(b),
            source_seen(b)
        ),
        TraceEnd::Dropped { rule: Some(r), .. } => {
            format!("dropped by line {} ({} {})", r.line, r.table, r.chain)
        }
        TraceEnd::Dropped { rule: None, chain } => {
            format!("dropped by the DROP policy of {chain}")
        }
        TraceEnd::Rejected { rule } => {
            format!(
                "rejected by line {} ({} {})",
                rule.line, rule.table, rule.chain
            )
        }
        TraceEnd::Undetermined { rule, why } => {
            format!("undetermined{}: {}", at(rule), unfollowed(why))
        }
    }
}

/// The verdict word of a branch end (JSON's `verdict`).
pub fn trace_verdict(end: &TraceEnd) -> &'static str {
    match end {
        TraceEnd::Delivered => "delivered",
        TraceEnd::Forwarded => "forwarded",
        TraceEnd::Dropped { .. } => "dropped",
        TraceEnd::Rejected { .. } => "rejected",
        TraceEnd::Undetermined { .. } => "undetermined",
    }
}

fn dnat_by(b: &TracedBranch) -> String {
    match &b.dnat {
        Some(nat) => format!(" (DNAT by line {}, {})", nat.rule.line, nat.rule.chain),
        None => String::new(),
    }
}

/// The source address the receiver sees.
fn source_seen(b: &TracedBranch) -> String {
    match &b.snat {
        None => format!("the receiver sees the source {}", b.packet.src),
        Some(nat) => match &nat.to {
            Translation::Masquerade => format!(
                "the source is rewritten by line {} ({}): MASQUERADE, the address of the interface it leaves by (a node address)",
                nat.rule.line, nat.rule.chain
            ),
            to => match to.single_address() {
                Some(address) => format!(
                    "the source is rewritten to {address} by line {} ({})",
                    nat.rule.line, nat.rule.chain
                ),
                None => format!(
                    "the source is rewritten to {} by line {} ({})",
                    translation(to),
                    nat.rule.line,
                    nat.rule.chain
                ),
            },
        },
    }
}

fn unfollowed(why: &Unfollowed) -> String {
    match why {
        Unfollowed::MissingChain(chain) => format!(
            "it jumps to {chain}, which is not in the dump (a fragment?): save the whole ruleset"
        ),
        Unfollowed::Target(target) => {
            format!("the target {target} is not modelled: what it does to the packet is unknown")
        }
        Unfollowed::Unreadable => "the rule could not be read (a parse error)".into(),
        Unfollowed::Loop(chain) => format!(
            "a loop: the jump goes back into {chain}, already being walked with the packet unchanged (a kernel refuses such rules)"
        ),
        Unfollowed::TooDeep => "chains nested deeper than the walk follows (not a loop)".into(),
        Unfollowed::TooManyPaths(limit) => {
            format!("more than {limit} distinct paths, so the walk stopped")
        }
        Unfollowed::TooMuchWork(limit) => {
            format!("more than {limit} rule evaluations, so the walk stopped")
        }
    }
}

/// What a matching rule did.
pub fn trace_action(action: &TraceAction) -> String {
    match action {
        TraceAction::Jump(chain) => format!("jump to {chain}"),
        TraceAction::Goto(chain) => format!("go to {chain}"),
        TraceAction::Return => "return to the calling chain".into(),
        TraceAction::Mark { before, after } => format!("mark {before:#x} → {after:#x}"),
        TraceAction::AssumedMark {
            chain,
            before,
            after,
        } => {
            format!("mark {before:#x} → {after:#x} ({chain} is missing: its standard form assumed)")
        }
        TraceAction::Dnat(Translation::Redirect { port }) => {
            format!("REDIRECT to this node, port {port}")
        }
        TraceAction::Dnat(to) => format!("DNAT to {}", translation(to)),
        TraceAction::Snat(Translation::Masquerade) => "MASQUERADE".into(),
        TraceAction::Snat(to) => format!("SNAT to {}", translation(to)),
        TraceAction::Accept => "ACCEPT (the rest of this table at this hook is skipped)".into(),
        TraceAction::Drop => "DROP".into(),
        TraceAction::Reject => "REJECT".into(),
        TraceAction::NoEffect => "no effect on the packet".into(),
        TraceAction::Ignored(target) => format!("{target}: not modelled, the walk goes on"),
    }
}

/// A base chain's policy deciding.
pub fn policy(policy: Policy) -> &'static str {
    match policy {
        Policy::Accept => "the chain's policy ACCEPT",
        Policy::Drop => "the chain's policy DROP",
    }
}

/// What the packet had where a test failed.
pub fn miss_fact(fact: &MissFact) -> String {
    let local = |yes: bool| {
        if yes {
            "is this node's"
        } else {
            "is not this node's"
        }
    };
    match fact {
        MissFact::Source(ip) => format!("the source is {ip}"),
        MissFact::Destination(ip) => format!("the destination is {ip}"),
        MissFact::Protocol(p) => format!("the protocol is {p}"),
        MissFact::Interface { incoming, name } => {
            let which = if *incoming { "in" } else { "out" };
            match name {
                Some(name) => format!("it goes {which} on {name}"),
                None => format!("its {which}-interface is not given"),
            }
        }
        MissFact::NotAFragment => "a connection's first packet is not a fragment".into(),
        MissFact::Ports { sport, dport } => {
            format!("source port {sport}, destination port {dport}")
        }
        MissFact::AddressTypes {
            source_local,
            destination_local,
        } => {
            let mut parts = Vec::new();
            if let Some(yes) = source_local {
                parts.push(format!("the source {}", local(*yes)));
            }
            if let Some(yes) = destination_local {
                parts.push(format!("the destination {}", local(*yes)));
            }
            parts.join(", ")
        }
        MissFact::Mark(mark) => format!("the mark is {mark:#x}"),
        MissFact::NewConnection => "it is a new connection (state NEW)".into(),
        MissFact::Other => "the packet does not pass it".into(),
    }
}

/// The routing decision.
pub fn routed(destination: IpAddr, local: bool, origin: Origin) -> String {
    match (local, origin) {
        (true, Origin::Remote) => {
            format!("routing: {destination} is this node's → delivered locally (INPUT)")
        }
        (true, Origin::Local) => format!(
            "routing: {destination} is this node's → through POSTROUTING and back in (INPUT)"
        ),
        (false, Origin::Remote) => {
            format!("routing: {destination} is not this node's → forwarded (FORWARD, POSTROUTING)")
        }
        (false, Origin::Local) => {
            format!("routing: {destination} is not this node's → sent out (POSTROUTING)")
        }
    }
}

/// The packet at the end, for JSON and Markdown: `src → dst:port`.
pub fn final_packet(p: &Packet) -> String {
    format!("{} → {}", socket(p.src, p.sport), socket(p.dst, p.dport))
}
