//! Security and the odd edges: key stores, TLS, secrets, config files, names and words.

use super::properties::{consume, no_tls, produce, PropsFile, UNKNOWN};
use super::*;

#[test]
fn java_stores_only_as_pem_and_no_key_passwords() {
    let jks = PropsFile::new("ssl.keystore.type=PKCS12\nssl.keystore.location=/k.p12\n");
    assert_eq!(
        consume(&["-F", jks.path()], &[]).unwrap_err(),
        format!(
            "{} line 1: ssl.keystore.type=PKCS12: only PEM stores are read: export the CA as \
             PEM for ssl.ca.location, and the client certificate and key for \
             ssl.certificate.location and ssl.key.location",
            jks.path()
        )
    );
    assert_eq!(
        produce(&["-X", "ssl.key.password=hunter2"], &[]).unwrap_err(),
        "-X ssl.key.password=****: encrypted private keys are not read: decrypt the key \
         (openssl pkcs8 -topk8 -nocrypt -in key.pem -out plain.pem) and leave this out"
    );
    assert_eq!(
        produce(&["-X", "ssl.truststore.password=hunter2"], &[]).unwrap_err(),
        "-X ssl.truststore.password=****: PEM stores have no password: leave it out"
    );

    // PEM stores, in any order and case, with the empty passwords tools write.
    let pem = PropsFile::new(
        "security.protocol=SSL\nssl.truststore.location=/etc/kafka/ca.pem\n\
         ssl.truststore.type=PEM\nssl.keystore.type=pem\n\
         ssl.keystore.location=/etc/kafka/client.pem\nssl.keystore.password=\n\
         ssl.truststore.password=\nssl.key.password=\n",
    );
    let p = pem.path();
    let in_file = format!("{p} line 1: security.protocol=SSL");
    let client = Some("/etc/kafka/client.pem");
    let ca = Some("/etc/kafka/ca.pem");
    expect_tls(&["-F", p], &[], &in_file, tls(ca, client, client, true));
    // ssl.ca.location by -X beats the file's truststore.
    let x_ca = ["-F", p, "-X", "ssl.ca.location=/x/ca.pem"];
    expect_tls(
        &x_ca,
        &[],
        &in_file,
        tls(Some("/x/ca.pem"), client, client, true),
    );
    let x_pem = [
        "-X",
        "ssl.truststore.location=/t.pem",
        "-X",
        "ssl.truststore.type=PEM",
        "--security-protocol",
        "SSL",
        "--ssl-key-location",
        "/k.pem",
    ];
    let flag = "--security-protocol SSL";
    expect_tls(
        &x_pem,
        &[],
        flag,
        tls(Some("/t.pem"), None, Some("/k.pem"), true),
    );
}

/// TLS settings as `Tls` holds them.
fn tls(ca: Option<&str>, certificate: Option<&str>, key: Option<&str>, verify: bool) -> Tls {
    Tls {
        ca: ca.map(PathBuf::from),
        certificate: certificate.map(PathBuf::from),
        key: key.map(PathBuf::from),
        verify_hostname: verify,
    }
}

/// In a TLS build, `argv` gives `expected` and no SASL; in one without, the error names
/// `protocol`, where SSL was asked for.
fn expect_tls(argv: &[&str], vars: &[(&str, &str)], protocol: &str, expected: Tls) {
    let outcome = consume(argv, vars).map(|c| c.connection.security);
    match cfg!(feature = "tls") {
        true => {
            let security = Security {
                tls: Some(expected),
                sasl: None,
            };
            assert_eq!(outcome, Ok(security), "{argv:?}")
        }
        false => assert_eq!(outcome, Err(no_tls(protocol)), "{argv:?}"),
    }
}

