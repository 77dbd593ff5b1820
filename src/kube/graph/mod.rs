//! `graph`: the chains a destination's connections can pass, as a graph built from the rules.
//!
//! For each destination the question names (a nodePort, a LoadBalancer IP, an externalIP,
//! a ClusterIP: what `explain` finds for it): the rules naming it (KUBE-NODEPORTS rules, or
//! KUBE-SERVICES and filter rules testing its address) and every chain they lead to
//! (KUBE-FW → KUBE-EXT/KUBE-XLB → KUBE-SVC/KUBE-SVL → KUBE-SEP, KUBE-MARK-MASQ, ...); the
//! rules above them back to the hooks (nat PREROUTING/OUTPUT → KUBE-SERVICES →
//! KUBE-NODEPORTS); nat POSTROUTING and the chains it leads to (KUBE-POSTROUTING, a CNI's
//! masquerade chain); the filter hooks' kube-proxy chains, keeping only the rules that are
//! about this port (and address) or about no port at all (drops, marks); and every rule
//! `explain` found decisive,
//! with the rules that lead to it. Chains are nodes; a jump is an edge from the rule's
//! chain to the chain it enters; a rule that does something else (DNAT, MASQUERADE, MARK,
//! DROP, ...) is an edge to a node of its own. Edges carry the rule's line and its typed
//! conditions; the masquerading and dropping rules `explain` found decisive carry the
//! source classes they decide for. No words here: `report::graph` writes DOT and Mermaid.

mod conditions;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use crate::kube::chains::{NODEPORTS, SERVICES, is_kube_chain};
use crate::kube::destination::{Destination, DestinationKind, Entry, find_entries};
use crate::kube::explain::{ExplainOptions, explain};
use crate::kube::explanation::{
    AvailablePort, BranchReason, ClassKind, DropCause, PortExplanation,
};
use crate::kube::mode::UnsupportedMode;
use crate::kube::target::Target;
use crate::model::matcher::{MarkValue, PortDirection};
use crate::model::{
    Address, ChainId, Family, MarkOp, Match, ModuleKind, NatRange, Negatable, Policy, PortRange,
    Protocol, RuleId, TableId, TargetKind,
};
use crate::parse::RuleReader;
use conditions::conditions;

/// Most rules drawn in one nodePort's graph; past this it is cut (a service with a
/// thousand endpoints would not be readable anyway), and says so.
pub const MAX_GRAPH_RULES: usize = 400;

/// The graphs for a question: one per matching destination.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainGraphs {
    /// What was asked.
    pub target: Target,
    /// One graph per matching destination (and ruleset); empty when not found.
    pub ports: Vec<PortGraph>,
    /// When nothing was found: the nodePorts the dump does have.
    pub available: Vec<AvailablePort>,
    /// When nothing was found: how many distinct nodePorts the dump has.
    pub available_total: usize,
    /// When nothing was found and the dump is from a proxy mode `explain` cannot analyse:
    /// that mode, as `explain` reports it.
    pub unsupported_mode: Option<UnsupportedMode>,
}

/// The graph of one nodePort.
#[derive(Debug, Clone, PartialEq)]
pub struct PortGraph {
    /// `ns/name:port` from the rules' comment, if any.
    pub service: Option<String>,
    /// What it is a graph of: a nodePort, or an address and port.
    pub destination: Destination,
    /// IPv4 or IPv6 ruleset.
    pub family: Family,
    /// Chains and rule actions, in the order they were reached.
    pub nodes: Vec<GraphNode>,
    /// Rules, in line order.
    pub edges: Vec<GraphEdge>,
    /// True when rules were left out past [`MAX_GRAPH_RULES`].
    pub truncated: bool,
}

/// Index of a node in [`PortGraph::nodes`].
pub type NodeId = usize;

/// A chain, or what one rule does.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    /// The table it is in (`nat`, `filter`, ...).
    pub table: String,
    /// What it is.
    pub kind: NodeKind,
    /// Set when `explain` found this node decisive (a rule's action, or a hook whose
    /// policy dropped).
    pub highlight: Option<Highlight>,
}

