//! Named fixture nodes for the explain tests (placeholder).

use super::NodeSpec;

/// Named fixture scenarios.
pub fn scenarios() -> Vec<(&'static str, NodeSpec)> {
    Vec::new()
}
