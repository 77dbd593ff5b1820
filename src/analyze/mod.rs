//! Pure analysis over the model: the packet-path evaluator, kube-proxy knowledge, and the
//! explanation of a nodePort. Nothing here prints.

pub mod eval;
pub mod explain;
pub mod kube;
pub mod packet;
