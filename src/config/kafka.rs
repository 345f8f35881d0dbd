//! Kafka client properties, JAAS and logins: each property given is checked (one of this
//! program's, one of the other's, one handled here, or an error naming the nearest known key),
//! and `security.protocol` is resolved with what it needs: TLS files, a SASL login from flags,
//! properties or `sasl.jaas.config`. Which keys set which setting is row data (`Setting::keys`).

use crate::client::{Login, Mechanism, Security, Tls};
use crate::properties::Jaas;
use crate::{properties, Error};

use super::required;
use super::source::{usage, Prop, Resolver};
use super::table::{
    settings, Setting, CONSUMER, PRODUCER, SASL_MECHANISM, SASL_PASSWORD, SASL_USERNAME,
    SECURITY_PROTOCOL, SSL_CA_LOCATION, SSL_CERTIFICATE_LOCATION,
    SSL_ENDPOINT_IDENTIFICATION_ALGORITHM, SSL_KEY_LOCATION,
};

impl Resolver<'_> {
    /// Every property given, by `-X` or in the `--config` file, checked by `check_property`.
    pub(super) fn check_properties(&self) -> Result<(), Error> {
        for prop in self.x_props.iter().chain(&self.file_props) {
            self.check_property(prop)?;
        }
        Ok(())
    }

    /// Every property must be one this program reads, one the other program reads (a shared
    /// client.properties), or one handled here; anything else is an error that says what to do.
    pub(super) fn check_property(&self, prop: &Prop) -> Result<(), Error> {
        let key = prop.key.as_str();
        let pem = |type_key: &str| {
            (self.x_props.iter().chain(&self.file_props))
                .rfind(|p| p.key == type_key)
                .is_some_and(|p| p.value.eq_ignore_ascii_case("PEM"))
        };
        let store = match key {
            "ssl.truststore.location" => Some(pem("ssl.truststore.type")),
            "ssl.keystore.location" => Some(pem("ssl.keystore.type")),
            _ => None,
        };
        // A JKS or PKCS12 store location is refused below, whichever program reads it.
        if store != Some(false) {
            if settings(self.table).any(|s| s.keys().any(|k| k == key)) {
                return Ok(());
            }
            if settings(PRODUCER)
                .chain(settings(CONSUMER))
                .any(|s| s.keys().any(|k| k == key))
            {
                log::debug!("{prop}: a setting of the other program; ignored");
                return Ok(());
            }
        }
        let fault = match key {
            "sasl.jaas.config" => match properties::parse_jaas(&prop.value) {
                Ok(jaas) => match jaas_mechanisms(&jaas) {
                    Some(_) => return Ok(()),
                    None => format!(
                        "login module {} is not supported: use \
                         org.apache.kafka.common.security.plain.PlainLoginModule (PLAIN) or \
                         org.apache.kafka.common.security.scram.ScramLoginModule (SCRAM)",
                        jaas.module
                    ),
                },
                Err(e) => e,
            },
            "ssl.truststore.type" | "ssl.keystore.type"
                if prop.value.eq_ignore_ascii_case("PEM") =>
            {
                return Ok(())
            }
            "ssl.truststore.type" | "ssl.keystore.type" => {
                "only PEM stores are read: export the CA as PEM for ssl.ca.location, and the \
                 client certificate and key for ssl.certificate.location and ssl.key.location"
                    .into()
            }
            "ssl.truststore.location" => "a JKS or PKCS12 truststore is not read: export its CA \
                 as PEM (keytool -exportcert -rfc -keystore FILE -alias ALIAS > ca.pem) and give \
                 ssl.ca.location=ca.pem, or ssl.truststore.type=PEM if the file is PEM already"
                .into(),
            "ssl.keystore.location" => "a JKS or PKCS12 keystore is not read: export its \
                 certificate and key as PEM (openssl pkcs12 -in FILE -nodes) and give \
                 ssl.certificate.location and ssl.key.location, or ssl.keystore.type=PEM"
                .into(),
            // A PEM store has no password; an empty one is what tools write by default.
            "ssl.truststore.password" | "ssl.keystore.password" | "ssl.key.password"
                if prop.value.is_empty() =>
            {
                return Ok(())
            }
            "ssl.truststore.password" | "ssl.keystore.password" => {
                "PEM stores have no password: leave it out".into()
            }
            "ssl.key.password" => "encrypted private keys are not read: decrypt the key \
                 (openssl pkcs8 -topk8 -nocrypt -in key.pem -out plain.pem) and leave this out"
                .into(),
            // What this client does anyway: it tries every address a name resolves to.
            "client.dns.lookup" if prop.value == "use_all_dns_ips" => return Ok(()),
            _ if key.starts_with("sasl.kerberos.")
                || key.starts_with("sasl.oauthbearer.")
                || key.starts_with("sasl.login.") =>
            {
                "Kerberos (GSSAPI) and OAUTHBEARER are not supported: use sasl.mechanism PLAIN, \
                 SCRAM-SHA-256 or SCRAM-SHA-512"
                    .into()
            }
            _ => format!(
                "not a property this program reads{}: --help lists each one beside its flag \
                 ([property: ...]); the value of an unknown key is never shown",
                match nearest_key(key) {
                    Some(meant) => format!(" (did you mean {meant}?)"),
                    None => String::new(),
                }
            ),
        };
        Err(Error::Usage(format!("{prop}: {fault}")))
    }
}

