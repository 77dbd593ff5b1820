//! The backend pods' TCP server: answers each connection with the peer it saw, then closes.

use std::io::{ErrorKind, Write};
use std::net::{SocketAddrV4, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::netns::{self, NamespaceThread};

/// No test run may keep a server alive longer than this.
const MAX_LIFETIME: Duration = Duration::from_secs(300);
/// How often an idle server looks at its stop flag.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// A running backend; stops its thread when dropped.
pub(crate) struct BackendServer {
    stop: Arc<AtomicBool>,
    thread: Option<NamespaceThread<()>>,
}

impl BackendServer {
    /// Binds `address` inside the namespace and serves until dropped.
    ///
    /// Each answer is one line, `<peer ip:port> <local ip:port>\n`: what the backend saw as
    /// the client, and which backend it was.
    pub(crate) fn start(namespace: &str, address: SocketAddrV4) -> Result<Self, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let (bound_sender, bound) = std::sync::mpsc::channel();
        let stop_flag = Arc::clone(&stop);
        let thread = netns::spawn_in_namespace(namespace, move || {
            let listener = match bind(address) {
                Ok(listener) => {
                    let _ = bound_sender.send(Ok(()));
                    listener
                }
                Err(error) => {
                    let _ = bound_sender.send(Err(error));
                    return;
                }
            };
            serve(&listener, &stop_flag);
        })?;
        let server = Self {
            stop,
            thread: Some(thread),
        };
        match bound.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => Ok(server),
            Ok(Err(error)) => Err(format!("backend {address} in {namespace}: {error}")),
            Err(_) => Err(format!(
                "backend {address} in {namespace} stopped or did not bind within 10 s"
            )),
        }
    }
}

impl Drop for BackendServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take()
            && let Err(error) = thread.join()
        {
            eprintln!("warning: backend server: {error}");
        }
    }
}

fn bind(address: SocketAddrV4) -> Result<TcpListener, String> {
    let listener = TcpListener::bind(address).map_err(|error| format!("bind: {error}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|error| format!("set_nonblocking: {error}"))?;
    Ok(listener)
}

fn serve(listener: &TcpListener, stop: &AtomicBool) {
    let deadline = Instant::now() + MAX_LIFETIME;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        match listener.accept() {
            Ok((mut stream, peer)) => {
                let local = stream
                    .local_addr()
                    .map(|address| address.to_string())
                    .unwrap_or_else(|_| "unknown".to_owned());
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                let _ = stream.write_all(format!("{peer} {local}\n").as_bytes());
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => thread::sleep(POLL_INTERVAL),
            Err(error) => {
                eprintln!("warning: backend accept failed: {error}");
                thread::sleep(POLL_INTERVAL);
            }
        }
    }
}
