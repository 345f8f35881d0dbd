//! What a row of the settings table is: a [`Setting`] (built with [`flag`] and its methods),
//! its [`Fallback`] and [`Rule`], and the [`Section`]s the help groups rows under.

use crate::order;

use super::{MAX_GROUP_CHARS, MAX_TOPIC_CHARS};

/// One setting: everything the parser and the help text know about it. Built with [`flag`] and
/// the methods below, one row per setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The flag without its dashes.
    pub long: &'static str,
    pub short: Option<char>,
    /// The value's name in the help (`N`, `SECS`); `None` for a flag without a value.
    pub value: Option<&'static str>,
    pub env: Option<&'static str>,
    pub default: Fallback,
    pub rule: Rule,
    /// One line of help, without the range (which comes from `rule`).
    pub help: &'static str,
    /// The Kafka client property (Java and librdkafka name) that sets it in `--config` files
    /// and `-X`.
    pub property: Option<&'static str>,
    /// Other property names that set it too: librdkafka's where they differ from Java's, and a
    /// Java store location that stands for a PEM file (`ssl.truststore.type=PEM`).
    pub aliases: &'static [&'static str],
    /// The property is in milliseconds where the flag is in seconds (`session.timeout.ms`).
    pub property_ms: bool,
    /// The value is a secret: messages show `****` in its place.
    pub secret: bool,
}

/// A block of settings under one title in the help.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    pub title: &'static str,
    pub settings: &'static [Setting],
}

/// What a setting is when neither its flag nor its environment variable gives it.
#[derive(Debug, Clone, Copy)]
pub enum Fallback {
    /// This text, checked by the same rule as a value given by flag.
    Value(&'static str),
    /// No value; the text says what that means (shown in the help unless empty).
    Absent(&'static str),
}

/// What a value must look like.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// A flag without a value.
    Switch,
    /// A flag without a value whose environment variable is `true` or `false`.
    Bool,
    /// A whole number from `min` to `max`.
    Int { min: u64, max: u64 },
    /// A number, decimals allowed, from `min` to `max`.
    Decimal { min: f64, max: f64 },
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A Kafka topic name.
    Topic,
    /// A consumer group name.
    Group,
    /// `host:port[,host:port...]`.
    Brokers,
    /// `earliest`, `latest` or an offset.
    Start,
    /// The user or item of an order (the order's own rule).
    OrderText,
    /// A file path.
    Path,
    /// Any text without control characters (a user name, a password, a client id).
    Text,
    /// `KEY=VALUE`, a Kafka client property.
    Property,
}

impl Rule {
    pub(super) const fn int(min: u64, max: u64) -> Rule {
        Rule::Int { min, max }
    }

    pub(super) const fn decimal(min: f64, max: f64) -> Rule {
        Rule::Decimal { min, max }
    }

    /// The range or the choices, as the help states them.
    pub(super) fn range(&self) -> Option<String> {
        match self {
            Rule::Switch | Rule::Brokers | Rule::Path | Rule::Text | Rule::Property => None,
            Rule::Bool => Some("true or false".into()),
            Rule::Int { min, max } => Some(format!("{min} to {max}")),
            Rule::Decimal { min, max } => Some(format!("{min} to {max}")),
            Rule::Choice(words) => Some(match words.split_last() {
                Some((last, [])) => last.to_string(),
                Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                None => String::new(),
            }),
            Rule::Topic => Some(format!("1 to {MAX_TOPIC_CHARS} of a-z A-Z 0-9 . _ -")),
            Rule::Group => Some(format!("1 to {MAX_GROUP_CHARS} characters")),
            Rule::Start => Some(format!(
                "earliest, latest or an offset from 0 to {}",
                i64::MAX
            )),
            Rule::OrderText => Some(format!("1 to {} characters", order::MAX_TEXT_CHARS)),
        }
    }
}

/// A flag without a value, variable or default: the start of every row.
pub(super) const fn flag(long: &'static str) -> Setting {
    Setting {
        long,
        short: None,
        value: None,
        env: None,
        default: Fallback::Absent(""),
        rule: Rule::Switch,
        help: "",
        property: None,
        aliases: &[],
        property_ms: false,
        secret: false,
    }
}

impl Setting {
    pub(super) const fn short(self, c: char) -> Setting {
        Setting {
            short: Some(c),
            ..self
        }
    }

    /// Takes a value, checked by `rule`.
    pub(super) const fn value(self, name: &'static str, rule: Rule) -> Setting {
        Setting {
            value: Some(name),
            rule,
            ..self
        }
    }

    pub(super) const fn env(self, name: &'static str) -> Setting {
        Setting {
            env: Some(name),
            ..self
        }
    }

    pub(super) const fn default(self, text: &'static str) -> Setting {
        Setting {
            default: Fallback::Value(text),
            ..self
        }
    }

    /// No default value; `meaning` says what happens without one.
    pub(super) const fn when_unset(self, meaning: &'static str) -> Setting {
        Setting {
            default: Fallback::Absent(meaning),
            ..self
        }
    }

    pub(super) const fn help(self, text: &'static str) -> Setting {
        Setting { help: text, ..self }
    }

    /// Also set by this Kafka client property.
    pub(super) const fn property(self, name: &'static str) -> Setting {
        Setting {
            property: Some(name),
            ..self
        }
    }

    /// Also set by these other property names.
    pub(super) const fn aliases(self, names: &'static [&'static str]) -> Setting {
        Setting {
            aliases: names,
            ..self
        }
    }

    /// Every property name that sets it: its own, then its aliases.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> {
        self.property
            .into_iter()
            .chain(self.aliases.iter().copied())
    }

    /// Also set by this Kafka client property, given in milliseconds.
    pub(super) const fn property_ms(self, name: &'static str) -> Setting {
        Setting {
            property: Some(name),
            property_ms: true,
            ..self
        }
    }

    pub(super) const fn secret(self) -> Setting {
        Setting {
            secret: true,
            ..self
        }
    }
}
