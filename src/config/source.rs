//! Where a value comes from, and how messages name it. Step one collects the flags as written;
//! step two resolves each setting from its source, flag first, else `-X` property, else
//! environment variable (unless empty), else the `--config` file, else its default, and checks it
//! against its rule. Every message names the source in one form, `<source> <value>: <what is
//! wrong>`: `--batch-size 0`, `KAFKA_BATCH_SIZE=0`, `-X acks=2`, `client.properties line 3:
//! acks=2`; a secret shows as `****`, and so does the value of a property no setting knows (it
//! may be a misspelt secret).

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use lexopt::prelude::*;

use crate::{properties, Error};

use super::table::{
    settings, Fallback, Rule, Section, Setting, CONFIG, CONSUMER, HELP, PRODUCER, PROPERTY,
    SASL_PASSWORD, SASL_USERNAME, SSL_ENDPOINT_IDENTIFICATION_ALGORITHM, VERSION,
};
use super::{lexopt_error, required, Start, MAX_CONFIG_BYTES};

/// A wait as cross-checks name it: its setting, what it is, its unit.
pub(super) type Wait = (&'static Setting, &'static str, &'static str);

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    Flag(&'static str),
    /// A Kafka client property from `-X` or a `--config` file, as written there.
    Property(Prop),
    Env(&'static str),
    Default,
}

/// A Kafka client property as given: `key` and `value` as written, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Prop {
    pub(super) key: String,
    pub(super) value: String,
    pub(super) origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Origin {
    X,
    File { path: String, line: usize },
}

impl fmt::Display for Prop {
    /// A value shows only under a key this program knows and that holds no secret: a misspelled
    /// key (`sasl.pasword`) may well hold one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = match properties::redacted(&self.key) || !known_key(&self.key) {
            true => "****".to_string(),
            false => shown(&self.value),
        };
        match &self.origin {
            Origin::X => write!(f, "-X {}={value}", self.key),
            Origin::File { path, line } => write!(f, "{path} line {line}: {}={value}", self.key),
        }
    }
}

/// A value with its source; shows as in messages: `--batch-size 0`, `KAFKA_BATCH_SIZE=0`,
/// `-X acks=2`, `client.properties line 3: acks=2`, `default 500`, or `--quiet` for a flag
/// without a value. A secret shows as `****`.
#[derive(Debug, Clone)]
pub(super) struct Given {
    pub(super) source: Source,
    pub(super) text: String,
    pub(super) secret: bool,
    /// Read from a property in milliseconds; `text` is in seconds.
    pub(super) millis: bool,
}

impl fmt::Display for Given {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = match self.secret {
            true => "****".to_string(),
            false => shown(&self.text),
        };
        match &self.source {
            // Empty flag values are refused, so an empty one is a flag that takes none.
            Source::Flag(long) if self.text.is_empty() => write!(f, "--{long}"),
            Source::Flag(long) => write!(f, "--{long} {shown}"),
            Source::Property(prop) if self.secret => match &prop.origin {
                Origin::X => write!(f, "-X {}=****", prop.key),
                Origin::File { path, line } => write!(f, "{path} line {line}: {}=****", prop.key),
            },
            Source::Property(prop) => write!(f, "{prop}"),
            Source::Env(name) => write!(f, "{name}={shown}"),
            Source::Default => write!(f, "default {shown}"),
        }
    }
}

/// A value as messages show it: as is when it is a short plain word, else quoted (and cut
/// short, so one bad value cannot flood the terminal).
pub(super) fn shown(text: &str) -> String {
    const SHOWN: usize = 40;
    let plain = |c: char| c.is_alphanumeric() || "._-:,+/@<>".contains(c);
    if !text.is_empty() && text.chars().count() <= SHOWN && text.chars().all(plain) {
        text.to_string()
    } else if text.chars().count() <= SHOWN {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(SHOWN).collect();
        format!("{head:?}...")
    }
}

pub(super) fn usage(given: &Given, what: &str) -> Error {
    Error::Usage(format!("{given}: {what}"))
}

pub(super) enum Collected<'e> {
    Flags(Resolver<'e>),
    Help,
    Version,
}

/// The flags as given, the properties, and the environment: resolves each setting on demand.
pub(super) struct Resolver<'e> {
    pub(super) table: &'static [Section],
    /// In command-line order; `None` for a flag without a value.
    pub(super) flags: Vec<(&'static Setting, Option<OsString>)>,
    pub(super) env: &'e dyn Fn(&str) -> Option<String>,
    /// `-X` properties, in order (the last one of a key wins).
    pub(super) x_props: Vec<Prop>,
    /// The `--config` file's properties, in order.
    pub(super) file_props: Vec<Prop>,
}

