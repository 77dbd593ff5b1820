//! Reading inputs (named files or standard input) into [`Source`]s, in bounded memory, with
//! clear errors.
//!
//! Every input is read into memory, never mapped: a mapped file that another process
//! rewrites or truncates can change text already checked as UTF-8, or end the process with
//! `SIGBUS`. A regular file is read into one allocation sized from its metadata, and must
//! end up exactly that size (a file rewritten while it is read is an error, not a crash).
//! The first block ([`FIRST_BLOCK`] bytes) decides what the input is: gzip (by its magic
//! bytes, whatever the name; decompressed as it is read), binary (a NUL byte, or mostly
//! bytes that are not UTF-8: refused at once, so `/dev/zero` costs one block), or text,
//! read on up to [`MAX_INPUT_BYTES`] (past that it is refused, so endless input and gzip
//! bombs cost at most that much memory).
//!
//! Two waits are announced on standard error rather than left silent: a FIFO that nothing
//! has opened for writing yet (after [`FIFO_PATIENCE`]; reading then goes on waiting, as
//! `cat` would, since the writer may well be started next), and standard input that is a
//! terminal (at once: the user probably meant to pipe a dump in).

use std::fs::File;
use std::io::{self, IsTerminal, Read, Seek};
use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;
use std::sync::mpsc;
use std::time::Duration;

use crate::report::sanitize;
use crate::source::{MAX_INPUT_BYTES, Source, SourceError, check_first_block};

/// How much is read before deciding whether the input is gzip, binary or text.
pub const FIRST_BLOCK: usize = 64 * 1024;

/// How long a FIFO with no writer is waited for before saying so.
pub const FIFO_PATIENCE: Duration = Duration::from_secs(2);

/// The two bytes every gzip stream starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The system refused (missing file, permission, a directory, …).
    #[error("cannot read {name}: {}", describe_io_error(.source))]
    Io {
        /// The input, as shown to the user.
        name: String,
        /// What the system said.
        source: io::Error,
    },
    /// A regular file whose size changed between its metadata and the end of the read.
    #[error(
        "{name} changed while it was read: expected {expected} bytes, got {got} (is something rewriting it? read a copy that nothing writes to)"
    )]
    Changed {
        /// The input, as shown to the user.
        name: String,
        /// The size its metadata gave.
        expected: u64,
        /// What was read.
        got: u64,
    },
    /// A gzip stream that does not decompress.
    #[error("{name}: the gzip data is corrupt or cut short: {source}")]
    Gzip {
        /// The input, as shown to the user.
        name: String,
        /// What the decompressor said.
        source: io::Error,
    },
    /// Decompressed data that is not a dump (binary, or too large).
    #[error("{0} (after decompressing its gzip data)")]
    InsideGzip(SourceError),
    /// Not a dump (binary, or too large).
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// Reads each input (`-` or an empty list means standard input).
pub fn read_sources(files: &[String]) -> Result<Vec<Source>, String> {
    if files.is_empty() {
        return Ok(vec![read_one("-")?]);
    }
    files.iter().map(|f| read_one(f)).collect()
}

/// Reads one input; the error is a message ready to print (sanitised).
pub fn read_one(path: &str) -> Result<Source, String> {
    let result = if path == "-" {
        read_stdin()
    } else {
        read_path(path)
    };
    result
        .map(crate::cli::redact::source)
        .map_err(|e| sanitize(&e.to_string()).into_owned())
}

fn read_stdin() -> Result<Source, ReadError> {
    let name = "<stdin>";
    let stdin = io::stdin();
    if stdin.is_terminal() {
        eprintln!(
            "srcip-rules: reading the dump from the terminal (end it with Ctrl-D); pipe iptables-save into srcip-rules or give a file"
        );
    }
    // A `File` on a duplicate of fd 0: reads bypass std's buffer, and a redirected
    // regular file (`< dump.txt`) gets the same sized read and size check as a named one.
    let file = stdin
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(|source| ReadError::Io {
            name: "standard input".to_string(),
            source,
        })?;
    read_file(name, file)
}

