//! Pure analysis over the model: inspection of what a dump is, the packet-path evaluator,
//! kube-proxy knowledge, and the explanation of a nodePort. Nothing here prints.

pub mod explain;
pub mod inspect;
pub mod kube;
