//! The walk's cache of chain calls, fenced off from the walk: what a chain does to a path
//! that enters it in a given state, computed once and shared by every path that enters it
//! in that state again. A chain graph where each chain calls the next twice (a "diamond")
//! has 2^N paths through N chains; with the cache its walk costs N chain calls.
//!
//! A call's outcome (its exits) depends on its key (the stage, the chain and the path's
//! state: packet, mark, NAT) and on nothing else, except in two cases where it depends on
//! where it is called from: a jump back into a chain already on the call stack in the same
//! state (a cycle, [`crate::netfilter::Undecided::Loop`]), and a jump past the depth
//! limit. A call whose walk met either is kept for its exact call stack only (a frame: the
//! chain of keys from the hook down to it, interned); every other call is kept for its key,
//! and reused at any depth where it still fits under the limit.
//!
//! `Calls::plain` keeps nothing: it is the slow reference the cache is tested against
//! (the tests at the end of this file walk random chain graphs both ways).

use std::hash::{Hash, Hasher};
use std::rc::Rc;

use rustc_hash::{FxHashMap, FxHasher};

use crate::model::ChainId;
use crate::netfilter::path::{MAX_DEPTH, State};
use crate::netfilter::pipeline::Stage;
use crate::netfilter::trail::Trail;
use crate::netfilter::walk::End;

/// What a call's outcome depends on: which chain, walked in which stage, entered in which
/// state.
#[derive(Debug, Clone)]
pub(crate) struct CallKey {
    pub(crate) stage: Stage,
    pub(crate) chain: ChainId,
    pub(crate) state: State,
    /// The hash of the three, computed once: a call looks its key up several times (its
    /// frame, the kept outcomes, the call stack), and a state's packet is long to hash.
    hash: u64,
}

impl CallKey {
    /// The key of a call to `chain` in `stage`, entered in `state`.
    pub(crate) fn new(stage: Stage, chain: ChainId, state: State) -> Self {
        let mut hasher = FxHasher::default();
        stage.hash(&mut hasher);
        chain.hash(&mut hasher);
        state.hash(&mut hasher);
        CallKey {
            stage,
            chain,
            state,
            hash: hasher.finish(),
        }
    }
}

impl PartialEq for CallKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.stage == other.stage
            && self.chain == other.chain
            && self.state == other.state
    }
}

impl Eq for CallKey {}

impl Hash for CallKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// One way a call leaves its chain: the state then, the chance of leaving this way
/// (relative to entering), what happened inside, and how the chain ended.
#[derive(Debug)]
pub(crate) struct Exit<'a> {
    pub(crate) state: State,
    pub(crate) probability: f64,
    pub(crate) trail: Trail<'a>,
    pub(crate) end: End<'a>,
}

/// Every way a call leaves its chain, in the walk's order.
pub(crate) type Exits<'a> = Rc<[Rc<Exit<'a>>]>;

/// A call stack, interned: the same sequence of keys from the hook down always gets the
/// same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FrameId(u32);

impl FrameId {
    /// The empty stack, below every hook's base chain.
    pub(crate) const ROOT: FrameId = FrameId(0);
}

/// What a call's walk depended on besides its key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Dependence {
    /// How many levels of calls it made below itself.
    pub(crate) height: usize,
    /// True if it (or a call below it) met a cycle or the depth limit: its outcome then
    /// depends on the call stack it was made from.
    pub(crate) on_stack: bool,
}

impl Dependence {
    /// Takes in what a call made from this one depended on.
    pub(crate) fn include(&mut self, callee: Dependence) {
        self.height = self.height.max(callee.height + 1);
        self.on_stack |= callee.on_stack;
    }
}

#[derive(Debug)]
struct Kept<'a> {
    exits: Exits<'a>,
    dependence: Dependence,
}

/// The cache (see the module docs).
#[derive(Debug)]
pub(crate) struct Calls<'a> {
    /// False for the reference: nothing is kept.
    share: bool,
    frames: FxHashMap<(FrameId, Rc<CallKey>), FrameId>,
    by_key: FxHashMap<Rc<CallKey>, Kept<'a>>,
    by_frame: FxHashMap<FrameId, Kept<'a>>,
}

impl<'a> Calls<'a> {
    /// A cache that shares calls.
    pub(crate) fn shared() -> Self {
        Calls {
            share: true,
            frames: FxHashMap::default(),
            by_key: FxHashMap::default(),
            by_frame: FxHashMap::default(),
        }
    }

    /// The reference: every call is walked again.
    #[cfg(test)]
    pub(crate) fn plain() -> Self {
        Calls {
            share: false,
            ..Calls::shared()
        }
    }

    /// The frame of a call to `key` made from frame `caller`.
    pub(crate) fn frame(&mut self, caller: FrameId, key: &Rc<CallKey>) -> FrameId {
        if !self.share {
            return FrameId::ROOT;
        }
        let next = FrameId(self.frames.len() as u32 + 1);
        *self.frames.entry((caller, Rc::clone(key))).or_insert(next)
    }

    /// A kept outcome for a call to `key` from `frame` at `depth`, with what it depended on.
    pub(crate) fn find(
        &self,
        key: &CallKey,
        frame: FrameId,
        depth: usize,
    ) -> Option<(Exits<'a>, Dependence)> {
        if !self.share {
            return None;
        }
        let fits = |kept: &&Kept<'a>| depth + kept.dependence.height <= MAX_DEPTH;
        self.by_key
            .get(key)
            .filter(fits)
            .or_else(|| self.by_frame.get(&frame))
            .map(|kept| (Rc::clone(&kept.exits), kept.dependence))
    }

    /// Keeps the outcome of a call to `key` from `frame`: for the key when it did not
    /// depend on the call stack, else for the frame.
    pub(crate) fn keep(
        &mut self,
        key: Rc<CallKey>,
        frame: FrameId,
        exits: &Exits<'a>,
        dependence: Dependence,
    ) {
        if !self.share {
            return;
        }
        let kept = Kept {
            exits: Rc::clone(exits),
            dependence,
        };
        if dependence.on_stack {
            self.by_frame.insert(frame, kept);
        } else {
            self.by_key.insert(key, kept);
        }
    }
}

#[cfg(test)]
mod tests;