fn read_path(path: &str) -> Result<Source, ReadError> {
    let shown = format!("`{path}`");
    let cannot_read = |source| ReadError::Io {
        name: shown.clone(),
        source,
    };
    // `metadata` does not open the file, so it does not block on a FIFO.
    let is_fifo = std::fs::metadata(path)
        .map_err(cannot_read)?
        .file_type()
        .is_fifo();
    let file = if is_fifo {
        open_fifo(path, &shown)
    } else {
        File::open(path)
    }
    .map_err(cannot_read)?;
    read_file(path, file)
}

/// Opens a FIFO for reading, which blocks until something opens it for writing; if that
/// takes longer than [`FIFO_PATIENCE`], says on standard error what it is waiting for.
fn open_fifo(path: &str, shown: &str) -> io::Result<File> {
    let (opened, wait) = mpsc::channel::<()>();
    let message = format!(
        "srcip-rules: waiting for a writer on FIFO {shown}: nothing has opened it for writing yet (still waiting; Ctrl-C to stop)"
    );
    let announcer = std::thread::spawn(move || {
        if wait.recv_timeout(FIFO_PATIENCE) == Err(mpsc::RecvTimeoutError::Timeout) {
            eprintln!("{}", sanitize(&message));
        }
    });
    let file = File::open(path);
    drop(opened);
    let _ = announcer.join();
    file
}

/// Reads an opened file, pipe, terminal or device named `name` into a [`Source`].
fn read_file(name: &str, mut file: File) -> Result<Source, ReadError> {
    let expected = regular_file_remaining(&mut file);
    read_input(name, file, expected, MAX_INPUT_BYTES)
}

/// How many bytes a regular file has from the current position on; `None` for anything
/// else (pipes, terminals, devices), whose size is not known in advance.
fn regular_file_remaining(file: &mut File) -> Option<u64> {
    let metadata = file.metadata().ok()?;
    if !metadata.is_file() {
        return None;
    }
    let position = file.stream_position().ok()?;
    Some(metadata.len().saturating_sub(position))
}

/// Reads `reader` as one input: the first block decides gzip / binary / text, then text
/// is read on up to `limit` bytes. `expected` is the size a regular file should have: it
/// sizes the one allocation, and the read must end exactly there.
fn read_input(
    name: &str,
    mut reader: impl Read,
    expected: Option<u64>,
    limit: usize,
) -> Result<Source, ReadError> {
    let io_error = |source| ReadError::Io {
        name: format!("`{name}`"),
        source,
    };
    if let Some(size) = expected.filter(|&size| size > limit as u64) {
        return Err(SourceError::TooLarge {
            name: name.to_string(),
            size: Some(size),
        }
        .into());
    }
    // One more byte than expected, so that reaching the end needs no second allocation.
    let capacity = expected.map_or(FIRST_BLOCK, |size| size as usize + 1);
    let mut bytes = Vec::with_capacity(capacity);
    let block = FIRST_BLOCK.min(limit + 1);
    read_up_to(&mut reader, &mut bytes, block).map_err(io_error)?;
    if bytes.starts_with(&GZIP_MAGIC) {
        let compressed = io::Cursor::new(bytes).chain(reader);
        return read_gzip(name, compressed, limit);
    }
    check_first_block(name, &bytes)?;
    if bytes.len() == block {
        read_rest(&mut reader, &mut bytes, name, limit).map_err(|e| match e {
            Stop::Io(source) => io_error(source),
            Stop::TooLarge(err) => err.into(),
        })?;
    }
    if let Some(expected) = expected {
        let got = bytes.len() as u64;
        if got != expected {
            return Err(ReadError::Changed {
                name: format!("`{name}`"),
                expected,
                got,
            });
        }
    }
    Ok(Source::from_bytes(name, bytes)?)
}

