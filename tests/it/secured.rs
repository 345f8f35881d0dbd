//! The secured broker: a real Apache Kafka with TLS, SASL and ACLs, started once per
//! test process by `scripts/kafka-local secure start` (its header lists the listeners, users,
//! certificates and ACLs) and left running for the next process; `make test` stops it at the end.
//! Apache Kafka's own console tools, configured by client.properties files, are the reference
//! client here: what they can do, or are refused, is what the broker allows. Our binaries then
//! round-trip over every listener and mechanism with the settings given every way (flags, `-X`,
//! variables, client.properties), share their files with the Java tools and kcat, name each
//! failure without showing a password, and (seen by tcpdump) send nothing readable over TLS.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::util;

/// The secured broker's listeners, as it advertises them (`localhost:PORT`; its certificate names
/// only `localhost`), and the directory of its certificates.
pub struct Secure {
    /// No security; its principal, User:ANONYMOUS, is a super user (topics, ACLs).
    pub plaintext: String,
    /// Mutual TLS: the principal is the client certificate's CN (`order-client`).
    pub ssl: String,
    /// SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 without TLS.
    pub sasl_plaintext: String,
    /// The same mechanisms over TLS, no client certificate.
    pub sasl_ssl: String,
    /// `ca.pem`, `client.pem`, `client.key` (unencrypted PKCS#8), `client-keystore.pem` (key and
    /// certificate, for Java's PEM keystore) and `other-ca.pem` (a CA that signed nothing used).
    pub certs: PathBuf,
}

/// The secured broker, started when no earlier test (or test process) started it.
pub fn secure() -> &'static Secure {
    static SECURE: OnceLock<Secure> = OnceLock::new();
    SECURE.get_or_init(|| {
        // The script reads the same variable, which this process passes on to it.
        let base: u16 = std::env::var("KAFKA_SECURE_PORT")
            .map(|p| p.parse().expect("KAFKA_SECURE_PORT is a port"))
            .unwrap_or(29092);
        let out = kafka_local(&["secure", "start"])
            .output()
            .expect("scripts/kafka-local runs");
        assert!(
            out.status.success(),
            "scripts/kafka-local secure start failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listener = |offset: u16| format!("localhost:{}", base + offset);
        Secure {
            plaintext: listener(0),
            ssl: listener(1),
            sasl_plaintext: listener(2),
            sasl_ssl: listener(3),
            certs: util::kafka_data().join("secure").join("certs"),
        }
    })
}

/// `scripts/kafka-local` of the version under test.
fn kafka_local(args: &[&str]) -> Command {
    let mut cmd = Command::new(util::project_dir().join("scripts/kafka-local"));
    cmd.args(args).env("KAFKA_VERSION", util::kafka_version());
    cmd
}

/// Writes a client.properties file of `lines` under the tests' scratch directory; the name
/// is unique, so tests may pass the same `name`.
pub fn write_properties(name: &str, lines: &[&str]) -> PathBuf {
    let path =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}.properties", util::unique(name)));
    std::fs::write(&path, lines.join("\n") + "\n")
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

