//! The Schema Registry settings of both binaries, and the producer's serializer.

use crate::registry::{Endpoint, Kind, Settings};
use crate::Error;

use super::source::{usage, Resolver, Source};
use super::table::{
    Setting, AUTO_REGISTER, NO_AUTO_REGISTER, REGISTRY_CA, REGISTRY_USER_INFO, SCHEMA_REGISTRY,
    SERIALIZER,
};

/// How the producer writes each order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serializer {
    /// Plain JSON, as before the registry.
    Json,
    /// The registry's wire format around a payload of this kind.
    Registry(Kind),
}

impl Resolver<'_> {
    /// `--schema-registry` and its login and CA; `None` when no URL is given.
    pub(super) fn registry(&self) -> Result<Option<Settings>, Error> {
        let Some(mut given) = self.get(&SCHEMA_REGISTRY)? else {
            for setting in [&REGISTRY_USER_INFO, &REGISTRY_CA] {
                if let Some(given) = self.get(setting)? {
                    if given.source != Source::Default {
                        return Err(usage(&given, "needs --schema-registry URL"));
                    }
                }
            }
            return Ok(None);
        };
        // A URL with a login in it is refused, and not shown.
        given.secret = given.text.contains('@');
        if !cfg!(feature = "registry") {
            return Err(usage(&given, crate::registry::NO_REGISTRY));
        }
        let mut endpoints = Vec::new();
        for url in given.text.split(',').map(str::trim) {
            if url.is_empty() {
                return Err(usage(&given, "has an empty URL in its list"));
            }
            let endpoint = Endpoint::parse(url).map_err(|what| match given.secret {
                true => usage(&given, &what),
                false => usage(&given, &format!("{url} {what}")),
            })?;
            if endpoint.https && !cfg!(feature = "tls") {
                return Err(usage(
                    &given,
                    &format!("an https registry needs TLS: {}", crate::client::NO_TLS),
                ));
            }
            endpoints.push(endpoint);
        }
        let user_info = self.text(&REGISTRY_USER_INFO)?;
        if let Some(info) = &user_info {
            if !info.contains(':') {
                let given = self.given(&REGISTRY_USER_INFO)?;
                return Err(usage(&given, "must be USER:PASSWORD"));
            }
        }
        Ok(Some(Settings {
            endpoints,
            user_info,
            ca: self.path(&REGISTRY_CA)?,
        }))
    }

    /// `--serializer`; one that needs the registry without one is refused.
    pub(super) fn serializer(&self, registry: &Option<Settings>) -> Result<Serializer, Error> {
        let chosen = self.chosen(&SERIALIZER, |word| match word {
            "json" => Some(Serializer::Json),
            "json-schema" => Some(Serializer::Registry(Kind::JsonSchema)),
            "avro" => Some(Serializer::Registry(Kind::Avro)),
            _ => None,
        })?;
        if chosen != Serializer::Json && !cfg!(feature = "registry") {
            return Err(usage(
                &self.given(&SERIALIZER)?,
                crate::registry::NO_REGISTRY,
            ));
        }
        if chosen != Serializer::Json && registry.is_none() {
            return Err(usage(
                &self.given(&SERIALIZER)?,
                "needs --schema-registry URL (schema.registry.url): the wire format carries \
                 the id the registry gives the schema",
            ));
        }
        Ok(chosen)
    }

    /// `--auto-register` / `--no-auto-register` (the last one given wins), else
    /// `auto.register.schemas` or its variable, else on.
    pub(super) fn auto_register(&self) -> Result<bool, Error> {
        self.on_off(&AUTO_REGISTER, &NO_AUTO_REGISTER)
    }

    fn on_off(&self, on: &Setting, off: &Setting) -> Result<bool, Error> {
        let last = self
            .flags
            .iter()
            .rev()
            .find(|(s, _)| s.long == on.long || s.long == off.long);
        if let Some((s, _)) = last {
            return Ok(s.long == on.long);
        }
        let given = self.given(on)?;
        match given.text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(usage(&given, "must be true or false")),
        }
    }
}
