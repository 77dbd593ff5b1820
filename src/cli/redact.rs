//! `--redact`, `--redact-key`, `--redact-map` for every command: one redactor for the
//! run, set up before the command starts and consulted wherever the command line reads a
//! dump (`input::read_one`) or takes something about it from the user (an address, a
//! target). Process-wide so that every command that reads dumps through `input`,
//! including ones added later, is redacted without a parameter threaded through each;
//! identity when redaction is off.

use std::net::IpAddr;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::kube::Target;
use crate::kube::redact::Redactor;
use crate::source::Source;

static REDACTOR: OnceLock<Mutex<Redactor>> = OnceLock::new();

/// Turns redaction on for this run, keyed with `key` or, without one, with 32 random
/// bytes from the operating system.
pub(crate) fn start(key: Option<&str>) -> Result<(), String> {
    let key = match key {
        Some("") => return Err("--redact-key must not be empty".into()),
        Some(key) => key.as_bytes().to_vec(),
        None => {
            let mut random = [0u8; 32];
            getrandom::fill(&mut random)
                .map_err(|e| format!("cannot draw a random redaction key: {e}"))?;
            random.to_vec()
        }
    };
    // Set once per process (cli::run runs once).
    let _ = REDACTOR.set(Mutex::new(Redactor::new(&key)));
    Ok(())
}

/// True when this run redacts.
pub fn active() -> bool {
    REDACTOR.get().is_some()
}

fn with<T>(f: impl FnOnce(&mut Redactor) -> T) -> Option<T> {
    let lock = REDACTOR.get()?;
    let mut redactor = lock.lock().unwrap_or_else(PoisonError::into_inner);
    Some(f(&mut redactor))
}

/// The input, redacted when redaction is on.
pub fn source(source: Source) -> Source {
    match with(|r| r.text(source.text())) {
        Some(text) => source.with_text(text),
        None => source,
    }
}

/// Dump text (a generated dump), redacted when redaction is on.
pub fn text(text: String) -> String {
    with(|r| r.text(&text)).unwrap_or(text)
}

/// A user's address, mapped as the dump's are when redaction is on.
pub fn address(ip: IpAddr) -> IpAddr {
    with(|r| r.address(ip)).unwrap_or(ip)
}

/// A user's addresses, mapped.
pub fn addresses(ips: Vec<IpAddr>) -> Vec<IpAddr> {
    ips.into_iter().map(address).collect()
}

/// A user's target, mapped as the dump's text is when redaction is on.
pub fn target(target: Target) -> Target {
    with(|r| r.target(&target)).unwrap_or(target)
}

/// Writes the map file (original → stand-in, and the key), readable by its owner only.
pub(crate) fn write_map(path: &str) -> Result<(), String> {
    let Some(map) = with(|r| r.map()) else {
        return Ok(());
    };
    let mut json = Vec::new();
    crate::report::json::redaction::write_map(&map, &mut json)
        .map_err(|e| format!("cannot write the redaction map: {e}"))?;
    write_private(path, &json).map_err(|e| {
        format!(
            "cannot write the redaction map to `{}`: {e}",
            crate::report::sanitize(path)
        )
    })
}

fn write_private(path: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.flush()
}