/// Creates `topic` through the PLAINTEXT listener (a super user).
pub fn create_topic_secure(topic: &str, partitions: u32) {
    let out = kafka_local(&[
        "run",
        "org.apache.kafka.tools.TopicCommand",
        "--bootstrap-server",
        &secure().plaintext,
        "--create",
        "--topic",
        topic,
        "--partitions",
        &partitions.to_string(),
        "--replication-factor",
        "1",
    ])
    .output()
    .expect("scripts/kafka-local runs");
    assert!(
        out.status.success(),
        "creating {topic}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sends `lines` as records with Apache Kafka's console producer, configured by `props`. It
/// exits 0 even when the broker refuses the records: the refusal is in its stderr.
pub fn apache_produce(props: &Path, bootstrap: &str, topic: &str, lines: &[&str]) -> Output {
    secure();
    let class = util::tool_class(
        "org.apache.kafka.tools.ConsoleProducer",
        "kafka.tools.ConsoleProducer",
    );
    let mut cmd = kafka_local(&[
        "run",
        class,
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
    ]);
    cmd.arg(config_flag("--producer.config")).arg(props);
    let input = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    output_within(cmd, input.as_bytes(), Duration::from_secs(90))
}

/// Reads up to `max` records from the start of `topic` with Apache Kafka's console consumer in a
/// fresh group of its own (the principal needs Read on it), configured by `props`. It stops at
/// `max` records or after 15 s without one; its stderr is printed when fewer came.
pub fn apache_consume(props: &Path, bootstrap: &str, topic: &str, max: usize) -> Vec<String> {
    secure();
    let mut cmd = kafka_local(&[
        "run",
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        &max.to_string(),
        "--timeout-ms",
        "15000",
    ]);
    cmd.arg(config_flag("--consumer.config")).arg(props);
    let out = output_within(cmd, b"", Duration::from_secs(90));
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    if lines.len() < max {
        eprintln!(
            "console consumer of {topic} at {bootstrap} read {} of {max} records ({}):\n{}",
            lines.len(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    lines
}

/// The console tools' option naming a client.properties file: `--command-config` in 4.x (4.2 on),
/// where the 3.x name still works but prints a warning to stdout, among the records.
fn config_flag(v3: &'static str) -> &'static str {
    util::tool_class("--command-config", v3)
}

/// Runs a prepared command with `stdin`, killed after `limit`: a Java client that cannot connect
/// or authenticate keeps retrying for minutes.
fn output_within(mut cmd: Command, stdin: &[u8], limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // A tool that dies early closes its stdin; its exit status tells why, not the write.
    std::thread::spawn(move || input.write_all(&data));
    let drain = |mut stream: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// The client.properties lines trusting the broker's CA (Kafka's PEM truststore).
fn trust_ca(secure: &Secure) -> [String; 2] {
    [
        "ssl.truststore.type=PEM".to_string(),
        format!(
            "ssl.truststore.location={}",
            secure.certs.join("ca.pem").display()
        ),
    ]
}

#[test]
fn scram_sha_512_over_sasl_ssl_round_trips_to_a_topic_it_creates() {
    let secure = secure();
    let [trust_type, trust_location] = trust_ca(secure);
    let props = write_properties(
        "sec-alice-scram512",
        &[
            "security.protocol=SASL_SSL",
            "sasl.mechanism=SCRAM-SHA-512",
            r#"sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";"#,
            &trust_type,
            &trust_location,
        ],
    );
    // No topic made beforehand: alice's All on topic * lets her produce it into being.
    let topic = util::unique("sec-scram");
    let out = apache_produce(&props, &secure.sasl_ssl, &topic, &["first", "second"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("Exception"), "{stderr}");
    assert_eq!(
        apache_consume(&props, &secure.sasl_ssl, &topic, 2),
        ["first", "second"]
    );
}

#[test]
fn bob_may_not_write_and_the_broker_says_so_per_topic() {
    let secure = secure();
    let topic = util::unique("sec-bob");
    create_topic_secure(&topic, 1);
    let props = write_properties(
        "sec-bob-plain",
        &[
            "security.protocol=SASL_PLAINTEXT",
            "sasl.mechanism=PLAIN",
            r#"sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="bob" password="bob-secret";"#,
            // An idempotent producer would first be refused InitProducerId
            // (ClusterAuthorization: bob has no IdempotentWrite) and never send the records.
            "enable.idempotence=false",
        ],
    );
    let out = apache_produce(&props, &secure.sasl_plaintext, &topic, &["not allowed"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TopicAuthorizationException"),
        "bob's write was not refused per topic: {stderr}"
    );
    // Had bob's record gone in, it would be the first of the topic's one partition.
    let [trust_type, trust_location] = trust_ca(secure);
    let alice = write_properties(
        "sec-alice-plain",
        &[
            "security.protocol=SASL_SSL",
            "sasl.mechanism=PLAIN",
            r#"sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-secret";"#,
            &trust_type,
            &trust_location,
        ],
    );
    let written = apache_produce(&alice, &secure.sasl_ssl, &topic, &["allowed"]);
    assert!(written.status.success());
    assert_eq!(
        apache_consume(&alice, &secure.sasl_ssl, &topic, 1),
        ["allowed"]
    );
}

#[test]
fn mutual_tls_round_trips_as_the_certificates_principal() {
    let secure = secure();
    let topic = util::unique("sec-mtls");
    create_topic_secure(&topic, 2);
    let [trust_type, trust_location] = trust_ca(secure);
    let keystore = format!(
        "ssl.keystore.location={}",
        secure.certs.join("client-keystore.pem").display()
    );
    let props = write_properties(
        "sec-mtls",
        &[
            "security.protocol=SSL",
            &trust_type,
            &trust_location,
            "ssl.keystore.type=PEM",
            &keystore,
        ],
    );
    let sent = ["one", "two", "three"];
    let out = apache_produce(&props, &secure.ssl, &topic, &sent);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("Exception"), "{stderr}");
    let mut read = apache_consume(&props, &secure.ssl, &topic, sent.len());
    // Two partitions: the order across them is not kept.
    read.sort();
    let mut expected = sent.to_vec();
    expected.sort();
    assert_eq!(read, expected);
}

/// Settings handed to one of our binaries: arguments, and environment variables.
type Way<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

/// Drops the test process's own `KAFKA_*` and `RUST_LOG` variables from what `cmd` inherits, so
/// none points our binaries elsewhere or changes what they print.
fn without_settings(cmd: &mut Command) {
    for (key, _) in std::env::vars() {
        if key.starts_with("KAFKA_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
}

/// Runs our binary `name` to completion with only the Kafka settings given here.
fn ours(name: &str, (args, env): Way) -> util::Run {
    let path = match name {
        "order-producer" => env!("CARGO_BIN_EXE_order-producer"),
        "order-consumer" => env!("CARGO_BIN_EXE_order-consumer"),
        other => panic!("unknown binary {other}"),
    };
    let mut cmd = Command::new(path);
    without_settings(&mut cmd);
    let out = cmd.args(args).envs(env.iter().copied()).output();
    util::Run::from(out.expect("binary runs"))
}

fn cert(secure: &Secure, file: &str) -> String {
    secure.certs.join(file).display().to_string()
}

/// Asserts no password of these tests (the users' `<name>-secret`, the wrong ones
/// `wrong-in-<where>`) shows in what a run printed.
fn assert_no_password(run: &util::Run) {
    for out in [&run.stdout, &run.stderr] {
        for password in ["-secret", "wrong-in-"] {
            assert!(!out.contains(password), "a password shows:\n{out}");
        }
    }
}

/// Order ids in a fixed order: records keyed by id spread over partitions, and the order
/// across partitions is not kept.
fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// `way` with `extra` arguments, under RUST_LOG=debug.
fn with_debug<'a>(
    (args, env): Way<'a>,
    extra: &[&'a str],
) -> (Vec<&'a str>, Vec<(&'a str, &'a str)>) {
    let args = args.iter().chain(extra).copied().collect();
    let env = env.iter().copied().chain([("RUST_LOG", "debug")]).collect();
    (args, env)
}

/// Produces three orders to a fresh topic with `producer`, reads them back with `consumer` in a
/// fresh group, and checks the ids, the commit and (under RUST_LOG=debug) alice's SASL login
/// with `mechanism`, or no SASL login at all. Returns the topic and the group.
fn round_trip(
    prefix: &str,
    producer: Way,
    consumer: Way,
    mechanism: Option<&str>,
) -> (String, String) {
    let topic = util::unique(prefix);
    let group = util::unique(&format!("{prefix}-g"));
    let (args, env) = with_debug(producer, &["-t", &topic, "-n", "3", "--format", "json"]);
    let sent = ours("order-producer", (&args, &env));
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let (args, env) = with_debug(
        consumer,
        &[
            "-t",
            &topic,
            "-g",
            &group,
            "--idle-timeout",
            "2",
            "--format",
            "json",
        ],
    );
    let read = ours("order-consumer", (&args, &env));
    assert_eq!(read.code, 0, "{}", read.stderr);
    let sent_ids = util::order_ids(&sent.json_lines());
    assert_eq!(sent_ids.len(), 3, "{}", sent.stdout);
    assert_eq!(
        sorted(util::order_ids(&read.json_lines())),
        sorted(sent_ids)
    );
    assert!(
        read.stderr
            .contains(&format!("committed to group '{group}'")),
        "{}",
        read.stderr
    );
    for run in [&sent, &read] {
        assert_no_password(run);
        match mechanism {
            Some(m) => assert!(
                run.stderr
                    .contains(&format!("logged in as 'alice' with {m}")),
                "no {m} login:\n{}",
                run.stderr
            ),
            None => assert!(!run.stderr.contains("logged in"), "{}", run.stderr),
        }
    }
    (topic, group)
}

#[test]
fn mutual_tls_round_trips_with_flags_then_x_properties() {
    let secure = secure();
    let (ca, crt, key) = (
        cert(secure, "ca.pem"),
        cert(secure, "client.pem"),
        cert(secure, "client.key"),
    );
    let flags = [
        "-b",
        &secure.ssl,
        "--security-protocol",
        "SSL",
        "--ssl-ca-location",
        &ca,
        "--ssl-certificate-location",
        &crt,
        "--ssl-key-location",
        &key,
    ];
    let (p1, p2, p3, p4) = (
        format!("ssl.ca.location={ca}"),
        format!("ssl.certificate.location={crt}"),
        format!("ssl.key.location={key}"),
        format!("bootstrap.servers={}", secure.ssl),
    );
    let properties = [
        "-X",
        &p4,
        "-X",
        "security.protocol=SSL",
        "-X",
        &p1,
        "-X",
        &p2,
        "-X",
        &p3,
    ];
    round_trip("sec-rt-mtls", (&flags, &[]), (&properties, &[]), None);
}

#[test]
fn mutual_tls_round_trips_with_a_java_pem_keystore_file() {
    let secure = secure();
    let [trust_type, trust_location] = trust_ca(secure);
    let keystore = format!(
        "ssl.keystore.location={}",
        cert(secure, "client-keystore.pem")
    );
    let props = write_properties(
        "sec-rt-keystore",
        &[
            "security.protocol=SSL",
            &trust_type,
            &trust_location,
            "ssl.keystore.type=PEM",
            &keystore,
        ],
    );
    let props = props.display().to_string();
    round_trip(
        "sec-rt-keystore",
        (&["-b", &secure.ssl, "-F", &props], &[]),
        (&["-b", &secure.ssl, "--config", &props], &[]),
        None,
    );
}

#[test]
fn plain_over_sasl_plaintext_round_trips_from_environment_variables() {
    let secure = secure();
    let env = [
        ("KAFKA_BROKERS", secure.sasl_plaintext.as_str()),
        ("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
        ("KAFKA_SASL_MECHANISM", "PLAIN"),
        ("KAFKA_SASL_USERNAME", "alice"),
        ("KAFKA_SASL_PASSWORD", "alice-secret"),
    ];
    let (topic, group) = round_trip("sec-rt-plain", (&[], &env), (&[], &env), Some("PLAIN"));
    // Apache Kafka's own tool sees the commit: past all three orders, whatever the partitions.
    let committed = util::committed(&secure.plaintext, &group, &topic);
    assert_eq!(committed.values().sum::<i64>(), 3, "{committed:?}");
}

#[test]
fn scram_sha_256_over_sasl_plaintext_round_trips_from_a_jaas_config_file() {
    let secure = secure();
    let bootstrap = format!("bootstrap.servers={}", secure.sasl_plaintext);
    let props = write_properties(
        "sec-rt-scram256",
        &[
            &bootstrap,
            "security.protocol=SASL_PLAINTEXT",
            "sasl.mechanism=SCRAM-SHA-256",
            r#"sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";"#,
        ],
    );
    let props = props.display().to_string();
    let env = [("KAFKA_CONFIG", props.as_str())];
    round_trip(
        "sec-rt-scram256",
        (&["--config", &props], &[]),
        (&[], &env),
        Some("SCRAM-SHA-256"),
    );
}

#[test]
fn scram_sha_512_over_sasl_plaintext_round_trips_from_librdkafka_x_properties() {
    let secure = secure();
    let args = [
        "-b",
        &secure.sasl_plaintext,
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.mechanisms=SCRAM-SHA-512",
        "-X",
        "sasl.username=alice",
        "-X",
        "sasl.password=alice-secret",
    ];
    round_trip(
        "sec-rt-scram512",
        (&args, &[]),
        (&args, &[]),
        Some("SCRAM-SHA-512"),
    );
}

/// The SASL_PLAINTEXT listener ends a login session after 10 s (connections.max.reauth.ms).
/// A consumer that runs longer connects anew before its sessions end, so an order produced after
/// the first session is read too, and the broker never closes a connection on it.
#[test]
fn a_consumer_outlives_its_login_sessions_without_being_hung_up_on() {
    let secure = secure();
    let topic = util::unique("sec-reauth");
    let group = util::unique("sec-reauth-g");
    let settings = [
        "-b",
        &secure.sasl_plaintext,
        "--security-protocol",
        "SASL_PLAINTEXT",
        "--sasl-mechanism",
        "SCRAM-SHA-256",
        "--sasl-username",
        "alice",
        "-t",
        &topic,
        "--format",
        "json",
    ];
    let env = [("KAFKA_SASL_PASSWORD", "alice-secret")];
    let first = ours("order-producer", (&settings, &env));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let mut consumer = Command::new(env!("CARGO_BIN_EXE_order-consumer"));
    without_settings(&mut consumer);
    let consumer = consumer
        .args(settings)
        .args(["-g", &group, "--idle-timeout", "15"])
        .envs(env)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("consumer starts");
    // Past the first session of every connection the consumer opened.
    std::thread::sleep(Duration::from_secs(12));
    let second = ours("order-producer", (&settings, &env));
    assert_eq!(second.code, 0, "{}", second.stderr);
    let read = util::Run::from(consumer.wait_with_output().expect("consumer ends"));
    assert_eq!(read.code, 0, "{}", read.stderr);
    let mut sent = util::order_ids(&first.json_lines());
    sent.extend(util::order_ids(&second.json_lines()));
    assert_eq!(sent.len(), 2);
    assert_eq!(sorted(util::order_ids(&read.json_lines())), sorted(sent));
    assert!(
        read.stderr.contains("the login session ends soon"),
        "no connection was replaced:\n{}",
        read.stderr
    );
    // What a session that ran out looks like: the broker hangs up on the next request. (Other
    // retries, such as a coordinator still loading on a fresh broker, are not this test's.)
    assert!(
        !read.stderr.contains("closed the connection"),
        "{}",
        read.stderr
    );
}

#[test]
fn plain_over_sasl_ssl_round_trips_from_flags() {
    let secure = secure();
    let ca = cert(secure, "ca.pem");
    let args = [
        "-b",
        &secure.sasl_ssl,
        "--security-protocol",
        "SASL_SSL",
        "--sasl-mechanism",
        "PLAIN",
        "--sasl-username",
        "alice",
        "--sasl-password",
        "alice-secret",
        "--ssl-ca-location",
        &ca,
    ];
    round_trip(
        "sec-rt-ssl-plain",
        (&args, &[]),
        (&args, &[]),
        Some("PLAIN"),
    );
}

/// The file's password is wrong, so only a setting that outranks it can log in: the producer's
/// `-X` over a wrong variable, the consumer's flag over a wrong `-X` and a wrong variable.
#[test]
fn scram_sha_256_over_sasl_ssl_takes_the_flag_over_x_over_env_over_the_file() {
    let secure = secure();
    let [trust_type, trust_location] = trust_ca(secure);
    let props = write_properties(
        "sec-rt-ssl-scram256",
        &[
            "security.protocol=SASL_SSL",
            "sasl.mechanism=SCRAM-SHA-256",
            r#"sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="wrong-in-file";"#,
            &trust_type,
            &trust_location,
        ],
    );
    let props = props.display().to_string();
    let env = [
        ("KAFKA_CONFIG", props.as_str()),
        ("KAFKA_SASL_PASSWORD", "wrong-in-env"),
    ];
    let base = ["-b", &secure.sasl_ssl];
    let producer = [&base[..], &["-X", "sasl.password=alice-secret"]].concat();
    let consumer = [
        &base[..],
        &[
            "-X",
            "sasl.password=wrong-in-x",
            "--sasl-password",
            "alice-secret",
        ],
    ]
    .concat();
    round_trip(
        "sec-rt-ssl-scram256",
        (&producer, &env),
        (&consumer, &env),
        Some("SCRAM-SHA-256"),
    );
}

#[test]
fn scram_sha_512_over_sasl_ssl_takes_the_variables_over_the_file() {
    let secure = secure();
    let props = write_properties(
        "sec-rt-ssl-scram512",
        &[
            "bootstrap.servers=localhost:1",
            "security.protocol=SASL_SSL",
            "sasl.mechanism=SCRAM-SHA-512",
            r#"sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="wrong-in-file";"#,
            "ssl.ca.location=/nonexistent/ca.pem",
        ],
    );
    let props = props.display().to_string();
    let ca = cert(secure, "ca.pem");
    let env = [
        ("KAFKA_CONFIG", props.as_str()),
        ("KAFKA_BROKERS", secure.sasl_ssl.as_str()),
        ("KAFKA_SASL_PASSWORD", "alice-secret"),
        ("KAFKA_SSL_CA_LOCATION", ca.as_str()),
    ];
    round_trip(
        "sec-rt-ssl-scram512",
        (&[], &env),
        (&[], &env),
        Some("SCRAM-SHA-512"),
    );
}

/// Runs `name` with `way` and `--retries 2`, plainly and under RUST_LOG=debug; each run must
/// exit 1 with `message` on stderr and never print `secret`. Returns the plain run.
fn refused(name: &str, (args, env): Way, message: &str, secret: Option<&str>) -> util::Run {
    let args: Vec<&str> = args.iter().copied().chain(["--retries", "2"]).collect();
    let debug: Vec<(&str, &str)> = env.iter().copied().chain([("RUST_LOG", "debug")]).collect();
    let runs = [ours(name, (&args, env)), ours(name, (&args, &debug))];
    for run in &runs {
        assert_eq!(
            run.code, 1,
            "{name} {args:?}:\n{}{}",
            run.stdout, run.stderr
        );
        assert!(
            run.stderr.contains(message),
            "{name} {args:?}: no {message:?} in:\n{}",
            run.stderr
        );
        if let Some(secret) = secret {
            for out in [&run.stdout, &run.stderr] {
                assert!(!out.contains(secret), "{secret:?} shows:\n{out}");
            }
        }
    }
    let [plain, _] = runs;
    plain
}

#[test]
fn a_wrong_password_is_named_and_never_shown_however_it_was_given() {
    let secure = secure();
    let topic = util::unique("sec-wrong-password");
    let ca = cert(secure, "ca.pem");
    let base = [
        "-b",
        &secure.sasl_ssl,
        "-t",
        &topic,
        "--security-protocol",
        "SASL_SSL",
        "--sasl-mechanism",
        "SCRAM-SHA-256",
        "--sasl-username",
        "alice",
        "--ssl-ca-location",
        &ca,
    ];
    let message = "authentication failed for user 'alice' with SCRAM-SHA-256";
    let password = util::unique("wrong-password");
    let x = format!("sasl.password={password}");
    for extra in [&["--sasl-password", &password][..], &["-X", &x]] {
        let args = [&base[..], extra].concat();
        refused("order-producer", (&args, &[]), message, Some(&password));
    }
    let env = [("KAFKA_SASL_PASSWORD", password.as_str())];
    refused("order-consumer", (&base, &env), message, Some(&password));
    let jaas = format!(
        r#"sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="{password}";"#
    );
    let props = write_properties("sec-wrong-password", &[&jaas]);
    let props = props.display().to_string();
    let args = [&base[..], &["--config", &props]].concat();
    refused("order-producer", (&args, &[]), message, Some(&password));
}

/// Without ssl.ca.location the system's CA bundle is trusted; `SSL_CERT_FILE` names it first,
/// as OpenSSL reads it, so a test can stand in for /etc/ssl/certs.
#[test]
fn without_a_ca_location_the_system_bundle_is_trusted() {
    let secure = secure();
    let topic = util::unique("sec-system-ca");
    let args = [
        "-b",
        &secure.sasl_ssl,
        "-t",
        &topic,
        "--security-protocol",
        "SASL_SSL",
        "--sasl-username",
        "alice",
    ];
    let with_bundle = |bundle: &str| {
        let bundle = cert(secure, bundle);
        let env = [
            ("KAFKA_SASL_PASSWORD", "alice-secret"),
            ("SSL_CERT_FILE", bundle.as_str()),
        ];
        let mut run = ours("order-producer", (&args, &env));
        run.stderr = run.stderr.replace(&bundle, "BUNDLE");
        run
    };
    let trusted = with_bundle("ca.pem");
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    assert!(delivered_to(&trusted.stdout, &topic), "{}", trusted.stdout);
    let untrusted = with_bundle("other-ca.pem");
    assert_eq!(untrusted.code, 1, "{}", untrusted.stderr);
    assert!(
        untrusted.stderr.contains(
            "the broker's certificate is not trusted: no CA in the system's CA bundle BUNDLE \
             signed it; pass its CA with ssl.ca.location"
        ),
        "{}",
        untrusted.stderr
    );
    assert_no_password(&untrusted);
}

#[test]
fn tls_failures_say_which_side_is_wrong() {
    let secure = secure();
    let topic = util::unique("sec-tls-failures");
    let sasl_ssl = |bootstrap: &str, ca: &str| {
        let ca = cert(secure, ca);
        [
            "-b",
            bootstrap,
            "-t",
            &topic,
            "-X",
            "security.protocol=SASL_SSL",
            "-X",
            "sasl.mechanism=PLAIN",
            "-X",
            "sasl.username=alice",
            "-X",
            "sasl.password=alice-secret",
            "-X",
            &format!("ssl.ca.location={ca}"),
        ]
        .map(str::to_string)
        .to_vec()
    };
    let refuse = |args: &[String], message: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(
            "order-producer",
            (&args, &[]),
            message,
            Some("alice-secret"),
        );
    };
    refuse(
        &sasl_ssl(&secure.sasl_ssl, "other-ca.pem"),
        "the broker's certificate is not trusted",
    );
    let by_address = format!("127.0.0.1:{}", util::broker_port(&secure.sasl_ssl));
    let mut args = sasl_ssl(&by_address, "ca.pem");
    refuse(&args, "is not valid for the host name '127.0.0.1'");
    args.extend(["-X", "ssl.endpoint.identification.algorithm="].map(str::to_string));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let unchecked = ours("order-producer", (&args, &[]));
    assert_eq!(unchecked.code, 0, "{}", unchecked.stderr);
    assert!(
        delivered_to(&unchecked.stdout, &topic),
        "{}",
        unchecked.stdout
    );

    let ca = cert(secure, "ca.pem");
    let tls_on_plaintext = [
        "-b",
        &secure.plaintext,
        "-t",
        &topic,
        "--security-protocol",
        "SSL",
        "--ssl-ca-location",
        &ca,
    ];
    refused(
        "order-producer",
        (&tls_on_plaintext, &[]),
        "this port does not speak TLS",
        None,
    );
    let plaintext_on_tls = ["-b", &secure.ssl, "-t", &topic];
    refused(
        "order-consumer",
        (&plaintext_on_tls, &[]),
        "the broker answered with TLS",
        None,
    );
    let env = [
        ("KAFKA_SECURITY_PROTOCOL", "SSL"),
        ("KAFKA_SSL_CA_LOCATION", ca.as_str()),
    ];
    refused(
        "order-producer",
        (&plaintext_on_tls, &env),
        "it wants a client certificate",
        None,
    );
    let sasl_on_plaintext = [
        "-b",
        &secure.plaintext,
        "-t",
        &topic,
        "--security-protocol",
        "SASL_PLAINTEXT",
        "--sasl-username",
        "alice",
        "--sasl-password",
        "alice-secret",
    ];
    refused(
        "order-consumer",
        (&sasl_on_plaintext, &[]),
        "this listener does not take SASL logins",
        Some("alice-secret"),
    );
}

/// End offsets of `topic`'s partitions as Apache Kafka's GetOffsetShell reports them.
fn end_offsets_secure(topic: &str) -> Vec<i64> {
    let out = kafka_local(&[
        "run",
        "org.apache.kafka.tools.GetOffsetShell",
        "--bootstrap-server",
        &secure().plaintext,
        "--topic",
        topic,
    ])
    .output()
    .expect("scripts/kafka-local runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.rsplit(':').next()?.parse().ok())
        .collect()
}

/// bob (Read and Describe on topics only) as SCRAM-SHA-256 over SASL_PLAINTEXT.
const BOB_ENV: [(&str, &str); 4] = [
    ("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
    ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"),
    ("KAFKA_SASL_USERNAME", "bob"),
    ("KAFKA_SASL_PASSWORD", "bob-secret"),
];

#[test]
fn bob_may_not_write_and_nothing_is_reported_delivered() {
    let secure = secure();
    let topic = util::unique("sec-acl-write");
    create_topic_secure(&topic, 1);
    let base = ["-b", &secure.sasl_plaintext, "-t", &topic];
    // Idempotent (refused its producer id) and not (refused the records themselves).
    let plain_produce = [&base[..], &["--no-idempotence"]].concat();
    for args in [&base[..], &plain_produce] {
        let run = refused(
            "order-producer",
            (args, &BOB_ENV),
            &format!("not authorized to write topic '{topic}'"),
            Some("bob-secret"),
        );
        assert!(!run.stdout.contains("Offset:"), "{}", run.stdout);
        assert!(run.stderr.contains("sent 0, failed 1"), "{}", run.stderr);
    }
    assert_eq!(end_offsets_secure(&topic), [0]);
}

#[test]
fn reading_is_refused_per_group_for_bob_and_per_topic_for_carol() {
    let secure = secure();
    let topic = util::unique("sec-acl-read");
    create_topic_secure(&topic, 1);
    let base = ["-b", &secure.sasl_plaintext, "-t", &topic];
    let group = util::unique("sec-acl-g");
    let args = [&base[..], &["-g", &group, "--idle-timeout", "1"]].concat();
    refused(
        "order-consumer",
        (&args, &BOB_ENV),
        &format!("not authorized to use group '{group}'"),
        Some("bob-secret"),
    );
    // Without a group bob's Read on the topic is enough.
    let no_group = [&base[..], &["--no-group", "--idle-timeout", "1"]].concat();
    let run = ours("order-consumer", (&no_group, &BOB_ENV));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("received 0"), "{}", run.stderr);
    let carol = BOB_ENV.map(|(k, v)| match k {
        "KAFKA_SASL_USERNAME" => (k, "carol"),
        "KAFKA_SASL_PASSWORD" => (k, "carol-secret"),
        _ => (k, v),
    });
    refused(
        "order-consumer",
        (&args, &carol),
        &format!("not authorized to use topic '{topic}'"),
        Some("carol-secret"),
    );
}

/// The order_id of each JSON line (a delivery, an order, or a record holding one).
fn ids_of<S: AsRef<str>>(lines: &[S]) -> Vec<String> {
    let parse = |line: &str| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let values: Vec<serde_json::Value> = lines.iter().map(|l| parse(l.as_ref())).collect();
    util::order_ids(&values)
}

/// A client.properties for the Java tools: alice, SCRAM-SHA-512 over SASL_SSL, PEM truststore.
fn java_properties(secure: &Secure, name: &str) -> PathBuf {
    let [trust_type, trust_location] = trust_ca(secure);
    let bootstrap = format!("bootstrap.servers={}", secure.sasl_ssl);
    write_properties(
        name,
        &[
            &bootstrap,
            "security.protocol=SASL_SSL",
            "sasl.mechanism=SCRAM-SHA-512",
            r#"sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";"#,
            &trust_type,
            &trust_location,
        ],
    )
}

#[test]
fn apache_console_consumer_reads_what_we_wrote_with_the_same_java_properties() {
    let secure = secure();
    let props = java_properties(secure, "sec-java-ours-first");
    let path = props.display().to_string();
    let topic = util::unique("sec-java-ours-first");
    let sent = ours(
        "order-producer",
        (
            &["-F", &path, "-t", &topic, "-n", "3", "--format", "json"],
            &[],
        ),
    );
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let sent_ids = util::order_ids(&sent.json_lines());
    assert_eq!(sent_ids.len(), 3, "{}", sent.stdout);
    let read = apache_consume(&props, &secure.sasl_ssl, &topic, 3);
    assert_eq!(sorted(ids_of(&read)), sorted(sent_ids));
}

#[test]
fn we_read_what_apache_console_producer_wrote_with_the_same_java_properties() {
    let secure = secure();
    let props = java_properties(secure, "sec-java-apache-first");
    let topic = util::unique("sec-java-apache-first");
    let orders: Vec<String> = ["pen", "ink", "paper"]
        .iter()
        .map(|item| {
            let id = uuid::Uuid::new_v4();
            format!(r#"{{"order_id":"{id}","user":"java","item":"{item}","quantity":2}}"#)
        })
        .collect();
    let lines: Vec<&str> = orders.iter().map(String::as_str).collect();
    let out = apache_produce(&props, &secure.sasl_ssl, &topic, &lines);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("Exception"),
        "{stderr}"
    );
    let group = util::unique("sec-java-apache-first-g");
    let path = props.display().to_string();
    let read = ours(
        "order-consumer",
        (
            &[
                "--config",
                &path,
                "-t",
                &topic,
                "-g",
                &group,
                "--idle-timeout",
                "2",
                "--format",
                "json",
            ],
            &[],
        ),
    );
    assert_eq!(read.code, 0, "{}", read.stderr);
    assert_eq!(
        sorted(util::order_ids(&read.json_lines())),
        sorted(ids_of(&orders))
    );
    assert!(
        read.stderr.contains("received 3, invalid 0"),
        "{}",
        read.stderr
    );
}

#[test]
fn kcat_reads_what_we_wrote_with_the_same_librdkafka_properties() {
    let secure = secure();
    let (bootstrap, ca) = (
        format!("bootstrap.servers={}", secure.sasl_ssl),
        format!("ssl.ca.location={}", cert(secure, "ca.pem")),
    );
    // kcat's librdkafka (2.0.2) fails SCRAM against Kafka 4.x: PLAIN it is.
    let props = write_properties(
        "sec-kcat",
        &[
            &bootstrap,
            "security.protocol=SASL_SSL",
            "sasl.mechanisms=PLAIN",
            "sasl.username=alice",
            "sasl.password=alice-secret",
            &ca,
        ],
    );
    let path = props.display().to_string();
    let topic = util::unique("sec-kcat");
    let sent = ours(
        "order-producer",
        (
            &[
                "--config", &path, "-t", &topic, "-n", "3", "--format", "json",
            ],
            &[],
        ),
    );
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let sent_ids = util::order_ids(&sent.json_lines());
    assert_eq!(sent_ids.len(), 3, "{}", sent.stdout);
    let mut cmd = util::kcat();
    cmd.args(["-F", &path, "-C", "-t", &topic, "-e", "-q", "-f", "%s\n"]);
    let read = String::from_utf8(util::tool_output(cmd, b"")).expect("UTF-8 orders");
    let lines: Vec<&str> = read.lines().collect();
    assert_eq!(sorted(ids_of(&lines)), sorted(sent_ids));
}

/// Captures the loopback traffic to and from `port` with tcpdump while `during` runs.
fn capture(port: &str, during: impl FnOnce()) -> Vec<u8> {
    let file =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}.pcap", util::unique("capture")));
    let mut tcpdump = Command::new("tcpdump")
        // Immediate mode hands each packet over at once: without it packets wait in a kernel
        // block for a timeout, and a capture stopped before then holds none of them.
        .args(["-i", "lo", "--immediate-mode", "-U", "-w"])
        .arg(&file)
        .arg(format!("tcp port {port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("tcpdump does not run ({e}): install it with `apt-get install -y tcpdump`")
        });
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = std::io::BufReader::new(tcpdump.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(stderr).map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut said = Vec::new();
    while !said.iter().any(|l: &String| l.contains("listening on")) {
        match rx.recv_timeout(Duration::from_secs(15)) {
            Ok(line) => said.push(line),
            Err(_) => {
                let _ = tcpdump.kill();
                panic!("tcpdump did not start listening (run the tests as root):\n{said:?}");
            }
        }
    }
    during();
    // tcpdump reads packets from a kernel buffer: a moment for the last ones, then SIGINT
    // makes it write them out and exit.
    std::thread::sleep(Duration::from_millis(500));
    let stopped = Command::new("kill")
        .args(["-INT", &tcpdump.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = tcpdump.wait().unwrap();
    assert!(status.success(), "tcpdump: {status}");
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// Whether the producer's human output reports a delivery to `topic`.
fn delivered_to(stdout: &str, topic: &str) -> bool {
    let prefix = format!("Topic: {topic}, Partition: ");
    stdout
        .lines()
        .any(|l| l.starts_with(&prefix) && l.contains(", Offset: "))
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

#[test]
fn tls_hides_the_orders_and_the_password_from_a_packet_capture() {
    let secure = secure();
    let topic = util::unique("sec-capture");
    let marker = util::unique("marker");
    let produce = |bootstrap: &str, protocol: &str| {
        let args = [
            "-b",
            bootstrap,
            "-t",
            &topic,
            "--user",
            &marker,
            "--security-protocol",
            protocol,
            "--sasl-mechanism",
            "PLAIN",
        ];
        let ca = cert(secure, "ca.pem");
        let env = [
            ("KAFKA_SASL_USERNAME", "alice"),
            ("KAFKA_SASL_PASSWORD", "alice-secret"),
            ("KAFKA_SSL_CA_LOCATION", ca.as_str()),
        ];
        let run = ours("order-producer", (&args, &env));
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains(&marker), "{}", run.stdout);
    };
    let port = |addr: &str| util::broker_port(addr).to_string();
    let tls = capture(&port(&secure.sasl_ssl), || {
        produce(&secure.sasl_ssl, "SASL_SSL")
    });
    // The plaintext capture is the control that capturing works; on a loaded machine tcpdump
    // may still miss the first packets after it says it listens, so it gets three tries.
    let mut clear = Vec::new();
    for _ in 0..3 {
        clear = capture(&port(&secure.sasl_plaintext), || {
            produce(&secure.sasl_plaintext, "SASL_PLAINTEXT")
        });
        if holds(&clear, &marker) && holds(&clear, "alice-secret") {
            break;
        }
    }
    // The plaintext capture shows the capture works: the order and PLAIN's password are there.
    assert!(
        holds(&clear, &marker),
        "the plaintext capture lacks the order"
    );
    assert!(
        holds(&clear, "alice-secret"),
        "the plaintext capture lacks the login"
    );
    assert!(
        tls.len() > 2000,
        "the TLS capture holds {} bytes",
        tls.len()
    );
    assert!(!holds(&tls, &marker), "the order shows through TLS");
    assert!(
        !holds(&tls, "alice-secret"),
        "the password shows through TLS"
    );
}

/// The README's "Connect to a secured cluster" blocks, run as written: the broker, the CA, the
/// binaries and the topic swapped for the test's, in a directory holding `client.properties`.
#[test]
fn the_readme_secured_cluster_commands_deliver_and_read_an_order() {
    let secure = secure();
    let readme = util::read_file(&util::project_dir().join("README.md"));
    let section = readme
        .split("## Connect to a secured cluster")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Connect to a secured cluster section");
    let block = |fence: &str, n: usize| {
        section
            .split(fence)
            .nth(n)
            .and_then(|b| b.split("```").next())
            .unwrap_or_else(|| panic!("{fence} block {n} in the secured section"))
    };
    let topic = util::unique("sec-readme");
    let adapt = |text: &str| {
        text.replace("broker.example.com:9095", &secure.sasl_ssl)
            .replace("/etc/kafka/ca.pem", &cert(secure, "ca.pem"))
            .replace(
                "target/release/order-producer",
                env!("CARGO_BIN_EXE_order-producer"),
            )
            .replace(
                "target/release/order-consumer",
                env!("CARGO_BIN_EXE_order-consumer"),
            )
            .replace("secure-orders", &topic)
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(util::unique("sec-readme"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("client.properties"),
        adapt(block("```properties", 1)),
    )
    .unwrap();
    let commands = |n: usize| -> Vec<String> {
        let lines = block("```sh", n).lines().map(str::trim);
        lines.filter(|l| !l.is_empty()).map(adapt).collect()
    };
    let (file_way, x_way) = (commands(1), commands(2));
    assert_eq!(
        (file_way.len(), x_way.len()),
        (2, 1),
        "{file_way:?} {x_way:?}"
    );
    let sh = |command: &str| {
        let mut cmd = Command::new("bash");
        cmd.args(["-c", command]).current_dir(&dir);
        without_settings(&mut cmd);
        let run = util::Run::from(cmd.output().unwrap());
        assert_eq!(run.code, 0, "{command}:\n{}", run.stderr);
        run
    };
    let delivered = |run: &util::Run| -> Vec<String> {
        assert!(delivered_to(&run.stdout, &topic), "{}", run.stdout);
        let orders: Vec<&str> = run
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("Message delivered: "))
            .collect();
        ids_of(&orders)
    };
    let received = |run: &util::Run| -> Vec<String> {
        let orders: Vec<&str> = run
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("Received order: "))
            .collect();
        ids_of(&orders)
    };
    let first = delivered(&sh(&file_way[0]));
    assert_eq!(first.len(), 1);
    assert_eq!(received(&sh(&file_way[1])), first);
    // The -X command sends another order; the consumer's group has committed past the first.
    let second = delivered(&sh(&x_way[0]));
    assert_eq!(second.len(), 1);
    assert_eq!(received(&sh(&file_way[1])), second);
}
