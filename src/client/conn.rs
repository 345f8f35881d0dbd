//! One TCP connection to one broker: framing, correlation ids, and the version of each API that
//! both sides speak (ApiVersions, asked first on every connection).
//!
//! Every wait is bounded: connecting by the connect timeout, each answer by the request timeout
//! (plus the broker-side wait a fetch asks for). Reads wait in short slices so a stop request is
//! seen within 100 ms, also while a broker is silent. A frame longer than the cap is refused
//! before anything is read into memory, and a frame's buffer grows only as its bytes arrive.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::{Encodable, HeaderVersion, StrBytes};

use super::wire::Reader;
use super::{Failure, Options};
use crate::error::{secs, Error};

/// How often a blocked read looks at the stop flag.
const SLICE: Duration = Duration::from_millis(100);

pub struct Conn {
    stream: TcpStream,
    pub addr: String,
    /// (api key, min, max) as the broker offers them.
    offered: Vec<(i16, i16, i16)>,
    correlation: i32,
    client_id: StrBytes,
    request_timeout: Duration,
    max_frame: usize,
    out: BytesMut,
    frame: Vec<u8>,
    /// Set when a call ended before its answer was read (a stop request): the answer may
    /// still arrive, so the connection cannot carry another request.
    pub broken: bool,
}

impl Conn {
    /// Connects to `addr` (host:port) and asks which API versions it speaks.
    pub fn open(addr: &str, options: &Options, stop: &AtomicBool) -> Result<Conn, Failure> {
        let stream = connect(addr, options.connect_timeout, stop)?;
        let _ = stream.set_nodelay(true);
        let mut conn = Conn {
            stream,
            addr: addr.to_string(),
            offered: Vec::new(),
            correlation: 0,
            client_id: StrBytes::from_string(options.client_id.clone()),
            request_timeout: options.request_timeout,
            max_frame: options.max_response_bytes,
            out: BytesMut::with_capacity(64 * 1024),
            frame: Vec::new(),
            broken: false,
        };
        conn.api_versions(stop)?;
        Ok(conn)
    }

    fn api_versions(&mut self, stop: &AtomicBool) -> Result<(), Failure> {
        let request = kafka_protocol::messages::ApiVersionsRequest::default();
        let addr = self.addr.clone();
        let body = self.call(ApiKey::ApiVersions, &request, 0, Duration::ZERO, stop)?;
        let (error, offered) =
            parse_api_versions(body).map_err(|e| garbled(&addr, ApiKey::ApiVersions, e))?;
        // UNSUPPORTED_VERSION still carries the broker's ranges; anything else is a refusal.
        if error != 0 && error != super::codes::UNSUPPORTED_VERSION {
            return Err(Failure::Network(format!(
                "{addr} refused ApiVersions: {}",
                super::codes::describe(error)
            )));
        }
        log::debug!("{addr} offers {} APIs", offered.len());
        self.offered = offered;
        Ok(())
    }

    /// The highest version of `api` that both the broker and this client (`ours`) speak.
    pub fn version(&self, api: ApiKey, ours: RangeInclusive<i16>) -> Result<i16, Failure> {
        let Some(&(_, min, max)) = self.offered.iter().find(|o| o.0 == api as i16) else {
            return Err(Failure::Fatal(Error::Broker {
                what: format!("talking to {}", self.addr),
                cause: format!("the broker does not offer {api:?} requests"),
            }));
        };
        let chosen = max.min(*ours.end());
        if chosen < min.max(*ours.start()) {
            return Err(Failure::Fatal(Error::Broker {
                what: format!("talking to {}", self.addr),
                cause: format!(
                    "the broker speaks {api:?} v{min} to v{max}, this client v{} to v{}: \
                     use Apache Kafka 2.8 or newer (3.9 and 4.x are tested)",
                    ours.start(),
                    ours.end()
                ),
            }));
        }
        Ok(chosen)
    }

    /// Sends `request` at `version` and returns the response body (after its header). `wait` is
    /// time the broker may hold the request on purpose (a fetch's max wait), added to the
    /// request timeout.
    pub fn call<R: Encodable + HeaderVersion>(
        &mut self,
        api: ApiKey,
        request: &R,
        version: i16,
        wait: Duration,
        stop: &AtomicBool,
    ) -> Result<&[u8], Failure> {
        let correlation = self.send(api, request, version)?;
        let deadline = Instant::now() + self.request_timeout + wait;
        let size = {
            let mut head = [0u8; 4];
            self.read_exact_by(&mut head, deadline, api, stop)?;
            i32::from_be_bytes(head)
        };
        if size < 4 || size as usize > self.max_frame {
            return Err(Failure::Garbled(format!(
                "{} sent a {api:?} answer of {size} bytes (allowed: 4 to {}): not a Kafka broker, \
                 or a garbled stream",
                self.addr, self.max_frame
            )));
        }
        let mut frame = std::mem::take(&mut self.frame);
        let read = self.read_frame(&mut frame, size as usize, deadline, api, stop);
        self.frame = frame;
        read?;
        let header_flexible = api.response_header_version(version) >= 1;
        let mut r = Reader::new(&self.frame, header_flexible);
        let got = r
            .i32()
            .and_then(|c| r.tags().map(|()| c))
            .map_err(|e| garbled(&self.addr, api, e))?;
        if got != correlation {
            return Err(Failure::Garbled(format!(
                "{} answered {api:?} request {correlation} with correlation id {got}",
                self.addr
            )));
        }
        let start = self.frame.len() - r.remaining();
        Ok(&self.frame[start..])
    }