impl Resolver<'_> {
    /// The login module of the `sasl.jaas.config` in use, if any.
    pub(super) fn jaas(&self) -> Option<(Prop, Jaas)> {
        [&self.x_props, &self.file_props]
            .into_iter()
            .find_map(|props| {
                let prop = props.iter().rev().find(|p| p.key == "sasl.jaas.config")?;
                Some((prop.clone(), properties::parse_jaas(&prop.value).ok()?))
            })
    }
}

impl Resolver<'_> {
    /// security.protocol and what it needs: TLS settings, a SASL login.
    pub(super) fn security(&self) -> Result<Security, Error> {
        let protocol_given = self.given(&SECURITY_PROTOCOL)?;
        let protocol = required(self.choice(&SECURITY_PROTOCOL)?);
        let tls = matches!(protocol, "SSL" | "SASL_SSL");
        if tls && !cfg!(feature = "tls") {
            return Err(usage(&protocol_given, crate::client::NO_TLS));
        }
        let tls = match tls {
            true => Some(Tls {
                ca: self.path(&SSL_CA_LOCATION)?,
                certificate: self.path(&SSL_CERTIFICATE_LOCATION)?,
                key: self.path(&SSL_KEY_LOCATION)?,
                verify_hostname: required(self.choice(&SSL_ENDPOINT_IDENTIFICATION_ALGORITHM)?)
                    == "https",
            }),
            false => None,
        };
        let sasl = match protocol {
            "SASL_PLAINTEXT" | "SASL_SSL" => Some(self.login(protocol)?),
            _ => None,
        };
        Ok(Security { tls, sasl })
    }

    pub(super) fn login(&self, protocol: &str) -> Result<Login, Error> {
        let given = self.given(&SASL_MECHANISM)?;
        if matches!(
            given.text.trim().to_ascii_uppercase().as_str(),
            "GSSAPI" | "OAUTHBEARER"
        ) {
            return Err(usage(
                &given,
                "Kerberos (GSSAPI) and OAUTHBEARER are not supported: use PLAIN, SCRAM-SHA-256 \
                 or SCRAM-SHA-512",
            ));
        }
        let name = required(self.choice(&SASL_MECHANISM)?);
        let mechanism = Mechanism::parse(name).expect("every choice is a mechanism");
        if mechanism != Mechanism::Plain && !cfg!(feature = "scram") {
            return Err(usage(&given, crate::client::NO_SCRAM));
        }
        if let Some((prop, jaas)) = self.jaas() {
            let fits = jaas_mechanisms(&jaas).is_some_and(|m| m.contains(&mechanism));
            if !fits {
                return Err(usage(
                    &given,
                    &format!(
                        "does not go with the login module of {prop} ({}): PlainLoginModule \
                         logs in with PLAIN, ScramLoginModule with SCRAM-SHA-256 or SCRAM-SHA-512",
                        jaas.module
                    ),
                ));
            }
        }
        let needed = |what: &str, long: &str, env: &str, property: &str| {
            Error::Usage(format!(
                "security.protocol {protocol} needs a SASL {what}: give --{long}, {env}, \
                 -X {property}=... or sasl.jaas.config in a --config file"
            ))
        };
        let username = self.text(&SASL_USERNAME)?.ok_or_else(|| {
            needed(
                "user",
                "sasl-username",
                "KAFKA_SASL_USERNAME",
                "sasl.username",
            )
        })?;
        let password = self.text(&SASL_PASSWORD)?.ok_or_else(|| {
            needed(
                "password",
                "sasl-password",
                "KAFKA_SASL_PASSWORD",
                "sasl.password",
            )
        })?;
        Ok(Login {
            mechanism,
            username,
            password,
        })
    }
}

/// The known property nearest to a misspelled `key`: at most two edits away (a letter left out,
/// added, changed), compared without case.
pub(super) fn nearest_key(key: &str) -> Option<&'static str> {
    let key = key.to_ascii_lowercase();
    settings(PRODUCER)
        .chain(settings(CONSUMER))
        .flat_map(Setting::keys)
        .map(|k| (edit_distance(&key, k), k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, by bytes (property names are ASCII).
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The mechanisms a `sasl.jaas.config` login module logs in with; `None` for other modules.
pub(super) fn jaas_mechanisms(jaas: &Jaas) -> Option<&'static [Mechanism]> {
    match jaas.module.rsplit('.').next() {
        Some("PlainLoginModule") => Some(&[Mechanism::Plain]),
        Some("ScramLoginModule") => Some(&[Mechanism::ScramSha256, Mechanism::ScramSha512]),
        _ => None,
    }
}
