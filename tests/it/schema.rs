//! The order contract as a JSON Schema file, checked against `Order::parse` by a real validator.
//!
//! `schema/order.schema.json` is for teams that write orders in other languages, so it must say
//! what the Rust code does. Python's `jsonschema` (`scripts/schema-validate`, run by the python
//! of the venv `make test` makes and names in `IT_PYTHON`) reads the consumer tests' poison
//! corpus, generated orders and edge cases at every rule's boundary, and must reach the verdict
//! of `Order::parse` on each, with formats asserted and without. A schema sees the parsed value,
//! not the bytes, so a few payloads differ: [`known_differences`] names each with its reason, and
//! each must still differ, so that the list stays true. No broker.
//!
//! `schema/order.avsc` says the same in Avro: the same fields, types and required set as the
//! JSON Schema, and the same verdicts as `Order::parse` on every payload of the corpus whose
//! values Avro can carry, written as Avro and read back through the codec.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use order_kafka::avro;
use order_kafka::order::{Order, MAX_ORDER_BYTES, MAX_QUANTITY, MAX_TEXT_CHARS};
use order_kafka::producer::random_order;
use serde_json::Value;

use crate::util;

const ID: &str = "9f1c2a7e-5d1b-4c39-8a56-0b8e2f1e3c4d";

fn schema_path() -> PathBuf {
    util::project_dir().join("schema/order.schema.json")
}

