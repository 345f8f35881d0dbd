//! Asks a broker which protocol versions it accepts (ApiVersions v0, which every Kafka since 0.10
//! answers, 4.x included) and checks them against what the `kafka` crate sends.
//!
//! Kafka 4.0 removed the old versions the crate speaks; without this check such a broker just
//! closes the connection and the user sees "failed to fill whole buffer".

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// `(api key, name, version the kafka crate sends)` for every request this project makes.
const NEEDED: [(i16, &str, i16); 7] = [
    (0, "Produce", 0),
    (1, "Fetch", 0),
    (2, "ListOffsets", 0),
    (3, "Metadata", 0),
    (8, "OffsetCommit", 2),
    (9, "OffsetFetch", 1),
    (10, "FindCoordinator", 0),
];

const API_VERSIONS: i16 = 18;
const CORRELATION_ID: i32 = 1;

/// One API's supported version range, as the broker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub key: i16,
    pub min: i16,
    pub max: i16,
}

/// The ApiVersions v0 request, size prefix included.
pub fn request(client_id: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(16 + client_id.len());
    body.extend_from_slice(&API_VERSIONS.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    body.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    body.extend_from_slice(client_id.as_bytes());
    let mut framed = (body.len() as i32).to_be_bytes().to_vec();
    framed.extend(body);
    framed
}

/// Parses an ApiVersions v0 response body (after the size prefix).
pub fn parse(body: &[u8]) -> Option<Vec<Range>> {
    let mut r = Reader(body);
    if r.i32()? != CORRELATION_ID || r.i16()? != 0 {
        return None;
    }
    let n = r.i32()?;
    (0..n)
        .map(|_| {
            Some(Range {
                key: r.i16()?,
                min: r.i16()?,
                max: r.i16()?,
            })
        })
        .collect()
}

/// The requests this build sends that the broker no longer accepts, by name and version.
pub fn unsupported(ranges: &[Range]) -> Vec<String> {
    NEEDED
        .iter()
        .filter(|(key, _, version)| {
            !ranges
                .iter()
                .any(|r| r.key == *key && (r.min..=r.max).contains(version))
        })
        .map(|(_, name, version)| format!("{name} v{version}"))
        .collect()
}

/// Asks `broker` for its versions. Errors are connection problems, which the caller reports
/// through its own retries.
pub fn probe(broker: &str, timeout: Duration) -> io::Result<Vec<Range>> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in broker.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return ask(stream, timeout),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn ask(mut stream: TcpStream, timeout: Duration) -> io::Result<Vec<Range>> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(&request("order-kafka"))?;
    let mut size = [0u8; 4];
    stream.read_exact(&mut size)?;
    let size = i32::from_be_bytes(size);
    if !(0..=1 << 20).contains(&size) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad size"));
    }
    let mut body = vec![0u8; size as usize];
    stream.read_exact(&mut body)?;
    parse(&body).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad ApiVersions answer"))
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn i16(&mut self) -> Option<i16> {
        self.take().map(i16::from_be_bytes)
    }

    fn i32(&mut self) -> Option<i32> {
        self.take().map(i32::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(ranges: &[(i16, i16, i16)]) -> Vec<u8> {
        let mut b = CORRELATION_ID.to_be_bytes().to_vec();
        b.extend(0i16.to_be_bytes());
        b.extend((ranges.len() as i32).to_be_bytes());
        for &(k, min, max) in ranges {
            b.extend(k.to_be_bytes());
            b.extend(min.to_be_bytes());
            b.extend(max.to_be_bytes());
        }
        b
    }

    #[test]
    fn request_is_framed_api_versions_v0() {
        assert_eq!(
            request("ab"),
            [0, 0, 0, 12, 0, 18, 0, 0, 0, 0, 0, 1, 0, 2, b'a', b'b']
        );
    }

    #[test]
    fn a_3_9_broker_accepts_everything_we_send() {
        // Ranges Kafka 3.9 reports for these keys.
        let ranges = parse(&response(&[
            (0, 0, 11),
            (1, 0, 17),
            (2, 0, 9),
            (3, 0, 12),
            (8, 0, 9),
            (9, 0, 9),
            (10, 0, 6),
        ]))
        .unwrap();
        assert!(unsupported(&ranges).is_empty());
    }

    #[test]
    fn a_4_x_broker_refuses_the_old_versions() {
        let ranges = parse(&response(&[
            (0, 3, 12),
            (1, 4, 17),
            (2, 1, 10),
            (3, 0, 13),
            (8, 2, 9),
            (9, 1, 9),
            (10, 0, 6),
        ]))
        .unwrap();
        assert_eq!(
            unsupported(&ranges),
            ["Produce v0", "Fetch v0", "ListOffsets v0"]
        );
    }

    #[test]
    fn truncated_or_failed_answers_are_rejected() {
        let full = response(&[(0, 0, 11)]);
        assert_eq!(parse(&full[..full.len() - 1]), None);
        let mut failed = full.clone();
        failed[5] = 35;
        assert_eq!(parse(&failed), None);
    }
}