/// Decompresses a gzip input (several members one after another, as `gzip -d` does) and
/// applies the same first-block and size checks to the text.
fn read_gzip(name: &str, compressed: impl Read, limit: usize) -> Result<Source, ReadError> {
    let mut text = flate2::read::MultiGzDecoder::new(compressed);
    let gzip_error = |source: io::Error| match source.kind() {
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            ReadError::Gzip {
                name: format!("`{name}`"),
                source,
            }
        }
        _ => ReadError::Io {
            name: format!("`{name}`"),
            source,
        },
    };
    let mut bytes = Vec::with_capacity(FIRST_BLOCK);
    let block = FIRST_BLOCK.min(limit + 1);
    read_up_to(&mut text, &mut bytes, block).map_err(gzip_error)?;
    check_first_block(name, &bytes).map_err(ReadError::InsideGzip)?;
    if bytes.len() == block {
        read_rest(&mut text, &mut bytes, name, limit).map_err(|e| match e {
            Stop::Io(source) => gzip_error(source),
            Stop::TooLarge(err) => ReadError::InsideGzip(err),
        })?;
    }
    Source::from_bytes(name, bytes).map_err(ReadError::InsideGzip)
}

/// Why [`read_rest`] stopped early.
enum Stop {
    Io(io::Error),
    TooLarge(SourceError),
}

/// Reads until `bytes` holds `block` bytes or the input ends (then it holds fewer: a
/// terminal's end of input, Ctrl-D, is not repeated, so the caller must not read on).
fn read_up_to(reader: &mut impl Read, bytes: &mut Vec<u8>, block: usize) -> io::Result<()> {
    let want = block.saturating_sub(bytes.len()) as u64;
    reader.take(want).read_to_end(bytes).map(drop)
}

/// Reads to the end of the input, refusing to hold more than `limit` bytes. Fills the
/// capacity `bytes` already has first (a regular file's read never needs more). When it
/// is full, it grows once, to `limit + 1`: that reserves address space, but the system
/// backs only the pages written, so memory follows what was read and the text is copied
/// at most once (a doubling buffer copies at every step, and the allocator may keep the
/// old blocks resident: 2.5 GiB of peak memory for 1 GiB of endless input).
fn read_rest(
    reader: &mut impl Read,
    bytes: &mut Vec<u8>,
    name: &str,
    limit: usize,
) -> Result<(), Stop> {
    loop {
        if bytes.len() == bytes.capacity() {
            bytes.reserve_exact((limit + 1).saturating_sub(bytes.len()));
        }
        let room = bytes.capacity() - bytes.len();
        let read = reader
            .take(room as u64)
            .read_to_end(bytes)
            .map_err(Stop::Io)?;
        if bytes.len() > limit {
            return Err(Stop::TooLarge(SourceError::TooLarge {
                name: name.to_string(),
                size: None,
            }));
        }
        // Short of the room: the input ended (and a terminal's end is not repeated).
        if read < room {
            return Ok(());
        }
    }
}