#[test]
fn ssl_builds_tls_only_in_the_tls_build_and_checks_hostnames_unless_told() {
    let ssl = "--security-protocol SSL";
    let none = tls(None, None, None, false);
    expect_tls(
        &["--security-protocol", "SSL"],
        &[],
        ssl,
        tls(None, None, None, true),
    );
    let off = [
        "--security-protocol",
        "SSL",
        "--ssl-endpoint-identification-algorithm",
        "none",
    ];
    expect_tls(&off, &[], ssl, none.clone());
    let x = [
        "-X",
        "security.protocol=SSL",
        "-X",
        "ssl.endpoint.identification.algorithm=",
    ];
    expect_tls(&x, &[], "-X security.protocol=SSL", none.clone());
    let var = [("KAFKA_SECURITY_PROTOCOL", "Ssl")];
    expect_tls(
        &[],
        &var,
        "KAFKA_SECURITY_PROTOCOL=Ssl",
        tls(None, None, None, true),
    );
    // An empty algorithm in a file means no check too, but a variable beats the file.
    let file = PropsFile::new("ssl.endpoint.identification.algorithm=\n");
    let f = ["-F", file.path(), "--security-protocol", "SSL"];
    expect_tls(&f, &[], ssl, none);
    let https = [("KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM", "https")];
    expect_tls(&f, &https, ssl, tls(None, None, None, true));
    let files = [
        "--security-protocol",
        "SSL",
        "--ssl-ca-location",
        "/ca.pem",
        "-X",
        "ssl.certificate.location=/c.pem",
    ];
    let key = [("KAFKA_SSL_KEY_LOCATION", "/k.pem")];
    expect_tls(
        &files,
        &key,
        ssl,
        tls(Some("/ca.pem"), Some("/c.pem"), Some("/k.pem"), true),
    );
}