/// What a node stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A built-in chain, where a hook enters the table.
    Hook {
        /// `PREROUTING`, `INPUT`, ...
        name: String,
        /// Its policy.
        policy: Option<Policy>,
        /// Line of its declaration.
        line: Option<u32>,
    },
    /// A user chain.
    Chain {
        /// Its name.
        name: String,
        /// Line of its declaration.
        line: Option<u32>,
        /// True when the dump jumps to it but neither declares it nor has rules in it.
        missing: bool,
    },
    /// What a rule that does not enter a chain does.
    Action {
        /// The rule's line.
        line: u32,
        /// What it does.
        action: RuleAction,
    },
}

/// A rule's action, other than entering a chain.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleAction {
    /// `DNAT --to-destination ...`
    Dnat(Vec<NatRange>),
    /// `SNAT --to-source ...`
    Snat(Vec<NatRange>),
    /// `MASQUERADE`
    Masquerade,
    /// `REDIRECT [--to-ports P]`
    Redirect(Option<PortRange>),
    /// `MARK ...`
    Mark(MarkOp),
    /// `ACCEPT`
    Accept,
    /// `DROP`
    Drop,
    /// `REJECT [--reject-with TYPE]`
    Reject(Option<String>),
    /// `RETURN`
    Return,
    /// `LOG`
    Log,
    /// Any other target, by name.
    Other(String),
}

/// One rule: from its chain to the chain it enters or to its action's node.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphEdge {
    /// The rule's chain.
    pub from: NodeId,
    /// The chain entered, or the action's node.
    pub to: NodeId,
    /// The rule's line.
    pub line: u32,
    /// True for `-g` (goto).
    pub goto: bool,
    /// What the packet must pass for the rule to match, in the order written.
    pub conditions: Vec<Condition>,
    /// Set when `explain` found this rule decisive.
    pub highlight: Option<Highlight>,
}

/// One test a rule makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `[!] -s ADDR`
    Source(Negatable<Address>),
    /// `[!] -d ADDR`
    Destination(Negatable<Address>),
    /// `[!] -p PROTO`
    Protocol(Negatable<Protocol>),
    /// `[!] -i IFACE` (`true`) or `[!] -o IFACE`
    Interface {
        /// `-i` rather than `-o`.
        incoming: bool,
        /// `!`.
        negated: bool,
        /// As written (`cni0`, `veth+`).
        name: String,
    },
    /// `[!] -f`
    Fragment {
        /// `!`.
        negated: bool,
    },
    /// `[!] --sport` (`false`) or `[!] --dport` (`true`)
    Port {
        /// Destination rather than source port.
        destination: bool,
        /// The port or range.
        ports: Negatable<PortRange>,
    },
    /// `-m multiport [!] --dports|--sports|--ports ...`
    Ports {
        /// Which port the list is tested against.
        direction: PortDirection,
        /// The list.
        ports: Negatable<Vec<PortRange>>,
    },
    /// `-m addrtype [!] --src-type|--dst-type T,...`
    AddressType {
        /// `--src-type` rather than `--dst-type`.
        source: bool,
        /// `!`.
        negated: bool,
        /// `LOCAL`, ...
        types: Vec<String>,
    },
    /// `-m mark [!] --mark VALUE/MASK`
    Mark(Negatable<MarkValue>),
    /// `-m statistic --mode random --probability P`
    Probability {
        /// `!`.
        negated: bool,
        /// Between 0 and 1.
        probability: f64,
    },
    /// `-m statistic --mode nth --every N --packet P`
    Nth {
        /// `!`.
        negated: bool,
        /// The period.
        every: u32,
        /// The packet of each period.
        packet: u32,
    },
    /// `-m conntrack [!] --ctstate S,...` (or `-m state`)
    ConnectionState {
        /// `!`.
        negated: bool,
        /// The states, as written.
        states: Vec<String>,
    },
    /// `-m set [!] --match-set NAME FLAGS`
    Set {
        /// `!`.
        negated: bool,
        /// The set.
        name: String,
        /// Its flags (`src`, `dst,dst`).
        flags: String,
    },
    /// `-m recent --rcheck|--set|... --name N` (session affinity)
    Recent {
        /// `rcheck`, `set`, `update`, `remove`.
        action: String,
        /// The list's name.
        name: String,
    },
    /// Any other test, as written in the dump (a module with options the analysis does
    /// not type, `-m physdev`, ...).
    Other(String),
}

