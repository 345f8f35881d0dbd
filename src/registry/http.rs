//! A small blocking HTTP/1.1 client, enough for a Schema Registry's JSON API: one request per
//! connection (`Connection: close`), a body sent with its length, an answer read with its
//! `Content-Length`, in chunks, or to the end of the stream. Over TLS in the `tls` build, with
//! the same rustls setup as the brokers' connections.
//!
//! Bounded like the Kafka client: the answer's head is read up to [`MAX_HEAD_BYTES`] and its
//! body up to [`MAX_BODY_BYTES`]; no length the peer sends sizes an allocation; every wait is
//! sliced so a stop request is seen within 100 ms and ends at the request timeout.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::client::net::{self, Stream, SLICE};
use crate::client::Failure;
use crate::error::{secs, Error};

/// Longest status line and headers of an answer.
pub const MAX_HEAD_BYTES: usize = 16 << 10;
/// Largest body of an answer: a schema and its JSON wrapping, with room to spare.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Where a registry is: scheme, host, port and the path its API lives under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// The base path without its trailing `/` (`/apis/ccompat/v7`, or empty).
    pub path: String,
}

impl Endpoint {
    /// Reads `http://host[:port][/path]` or `https://...`. A login in the URL
    /// (`user:password@host`) is refused: it belongs in `basic.auth.user.info`, which is kept
    /// secret, and the message does not repeat it.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let (https, rest) = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
            _ => return Err("must start with http:// or https://".into()),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err("holds a login: give it with --registry-user-info \
                        (basic.auth.user.info), which is never printed"
                .into());
        }
        if path.contains(['?', '#']) || path.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err("the path must be plain (no query, fragment, spaces or non-ASCII)".into());
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((host, "")) => (host, None),
                Some((host, port)) => (host, Some(port.strip_prefix(':').unwrap_or(port))),
                None => return Err("has an IPv6 address without its closing ]".into()),
            },
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let valid_host = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_');
        if host.is_empty() || !host.chars().all(valid_host) {
            return Err("has no valid host name".into());
        }
        let port = match port {
            None => match https {
                true => 443,
                false => 80,
            },
            Some(p) => match p.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(format!("has port '{p}', not one from 1 to 65535")),
            },
        };
        Ok(Endpoint {
            https,
            host: host.to_string(),
            port,
            path: path.trim_end_matches('/').to_string(),
        })
    }

    /// The address to connect to.
    fn address(&self) -> String {
        match self.host.contains(':') {
            true => format!("[{}]:{}", self.host, self.port),
            false => format!("{}:{}", self.host, self.port),
        }
    }

    /// The URL again, for messages.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{}", self.address(), self.path)
    }
}

/// One answer: its status and body.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// How requests are sent: the waits, the login, and the TLS setup for `https`.
pub struct Http {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// The `Authorization` header's value, made once from `user:password`.
    authorization: Option<String>,
    #[cfg(feature = "tls")]
    tls: Option<crate::client::net::TlsSetup>,
}

