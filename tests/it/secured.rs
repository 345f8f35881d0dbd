//! The secured broker of issue #14: a real Apache Kafka with TLS, SASL and ACLs, started once per
//! test process by `scripts/kafka-local secure start` (its header lists the listeners, users,
//! certificates and ACLs) and left running for the next process; `make test` stops it at the end.
//! Apache Kafka's own console tools, configured by client.properties files, are the reference
//! client here: what they can do, or are refused, is what the broker allows.

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
