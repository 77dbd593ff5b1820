//! Pure analysis over the model: inspection of what a dump is, and packet-path evaluation.

pub mod inspect;