/// Why a rule or node is highlighted: it decided a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Highlight {
    /// What it did.
    pub kind: HighlightKind,
    /// The source classes it decided it for.
    pub classes: Vec<ClassKind>,
}

/// What a highlighted rule decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HighlightKind {
    /// It masqueraded the connection, or marked it for masquerading.
    Masquerade,
    /// It dropped the connection, or marked it for dropping.
    Drop,
    /// It rejected the connection.
    Reject,
}

/// The graphs of every destination matching `options.target` that some rule names;
/// `explain` runs with the same options to find the rules to highlight.
pub fn graph(rules: &RuleReader<'_, '_>, options: &ExplainOptions) -> ChainGraphs {
    let explanation = explain(rules, options);
    let dump = rules.dump();
    let entries = find_entries(rules, &options.target);
    let ports = explanation
        .ports
        .iter()
        .filter(|explained| explained.destination.kind != DestinationKind::Unhandled)
        .filter_map(|explained| {
            let entry = entries.iter().find(|e| {
                e.destination == explained.destination
                    && dump.rulesets[e.ruleset.0 as usize].family == explained.family
            })?;
            Some(port_graph(rules, entry, explained))
        })
        .collect();
    ChainGraphs {
        target: explanation.target,
        ports,
        available: explanation.available,
        available_total: explanation.available_total,
        unsupported_mode: explanation.unsupported_mode,
    }
}

/// The decisive rules of a nodePort's explanation, by line, and the hook chains whose
/// policy dropped, by name.
#[derive(Default)]
struct Decisive {
    rules: BTreeMap<u32, Highlight>,
    policies: BTreeMap<String, Highlight>,
}

impl Decisive {
    fn of(explained: &PortExplanation) -> Self {
        let mut decisive = Decisive::default();
        for class in &explained.classes {
            for branch in &class.branches {
                if let Some(m) = &branch.masquerade {
                    for rule in m.rule.iter().chain(&m.marked_by) {
                        decisive.rule(rule.line, HighlightKind::Masquerade, class.kind);
                    }
                }
                match &branch.reason {
                    BranchReason::Dropped { rule, chain, cause } => {
                        match rule {
                            Some(line) => decisive.rule(*line, HighlightKind::Drop, class.kind),
                            None => add_class(
                                decisive.policies.entry(chain.clone()).or_insert_with(|| {
                                    Highlight {
                                        kind: HighlightKind::Drop,
                                        classes: Vec::new(),
                                    }
                                }),
                                class.kind,
                            ),
                        }
                        if let DropCause::DropMark(mark) = cause {
                            decisive.rule(mark.rule.line, HighlightKind::Drop, class.kind);
                        }
                    }
                    BranchReason::Rejected { rule, .. } => {
                        decisive.rule(rule.line, HighlightKind::Reject, class.kind)
                    }
                    _ => {}
                }
            }
        }
        decisive
    }

    fn rule(&mut self, line: u32, kind: HighlightKind, class: ClassKind) {
        let entry = self.rules.entry(line).or_insert_with(|| Highlight {
            kind,
            classes: Vec::new(),
        });
        // A rule both marks for masquerading and drops only in a contrived dump; the
        // drop is what the reader must see.
        entry.kind = entry.kind.max(kind);
        add_class(entry, class);
    }
}

fn add_class(highlight: &mut Highlight, class: ClassKind) {
    if !highlight.classes.contains(&class) {
        highlight.classes.push(class);
        highlight.classes.sort();
    }
}

/// How much of a chain a graph takes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Every rule (a service's own chains, POSTROUTING's).
    All,
    /// Only the rules that test this destination port (and, when given, may match this
    /// address) or no destination port at all (the filter table's kube-proxy chains, which
    /// hold a rule per service).
    Destination {
        /// The destination address, for an address (not a nodePort on any address).
        address: Option<IpAddr>,
        /// The destination port.
        port: u16,
    },
}

