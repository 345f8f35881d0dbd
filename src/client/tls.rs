//! TLS for SSL and SASL_SSL listeners (cargo feature `tls`), with rustls: no OpenSSL, so the
//! static builds stay static.
//!
//! The broker's certificate is checked against `ssl.ca.location` or else the system's CA bundle,
//! and must name the host connected to unless hostname checks are turned off. A client
//! certificate is sent when one is given (mutual TLS). Files are read once, when the client is
//! made, so a wrong path is an error before anything is sent. Each handshake failure gets its
//! own message saying what to change, because "handshake failed" alone helps nobody.

use std::fmt;
use std::fs;
use std::io;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct,
    RootCertStore, SignatureScheme,
};

use webpki::ring as alg;

use super::transport::{is_wait, Stream};
use super::Tls;
use crate::error::Error;

/// ring's cryptography, with the AES-GCM cipher suites only: TLS 1.3's two and TLS 1.2's four
/// (ECDHE with RSA or ECDSA certificates), which every Kafka broker and Schema Registry on a
/// JVM offers. Leaving ChaCha20-Poly1305 out keeps some 40 KB of its code out of the binary;
/// rustls' own default provider would bring it along, so the provider is put together here.
fn provider() -> rustls::crypto::CryptoProvider {
    use rustls::crypto::ring::cipher_suite::*;
    rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            TLS13_AES_256_GCM_SHA384,
            TLS13_AES_128_GCM_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ],
        kx_groups: rustls::crypto::ring::ALL_KX_GROUPS.to_vec(),
        signature_verification_algorithms: SIGNATURE_ALGORITHMS,
        secure_random: &RingKeys,
        key_provider: &RingKeys,
    }
}

