//! SASL for Kafka (KIP-43, KIP-152), without I/O: the PLAIN token (RFC 4616), the SCRAM
//! exchange (RFC 5802; SHA-256 per RFC 7677, SHA-512 the same way) and the decoders of the
//! SaslHandshake and SaslAuthenticate answers. The connection sends what these build and feeds
//! back what the broker says.
//!
//! SCRAM here is Kafka's: no channel binding (gs2 header `n,,`), and no SASLprep beyond escaping
//! `=` and `,` in the user name, as the Java client does, so a password reaches the hash as its
//! UTF-8 bytes. Every server message is treated as hostile: the nonce must extend ours, the
//! iteration count must lie in Kafka's own bounds (a huge one would burn CPU on our side), the
//! salt must be bounded, strict base64, and the broker must prove it knows the password before
//! the exchange counts as done. Errors never contain the password.

use super::wire::{Reader, Result as WireResult, WireError};

/// A SASL mechanism this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl Mechanism {
    /// The name Kafka uses in `sasl.mechanism` and in the SaslHandshake.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }

    /// The mechanism `text` names, in any case.
    pub fn parse(text: &str) -> Option<Mechanism> {
        [
            Mechanism::Plain,
            Mechanism::ScramSha256,
            Mechanism::ScramSha512,
        ]
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// The one PLAIN message: `\0user\0password`, with an empty authorization id so the broker
/// authorizes as `user`.
pub fn plain_token(user: &str, password: &str) -> Vec<u8> {
    let mut token = Vec::with_capacity(user.len() + password.len() + 2);
    token.push(0);
    token.extend_from_slice(user.as_bytes());
    token.push(0);
    token.extend_from_slice(password.as_bytes());
    token
}

/// The SaslHandshake answer (v0 and v1 are the same and not flexible): the error code and the
/// mechanisms the broker has enabled on this listener.
pub fn parse_handshake(body: &[u8]) -> WireResult<(i16, Vec<String>)> {
    let mut r = Reader::new(body, false);
    let error = r.i16()?;
    let count = r.count(2)?;
    let mut mechanisms = Vec::with_capacity(count);
    for _ in 0..count {
        mechanisms.push(r.string()?.to_string());
    }
    Ok((error, mechanisms))
}

/// One SaslAuthenticate answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthAnswer {
    pub error: i16,
    /// The broker's words when `error` is set (often "Authentication failed ...").
    pub message: Option<String>,
    /// The mechanism's next message from the broker (empty for PLAIN).
    pub bytes: Vec<u8>,
    /// How long the broker keeps the session before it wants a new authentication (KIP-368);
    /// 0 when it does not say (v0) or sets no limit.
    pub session_lifetime_ms: i64,
}

/// Decodes a SaslAuthenticate answer: v0 and v1 plain, v2 flexible; v1 adds the session
/// lifetime.
pub fn parse_authenticate(body: &[u8], version: i16) -> WireResult<AuthAnswer> {
    let mut r = Reader::new(body, version >= 2);
    let error = r.i16()?;
    let message = r.nullable_string()?.map(str::to_string);
    let bytes = r
        .nullable_bytes()?
        .ok_or_else(|| WireError("the SASL bytes of the answer are null".into()))?
        .to_vec();
    let session_lifetime_ms = if version >= 1 { r.i64()? } else { 0 };
    r.tags()?;
    Ok(AuthAnswer {
        error,
        message,
        bytes,
        session_lifetime_ms,
    })
}

#[cfg(feature = "scram")]
pub use scram::Scram;

#[cfg(feature = "scram")]
mod scram {
    use std::fmt;

    use std::num::NonZeroU32;

    use ring::{digest, hmac, pbkdf2};

    use super::Mechanism;
    use crate::base64;

    /// Kafka's bounds on the iteration count (its `ScramMechanism` minimum and maximum): fewer
    /// is weak, more only makes the broker, or whoever poses as one, cost us CPU time.
    const ITERATIONS: std::ops::RangeInclusive<u32> = 4096..=16384;

    /// The longest base64 salt accepted; Kafka's salts are far shorter.
    const MAX_SALT_CHARS: usize = 256;

