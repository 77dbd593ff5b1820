//! The `srcip-rules` binary: everything lives in the library; this only hands over the arguments.

/// mimalloc rather than the system allocator: a large dump's model is a few big tables
/// (a million rules, 300,000 chains), and with mimalloc the kernel spends far less time
/// faulting their pages in and out (explain on a 100 MB dump: 160 → 130 ms of CPU time).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(srcip_rules::cli::run(std::env::args_os()))
}