fn describe_io_error(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(lines: usize) -> Vec<u8> {
        let mut text = String::from("*nat\n:PREROUTING ACCEPT [0:0]\n");
        for i in 0..lines {
            text.push_str(&format!("-A PREROUTING -s 192.0.2.{} -j ACCEPT\n", i % 250));
        }
        text.push_str("COMMIT\n");
        text.into_bytes()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_file_of_the_size_its_metadata_gave_is_read_whole() {
        let bytes = dump(5000);
        let size = bytes.len() as u64;
        let source = read_input("f", &bytes[..], Some(size), MAX_INPUT_BYTES).unwrap();
        assert_eq!(source.text().as_bytes(), &bytes[..]);
    }

    #[test]
    fn a_file_that_shrank_or_grew_while_read_is_an_error_with_both_sizes() {
        let bytes = dump(5000);
        let size = bytes.len() as u64;
        let err = read_input("f", &bytes[..1000], Some(size), MAX_INPUT_BYTES).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "`f` changed while it was read: expected {size} bytes, got 1000 (is something rewriting it? read a copy that nothing writes to)"
            )
        );
        let err = read_input("f", &bytes[..], Some(size - 7), MAX_INPUT_BYTES).unwrap_err();
        assert!(
            matches!(err, ReadError::Changed { expected, got, .. } if expected == size - 7 && got == size),
            "{err:?}"
        );
    }

    #[test]
    fn a_regular_file_over_the_limit_is_refused_before_reading() {
        struct Unreadable;
        impl Read for Unreadable {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                panic!("the file was read");
            }
        }
        let err = read_input("big", Unreadable, Some(1001), 1000).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::Source(SourceError::TooLarge {
                    size: Some(1001),
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn endless_text_stops_at_the_limit() {
        let endless = io::repeat(b'y');
        let err = read_input("<stdin>", endless, None, 200_000).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::Source(SourceError::TooLarge { size: None, .. })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn endless_zeros_stop_after_the_first_block() {
        struct Counting(u64);
        impl Read for Counting {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                buf.fill(0);
                self.0 += buf.len() as u64;
                Ok(buf.len())
            }
        }
        let mut zeros = Counting(0);
        let err = read_input("/dev/zero", &mut zeros, None, MAX_INPUT_BYTES).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::Source(SourceError::Binary { offset: 0, .. })
            ),
            "{err:?}"
        );
        assert_eq!(zeros.0, FIRST_BLOCK as u64);
    }

    #[test]
    fn input_exactly_at_the_limit_is_accepted_and_one_byte_more_is_not() {
        let bytes = dump(100);
        let limit = bytes.len();
        assert!(read_input("s", &bytes[..], None, limit).is_ok());
        let mut more = bytes.clone();
        more.push(b'\n');
        assert!(read_input("s", &more[..], None, limit).is_err());
    }

    #[test]
    fn gzip_is_recognised_by_its_magic_and_decompressed() {
        let bytes = dump(20_000);
        let compressed = gzip(&bytes);
        let size = compressed.len() as u64;
        let source = read_input("node.txt", &compressed[..], Some(size), MAX_INPUT_BYTES).unwrap();
        assert_eq!(source.text().as_bytes(), &bytes[..]);
        assert_eq!(source.name, "node.txt");
        // Two members one after another, as `cat a.gz b.gz` makes.
        let mut two = gzip(&bytes[..100]);
        two.extend(gzip(&bytes[100..]));
        let source = read_input("-", &two[..], None, MAX_INPUT_BYTES).unwrap();
        assert_eq!(source.text().as_bytes(), &bytes[..]);
    }

    #[test]
    fn corrupt_or_cut_gzip_is_a_clear_error() {
        let compressed = gzip(&dump(20_000));
        let cut = &compressed[..compressed.len() / 2];
        let err = read_input("cut.gz", cut, None, MAX_INPUT_BYTES).unwrap_err();
        assert!(matches!(err, ReadError::Gzip { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("`cut.gz`: the gzip data is corrupt or cut short: ")
        );
        let mut corrupt = compressed.clone();
        for byte in &mut corrupt[20..60] {
            *byte ^= 0x55;
        }
        let err = read_input("bad.gz", &corrupt[..], None, MAX_INPUT_BYTES).unwrap_err();
        assert!(matches!(err, ReadError::Gzip { .. }), "{err:?}");
    }

    #[test]
    fn decompressed_data_gets_the_binary_and_size_checks() {
        let zeros = gzip(&vec![0; 10 << 20]);
        let err = read_input("zeros.gz", &zeros[..], None, MAX_INPUT_BYTES).unwrap_err();
        assert!(
            matches!(err, ReadError::InsideGzip(SourceError::Binary { .. })),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .ends_with("(after decompressing its gzip data)")
        );
        let bomb = gzip(&vec![b'y'; 4 << 20]);
        let err = read_input("bomb.gz", &bomb[..], None, 1 << 20).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::InsideGzip(SourceError::TooLarge { size: None, .. })
            ),
            "{err:?}"
        );
    }
}
