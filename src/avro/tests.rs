//! The codec against byte vectors worked out from the specification (and cross-checked with
//! Python's fastavro 1.13), the specification's resolution rules case by case, and hostile
//! payloads: every truncation and every single-byte change of a payload gives a typed error.

use super::*;
use crate::order::Order;

const ID: &str = "9f1c2a7e-5d1b-4c39-8a56-0b8e2f1e3c4d";

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn schema(text: &str) -> Schema {
    Schema::parse(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn order() -> Order {
    Order::new(ID.parse().unwrap(), "alice", "book", 2).unwrap()
}

/// Our schema with `fields` (JSON texts) in place of its own.
fn order_schema(name: &str, fields: &[&str]) -> String {
    format!(
        r#"{{"type":"record","name":"{name}","fields":[{}]}}"#,
        fields.join(",")
    )
}

const ORDER_ID: &str = r#"{"name":"order_id","type":{"type":"string","logicalType":"uuid"}}"#;
const USER: &str = r#"{"name":"user","type":"string"}"#;
const ITEM: &str = r#"{"name":"item","type":"string"}"#;
const QUANTITY: &str = r#"{"name":"quantity","type":"int"}"#;

/// `payload` (hex) written with `writer`, read as `reader`: the JSON text, or the error's.
fn check(writer: &str, reader: &str, payload: &str, expected: &str) {
    let mut json = Vec::new();
    let actual = match decode_json(
        &schema(writer),
        &schema(reader),
        &hex(payload),
        1 << 20,
        &mut json,
    ) {
        Ok(()) => String::from_utf8(json).unwrap(),
        Err(e) => format!("error: {e}"),
    };
    assert_eq!(actual, expected, "writer {writer}\nreader {reader}");
}

#[test]
fn longs_and_strings_encode_as_the_specification_shows() {
    let cases: [(i64, &str); 11] = [
        (0, "00"),
        (-1, "01"),
        (1, "02"),
        (-2, "03"),
        (2, "04"),
        (-64, "7f"),
        (64, "80 01"),
        (8192, "80 80 01"),
        (-8193, "81 80 01"),
        (i64::MAX, "fe ff ff ff ff ff ff ff ff 01"),
        (i64::MIN, "ff ff ff ff ff ff ff ff ff 01"),
    ];
    for (value, bytes) in cases {
        let mut out = Vec::new();
        put_long(&mut out, value);
        assert_eq!(out, hex(bytes), "{value}");
        check(r#""long""#, r#""long""#, bytes, &value.to_string());
    }
    let mut out = Vec::new();
    put_string(&mut out, "foo");
    assert_eq!(out, hex("06 66 6f 6f"));
    check(r#""string""#, r#""string""#, "06 66 6f 6f", r#""foo""#);
    check(r#""int""#, r#""int""#, "fe ff ff ff 0f", "2147483647");
    check(r#""int""#, r#""int""#, "ff ff ff ff 0f", "-2147483648");
}

#[test]
fn an_order_encodes_as_fastavro_writes_it() {
    let mut out = vec![0xaa];
    encode_order(&order(), &mut out);
    let expected = [
        &[0xaa, 72][..],
        ID.as_bytes(),
        &[10],
        b"alice",
        &[8],
        b"book",
        &[4],
    ]
    .concat();
    assert_eq!(out, expected, "appended after what the buffer held");
    assert_eq!(
        out[1..],
        hex("4839663163326137652d356431622d346333392d386135362d3062386532663165336334640a616c69636508626f6f6b04")
    );
}

#[test]
fn orders_round_trip_through_one_buffer_each() {
    let (mut payload, mut json) = (Vec::new(), Vec::new());
    for i in 0..200 {
        let sent = crate::producer::random_order(i);
        payload.clear();
        encode_order(&sent, &mut payload);
        let read = decode_order(Schema::order(), &payload, &mut json).unwrap();
        assert_eq!(read, sent);
        assert_eq!(json, sent.to_json().as_bytes(), "JSON in schema order");
    }
}

#[test]
fn our_schema_is_the_order_record() {
    let ours = Schema::order();
    let root = ours.get(ours.root());
    let schema::Type::Record { name, fields } = root else {
        panic!("{root:?}");
    };
    assert_eq!(name, "order_kafka.Order");
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["order_id", "user", "item", "quantity"]);
    assert!(fields.iter().all(|f| f.default.is_none()));
}

#[test]
fn varints_stop_at_ten_bytes_and_ints_at_32_bits() {
    check(
        r#""long""#,
        r#""long""#,
        "ff ff ff ff ff ff ff ff ff 02",
        "error: Avro payload has a varint at byte 0 longer than 10 bytes or over 64 bits",
    );
    check(
        r#""long""#,
        r#""long""#,
        "80 80 80 80 80 80 80 80 80 80 00",
        "error: Avro payload has a varint at byte 0 longer than 10 bytes or over 64 bits",
    );
    check(
        r#""int""#,
        r#""int""#,
        "80 80 80 80 10",
        "error: Avro int at byte 0 is 2147483648, outside 32 bits",
    );
    check(
        r#""int""#,
        r#""long""#,
        "80 80 80 80 10",
        "error: Avro int at byte 0 is 2147483648, outside 32 bits",
    );
}

#[test]
fn a_writer_with_a_new_field_is_read_without_it() {
    let note = r#"{"name":"note","type":["null","string"],"default":null}"#;
    let v2 = schema(&order_schema(
        "Order",
        &[ORDER_ID, USER, ITEM, QUANTITY, note],
    ));
    let mut json = Vec::new();
    // fastavro's bytes for the order with note "gift".
    let payload = hex("4839663163326137652d356431622d346333392d386135362d3062386532663165336334640a616c69636508626f6f6b04020867696674");
    assert_eq!(decode_order(&v2, &payload, &mut json).unwrap(), order());
    let mut null_note = payload[..payload.len() - 6].to_vec();
    null_note.push(0);
    assert_eq!(decode_order(&v2, &null_note, &mut json).unwrap(), order());
}

/// A writer with fields of every type around ours, in another namespace, as fastavro wrote it.
const RICH: &str = r#"{"type":"record","name":"Order","namespace":"com.example.shop","fields":[
    {"name":"flag","type":"boolean"},
    {"name":"order_id","type":"string"},
    {"name":"price","type":"double"},
    {"name":"weight","type":"float"},
    {"name":"address","type":{"type":"record","name":"Address","fields":[
        {"name":"city","type":"string"},{"name":"zip","type":["null","int"]}]}},
    {"name":"user","type":"string"},
    {"name":"tags","type":{"type":"array","items":"string"}},
    {"name":"attrs","type":{"type":"map","values":"long"}},
    {"name":"item","type":"string"},
    {"name":"digest","type":{"type":"fixed","name":"Digest","size":4}},
    {"name":"state","type":{"type":"enum","name":"State","symbols":["NEW","PAID"]}},
    {"name":"blob","type":"bytes"},
    {"name":"quantity","type":"int"},
    {"name":"previous","type":["null","Address"]}]}"#;

const RICH_PAYLOAD: &str =
    "01 4839663163326137652d356431622d346333392d386135362d306238653266316533633464 \
    0000000000002340 0000803e 084f736c6f 02ac02 0a616c696365 04 0261 046263 00 02 026b 0e 00 \
    08626f6f6b 01020304 02 04ff00 04 02 08526f6d65 00";

#[test]
fn writer_fields_of_every_type_are_skipped() {
    let mut json = Vec::new();
    let read = decode_order(&schema(RICH), &hex(RICH_PAYLOAD), &mut json).unwrap();
    assert_eq!(read, order());
    check(
        RICH,
        RICH,
        RICH_PAYLOAD,
        &format!(
            r#"{{"flag":true,"order_id":"{ID}","price":9.5,"weight":0.25,"address":{{"city":"Oslo","zip":150}},"user":"alice","tags":["a","bc"],"attrs":{{"k":7}},"item":"book","digest":"\u0001\u0002\u0003\u0004","state":"PAID","blob":"ÿ\u0000","quantity":2,"previous":{{"city":"Rome","zip":null}}}}"#
        ),
    );
}

#[test]
fn a_block_sized_in_bytes_is_jumped_over_or_read() {
    // tags as one block of -2 items in 5 bytes, then the end.
    let writer = order_schema(
        "Order",
        &[
            r#"{"name":"tags","type":{"type":"array","items":"string"}}"#,
            QUANTITY,
        ],
    );
    let reader = order_schema("Order", &[QUANTITY]);
    check(
        &writer,
        &reader,
        "03 0a 02 61 04 62 63 00 04",
        r#"{"quantity":2}"#,
    );
    check(
        &writer,
        &writer,
        "03 0a 02 61 04 62 63 00 04",
        r#"{"tags":["a","bc"],"quantity":2}"#,
    );
    check(
        &writer,
        &reader,
        "03 7e 02 61 04 62 63 00 04",
        "error: Avro payload truncated: a block at byte 2 runs past its end",
    );
    check(
        &writer,
        &reader,
        "03 01 00 04",
        "error: Avro payload has a negative length -1 at byte 1",
    );
}

#[test]
fn a_reader_field_the_writer_lacks_takes_its_default() {
    let writer = order_schema("Order", &[USER, QUANTITY]);
    let reader = order_schema(
        "Order",
        &[
            USER,
            r#"{"name":"note","type":"string","default":"none"}"#,
            r#"{"name":"gift","type":["null","string"],"default":null}"#,
            r#"{"name":"size","type":{"type":"record","name":"Size","fields":[{"name":"w","type":"int"}]},"default":{"w":1}}"#,
            QUANTITY,
        ],
    );
    check(
        &writer,
        &reader,
        "02 61 04",
        r#"{"user":"a","quantity":2,"note":"none","gift":null,"size":{"w":1}}"#,
    );
    let no_default = order_schema("Order", &[USER, ITEM, QUANTITY]);
    check(
        &writer,
        &no_default,
        "02 61 04",
        "error: writer's Avro schema is incompatible with ours at field `item`: the writer has no \
         such field and ours has no default",
    );
}

#[test]
fn a_writer_that_dropped_an_optional_field_is_read_with_its_default() {
    let note = r#"{"name":"note","type":["null","string"],"default":null}"#;
    let v1 = order_schema("Order", &[USER, note, QUANTITY]);
    let v2 = order_schema("Order", &[USER, QUANTITY]);
    check(
        &v1,
        &v1,
        "02 61 02 02 62 04",
        r#"{"user":"a","note":"b","quantity":2}"#,
    );
    check(
        &v2,
        &v1,
        "02 61 04",
        r#"{"user":"a","quantity":2,"note":null}"#,
    );
}

#[test]
fn numbers_are_promoted_and_strings_and_bytes_read_as_each_other() {
    let cases = [
        (r#""int""#, r#""long""#, "04", "2"),
        (r#""int""#, r#""float""#, "04", "2.0"),
        (r#""int""#, r#""double""#, "03", "-2.0"),
        (r#""long""#, r#""float""#, "80 01", "64.0"),
        (
            r#""long""#,
            r#""double""#,
            "feffffffffffffffff01",
            "9.223372036854776e18",
        ),
        (r#""float""#, r#""double""#, "0000803e", "0.25"),
        (r#""float""#, r#""float""#, "cdcccc3d", "0.1"),
        (
            r#""float""#,
            r#""double""#,
            "cdcccc3d",
            "0.10000000149011612",
        ),
        (r#""double""#, r#""double""#, "000000000000f87f", "null"),
        (r#""float""#, r#""float""#, "0000807f", "null"),
        (r#""string""#, r#""bytes""#, "04 c3 bf", r#""Ã¿""#),
        (r#""bytes""#, r#""string""#, "04 c3 bf", r#""ÿ""#),
        (
            r#""bytes""#,
            r#""string""#,
            "02 ff",
            "error: Avro string is not UTF-8 at byte 1",
        ),
        (
            r#""string""#,
            r#""string""#,
            "06 22 5c 0a",
            r#""\"\\\u000a""#,
        ),
        // Beyond the specification: a long that fits 32 bits is read as our int (a writer
        // that widened a field); one that does not is an error for that value alone.
        (r#""long""#, r#""int""#, "04", "2"),
        (r#""long""#, r#""int""#, "feffffff0f", "2147483647"),
        (
            r#""long""#,
            r#""int""#,
            "8080808010",
            "error: Avro int at byte 0 is 2147483648, outside 32 bits",
        ),
        (
            r#""double""#,
            r#""float""#,
            "0000000000000000",
            "error: writer's Avro schema is incompatible with ours: the writer's double cannot \
             be read as our float",
        ),
    ];
    for (writer, reader, payload, expected) in cases {
        check(writer, reader, payload, expected);
    }
    // An int quantity read as a long one.
    let wide = order_schema("Order", &[r#"{"name":"quantity","type":"long"}"#]);
    check(
        &order_schema("Order", &[QUANTITY]),
        &wide,
        "04",
        r#"{"quantity":2}"#,
    );
}

#[test]
fn a_quantity_written_as_a_string_is_incompatible_and_names_the_field() {
    let writer = order_schema(
        "Order",
        &[
            ORDER_ID,
            USER,
            ITEM,
            r#"{"name":"quantity","type":"string"}"#,
        ],
    );
    let mut payload = Vec::new();
    for s in [ID, "alice", "book", "2"] {
        put_string(&mut payload, s);
    }
    let mut json = Vec::new();
    let e = decode_order(&schema(&writer), &payload, &mut json).unwrap_err();
    assert_eq!(
        e,
        Error::Incompatible {
            field: "quantity".into(),
            why: "the writer's string cannot be read as our int".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "writer's Avro schema is incompatible with ours at field `quantity`: the writer's string \
         cannot be read as our int"
    );
    let long = order_schema(
        "Order",
        &[ORDER_ID, USER, ITEM, r#"{"name":"quantity","type":"long"}"#],
    );
    // A writer that widened the quantity to a long still yields the order.
    payload.truncate(payload.len() - 2);
    put_long(&mut payload, 2);
    let order = decode_order(&schema(&long), &payload, &mut json).unwrap();
    assert_eq!(order.quantity(), 2);
}

#[test]
fn nested_incompatibility_names_the_path() {
    let writer = r#"{"type":"record","name":"R","fields":[{"name":"address","type":
        {"type":"record","name":"A","fields":[{"name":"city","type":"int"}]}}]}"#;
    let reader = r#"{"type":"record","name":"R","fields":[{"name":"address","type":
        {"type":"record","name":"A","fields":[{"name":"city","type":"string"}]}}]}"#;
    check(
        writer,
        reader,
        "02",
        "error: writer's Avro schema is incompatible with ours at field `address.city`: the \
         writer's int cannot be read as our string",
    );
}

#[test]
fn records_resolve_by_unqualified_name_and_fields_by_name_or_alias() {
    let writer = r#"{"type":"record","name":"com.example.Order","fields":[{"name":"customer","type":"string"}]}"#;
    let reader = r#"{"type":"record","name":"Order","namespace":"other","fields":[{"name":"user","type":"string","aliases":["customer"]}]}"#;
    check(writer, reader, "02 61", r#"{"user":"a"}"#);
    let other = r#"{"type":"record","name":"Invoice","fields":[{"name":"user","type":"string","aliases":["customer"]}]}"#;
    check(
        writer,
        other,
        "02 61",
        "error: writer's Avro schema is incompatible with ours: the writer's record \
         `com.example.Order` cannot be read as our record `Invoice`",
    );
}

#[test]
fn a_writer_union_resolves_by_the_branch_it_holds() {
    let writer = order_schema("Order", &[r#"{"name":"quantity","type":["null","int"]}"#]);
    let reader = order_schema("Order", &[QUANTITY]);
    check(&writer, &reader, "02 04", r#"{"quantity":2}"#);
    check(
        &writer,
        &reader,
        "00",
        "error: writer's Avro schema is incompatible with ours at field `quantity`: the writer's \
         null cannot be read as our int",
    );
    check(
        &writer,
        &reader,
        "04 04",
        "error: Avro union index 2 at byte 0 is not one of the writer's 2 branches",
    );
    check(
        &writer,
        &reader,
        "01 04",
        "error: Avro union index -1 at byte 0 is not one of the writer's 2 branches",
    );
}

#[test]
fn a_reader_union_takes_its_first_branch_that_matches() {
    check(
        r#""int""#,
        r#"["null","string","double","int"]"#,
        "04",
        "2.0",
    );
    check(r#""int""#, r#"["null","int","double"]"#, "04", "2");
    check(r#""null""#, r#"["string","null"]"#, "", "null");
    check(
        r#"["int","string"]"#,
        r#"["null","string","long"]"#,
        "00 04",
        "2",
    );
    check(
        r#"["int","string"]"#,
        r#"["null","string","long"]"#,
        "02 02 61",
        r#""a""#,
    );
    check(
        r#""boolean""#,
        r#"["null","string"]"#,
        "01",
        "error: writer's Avro schema is incompatible with ours: the writer's boolean cannot be \
         read as our union",
    );
}

#[test]
fn enums_resolve_by_symbol_or_the_readers_default() {
    let writer = r#"{"type":"enum","name":"State","symbols":["NEW","PAID","SENT"]}"#;
    let reader = r#"{"type":"enum","name":"State","symbols":["SENT","NEW"],"default":"NEW"}"#;
    let strict = r#"{"type":"enum","name":"State","symbols":["SENT","NEW"]}"#;
    check(writer, reader, "04", r#""SENT""#);
    check(writer, reader, "02", r#""NEW""#);
    check(
        writer,
        strict,
        "02",
        "error: writer's Avro schema is incompatible with ours: the writer's symbol `PAID` is not \
         in the reader's enum `State`, which has no default",
    );
    check(
        writer,
        reader,
        "06",
        "error: Avro enum index 3 at byte 0 is not one of the writer's 3 symbols",
    );
}

#[test]
fn fixed_resolves_by_name_and_size() {
    let four = r#"{"type":"fixed","name":"D","size":4}"#;
    check(four, four, "00 7f 80 ff", "\"\\u0000\u{7f}\u{80}\u{ff}\"");
    check(
        four,
        r#"{"type":"fixed","name":"D","size":3}"#,
        "00 7f 80 ff",
        "error: writer's Avro schema is incompatible with ours: the writer's fixed `D` of 4 \
         bytes cannot be read as our fixed `D` of 3 bytes",
    );
}

#[test]
fn arrays_and_maps_of_items_that_take_no_bytes_are_bounded() {
    // A block of 2^62 nulls in 9 bytes.
    check(
        r#"{"type":"array","items":"null"}"#,
        r#"{"type":"array","items":"null"}"#,
        "80 80 80 80 80 80 80 80 80 01 00",
        "error: Avro block at byte 0 claims more array or map items than the payload holds",
    );
    check(
        r#"{"type":"array","items":"null"}"#,
        r#"{"type":"array","items":"null"}"#,
        "06 00",
        "[null,null,null]",
    );
    // 2000 entries in 3 bytes.
    check(
        r#"{"type":"map","values":"null"}"#,
        r#"{"type":"map","values":"null"}"#,
        "a0 1f 00",
        "error: Avro block at byte 0 claims more array or map items than the payload holds",
    );
    check(
        r#"{"type":"array","items":"null"}"#,
        r#"{"type":"array","items":"null"}"#,
        "80 80 80 80 80 80 80 80 80 01",
        "error: Avro block at byte 0 claims more array or map items than the payload holds",
    );
}

#[test]
fn lengths_beyond_the_payload_are_truncated_not_allocated() {
    check(
        r#""string""#,
        r#""string""#,
        "fe ff ff ff ff ff ff ff ff 01 61",
        "error: Avro payload truncated: a string at byte 10 runs past its end",
    );
    check(
        r#""bytes""#,
        r#""bytes""#,
        "03 61",
        "error: Avro payload has a negative length -2 at byte 0",
    );
    check(
        r#""boolean""#,
        r#""boolean""#,
        "02",
        "error: Avro boolean at byte 0 is 2, neither 0 nor 1",
    );
    check(
        r#""string""#,
        r#""string""#,
        "02 61 00",
        "error: Avro payload has 1 bytes left after its value, from byte 2",
    );
}

#[test]
fn recursion_is_bounded() {
    let list =
        r#"{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}"#;
    check(list, list, "02 02 00", r#"{"next":{"next":{"next":null}}}"#);
    let deep = format!("{}00", "02".repeat(100));
    check(
        list,
        list,
        &deep,
        "error: Avro payload nests values deeper than 64 levels at byte 22",
    );
    // A record that holds itself without a way out takes no bytes at all.
    let endless = r#"{"type":"record","name":"Loop","fields":[{"name":"again","type":"Loop"}]}"#;
    check(
        endless,
        endless,
        "",
        "error: Avro payload nests values deeper than 64 levels at byte 0",
    );
    let writer = r#"{"type":"record","name":"R","fields":[{"name":"skip","type":{"type":"record","name":"Loop","fields":[{"name":"again","type":"Loop"}]}}]}"#;
    let reader = r#"{"type":"record","name":"R","fields":[]}"#;
    check(
        writer,
        reader,
        "",
        "error: Avro payload nests values deeper than 64 levels at byte 0",
    );
}

#[test]
fn values_that_break_the_orders_rules_are_refused_by_order_parse() {
    let mut json = Vec::new();
    let encoded = |id: &str, user: &str, quantity: i64| {
        let mut payload = Vec::new();
        for s in [id, user, "book"] {
            put_string(&mut payload, s);
        }
        put_long(&mut payload, quantity);
        payload
    };
    let ours = Schema::order();
    let read = decode_order(
        ours,
        &encoded(&ID.to_uppercase(), "  alice\t", 2),
        &mut json,
    );
    assert_eq!(
        read.unwrap(),
        order(),
        "trimmed and lower-cased as Order::parse does"
    );
    for (payload, expected) in [
        (
            encoded(ID, "alice", 0),
            "Avro payload is not a valid order: field `quantity` must be an integer from 1 to 1000000, got 0",
        ),
        (
            encoded(ID, "alice", -5),
            "Avro payload is not a valid order: field `quantity` must be an integer from 1 to 1000000, got -5",
        ),
        (
            encoded("not-a-uuid", "alice", 1),
            "Avro payload is not a valid order: field `order_id` must be a hyphenated UUID, got \"not-a-uuid\"",
        ),
        (
            encoded(ID, " ", 1),
            "Avro payload is not a valid order: field `user` must not be empty",
        ),
        (
            encoded(ID, &"x".repeat(20_000), 1),
            "Avro payload reads as more than 16384 bytes of JSON",
        ),
    ] {
        let e = decode_order(ours, &payload, &mut json).unwrap_err();
        assert_eq!(e.to_string(), expected);
    }
}

#[test]
fn every_truncation_and_every_changed_byte_gives_an_error_not_a_panic() {
    let mut json = Vec::new();
    let cases = [
        (schema(RICH), hex(RICH_PAYLOAD)),
        (Schema::order().clone(), {
            let mut payload = Vec::new();
            encode_order(&order(), &mut payload);
            payload
        }),
    ];
    for (writer, payload) in &cases {
        assert!(decode_order(writer, payload, &mut json).is_ok());
        for end in 0..payload.len() {
            let e = decode_order(writer, &payload[..end], &mut json).unwrap_err();
            assert!(matches!(e, Error::Truncated { .. }), "cut at {end}: {e}");
        }
        for at in 0..payload.len() {
            for byte in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut changed = payload.clone();
                changed[at] = byte;
                let _ = decode_order(writer, &changed, &mut json);
                let _ = decode_json(writer, writer, &changed, 1 << 16, &mut json);
            }
        }
    }
}

#[test]
fn schemas_are_refused_with_the_rule_they_break() {
    let cases: Vec<(String, &str)> = vec![
        ("{".into(), "Avro schema is not JSON: EOF while parsing an object at line 1 column 1"),
        ("42".into(), "invalid Avro schema: a schema is a type name, an object or an array (a union), not 42"),
        (r#""Order""#.into(), "Avro schema names type `Order`, which is neither primitive nor defined before"),
        (r#"{"name":"x"}"#.into(), "invalid Avro schema: a schema object needs a \"type\" string"),
        (r#"{"type":"record","fields":[]}"#.into(), "invalid Avro schema: a record needs a \"name\" string"),
        (r#"{"type":"record","name":"R"}"#.into(), "invalid Avro schema: record `R` needs a \"fields\" array"),
        (r#"{"type":"record","name":"9R","fields":[]}"#.into(), "invalid Avro schema: `9R` is not a valid name for a record"),
        (r#"{"type":"record","name":"int","fields":[]}"#.into(), "invalid Avro schema: `int` is not a valid name for a record"),
        (r#"{"type":"record","name":"R","namespace":"a..b","fields":[]}"#.into(), "invalid Avro schema: `R` in namespace `a..b` is not a valid name for a record"),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}"#.into(),
            "invalid Avro schema: a field of record `R` is named `a` twice",
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"a-b","type":"int"}]}"#.into(),
            "invalid Avro schema: a field of record `R` has the invalid name `a-b`",
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"a"}]}"#.into(),
            "invalid Avro schema: field `a` of record `R` has no \"type\"",
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"R","fields":[]}}]}"#.into(),
            "invalid Avro schema: `R` is defined twice",
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"1"}]}"#.into(),
            "invalid Avro schema: the default \"1\" of field `a` of record `R` does not fit its type, int",
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":["null","int"],"default":1}]}"#.into(),
            "invalid Avro schema: the default 1 of field `a` of record `R` does not fit its type, union (a union's default is of its first branch)",
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":4294967296}]}"#.into(),
            "invalid Avro schema: the default 4294967296 of field `a` of record `R` does not fit its type, int",
        ),
        (r#"["int",["null"]]"#.into(), "invalid Avro schema: a union holds a union"),
        (r#"["int","string","int"]"#.into(), "invalid Avro schema: a union holds the same type twice (branch 2)"),
        (
            r#"[{"type":"array","items":"int"},{"type":"array","items":"string"}]"#.into(),
            "invalid Avro schema: a union holds the same type twice (branch 1)",
        ),
        (r#"{"type":"enum","name":"E","symbols":["A","A"]}"#.into(), "invalid Avro schema: enum `E` has the symbol `A` twice"),
        (r#"{"type":"enum","name":"E","symbols":["A"],"default":"B"}"#.into(), "invalid Avro schema: enum `E` has the default \"B\", not one of its symbols"),
        (r#"{"type":"fixed","name":"F","size":-1}"#.into(), "invalid Avro schema: fixed `F` needs a \"size\" of 0 or more"),
        (r#"{"type":"array"}"#.into(), "invalid Avro schema: an array needs \"items\""),
        (format!("{}\"int\"{}", "[".repeat(40), "]".repeat(40)), "Avro schema nests types deeper than 32 levels"),
        (r#"[["int"]]"#.into(), "invalid Avro schema: a union holds a union"),
        (
            format!("{}\"int\"{}", r#"{"type":"array","items":"#.repeat(40), "}".repeat(40)),
            "Avro schema nests types deeper than 32 levels",
        ),
        (
            format!(r#"{{"type":"record","name":"R","fields":[{}]}}"#, (0..1100).map(|i| format!(r#"{{"name":"f{i}","type":{{"type":"array","items":"int"}}}}"#)).collect::<Vec<_>>().join(",")),
            "Avro schema has more than 1024 types",
        ),
        (format!("\"{}\"", " ".repeat(MAX_SCHEMA_BYTES)), "Avro schema of 65538 bytes is larger than the 65536 bytes read"),
    ];
    for (text, expected) in cases {
        let e = Schema::parse(&text).unwrap_err();
        assert_eq!(e.to_string(), expected, "{}", &text[..text.len().min(200)]);
    }
}

#[test]
fn named_types_are_found_by_full_or_short_name() {
    let text = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
        {"name":"a","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]}},
        {"name":"b","type":"Address"},
        {"name":"c","type":"shop.Address"},
        {"name":"d","type":{"type":"fixed","name":"other.Digest","size":1}},
        {"name":"e","type":"other.Digest"},
        {"name":"f","type":{"type":"enum","name":"Top","namespace":"","symbols":["X"]}},
        {"name":"g","type":"Top"},
        {"name":"h","type":{"type":"string","logicalType":"uuid"}},
        {"name":"i","type":{"type":{"type":"array","items":"long"}}}]}"#;
    check(
        text,
        text,
        "02 61 02 62 02 63 7a 7a 00 00 02 61 02 02 00",
        r#"{"a":{"city":"a"},"b":{"city":"b"},"c":{"city":"c"},"d":"z","e":"z","f":"X","g":"X","h":"a","i":[1]}"#,
    );
    let missing = r#"{"type":"record","name":"R","namespace":"shop","fields":[{"name":"d","type":"Digest"}]}"#;
    assert_eq!(
        Schema::parse(missing),
        Err(Error::UnknownType("Digest".into()))
    );
}