fn avro_schema_path() -> PathBuf {
    util::project_dir().join("schema/order.avsc")
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// An order with [`ID`] and the given JSON texts for the other three fields.
fn order(user: &str, item: &str, quantity: &str) -> Vec<u8> {
    format!(r#"{{"order_id":"{ID}","user":{user},"item":{item},"quantity":{quantity}}}"#)
        .into_bytes()
}

/// A valid order but for its `order_id`, given as JSON text.
fn with_id(id: &str) -> Vec<u8> {
    format!(r#"{{"order_id":{id},"user":"a","item":"b","quantity":1}}"#).into_bytes()
}

/// A valid order whose `user` is `user`.
fn with_user(user: &str) -> Vec<u8> {
    order(&json_string(user), r#""b""#, "1")
}

/// A valid order padded with spaces to `len` bytes.
fn padded_to(len: usize) -> Vec<u8> {
    let mut payload = order(r#""a""#, r#""b""#, "1");
    payload.resize(len, b' ');
    payload
}

/// Payloads both sides must judge alike: the consumer tests' poison, generated orders, and the
/// edges of every rule in `src/order.rs`.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut cases: Vec<(String, Vec<u8>)> = crate::consumer::poison()
        .into_iter()
        .map(|(payload, reason)| (format!("poison: {reason}"), payload))
        .collect();
    cases.extend((0..50).map(|i| {
        (
            format!("generated order {i}"),
            random_order(i).to_json().into(),
        )
    }));

    let n = MAX_TEXT_CHARS;
    let x = |count: usize| "x".repeat(count);
    let q = |quantity: &str| order(r#""a""#, r#""b""#, quantity);
    let edges: Vec<(&str, Vec<u8>)> = vec![
        // order_id: the hyphenated form only, in either case.
        ("order_id upper case", with_id(&json_string(&ID.to_uppercase()))),
        ("order_id mixed case", with_id(r#""9F1c2A7e-5d1B-4c39-8A56-0b8E2f1e3C4d""#)),
        ("order_id nil", with_id(r#""00000000-0000-0000-0000-000000000000""#)),
        ("order_id max", with_id(r#""ffffffff-ffff-ffff-ffff-ffffffffffff""#)),
        ("order_id simple form", with_id(r#""9f1c2a7e5d1b4c398a560b8e2f1e3c4d""#)),
        ("order_id braced", with_id(&json_string(&format!("{{{ID}}}")))),
        ("order_id urn", with_id(&json_string(&format!("urn:uuid:{ID}")))),
        ("order_id with '_'", with_id(r#""9f1c2a7e-5d1b-4c39-8a56-0b8e2f1e3c_d""#)),
        ("order_id with a leading '+'", with_id(r#""+f1c2a7e-5d1b-4c39-8a56-0b8e2f1e3c4d""#)),
        ("order_id with a leading space", with_id(r#"" f1c2a7e-5d1b-4c39-8a56-0b8e2f1e3c4d""#)),
        ("order_id with a trailing newline", with_id(&json_string(&format!("{ID}\n")))),
        ("order_id with a trailing space", with_id(&json_string(&format!("{ID} ")))),
        ("order_id one digit short", with_id(&json_string(&ID[1..]))),
        ("order_id a hyphen moved", with_id(r#""9f1c2a7e5-d1b-4c39-8a56-0b8e2f1e3c4d""#)),
        ("order_id not hex", with_id(r#""9f1c2a7g-5d1b-4c39-8a56-0b8e2f1e3c4d""#)),
        ("order_id empty", with_id(r#""""#)),
        ("order_id null", with_id("null")),
        ("order_id a number", with_id("12")),
        // user and item: 1..=256 characters (code points) once White_Space is trimmed.
        ("user of 256 ASCII characters", with_user(&x(n))),
        ("user of 257 ASCII characters", with_user(&x(n + 1))),
        ("user of 256 two-byte characters", with_user(&"é".repeat(n))),
        ("user of 256 characters beyond U+FFFF", with_user(&"😀".repeat(n))),
        ("user of 257 characters beyond U+FFFF", with_user(&"😀".repeat(n + 1))),
        (
            "user of 256 surrogate-pair escapes",
            order(&format!("\"{}\"", r"\ud83d\ude00".repeat(n)), r#""b""#, "1"),
        ),
        ("user of 256 characters padded", with_user(&format!("  {}\t\n", x(n)))),
        ("user of 257 characters padded", with_user(&format!("  {} ", x(n + 1)))),
        ("user with 254 inner spaces", with_user(&format!("x{}x", " ".repeat(n - 2)))),
        ("user with 255 inner spaces", with_user(&format!("x{}x", " ".repeat(n - 1)))),
        (
            "user padded with 600 ideographic spaces",
            with_user(&format!("{0}x{0}", "\u{3000}".repeat(300))),
        ),
        ("user padded with escaped U+3000", order(r#""\u3000a\u3000""#, r#""b""#, "1")),
        ("user with an inner newline", with_user("a\nb")),
        ("user trimmed to one character", with_user(" a ")),
        ("user a number", order("7", r#""b""#, "1")),
        ("user true", order("true", r#""b""#, "1")),
        ("user null", order("null", r#""b""#, "1")),
        ("user an array", order(r#"["a"]"#, r#""b""#, "1")),
        ("item of 257 characters", order(r#""a""#, &json_string(&x(n + 1)), "1")),
        ("item empty", order(r#""a""#, r#""""#, "1")),
        ("item padded", order(r#""a""#, r#""  b  ""#, "1")),
        ("item a number", order(r#""a""#, "3", "1")),
        // quantity: a JSON integer from 1 to 1,000,000.
        ("quantity 1", q("1")),
        ("quantity max", q(&MAX_QUANTITY.to_string())),
        ("quantity max + 1", q(&(MAX_QUANTITY + 1).to_string())),
        ("quantity -1", q("-1")),
        ("quantity -0", q("-0")),
        ("quantity 2^64", q("18446744073709551616")),
        ("quantity max + 0.5", q("1000000.5")),
        ("quantity max + 1 with a fraction", q("1000001.0")),
        ("quantity 1e400", q("1e400")),
        ("quantity NaN", q("NaN")),
        ("quantity Infinity", q("Infinity")),
        ("quantity -Infinity", q("-Infinity")),
        ("quantity true", q("true")),
        ("quantity null", q("null")),
        ("quantity an array", q("[1]")),
        // The object: exactly the four fields, in any order and layout.
        (
            "fields reversed, spaced out, newline after",
            format!("{{ \"quantity\" : 2 ,\n \"item\" : \"b\" , \"user\" : \"a\" , \"order_id\" : \"{ID}\" }}\n")
                .into_bytes(),
        ),
        (
            "field names escaped",
            format!(r#"{{"order\u005fid":"{ID}","\u0075ser":"a","item":"b","quantity":1}}"#)
                .into_bytes(),
        ),
        (
            "user missing",
            format!(r#"{{"order_id":"{ID}","item":"b","quantity":1}}"#).into_bytes(),
        ),
        (
            "item missing",
            format!(r#"{{"order_id":"{ID}","user":"a","quantity":1}}"#).into_bytes(),
        ),
        (
            "an extra field set to null",
            format!(r#"{{"order_id":"{ID}","user":"a","item":"b","quantity":1,"note":null}}"#)
                .into_bytes(),
        ),
        (
            "user spelt User",
            format!(r#"{{"order_id":"{ID}","User":"a","item":"b","quantity":1}}"#).into_bytes(),
        ),
        ("an order wrapped in an object", [b"{\"order\":", &q("1")[..], b"}"].concat()),
        ("an order in an array", [b"[", &q("1")[..], b"]"].concat()),
        ("two orders", [q("1"), q("2")].concat()),
        ("a trailing comma", order(r#""a""#, r#""b""#, "1,")),
        ("single quotes", b"{'order_id':'x'}".to_vec()),
        ("a raw tab in a string", order("\"a\tb\"", r#""b""#, "1")),
        ("an unknown escape", order(r#""a\x41""#, r#""b""#, "1")),
        (
            "user nested 5000 deep",
            order(&format!("{}{}", "[".repeat(5000), "]".repeat(5000)), r#""b""#, "1"),
        ),
        ("padded to the size limit", padded_to(MAX_ORDER_BYTES)),
    ];
    cases.extend(
        edges
            .into_iter()
            .map(|(name, payload)| (name.to_string(), payload)),
    );

    // White space is what Rust's `char::is_whitespace` says, checked char by char; and a few
    // characters that look blank, or that other definitions count, are text.
    for white in (0..=char::MAX as u32)
        .filter_map(char::from_u32)
        .filter(|c| c.is_whitespace())
    {
        let code = format!("U+{:04X}", white as u32);
        cases.push((format!("user only {code}"), with_user(&white.to_string())));
        cases.push((
            format!("user padded with {code}"),
            with_user(&format!("{white}a{white}")),
        ));
    }
    for text in ['\u{feff}', '\u{200b}', '\u{180e}', '\u{1c}', '\u{1f}', '\0'] {
        let code = format!("U+{:04X}", text as u32);
        cases.push((format!("user only {code}"), with_user(&text.to_string())));
    }
    cases
}

/// Payloads `Order::parse` refuses and the schema accepts, because a schema sees the parsed
/// value and not the bytes. Name, payload, reason.
fn known_differences() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        (
            "a field given twice",
            format!(r#"{{"order_id":"{ID}","user":"a","item":"b","quantity":1,"quantity":2}}"#)
                .into_bytes(),
            "a JSON parser keeps one value of a repeated name before any validator looks, and \
             JSON Schema has no keyword about names in the text",
        ),
        (
            "quantity written 5.0",
            order(r#""a""#, r#""b""#, "5.0"),
            "serde reads a fraction as a float, not an integer; JSON Schema 2020-12 counts any \
             number with a zero fraction as an integer",
        ),
        (
            "quantity written 1e3",
            order(r#""a""#, r#""b""#, "1e3"),
            "serde reads an exponent as a float, not an integer; JSON Schema sees the number 1000",
        ),
        (
            "a lone surrogate escape",
            order(r#""\ud800""#, r#""b""#, "1"),
            "\\ud800 is no Unicode character: serde_json refuses it, Python's json reads it into \
             a string, which the schema then checks like any other",
        ),
        (
            "a valid order padded past the size limit",
            padded_to(MAX_ORDER_BYTES + 1),
            "the size limit counts bytes on the wire; a schema sees the value, without the \
             white space around it",
        ),
    ]
}

/// The python with `jsonschema` that `make test` sets up.
fn python() -> String {
    std::env::var("IT_PYTHON").unwrap_or_else(|_| {
        panic!(
            "IT_PYTHON is not set: this test runs Python's jsonschema from the venv that \
             `make test` makes (target/schema-venv); run `make test`, or after it \
             IT_PYTHON=target/schema-venv/bin/python cargo test --test it schema::"
        )
    })
}

/// One verdict per payload from `scripts/schema-validate` ("valid", "invalid: ..." or
/// "not-json: ..."), in one run of the validator.
fn validate(schema: &Path, payloads: &[&[u8]], formats: bool) -> Vec<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hex: Vec<Value> = payloads
        .iter()
        .map(|p| {
            let digits = p
                .iter()
                .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            Value::String(digits.map(char::from).collect())
        })
        .collect();
    let python = python();
    let mut command = Command::new(&python);
    command
        .arg(util::project_dir().join("scripts/schema-validate"))
        .arg(schema);
    if !formats {
        command.arg("--no-format");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("IT_PYTHON={python}: {e}: run `make test` to make the venv"));
    // A validator that dies early closes its stdin; its stderr then says why.
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(&hex).unwrap());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scripts/schema-validate failed ({}); `make test` installs jsonschema:\n{stderr}",
        out.status
    );
    let verdicts: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        verdicts.len(),
        payloads.len(),
        "one verdict per payload\n{stderr}"
    );
    verdicts
}

fn accepted(verdict: &str) -> bool {
    verdict == "valid"
}

/// A payload as shown in a failure: its start, lossily decoded.
fn shown(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    let head: String = text.chars().take(100).collect();
    if head.len() < text.len() {
        format!("{head:?}... ({} bytes)", payload.len())
    } else {
        format!("{head:?}")
    }
}

/// The cases on which `verdicts` and `Order::parse` disagree, one line each.
fn disagreements(cases: &[(String, Vec<u8>)], verdicts: &[String]) -> Vec<String> {
    cases
        .iter()
        .zip(verdicts)
        .filter_map(|((name, payload), verdict)| {
            let parsed = Order::parse(payload);
            (parsed.is_ok() != accepted(verdict)).then(|| {
                let parsed = parsed.map_or_else(|e| format!("invalid: {e}"), |_| "valid".into());
                format!(
                    "{name}: Order::parse says {parsed}, the schema says {verdict}; payload {}",
                    shown(payload)
                )
            })
        })
        .collect()
}

#[test]
fn the_validator_agrees_with_order_parse_on_every_payload() {
    let cases = corpus();
    let known = known_differences();
    let payloads: Vec<&[u8]> = cases
        .iter()
        .map(|(_, p)| p.as_slice())
        .chain(known.iter().map(|(_, p, _)| p.as_slice()))
        .collect();
    for formats in [true, false] {
        let mode = if formats {
            "formats asserted"
        } else {
            "formats as annotations"
        };
        let verdicts = validate(&schema_path(), &payloads, formats);
        let (agreeing, differing) = verdicts.split_at(cases.len());

        let wrong = disagreements(&cases, agreeing);
        assert!(
            wrong.is_empty(),
            "{mode}: the schema and Order::parse disagree on {} of {} payloads:\n{}",
            wrong.len(),
            cases.len(),
            wrong.join("\n")
        );
        for ((name, payload, reason), verdict) in known.iter().zip(differing) {
            assert!(
                Order::parse(payload).is_err() && accepted(verdict),
                "{mode}: known difference {name:?} ({reason}) no longer differs: the schema says \
                 {verdict}, Order::parse {:?}; take it off the list and out of the schema's \
                 $comment",
                Order::parse(payload)
            );
        }

        let count = |prefix: &str| agreeing.iter().filter(|v| v.starts_with(prefix)).count();
        println!(
            "{mode}: agree on {} payloads ({} valid, {} invalid, {} not JSON); {} known differences",
            cases.len(),
            count("valid"),
            count("invalid"),
            count("not-json"),
            known.len()
        );
    }
}

/// JSON pointers to the schema's assertions: every keyword but the annotations, walking into the
/// subschemas under `properties` and `$defs`.
fn assertions(schema: &Value, at: &str, found: &mut Vec<String>) {
    for (keyword, value) in schema.as_object().expect("a schema is an object") {
        let here = format!("{at}/{keyword}");
        match keyword.as_str() {
            "properties" | "$defs" => {
                for (name, subschema) in value.as_object().unwrap() {
                    assertions(subschema, &format!("{here}/{name}"), found);
                }
            }
            // `format` asserts only where a validator is told to; the pattern beside it is the
            // rule, so taking `format` away changes no verdict.
            "$schema" | "$comment" | "title" | "description" | "format" => {}
            _ => found.push(here),
        }
    }
}

#[test]
fn taking_out_any_rule_of_the_schema_makes_some_payload_disagree() {
    let path = schema_path();
    let schema: Value = serde_json::from_str(&util::read_file(&path)).unwrap();
    let mut rules = Vec::new();
    assertions(&schema, "", &mut rules);
    let cases = corpus();
    let payloads: Vec<&[u8]> = cases.iter().map(|(_, p)| p.as_slice()).collect();

    let unguarded: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = rules
            .iter()
            .map(|rule| {
                let (schema, cases, payloads) = (&schema, &cases, &payloads);
                s.spawn(move || {
                    let (parent, keyword) = rule.rsplit_once('/').unwrap();
                    let mut loosened = schema.clone();
                    loosened
                        .pointer_mut(parent)
                        .and_then(Value::as_object_mut)
                        .and_then(|o| o.remove(keyword))
                        .unwrap();
                    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                        .join(format!("{}.schema.json", util::unique("loosened")));
                    std::fs::write(&file, serde_json::to_vec(&loosened).unwrap()).unwrap();
                    // `maxLength` matters only where `format` is not asserted: a rule is needed
                    // when either run misses it.
                    let caught = [true, false].into_iter().any(|formats| {
                        !disagreements(cases, &validate(&file, payloads, formats)).is_empty()
                    });
                    std::fs::remove_file(&file).unwrap();
                    (!caught).then(|| rule.clone())
                })
            })
            .collect();
        runs.into_iter().filter_map(|r| r.join().unwrap()).collect()
    });
    assert!(
        unguarded.is_empty(),
        "no payload needs these rules of {}; add a case at their edge: {unguarded:?}",
        path.display()
    );
    println!(
        "each of the schema's {} rules is needed by some payload: {rules:?}",
        rules.len()
    );
}

/// The JSON Schema type (and `format`) that an Avro field's type stands for: an Avro string is
/// a JSON string, its `uuid` logical type the `uuid` format; an Avro int or long is an integer.
fn json_type_of(avro_type: &Value) -> (String, Option<String>) {
    match avro_type {
        Value::String(name) => match name.as_str() {
            "string" => ("string".into(), None),
            "int" | "long" => ("integer".into(), None),
            other => panic!("an order field of Avro type {other}: add its JSON Schema type here"),
        },
        Value::Object(object) => {
            let (json_type, _) = json_type_of(&object["type"]);
            let format = object
                .get("logicalType")
                .map(|l| l.as_str().unwrap().to_string());
            (json_type, format)
        }
        other => {
            panic!("an order field of Avro type {other}: unions and defaults make it optional")
        }
    }
}

/// The JSON Schema property `name`, with its `$ref` (to `$defs`) followed.
fn property<'a>(schema: &'a Value, name: &str) -> &'a Value {
    let property = &schema["properties"][name];
    match property.get("$ref").and_then(Value::as_str) {
        Some(pointer) => schema
            .pointer(pointer.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{name}: $ref {pointer} names nothing")),
        None => property,
    }
}

#[test]
fn the_avro_schema_has_the_json_schemas_fields_types_and_required_set() {
    let avro: Value = serde_json::from_str(&util::read_file(&avro_schema_path())).unwrap();
    let json: Value = serde_json::from_str(&util::read_file(&schema_path())).unwrap();
    assert_eq!(avro["type"], "record");
    assert_eq!(avro["name"], json["title"]);
    // An Avro record holds its fields and no others, as additionalProperties false says.
    assert_eq!(json["additionalProperties"], false);

    let fields = avro["fields"].as_array().expect("a fields array");
    let mut avro_names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    // Without a default a reader needs the field from every writer: Avro's "required".
    let mut avro_required: Vec<&str> = fields
        .iter()
        .filter(|f| f.get("default").is_none())
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let mut json_names: Vec<&str> = json["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut json_required: Vec<&str> = json["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for list in [
        &mut avro_names,
        &mut avro_required,
        &mut json_names,
        &mut json_required,
    ] {
        list.sort_unstable();
    }
    assert_eq!(avro_names, json_names, "the same field names");
    assert_eq!(avro_required, json_required, "the same required fields");

    for field in fields {
        let name = field["name"].as_str().unwrap();
        let (json_type, format) = json_type_of(&field["type"]);
        let property = property(&json, name);
        assert_eq!(property["type"], json_type.as_str(), "field {name}: type");
        assert_eq!(
            property.get("format").and_then(Value::as_str),
            format.as_deref(),
            "field {name}: the logical type and the format"
        );
        // An integer is an Avro int when its range fits 32 bits, a long only when it must be:
        // a reader of ints cannot read longs.
        if json_type == "integer" {
            let bound = |k: &str| property[k].as_i64().unwrap();
            let fits =
                i64::from(i32::MIN) <= bound("minimum") && bound("maximum") <= i64::from(i32::MAX);
            assert_eq!(
                field["type"],
                if fits { "int" } else { "long" },
                "field {name}: the Avro type for the JSON Schema's range"
            );
        }
    }
}

/// The values of a JSON payload as the Avro of schema/order.avsc (in its field order), when it
/// is an object of the four fields whose values Avro can carry: strings, and an integer that
/// fits an int.
fn as_avro(payload: &[u8]) -> Option<Vec<u8>> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(payload) else {
        return None;
    };
    if object.len() != 4 {
        return None;
    }
    let mut avro = Vec::new();
    for name in ["order_id", "user", "item"] {
        avro::put_string(&mut avro, object.get(name)?.as_str()?);
    }
    let quantity = object.get("quantity")?.as_i64()?;
    avro::put_long(&mut avro, i32::try_from(quantity).ok()?.into());
    Some(avro)
}

#[test]
fn orders_in_avro_get_the_verdict_of_order_parse_on_every_payload_avro_can_carry() {
    let writer = avro::Schema::parse(&util::read_file(&avro_schema_path())).unwrap();
    assert_eq!(
        &writer,
        avro::Schema::order(),
        "the codec reads with schema/order.avsc"
    );
    let (mut json, mut encoded) = (Vec::new(), Vec::new());
    let (mut valid, mut invalid, mut skipped, mut wrong) = (0, 0, 0, Vec::new());
    for (name, payload) in corpus() {
        let Some(bytes) = as_avro(&payload) else {
            skipped += 1;
            continue;
        };
        let parsed = Order::parse(&payload);
        let read = avro::decode_order(&writer, &bytes, &mut json);
        match (&parsed, &read) {
            (Ok(order), Ok(read)) if order == read => {
                // And what the encoder writes of it reads back the same.
                encoded.clear();
                avro::encode_order(order, &mut encoded);
                let again = avro::decode_order(&writer, &encoded, &mut json);
                assert_eq!(again.as_ref(), Ok(order), "{name}: encoded and read again");
                valid += 1;
            }
            (Err(_), Err(avro::Error::Invalid(_))) => invalid += 1,
            _ => wrong.push(format!(
                "{name}: Order::parse says {parsed:?}, the Avro codec {read:?}; payload {}",
                shown(&payload)
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "Avro and Order::parse disagree on {} payloads:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        valid >= 50 && invalid >= 20,
        "{valid} valid, {invalid} invalid"
    );
    println!("Avro agrees on {valid} valid and {invalid} invalid orders; {skipped} payloads have no Avro form");
}