struct Builder<'r, 'p, 'a> {
    rules: &'r RuleReader<'p, 'a>,
    decisive: Decisive,
    nodes: Vec<GraphNode>,
    edges: Vec<GraphEdge>,
    chain_nodes: HashMap<ChainId, NodeId>,
    /// Jumps to chains named but absent from the table, by (table, name).
    missing_nodes: HashMap<(TableId, String), NodeId>,
    rules_added: BTreeSet<RuleId>,
    expanded: BTreeSet<ChainId>,
    ancestors_done: BTreeSet<ChainId>,
    truncated: bool,
}

fn port_graph(rules: &RuleReader<'_, '_>, port: &Entry, explained: &PortExplanation) -> PortGraph {
    let dump = rules.dump();
    let mut b = Builder {
        rules,
        decisive: Decisive::of(explained),
        nodes: Vec::new(),
        edges: Vec::new(),
        chain_nodes: HashMap::new(),
        missing_nodes: HashMap::new(),
        rules_added: BTreeSet::new(),
        expanded: BTreeSet::new(),
        ancestors_done: BTreeSet::new(),
        truncated: false,
    };
    // The hooks down to the port's rules, then the port's rules and all they lead to.
    for &rule in &port.rules {
        b.ancestors(dump.rule(rule).chain);
    }
    for &rule in &port.rules {
        b.add_rule(rule, Scope::All);
    }
    let tables = dump.node_tables(port.ruleset);
    let scope = Scope::Destination {
        address: port.destination.address,
        port: port.destination.port,
    };
    // Source NAT: nat POSTROUTING, whole.
    if let Some(post) = dump.chain_id(port.nat, "POSTROUTING") {
        b.chain_node(post);
        b.expand(post, Scope::All);
    }
    // The filter hooks' kube-proxy chains, with the rules about this port or no port.
    if let Some(filter) = dump.find_table(&tables, "filter") {
        for hook in ["INPUT", "FORWARD", "OUTPUT"] {
            let Some(chain) = dump.chain_id(filter, hook) else {
                continue;
            };
            for &rule in &dump.chain(chain).rules {
                let Some(target) = rules.jump_target(rule) else {
                    continue;
                };
                if is_kube_chain(dump.chain(target).name) && b.leads_to_something(target, scope) {
                    b.add_rule(rule, scope);
                }
            }
        }
    }
    // Every rule explain found decisive (a host firewall's DROP, a raw-table rule...),
    // with the rules that lead to it.
    let lines: Vec<u32> = b.decisive.rules.keys().copied().collect();
    for line in lines {
        if let Some(rule) = rule_at_line(rules, line)
            && !b.rules_added.contains(&rule)
        {
            b.ancestors(dump.rule(rule).chain);
            b.add_rule(rule, scope);
        }
    }
    let policies: Vec<(String, Highlight)> = b
        .decisive
        .policies
        .iter()
        .map(|(c, h)| (c.clone(), h.clone()))
        .collect();
    for (name, highlight) in policies {
        for &table in &tables {
            if let Some(chain) = dump.chain_id(table, &name)
                && dump.chain(chain).policy == Some(Policy::Drop)
            {
                let node = b.chain_node(chain);
                b.nodes[node].highlight = Some(highlight.clone());
            }
        }
    }
    b.edges.sort_by_key(|e| (e.line, e.to));
    PortGraph {
        service: port.service.clone(),
        destination: port.destination,
        family: explained.family,
        nodes: b.nodes,
        edges: b.edges,
        truncated: b.truncated,
    }
}

/// The rule on `line`, if one is (lines are unique and rules are in line order).
fn rule_at_line(rules: &RuleReader<'_, '_>, line: u32) -> Option<RuleId> {
    let all = &rules.dump().rules;
    let at = all.binary_search_by_key(&line, |r| r.line).ok()?;
    Some(RuleId(at as u32))
}

