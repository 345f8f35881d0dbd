//! One TCP connection to one broker: framing, correlation ids, and the version of each API that
//! both sides speak (ApiVersions, asked first on every connection).
//!
//! Every wait is bounded: connecting, and then the handshake (TLS, ApiVersions, the SASL login),
//! by the connect timeout (or the request timeout, when shorter); each later answer by the
//! request timeout (plus the broker-side wait a fetch asks for). A peer that accepts and then
//! says nothing is most likely no Kafka listener, so it costs a connect timeout, not a request
//! timeout, and the message says what to check rather than to wait longer. Reads wait in short slices so a stop request is
//! seen within 100 ms, also while a broker is silent. A frame longer than the cap is refused
//! before anything is read into memory, and a frame's buffer grows only as its bytes arrive.
//!
//! On a secured listener the TLS handshake (feature `tls`) comes before ApiVersions and the SASL
//! login right after it, so a connection handed out is ready for requests.

use std::io::{self, Read, Write};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::request::{self, ApiKey, Request};
use super::sasl::{self, Mechanism};
use super::transport::{connect, io_words, is_wait, Stream, SLICE};
use super::wire::Reader;
use super::{Failure, Login, Options, Security};
use crate::error::{secs, Error};

/// What a peer that accepts a connection and then says nothing most likely is.
const SILENT_PEER: &str = "probably not a Kafka listener: check the port (is it the broker's \
     listener, not another service's?) and security.protocol (SSL and SASL_SSL need a TLS \
     listener), or the broker is hung";

/// What every connection of a client shares: the TLS setup, read once.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    #[cfg(feature = "tls")]
    tls: Option<super::tls::Setup>,
}

impl Transport {
    pub fn new(security: &Security) -> Result<Transport, Error> {
        #[cfg(feature = "tls")]
        return Ok(Transport {
            tls: match &security.tls {
                Some(tls) => Some(super::tls::Setup::new(tls)?),
                None => None,
            },
        });
        #[cfg(not(feature = "tls"))]
        match security.tls {
            Some(_) => Err(Error::Usage(super::NO_TLS.into())),
            None => Ok(Transport {}),
        }
    }
}

pub struct Conn {
    stream: Stream,
    pub addr: String,
    /// (api key, min, max) as the broker offers them.
    offered: Vec<(i16, i16, i16)>,
    correlation: i32,
    client_id: String,
    request_timeout: Duration,
    max_frame: usize,
    out: Vec<u8>,
    frame: Vec<u8>,
    /// Set when a call ended before its answer was read (a stop request): the answer may
    /// still arrive, so the connection cannot carry another request.
    broken: bool,
    /// Whether a SASL login went through.
    logged_in: bool,
    /// When the broker ends the login's session (its connections.max.reauth.ms): a connection
    /// is replaced a little before, rather than found closed.
    expires: Option<Instant>,
    /// Until the connection is handed out: when the handshake must be over, and which timeout
    /// set that, for messages.
    handshake: Option<(Instant, &'static str, Duration)>,
    /// Which connection this is, of the process's: an answer awaited on a connection is only
    /// read from that very one.
    pub serial: u64,
}

/// Connections opened so far, for [`Conn::serial`].
static OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Conn {
    /// Connects to `addr` (host:port), runs the TLS handshake when the listener wants TLS, asks
    /// which API versions it speaks, and logs in when it wants SASL.
    pub fn open(
        addr: &str,
        options: &Options,
        transport: &Transport,
        stop: &AtomicBool,
    ) -> Result<Conn, Failure> {
        let socket = connect(addr, options.connect_timeout, stop)?;
        let _ = socket.set_nodelay(true);
        let handshake = match options.request_timeout < options.connect_timeout {
            true => (options.request_timeout, "the request timeout"),
            false => (options.connect_timeout, "the connect timeout"),
        };
        let handshake = (Instant::now() + handshake.0, handshake.1, handshake.0);
        #[cfg(feature = "tls")]
        let stream = match &transport.tls {
            Some(tls) => {
                let deadline = handshake.0;
                let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                tls.handshake(host, socket, addr, |sock| {
                    if stop.load(Ordering::SeqCst) {
                        return Err(Failure::Fatal(Error::Interrupted));
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Failure::Garbled(format!(
                            "no TLS handshake with {addr} within {} ({}) though it accepted \
                             the connection: {SILENT_PEER}",
                            secs(handshake.2),
                            handshake.1
                        )));
                    }
                    let _ = sock.set_read_timeout(Some(left.min(SLICE)));
                    let _ = sock.set_write_timeout(Some(left));
                    Ok(())
                })?
            }
            None => Stream::Plain(socket),
        };
        #[cfg(not(feature = "tls"))]
        let stream = {
            let _ = transport;
            Stream::Plain(socket)
        };
        let mut conn = Conn {
            stream,
            addr: addr.to_string(),
            offered: Vec::new(),
            correlation: 0,
            client_id: options.client_id.clone(),
            request_timeout: options.request_timeout,
            max_frame: options.max_response_bytes,
            out: Vec::with_capacity(64 * 1024),
            frame: Vec::new(),
            broken: false,
            logged_in: false,
            expires: None,
            handshake: Some(handshake),
            serial: OPENED.fetch_add(1, Ordering::Relaxed),
        };
        conn.api_versions(stop)?;
        if let Some(login) = &options.security.sasl {
            conn.log_in(login, stop)?;
            conn.logged_in = true;
        }
        conn.handshake = None;
        Ok(conn)
    }