    /// `base64("n,,")`: the gs2 header echoed in the client-final message.
    const CHANNEL_BINDING: &str = "biws";

    /// One SCRAM exchange: client-first, then client-final from the broker's server-first,
    /// then a check of the broker's server-final.
    pub struct Scram {
        mechanism: Mechanism,
        password: String,
        nonce: String,
        first_bare: String,
        /// What the broker's server-final must carry; set by [`Scram::client_final`].
        server_signature: Option<Vec<u8>>,
    }

    impl fmt::Debug for Scram {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Scram")
                .field("mechanism", &self.mechanism)
                .field("first_bare", &self.first_bare)
                .field("password", &"<hidden>")
                .field("awaits_server_final", &self.server_signature.is_some())
                .finish()
        }
    }

    impl Scram {
        /// A new exchange with a fresh random nonce. `mechanism` must be a SCRAM one: with
        /// [`Mechanism::Plain`] the exchange fails at [`Scram::client_final`].
        pub fn new(mechanism: Mechanism, user: &str, password: &str) -> Scram {
            // Two v4 UUIDs carry 244 random bits from the OS; their hex is printable, comma-free.
            let nonce = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            Scram::with_nonce(mechanism, user, password, &nonce)
        }

        /// An exchange with a given client nonce, for known-answer tests.
        pub fn with_nonce(mechanism: Mechanism, user: &str, password: &str, nonce: &str) -> Scram {
            Scram {
                mechanism,
                password: password.to_string(),
                nonce: nonce.to_string(),
                first_bare: format!("n={},r={nonce}", escape_user(user)),
                server_signature: None,
            }
        }

        /// The client-first message: no channel binding, no authorization id.
        pub fn client_first(&self) -> Vec<u8> {
            format!("n,,{}", self.first_bare).into_bytes()
        }

        /// The client-final message, with the proof computed from the broker's server-first.
        pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
            let first = ServerFirst::parse(server_first, &self.nonce)?;
            let without_proof = format!("c={CHANNEL_BINDING},r={}", first.nonce);
            let auth_message = format!("{},{},{without_proof}", self.first_bare, first.text);
            let password = self.password.as_bytes();
            let hash = match self.mechanism {
                Mechanism::ScramSha256 => Hash::Sha256,
                Mechanism::ScramSha512 => Hash::Sha512,
                Mechanism::Plain => return Err("PLAIN is not a SCRAM mechanism".into()),
            };
            let (proof, signature) = prove(
                hash,
                password,
                &first.salt,
                first.iterations,
                auth_message.as_bytes(),
            );
            self.server_signature = Some(signature);
            Ok(format!("{without_proof},p={}", base64::encode(&proof)).into_bytes())
        }

        /// Checks the broker's server-final: an `e=` error, or the server signature that proves
        /// the broker holds the password's keys.
        pub fn check_server_final(&self, server_final: &[u8]) -> Result<(), String> {
            let expected = self
                .server_signature
                .as_deref()
                .ok_or("the SCRAM exchange has not sent its client-final message yet")?;
            let text = std::str::from_utf8(server_final)
                .map_err(|_| "the broker's last SCRAM message is not UTF-8".to_string())?;
            let first = text.split(',').next().unwrap_or_default();
            if let Some(error) = first.strip_prefix("e=") {
                return Err(format!(
                    "the broker refused the SCRAM proof: {}",
                    printable(error)
                ));
            }
            let Some(verifier) = first.strip_prefix("v=") else {
                return Err("the broker's last SCRAM message has no server signature".into());
            };
            let signature = base64::decode(verifier).map_err(|e| {
                format!("the broker did not prove it knows the password: its signature {e}")
            })?;
            if !same_bytes(&signature, expected) {
                return Err("the broker did not prove it knows the password: \
                            its server signature does not match"
                    .into());
            }
            Ok(())
        }
    }

    /// The broker's server-first message, checked.
    struct ServerFirst<'a> {
        /// The whole message, part of what both proofs sign.
        text: &'a str,
        nonce: &'a str,
        salt: Vec<u8>,
        iterations: u32,
    }

    impl<'a> ServerFirst<'a> {
        fn parse(message: &'a [u8], client_nonce: &str) -> Result<ServerFirst<'a>, String> {
            let text = std::str::from_utf8(message)
                .map_err(|_| "the broker's first SCRAM message is not UTF-8".to_string())?;
            let mut parts = text.split(',');
            let mut field = |key: &str| {
                parts
                    .next()
                    .and_then(|part| part.strip_prefix(key))
                    .ok_or_else(|| {
                        format!(
                            "the broker's first SCRAM message lacks '{key}' where expected: {}",
                            printable(text)
                        )
                    })
            };
            // `m=` would announce a mandatory extension we do not know; `r=` would be missing.
            let nonce = field("r=")?;
            let salt = field("s=")?;
            let iterations = field("i=")?;
            if nonce.len() <= client_nonce.len()
                || !nonce.starts_with(client_nonce)
                || !nonce.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err("the broker's nonce does not extend ours".into());
            }
            if salt.len() > MAX_SALT_CHARS {
                return Err(format!(
                    "the broker's salt is {} characters long, more than the {MAX_SALT_CHARS} accepted",
                    salt.len()
                ));
            }
            let salt = base64::decode(salt).map_err(|e| format!("the broker's salt {e}"))?;
            if salt.is_empty() {
                return Err("the broker's salt is empty".into());
            }
            let count = iterations
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| iterations.parse::<u32>().ok())
                .flatten()
                .filter(|n| ITERATIONS.contains(n));
            let Some(iterations) = count else {
                return Err(format!(
                    "the broker asks for {} SCRAM iterations; only {}..={} are accepted \
                     (Kafka's own bounds: more would only burn CPU time here)",
                    printable(iterations),
                    ITERATIONS.start(),
                    ITERATIONS.end()
                ));
            };
            Ok(ServerFirst {
                text,
                nonce,
                salt,
                iterations,
            })
        }
    }

    /// The hash a SCRAM mechanism names. ring's, as the TLS build (the one with SCRAM) has
    /// it anyway.
    #[derive(Clone, Copy)]
    enum Hash {
        Sha256,
        Sha512,
    }

    /// RFC 5802's keys for one hash: returns the client proof and the expected server signature.
    /// `Hi` is PBKDF2 with the HMAC as PRF and one block of output.
    fn prove(
        hash: Hash,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        auth_message: &[u8],
    ) -> (Vec<u8>, Vec<u8>) {
        let (prf, mac, digest) = match hash {
            Hash::Sha256 => (
                pbkdf2::PBKDF2_HMAC_SHA256,
                hmac::HMAC_SHA256,
                &digest::SHA256,
            ),
            Hash::Sha512 => (
                pbkdf2::PBKDF2_HMAC_SHA512,
                hmac::HMAC_SHA512,
                &digest::SHA512,
            ),
        };
        let mut salted = vec![0; digest.output_len()];
        // The broker's count was checked against ITERATIONS, so it is never 0.
        let rounds = NonZeroU32::new(iterations.max(1)).expect("at least 1");
        pbkdf2::derive(prf, rounds, salt, password, &mut salted);
        let sign = |key: &[u8], data: &[u8]| {
            hmac::sign(&hmac::Key::new(mac, key), data)
                .as_ref()
                .to_vec()
        };
        let client_key = sign(&salted, b"Client Key");
        let stored_key = digest::digest(digest, &client_key);
        let client_signature = sign(stored_key.as_ref(), auth_message);
        let proof = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = sign(&salted, b"Server Key");
        (proof, sign(&server_key, auth_message))
    }

    /// Kafka's `saslname`: `=` and `,` would end the attribute, so they are escaped.
    fn escape_user(user: &str) -> String {
        let mut out = String::with_capacity(user.len());
        for c in user.chars() {
            match c {
                '=' => out.push_str("=3D"),
                ',' => out.push_str("=2C"),
                c => out.push(c),
            }
        }
        out
    }

    /// Equal bytes, looking at every byte whatever the first difference, so the time taken
    /// does not tell a forger how much of a signature was right.
    fn same_bytes(a: &[u8], b: &[u8]) -> bool {
        let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
        a.len() == b.len() && std::hint::black_box(diff) == 0
    }

    /// Broker text for an error message: control characters dropped, length bounded.
    fn printable(text: &str) -> String {
        text.chars().filter(|c| !c.is_control()).take(200).collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        // RFC 7677 section 3.
        const RFC_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
        const RFC_SERVER_FIRST: &str =
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

        fn rfc_exchange() -> Scram {
            Scram::with_nonce(Mechanism::ScramSha256, "user", "pencil", RFC_NONCE)
        }

        fn answer(server_first: &str) -> Result<Vec<u8>, String> {
            rfc_exchange().client_final(server_first.as_bytes())
        }

        #[test]
        fn rfc_7677_scram_sha_256_example() {
            let mut scram = rfc_exchange();
            assert_eq!(scram.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
            let last = scram.client_final(RFC_SERVER_FIRST.as_bytes()).unwrap();
            assert_eq!(
                String::from_utf8(last).unwrap(),
                "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                 p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
            );
            assert_eq!(
                scram.check_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
                Ok(())
            );
        }

        #[test]
        fn scram_sha_512_known_answer() {
            // Derived independently with Python 3's hashlib and hmac, from RFC 5802's formulas:
            // salted = hashlib.pbkdf2_hmac("sha512", b"pencil", b64decode(s), 4096);
            // client_key = hmac(salted, "Client Key"); stored = sha512(client_key);
            // proof = client_key XOR hmac(stored, auth_message);
            // v = hmac(hmac(salted, "Server Key"), auth_message).
            let server_first = "r=rOprNGfwEbeRWgbNEkqO3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
            let mut scram = Scram::with_nonce(Mechanism::ScramSha512, "user", "pencil", RFC_NONCE);
            let last = scram.client_final(server_first.as_bytes()).unwrap();
            assert_eq!(
                String::from_utf8(last).unwrap(),
                "c=biws,r=rOprNGfwEbeRWgbNEkqO3rfcNHYJY1ZVvWVs7j,p=zK0GyUU4eiPbsDgyUwFagtyp/zF/\
                 V83jraxOLQaH1XgAM2FVITQxBKmhgGpK17k49UtWj5xpeqiVM2Ty3cGCBA=="
            );
            let verifier = "v=8VgYFbxiFQ4EiaPBxycccAcyU+NQUbcRg9jwYx3pj5Hy1Yhl044ENC6evNQCgoz/\
                            ZU2cnnYVHXqdF4RJHQU2rw==";
            assert_eq!(scram.check_server_final(verifier.as_bytes()), Ok(()));
            // The 256-bit verifier of the RFC is not a 512-bit one.
            let err = scram
                .check_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .unwrap_err();
            assert!(err.contains("did not prove"), "{err}");
        }

        #[test]
        fn user_names_are_escaped_and_nonces_are_fresh() {
            let scram = Scram::with_nonce(Mechanism::ScramSha256, "a=b,c", "p", "xyz");
            assert_eq!(scram.client_first(), b"n,,n=a=3Db=2Cc,r=xyz");
            assert_eq!(escape_user("=,=,"), "=3D=2C=3D=2C");
            assert_eq!(escape_user("plain"), "plain");

            let a = String::from_utf8(Scram::new(Mechanism::ScramSha256, "u", "p").client_first())
                .unwrap();
            let b = String::from_utf8(Scram::new(Mechanism::ScramSha256, "u", "p").client_first())
                .unwrap();
            assert_ne!(a, b);
            let nonce = a.strip_prefix("n,,n=u,r=").unwrap();
            assert_eq!(nonce.len(), 64);
            assert!(nonce.bytes().all(|b| b.is_ascii_graphic() && b != b','));
        }

        #[test]
        fn debug_hides_the_password() {
            let mut scram = Scram::with_nonce(Mechanism::ScramSha256, "user", "pencil", RFC_NONCE);
            scram.client_final(RFC_SERVER_FIRST.as_bytes()).unwrap();
            let shown = format!("{scram:?}");
            assert!(!shown.contains("pencil"), "{shown}");
            assert!(
                shown.contains("<hidden>") && shown.contains("user"),
                "{shown}"
            );
        }

        #[test]
        fn hostile_server_first_messages_are_refused() {
            let cases: &[(&str, &str)] = &[
                (
                    "r=someoneElse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                    "does not extend ours",
                ),
                (
                    "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                    "does not extend ours",
                ),
                (
                    "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1",
                    "1 SCRAM iterations",
                ),
                (
                    "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000000000",
                    "burn CPU",
                ),
                (
                    "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=+4096",
                    "iterations",
                ),
                (
                    "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999",
                    "iterations",
                ),
                (
                    "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6g!==,i=4096",
                    "salt is not base64",
                ),
                ("r=rOprNGfwEbeRWgbNEkqOx,s=abc,i=4096", "salt is not base64"),
                ("r=rOprNGfwEbeRWgbNEkqOx,s=,i=4096", "salt is empty"),
                (
                    "m=ext,r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                    "lacks 'r='",
                ),
                ("r=rOprNGfwEbeRWgbNEkqOx,i=4096", "lacks 's='"),
                (
                    "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==",
                    "lacks 'i='",
                ),
                ("", "lacks 'r='"),
            ];
            for (message, expected) in cases {
                let err = answer(message).unwrap_err();
                assert!(err.contains(expected), "{message}: {err}");
                assert!(!err.contains("pencil"), "{err}");
            }
            let long_salt = format!("r={RFC_NONCE}x,s={},i=4096", "A".repeat(260));
            assert!(answer(&long_salt).unwrap_err().contains("260 characters"));
            assert!(rfc_exchange()
                .client_final(b"r=\xff,s=AA==,i=4096")
                .is_err());
            // Bounds are inclusive, and extensions after the iteration count are ignored.
            let ok = format!("r={RFC_NONCE}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=16384,x=ext");
            assert!(answer(&ok).is_ok());
        }

        #[test]
        fn hostile_server_final_messages_are_refused() {
            let mut scram = rfc_exchange();
            assert!(scram
                .check_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .unwrap_err()
                .contains("not sent"));
            scram.client_final(RFC_SERVER_FIRST.as_bytes()).unwrap();
            let cases: &[(&[u8], &str)] = &[
                (b"e=invalid-proof", "refused the SCRAM proof: invalid-proof"),
                (b"e=bad\x1b[31m", "refused the SCRAM proof: bad[31m"),
                (
                    b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
                    "did not prove it knows the password",
                ),
                (
                    b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",
                    "did not prove",
                ),
                (b"v=", "did not prove"),
                (b"", "no server signature"),
                (b"x=1", "no server signature"),
                (b"\xff", "not UTF-8"),
            ];
            for (message, expected) in cases {
                let err = scram.check_server_final(message).unwrap_err();
                assert!(err.contains(expected), "{message:?}: {err}");
            }
        }

        #[test]
        fn plain_is_no_scram_mechanism() {
            let mut scram = Scram::with_nonce(Mechanism::Plain, "user", "pencil", RFC_NONCE);
            assert!(scram.client_final(RFC_SERVER_FIRST.as_bytes()).is_err());
        }

        #[test]
        fn constant_time_comparison() {
            assert!(same_bytes(b"abc", b"abc"));
            assert!(same_bytes(b"", b""));
            assert!(!same_bytes(b"abc", b"abd"));
            assert!(!same_bytes(b"abc", b"ab"));
            assert!(!same_bytes(b"ab", b"abc"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanism_names() {
        for m in [
            Mechanism::Plain,
            Mechanism::ScramSha256,
            Mechanism::ScramSha512,
        ] {
            assert_eq!(Mechanism::parse(m.name()), Some(m));
            assert_eq!(Mechanism::parse(&m.name().to_lowercase()), Some(m));
        }
        assert_eq!(
            Mechanism::parse("scram-sha-512"),
            Some(Mechanism::ScramSha512)
        );
        assert_eq!(Mechanism::parse("GSSAPI"), None);
        assert_eq!(Mechanism::parse("SCRAM-SHA-1"), None);
        assert_eq!(Mechanism::parse(""), None);
    }

    #[test]
    fn plain_token_bytes() {
        assert_eq!(plain_token("alice", "s3cret"), b"\0alice\0s3cret");
        assert_eq!(plain_token("", ""), b"\0\0");
        assert_eq!(plain_token("ü", "p"), b"\0\xc3\xbc\0p");
    }

    #[test]
    fn handshake_answers() {
        let body = [
            0, 0, // no error
            0, 0, 0, 2, // two mechanisms
            0, 5, b'P', b'L', b'A', b'I', b'N', //
            0, 13, b'S', b'C', b'R', b'A', b'M', b'-', b'S', b'H', b'A', b'-', b'5', b'1', b'2',
        ];
        assert_eq!(
            parse_handshake(&body),
            Ok((0, vec!["PLAIN".to_string(), "SCRAM-SHA-512".to_string()]))
        );
        // UNSUPPORTED_SASL_MECHANISM (33) with one mechanism.
        let refused = [0, 33, 0, 0, 0, 1, 0, 5, b'P', b'L', b'A', b'I', b'N'];
        assert_eq!(
            parse_handshake(&refused),
            Ok((33, vec!["PLAIN".to_string()]))
        );
        for end in 0..body.len() {
            assert!(parse_handshake(&body[..end]).is_err(), "cut at {end}");
        }
        // A count no answer could hold.
        assert!(parse_handshake(&[0, 0, 0x7f, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn authenticate_answers() {
        // v0: error, null message, 3 bytes.
        let v0 = [0, 0, 0xff, 0xff, 0, 0, 0, 3, b'a', b'b', b'c'];
        let expected = AuthAnswer {
            error: 0,
            message: None,
            bytes: b"abc".to_vec(),
            session_lifetime_ms: 0,
        };
        assert_eq!(parse_authenticate(&v0, 0), Ok(expected.clone()));

        // v1: error 58 (SASL_AUTHENTICATION_FAILED), a message, no bytes, a lifetime.
        let mut v1 = vec![0, 58, 0, 4, b'n', b'o', b'p', b'e', 0, 0, 0, 0];
        v1.extend_from_slice(&3_600_000i64.to_be_bytes());
        let failed = AuthAnswer {
            error: 58,
            message: Some("nope".into()),
            bytes: Vec::new(),
            session_lifetime_ms: 3_600_000,
        };
        assert_eq!(parse_authenticate(&v1, 1), Ok(failed.clone()));

        // v2: compact nullable string (null = 0), compact bytes (length + 1), tagged fields.
        let mut v2 = vec![0, 0, 0, 4, b'a', b'b', b'c'];
        v2.extend_from_slice(&7i64.to_be_bytes());
        v2.extend_from_slice(&[1, 0, 1, 9]); // one tagged field: tag 0, 1 byte
        let flexible = AuthAnswer {
            session_lifetime_ms: 7,
            ..expected
        };
        assert_eq!(parse_authenticate(&v2, 2), Ok(flexible));
        let mut v2_failed = vec![0, 58, 5, b'n', b'o', b'p', b'e', 1];
        v2_failed.extend_from_slice(&3_600_000i64.to_be_bytes());
        v2_failed.push(0);
        assert_eq!(parse_authenticate(&v2_failed, 2), Ok(failed));

        for (body, version) in [(&v0[..], 0), (&v1[..], 1), (&v2[..], 2)] {
            for end in 0..body.len() {
                assert!(
                    parse_authenticate(&body[..end], version).is_err(),
                    "v{version} cut at {end}"
                );
            }
        }
        // Null SASL bytes, and a byte string longer than the answer.
        assert!(parse_authenticate(&[0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0).is_err());
        assert!(parse_authenticate(&[0, 0, 0xff, 0xff, 0x7f, 0, 0, 0], 0).is_err());
        assert!(
            parse_authenticate(&[0, 0, 0, 0], 2).is_err(),
            "null compact bytes"
        );
    }
}
