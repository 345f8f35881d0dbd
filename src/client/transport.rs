//! The byte stream under the framing: a TCP socket, or TLS over one (feature `tls`), and how a
//! socket is opened within a deadline. Beneath both `conn` (which frames requests on a stream)
//! and `tls` (which makes a TLS stream from a socket), so neither needs the other's internals.
//!
//! Every wait here is bounded and sliced: a connect attempt or a read waits at most `SLICE` at a
//! time, so the caller sees a stop request within 100 ms, also while a broker is silent.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::Failure;
use crate::error::{secs, Error};

/// How often a blocked read looks at the stop flag.
pub const SLICE: Duration = Duration::from_millis(100);

/// A socket, or TLS over one.
pub enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    /// The socket under the stream, to set its timeouts.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            #[cfg(feature = "tls")]
            Stream::Tls(s) => &s.sock,
        }
    }

    /// Whether the stream speaks TLS, for messages that name the listener's protocol.
    pub fn is_tls(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            #[cfg(feature = "tls")]
            Stream::Tls(_) => true,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Whether an I/O error only means a slice of waiting ran out (or a signal came): try again.
pub fn is_wait(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// An I/O error in the words a user meets it in.
pub fn io_words(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset".into(),
        io::ErrorKind::BrokenPipe => "the broker closed the connection".into(),
        _ => e.to_string(),
    }
}

/// Connects within `timeout`, trying each address the name resolves to, in slices so a stop
/// request is seen.
pub fn connect(addr: &str, timeout: Duration, stop: &AtomicBool) -> Result<TcpStream, Failure> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| Failure::Network(format!("cannot resolve {addr}: {e}")))?
        .collect();
    let deadline = Instant::now() + timeout;
    let mut last = format!("{addr} did not resolve to any address");
    for a in &addrs {
        loop {
            if stop.load(Ordering::SeqCst) {
                return Err(Failure::Fatal(Error::Interrupted));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure::Network(format!(
                    "connecting to {addr}: no answer within {} (the connect timeout)",
                    secs(timeout)
                )));
            }
            match TcpStream::connect_timeout(a, left.min(SLICE * 5)) {
                Ok(s) => return Ok(s),
                Err(e) if is_wait(&e) => continue,
                Err(e) => {
                    last = format!("connecting to {addr}: {}", io_words(&e));
                    break;
                }
            }
        }
    }
    Err(Failure::Network(last))
}
