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
    let (name, bytes) = if path == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        ("<stdin>".to_string(), bytes)
    } else {
        let bytes = read_file(path).map_err(|e| {
            format!(
                "cannot read `{}`: {}",
                crate::report::sanitize(path),
                describe_io_error(&e)
            )
        })?;
        (path.to_string(), bytes)
    };
    Source::from_bytes(name, bytes).map_err(|e| e.to_string())
}

fn describe_io_error(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        _ => error.to_string(),
    }
}

/// Reads a whole file into a buffer backed by huge pages where the kernel offers them.
fn read_file(path: &str) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata().map(|m| m.len() as usize).unwrap_or(0);
    let mut bytes = Vec::with_capacity(size + 1);
    crate::memory::advise_huge_pages(&bytes);
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}