impl Http {
    /// `user_info` is `user:password` for HTTP basic authentication; `ca` the CAs for an
    /// `https` registry (the system's bundle when `None`), read only when `https` is true.
    pub fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
        user_info: Option<&str>,
        https: bool,
        ca: Option<&std::path::Path>,
    ) -> Result<Http, Error> {
        #[cfg(feature = "tls")]
        let tls = match https {
            true => Some(crate::client::net::TlsSetup::new(&crate::client::Tls {
                ca: ca.map(|p| p.to_path_buf()),
                certificate: None,
                key: None,
                verify_hostname: true,
            })?),
            false => None,
        };
        #[cfg(not(feature = "tls"))]
        if https {
            let _ = ca;
            return Err(Error::Usage(format!(
                "an https schema registry needs TLS: {}",
                crate::client::NO_TLS
            )));
        }
        Ok(Http {
            connect_timeout,
            request_timeout,
            authorization: user_info
                .map(|u| format!("Basic {}", crate::base64::encode(u.as_bytes()))),
            #[cfg(feature = "tls")]
            tls,
        })
    }

    /// Sends one request to `path` under the endpoint's base path and reads the answer.
    /// `Failure::Network` is worth another attempt; `Failure::Fatal` is not.
    pub fn send(
        &self,
        endpoint: &Endpoint,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        stop: &AtomicBool,
    ) -> Result<Response, Failure> {
        let address = endpoint.address();
        let url = endpoint.url();
        let deadline = Instant::now() + self.request_timeout;
        let sock = net::connect(&address, self.connect_timeout, stop)
            .map_err(|f| name_failure(f, &url))?;
        let _ = sock.set_nodelay(true);
        sock.set_read_timeout(Some(SLICE))
            .and_then(|()| sock.set_write_timeout(Some(self.request_timeout)))
            .map_err(|e| Failure::Network(format!("{url}: {}", net::io_words(&e))))?;
        let mut stream = self.secure(endpoint, sock, &address, deadline, stop)?;
        let mut head = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: order-kafka/{}\r\n\
             Accept: application/vnd.schemaregistry.v1+json, application/json\r\n\
             Connection: close\r\n",
            endpoint.path,
            endpoint.address(),
            env!("CARGO_PKG_VERSION")
        );
        if let Some(auth) = &self.authorization {
            head.push_str("Authorization: ");
            head.push_str(auth);
            head.push_str("\r\n");
        }
        if let Some(body) = body {
            head.push_str("Content-Type: application/vnd.schemaregistry.v1+json\r\n");
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let sent = stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body.unwrap_or_default()))
            .and_then(|()| stream.flush());
        if let Err(e) = sent {
            return Err(Failure::Network(format!(
                "{url}: sending a request: {}",
                net::io_words(&e)
            )));
        }
        let mut reader = Reader {
            stream: &mut stream,
            deadline,
            stop,
            timeout: self.request_timeout,
        };
        let answer = read_response(&mut reader, method == "HEAD");
        answer.map_err(|e| match e {
            Broken::Stopped => Failure::Fatal(Error::Interrupted),
            Broken::Io(why) => Failure::Network(format!("{url}: {why}")),
            Broken::Garbled(why) => Failure::Fatal(Error::Registry {
                url: url.clone(),
                cause: format!("the answer is not HTTP the client can read: {why}"),
            }),
        })
    }

    #[cfg(feature = "tls")]
    fn secure(
        &self,
        endpoint: &Endpoint,
        sock: std::net::TcpStream,
        address: &str,
        deadline: Instant,
        stop: &AtomicBool,
    ) -> Result<Stream, Failure> {
        match (&self.tls, endpoint.https) {
            (Some(tls), true) => tls
                .handshake(&endpoint.host, sock, address, |_| {
                    if stop.load(Ordering::SeqCst) {
                        return Err(Failure::Fatal(Error::Interrupted));
                    }
                    match Instant::now() < deadline {
                        true => Ok(()),
                        false => Err(Failure::Network(format!(
                            "{}: no TLS handshake within {}",
                            endpoint.url(),
                            secs(self.request_timeout)
                        ))),
                    }
                })
                .map_err(|f| match f {
                    Failure::Fatal(Error::Interrupted) => Failure::Fatal(Error::Interrupted),
                    Failure::Fatal(e) => Failure::Fatal(Error::Registry {
                        url: endpoint.url(),
                        cause: registry_words(&e.to_string()),
                    }),
                    Failure::Network(why) | Failure::Garbled(why) | Failure::Stale(why) => {
                        Failure::Network(registry_words(&why))
                    }
                }),
            _ => Ok(Stream::Plain(sock)),
        }
    }

    #[cfg(not(feature = "tls"))]
    fn secure(
        &self,
        _endpoint: &Endpoint,
        sock: std::net::TcpStream,
        _address: &str,
        _deadline: Instant,
        _stop: &AtomicBool,
    ) -> Result<Stream, Failure> {
        Ok(Stream::Plain(sock))
    }
}

/// A TLS message written for brokers, in the registry's words and settings.
#[cfg(feature = "tls")]
fn registry_words(text: &str) -> String {
    text.replace("the broker's", "the registry's")
        .replace("the broker", "the registry")
        .replace(
            "ssl.ca.location",
            "--registry-ca (schema.registry.ssl.ca.location)",
        )
}

/// A connect failure in words that name the registry, not a broker.
fn name_failure(f: Failure, url: &str) -> Failure {
    match f {
        Failure::Network(why) | Failure::Garbled(why) | Failure::Stale(why) => {
            Failure::Network(format!("{url}: {why}"))
        }
        fatal => fatal,
    }
}

/// Why an answer could not be read.
#[derive(Debug, PartialEq)]
enum Broken {
    Stopped,
    /// The connection failed or went silent: another attempt may do better.
    Io(String),
    /// The bytes are not an HTTP answer we read.
    Garbled(String),
}

/// Bytes from the stream, within the deadline.
trait Source {
    /// Reads some bytes into `buf`; 0 at the end of the stream.
    fn some(&mut self, buf: &mut [u8]) -> Result<usize, Broken>;
}

