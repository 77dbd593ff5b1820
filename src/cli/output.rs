//! Writing a command's output to standard output: the one place that handles a closed
//! pipe (quiet, exit 0), a closed standard output and any other write error (a message,
//! exit 4).

use std::io::{self, BufWriter, Write};

use crate::exit::Exit;

/// Writes what `write` produces to standard output, buffered, and flushes it.
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Exit> {
    if stdout_was_closed() {
        eprintln!("srcip-rules: cannot write output: standard output is closed");
        return Err(Exit::OutputError);
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = write(&mut out).and_then(|()| out.flush());
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Exit::Ok),
        Err(e) => {
            eprintln!("srcip-rules: cannot write output: {e}");
            Err(Exit::OutputError)
        }
    }
}

/// The exit code of a command whose output was written (or not): `done` when it was.
pub fn exit_after(written: Result<(), Exit>, done: Exit) -> Exit {
    match written {
        Ok(()) => done,
        Err(exit) => exit,
    }
}

/// True if file descriptor 1 was closed when the program started (`srcip-rules … >&-`).
/// The Rust runtime then opens `/dev/null` on it, read-write, so that nothing else lands
/// there; a shell's `> /dev/null` opens it write-only. Read from `/proc` (Linux): false
/// wherever that cannot be told.
fn stdout_was_closed() -> bool {
    const ACCESS_MODE: u32 = 0o3;
    const READ_WRITE: u32 = 0o2;
    let Ok(target) = std::fs::read_link("/proc/self/fd/1") else {
        return false;
    };
    if target != std::path::Path::new("/dev/null") {
        return false;
    }
    let Ok(info) = std::fs::read_to_string("/proc/self/fdinfo/1") else {
        return false;
    };
    info.lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())
        .is_some_and(|flags| flags & ACCESS_MODE == READ_WRITE)
}
