//! Reading inputs: named files or standard input, into [`Source`]s with clear errors.

use std::io::Read;

use crate::source::Source;

/// Reads each input (`-` or an empty list means standard input).
pub fn read_sources(files: &[String]) -> Result<Vec<Source>, String> {
    if files.is_empty() {
        return Ok(vec![read_one("-")?]);
    }
    files.iter().map(|f| read_one(f)).collect()
}

/// Reads one input.
pub fn read_one(path: &str) -> Result<Source, String> {
    if path == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Source::from_bytes("<stdin>", bytes).map_err(|e| e.to_string());
    }
    let cannot_read = |e: std::io::Error| {
        format!(
            "cannot read `{}`: {}",
            crate::report::sanitize(path),
            describe_io_error(&e)
        )
    };
    let mut file = std::fs::File::open(path).map_err(cannot_read)?;
    if let Some(map) = map_large_file(&file) {
        return Source::from_mapped_file(path, map).map_err(|e| e.to_string());
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(cannot_read)?;
    Source::from_bytes(path, bytes).map_err(|e| e.to_string())
}

/// Files at least this large are mapped rather than read.
const MAP_AT_LEAST: u64 = 1 << 20;

/// A read-only map of `file` with its pages loaded, if it is a regular file of at least
/// [`MAP_AT_LEAST`] bytes and the system maps it; `None` means: read it instead.
fn map_large_file(file: &std::fs::File) -> Option<memmap2::Mmap> {
    let metadata = file.metadata().ok()?;
    if !metadata.is_file() || metadata.len() < MAP_AT_LEAST {
        return None;
    }
    // SAFETY: the map is only ever read, through `Source`, which checks it is UTF-8 first.
    // Mapping is unsafe because another process could change or truncate the file while it
    // is mapped; a saved dump is not rewritten in place, and the README says not to point
    // the tool at a file another program is rewriting (a pipe from iptables-save is read,
    // not mapped; bytes appended after the map was made are simply not seen).
    unsafe { memmap2::MmapOptions::new().populate().map(file) }.ok()
}

fn describe_io_error(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        _ => error.to_string(),
    }
}