impl Builder<'_, '_, '_> {
    /// The node of a chain present in the dump, added on first use.
    fn chain_node(&mut self, chain: ChainId) -> NodeId {
        if let Some(&node) = self.chain_nodes.get(&chain) {
            return node;
        }
        let dump = self.rules.dump();
        let c = dump.chain(chain);
        let kind = if c.is_builtin() {
            NodeKind::Hook {
                name: c.name.to_string(),
                policy: c.policy,
                line: c.declared_line(),
            }
        } else {
            NodeKind::Chain {
                name: c.name.to_string(),
                line: c.declared_line(),
                missing: !dump.is_present(chain),
            }
        };
        let node = self.push_node(c.table, kind);
        self.chain_nodes.insert(chain, node);
        node
    }

    fn push_node(&mut self, table: TableId, kind: NodeKind) -> NodeId {
        self.nodes.push(GraphNode {
            table: self.rules.dump().table(table).name.to_string(),
            kind,
            highlight: None,
        });
        self.nodes.len() - 1
    }

    /// Adds one rule as an edge (and its action's node), then what its jump leads to.
    fn add_rule(&mut self, rule: RuleId, scope: Scope) {
        if self.rules_added.contains(&rule) {
            return;
        }
        if self.rules_added.len() >= MAX_GRAPH_RULES {
            self.truncated = true;
            return;
        }
        let dump = self.rules.dump();
        let r = dump.rule(rule);
        let Ok(body) = self.rules.body(rule) else {
            return;
        };
        let Some(target) = &body.target else {
            return;
        };
        self.rules_added.insert(rule);
        let table = dump.chain(r.chain).table;
        let from = self.chain_node(r.chain);
        let highlight = self.decisive.rules.get(&r.line).cloned();
        let (to, entered) = match &target.kind {
            TargetKind::Chain(name) => match dump.chain_id(table, name) {
                Some(chain) => (self.chain_node(chain), Some(chain)),
                None => (self.missing_chain(table, name), None),
            },
            kind => {
                let action = rule_action(target.name, kind);
                let node = self.push_node(
                    table,
                    NodeKind::Action {
                        line: r.line,
                        action,
                    },
                );
                self.nodes[node].highlight = highlight.clone();
                (node, None)
            }
        };
        self.edges.push(GraphEdge {
            from,
            to,
            line: r.line,
            goto: target.goto,
            conditions: conditions(dump.text, &body),
            highlight,
        });
        if let Some(chain) = entered {
            let name = dump.chain(chain).name;
            // KUBE-SERVICES and KUBE-NODEPORTS hold every service's rules: only the
            // ones this graph reaches them for are drawn.
            if name != SERVICES && name != NODEPORTS {
                self.expand(chain, scope);
            }
        }
    }

    /// A node for a chain a rule names but the dump lacks.
    fn missing_chain(&mut self, table: TableId, name: &str) -> NodeId {
        let key = (table, name.to_string());
        if let Some(&node) = self.missing_nodes.get(&key) {
            return node;
        }
        let node = self.push_node(
            table,
            NodeKind::Chain {
                name: name.to_string(),
                line: None,
                missing: true,
            },
        );
        self.missing_nodes.insert(key, node);
        node
    }

    /// Adds a chain's rules (those in `scope`) and, through them, the chains they enter.
    fn expand(&mut self, chain: ChainId, scope: Scope) {
        if !self.expanded.insert(chain) {
            return;
        }
        let dump = self.rules.dump();
        for &rule in &dump.chain(chain).rules {
            if self.in_scope(rule, scope) {
                self.add_rule(rule, scope);
            }
        }
    }

    /// The rules that lead to `chain`, back to the hooks: each rule jumping to it, then
    /// those jumping to that rule's chain, and so on (only those rules, not their chains'
    /// other rules).
    fn ancestors(&mut self, chain: ChainId) {
        let mut queue = vec![chain];
        while let Some(chain) = queue.pop() {
            if !self.ancestors_done.insert(chain) {
                continue;
            }
            self.chain_node(chain);
            for &rule in self.rules.referrers(chain) {
                let caller = self.rules.dump().rule(rule).chain;
                self.add_edge_only(rule);
                queue.push(caller);
            }
        }
    }

    /// Adds a jump rule's edge without expanding the chain it enters (which the caller
    /// draws itself).
    fn add_edge_only(&mut self, rule: RuleId) {
        if self.rules_added.contains(&rule) {
            return;
        }
        if self.rules_added.len() >= MAX_GRAPH_RULES {
            self.truncated = true;
            return;
        }
        let dump = self.rules.dump();
        let (Ok(body), Some(target)) = (self.rules.body(rule), self.rules.jump_target(rule)) else {
            return;
        };
        self.rules_added.insert(rule);
        let r = dump.rule(rule);
        let from = self.chain_node(r.chain);
        let to = self.chain_node(target);
        self.edges.push(GraphEdge {
            from,
            to,
            line: r.line,
            goto: body.target.as_ref().is_some_and(|t| t.goto),
            conditions: conditions(dump.text, &body),
            highlight: self.decisive.rules.get(&r.line).cloned(),
        });
    }

    /// True if `rule` belongs in a graph drawing its chain with `scope`.
    fn in_scope(&self, rule: RuleId, scope: Scope) -> bool {
        let Scope::Destination { address, port } = scope else {
            return true;
        };
        let text = self.rules.dump().rule_text(rule);
        // Every spelling of a destination port or address test contains one of these; a
        // rule without them is about every destination, and is not typed here.
        let tests_port = ["dport", "destination-port", "--ports"]
            .iter()
            .any(|t| text.contains(t));
        let tests_address = address.is_some()
            && ["-d ", "--destination ", "--dst "]
                .iter()
                .any(|t| text.contains(t));
        if !tests_port && !tests_address {
            return true;
        }
        let Ok(body) = self.rules.body(rule) else {
            return false;
        };
        body.matches.iter().all(|m| match m {
            Match::Destination(d) => address.is_none_or(|a| d.value.contains(a) != d.negated),
            Match::Module(module) => match &module.kind {
                ModuleKind::Ports { dport: Some(d), .. } => d.value.contains(port) != d.negated,
                ModuleKind::Multiport {
                    direction: PortDirection::Destination | PortDirection::Either,
                    ports,
                } => ports.value.iter().any(|p| p.contains(port)) != ports.negated,
                _ => true,
            },
            _ => true,
        })
    }

    /// True if a filter chain drawn with `scope` would have at least one rule (so a hook's
    /// jump to an empty or unrelated chain is left out).
    fn leads_to_something(&self, chain: ChainId, scope: Scope) -> bool {
        let dump = self.rules.dump();
        let mut seen = BTreeSet::new();
        let mut queue = vec![chain];
        while let Some(chain) = queue.pop() {
            if !seen.insert(chain) || seen.len() > 64 {
                continue;
            }
            for &rule in &dump.chain(chain).rules {
                if !self.in_scope(rule, scope) {
                    continue;
                }
                match self.rules.jump_target(rule) {
                    Some(next) => queue.push(next),
                    None => return true,
                }
            }
        }
        false
    }
}

/// What a rule's target does, for a target that does not enter a chain.
fn rule_action(name: &str, kind: &TargetKind<'_>) -> RuleAction {
    match kind {
        TargetKind::Accept => RuleAction::Accept,
        TargetKind::Drop => RuleAction::Drop,
        TargetKind::Return => RuleAction::Return,
        TargetKind::Reject { with } => RuleAction::Reject(with.as_ref().map(|w| w.to_string())),
        TargetKind::Dnat { to } => RuleAction::Dnat(to.to_vec()),
        TargetKind::Snat { to } => RuleAction::Snat(to.to_vec()),
        TargetKind::Masquerade { .. } => RuleAction::Masquerade,
        TargetKind::Redirect { to_ports } => RuleAction::Redirect(*to_ports),
        TargetKind::Mark(op) => RuleAction::Mark(*op),
        TargetKind::Log => RuleAction::Log,
        TargetKind::Chain(_) | TargetKind::Connmark | TargetKind::Other => {
            RuleAction::Other(name.to_string())
        }
    }
}
