//! The Schema Registry settings and the serializer.

use super::properties::{consume, produce};
use super::*;
#[cfg(feature = "registry")]
use crate::registry::{Endpoint, Kind};

#[cfg(feature = "registry")]
#[test]
fn the_serializer_needs_a_registry_and_names_its_urls() {
    let p = produce(&[], &[]).unwrap();
    assert_eq!(
        (p.serializer, p.auto_register, p.registry),
        (Serializer::Json, true, None)
    );

    let p = produce(
        &[
            "--serializer",
            "avro",
            "--schema-registry",
            "http://a:1/apis/ccompat/v7, HTTP://b/",
        ],
        &[("KAFKA_SCHEMA_REGISTRY_USER_INFO", "u:hunter2")],
    )
    .unwrap();
    assert_eq!(p.serializer, Serializer::Registry(Kind::Avro));
    let registry = p.registry.unwrap();
    assert_eq!(
        registry.endpoints,
        [
            Endpoint::parse("http://a:1/apis/ccompat/v7").unwrap(),
            Endpoint::parse("http://b:80").unwrap()
        ]
    );
    assert_eq!(registry.user_info.as_deref(), Some("u:hunter2"));

    let p = produce(
        &[
            "-X",
            "value.serializer=json-schema",
            "-X",
            "schema.registry.url=http://r:8081",
        ],
        &[("KAFKA_AUTO_REGISTER_SCHEMAS", "false")],
    )
    .unwrap();
    assert_eq!(
        (p.serializer, p.auto_register),
        (Serializer::Registry(Kind::JsonSchema), false)
    );
    // The last of the two switches wins over the variable.
    let last = |argv: &[&str]| {
        let mut all = vec!["--schema-registry", "http://r"];
        all.extend_from_slice(argv);
        produce(&all, &[("KAFKA_AUTO_REGISTER_SCHEMAS", "false")])
            .unwrap()
            .auto_register
    };
    assert!(last(&["--no-auto-register", "--auto-register"]));
    assert!(!last(&["--auto-register", "--no-auto-register"]));

    assert_eq!(
        produce(&["--serializer", "avro"], &[]).unwrap_err(),
        "--serializer avro: needs --schema-registry URL (schema.registry.url): the wire format \
         carries the id the registry gives the schema"
    );
    assert_eq!(
        produce(&["--serializer", "protobuf"], &[]).unwrap_err(),
        "--serializer protobuf: must be json, json-schema or avro"
    );
}

#[cfg(feature = "registry")]
#[test]
fn bad_registry_settings_are_named_and_logins_never_shown() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--schema-registry", "registry:8081"],
            "--schema-registry registry:8081: registry:8081 must start with http:// or https://",
        ),
        (
            &["--schema-registry", "http://a:1,"],
            "--schema-registry http://a:1,: has an empty URL in its list",
        ),
        (
            &["--schema-registry", "http://u:hunter2@a:1"],
            "--schema-registry ****: holds a login: give it with --registry-user-info \
             (basic.auth.user.info), which is never printed",
        ),
        (
            &["-X", "schema.registry.url=http://u:hunter2@a:1"],
            "-X schema.registry.url=****: holds a login: give it with --registry-user-info \
             (basic.auth.user.info), which is never printed",
        ),
        (
            &[
                "--schema-registry",
                "http://a",
                "--registry-user-info",
                "hunter2",
            ],
            "--registry-user-info ****: must be USER:PASSWORD",
        ),
        (
            &["-X", "basic.auth.user.info=u:hunter2"],
            "-X basic.auth.user.info=****: needs --schema-registry URL",
        ),
        (
            &["--registry-ca", "/ca.pem"],
            "--registry-ca /ca.pem: needs --schema-registry URL",
        ),
    ];
    for (argv, message) in cases {
        for parsed in [
            produce(argv, &[]).map(|_| ()),
            consume(argv, &[]).map(|_| ()),
        ] {
            let e = parsed.unwrap_err();
            assert_eq!(&e, message, "{argv:?}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
    let https = consume(&["--schema-registry", "https://r"], &[]);
    match cfg!(feature = "tls") {
        true => assert!(https.unwrap().registry.is_some()),
        false => assert_eq!(
            https.unwrap_err(),
            format!(
                "--schema-registry https://r: an https registry needs TLS: {}",
                crate::client::NO_TLS
            )
        ),
    }
}

#[cfg(not(feature = "registry"))]
#[test]
fn a_build_without_the_registry_says_which_build_has_it() {
    let no = crate::registry::NO_REGISTRY;
    assert_eq!(
        produce(&["--schema-registry", "http://r:8081"], &[]).unwrap_err(),
        format!("--schema-registry http://r:8081: {no}")
    );
    assert_eq!(
        consume(&["-X", "schema.registry.url=http://r:8081"], &[]).unwrap_err(),
        format!("-X schema.registry.url=http://r:8081: {no}")
    );
    assert_eq!(
        produce(&["--serializer", "avro"], &[]).unwrap_err(),
        format!("--serializer avro: {no}")
    );
    assert_eq!(
        produce(&["--serializer", "json"], &[]).unwrap().serializer,
        Serializer::Json
    );
}
