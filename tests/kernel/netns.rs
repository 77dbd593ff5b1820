//! Network namespaces owned by one test run: creation, veth links, per-thread entry, cleanup.

use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::RecvTimeoutError;
use std::thread;
use std::time::Duration;

use wait_timeout::ChildExt;

/// Every namespace and interface this harness creates starts with this tag.
pub(crate) const TAG: &str = "srk";

/// Where `ip netns add` puts its namespace handles.
const NETNS_DIR: &str = "/run/netns";

/// The longest any external command (`ip`, `iptables-*`, `srcip-rules`) may run.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest a new thread may take to enter its namespace.
const ENTER_TIMEOUT: Duration = Duration::from_secs(10);

/// Held while a namespace is being created, and by the signal handler while it deletes
/// them, so that none is created behind the handler's back.
static CREATING: Mutex<()> = Mutex::new(());

/// The prefix of every namespace this process creates: `srk<pid>-`.
pub(crate) fn own_prefix() -> String {
    format!("{TAG}{}-", std::process::id())
}

/// On SIGINT, SIGTERM or SIGHUP: delete every namespace of this process, then exit with
/// status 130. Without this an interrupted run leaves its namespaces (and, through them,
/// its veths) until the next run removes them as stale. Installed once per process.
pub(crate) fn remove_namespaces_on_interrupt() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            let _creating = CREATING
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let prefix = own_prefix();
            let mine: Vec<String> = namespaces_with_tag()
                .into_iter()
                .filter(|name| name.starts_with(&prefix))
                .collect();
            eprintln!(
                "interrupted: deleting {} namespace(s) {prefix}*",
                mine.len()
            );
            for name in mine {
                if let Err(error) = run("ip", &["netns", "del", &name]) {
                    eprintln!("warning: could not delete namespace {name}: {error}");
                }
            }
            std::process::exit(130);
        });
        if let Err(error) = installed {
            eprintln!(
                "warning: no interrupt handler, an interrupted run leaves namespaces: {error}"
            );
        }
    });
}

/// The namespaces of one test run; all of them are deleted when this is dropped, even on panic.
pub(crate) struct NamespaceGuard {
    prefix: String,
    created: Vec<String>,
}

impl NamespaceGuard {
    /// Starts a run whose namespaces are named `srk<pid>-<short name>`.
    pub(crate) fn new() -> Self {
        Self {
            prefix: own_prefix(),
            created: Vec::new(),
        }
    }

    /// The full namespace name for a short name such as `node1`.
    pub(crate) fn full_name(&self, short: &str) -> String {
        format!("{}{short}", self.prefix)
    }

    /// Creates the namespace and brings its loopback up; returns its full name.
    pub(crate) fn add(&mut self, short: &str) -> Result<String, String> {
        let name = self.full_name(short);
        {
            let _creating = CREATING
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            run("ip", &["netns", "add", &name])?;
            self.created.push(name.clone());
        }
        run("ip", &["-n", &name, "link", "set", "lo", "up"])?;
        Ok(name)
    }
}

impl Drop for NamespaceGuard {
    fn drop(&mut self) {
        // Deleting a namespace destroys the veth ends and bridges inside it, so this is the
        // only cleanup needed; iptables state lives in the namespace too.
        for name in self.created.drain(..).rev() {
            if let Err(error) = run("ip", &["netns", "del", &name]) {
                eprintln!("warning: could not delete namespace {name}: {error}");
            }
        }
    }
}

/// Deletes namespaces left behind by earlier runs of this harness whose process is gone.
pub(crate) fn remove_stale_namespaces() {
    for name in namespaces_with_tag() {
        let owner_pid = name[TAG.len()..].split('-').next().unwrap_or("");
        let owner_alive = !owner_pid.is_empty() && Path::new("/proc").join(owner_pid).exists();
        if !owner_alive {
            eprintln!("removing stale namespace {name}");
            let _ = run("ip", &["netns", "del", &name]);
        }
    }
}

/// Namespaces named `srk<digits>-…`, whoever created them.
pub(crate) fn namespaces_with_tag() -> Vec<String> {
    let Ok(entries) = fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| is_harness_name(name))
        .collect()
}

fn is_harness_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(TAG) else {
        return false;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with('-')
}

/// Problems left in the root namespace or in `/run/netns` by the run with this prefix.
pub(crate) fn leftovers(prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = namespaces_with_tag()
        .into_iter()
        .filter(|name| name.starts_with(prefix))
        .map(|name| format!("namespace {name}"))
        .collect();
    match run("ip", &["-o", "link", "show"]) {
        Ok(links) => found.extend(
            links
                .lines()
                .filter_map(|line| line.split(": ").nth(1))
                .filter(|name| name.starts_with(TAG))
                .map(|name| format!("root-namespace link {name}")),
        ),
        Err(error) => found.push(format!("could not list root links: {error}")),
    }
    found
}

/// Creates a veth pair whose ends are born directly inside the two namespaces, so no
/// interface ever appears in the root namespace.
pub(crate) fn add_veth(
    namespace_a: &str,
    end_a: &str,
    namespace_b: &str,
    end_b: &str,
) -> Result<(), String> {
    run(
        "ip",
        &[
            "link",
            "add",
            end_a,
            "netns",
            namespace_a,
            "type",
            "veth",
            "peer",
            "name",
            end_b,
            "netns",
            namespace_b,
        ],
    )
    .map(|_| ())
}

/// Runs `ip -n <namespace> <args…>`.
pub(crate) fn ip_in(namespace: &str, args: &[&str]) -> Result<(), String> {
    let mut full = vec!["-n", namespace];
    full.extend_from_slice(args);
    run("ip", &full).map(|_| ())
}

