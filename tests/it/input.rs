//! Reading input as the binary does it, on hostile and odd inputs (issues 12, 13, 14):
//! files rewritten while they are read, endless and binary input, inputs over the size
//! limit, gzip, a FIFO with no writer, a terminal on standard input.
//!
//! Every run here is bounded by [`HANG_GUARD`], which only stops a hung test: it is not a
//! speed target (those live in `benches/`).

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use srcip_rules::source::MAX_INPUT_BYTES;
use wait_timeout::ChildExt;

/// Longest any single run may take before the test calls it hung.
const HANG_GUARD: Duration = Duration::from_secs(20);

fn srcip() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_srcip-rules"));
    cmd.env_remove("NO_COLOR");
    cmd
}

/// A temporary directory of this test's own, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "srcip-rules-input-{}-{label}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a finished run left: its status, stdout and stderr.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Collects a child's stdout and stderr on threads and waits at most [`HANG_GUARD`] for it;
/// a child still running then is killed and the test fails.
fn finish(mut child: Child, what: &str) -> Run {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let Some(status) = child.wait_timeout(HANG_GUARD).unwrap() else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{what}: still running after {HANG_GUARD:?}");
    };
    Run {
        status,
        stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    }
}

fn run(args: &[&str], stdin: Stdio) -> Run {
    let child = srcip()
        .args(args)
        .args(["--color", "never"])
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child, &format!("{args:?}"))
}

fn run_on_file(args: &[&str], file: &Path) -> Run {
    let mut all = args.to_vec();
    all.push(file.to_str().unwrap());
    run(&all, Stdio::null())
}

