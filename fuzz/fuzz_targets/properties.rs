//! Parses arbitrary text as a client.properties file and as a `sasl.jaas.config` value, the
//! way `--config` reads them: nothing may panic or loop without end, and a JAAS error never
//! depends on a quoted value (values hold passwords).

#![no_main]

use libfuzzer_sys::fuzz_target;
use order_kafka::properties::{parse, parse_jaas};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(properties) = parse(text) {
        for p in properties {
            if p.key == "sasl.jaas.config" {
                let _ = parse_jaas(&p.value);
            }
        }
    }
    // Letters and digits inside double quotes are values: the message may not depend on them.
    // (Kept to inputs without comments, single quotes or escapes, where quoting is plain.)
    if !text.contains(['/', '\'', '\\']) {
        if let Err(e) = parse_jaas(text) {
            let mut quoted = false;
            let masked: String = text
                .chars()
                .map(|c| {
                    if c == '"' {
                        quoted = !quoted;
                    }
                    if quoted && c.is_ascii_alphanumeric() {
                        'x'
                    } else {
                        c
                    }
                })
                .collect();
            assert_eq!(parse_jaas(&masked).err(), Some(e));
        }
    }
});
