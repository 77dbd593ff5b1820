//! Where rules attach to the packet path: the netfilter hooks, the base chains registered
//! at each (one per table in iptables, any number in nftables) in priority order, and the
//! hooks a new connection's first packet passes, by where it comes from and where routing
//! sends it.
//!
//! The walk ([`crate::netfilter::walk`]) only follows this data: nothing there names a
//! table. [`Pipeline::from_iptables`] builds it for an `iptables-save` dump from the kernel's
//! fixed table priorities; a ruleset read from another language would give its own base
//! chains and priorities.

use crate::model::{ChainId, Dump, TableId};
use crate::netfilter::packet::Origin;

/// A netfilter hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    /// All hooks.
    pub const ALL: [Hook; 5] = [
        Hook::Prerouting,
        Hook::Input,
        Hook::Forward,
        Hook::Output,
        Hook::Postrouting,
    ];

    /// The name of iptables' built-in chain for this hook.
    pub fn chain_name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }

    fn index(self) -> usize {
        match self {
            Hook::Prerouting => 0,
            Hook::Input => 1,
            Hook::Forward => 2,
            Hook::Output => 3,
            Hook::Postrouting => 4,
        }
    }
}

/// One base chain: a table's entry point at a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stage {
    /// The hook.
    pub hook: Hook,
    /// The table (for reports: "nat", "filter"...).
    pub table: TableId,
    /// The chain the walk starts in; its policy decides a packet that falls off its end.
    pub chain: ChainId,
    /// The kernel's ordering at the hook: lower runs first.
    pub priority: i32,
}

/// The base chains of every hook, each hook's in priority order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pipeline {
    stages: [Vec<Stage>; 5],
}

/// iptables' tables, the hooks each registers at, and their priorities there
/// (`NF_IP_PRI_*`; nat registers twice: destination NAT before filtering, source NAT
/// after it).
const IPTABLES_STAGES: &[(&str, Hook, i32)] = &[
    ("raw", Hook::Prerouting, -300),
    ("raw", Hook::Output, -300),
    ("mangle", Hook::Prerouting, -150),
    ("mangle", Hook::Input, -150),
    ("mangle", Hook::Forward, -150),
    ("mangle", Hook::Output, -150),
    ("mangle", Hook::Postrouting, -150),
    ("nat", Hook::Prerouting, -100),
    ("nat", Hook::Output, -100),
    ("filter", Hook::Input, 0),
    ("filter", Hook::Forward, 0),
    ("filter", Hook::Output, 0),
    ("security", Hook::Input, 50),
    ("security", Hook::Forward, 50),
    ("security", Hook::Output, 50),
    ("nat", Hook::Input, 100),
    ("nat", Hook::Postrouting, 100),
];

impl Pipeline {
    /// The base chains of an iptables dump's `tables` (one of each name: the first wins):
    /// every built-in chain the dump has, at its table's priority.
    pub fn from_iptables(dump: &Dump<'_>, tables: &[TableId]) -> Self {
        let mut pipeline = Pipeline::default();
        for &(name, hook, priority) in IPTABLES_STAGES {
            let Some(table) = dump.find_table(tables, name) else {
                continue;
            };
            if let Some(chain) = dump.chain_id(table, hook.chain_name()) {
                pipeline.set(Stage {
                    hook,
                    table,
                    chain,
                    priority,
                });
            }
        }
        pipeline
    }

    /// Adds `stage`, replacing the one of the same table at the same hook and priority.
    pub fn set(&mut self, stage: Stage) {
        let list = &mut self.stages[stage.hook.index()];
        list.retain(|s| !(s.table == stage.table && s.priority == stage.priority));
        let at = list.partition_point(|s| s.priority <= stage.priority);
        list.insert(at, stage);
    }

    /// The base chains at `hook`, in the order the kernel runs them.
    pub fn stages(&self, hook: Hook) -> &[Stage] {
        &self.stages[hook.index()]
    }

    /// The stage of `table` at `hook`, if any.
    pub fn stage(&self, hook: Hook, table: TableId) -> Option<&Stage> {
        self.stages(hook).iter().find(|s| s.table == table)
    }
}

/// The hooks a new connection's first packet passes before the routing decision.
pub fn hooks_before_routing(origin: Origin) -> &'static [Hook] {
    match origin {
        Origin::Remote => &[Hook::Prerouting],
        Origin::Local => &[Hook::Output],
    }
}

/// The hooks it passes after routing: to a local socket (`local`) or out of the node. A
/// packet the node sends to itself leaves through POSTROUTING and comes back in through
/// INPUT (its PREROUTING pass on the loopback interface changes nothing the rules decide:
/// its connection is already NATed).
pub fn hooks_after_routing(origin: Origin, local: bool) -> &'static [Hook] {
    match (origin, local) {
        (Origin::Remote, true) => &[Hook::Input],
        (Origin::Remote, false) => &[Hook::Forward, Hook::Postrouting],
        (Origin::Local, true) => &[Hook::Postrouting, Hook::Input],
        (Origin::Local, false) => &[Hook::Postrouting],
    }
}