impl<'e> Resolver<'e> {
    /// Step one: the flags as written. Only unknown flags and missing values are errors here.
    pub(super) fn collect(
        table: &'static [Section],
        args: impl IntoIterator<Item = OsString>,
        env: &'e dyn Fn(&str) -> Option<String>,
    ) -> Result<Collected<'e>, Error> {
        let mut parser = lexopt::Parser::from_args(args);
        let mut flags = Vec::new();
        while let Some(arg) = parser.next().map_err(lexopt_error)? {
            let setting = match &arg {
                Short(c) => settings(table).find(|s| s.short == Some(*c)),
                Long(name) => settings(table).find(|s| s.long == *name),
                Value(_) => None,
            };
            let Some(setting) = setting else {
                return Err(lexopt_error(arg.unexpected()));
            };
            match setting.long {
                long if long == HELP.long => return Ok(Collected::Help),
                long if long == VERSION.long => return Ok(Collected::Version),
                _ => {}
            }
            let value = match setting.value {
                Some(_) => Some(parser.value().map_err(lexopt_error)?),
                None => None,
            };
            flags.push((setting, value));
        }
        let mut r = Resolver {
            table,
            flags,
            env,
            x_props: Vec::new(),
            file_props: Vec::new(),
        };
        r.x_props = r
            .flag_values(&PROPERTY)?
            .into_iter()
            .map(|given| match given.text.split_once('=') {
                Some((key, value)) if !key.trim().is_empty() => Ok(Prop {
                    key: key.trim().to_string(),
                    value: value.trim().to_string(),
                    origin: Origin::X,
                }),
                _ => {
                    // `-X sasl.passwd:...` may hold a password: only the key shows.
                    let key = given.text.split(['=', ':', ' ']).next().unwrap_or_default();
                    let rest = match key.len() < given.text.len() {
                        true => "...",
                        false => "",
                    };
                    let key = match properties::redacted(key) {
                        true => "****".to_string(),
                        false => shown(key),
                    };
                    Err(Error::Usage(format!(
                        "--property {key}{rest}: must be KEY=VALUE (a Kafka client property)"
                    )))
                }
            })
            .collect::<Result<_, _>>()?;
        r.file_props = r.read_config_file()?;
        Ok(Collected::Flags(r))
    }

    /// The `--config` file's properties, if one is given.
    pub(super) fn read_config_file(&self) -> Result<Vec<Prop>, Error> {
        let Some(given) = self.get(&CONFIG)? else {
            return Ok(Vec::new());
        };
        let mut bytes = Vec::new();
        std::fs::File::open(&given.text)
            .and_then(|file| file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| usage(&given, &format!("cannot read it: {e}")))?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(usage(
                &given,
                "larger than 1 MiB: not a client.properties file (is it the right path?)",
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| usage(&given, "cannot read it: stream did not contain valid UTF-8"))?;
        let parsed = properties::parse(&text)
            .map_err(|e| Error::Usage(format!("{} line {}: {}", given.text, e.line, e.what)))?;
        Ok(parsed
            .into_iter()
            .map(|p| Prop {
                key: p.key,
                value: p.value,
                origin: Origin::File {
                    path: given.text.clone(),
                    line: p.line,
                },
            })
            .collect())
    }

    /// The last property in `props` that sets `setting`.
    pub(super) fn property(&self, props: &[Prop], setting: &Setting) -> Option<Given> {
        if let Some(prop) = props
            .iter()
            .rev()
            .find(|p| setting.keys().any(|k| k == p.key))
        {
            return Some(Given {
                source: Source::Property(prop.clone()),
                text: prop.value.clone(),
                secret: setting.secret,
                millis: setting.property_ms,
            });
        }
        // sasl.jaas.config holds the user and password of a Java client's login.
        let option = match setting.long {
            long if long == SASL_USERNAME.long => "username",
            long if long == SASL_PASSWORD.long => "password",
            _ => return None,
        };
        let prop = props.iter().rev().find(|p| p.key == "sasl.jaas.config")?;
        let jaas = properties::parse_jaas(&prop.value).ok()?;
        Some(Given {
            source: Source::Property(prop.clone()),
            text: jaas.option(option)?.to_string(),
            secret: true,
            millis: false,
        })
    }

    /// Every setting asked for is one of this program's: the other program's rows are only
    /// ever read for their property names.
    fn in_table(&self, setting: &Setting) {
        debug_assert!(
            settings(self.table).any(|s| s.long == setting.long),
            "--{} is not in the table",
            setting.long
        );
    }

    pub(super) fn switch(&self, setting: &Setting) -> bool {
        self.flags.iter().any(|(s, _)| s.long == setting.long)
    }

    /// Every value given by flag to `setting`, in order.
    pub(super) fn flag_values(&self, setting: &Setting) -> Result<Vec<Given>, Error> {
        self.in_table(setting);
        let long = setting.long;
        let mut values = Vec::new();
        for (s, value) in &self.flags {
            if s.long != long {
                continue;
            }
            let source = Source::Flag(setting.long);
            let text = match value {
                None => String::new(),
                Some(os) => match os.to_str() {
                    Some("") => {
                        return Err(Error::Usage(format!(
                            "--{long} \"\": must not be empty (leave the flag out for the default)"
                        )))
                    }
                    Some(text) => text.to_string(),
                    None => {
                        return Err(Error::Usage(format!(
                            "--{long} {os:?}: must be valid UTF-8"
                        )))
                    }
                },
            };
            values.push(Given {
                source,
                text,
                secret: setting.secret,
                millis: false,
            });
        }
        Ok(values)
    }

    /// The last value given by flag, if any.
    pub(super) fn flag(&self, setting: &Setting) -> Result<Option<Given>, Error> {
        Ok(self.flag_values(setting)?.pop())
    }

    /// Step two: flag, else `-X` property, else environment variable (unless empty), else
    /// `--config` property, else default. An empty property counts as unset too, except where
    /// emptiness means something (`ssl.endpoint.identification.algorithm=`: no check).
    pub(super) fn get(&self, setting: &Setting) -> Result<Option<Given>, Error> {
        if let Some(mut given) = self.flag(setting)? {
            given.secret = setting.secret;
            return Ok(Some(given));
        }
        if let Some(given) = self.property_at(&self.x_props, setting)? {
            return Ok(Some(given));
        }
        if let Some(name) = setting.env {
            if let Some(text) = (self.env)(name).filter(|v| !v.is_empty()) {
                return Ok(Some(Given {
                    source: Source::Env(name),
                    text,
                    secret: setting.secret,
                    millis: false,
                }));
            }
        }
        if let Some(given) = self.property_at(&self.file_props, setting)? {
            return Ok(Some(given));
        }
        Ok(match setting.default {
            Fallback::Value(text) => Some(Given {
                source: Source::Default,
                text: text.to_string(),
                secret: false,
                millis: false,
            }),
            Fallback::Absent(_) => None,
        })
    }

    /// A property's value in the flag's terms: milliseconds become seconds, an empty
    /// `ssl.endpoint.identification.algorithm` becomes `none`.
    pub(super) fn property_at(
        &self,
        props: &[Prop],
        setting: &Setting,
    ) -> Result<Option<Given>, Error> {
        let Some(mut given) = self.property(props, setting) else {
            return Ok(None);
        };
        if given.text.is_empty() {
            return Ok(match setting.long {
                long if long == SSL_ENDPOINT_IDENTIFICATION_ALGORITHM.long => Some(Given {
                    text: "none".into(),
                    ..given
                }),
                _ => None,
            });
        }
        if given.millis {
            let ms: u64 = given
                .text
                .trim()
                .parse()
                .map_err(|_| usage(&given, "must be a whole number of milliseconds"))?;
            given.text = (ms as f64 / 1000.0).to_string();
        }
        Ok(Some(given))
    }

    /// Like `get`, for a setting that has a default.
    pub(super) fn given(&self, setting: &Setting) -> Result<Given, Error> {
        Ok(required(self.get(setting)?))
    }

    /// Checks the value of `setting` against its rule with `check`.
    pub(super) fn checked<T>(
        &self,
        setting: &Setting,
        check: impl Fn(&Rule, &str) -> Result<T, String>,
    ) -> Result<Option<T>, Error> {
        let rule = setting.rule;
        match self.get(setting)? {
            Some(given) => check(&rule, &given.text).map(Some).map_err(|what| {
                let what = match (given.millis, rule) {
                    (true, Rule::Decimal { min, max }) => format!(
                        "must be from {} to {} (milliseconds)",
                        min * 1000.0,
                        max * 1000.0
                    ),
                    _ => what,
                };
                usage(&given, &what)
            }),
            None => Ok(None),
        }
    }

    /// A text setting: not empty, no control characters.
    pub(super) fn text(&self, setting: &Setting) -> Result<Option<String>, Error> {
        match self.get(setting)? {
            Some(given) if given.text.chars().any(char::is_control) => {
                Err(usage(&given, "must not contain control characters"))
            }
            Some(given) => Ok(Some(given.text)),
            None => Ok(None),
        }
    }

    pub(super) fn path(&self, setting: &Setting) -> Result<Option<PathBuf>, Error> {
        Ok(self.text(setting)?.map(PathBuf::from))
    }

    pub(super) fn int<T: TryFrom<u64>>(&self, setting: &Setting) -> Result<Option<T>, Error> {
        self.checked(setting, whole)
    }

    /// Every value given to a repeatable flag.
    pub(super) fn all_ints<T: TryFrom<u64>>(&self, setting: &Setting) -> Result<Vec<T>, Error> {
        let rule = setting.rule;
        self.flag_values(setting)?
            .iter()
            .map(|given| whole(&rule, &given.text).map_err(|what| usage(given, &what)))
            .collect()
    }

    pub(super) fn decimal(&self, setting: &Setting) -> Result<Option<f64>, Error> {
        self.checked(setting, decimal)
    }

    pub(super) fn secs(&self, setting: &Setting) -> Result<Option<Duration>, Error> {
        Ok(self.decimal(setting)?.map(Duration::from_secs_f64))
    }

    pub(super) fn millis(&self, setting: &Setting) -> Result<Option<Duration>, Error> {
        Ok(self.int(setting)?.map(Duration::from_millis))
    }

    pub(super) fn choice(&self, setting: &Setting) -> Result<Option<&'static str>, Error> {
        self.checked(setting, choice)
    }

    /// The value a choice names: `parse` maps each word of the setting's rule to its value (a
    /// word it does not know is refused as one outside the rule).
    pub(super) fn chosen<T>(
        &self,
        setting: &Setting,
        parse: fn(&str) -> Option<T>,
    ) -> Result<T, Error> {
        let value = self.checked(setting, |rule, text| {
            choice(rule, text).and_then(|word| {
                parse(word).ok_or_else(|| format!("must be {}", rule.range().unwrap_or_default()))
            })
        })?;
        Ok(required(value))
    }

    pub(super) fn start(&self, setting: &Setting) -> Result<Option<Start>, Error> {
        // Java's names and librdkafka's (smallest, beginning; largest, end), in any case.
        self.checked(setting, |rule, text| {
            match text.trim().to_ascii_lowercase().as_str() {
                "earliest" | "smallest" | "beginning" => Ok(Start::Earliest),
                "latest" | "largest" | "end" => Ok(Start::Latest),
                offset => match offset.parse::<i64>() {
                    Ok(o) if o >= 0 => Ok(Start::Offset(o)),
                    _ => Err(format!("must be {}", rule.range().unwrap_or_default())),
                },
            }
        })
    }
}