/// A generated dump larger than 1 MiB (files that large used to be memory-mapped).
fn large_dump() -> String {
    use srcip_rules::generate::{Backend, KubeVersion, dump_to_string, synthetic};
    let text = dump_to_string(&synthetic(1_000, KubeVersion::V1_28, Backend::Nft));
    assert!(text.len() > 1 << 20, "{} bytes", text.len());
    text
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Issue 14: with the file mapped, rewriting it under a running `inspect` ended the
/// process with SIGSEGV, and truncating it with SIGBUS. Now every run must end with one of
/// the documented exit codes (0 read whole, 1, 3 changed while read or parse errors),
/// never by a signal, however the file is changed under it.
#[test]
fn a_file_rewritten_and_truncated_while_inspect_reads_it_never_ends_in_a_signal() {
    let dir = TempDir::new("race");
    let path = dir.path("dump.txt");
    let dump = large_dump().into_bytes();
    std::fs::write(&path, &dump).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let path = path.clone();
        let dump = dump.clone();
        std::thread::spawn(move || {
            let mut changes = 0u64;
            // Bounded by the stop flag and by a round count, whichever comes first.
            while !stop.load(Ordering::Relaxed) && changes < 2_000_000 {
                match changes % 4 {
                    // Rewrite whole: truncated to 0, then written again.
                    0 => std::fs::write(&path, &dump).unwrap(),
                    // Truncate to a third.
                    1 => {
                        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                        file.set_len(dump.len() as u64 / 3).unwrap();
                    }
                    // Rewrite in place with bytes that are not UTF-8, at the full size.
                    2 => {
                        let mut garbled = dump.clone();
                        for byte in garbled.iter_mut().step_by(97) {
                            *byte = 0xff;
                        }
                        std::fs::write(&path, &garbled).unwrap();
                    }
                    // Truncate to nothing.
                    _ => {
                        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                        file.set_len(0).unwrap();
                    }
                }
                changes += 1;
            }
            changes
        })
    };

    let started = Instant::now();
    let mut codes = std::collections::BTreeMap::new();
    let mut changed_messages = 0;
    let mut rounds = 0;
    while rounds < 60 && started.elapsed() < Duration::from_secs(30) {
        let out = run_on_file(&["inspect"], &path);
        assert_eq!(
            out.status.signal(),
            None,
            "round {rounds}: ended by a signal; stderr: {}",
            out.stderr
        );
        let code = out.status.code().unwrap();
        assert!(
            [0, 1, 3].contains(&code),
            "round {rounds}: exit {code}; stderr: {}",
            out.stderr
        );
        if code == 3 {
            assert!(
                !out.stderr.is_empty() || !out.stdout.is_empty(),
                "round {rounds}: exit 3 without a word"
            );
        }
        changed_messages += usize::from(out.stderr.contains("changed while it was read"));
        *codes.entry(code).or_insert(0) += 1;
        rounds += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let changes = writer.join().unwrap();
    assert!(rounds >= 10, "only {rounds} rounds ran");
    assert!(changes > 0, "the writer never changed the file");
    eprintln!(
        "{rounds} rounds, {changes} changes to the file; exit codes {codes:?}; {changed_messages} said it changed while read"
    );
}

/// Issue 13: `/dev/zero` was read to gigabytes before the "binary input" error; it must
/// now be refused from its first block, given as a file or on standard input.
#[test]
fn dev_zero_as_a_file_or_on_stdin_is_refused_as_binary() {
    let as_file = run_on_file(&["inspect"], Path::new("/dev/zero"));
    let on_stdin = run(&["inspect"], Stdio::from(File::open("/dev/zero").unwrap()));
    for (out, name) in [(as_file, "/dev/zero"), (on_stdin, "<stdin>")] {
        assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
        assert_eq!(
            out.stderr,
            format!(
                "srcip-rules: {name}: this looks like a binary file, not iptables-save output (NUL byte at line 1, byte offset 0)\n"
            )
        );
    }
}

#[test]
fn endless_text_on_stdin_is_refused_at_the_size_limit() {
    // `yes`-like input through a pipe, fed by this process: the reader must stop at the
    // limit and say so, rather than hold everything.
    let mut child = srcip()
        .args(["inspect", "--color", "never"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let line = b"# yes\n".repeat(10_000);
        let mut fed = 0usize;
        // Stops when the reader closes the pipe (EPIPE), or after twice the limit.
        while fed <= 2 * MAX_INPUT_BYTES && stdin.write_all(&line).is_ok() {
            fed += line.len();
        }
        fed
    });
    let out = finish(child, "endless stdin");
    let fed = feeder.join().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("srcip-rules: <stdin>: the input goes on past the 1 GiB"),
        "{}",
        out.stderr
    );
    assert!(
        fed < 2 * MAX_INPUT_BYTES,
        "the reader kept reading: {fed} bytes"
    );
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let dir = TempDir::new("big");
    let path = dir.path("big.txt");
    // Sparse: a dump's start, then a hole up to one byte over the limit (no disk used).
    let mut file = File::create(&path).unwrap();
    file.write_all(b"*nat\n:PREROUTING ACCEPT [0:0]\n").unwrap();
    file.set_len(MAX_INPUT_BYTES as u64 + 1).unwrap();
    drop(file);
    let as_file = run_on_file(&["inspect"], &path);
    let on_stdin = run(&["inspect"], Stdio::from(File::open(&path).unwrap()));
    for (out, name) in [(as_file, path.to_str().unwrap()), (on_stdin, "<stdin>")] {
        assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
        assert_eq!(
            out.stderr,
            format!(
                "srcip-rules: {name}: the input is 1073741825 bytes, more than the 1 GiB (1073741824 bytes) srcip-rules reads from one dump (the largest real dumps are a few hundred MB); refusing it\n"
            )
        );
    }
}

#[test]
fn a_gzip_dump_is_read_like_the_plain_one_as_a_file_and_on_stdin() {
    let dir = TempDir::new("gzip");
    let plain_path = dir.path("node.txt");
    // Named without `.gz`: gzip is recognised by its magic bytes, not the name.
    let gzip_path = dir.path("node.bundle");
    let plain = std::fs::read("testdata/nodes/v1.28-ext-multi-service-nft.txt").unwrap();
    std::fs::write(&plain_path, &plain).unwrap();
    std::fs::write(&gzip_path, gzip(&plain)).unwrap();
    for args in [&["explain", "3001"][..], &["inspect"][..]] {
        let want = run_on_file(args, &plain_path);
        assert_eq!(want.status.code(), Some(0), "{}", want.stderr);
        let want = want.stdout.replace(plain_path.to_str().unwrap(), "NAME");
        let from_file = run_on_file(args, &gzip_path);
        assert_eq!(from_file.status.code(), Some(0), "{}", from_file.stderr);
        assert_eq!(
            from_file
                .stdout
                .replace(gzip_path.to_str().unwrap(), "NAME"),
            want
        );
        let from_stdin = run(args, Stdio::from(File::open(&gzip_path).unwrap()));
        assert_eq!(from_stdin.status.code(), Some(0), "{}", from_stdin.stderr);
        assert_eq!(from_stdin.stdout.replace("<stdin>", "NAME"), want);
    }
}