#[test]
fn security_protocol_in_any_case() {
    let sasl = ["-X", "sasl.username=u", "-X", "sasl.password=p"];
    let login = Login {
        mechanism: Mechanism::Plain,
        username: "u".into(),
        password: "p".into(),
    };
    let argv = [&["-X", "security.protocol=sasl_ssl"][..], &sasl[..]].concat();
    match cfg!(feature = "tls") {
        true => assert_eq!(
            produce(&argv, &[]).map(|c| c.connection.security),
            Ok(Security {
                tls: Some(tls(None, None, None, true)),
                sasl: Some(login.clone()),
            })
        ),
        false => assert_eq!(
            produce(&argv, &[]).unwrap_err(),
            no_tls("-X security.protocol=sasl_ssl")
        ),
    }
    let argv = [&["--security-protocol", "Sasl_Plaintext"][..], &sasl[..]].concat();
    assert_eq!(
        produce(&argv, &[]).map(|c| c.connection.security),
        Ok(Security {
            tls: None,
            sasl: Some(login),
        })
    );
    assert_eq!(
        produce(&["-X", "security.protocol=TLS"], &[]).unwrap_err(),
        "-X security.protocol=TLS: must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    );
}

#[test]
fn secrets_never_show_in_messages_or_debug() {
    const SECRET: &str = "Hunter2-secret";
    let sasl = "security.protocol=SASL_PLAINTEXT\nsasl.username=u\n";
    let quiet = |outcome: Result<ProducerConfig, String>, expected: String| {
        let message = outcome.unwrap_err();
        assert!(!message.contains(SECRET), "{message}");
        assert_eq!(message, expected);
    };
    // Another setting wrong, in a file with the password.
    let file = PropsFile::new(&format!("sasl.password={SECRET}\nacks=2\n"));
    let f = file.path();
    quiet(
        produce(&["-F", f], &[]),
        format!("{f} line 2: acks=2: must be 0, 1, all or -1"),
    );
    // The password itself wrong, wherever it is given.
    let control = "must not contain control characters";
    let bad = format!("{SECRET}\u{7}");
    let sasl_flags = [
        "--security-protocol",
        "SASL_PLAINTEXT",
        "--sasl-username",
        "u",
    ];
    let argv = [&sasl_flags[..], &["--sasl-password", &bad]].concat();
    quiet(
        produce(&argv, &[]),
        format!("--sasl-password ****: {control}"),
    );
    let var = [("KAFKA_SASL_PASSWORD", bad.as_str())];
    quiet(
        produce(&sasl_flags, &var),
        format!("KAFKA_SASL_PASSWORD=****: {control}"),
    );
    let x = format!("sasl.password={bad}");
    quiet(
        produce(&[&sasl_flags[..], &["-X", &x]].concat(), &[]),
        format!("-X sasl.password=****: {control}"),
    );
    let file = PropsFile::new(&format!("{sasl}sasl.password={SECRET}\\t\n"));
    let f = file.path();
    quiet(
        produce(&["-F", f], &[]),
        format!("{f} line 3: sasl.password=****: {control}"),
    );
    let file = PropsFile::new(&format!(
        "{sasl}sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \
         required username=\"u\" password=\"{SECRET}\\t\";\n"
    ));
    let f = file.path();
    quiet(
        produce(&["-F", f], &[]),
        format!("{f} line 3: sasl.jaas.config=****: {control}"),
    );
    // A JAAS line that does not parse, and a key that looks secret.
    let file = PropsFile::new(&format!(
        "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \
         password=\"{SECRET}\n"
    ));
    let message = produce(&["-F", file.path()], &[]).unwrap_err();
    let prefix = format!("{} line 1: sasl.jaas.config=****: ", file.path());
    assert!(
        message.starts_with(&prefix) && !message.contains(SECRET),
        "{message}"
    );
    let x = format!("my.secret.token={SECRET}");
    quiet(
        produce(&["-X", &x], &[]),
        format!("-X my.secret.token=****: {UNKNOWN}"),
    );
    // A misspelled key hides its value too, and the message names the key meant.
    for (key, meant) in [
        ("sasl.pasword", "sasl.password"),
        ("sasl.passwd", "sasl.password"),
        ("sasl.usrname", "sasl.username"),
    ] {
        let x = format!("{key}={SECRET}");
        quiet(
            produce(&["-X", &x], &[]),
            format!(
                "-X {key}=****: {}",
                UNKNOWN.replacen(":", &format!(" (did you mean {meant}?):"), 1)
            ),
        );
    }

    // Nor in the Debug of what was parsed.
    let x = format!("sasl.password={SECRET}");
    let c = produce(&[&sasl_flags[..], &["-X", &x]].concat(), &[]).unwrap();
    assert_eq!(
        c.connection
            .security
            .sasl
            .as_ref()
            .map(|l| l.password.as_str()),
        Some(SECRET)
    );
    let debug = format!("{c:?}");
    assert!(
        debug.contains("username: \"u\"") && !debug.contains(SECRET),
        "{debug}"
    );
}

#[test]
fn a_config_file_that_cannot_be_read_or_parsed_is_named() {
    let missing = std::env::temp_dir().join("order-kafka-cfgtests-missing/client.properties");
    let missing = missing.to_str().expect("the temp path is UTF-8");
    let message = produce(&["--config", missing], &[]).unwrap_err();
    let prefix = format!("--config {}: cannot read it: ", shown(missing));
    assert!(message.starts_with(&prefix), "{message}");
    let message = consume(&[], &[("KAFKA_CONFIG", missing)]).unwrap_err();
    let prefix = format!("KAFKA_CONFIG={}: cannot read it: ", shown(missing));
    assert!(message.starts_with(&prefix), "{message}");
    // --help and --version read no file.
    let help = producer(args(&format!("-F {missing} --help")), env(&[]));
    assert!(matches!(help, Ok(Command::Help)), "{help:?}");
    let version = consumer(args("-V"), env(&[("KAFKA_CONFIG", missing)]));
    assert!(matches!(version, Ok(Command::Version)), "{version:?}");

    let file = PropsFile::new("acks=all\n\n# note\nclient.id=abc\\u12G4\n");
    assert_eq!(
        produce(&["-F", file.path()], &[]).unwrap_err(),
        format!(
            "{} line 4: malformed \\uXXXX escape (it needs four hex digits) in the value of \
             `client.id`",
            file.path()
        )
    );
    let file = PropsFile::new("client.id=a\\u00e9b\n");
    let c = produce(&["-F", file.path()], &[]).unwrap();
    assert_eq!(c.connection.client_id.as_deref(), Some("aéb"));
}

#[test]
fn auto_offset_reset_takes_java_and_librdkafka_names_in_any_case() {
    for (value, start) in [
        ("earliest", Start::Earliest),
        ("smallest", Start::Earliest),
        ("Beginning", Start::Earliest),
        ("LATEST", Start::Latest),
        ("largest", Start::Latest),
        ("end", Start::Latest),
    ] {
        let x = format!("auto.offset.reset={value}");
        assert_eq!(consume(&["-X", &x], &[]).unwrap().start, start, "{value}");
        assert_eq!(
            consume(&["--from", value], &[]).unwrap().start,
            start,
            "{value}"
        );
    }
    assert_eq!(
        consume(&["-X", "auto.offset.reset=none"], &[]).unwrap_err(),
        "-X auto.offset.reset=none: must be earliest, latest or an offset from 0 to \
         9223372036854775807"
    );
}

#[test]
fn a_client_id_is_at_most_what_the_protocol_encodes() {
    let longest = "i".repeat(32767);
    assert_eq!(
        produce(&["--client-id", &longest], &[])
            .unwrap()
            .connection
            .client_id
            .map(|id| id.len()),
        Some(32767)
    );
    let message = consume(&[], &[("KAFKA_CLIENT_ID", &format!("{longest}é"))]).unwrap_err();
    assert_eq!(
        message,
        format!(
            "KAFKA_CLIENT_ID=\"{}\"...: must be at most 32767 bytes (the longest string the \
             Kafka protocol encodes), got 32769",
            "i".repeat(40)
        )
    );
}

#[test]
fn lag_refuses_flags_of_a_reading_run_but_not_their_variables() {
    for (flag, value) in [("-n", "5"), ("--idle-timeout", "1"), ("--stats", "1")] {
        let message = consume(&["--lag", flag, value], &[]).unwrap_err();
        assert!(
            message.ends_with(": does not go with --lag (it prints the lag and exits)"),
            "{message}"
        );
    }
    // A variable set for the service's normal runs does not stop a look at the lag.
    let c = consume(&["--lag"], &[("KAFKA_IDLE_TIMEOUT", "5")]).unwrap();
    assert!(c.lag);
}

#[test]
fn every_word_of_a_choice_names_a_value() {
    fn words(setting: &Setting) -> &'static [&'static str] {
        match setting.rule {
            Rule::Choice(words) => words,
            other => panic!("--{} has the rule {other:?}", setting.long),
        }
    }
    for word in words(&ACKS) {
        assert!(acks(word).is_some(), "--acks {word}");
    }
    for word in words(&COMPRESSION) {
        assert_eq!(compression(word).map(Compression::name), Some(*word));
    }
    for word in words(&ISOLATION) {
        assert!(isolation(word).is_some(), "--isolation {word}");
    }
    for setting in [&PRODUCER_FORMAT, &CONSUMER_FORMAT] {
        for word in words(setting) {
            assert!(format(word).is_some(), "--format {word}");
        }
    }
}