    /// Sends a request that gets no answer (a produce with acks=0).
    pub fn send_only<R: Encodable + HeaderVersion>(
        &mut self,
        api: ApiKey,
        request: &R,
        version: i16,
    ) -> Result<(), Failure> {
        self.send(api, request, version).map(|_| ())
    }

    fn send<R: Encodable + HeaderVersion>(
        &mut self,
        api: ApiKey,
        request: &R,
        version: i16,
    ) -> Result<i32, Failure> {
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(self.client_id.clone()));
        self.out.clear();
        self.out.extend_from_slice(&[0; 4]);
        header
            .encode(&mut self.out, R::header_version(version))
            .and_then(|()| request.encode(&mut self.out, version))
            .map_err(|e| {
                Failure::Fatal(Error::Broker {
                    what: format!("encoding a {api:?} v{version} request"),
                    cause: e.to_string(),
                })
            })?;
        let size = (self.out.len() - 4) as i32;
        self.out[..4].copy_from_slice(&size.to_be_bytes());
        let _ = self.stream.set_write_timeout(Some(self.request_timeout));
        self.stream.write_all(&self.out).map_err(|e| {
            Failure::Network(format!(
                "sending {api:?} to {}: {}",
                self.addr,
                io_words(&e)
            ))
        })?;
        Ok(self.correlation)
    }

    fn read_frame(
        &mut self,
        frame: &mut Vec<u8>,
        size: usize,
        deadline: Instant,
        api: ApiKey,
        stop: &AtomicBool,
    ) -> Result<(), Failure> {
        frame.clear();
        // Grow with what arrives, never by the announced size alone.
        while frame.len() < size {
            let have = frame.len();
            let step = (size - have).min(have.max(64 * 1024));
            frame.resize(have + step, 0);
            self.read_exact_by(&mut frame[have..], deadline, api, stop)?;
        }
        Ok(())
    }

    fn read_exact_by(
        &mut self,
        mut buf: &mut [u8],
        deadline: Instant,
        api: ApiKey,
        stop: &AtomicBool,
    ) -> Result<(), Failure> {
        while !buf.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure::Network(format!(
                    "no answer from {} to {api:?} within {} (the request timeout; raise it \
                     with --request-timeout)",
                    self.addr,
                    secs(self.request_timeout)
                )));
            }
            let _ = self.stream.set_read_timeout(Some(left.min(SLICE)));
            match self.stream.read(buf) {
                Ok(0) => {
                    return Err(Failure::Network(format!(
                        "{} closed the connection during {api:?}",
                        self.addr
                    )))
                }
                Ok(n) => buf = &mut buf[n..],
                Err(e) if is_wait(&e) => {
                    if stop.load(Ordering::SeqCst) {
                        self.broken = true;
                        return Err(Failure::Fatal(Error::Interrupted));
                    }
                }
                Err(e) => {
                    return Err(Failure::Network(format!(
                        "reading {api:?} from {}: {}",
                        self.addr,
                        io_words(&e)
                    )))
                }
            }
        }
        Ok(())
    }
}

/// An ApiVersions v0 answer: the error and (api key, min, max) per API.
pub(super) fn parse_api_versions(body: &[u8]) -> super::wire::Result<ApiRanges> {
    let mut r = Reader::new(body, false);
    let error = r.i16()?;
    let n = r.count(6)?;
    let mut offered = Vec::with_capacity(n);
    for _ in 0..n {
        offered.push((r.i16()?, r.i16()?, r.i16()?));
    }
    Ok((error, offered))
}

type ApiRanges = (i16, Vec<(i16, i16, i16)>);

fn is_wait(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// A response that does not parse.
pub fn garbled(addr: &str, api: ApiKey, e: super::wire::WireError) -> Failure {
    Failure::Garbled(format!("{addr} sent a garbled {api:?} answer: {e}"))
}

fn io_words(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset".into(),
        io::ErrorKind::BrokenPipe => "the broker closed the connection".into(),
        _ => e.to_string(),
    }
}

/// Connects within `timeout`, trying each address the name resolves to, in slices so a stop
/// request is seen.
fn connect(addr: &str, timeout: Duration, stop: &AtomicBool) -> Result<TcpStream, Failure> {
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
