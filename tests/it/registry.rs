//! Avro and JSON Schema orders through a real Schema Registry, judged by Confluent's own client.
//!
//! The registry is a real Apicurio Registry (its Confluent-compatible API at `IT_REGISTRY`, which
//! `make test` starts with `scripts/with-registry`); the judge is `scripts/registry-judge`, run by
//! the python of `IT_PYTHON`: confluent-kafka's SchemaRegistryClient, AvroSerializer /
//! AvroDeserializer (fastavro) and JSONSerializer / JSONDeserializer. Python reads what we wrote,
//! we read what Python wrote, evolved schemas under BACKWARD compatibility are read, and each way
//! a registry or a record can be wrong ends with its exit code or dead letter and clear words.
//! Every test has its own topics, hence its own subjects (`<topic>-value`). Without a registry
//! or the judge every test fails, saying how to get them.

use serde_json::{json, Value};

use crate::util::{self, run, run_with_env};

/// The four fields of an order, from a delivery line, a consumer line or a decoded value.
fn order_of(v: &Value) -> Value {
    let o = if v["order"].is_object() {
        &v["order"]
    } else {
        v
    };
    json!({
        "order_id": o["order_id"],
        "user": o["user"],
        "item": o["item"],
        "quantity": o["quantity"],
    })
}