#[test]
fn the_longest_backoff_and_the_dead_letter_wait_are_settings() {
    let c = producer_ok("--retry-backoff-max-ms 500", &[]);
    assert_eq!(c.connection.max_backoff, Duration::from_millis(500));
    let c = producer_ok("-X retry.backoff.max.ms=700", &[]);
    assert_eq!(c.connection.max_backoff, Duration::from_millis(700));
    let c = consumer_ok("", &[("KAFKA_RETRY_BACKOFF_MAX_MS", "0")]);
    assert_eq!(c.connection.max_backoff, Duration::ZERO);
    let options = c.connection.client_options("order-consumer", 1024, &[]);
    assert_eq!(options.retry.max_backoff, Duration::ZERO);
    assert_eq!(options.client_id, "order-consumer");

    let c = consumer_ok("--dlq-ack-timeout 2.5", &[]);
    assert_eq!(c.dlq_ack_timeout, Duration::from_millis(2500));
    let c = consumer_ok("", &[("KAFKA_DLQ_ACK_TIMEOUT", "5")]);
    assert_eq!(c.dlq_ack_timeout, Duration::from_secs(5));

    check_producer(&[(
        "--retry-backoff-max-ms 60001",
        &[],
        "--retry-backoff-max-ms 60001: must be from 0 to 60000",
    )]);
    check_consumer(&[
        (
            "",
            &[("KAFKA_DLQ_ACK_TIMEOUT", "3601")],
            "KAFKA_DLQ_ACK_TIMEOUT=3601: must be from 0 to 3600",
        ),
        (
            "--no-dlq --dlq-ack-timeout 3",
            &[],
            "--dlq-ack-timeout 3: does not go with --no-dlq",
        ),
        ("--no-dlq", &[("KAFKA_DLQ_ACK_TIMEOUT", "3")], "ok"),
    ]);
}