/// Runs a program inside the namespace (`ip netns exec`), feeding `stdin`; returns stdout.
pub(crate) fn exec_in(
    namespace: &str,
    program: &str,
    args: &[&str],
    stdin: &str,
) -> Result<String, String> {
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", namespace, program])
        .args(args);
    let description = format!("{program} {} (in {namespace})", args.join(" "));
    checked(&description, output_within(command, stdin, &description)?)
}

/// Runs the command with `stdin` as its input and waits at most [`COMMAND_TIMEOUT`] for it;
/// a command still running then is killed and reported by `description`.
pub(crate) fn output_within(
    mut command: Command,
    stdin: &str,
    description: &str,
) -> Result<Output, String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run `{description}`: {error}"))?;
    // Feed and drain on threads, so that a full pipe never blocks the bounded wait.
    let feeder = child.stdin.take().map(|mut input| {
        let text = stdin.to_owned();
        thread::spawn(move || input.write_all(text.as_bytes()))
    });
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = match child.wait_timeout(COMMAND_TIMEOUT) {
        Ok(Some(status)) => status,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "`{description}` did not finish within {COMMAND_TIMEOUT:?}; killed it"
            ));
        }
        Err(error) => return Err(format!("waiting for `{description}` failed: {error}")),
    };
    if let Some(feeder) = feeder
        && let Ok(Err(error)) = feeder.join()
        && error.kind() != io::ErrorKind::BrokenPipe
    {
        return Err(format!("cannot feed `{description}`: {error}"));
    }
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Sets a sysctl under `/proc/sys/` (e.g. `net/ipv4/ip_forward`) inside the namespace.
pub(crate) fn set_sysctl(namespace: &str, key: &str, value: &str) -> Result<(), String> {
    let path = Path::new("/proc/sys").join(key);
    let value = value.to_owned();
    in_namespace(namespace, move || {
        fs::write(&path, value).map_err(|error| format!("{}: {error}", path.display()))
    })?
}

/// Reads a sysctl inside the namespace; `None` when the key does not exist there.
pub(crate) fn read_sysctl(namespace: &str, key: &str) -> Result<Option<String>, String> {
    let path = Path::new("/proc/sys").join(key);
    in_namespace(namespace, move || {
        fs::read_to_string(path)
            .ok()
            .map(|text| text.trim().to_owned())
    })
}

/// Runs `work` on a fresh thread that has joined the namespace's network stack.
///
/// Network namespaces are per thread on Linux, so sockets opened by `work` live in the
/// namespace while the rest of the test process stays in the root namespace.
pub(crate) fn in_namespace<T, F>(namespace: &str, work: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    spawn_in_namespace(namespace, work)?.join()
}

/// A thread that has entered a namespace and is running its work there.
pub(crate) struct NamespaceThread<T> {
    namespace: String,
    handle: thread::JoinHandle<Option<T>>,
}

impl<T> NamespaceThread<T> {
    /// Waits for the work to finish and returns its result.
    pub(crate) fn join(self) -> Result<T, String> {
        match self.handle.join() {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(format!("thread for {} never entered it", self.namespace)),
            Err(_) => Err(format!("thread in {} panicked", self.namespace)),
        }
    }
}

/// Starts a thread inside the namespace; fails before `work` runs when the namespace
/// cannot be entered.
pub(crate) fn spawn_in_namespace<T, F>(
    namespace: &str,
    work: F,
) -> Result<NamespaceThread<T>, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let handle_path = Path::new(NETNS_DIR).join(namespace);
    let (entered_sender, entered) = std::sync::mpsc::channel();
    let handle = thread::Builder::new()
        .name(format!("in-{namespace}"))
        .spawn(move || {
            let joined = enter(&handle_path);
            let failed = joined.is_err();
            let _ = entered_sender.send(joined);
            if failed { None } else { Some(work()) }
        })
        .map_err(|error| format!("cannot spawn a thread for {namespace}: {error}"))?;
    match entered.recv_timeout(ENTER_TIMEOUT) {
        Ok(Ok(())) => Ok(NamespaceThread {
            namespace: namespace.to_owned(),
            handle,
        }),
        Ok(Err(error)) => {
            let _ = handle.join();
            Err(format!("cannot enter {namespace}: {error}"))
        }
        Err(RecvTimeoutError::Timeout) => Err(format!(
            "thread for {namespace} did not enter it within {ENTER_TIMEOUT:?}"
        )),
        Err(RecvTimeoutError::Disconnected) => {
            Err(format!("thread for {namespace} died before entering it"))
        }
    }
}

/// Moves the calling thread into the network namespace behind `handle_path`.
fn enter(handle_path: &Path) -> io::Result<()> {
    let handle = fs::File::open(handle_path)?;
    // SAFETY: `handle` is an open namespace file descriptor for the whole call, and
    // CLONE_NEWNET only changes the calling thread's network namespace.
    let status = unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) };
    if status == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Runs a program in the root namespace and returns its stdout, or a message with stderr.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let mut command = Command::new(program);
    command.args(args);
    let description = format!("{program} {}", args.join(" "));
    checked(&description, output_within(command, "", &description)?)
}

fn checked(description: &str, output: Output) -> Result<String, String> {
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "`{description}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::is_harness_name;

    #[test]
    fn only_tagged_names_with_a_pid_belong_to_the_harness() {
        assert!(is_harness_name("srk1234-node1"));
        assert!(!is_harness_name("srk-node1"));
        assert!(!is_harness_name("srkx12-node1"));
        assert!(!is_harness_name("cni-1234"));
    }
}
