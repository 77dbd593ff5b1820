//! The parser's fast scanners: hand-tuned byte loops that read a rule's words
//! ([`words`]), its jump target ([`jump`]) and its leading packet tests ([`leading`])
//! without typing the whole rule. Each is pinned to a slow, obvious reference by
//! property tests, so speed never changes an answer.

pub mod jump;
pub mod leading;
pub mod words;