fn orders_of(lines: &[Value]) -> Vec<Value> {
    lines.iter().map(order_of).collect()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `order-producer --serializer SERIALIZER --count N` with the registry under test (none for
/// `json`): the orders its delivery lines (`Message delivered: {json}`) report, in order.
fn produce_ours(topic: &str, serializer: &str, n: u64, extra: &[&str]) -> Vec<Value> {
    let count = n.to_string();
    let mut args = vec!["-t", topic, "--count", &count];
    if serializer == "json-schema" {
        json_schema_subject(topic);
    }
    // `json`, the default, is today's plain JSON, without a registry.
    if serializer != "json" {
        args.extend_from_slice(&[
            "--serializer",
            serializer,
            "--schema-registry",
            util::registry(),
        ]);
    }
    args.extend_from_slice(extra);
    let r = run("order-producer", &args);
    assert_eq!(
        r.code, 0,
        "order-producer --serializer {serializer}: {}",
        r.stderr
    );
    let orders: Vec<Value> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Message delivered: "))
        .map(|json| serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}")))
        .collect();
    assert_eq!(orders.len() as u64, n, "{}", r.stdout);
    orders
}

/// Keeps `<topic>-value` at compatibility NONE whatever the registry's global rule: Apicurio 2.4
/// answers a compatibility check of a draft 2020-12 JSON Schema (ours) with a 500.
fn json_schema_subject(topic: &str) {
    util::judge(&[
        "compatibility",
        util::registry(),
        &format!("{topic}-value"),
        "NONE",
    ]);
}

/// N orders written by Python's serializer of `format` (avro, json-schema), optionally with an
/// evolved writer schema and the fields it adds; the orders as sent.
fn produce_python(
    topic: &str,
    format: &str,
    n: u32,
    schema: Option<&str>,
    fields: Option<&str>,
) -> Vec<Value> {
    let broker = util::broker();
    let count = n.to_string();
    let mut args = vec!["produce", broker, util::registry(), topic, format, &count];
    let schema = schema.map(|s| util::project_dir().join(s).display().to_string());
    if let Some(schema) = &schema {
        args.extend_from_slice(&["--schema", schema]);
    }
    if let Some(fields) = fields {
        args.extend_from_slice(&["--fields", fields]);
    }
    let sent = json_lines(&util::judge(&args));
    assert_eq!(sent.len(), n as usize);
    sent
}

/// What Python's deserializer of `format` decodes from the first `n` records of `topic`:
/// (schema id, value) each.
fn consume_python(topic: &str, format: &str, n: usize) -> Vec<(u64, Value)> {
    let count = n.to_string();
    let out = util::judge(&[
        "consume",
        util::broker(),
        util::registry(),
        topic,
        format,
        &count,
    ]);
    json_lines(&out)
        .into_iter()
        .map(|l| {
            (
                l["schema_id"].as_u64().expect("a wire-format record"),
                l["value"].clone(),
            )
        })
        .collect()
}

/// One record value as Python's serializer of `format` writes it for `order` (registering the
/// writer schema under `<topic>-value`).
fn python_wire(topic: &str, format: &str, order: &Value, schema: Option<&str>) -> Vec<u8> {
    let order = order.to_string();
    let mut args = vec!["wire", util::registry(), topic, format, &order];
    let schema = schema.map(|s| util::project_dir().join(s).display().to_string());
    if let Some(schema) = &schema {
        args.extend_from_slice(&["--schema", schema]);
    }
    let hex = util::judge(&args);
    let hex = hex.trim();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// The latest version of `subject` as the registry reports it to Python.
fn latest(subject: &str) -> Value {
    let out = util::judge(&["latest", util::registry(), subject]);
    serde_json::from_str(out.trim()).unwrap()
}

/// The schema id of a Confluent wire-format value: magic byte 0, then 4 bytes big-endian.
fn wire_id(value: &[u8]) -> u32 {
    assert!(value.len() > 5, "not a wire-format record: {value:?}");
    assert_eq!(value[0], 0, "magic byte");
    u32::from_be_bytes(value[1..5].try_into().unwrap())
}

/// `order-consumer --schema-registry` with the registry under test, JSON output, until idle.
fn consume_ours(topic: &str, group: &str, extra: &[&str]) -> util::Run {
    let mut args = vec![
        "-t",
        topic,
        "-g",
        group,
        "--schema-registry",
        util::registry(),
        "--idle-timeout",
        "2",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    run("order-consumer", &args)
}

fn a_python_order(i: u32) -> Value {
    json!({
        "order_id": uuid::Uuid::new_v4().to_string(),
        "user": format!("wire-{i}"),
        "item": "hand-made record",
        "quantity": i + 1,
    })
}

/// The harness itself: the judge reads what the judge wrote, through the real broker and
/// registry, in both formats; its records are the Confluent wire format with the id the
/// registry holds for `<topic>-value`, keyed by the order id.
#[test]
fn the_judge_reads_what_the_judge_wrote() {
    for (format, schema_type) in [("avro", "AVRO"), ("json-schema", "JSON")] {
        let topic = util::topic(&format!("reg-judge-{format}"), 1);
        let sent = produce_python(&topic, format, 3, None, None);
        let subject = latest(&format!("{topic}-value"));
        assert_eq!(subject["schema_type"], schema_type, "{subject}");
        let id = subject["id"].as_u64().unwrap();
        let decoded = consume_python(&topic, format, 3);
        assert_eq!(
            decoded,
            sent.iter().map(|o| (id, o.clone())).collect::<Vec<_>>()
        );
        let stored = util::read_all(&topic);
        for (s, o) in stored.iter().zip(&sent) {
            assert_eq!(u64::from(wire_id(&s.value)), id);
            assert_eq!(s.key, o["order_id"].as_str().unwrap().as_bytes());
        }
        // `wire` writes what `produce` does, and the plain HTTP helper sees the same registry.
        let wire = python_wire(&topic, format, &sent[0], None);
        assert_eq!(wire[..5], stored[0].value[..5], "{format}");
        if format == "avro" {
            assert_eq!(wire, stored[0].value);
        } else {
            let payload = |v: &[u8]| serde_json::from_slice::<Value>(&v[5..]).unwrap();
            assert_eq!(payload(&wire), payload(&stored[0].value));
        }
        let (status, body) = util::http(
            "GET",
            &format!("{}/schemas/ids/{id}", util::registry()),
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    // The judge's refusals carry the registry's message.
    let subject = format!("{}-value", util::unique("reg-judge-refusal"));
    util::judge(&["compatibility", util::registry(), &subject, "BACKWARD"]);
    let path = |p: &str| util::project_dir().join(p).display().to_string();
    util::judge(&[
        "register",
        util::registry(),
        &subject,
        "AVRO",
        &path("tests/schemas/order-legacy.avsc"),
    ]);
    let refusal = util::judge(&[
        "register",
        util::registry(),
        &subject,
        "AVRO",
        &path("schema/order.avsc"),
        "--refused",
    ]);
    assert!(refusal.contains("Incompatible"), "{refusal}");
    let (status, _) = util::http(
        "GET",
        &format!("{}/schemas/ids/2147483391", util::registry()),
        None,
    )
    .unwrap();
    assert_eq!(status, 404, "an unknown id");
}

#[test]
fn python_reads_the_avro_orders_we_write() {
    let topic = util::topic("reg-avro-out", 1);
    let delivered = produce_ours(&topic, "avro", 5, &[]);

    // The wire format with the id the registry gave our schema under <topic>-value, keyed by id.
    let subject = latest(&format!("{topic}-value"));
    assert_eq!(subject["schema_type"], "AVRO", "{subject}");
    let stored = util::read_all(&topic);
    assert_eq!(stored.len(), 5);
    for (s, d) in stored.iter().zip(&delivered) {
        assert_eq!(
            u64::from(wire_id(&s.value)),
            subject["id"].as_u64().unwrap()
        );
        assert_eq!(
            s.key,
            order_of(d)["order_id"].as_str().unwrap().as_bytes(),
            "the key is the order id"
        );
    }

    let decoded = consume_python(&topic, "avro", 5);
    assert_eq!(
        decoded.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        orders_of(&delivered),
        "AvroDeserializer decodes exactly the orders delivered"
    );

    // The delivery lines are today's.
    let r = run(
        "order-producer",
        &[
            "-t",
            &topic,
            "--serializer",
            "avro",
            "--schema-registry",
            util::registry(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let json = lines[0]
        .strip_prefix("Message delivered: ")
        .expect(lines[0]);
    assert!(json.starts_with("{\"order_id\":\""), "{json}");
    assert_eq!(lines[1], format!("Topic: {topic}, Partition: 0, Offset: 5"));
    let last = &consume_python(&topic, "avro", 6)[5].1;
    assert_eq!(*last, serde_json::from_str::<Value>(json).unwrap());
}

#[test]
fn python_reads_the_json_schema_orders_we_write() {
    let topic = util::topic("reg-json-out", 1);
    let delivered = produce_ours(&topic, "json-schema", 5, &[]);

    let subject = latest(&format!("{topic}-value"));
    assert_eq!(subject["schema_type"], "JSON", "{subject}");
    let stored = util::read_all(&topic);
    assert_eq!(stored.len(), 5);
    for (s, d) in stored.iter().zip(&delivered) {
        assert_eq!(
            u64::from(wire_id(&s.value)),
            subject["id"].as_u64().unwrap()
        );
        let payload: Value =
            serde_json::from_slice(&s.value[5..]).expect("the order's JSON after the id");
        assert_eq!(order_of(&payload), order_of(d));
        assert_eq!(s.key, order_of(d)["order_id"].as_str().unwrap().as_bytes());
    }

    let decoded = consume_python(&topic, "json-schema", 5);
    assert_eq!(
        decoded.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        orders_of(&delivered),
        "JSONDeserializer (validating against the registered schema) decodes the orders delivered"
    );
}

#[test]
fn we_read_what_python_avro_and_json_serializers_wrote() {
    for format in ["avro", "json-schema"] {
        let topic = util::topic(&format!("reg-{format}-in"), 1);
        let sent = produce_python(&topic, format, 5, None, None);
        let r = consume_ours(&topic, &util::unique("g"), &[]);
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
        assert_eq!(
            orders_of(&r.json_lines()),
            sent,
            "{format}: every order, in order"
        );
        assert!(
            r.stderr.contains("received 5, invalid 0, dead-lettered 0"),
            "{}",
            r.stderr
        );

        // The human output is today's, byte for byte.
        let r = run(
            "order-consumer",
            &[
                "-t",
                &topic,
                "-g",
                &util::unique("g"),
                "--schema-registry",
                util::registry(),
                "--idle-timeout",
                "2",
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!(
            lines[..2],
            ["Starting Kafka Consumer...", "Listening for messages..."]
        );
        let first = &sent[0];
        assert_eq!(
            lines[2],
            format!(
                "Received order: {{\"order_id\":\"{}\",\"user\":\"{}\",\"item\":\"{}\",\"quantity\":{}}}",
                first["order_id"].as_str().unwrap(),
                first["user"].as_str().unwrap(),
                first["item"].as_str().unwrap(),
                first["quantity"]
            )
        );
        assert_eq!(lines[3], "Partition: 0, Offset: 0");
        assert_eq!(lines.len(), 2 + 2 * 5, "{}", r.stdout);
    }
}

/// BACKWARD compatibility on a fresh subject: our v1 (schema/order.avsc), then Python's writers
/// of `evolved` schemas (each becoming the next version), then our consumer reads every record
/// as an order, without the writers' extra fields.
fn read_after_evolution(prefix: &str, evolved: &[&str]) {
    let topic = util::topic(prefix, 1);
    let subject = format!("{topic}-value");
    util::judge(&["compatibility", util::registry(), &subject, "BACKWARD"]);
    let mut expected = orders_of(&produce_ours(&topic, "avro", 2, &[]));
    let v1 = latest(&subject);
    let note = Some(r#"{"note": "gift wrap"}"#);
    for (i, schema) in evolved.iter().enumerate() {
        let sent = produce_python(&topic, "avro", 2, Some(schema), note);
        expected.extend(sent.iter().map(order_of));
        let now = latest(&subject);
        assert_eq!(
            now["version"],
            i + 2,
            "the registry took {schema} as version {}: {now}",
            i + 2
        );
        assert_ne!(now["id"], v1["id"]);
    }

    let r = consume_ours(&topic, &util::unique("g"), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = r.json_lines();
    assert_eq!(
        orders_of(&lines),
        expected,
        "v1 and {evolved:?} records, each an order: {}",
        r.stderr
    );
    assert!(
        lines
            .iter()
            .all(|l| l["order"].get("note").is_none() && l.get("note").is_none()),
        "the output is the order, without the writer's extra field: {}",
        r.stdout
    );
    let n = expected.len();
    assert!(
        r.stderr
            .contains(&format!("received {n}, invalid 0, dead-lettered 0")),
        "{}",
        r.stderr
    );
}

/// v2 adds `note` with a default: Avro's resolution skips it.
#[test]
fn a_writer_that_added_a_field_with_a_default_is_read() {
    read_after_evolution("reg-evolve-note", &["tests/schemas/order-v2-note.avsc"]);
}

/// v3 also promotes quantity from int to long (BACKWARD compatible, so the registry takes it).
/// Avro writes int and long alike (zig-zag varints), so a long within our range is our int.
#[test]
fn a_writer_that_promoted_quantity_from_int_to_long_is_read() {
    read_after_evolution(
        "reg-evolve-long",
        &[
            "tests/schemas/order-v2-note.avsc",
            "tests/schemas/order-v3-long.avsc",
        ],
    );
}

#[test]
fn an_incompatible_schema_is_refused_and_the_producer_shows_the_registry_message() {
    let topic = util::topic("reg-refused", 1);
    let subject = format!("{topic}-value");
    util::judge(&["compatibility", util::registry(), &subject, "BACKWARD"]);
    let legacy = util::project_dir().join("tests/schemas/order-legacy.avsc");
    util::judge(&[
        "register",
        util::registry(),
        &subject,
        "AVRO",
        &legacy.display().to_string(),
    ]);
    // What the registry says to Python for the same registration; its list of differences comes
    // in no fixed order, so the part before it is compared.
    let ours = util::project_dir().join("schema/order.avsc");
    let refusal = util::judge(&[
        "register",
        util::registry(),
        &subject,
        "AVRO",
        &ours.display().to_string(),
        "--refused",
    ]);
    let message = refusal.trim().split(", list of diff types").next().unwrap();
    assert!(message.contains("Incompatible"), "{refusal}");

    let r = run(
        "order-producer",
        &[
            "-t",
            &topic,
            "--serializer",
            "avro",
            "--schema-registry",
            util::registry(),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(message),
        "the registry's own message {message:?} in: {}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "nothing delivered: {}", r.stdout);
    assert!(util::read_all(&topic).is_empty(), "nothing written");
}

#[test]
fn without_auto_register_the_schema_must_be_registered_already() {
    let topic = util::topic("reg-no-auto", 1);
    let subject = format!("{topic}-value");
    let args = [
        "-t",
        topic.as_str(),
        "--serializer",
        "avro",
        "--schema-registry",
        util::registry(),
        "--no-auto-register",
    ];
    let r = run("order-producer", &args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not registered"), "{}", r.stderr);
    assert!(util::read_all(&topic).is_empty());

    let ours = util::project_dir().join("schema/order.avsc");
    let id: u32 = util::judge(&[
        "register",
        util::registry(),
        &subject,
        "AVRO",
        &ours.display().to_string(),
    ])
    .trim()
    .parse()
    .unwrap();
    let r = run("order-producer", &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let stored = util::read_all(&topic);
    assert_eq!(stored.len(), 1);
    assert_eq!(
        wire_id(&stored[0].value),
        id,
        "the id registered beforehand"
    );
    // The property name says the same.
    let r = run(
        "order-producer",
        &[
            "-t",
            &topic,
            "-X",
            "value.serializer=avro",
            "-X",
            &format!("schema.registry.url={}", util::registry()),
            "-X",
            "auto.register.schemas=false",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(latest(&subject)["version"], 1, "nothing new registered");
}

/// The settings by their environment variables and property names, and several URLs tried in
/// order (the first down).
#[test]
fn settings_come_from_env_and_properties_and_several_urls_are_tried_in_order() {
    let topic = util::topic("reg-settings", 1);
    json_schema_subject(&topic);
    let down = format!("http://127.0.0.1:{}/apis/ccompat/v7", util::free_port());
    let both = format!("{down},{}", util::registry());
    let r = run_with_env(
        "order-producer",
        &["-t", &topic],
        &[
            ("KAFKA_SERIALIZER", "avro"),
            ("KAFKA_SCHEMA_REGISTRY", &both),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(
        "order-producer",
        &[
            "-t",
            &topic,
            "-X",
            "value.serializer=json-schema",
            "-X",
            &format!("schema.registry.url={both}"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let stored = util::read_all(&topic);
    assert_eq!(stored.len(), 2);
    assert_ne!(
        wire_id(&stored[0].value),
        wire_id(&stored[1].value),
        "an Avro and a JSON Schema id"
    );
    assert_eq!(stored[1].value[5], b'{', "JSON after the id");

    let r = run_with_env(
        "order-consumer",
        &[
            "-t",
            &topic,
            "-g",
            &util::unique("g"),
            "--idle-timeout",
            "2",
            "--format",
            "json",
        ],
        &[("KAFKA_SCHEMA_REGISTRY", &both)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json_lines().len(), 2, "{}", r.stdout);
}

#[test]
fn a_registry_that_is_down_ends_the_producer_naming_it() {
    let topic = util::topic("reg-down", 1);
    let port = util::free_port();
    let url = format!("http://127.0.0.1:{port}/apis/ccompat/v7");
    let started = std::time::Instant::now();
    let r = run(
        "order-producer",
        &[
            "-t",
            &topic,
            "--serializer",
            "avro",
            "--schema-registry",
            &url,
        ],
    );
    println!("gave up after {:?}", started.elapsed());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("127.0.0.1:{port}")),
        "names the registry: {}",
        r.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(120));
    assert!(util::read_all(&topic).is_empty());
}

#[test]
fn a_wrong_registry_path_is_a_clear_failure() {
    let topic = util::topic("reg-404", 1);
    let base = util::registry().split("/apis/").next().unwrap();
    let url = format!("{base}/no/such/api");
    let r = run(
        "order-producer",
        &[
            "-t",
            &topic,
            "--serializer",
            "json-schema",
            "--schema-registry",
            &url,
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("404") || r.stderr.contains(&url),
        "says what the registry answered, or which URL: {}",
        r.stderr
    );
    assert!(util::read_all(&topic).is_empty());
}

/// A registry that wants another login answers 401: the producer says so, sent the login as HTTP
/// basic auth, and never prints the password, not even at debug level.
#[test]
fn a_401_is_reported_and_the_login_secret_is_never_printed() {
    let topic = util::topic("reg-401", 1);
    let body = r#"{"error_code":401,"message":"Unauthorized"}"#;
    let (url, requests) = util::canned_http(format!(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"registry\"\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    let secret = "s3cret-Pw0rd";
    let r = run_with_env(
        "order-producer",
        &[
            "-t",
            &topic,
            "--serializer",
            "avro",
            "--schema-registry",
            &url,
            "--registry-user-info",
            &format!("alice:{secret}"),
        ],
        &[("RUST_LOG", "debug")],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("401"), "{}", r.stderr);
    assert!(
        !r.stderr.contains(secret) && !r.stdout.contains(secret),
        "{}",
        r.stderr
    );
    // base64("alice:s3cret-Pw0rd"), which would print the password all the same.
    let basic = "YWxpY2U6czNjcmV0LVB3MHJk";
    assert!(!r.stderr.contains(basic), "{}", r.stderr);
    let requests = requests.lock().unwrap().clone();
    assert!(
        requests.iter().any(|q| q
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("authorization:")
                && l.ends_with(&format!("Basic {basic}")))),
        "the login goes as HTTP basic auth: {requests:?}"
    );
    // The same through the environment variable.
    let r = run_with_env(
        "order-producer",
        &[
            "-t",
            &topic,
            "--serializer",
            "avro",
            "--schema-registry",
            &url,
        ],
        &[(
            "KAFKA_SCHEMA_REGISTRY_USER_INFO",
            &format!("alice:{secret}"),
        )],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("401") && !r.stderr.contains(secret),
        "{}",
        r.stderr
    );
    assert!(util::read_all(&topic).is_empty());
}

/// A CA, a certificate it signed for 127.0.0.1 and localhost (with its key), and a CA that
/// signed nothing, made with openssl in a fresh directory.
fn tls_certs() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(util::unique("registry-tls"));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = |name: &str| {
        format!(
            "openssl req -x509 -new -newkey rsa:2048 -nodes -days 2 -config /dev/null \
             -keyout {name}.key -out {name}.pem -subj '/O=order-kafka/CN={name} for the registry tests' \
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
             -addext subjectKeyIdentifier=hash"
        )
    };
    let server = "printf '%s\\n' basicConstraints=critical,CA:FALSE \
         keyUsage=critical,digitalSignature,keyEncipherment subjectKeyIdentifier=hash \
         authorityKeyIdentifier=keyid subjectAltName=DNS:localhost,IP:127.0.0.1 \
         extendedKeyUsage=serverAuth >server.ext && \
         openssl req -new -newkey rsa:2048 -nodes -config /dev/null -keyout server.key \
         -subj '/O=order-kafka/CN=localhost' -out server.csr && \
         openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -days 2 \
         -set_serial 0x$(openssl rand -hex 16) -extfile server.ext -out server.pem";
    for script in [ca("ca"), ca("other-ca"), server.to_string()] {
        let out = std::process::Command::new("bash")
            .args(["-c", &script])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dir
}

/// The registry under test behind TLS: the judge's `tls-proxy` with a certificate of
/// [`tls_certs`], stopped when dropped.
struct TlsRegistry {
    child: std::process::Child,
    /// The https:// URL of the registry's API through the proxy.
    url: String,
}

impl TlsRegistry {
    fn start(certs: &std::path::Path) -> TlsRegistry {
        use std::io::BufRead;
        let mut child = std::process::Command::new(util::it_python())
            .arg(util::project_dir().join("scripts/registry-judge"))
            .arg("tls-proxy")
            .arg(certs.join("server.pem"))
            .arg(certs.join("server.key"))
            .arg(util::registry())
            .args(["--seconds", "300"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the judge's tls-proxy starts");
        let mut port = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        let port: u16 = port
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("tls-proxy printed no port: {port:?}"));
        let rest = util::registry().strip_prefix("http://").unwrap();
        let path = rest.find('/').map_or("", |at| &rest[at..]);
        TlsRegistry {
            child,
            url: format!("https://127.0.0.1:{port}{path}"),
        }
    }
}

impl Drop for TlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An https:// registry (the TLS build): trusted through `--registry-ca` (or its property
/// `schema.registry.ssl.ca.location`), refused with a CA that did not sign its certificate.
#[test]
fn an_https_registry_is_trusted_through_its_ca() {
    let certs = tls_certs();
    let tls = TlsRegistry::start(&certs);
    let ca = certs.join("ca.pem").display().to_string();
    let other = certs.join("other-ca.pem").display().to_string();
    let topic = util::topic("reg-tls", 1);

    let r = run(
        "order-producer",
        &[
            "-t",
            &topic,
            "--serializer",
            "avro",
            "--schema-registry",
            &tls.url,
            "--registry-ca",
            &other,
        ],
    );
    assert_eq!(r.code, 1, "a certificate no given CA signed: {}", r.stderr);
    assert!(util::read_all(&topic).is_empty());

    let r = run(
        "order-producer",
        &[
            "-t",
            &topic,
            "--serializer",
            "avro",
            "--schema-registry",
            &tls.url,
            "--registry-ca",
            &ca,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(
        "order-producer",
        &[
            "-t",
            &topic,
            "-X",
            "value.serializer=avro",
            "-X",
            &format!("schema.registry.url={}", tls.url),
            "-X",
            &format!("schema.registry.ssl.ca.location={ca}"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let stored = util::read_all(&topic);
    assert_eq!(stored.len(), 2);
    let id = latest(&format!("{topic}-value"))["id"].as_u64().unwrap();
    for s in &stored {
        assert_eq!(
            u64::from(wire_id(&s.value)),
            id,
            "the registry behind the proxy"
        );
    }

    let r = run(
        "order-consumer",
        &[
            "-t",
            &topic,
            "-g",
            &util::unique("g"),
            "--schema-registry",
            &tls.url,
            "--registry-ca",
            &ca,
            "--idle-timeout",
            "2",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json_lines().len(), 2, "{}", r.stdout);
    let _ = std::fs::remove_dir_all(&certs);
}

#[test]
fn the_wire_format_without_a_registry_is_a_usage_error() {
    let topic = util::topic("reg-usage", 1);
    let r = run("order-producer", &["-t", &topic, "--serializer", "avro"]);
    assert_eq!(r.code, 2, "{}", r.stderr);

    util::produce_raw(
        &topic,
        &[(None, python_wire(&topic, "avro", &a_python_order(0), None))],
    );
    let r = run(
        "order-consumer",
        &[
            "-t",
            &topic,
            "-g",
            &util::unique("g"),
            "--idle-timeout",
            "2",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--schema-registry"), "{}", r.stderr);
}

/// Records the consumer cannot turn into orders go to the dead-letter topic with the reason, in
/// the envelope and the log; their valid neighbours (Avro, JSON Schema, plain JSON) are printed.
#[test]
fn undecodable_records_are_dead_lettered_with_the_reason() {
    let topic = util::topic("reg-poison", 1);
    let dlq = format!("{topic}.dlq");
    util::kafka_local(util::broker_port(util::broker()), &["topic", &dlq, "1"]);
    let good: Vec<Value> = (0..3).map(a_python_order).collect();
    let avro = python_wire(&topic, "avro", &good[0], None);
    let json_schema = python_wire(&format!("{topic}-js"), "json-schema", &good[1], None);
    let plain = good[2].to_string().into_bytes();
    // A writer whose quantity is a string: no resolution to our int (a subject of its own, at
    // the registry's default compatibility).
    let text_quantity = json!({
        "order_id": uuid::Uuid::new_v4().to_string(), "user": "u", "item": "i", "quantity": "many",
    });
    let unresolvable = python_wire(
        &format!("{topic}-text"),
        "avro",
        &text_quantity,
        Some("tests/schemas/order-quantity-text.avsc"),
    );
    let unknown_id = [&[0u8, 0x7f, 0xff, 0xff, 0x0f][..], &avro[5..]].concat();
    let magic_one = [&[1u8][..], &avro[1..]].concat();
    let truncated = avro[..avro.len() - 3].to_vec();
    let header_only = avro[..3].to_vec();

    // (value, the reason's words: any of them), by offset; None is a valid order.
    let records: Vec<(Vec<u8>, Option<&[&str]>)> = vec![
        (avro.clone(), None),
        (unknown_id, Some(&["unknown schema id"])),
        (json_schema, None),
        (magic_one, Some(&["magic byte"])),
        (truncated, Some(&["truncated"])),
        (plain, None),
        (header_only, Some(&["truncated"])),
        (unresolvable, Some(&["incompatible", "cannot be resolved"])),
        (avro, None),
    ];
    let raw: Vec<(Option<&[u8]>, Vec<u8>)> =
        records.iter().map(|(v, _)| (None, v.clone())).collect();
    util::produce_raw(&topic, &raw);

    let r = consume_ours(&topic, &util::unique("g"), &[]);
    assert_eq!(r.code, 0, "the consumer survives: {}", r.stderr);
    let expected = vec![
        good[0].clone(),
        good[1].clone(),
        good[2].clone(),
        good[0].clone(),
    ];
    assert_eq!(
        orders_of(&r.json_lines()),
        expected,
        "the valid neighbours, in order: {}",
        r.stderr
    );
    let bad = records.iter().filter(|(_, why)| why.is_some()).count();
    assert!(
        r.stderr.contains(&format!(
            "received {}, invalid {bad}, dead-lettered {bad}",
            records.len() - bad
        )),
        "{}",
        r.stderr
    );

    let letters = util::read_all(&dlq);
    assert_eq!(letters.len(), bad);
    for letter in letters {
        let envelope: Value = serde_json::from_slice(&letter.value).unwrap();
        let offset = envelope["offset"].as_i64().unwrap();
        let (payload, why) = &records[offset as usize];
        let words =
            why.unwrap_or_else(|| panic!("offset {offset}, a valid order, was dead-lettered"));
        let reason = envelope["reason"].as_str().unwrap();
        assert!(
            words.iter().any(|w| reason.contains(w)),
            "offset {offset}: reason {reason:?}, expected one of {words:?}"
        );
        assert!(
            r.stderr.contains(reason),
            "the log names the reason {reason:?}: {}",
            r.stderr
        );
        assert_eq!(envelope["source_topic"], topic.as_str());
        let original = match envelope["payload_encoding"].as_str().unwrap() {
            "text" => envelope["payload"].as_str().unwrap().as_bytes().to_vec(),
            "base64" => order_kafka::base64::decode(envelope["payload"].as_str().unwrap()).unwrap(),
            other => panic!("encoding {other}"),
        };
        assert_eq!(
            &original, payload,
            "offset {offset}: the payload is kept whole"
        );
    }
}

/// A registry that does not answer is not the record's fault: the consumer retries, then ends
/// with exit 1 naming the registry, dead-letters nothing and commits nothing past the record;
/// the next run with the registry back reads it.
#[test]
fn a_registry_that_is_down_ends_the_consumer_without_dead_lettering() {
    let topic = util::topic("reg-consumer-down", 1);
    let dlq = format!("{topic}.dlq");
    util::kafka_local(util::broker_port(util::broker()), &["topic", &dlq, "1"]);
    let first = a_python_order(0);
    let second = a_python_order(1);
    util::produce_raw(
        &topic,
        &[
            (None, first.to_string().into_bytes()),
            (None, python_wire(&topic, "avro", &second, None)),
        ],
    );
    let group = util::unique("g");
    let port = util::free_port();
    let down = format!("http://127.0.0.1:{port}/apis/ccompat/v7");
    let started = std::time::Instant::now();
    let r = run(
        "order-consumer",
        &[
            "-t",
            &topic,
            "-g",
            &group,
            "--schema-registry",
            &down,
            "--retries",
            "3",
            "--idle-timeout",
            "5",
            "--format",
            "json",
        ],
    );
    println!("gave up after {:?}", started.elapsed());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("127.0.0.1:{port}")),
        "names the registry: {}",
        r.stderr
    );
    assert!(
        orders_of(&r.json_lines()).iter().all(|o| *o == first),
        "at most the plain order printed: {}",
        r.stdout
    );
    assert!(util::read_all(&dlq).is_empty(), "nothing dead-lettered");
    let committed = util::committed(util::broker(), &group, &topic)[&0];
    assert!(committed < 2, "offset 1 not committed: {committed}");

    let r = consume_ours(&topic, &group, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let read = orders_of(&r.json_lines());
    assert_eq!(
        read.last(),
        Some(&second),
        "the Avro order is read once the registry answers: {}",
        r.stdout
    );
}

/// One topic holding plain JSON, Avro and JSON Schema records, ours and Python's: all read.
#[test]
fn a_topic_of_mixed_formats_is_read_record_by_record() {
    let mixed = util::topic("reg-mixed", 1);
    let ours_avro = util::topic("reg-mixed-avro", 1);
    let ours_json = util::topic("reg-mixed-js", 1);
    let python_avro = util::topic("reg-mixed-pyavro", 1);
    let python_json = util::topic("reg-mixed-pyjs", 1);
    let mut sources: Vec<Vec<Value>> = vec![
        produce_ours(&mixed, "json", 2, &[]),
        orders_of(&produce_ours(&ours_avro, "avro", 2, &[])),
        orders_of(&produce_ours(&ours_json, "json-schema", 2, &[])),
        produce_python(&python_avro, "avro", 2, None, None),
        produce_python(&python_json, "json-schema", 2, None, None),
    ];
    // The wire-format records copied as they are, interleaved after the two plain ones.
    let copied: Vec<Vec<util::Stored>> = [&ours_avro, &ours_json, &python_avro, &python_json]
        .iter()
        .map(|t| util::read_all(t))
        .collect();
    let mut expected = sources.remove(0);
    let mut raw = Vec::new();
    for i in 0..2 {
        for (records, orders) in copied.iter().zip(&sources) {
            raw.push((Some(records[i].key.as_slice()), records[i].value.clone()));
            expected.push(orders[i].clone());
        }
    }
    util::produce_raw(&mixed, &raw);

    let r = consume_ours(&mixed, &util::unique("g"), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = r.json_lines();
    assert_eq!(orders_of(&lines), expected, "every record, in order");
    assert_eq!(
        lines
            .iter()
            .map(|l| l["offset"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    assert!(
        r.stderr.contains("received 10, invalid 0, dead-lettered 0"),
        "{}",
        r.stderr
    );
}

/// The README's "Schemas and a Schema Registry" commands, run as written against the broker and
/// registry under test (the binaries under test, a fresh topic and group).
#[test]
fn the_readme_schema_registry_commands_run() {
    let readme = util::read_file(&util::project_dir().join("README.md"));
    let block = readme
        .split("## Schemas and a Schema Registry")
        .nth(1)
        .and_then(|s| s.split("```sh").nth(1))
        .and_then(|b| b.split("```").next())
        .expect("a sh block in the Schemas and a Schema Registry section");
    let topic = util::unique("readme-avro");
    let group = util::unique("readme-g");
    let adapt = |command: &str| {
        command
            .replace("http://127.0.0.1:8081/apis/ccompat/v7", util::registry())
            .replace("orders-avro", &topic)
            .replace(
                "target/release/order-producer",
                &format!(
                    "{} -b {}",
                    env!("CARGO_BIN_EXE_order-producer"),
                    util::broker()
                ),
            )
            .replace(
                "target/release/order-consumer",
                &format!(
                    "{} -b {} -g {group}",
                    env!("CARGO_BIN_EXE_order-consumer"),
                    util::broker()
                ),
            )
    };
    let mut outputs = Vec::new();
    for line in block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let command = line.split("  #").next().unwrap().trim();
        // The build with the registry is the one these tests run (`make test` builds it so).
        if command.starts_with("cargo build") {
            assert_eq!(command, "cargo build --release --features tls");
            continue;
        }
        // `make registry` and `make topic` are the ones the harness has already done its own way.
        if command.starts_with("make ") {
            if command.starts_with("make topic") {
                util::kafka_local(util::broker_port(util::broker()), &["topic", &topic, "1"]);
            }
            continue;
        }
        let command = adapt(command);
        let out = std::process::Command::new("bash")
            .args(["-c", &command])
            .current_dir(util::project_dir())
            .env("KAFKA_PORT", util::broker_port(util::broker()))
            .env("KAFKA_VERSION", util::kafka_version())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "`{command}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push(stdout);
    }
    let all = outputs.concat();
    let delivered = all.matches("Message delivered: ").count();
    assert!(delivered >= 1, "the README produces orders: {all}");
    assert_eq!(
        all.matches("Received order: ").count(),
        delivered,
        "and reads them back: {all}"
    );
    assert!(
        util::read_all(&topic).iter().all(|s| s.value[0] == 0),
        "in the wire format"
    );
}
