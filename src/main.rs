//! The `srcip-rules` binary: everything lives in the library; this only hands over the arguments.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(srcip_rules::cli::run(std::env::args_os()))
}
