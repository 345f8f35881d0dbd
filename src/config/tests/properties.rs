//! Properties, -X and the environment against flags: precedence, units, JAAS, quoting.

use super::*;

#[test]
fn values_in_messages_are_quoted_when_not_plain_and_cut_when_long() {
    let cases = [
        ("500", "500"),
        ("a:1,b:2", "a:1,b:2"),
        ("", r#""""#),
        ("a b", r#""a b""#),
        ("tab\t", r#""tab\t""#),
        ("quote\"", r#""quote\"""#),
    ];
    for (text, expected) in cases {
        assert_eq!(shown(text), expected);
    }
    assert_eq!(shown(&"x".repeat(41)), format!("{:?}...", "x".repeat(40)));
}

/// A client.properties file in the temp directory, removed when dropped.
pub(super) struct PropsFile(PathBuf);

impl PropsFile {
    pub(super) fn new(text: &str) -> PropsFile {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("order-kafka-cfgtests-{}-{n}.properties", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, text).expect("temp file written");
        PropsFile(path)
    }

    pub(super) fn path(&self) -> &str {
        self.0.to_str().expect("the temp path is UTF-8")
    }
}

impl Drop for PropsFile {
    fn drop(&mut self) {
        // A file left in the temp directory harms no test: each has its own name.
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Parses `argv` (each word whole, spaces and all) with `parse`: the config, or the message
/// of the usage error.
fn parse_words<T: fmt::Debug>(
    parse: fn(Vec<OsString>, &Env<'_>) -> Result<Command<T>, Error>,
    argv: &[&str],
    vars: &[(&str, &str)],
) -> Result<T, String> {
    match parse(argv.iter().map(OsString::from).collect(), &env(vars)) {
        Ok(Command::Run(c)) => Ok(c),
        Ok(other) => panic!("{argv:?}: {other:?}"),
        Err(e) => {
            assert!(matches!(e, Error::Usage(_)), "{argv:?}: {e:?}");
            Err(e.to_string())
        }
    }
}

pub(super) fn produce(argv: &[&str], vars: &[(&str, &str)]) -> Result<ProducerConfig, String> {
    parse_words(|a, e| producer(a, e), argv, vars)
}

pub(super) fn consume(argv: &[&str], vars: &[(&str, &str)]) -> Result<ConsumerConfig, String> {
    parse_words(|a, e| consumer(a, e), argv, vars)
}

/// What a build without TLS says for `given`.
pub(super) fn no_tls(given: &str) -> String {
    format!("{given}: {}", crate::client::NO_TLS)
}

pub(super) const UNKNOWN: &str =
    "not a property this program reads: --help lists each one beside its flag \
     ([property: ...]); the value of an unknown key is never shown";

#[test]
fn a_property_yields_to_its_flag_then_x_then_variable_then_file_then_default() {
    let file = PropsFile::new("# shared\nbootstrap.servers=file:4\n");
    let other = PropsFile::new("bootstrap.servers=other:5\n");
    let f = file.path();
    let brokers = |argv: &[&str], vars: &[(&str, &str)]| {
        produce(argv, vars).map(|c| c.connection.brokers.join(","))
    };
    let var = ("KAFKA_BROKERS", "env:3");
    let all = ["-b", "flag:1", "-X", "bootstrap.servers=x:2", "--config", f];
    assert_eq!(brokers(&all, &[var]), Ok("flag:1".into()));
    assert_eq!(brokers(&all[2..], &[var]), Ok("x:2".into()));
    assert_eq!(brokers(&all[4..], &[var]), Ok("env:3".into()));
    assert_eq!(brokers(&all[4..], &[]), Ok("file:4".into()));
    assert_eq!(brokers(&[], &[]), Ok("localhost:9092".into()));
    // The file by -F or KAFKA_CONFIG; the flag's file beats the variable's.
    assert_eq!(brokers(&["-F", f], &[]), Ok("file:4".into()));
    assert_eq!(brokers(&[], &[("KAFKA_CONFIG", f)]), Ok("file:4".into()));
    let both = [("KAFKA_CONFIG", other.path())];
    assert_eq!(brokers(&["-F", f], &both), Ok("file:4".into()));
    // Empty counts as unset, for a variable and for a property.
    assert_eq!(
        brokers(&["-F", f], &[("KAFKA_BROKERS", "")]),
        Ok("file:4".into())
    );
    let empty_x = ["-X", "bootstrap.servers=", "-F", f];
    assert_eq!(brokers(&empty_x, &[var]), Ok("env:3".into()));
    // The last -X wins, under either name.
    let twice = [
        "-X",
        "bootstrap.servers=x:2",
        "-X",
        "metadata.broker.list= x:9 ",
    ];
    assert_eq!(brokers(&twice, &[var]), Ok("x:9".into()));

    let acks = |argv: &[&str], vars: &[(&str, &str)]| produce(argv, vars).map(|c| c.acks);
    let file = PropsFile::new("acks=0\n");
    let f = file.path();
    assert_eq!(acks(&["-F", f], &[]), Ok(Acks::None));
    assert_eq!(acks(&["-F", f], &[("KAFKA_ACKS", "1")]), Ok(Acks::Leader));
    let x = ["-X", "acks=all", "-F", f];
    assert_eq!(acks(&x, &[("KAFKA_ACKS", "1")]), Ok(Acks::All));
    assert_eq!(
        acks(&["--acks", "1", "-X", "acks=0"], &[]),
        Ok(Acks::Leader)
    );
    // Only the value in use is checked.
    assert_eq!(
        acks(&["--acks", "1", "-X", "acks=2"], &[]),
        Ok(Acks::Leader)
    );
    assert_eq!(
        acks(&["-X", "acks=2"], &[]),
        Err("-X acks=2: must be 0, 1, all or -1".into())
    );
}

#[test]
fn x_needs_key_equals_value() {
    let message =
        |value: String| format!("--property {value}: must be KEY=VALUE (a Kafka client property)");
    assert_eq!(
        produce(&["-X", "acks"], &[]).unwrap_err(),
        message("acks".into())
    );
    assert_eq!(
        consume(&["--property", "group.id"], &[]).unwrap_err(),
        message("group.id".into())
    );
    // What follows the key may be a secret, and so may a value without a key.
    assert_eq!(
        produce(&["-X", "=1"], &[]).unwrap_err(),
        message(r#""""#.to_owned() + "...")
    );
    assert_eq!(
        produce(&["-X", "sasl.passwd:hunter2"], &[]).unwrap_err(),
        message("sasl.passwd...".into())
    );
    assert_eq!(
        produce(&["-X", "acks=1", "-X"], &[]).unwrap_err(),
        "missing argument for option '-X'"
    );
    let c = produce(&["-X", " acks = 1 "], &[]).unwrap();
    assert_eq!(c.acks, Acks::Leader);
}

#[test]
fn unknown_properties_are_errors_and_those_of_the_other_program_are_ignored() {
    assert_eq!(
        produce(&["-X", "acks=all", "-X", "linger.msec=5"], &[]).unwrap_err(),
        format!("-X linger.msec=****: {UNKNOWN}")
    );
    assert_eq!(
        consume(&["-X", "Group.Id=g"], &[]).unwrap_err(),
        format!(
            "-X Group.Id=****: {}",
            UNKNOWN.replacen(":", " (did you mean group.id?):", 1)
        )
    );
    let file = PropsFile::new("acks=all\n\n# comment\nbogus.key = 7\n");
    assert_eq!(
        produce(&["--config", file.path()], &[]).unwrap_err(),
        format!("{} line 4: bogus.key=****: {UNKNOWN}", file.path())
    );
    // Even when the program would never read it.
    assert_eq!(
        consume(&["--config", file.path()], &[]).unwrap_err(),
        format!("{} line 4: bogus.key=****: {UNKNOWN}", file.path())
    );

    // One file for both programs: each takes its own keys, whatever the other's values.
    let shared = PropsFile::new(
        "bootstrap.servers=h:1\nacks=0\ncompression.codec=zstd\nenable.idempotence=maybe\n\
         group.id=g1\nauto.offset.reset=latest\nsession.timeout.ms=abc\n",
    );
    let p = produce(&["-F", shared.path()], &[]).unwrap_err();
    assert_eq!(
        p,
        format!(
            "{} line 4: enable.idempotence=maybe: must be true or false",
            shared.path()
        )
    );
    let p = produce(&["-F", shared.path(), "--no-idempotence"], &[]).unwrap();
    assert_eq!(
        (p.connection.brokers, p.acks, p.compression),
        (vec!["h:1".to_string()], Acks::None, Compression::Zstd)
    );
    let c = consume(
        &["-F", shared.path(), "-X", "session.timeout.ms=10000"],
        &[],
    )
    .unwrap();
    assert_eq!(
        (
            c.connection.brokers,
            c.group.as_str(),
            c.start,
            c.session_timeout
        ),
        (
            vec!["h:1".to_string()],
            "g1",
            Start::Latest,
            Duration::from_secs(10)
        )
    );
    assert!(consume(&["-X", "acks=2", "-X", "compression.type=brotli"], &[]).is_ok());
    assert!(produce(&["-X", "group.id=a b", "-X", "isolation.level=x"], &[]).is_ok());
}

#[test]
fn millisecond_properties_become_the_flags_seconds() {
    let session =
        |argv: &[&str], vars: &[(&str, &str)]| consume(argv, vars).map(|c| c.session_timeout);
    let x = ["-X", "session.timeout.ms=45000"];
    assert_eq!(
        session(&x, &[("KAFKA_SESSION_TIMEOUT", "10")]),
        Ok(Duration::from_secs(45))
    );
    // Exactly, though a thousandth of a second is no binary fraction.
    for ms in [10500, 10001, 1000, 3_600_000] {
        let x = format!("session.timeout.ms={ms}");
        let heartbeat = ["-X", &x, "--heartbeat-interval", "0.5"];
        assert_eq!(session(&heartbeat, &[]), Ok(Duration::from_millis(ms)));
    }
    let flag_too = ["--session-timeout", "20", "-X", "session.timeout.ms=10000"];
    assert_eq!(session(&flag_too, &[]), Ok(Duration::from_secs(20)));

    let file = PropsFile::new(
        "session.timeout.ms=12000\nheartbeat.interval.ms=100\nmax.poll.interval.ms=60000\n\
         request.timeout.ms=5000\nsocket.connection.setup.timeout.ms=2500\nretry.backoff.ms=50\n\
         fetch.max.wait.ms=250\n",
    );
    let c = consume(&["-F", file.path()], &[]).unwrap();
    assert_eq!(
        (
            c.session_timeout,
            c.heartbeat_interval,
            c.max_poll_interval,
            c.fetch_wait
        ),
        (
            Duration::from_secs(12),
            Duration::from_millis(100),
            Duration::from_secs(60),
            Duration::from_millis(250)
        )
    );
    assert_eq!(
        (
            c.connection.request_timeout,
            c.connection.connect_timeout,
            c.connection.backoff
        ),
        (
            Duration::from_secs(5),
            Duration::from_millis(2500),
            Duration::from_millis(50)
        )
    );

    for (value, what) in [
        ("abc", "must be a whole number of milliseconds"),
        ("4.5e4", "must be a whole number of milliseconds"),
        ("-1000", "must be a whole number of milliseconds"),
        ("999", "must be from 1000 to 3600000 (milliseconds)"),
        ("3600001", "must be from 1000 to 3600000 (milliseconds)"),
    ] {
        let x = format!("session.timeout.ms={value}");
        assert_eq!(session(&["-X", &x], &[]), Err(format!("-X {x}: {what}")));
    }
    let file = PropsFile::new("request.timeout.ms=99\n");
    assert_eq!(
        produce(&["-F", file.path()], &[]).unwrap_err(),
        format!(
            "{} line 1: request.timeout.ms=99: must be from 100 to 3600000 (milliseconds)",
            file.path()
        )
    );
    // A flag in seconds still states its range in seconds.
    assert_eq!(
        session(&["--session-timeout", "0.5"], &[]),
        Err("--session-timeout 0.5: must be from 1 to 3600".into())
    );
}

const SCRAM_JAAS: &str =
    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule \
     required \\\n    username=\"alice\" \\\n    password=\"s3cret-Pw\";\n";
const PLAIN_JAAS: &str =
    "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \
     required username=\"bob\" password=\"pw-Plain1\";\n";

#[test]
fn sasl_jaas_config_gives_user_and_password_to_a_mechanism_it_fits() {
    let scram = PropsFile::new(&format!(
        "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n{SCRAM_JAAS}"
    ));
    let security = produce(&["-F", scram.path()], &[]).map(|c| c.connection.security);
    match cfg!(feature = "tls") {
        true => assert_eq!(
            security.unwrap().sasl,
            Some(Login {
                mechanism: Mechanism::ScramSha512,
                username: "alice".into(),
                password: "s3cret-Pw".into(),
            })
        ),
        false => assert_eq!(
            security.unwrap_err(),
            no_tls(&format!(
                "{} line 1: security.protocol=SASL_SSL",
                scram.path()
            ))
        ),
    }

    let plain = PropsFile::new(&format!(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n{PLAIN_JAAS}"
    ));
    let p = plain.path();
    let expected = match cfg!(feature = "scram") {
        true => format!(
            "{p} line 2: sasl.mechanism=SCRAM-SHA-256: does not go with the login module of \
             {p} line 3: sasl.jaas.config=**** \
             (org.apache.kafka.common.security.plain.PlainLoginModule): PlainLoginModule logs \
             in with PLAIN, ScramLoginModule with SCRAM-SHA-256 or SCRAM-SHA-512"
        ),
        false => format!(
            "{p} line 2: sasl.mechanism=SCRAM-SHA-256: {}",
            crate::client::NO_SCRAM
        ),
    };
    assert_eq!(consume(&["-F", p], &[]).unwrap_err(), expected);
    // A SCRAM login module with the default mechanism, PLAIN, in every build.
    let scram_plain = PropsFile::new(&format!("security.protocol=SASL_PLAINTEXT\n{SCRAM_JAAS}"));
    let s = scram_plain.path();
    assert_eq!(
        produce(&["-F", s], &[]).unwrap_err(),
        format!(
            "default PLAIN: does not go with the login module of {s} line 2: \
             sasl.jaas.config=**** (org.apache.kafka.common.security.scram.ScramLoginModule): \
             PlainLoginModule logs in with PLAIN, ScramLoginModule with SCRAM-SHA-256 or \
             SCRAM-SHA-512"
        )
    );

    // PLAIN works in every build; a flag, -X or variable beats the file's JAAS line.
    let plain = PropsFile::new(&format!("security.protocol=SASL_PLAINTEXT\n{PLAIN_JAAS}"));
    let p = plain.path();
    let login = |argv: &[&str], vars: &[(&str, &str)]| {
        let c = consume(argv, vars).unwrap();
        assert_eq!(c.connection.security.tls, None);
        let login = c.connection.security.sasl.expect("a SASL login");
        assert_eq!(login.mechanism, Mechanism::Plain);
        (login.username, login.password)
    };
    let pair = |u: &str, p: &str| (u.to_string(), p.to_string());
    assert_eq!(login(&["-F", p], &[]), pair("bob", "pw-Plain1"));
    assert_eq!(
        login(&["-F", p, "-X", "sasl.username=xuser"], &[]),
        pair("xuser", "pw-Plain1")
    );
    let user_var = [("KAFKA_SASL_USERNAME", "envuser")];
    assert_eq!(login(&["-F", p], &user_var), pair("envuser", "pw-Plain1"));
    assert_eq!(
        login(
            &["-F", p, "--sasl-username", "u1", "--sasl-password", "p1"],
            &user_var
        ),
        pair("u1", "p1")
    );
    // A JAAS line given by -X beats the variable.
    let x_jaas = format!(
        "sasl.jaas.config={}",
        PLAIN_JAAS.trim_end().split_once('=').unwrap().1
    );
    assert_eq!(
        login(
            &["-X", "security.protocol=SASL_PLAINTEXT", "-X", &x_jaas],
            &user_var
        ),
        pair("bob", "pw-Plain1")
    );
}

#[test]
fn other_login_modules_and_kerberos_are_refused_with_what_to_use() {
    let krb = PropsFile::new(
        "sasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required \
         useKeyTab=true keyTab=\"/etc/kafka.keytab\" principal=\"kafka/h@EXAMPLE.COM\";\n",
    );
    assert_eq!(
        produce(&["-F", krb.path()], &[]).unwrap_err(),
        format!(
            "{} line 1: sasl.jaas.config=****: login module \
             com.sun.security.auth.module.Krb5LoginModule is not supported: use \
             org.apache.kafka.common.security.plain.PlainLoginModule (PLAIN) or \
             org.apache.kafka.common.security.scram.ScramLoginModule (SCRAM)",
            krb.path()
        )
    );
    let kerberos = "Kerberos (GSSAPI) and OAUTHBEARER are not supported: use PLAIN, \
                    SCRAM-SHA-256 or SCRAM-SHA-512";
    let sasl = [
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.username=u",
        "-X",
        "sasl.password=p",
    ];
    for (mechanism, shown) in [
        (["-X", "sasl.mechanism=GSSAPI"], "-X sasl.mechanism=GSSAPI"),
        (
            ["-X", "sasl.mechanisms=oauthbearer"],
            "-X sasl.mechanisms=oauthbearer",
        ),
        (["--sasl-mechanism", "GSSAPI"], "--sasl-mechanism GSSAPI"),
    ] {
        let argv = [&sasl[..], &mechanism[..]].concat();
        assert_eq!(
            consume(&argv, &[]).unwrap_err(),
            format!("{shown}: {kerberos}")
        );
    }
    assert_eq!(
        produce(&["-X", "sasl.kerberos.service.name=kafka"], &[]).unwrap_err(),
        "-X sasl.kerberos.service.name=****: Kerberos (GSSAPI) and OAUTHBEARER are not \
         supported: use sasl.mechanism PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
    );
}

#[test]
fn sasl_without_user_or_password_names_the_ways_to_give_it() {
    let ways = |what: &str, long: &str, var: &str, property: &str| {
        format!(
            "security.protocol SASL_PLAINTEXT needs a SASL {what}: give --{long}, {var}, \
             -X {property}=... or sasl.jaas.config in a --config file"
        )
    };
    let user = ways(
        "user",
        "sasl-username",
        "KAFKA_SASL_USERNAME",
        "sasl.username",
    );
    let password = ways(
        "password",
        "sasl-password",
        "KAFKA_SASL_PASSWORD",
        "sasl.password",
    );
    let sasl = ["--security-protocol", "SASL_PLAINTEXT"];
    assert_eq!(produce(&sasl, &[]).unwrap_err(), user);
    assert_eq!(
        produce(&sasl, &[("KAFKA_SASL_PASSWORD", "p")]).unwrap_err(),
        user
    );
    assert_eq!(
        produce(&sasl, &[("KAFKA_SASL_USERNAME", "u")]).unwrap_err(),
        password
    );
    let half = PropsFile::new(
        "security.protocol=sasl_plaintext\nsasl.jaas.config=\
         org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\";\n",
    );
    assert_eq!(consume(&["-F", half.path()], &[]).unwrap_err(), password);
    let c = produce(
        &sasl,
        &[("KAFKA_SASL_USERNAME", "u"), ("KAFKA_SASL_PASSWORD", "p")],
    )
    .unwrap();
    assert_eq!(
        c.connection.security,
        Security {
            tls: None,
            sasl: Some(Login {
                mechanism: Mechanism::Plain,
                username: "u".into(),
                password: "p".into(),
            }),
        }
    );
    // PLAINTEXT reads no SASL setting, so none can be wrong.
    let c = produce(
        &["--sasl-mechanism", "SCRAM-SHA-256"],
        &[("KAFKA_SASL_PASSWORD", "a\u{1}")],
    )
    .unwrap();
    assert_eq!(c.connection.security, Security::default());
}

/// A JKS or PKCS12 store location (no `ssl.*store.type=PEM`) is refused with advice, not
/// taken for a PEM file.
#[test]
fn jks_and_pkcs12_store_locations_are_refused_with_advice() {
    assert_eq!(
        produce(
            &["-X", "ssl.truststore.location=/etc/kafka/truststore.jks"],
            &[]
        )
        .unwrap_err(),
        "-X ssl.truststore.location=/etc/kafka/truststore.jks: a JKS or PKCS12 truststore is \
         not read: export its CA as PEM (keytool -exportcert -rfc -keystore FILE -alias ALIAS \
         > ca.pem) and give ssl.ca.location=ca.pem, or ssl.truststore.type=PEM if the file is \
         PEM already"
    );
    assert_eq!(
        consume(&["-X", "ssl.keystore.location=/k.p12"], &[]).unwrap_err(),
        "-X ssl.keystore.location=/k.p12: a JKS or PKCS12 keystore is not read: export its \
         certificate and key as PEM (openssl pkcs12 -in FILE -nodes) and give \
         ssl.certificate.location and ssl.key.location, or ssl.keystore.type=PEM"
    );
    let jks = [
        "-X",
        "ssl.truststore.location=/t.jks",
        "--security-protocol",
        "SSL",
    ];
    let outcome = consume(&jks, &[]).map(|c| c.connection.security.tls);
    // Refused before any TLS setting is read, so in every build.
    assert!(
        outcome.as_ref().is_err_and(|m| m.contains("keytool")),
        "{outcome:?}"
    );
}

/// `-X sasl.password:SECRET` (Java's other separator) is refused without showing it.
#[test]
fn x_without_equals_does_not_show_a_secret() {
    for x in [
        "sasl.password:Hunter2-colon",
        "sasl.jaas.config Hunter2-colon",
    ] {
        let message = produce(&["-X", x], &[]).unwrap_err();
        assert!(message.ends_with("must be KEY=VALUE (a Kafka client property)"));
        assert!(!message.contains("Hunter2"), "{message}");
    }
}

/// Both waits from millisecond properties: the message gives the other one's value as
/// written, in milliseconds.
#[test]
fn a_cross_check_of_millisecond_properties_keeps_their_unit() {
    let x = [
        "-X",
        "session.timeout.ms=2000",
        "-X",
        "heartbeat.interval.ms=3000",
    ];
    let message = consume(&x, &[]).unwrap_err();
    assert!(message.starts_with("-X session.timeout.ms=2000: must be longer than the heartbeat interval (-X heartbeat.interval.ms=3000"), "{message}");
    assert!(!message.contains("3000 s"), "{message}");
}