struct Reader<'a, S: Read> {
    stream: &'a mut S,
    deadline: Instant,
    stop: &'a AtomicBool,
    timeout: Duration,
}

impl<S: Read> Source for Reader<'_, S> {
    fn some(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return Err(Broken::Stopped);
            }
            if Instant::now() >= self.deadline {
                return Err(Broken::Io(format!(
                    "no answer within {} (the request timeout)",
                    secs(self.timeout)
                )));
            }
            match self.stream.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if net::is_wait(&e) => continue,
                // A server that closes at once after a complete answer may reset.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(Broken::Io(net::io_words(&e))),
            }
        }
    }
}

/// Reads the status line, the headers and the body.
fn read_response(source: &mut dyn Source, head_only: bool) -> Result<Response, Broken> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(Broken::Garbled(format!(
                "its status line and headers run past {MAX_HEAD_BYTES} bytes"
            )));
        }
        let n = source.some(&mut chunk)?;
        if n == 0 {
            return Err(match buf.is_empty() {
                true => Broken::Io("the connection closed without an answer".into()),
                false => Broken::Io("the connection closed inside the answer's headers".into()),
            });
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| Broken::Garbled("its headers are not text".into()))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = parse_status(status_line)?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Broken::Garbled(format!("header line '{}'", shorten(line))));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: u64 = value
                .parse()
                .map_err(|_| Broken::Garbled(format!("Content-Length '{}'", shorten(value))))?;
            if n > MAX_BODY_BYTES as u64 {
                return Err(Broken::Garbled(format!(
                    "a body of {n} bytes, more than the {MAX_BODY_BYTES} read"
                )));
            }
            length = Some(n as usize);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .to_ascii_lowercase()
                .split(',')
                .any(|t| t.trim() == "chunked");
        }
    }
    let mut rest = Vec::new();
    rest.extend_from_slice(&buf[head_end + 4..]);
    let no_body = head_only || status == 204 || status == 304 || (100..200).contains(&status);
    let body = if no_body {
        Vec::new()
    } else if chunked {
        read_chunked(source, rest)?
    } else if let Some(n) = length {
        read_exactly(source, rest, n)?
    } else {
        read_to_end(source, rest)?
    };
    Ok(Response { status, body })
}

fn parse_status(line: &str) -> Result<u16, Broken> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return Err(Broken::Garbled(format!("status line '{}'", shorten(line))));
    }
    code.parse()
        .map_err(|_| Broken::Garbled(format!("status line '{}'", shorten(line))))
}

fn read_exactly(source: &mut dyn Source, mut body: Vec<u8>, n: usize) -> Result<Vec<u8>, Broken> {
    let mut chunk = [0u8; 8192];
    while body.len() < n {
        let got = source.some(&mut chunk)?;
        if got == 0 {
            return Err(Broken::Io(format!(
                "the connection closed after {} of the body's {n} bytes",
                body.len()
            )));
        }
        body.extend_from_slice(&chunk[..got]);
    }
    body.truncate(n);
    Ok(body)
}

fn read_to_end(source: &mut dyn Source, mut body: Vec<u8>) -> Result<Vec<u8>, Broken> {
    let mut chunk = [0u8; 8192];
    loop {
        if body.len() > MAX_BODY_BYTES {
            return Err(Broken::Garbled(format!(
                "a body longer than the {MAX_BODY_BYTES} bytes read"
            )));
        }
        let got = source.some(&mut chunk)?;
        if got == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..got]);
    }
}

