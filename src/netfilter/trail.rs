//! What a path did, in order: the rules that matched and what each did, the assumptions
//! made, and the chains it called. A trail is an append-only list shared between paths:
//! paths that fork share what came before the fork, and every path that calls a chain in a
//! state the walk has seen before shares that call's record ([`crate::netfilter::calls`]),
//! so that a record costs what the walk computed, not the number of paths through it.
//!
//! Reading a trail ([`Trail::read`]) takes a shared call the path made more than once only
//! the first time: the same chain, entered in the same state and left the same way, did
//! the same thing again. Reading is therefore bounded by the walk's work, even for a chain
//! graph with exponentially many paths (a "diamond": each chain calling the next twice).

use std::fmt;
use std::rc::Rc;

use rustc_hash::FxHashSet;

use crate::netfilter::calls::Exit;
use crate::netfilter::path::{Assumption, Miss, Step};

/// An append-only, shared record of a path (see the module docs).
#[derive(Clone, Default)]
pub struct Trail<'a> {
    last: Option<Rc<Node<'a>>>,
}

struct Node<'a> {
    prev: Option<Rc<Node<'a>>>,
    item: Item<'a>,
}

/// One entry of a trail.
pub(crate) enum Item<'a> {
    /// A rule matched (or a policy decided).
    Step(Step<'a>),
    /// An assumption was made.
    Assumption(Assumption<'a>),
    /// A chain was called, and left this way (its own trail inside).
    Call(Rc<Exit<'a>>),
    /// A rule was tested and did not match (verbose walks only).
    Miss(Miss),
}

/// One entry of a trail as [`Trail::events`] gives it.
#[derive(Debug, PartialEq)]
pub enum Event<'t, 'a> {
    /// A rule matched (or a policy decided).
    Step(&'t Step<'a>),
    /// An assumption was made.
    Assumption(&'t Assumption<'a>),
    /// A rule was tested and did not match.
    Miss(&'t Miss),
}

/// What [`Trail::read`] returns: the steps and the assumptions, each in path order.
#[derive(Debug, Default)]
pub struct Record<'t, 'a> {
    /// Every rule that matched, and policies, in order.
    pub steps: Vec<&'t Step<'a>>,
    /// The assumptions made on the way, in order.
    pub assumptions: Vec<&'t Assumption<'a>>,
}

/// An entry of a trail written out in full (calls expanded every time): for comparing
/// trails in tests.
#[derive(Debug, PartialEq)]
pub(crate) enum Flat<'t, 'a> {
    Step(&'t Step<'a>),
    Assumption(&'t Assumption<'a>),
}

impl<'a> Trail<'a> {
    /// The trail with `item` appended (the original is unchanged and shares everything).
    pub(crate) fn with(&self, item: Item<'a>) -> Trail<'a> {
        Trail {
            last: Some(Rc::new(Node {
                prev: self.last.clone(),
                item,
            })),
        }
    }

    /// Appends `item`.
    pub(crate) fn push(&mut self, item: Item<'a>) {
        *self = self.with(item);
    }

    /// This trail's own entries, oldest first (calls not expanded).
    fn entries(&self) -> Vec<&Item<'a>> {
        let mut out = Vec::new();
        let mut node = self.last.as_deref();
        while let Some(n) = node {
            out.push(&n.item);
            node = n.prev.as_deref();
        }
        out.reverse();
        out
    }

    /// The steps and assumptions in path order, a call that appears again on the path
    /// (the same chain, state and way out) read only the first time.
    pub fn read(&self) -> Record<'_, 'a> {
        let mut record = Record::default();
        let mut seen = FxHashSet::default();
        self.read_into(&mut record, &mut seen);
        record
    }

    fn read_into<'t>(&'t self, record: &mut Record<'t, 'a>, seen: &mut FxHashSet<*const Exit<'a>>) {
        for item in self.entries() {
            match item {
                Item::Step(step) => record.steps.push(step),
                Item::Assumption(assumption) => record.assumptions.push(assumption),
                Item::Call(exit) => {
                    if seen.insert(Rc::as_ptr(exit)) {
                        exit.trail.read_into(record, seen);
                    }
                }
                Item::Miss(_) => {}
            }
        }
    }

    /// Every entry in path order, misses included, a call that appears again on the path
    /// read only the first time (as [`Trail::read`]): what `trace` shows.
    pub fn events(&self) -> Vec<Event<'_, 'a>> {
        let mut out = Vec::new();
        let mut seen = FxHashSet::default();
        self.events_into(&mut out, &mut seen);
        out
    }

    fn events_into<'t>(
        &'t self,
        out: &mut Vec<Event<'t, 'a>>,
        seen: &mut FxHashSet<*const Exit<'a>>,
    ) {
        for item in self.entries() {
            match item {
                Item::Step(step) => out.push(Event::Step(step)),
                Item::Assumption(assumption) => out.push(Event::Assumption(assumption)),
                Item::Miss(miss) => out.push(Event::Miss(miss)),
                Item::Call(exit) => {
                    if seen.insert(Rc::as_ptr(exit)) {
                        exit.trail.events_into(out, seen);
                    }
                }
            }
        }
    }

    /// Every entry, calls expanded each time they appear: exponential for a diamond, so
    /// for tests on small graphs only.
    pub(crate) fn flatten(&self) -> Vec<Flat<'_, 'a>> {
        let mut out = Vec::new();
        self.flatten_into(&mut out);
        out
    }

    fn flatten_into<'t>(&'t self, out: &mut Vec<Flat<'t, 'a>>) {
        for item in self.entries() {
            match item {
                Item::Step(step) => out.push(Flat::Step(step)),
                Item::Assumption(assumption) => out.push(Flat::Assumption(assumption)),
                Item::Call(exit) => exit.trail.flatten_into(out),
                Item::Miss(_) => {}
            }
        }
    }
}

/// Two trails are equal when they record the same entries in full, every call expanded
/// (exponential for a diamond: for tests).
impl PartialEq for Trail<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.flatten() == other.flatten()
    }
}

/// Shows what [`Trail::read`] returns.
impl fmt::Debug for Trail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let record = self.read();
        f.debug_struct("Trail")
            .field("steps", &record.steps)
            .field("assumptions", &record.assumptions)
            .finish()
    }
}

/// Drops a long list node by node: the default, recursive drop would overflow the stack on
/// a chain of a million matching rules.
impl Drop for Node<'_> {
    fn drop(&mut self) {
        let mut prev = self.prev.take();
        while let Some(node) = prev {
            match Rc::try_unwrap(node) {
                Ok(mut only) => prev = only.prev.take(),
                Err(_) => break,
            }
        }
    }
}
