//! Exit codes, documented once.