/// A chunked body: hex sizes, each chunk after its line, up to the last, empty one.
fn read_chunked(source: &mut dyn Source, mut data: Vec<u8>) -> Result<Vec<u8>, Broken> {
    let mut body = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut at = 0;
    // Reads until `data[at..]` holds `want` bytes.
    let mut fill = |data: &mut Vec<u8>, at: usize, want: usize| -> Result<(), Broken> {
        while data.len() < at + want {
            let got = source.some(&mut chunk)?;
            if got == 0 {
                return Err(Broken::Io(
                    "the connection closed inside a chunked body".into(),
                ));
            }
            data.extend_from_slice(&chunk[..got]);
        }
        Ok(())
    };
    loop {
        let line_end = loop {
            if let Some(i) = find(&data[at..], b"\r\n") {
                break at + i;
            }
            if data.len() - at > 1024 {
                return Err(Broken::Garbled(
                    "a chunk size line longer than 1 KiB".into(),
                ));
            }
            let have = data.len() - at;
            fill(&mut data, at, have + 1)?;
        };
        let line = std::str::from_utf8(&data[at..line_end]).unwrap_or("?");
        let hex = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(hex, 16)
            .map_err(|_| Broken::Garbled(format!("chunk size '{}'", shorten(line))))?;
        if size > MAX_BODY_BYTES - body.len().min(MAX_BODY_BYTES) {
            return Err(Broken::Garbled(format!(
                "a body longer than the {MAX_BODY_BYTES} bytes read"
            )));
        }
        at = line_end + 2;
        if size == 0 {
            // Trailers, if any, are not needed: the connection closes after them.
            return Ok(body);
        }
        fill(&mut data, at, size + 2)?;
        body.extend_from_slice(&data[at..at + size]);
        if &data[at + size..at + size + 2] != b"\r\n" {
            return Err(Broken::Garbled("a chunk not followed by CRLF".into()));
        }
        at += size + 2;
        // What was read is dropped now and then, so `data` stays small.
        if at > 64 << 10 {
            data.drain(..at);
            at = 0;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A peer's text, cut to 80 characters for a message.
fn shorten(text: &str) -> String {
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push_str("...");
    }
    s.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes given out a few at a time, as a socket might.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Source for Trickle<'_> {
        fn some(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
            let n = self.step.min(self.data.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn read(data: &[u8]) -> Result<Response, Broken> {
        let mut answers = Vec::new();
        for step in [1, 7, 4096] {
            answers.push(read_response(&mut Trickle { data, step }, false));
        }
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
        answers.pop().unwrap()
    }

    #[test]
    fn urls_are_read_with_their_defaults() {
        let e = Endpoint::parse("http://127.0.0.1:8081/apis/ccompat/v7/").unwrap();
        assert_eq!(
            (e.https, e.host.as_str(), e.port, e.path.as_str()),
            (false, "127.0.0.1", 8081, "/apis/ccompat/v7")
        );
        assert_eq!(e.url(), "http://127.0.0.1:8081/apis/ccompat/v7");
        let e = Endpoint::parse("HTTPS://registry.example").unwrap();
        assert_eq!((e.https, e.port, e.path.as_str()), (true, 443, ""));
        assert_eq!(
            Endpoint::parse("http://[::1]:81").unwrap().address(),
            "[::1]:81"
        );
        for (bad, words) in [
            ("registry:8081", "http://"),
            ("ftp://x", "http://"),
            ("http://", "host"),
            ("http://x:0", "port"),
            ("http://x:99999", "port"),
            ("http://u:secret@x", "login"),
            ("http://x/a?b", "query"),
            ("http://x y", "host"),
        ] {
            let e = Endpoint::parse(bad).unwrap_err();
            assert!(e.contains(words), "{bad}: {e}");
            assert!(!e.contains("secret"), "{bad}: {e}");
        }
    }

    #[test]
    fn bodies_are_read_by_length_in_chunks_or_to_the_end() {
        let by_length = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{\"id\":1}\nextra";
        assert_eq!(
            read(by_length),
            Ok(Response {
                status: 200,
                body: b"{\"id\":1}\n".to_vec()
            })
        );
        let chunked = b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n\
                        4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n";
        assert_eq!(
            read(chunked),
            Ok(Response {
                status: 404,
                body: b"{\"a\":1}".to_vec()
            })
        );
        let to_end = b"HTTP/1.0 500 Oops\r\nServer: x\r\n\r\nall of it";
        assert_eq!(read(to_end).unwrap().body, b"all of it");
        let empty = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(read(empty).unwrap().body, b"");
    }

    #[test]
    fn bad_answers_are_refused_without_allocating_their_lengths() {
        let cases: [(&[u8], &str); 8] = [
            (b"", "without an answer"),
            (
                b"HTTP/1.1 200 OK\r\nContent-Le",
                "inside the answer's headers",
            ),
            (b"SSH-2.0-OpenSSH\r\n\r\n", "status line"),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
                "more than",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
                "after 3 of",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n",
                "longer than",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "chunk size",
            ),
            (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "header line"),
        ];
        for (data, words) in cases {
            let e = read(data).unwrap_err();
            let text = format!("{e:?}");
            assert!(
                text.contains(words),
                "{:?}: {text}",
                String::from_utf8_lossy(data)
            );
        }
        let mut endless = b"HTTP/1.1 200 OK\r\n".to_vec();
        endless.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES + 10));
        assert!(matches!(read(&endless), Err(Broken::Garbled(_))));
    }
}
