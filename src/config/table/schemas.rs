//! The rows of the Schema Registry settings (the `Schemas` section of both binaries).

use super::{flag, Rule, Setting};

pub const SERIALIZER: Setting = flag("serializer")
    .value("FORMAT", Rule::Choice(&["json", "json-schema", "avro"]))
    .env("KAFKA_SERIALIZER")
    .property("value.serializer")
    .default("json")
    .help("plain JSON, or JSON Schema or Avro in the Schema Registry wire format");

pub const SCHEMA_REGISTRY: Setting = flag("schema-registry")
    .value("URL", Rule::Text)
    .env("KAFKA_SCHEMA_REGISTRY")
    .property("schema.registry.url")
    .when_unset("none")
    .help("Schema Registry API URLs, comma-separated, tried in order (Apicurio: .../ccompat/v7)");

pub const AUTO_REGISTER: Setting = Setting {
    rule: Rule::Bool,
    ..flag("auto-register")
        .env("KAFKA_AUTO_REGISTER_SCHEMAS")
        .property("auto.register.schemas")
        .default("true")
        .help("register the order schema under the subject <topic>-value on first use")
};

pub const NO_AUTO_REGISTER: Setting =
    flag("no-auto-register").help("look the schema up instead; fail when it is not there");

pub const REGISTRY_USER_INFO: Setting = flag("registry-user-info")
    .value("USER:PASSWORD", Rule::Text)
    .env("KAFKA_SCHEMA_REGISTRY_USER_INFO")
    .property("basic.auth.user.info")
    .aliases(&["schema.registry.basic.auth.user.info"])
    .secret()
    .help("HTTP basic login for the Schema Registry; a flag shows in ps, a variable does not");

pub const REGISTRY_CA: Setting = flag("registry-ca")
    .value("FILE", Rule::Path)
    .env("KAFKA_SCHEMA_REGISTRY_CA")
    .property("schema.registry.ssl.ca.location")
    .when_unset("the system's CA bundle")
    .help("the CAs (PEM) that sign an https registry's certificate");