/// A whole number within an `Int` rule's range.
pub(super) fn whole<T: TryFrom<u64>>(rule: &Rule, text: &str) -> Result<T, String> {
    let Rule::Int { min, max } = *rule else {
        unreachable!("a whole number setting has an Int rule")
    };
    let text = text.trim();
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let is_number = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => {
            T::try_from(n).map_err(|_| format!("must be from {min} to {max}"))
        }
        _ if is_number => Err(format!("must be from {min} to {max}")),
        _ => Err(format!("must be a whole number from {min} to {max}")),
    }
}

/// A number, decimals allowed, within a `Decimal` rule's range.
pub(super) fn decimal(rule: &Rule, text: &str) -> Result<f64, String> {
    let Rule::Decimal { min, max } = *rule else {
        unreachable!("a decimal setting has a Decimal rule")
    };
    match text.trim().parse::<f64>() {
        Ok(x) if x >= min && x <= max => Ok(x),
        Ok(_) => Err(format!("must be from {min} to {max}")),
        Err(_) => Err(format!("must be a number from {min} to {max}")),
    }
}

pub(super) fn choice(rule: &Rule, text: &str) -> Result<&'static str, String> {
    let Rule::Choice(words) = *rule else {
        unreachable!("a choice setting has a Choice rule")
    };
    // Any case, as the Java client takes security.protocol and librdkafka writes it.
    words
        .iter()
        .find(|w| w.eq_ignore_ascii_case(text.trim()))
        .copied()
        .ok_or_else(|| format!("must be {}", rule.range().unwrap_or_default()))
}

/// Keys whose values may show in messages: the properties of either program's settings, and
/// those `check_property` reads for their value. Any other key may be a misspelled secret.
pub(super) fn known_key(key: &str) -> bool {
    const READ_FOR_THEIR_VALUE: &[&str] = &[
        "sasl.jaas.config",
        "ssl.truststore.type",
        "ssl.keystore.type",
        "ssl.truststore.location",
        "ssl.keystore.location",
        "client.dns.lookup",
    ];
    READ_FOR_THEIR_VALUE.contains(&key)
        || settings(PRODUCER)
            .chain(settings(CONSUMER))
            .any(|s| s.keys().any(|k| k == key))
}