/// What a certificate may be signed with, and which of those each handshake signature scheme
/// names (ring's verifiers, through webpki).
static SIGNATURE_ALGORITHMS: rustls::crypto::WebPkiSupportedAlgorithms =
    rustls::crypto::WebPkiSupportedAlgorithms {
        all: &[
            alg::ECDSA_P256_SHA256,
            alg::ECDSA_P256_SHA384,
            alg::ECDSA_P384_SHA256,
            alg::ECDSA_P384_SHA384,
            alg::ED25519,
            alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
            alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
            alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
            alg::RSA_PKCS1_2048_8192_SHA256,
            alg::RSA_PKCS1_2048_8192_SHA384,
            alg::RSA_PKCS1_2048_8192_SHA512,
            alg::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
            alg::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
            alg::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
        ],
        mapping: &[
            // In TLS 1.2 an ECDSA scheme does not fix the curve; in TLS 1.3 it does.
            (
                SignatureScheme::ECDSA_NISTP384_SHA384,
                &[alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384],
            ),
            (
                SignatureScheme::ECDSA_NISTP256_SHA256,
                &[alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256],
            ),
            (SignatureScheme::ED25519, &[alg::ED25519]),
            (
                SignatureScheme::RSA_PSS_SHA512,
                &[alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
            ),
            (
                SignatureScheme::RSA_PSS_SHA384,
                &[alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
            ),
            (
                SignatureScheme::RSA_PSS_SHA256,
                &[alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
            ),
            (
                SignatureScheme::RSA_PKCS1_SHA512,
                &[alg::RSA_PKCS1_2048_8192_SHA512],
            ),
            (
                SignatureScheme::RSA_PKCS1_SHA384,
                &[alg::RSA_PKCS1_2048_8192_SHA384],
            ),
            (
                SignatureScheme::RSA_PKCS1_SHA256,
                &[alg::RSA_PKCS1_2048_8192_SHA256],
            ),
        ],
    };

/// Random bytes and private keys, both from ring.
#[derive(Debug)]
struct RingKeys;

impl rustls::crypto::SecureRandom for RingKeys {
    fn fill(&self, buf: &mut [u8]) -> Result<(), rustls::crypto::GetRandomFailed> {
        use ring::rand::SecureRandom;
        ring::rand::SystemRandom::new()
            .fill(buf)
            .map_err(|_| rustls::crypto::GetRandomFailed)
    }
}

impl rustls::crypto::KeyProvider for RingKeys {
    fn load_private_key(
        &self,
        key: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        rustls::crypto::ring::sign::any_supported_type(&key)
    }
}

/// Where Linux distributions keep the system's CA bundle (Debian and Alpine, Fedora, openSUSE,
/// and the one many minimal images copy in). `SSL_CERT_FILE` comes first, as OpenSSL reads it.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// A client's TLS setup, made once and shared by its connections.
#[derive(Clone)]
pub struct Setup {
    config: Arc<ClientConfig>,
    /// Where the trusted CAs came from, for messages.
    trusted: String,
}

impl fmt::Debug for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Setup")
            .field("trusted", &self.trusted)
            .finish_non_exhaustive()
    }
}

impl Setup {
    /// Reads the CA bundle and the client certificate and key. Errors name the setting.
    pub fn new(tls: &Tls) -> Result<Setup, Error> {
        let provider = Arc::new(provider());
        let (roots, trusted) = roots(tls)?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Usage(format!("TLS: {e}")))?;
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| Error::Usage(format!("{trusted}: {e}")))?;
        let builder = match tls.verify_hostname {
            true => builder.with_webpki_verifier(verifier),
            false => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyName(verifier))),
        };
        let config =
            match (&tls.certificate, &tls.key) {
                (Some(cert), Some(key)) => {
                    let chain = certificates(cert, "ssl.certificate.location")?;
                    if chain.first().is_some_and(|leaf| is_v1(leaf)) {
                        return Err(Error::Usage(format!(
                            "ssl.certificate.location {}: the client certificate is an X.509 v1 \
                             certificate, and rustls (like browsers) accepts only v3 ones: \
                             sign it again as v3 by giving openssl an extension, e.g. `openssl \
                             x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
                             -days 365 -extfile <(echo extendedKeyUsage=clientAuth) -out \
                             client.pem`",
                            cert.display()
                        )));
                    }
                    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                        Error::Usage(format!(
                            "ssl.key.location {}: {} (an unencrypted PEM key is needed: \
                         `openssl pkcs8 -topk8 -nocrypt` converts one)",
                            key.display(),
                            pem_words(e)
                        ))
                    })?;
                    builder.with_client_auth_cert(chain, key).map_err(|e| {
                        Error::Usage(format!(
                            "ssl.certificate.location {} and ssl.key.location {}: {e}",
                            cert.display(),
                            tls.key.as_deref().unwrap_or(Path::new("")).display()
                        ))
                    })?
                }
                (None, None) => builder.with_no_client_auth(),
                (Some(_), None) => return Err(Error::Usage(
                    "ssl.certificate.location needs ssl.key.location (the certificate's private \
                     key) too"
                        .into(),
                )),
                (None, Some(_)) => {
                    return Err(Error::Usage(
                        "ssl.key.location needs ssl.certificate.location (the client certificate) \
                     too"
                        .into(),
                    ))
                }
            };
        Ok(Setup {
            config: Arc::new(config),
            trusted,
        })
    }

    /// Runs the TLS handshake for `host` over `sock` within the caller's deadline: `step` is
    /// called between reads so it can check the deadline and the stop flag.
    pub fn handshake(
        &self,
        host: &str,
        mut sock: TcpStream,
        addr: &str,
        mut step: impl FnMut(&TcpStream) -> Result<(), super::Failure>,
    ) -> Result<Stream, super::Failure> {
        let name = ServerName::try_from(host.to_string()).map_err(|_| {
            super::Failure::Fatal(Error::Usage(format!(
                "{addr}: '{host}' is not a host name TLS can check"
            )))
        })?;
        let mut tls = ClientConnection::new(self.config.clone(), name)
            .map_err(|e| super::Failure::Fatal(handshake_error(addr, host, &self.trusted, &e)))?;
        while tls.is_handshaking() {
            step(&sock)?;
            match tls.complete_io(&mut sock) {
                Ok(_) => {}
                Err(e) if is_wait(&e) => {}
                Err(e) => return Err(self.failure(addr, host, e)),
            }
        }
        Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(tls, sock))))
    }

    fn failure(&self, addr: &str, host: &str, e: io::Error) -> super::Failure {
        let inner = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        match inner {
            Some(tls) => super::Failure::Fatal(handshake_error(addr, host, &self.trusted, tls)),
            None if matches!(
                e.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            ) =>
            {
                // A plaintext Kafka listener reads the ClientHello as a frame of some 369 MB
                // and hangs up.
                super::Failure::Fatal(Error::Broker {
                    what: format!("TLS handshake with {addr}"),
                    cause: "the broker closed the connection: this port does not speak TLS (a \
                            PLAINTEXT or SASL_PLAINTEXT listener?); check the port and \
                            security.protocol"
                        .into(),
                })
            }
            None => super::Failure::Network(format!("TLS handshake with {addr}: {e}")),
        }
    }
}

/// A TLS refusal that arrives after the handshake looked done: with TLS 1.3 the broker checks
/// the client certificate after the client has finished, and says no on the first read.
pub fn refusal(addr: &str, e: &io::Error) -> Option<Error> {
    let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(handshake_error(addr, "", "", inner))
}

/// The trusted CAs: from `ssl.ca.location`, else the system's bundle.
fn roots(tls: &Tls) -> Result<(RootCertStore, String), Error> {
    let (path, what) = match &tls.ca {
        Some(ca) => (ca.clone(), format!("ssl.ca.location {}", ca.display())),
        None => {
            let from_env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
            let found = from_env
                .into_iter()
                .chain(SYSTEM_BUNDLES.iter().map(Into::into))
                .find(|p| p.is_file());
            match found {
                Some(p) => {
                    let what = format!("the system's CA bundle {}", p.display());
                    (p, what)
                }
                None => {
                    return Err(Error::Usage(format!(
                        "TLS needs the CAs to trust, and this host has no CA bundle (looked for \
                         SSL_CERT_FILE, {}): pass the broker's CA with ssl.ca.location",
                        SYSTEM_BUNDLES.join(", ")
                    )))
                }
            }
        }
    };
    let mut roots = RootCertStore::empty();
    let certs = certificates(&path, &what)?;
    let (_, rejected) = roots.add_parsable_certificates(certs);
    if roots.is_empty() {
        return Err(Error::Usage(format!(
            "{what}: none of its {rejected} certificates can be used as a CA"
        )));
    }
    Ok((roots, what))
}

/// Whether a DER certificate is X.509 v1: its to-be-signed part starts with the serial number,
/// where v2 and v3 start with an explicit version (`[0]`, tag 0xa0). rustls reads only v3, and
/// says so in words meant for a peer's certificate.
fn is_v1(der: &[u8]) -> bool {
    /// The contents of the DER SEQUENCE at the start of `der`.
    fn sequence(der: &[u8]) -> Option<&[u8]> {
        let (&tag, rest) = der.split_first()?;
        let (&first, rest) = rest.split_first()?;
        if tag != 0x30 {
            return None;
        }
        let (len, rest) = match first {
            n if n < 0x80 => (usize::from(n), rest),
            n => {
                let width = usize::from(n & 0x7f);
                if width == 0 || width > 4 || rest.len() < width {
                    return None;
                }
                let len = rest[..width]
                    .iter()
                    .fold(0usize, |len, &b| len << 8 | usize::from(b));
                (len, &rest[width..])
            }
        };
        rest.get(..len)
    }
    let tbs = sequence(der).and_then(sequence);
    tbs.and_then(|tbs| tbs.first()) == Some(&0x02)
}

/// Every certificate of a PEM file; none is an error.
fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = fs::read(path)
        .map_err(|e| Error::Usage(format!("{what}: cannot read {}: {e}", path.display())))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Usage(format!("{what}: {}", pem_words(e))))?;
    if certs.is_empty() {
        return Err(Error::Usage(format!(
            "{what}: no PEM certificate (-----BEGIN CERTIFICATE-----) in {}",
            path.display()
        )));
    }
    Ok(certs)
}

fn pem_words(e: rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error as Pem;
    match e {
        Pem::NoItemsFound => "no PEM item of that kind in the file".into(),
        Pem::Io(e) => format!("cannot read it: {e}"),
        other => format!("not valid PEM: {other:?}"),
    }
}

/// A handshake failure in words that say what to change.
fn handshake_error(addr: &str, host: &str, trusted: &str, e: &rustls::Error) -> Error {
    let cause = match e {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
        | rustls::Error::InvalidCertificate(CertificateError::BadSignature) => format!(
            "the broker's certificate is not trusted: no CA in {trusted} signed it; pass its CA \
             with ssl.ca.location"
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "the broker's certificate is not valid for the host name '{host}': connect by a name \
             it holds, or turn the check off with ssl.endpoint.identification.algorithm= (empty)"
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the broker's certificate has expired".into(),
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if format!("{other:?}").contains("UnsupportedCertVersion") =>
        {
            "the broker's certificate (or a CA's in its chain) is an X.509 v1 certificate, which \
             TLS here accepts only as a trust anchor: the broker needs a v3 certificate"
                .into()
        }
        rustls::Error::InvalidCertificate(other) => {
            format!("the broker's certificate was refused: {other:?}")
        }
        rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA,
        ) => "the broker refused the handshake: it wants a client certificate it trusts (set \
              ssl.certificate.location and ssl.key.location)"
            .into(),
        rustls::Error::InvalidMessage(_) => {
            "the broker's answer is not TLS: is this a PLAINTEXT or SASL_PLAINTEXT listener? \
             Check the port and security.protocol"
                .into()
        }
        other => format!("{other}"),
    };
    Error::Broker {
        what: format!("TLS handshake with {addr}"),
        cause,
    }
}

/// Checks the certificate chain but not the host name
/// (`ssl.endpoint.identification.algorithm=`, as the Java client does with an empty value).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x509_versions_from_the_der() {
        // SEQUENCE { SEQUENCE { INTEGER 1 ... } }: v1, no version field.
        assert!(is_v1(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01]));
        // SEQUENCE { SEQUENCE { [0] { INTEGER 2 } ... } }: v3.
        assert!(!is_v1(&[
            0x30, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x02
        ]));
        // Long-form lengths.
        let mut long = vec![0x30, 0x82, 0x01, 0x04, 0x30, 0x82, 0x01, 0x00, 0x02];
        long.resize(long.len() + 0xff, 0);
        assert!(is_v1(&long));
        // Not a certificate, or cut off: not called v1.
        for der in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x30],
            &[0x02, 0x01, 0x01],
            &[0x30, 0x80],
        ] {
            assert!(!is_v1(der), "{der:?}");
        }
    }
}