    /// Whether the connection is broken, or its login session (nearly) over: either way it
    /// must be replaced before the next request.
    /// Whether this connection goes to the broker at `addr`: the same address, or, without
    /// TLS (whose certificate was checked against the name connected to), the same socket
    /// address (`localhost:9092` for a broker that calls itself `127.0.0.1:9092`).
    pub fn reaches(&self, addr: &str) -> bool {
        if self.addr == addr {
            return true;
        }
        if self.stream.is_tls() {
            return false;
        }
        let Ok(peer) = self.stream.tcp().peer_addr() else {
            return false;
        };
        std::net::ToSocketAddrs::to_socket_addrs(addr).is_ok_and(|mut a| a.any(|a| a == peer))
    }

    pub fn spent(&self) -> bool {
        let expired = self.expires.is_some_and(|at| Instant::now() >= at);
        if expired {
            log::debug!(
                "{}: the login session ends soon; connecting anew",
                self.addr
            );
        }
        self.broken || expired
    }

    /// SaslHandshake, then the mechanism's SaslAuthenticate rounds. A refused login is fatal:
    /// another attempt with the same password cannot do better.
    fn log_in(&mut self, login: &Login, stop: &AtomicBool) -> Result<(), Failure> {
        let addr = self.addr.clone();
        let mechanism = login.mechanism.name();
        let version = self.version(ApiKey::SaslHandshake, 1..=1)?;
        let request = request::SaslHandshakeRequest { mechanism };
        let body = self.call(
            ApiKey::SaslHandshake,
            &request,
            version,
            Duration::ZERO,
            stop,
        )?;
        let (error, enabled) =
            sasl::parse_handshake(body).map_err(|e| garbled(&addr, ApiKey::SaslHandshake, e))?;
        let refused = |cause: String| {
            Failure::Fatal(Error::Broker {
                what: format!("logging in to {addr} as '{}'", login.username),
                cause,
            })
        };
        match error {
            0 => {}
            super::codes::UNSUPPORTED_SASL_MECHANISM => {
                return Err(refused(format!(
                    "this listener does not offer SASL mechanism {mechanism} (it offers {}): \
                     set sasl.mechanism to one of those",
                    if enabled.is_empty() {
                        "none".into()
                    } else {
                        enabled.join(", ")
                    }
                )))
            }
            super::codes::ILLEGAL_SASL_STATE => {
                return Err(refused(
                    "this listener does not take SASL logins: check the port and \
                     security.protocol (SASL_PLAINTEXT and SASL_SSL need a SASL listener)"
                        .into(),
                ))
            }
            other => return Err(refused(super::codes::describe(other))),
        }
        let version = self.version(ApiKey::SaslAuthenticate, 0..=2)?;
        match login.mechanism {
            Mechanism::Plain => {
                let token = sasl::plain_token(&login.username, &login.password);
                self.sasl_round(token, version, login, stop)?;
            }
            #[cfg(feature = "scram")]
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                let mut scram = sasl::Scram::new(login.mechanism, &login.username, &login.password);
                let first = self.sasl_round(scram.client_first(), version, login, stop)?;
                let last = scram
                    .client_final(&first)
                    .map_err(|e| refused(format!("{mechanism}: {e}")))?;
                let last = self.sasl_round(last, version, login, stop)?;
                scram
                    .check_server_final(&last)
                    .map_err(|e| refused(format!("{mechanism}: {e}")))?;
            }
            #[cfg(not(feature = "scram"))]
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                return Err(Failure::Fatal(Error::Usage(super::NO_SCRAM.into())))
            }
        }
        log::debug!("{addr}: logged in as '{}' with {mechanism}", login.username);
        Ok(())
    }

    /// One SaslAuthenticate round: sends `token`, returns the broker's.
    fn sasl_round(
        &mut self,
        token: Vec<u8>,
        version: i16,
        login: &Login,
        stop: &AtomicBool,
    ) -> Result<Vec<u8>, Failure> {
        let addr = self.addr.clone();
        let request = request::SaslAuthenticateRequest { auth_bytes: &token };
        let body = self.call(
            ApiKey::SaslAuthenticate,
            &request,
            version,
            Duration::ZERO,
            stop,
        )?;
        let answer = sasl::parse_authenticate(body, version)
            .map_err(|e| garbled(&addr, ApiKey::SaslAuthenticate, e))?;
        if answer.error != 0 {
            let said = answer
                .message
                .filter(|m| !m.is_empty())
                .map(|m| format!(" (the broker says: {m})"))
                .unwrap_or_default();
            let cause = match answer.error {
                super::codes::SASL_AUTHENTICATION_FAILED => format!(
                    "authentication failed for user '{}' with {}{said}",
                    login.username,
                    login.mechanism.name()
                ),
                other => format!("{}{said}", super::codes::describe(other)),
            };
            return Err(Failure::Fatal(Error::Broker {
                what: format!("logging in to {addr}"),
                cause,
            }));
        }
        if answer.session_lifetime_ms > 0 {
            // Replaced at nine tenths of the session, as the Java client re-authenticates.
            let lifetime = Duration::from_millis(answer.session_lifetime_ms as u64);
            self.expires = Some(Instant::now() + lifetime.mul_f64(0.9));
        }
        Ok(answer.bytes)
    }

    fn api_versions(&mut self, stop: &AtomicBool) -> Result<(), Failure> {
        let request = request::ApiVersionsRequest;
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
    pub fn call<R: Request>(
        &mut self,
        api: ApiKey,
        request: &R,
        version: i16,
        wait: Duration,
        stop: &AtomicBool,
    ) -> Result<&[u8], Failure> {
        let correlation = self.send(api, request, version)?;
        self.answer(api, version, correlation, wait, stop)
    }

    /// Sends `request` without waiting: its answer is read later with [`Conn::answer`], in the
    /// order the requests went out (Kafka answers a connection's requests in order).
    pub fn start<R: Request>(
        &mut self,
        api: ApiKey,
        request: &R,
        version: i16,
    ) -> Result<i32, Failure> {
        self.send(api, request, version)
    }

    /// Reads the answer to request `correlation`, sent by [`Conn::start`] or [`Conn::call`].
    pub fn answer(
        &mut self,
        api: ApiKey,
        version: i16,
        correlation: i32,
        wait: Duration,
        stop: &AtomicBool,
    ) -> Result<&[u8], Failure> {
        let deadline = match self.handshake {
            Some((until, _, _)) => until,
            None => Instant::now() + self.request_timeout + wait,
        };
        let size = {
            let mut head = [0u8; 4];
            self.read_exact_by(&mut head, deadline, api, stop)?;
            i32::from_be_bytes(head)
        };
        if size < 4 || size as usize > self.max_frame {
            // A TLS alert record (content type 21, version 3.x) where a frame should be.
            if !self.stream.is_tls() && size.to_be_bytes()[..2] == [21, 3] {
                return Err(Failure::Fatal(Error::Broker {
                    what: format!("talking to {}", self.addr),
                    cause: "the broker answered with TLS: this is an SSL or SASL_SSL listener; \
                            set security.protocol to SSL or SASL_SSL"
                        .into(),
                }));
            }
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

    /// The last answer's frame, moved out for an answer that outlives the next request, as a
    /// fetch's records do; the next answer reads into `room` (a frame given back).
    pub fn take_frame(&mut self, room: Vec<u8>) -> Vec<u8> {
        std::mem::replace(&mut self.frame, room)
    }

    /// Sends a request that gets no answer (a produce with acks=0).
    pub fn send_only<R: Request>(
        &mut self,
        api: ApiKey,
        request: &R,
        version: i16,
    ) -> Result<(), Failure> {
        self.send(api, request, version).map(|_| ())
    }

    fn send<R: Request>(&mut self, api: ApiKey, request: &R, version: i16) -> Result<i32, Failure> {
        self.correlation = self.correlation.wrapping_add(1);
        request::frame(
            &mut self.out,
            api,
            version,
            self.correlation,
            &self.client_id,
            request,
        )
        .map_err(|e| {
            Failure::Fatal(Error::Broker {
                what: format!("encoding a {api:?} v{version} request"),
                cause: e.to_string(),
            })
        })?;
        let _ = self
            .stream
            .tcp()
            .set_write_timeout(Some(self.request_timeout));
        let written = self.stream.write_all(&self.out);
        written.and_then(|()| self.stream.flush()).map_err(|e| {
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
        // Grow with what arrives, never by the announced size alone. The buffer keeps the
        // length it had (a reused frame's): only room beyond that is zeroed, once.
        let mut have = 0;
        while have < size {
            let step = (size - have).min(have.max(64 * 1024));
            if frame.len() < have + step {
                frame.resize(have + step, 0);
            }
            self.read_exact_by(&mut frame[have..have + step], deadline, api, stop)?;
            have += step;
        }
        frame.truncate(size);
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
                // Silence before the connection is ready is no Kafka answer: the run's last
                // error asks whether the address is a broker, not whether Kafka runs.
                return Err(match self.handshake {
                    Some((_, which, timeout)) => Failure::Garbled(format!(
                        "no answer from {} to {api:?} within {} ({which}) though it accepted \
                         the connection: {SILENT_PEER}",
                        self.addr,
                        secs(timeout)
                    )),
                    None => Failure::Network(format!(
                        "no answer from {} to {api:?} within {} (the request timeout; raise it \
                         with --request-timeout)",
                        self.addr,
                        secs(self.request_timeout)
                    )),
                });
            }
            let _ = self.stream.tcp().set_read_timeout(Some(left.min(SLICE)));
            match self.stream.read(buf) {
                Ok(0) if self.not_logged_in_on_sasl(api) => return Err(self.needs_login(api)),
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
                Err(e)
                    if e.kind() == io::ErrorKind::ConnectionReset
                        && self.not_logged_in_on_sasl(api) =>
                {
                    return Err(self.needs_login(api))
                }
                Err(e) => {
                    #[cfg(feature = "tls")]
                    if let Some(refused) = super::tls::refusal(&self.addr, &e) {
                        return Err(Failure::Fatal(refused));
                    }
                    return Err(Failure::Network(format!(
                        "reading {api:?} from {}: {}",
                        self.addr,
                        io_words(&e)
                    )));
                }
            }
        }
        Ok(())
    }
}

impl Conn {
    /// A SASL listener answers ApiVersions to anyone, and hangs up on the next request of a
    /// client that did not log in: a hang-up there means a missing login, not a broker that is
    /// down (it answered a moment ago).
    fn not_logged_in_on_sasl(&self, api: ApiKey) -> bool {
        self.correlation == 2 && !self.logged_in && api != ApiKey::SaslHandshake
    }

    fn needs_login(&self, api: ApiKey) -> Failure {
        let (now, wanted) = match self.stream.is_tls() {
            false => ("PLAINTEXT", "SASL_PLAINTEXT"),
            true => ("SSL", "SASL_SSL"),
        };
        Failure::Fatal(Error::Broker {
            what: format!("talking to {}", self.addr),
            cause: format!(
                "the broker closed the connection at the first {api:?} request, as a SASL \
                 listener does to a client that did not log in: this is a {wanted} listener; \
                 set security.protocol={wanted} (not {now}) with sasl.mechanism, \
                 sasl.username and sasl.password, or use the broker's {now} port"
            ),
        })
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

/// A response that does not parse.
pub fn garbled(addr: &str, api: ApiKey, e: super::wire::WireError) -> Failure {
    Failure::Garbled(format!("{addr} sent a garbled {api:?} answer: {e}"))
}