#[test]
fn a_corrupt_gzip_dump_is_a_clear_error() {
    let dir = TempDir::new("gzip-bad");
    let path = dir.path("node.txt.gz");
    let plain = std::fs::read("testdata/nodes/v1.28-ext-multi-service-nft.txt").unwrap();
    let compressed = gzip(&plain);
    std::fs::write(&path, &compressed[..compressed.len() - 20]).unwrap();
    let out = run_on_file(&["inspect"], &path);
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    let want = format!(
        "srcip-rules: `{}`: the gzip data is corrupt or cut short: ",
        path.display()
    );
    assert!(out.stderr.starts_with(&want), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    // Gzip'd zeros: the decompressed text gets the binary check.
    std::fs::write(&path, gzip(&vec![0; 1 << 20])).unwrap();
    let out = run_on_file(&["inspect"], &path);
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains("binary file") && out.stderr.contains("after decompressing"),
        "{}",
        out.stderr
    );
}

/// Reads `child`'s stderr line by line on a thread, sending each line.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().unwrap();
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// Issue 13: a FIFO with no writer used to block silently. After a bounded wait the
/// reader says what it waits for, and reads the dump once a writer comes.
#[test]
fn a_fifo_with_no_writer_is_announced_then_read_when_a_writer_comes() {
    let dir = TempDir::new("fifo");
    let fifo = dir.path("dump.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let mut child = srcip()
        .args(["inspect", "--color", "never"])
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let waited = Instant::now();
    let line = lines.recv_timeout(HANG_GUARD);
    let Ok(line) = line else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("no message after {HANG_GUARD:?}");
    };
    assert!(waited.elapsed() >= Duration::from_secs(1), "{line}");
    assert_eq!(
        line,
        format!(
            "srcip-rules: waiting for a writer on FIFO `{}`: nothing has opened it for writing yet (still waiting; Ctrl-C to stop)",
            fifo.display()
        )
    );
    // Now a writer comes; the dump is read and inspected.
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    writer.write_all(b"*nat\n-A X -j ACCEPT\nCOMMIT\n").unwrap();
    drop(writer);
    let mut stdout = child.stdout.take().unwrap();
    let Some(status) = child.wait_timeout(HANG_GUARD).unwrap() else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("inspect did not end after the writer closed");
    };
    let mut text = String::new();
    stdout.read_to_string(&mut text).unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(text.contains("3 lines, 1 rules"), "{text}");
    assert!(lines.try_recv().is_err(), "more on stderr");
}

/// Opens a pseudo-terminal; returns (controlling side, terminal side).
pub(crate) fn open_pty() -> (File, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let (mut controller, mut terminal) = (-1, -1);
    // SAFETY: openpty writes two new descriptors into the two ints and reads nothing else
    // (null name, termios and winsize); each is then owned exactly once.
    let made = unsafe {
        libc::openpty(
            &mut controller,
            &mut terminal,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(made, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned by nothing else.
    unsafe {
        (
            File::from_raw_fd(controller),
            std::os::fd::OwnedFd::from_raw_fd(terminal),
        )
    }
}

/// Issue 12: on a terminal with no pipe it used to wait silently.
#[test]
fn a_terminal_on_stdin_gets_a_one_line_hint() {
    let (mut controller, terminal) = open_pty();
    let mut child = srcip()
        .args(["inspect", "--color", "never"])
        .stdin(Stdio::from(terminal))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let line = lines.recv_timeout(HANG_GUARD);
    // End the input as a user would: Ctrl-D at the start of a line.
    let _ = controller.write_all(b"\x04");
    let ended = child.wait_timeout(HANG_GUARD).unwrap();
    if ended.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert_eq!(
        line.as_deref(),
        Ok(
            "srcip-rules: reading the dump from the terminal (end it with Ctrl-D); pipe iptables-save into srcip-rules or give a file"
        )
    );
    assert!(ended.is_some(), "Ctrl-D did not end the input");
}

#[test]
fn a_pipe_on_stdin_gets_no_hint() {
    let mut child = srcip()
        .args(["inspect", "--color", "never"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"*nat\n-A X -j ACCEPT\nCOMMIT\n").unwrap();
    drop(stdin);
    let out = finish(child, "pipe");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stderr, "");
}
