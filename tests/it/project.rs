//! The files a newcomer meets: the version pin, docker-compose.yml, the Makefile, the README.

use crate::util;

fn env_value(name: &str) -> String {
    util::read_file(&util::project_dir().join(".env"))
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!(".env sets {name}"))
        .to_string()
}

#[test]
fn one_place_pins_kafka_4_4_and_the_runner_and_broker_use_it() {
    let version = util::pinned_version();
    assert!(
        version.starts_with("4.4."),
        "the project runs on Kafka 4.4, .env pins {version}"
    );
    // The older line `make test` also runs the protocol-path tests against.
    let compat = env_value("KAFKA_COMPAT_VERSION");
    assert!(compat.starts_with("3.9."), "{compat}");

    let out = std::process::Command::new(util::project_dir().join("scripts/kafka-local"))
        .arg("version")
        .env_remove("KAFKA_VERSION")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), version);

    // `make test` runs the suite on the pin and the protocol-path tests on the older line.
    let plan = std::process::Command::new("make")
        .args(["--dry-run", "test"])
        .env_remove("KAFKA_VERSION")
        .current_dir(util::project_dir())
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&plan.stdout);
    for v in [&version, &compat] {
        assert!(
            plan.contains(&format!("IT_KAFKA_VERSION={v}")),
            "make test does not run Kafka {v}:\n{plan}"
        );
    }

    // The broker under test reports the version under test in its own startup log (when the
    // local runner started it; Docker keeps its log in the container).
    match util::local_broker_dir() {
        Some(dir) => {
            let log = util::read_file(&dir.join("logs/server.log"));
            let under_test = util::kafka_version();
            assert!(
                log.contains(&format!("Kafka version: {under_test}")),
                "server.log names another version than {under_test}"
            );
        }
        None => println!("the broker under test is not the local runner's: its log is elsewhere"),
    }
}

#[test]
fn docker_compose_runs_the_pinned_version_in_kraft_mode() {
    let text = util::read_file(&util::project_dir().join("docker-compose.yml"));
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("docker-compose.yml parses");
    let kafka = &doc["services"]["kafka"];
    let image = kafka["image"].as_str().unwrap();
    assert!(
        image.starts_with("apache/kafka:${KAFKA_VERSION"),
        "image {image} takes the pin from .env"
    );
    assert_eq!(kafka["container_name"], "kafka");
    let ports: Vec<&str> = kafka["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(ports, ["9092:9092", "9093:9093"]);
    let volumes: Vec<&str> = kafka["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        volumes.iter().any(|v| v.starts_with("./kafka-data:")),
        "{volumes:?}"
    );
    let env = &kafka["environment"];
    assert_eq!(env["KAFKA_PROCESS_ROLES"], "broker,controller");
    assert_eq!(env["KAFKA_CONTROLLER_QUORUM_VOTERS"], "1@localhost:9093");
    assert_eq!(
        env["KAFKA_ADVERTISED_LISTENERS"],
        "PLAINTEXT://localhost:9092"
    );
    assert_eq!(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"], 1);
    assert_eq!(env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"], 1);
    assert_eq!(env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"], 0);
    assert!(env["KAFKA_LOG_DIRS"].as_str().is_some());
    assert!(
        kafka["healthcheck"]["test"].as_sequence().is_some(),
        "a healthcheck for `up --wait`"
    );
    assert!(!text.contains(":latest"));

    // Where a Docker engine runs, compose itself must accept the file too.
    let engine = std::process::Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success());
    if engine {
        let out = std::process::Command::new("docker")
            .args(["compose", "config", "--quiet"])
            .current_dir(util::project_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The Schema Registry comes pinned in docker-compose.yml (the release scripts/registry-local
/// builds for the tests), `make registry` starts one without Docker, and `make test` runs the
/// integration tests with one.
#[test]
fn docker_compose_pins_the_schema_registry_and_make_test_runs_one() {
    let text = util::read_file(&util::project_dir().join("docker-compose.yml"));
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("docker-compose.yml parses");
    let registry = &doc["services"]["registry"];
    let image = registry["image"]
        .as_str()
        .expect("a registry service with an image");
    let local = util::read_file(&util::project_dir().join("scripts/registry-local"));
    let version = local
        .lines()
        .find_map(|l| l.strip_prefix("version="))
        .expect("scripts/registry-local pins a version");
    assert_eq!(image, format!("apicurio/apicurio-registry-mem:{version}"));
    let ports: Vec<&str> = registry["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(ports, ["8081:8080"]);
    assert!(
        registry["healthcheck"]["test"].as_sequence().is_some(),
        "a healthcheck for `up --wait`"
    );

    let plan = |target: &str| {
        let out = std::process::Command::new("make")
            .args(["--dry-run", target])
            .env_remove("KAFKA_VERSION")
            .current_dir(util::project_dir())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let test = plan("test");
    let pinned = util::pinned_version();
    assert!(
        test.lines()
            .any(|l| l.contains(&format!("IT_KAFKA_VERSION={pinned}"))
                && l.contains("scripts/with-registry cargo test")),
        "make test runs the integration tests on Kafka {pinned} with a registry:\n{test}"
    );
    for package in ["confluent-kafka[avro,json,schemaregistry]", "fastavro"] {
        assert!(
            test.contains(package),
            "make test installs {package}:\n{test}"
        );
    }
    let bench = util::read_file(&util::project_dir().join("scripts/bench"));
    assert!(
        bench.contains("exec scripts/with-registry"),
        "the bench starts a registry for its Avro case when none runs"
    );
}

/// The README's commands for looking into Kafka, run as written against the broker under test.
#[test]
fn the_readme_inspection_commands_run() {
    let readme = util::read_file(&util::project_dir().join("README.md"));
    let section = readme
        .split("## Look at what is in Kafka")
        .nth(1)
        .expect("the section exists");
    let block = section
        .split("```sh")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block");
    let topic = util::topic("readme", 1);
    util::produce_orders(&topic, 5);
    let mut ran = 0;
    for command in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let command = command
            .replace("127.0.0.1:9092", util::broker())
            .replace("--topic orders", &format!("--topic {topic}"))
            .replace("-t orders", &format!("-t {topic}"));
        let out = std::process::Command::new("bash")
            .args(["-c", &command])
            .current_dir(util::project_dir())
            .env("KAFKA_PORT", util::broker_port(util::broker()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{command}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 5, "{ran} commands");
}

#[test]
fn every_make_target_the_readme_names_exists() {
    let readme = util::read_file(&util::project_dir().join("README.md"));
    let help = std::process::Command::new("make")
        .arg("help")
        .current_dir(util::project_dir())
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let mut checked = 0;
    for word in readme.split(['`', '\n']) {
        let Some(rest) = word.trim().strip_prefix("make ") else {
            continue;
        };
        let targets = rest
            .split_whitespace()
            .take_while(|t| t.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
        for target in targets {
            assert!(
                help.contains(&format!("make {target} ")),
                "README names `make {target}`, which `make help` lacks"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 6,
        "the README shows the make targets ({checked} found)"
    );
}

/// Every `.rs` file under `dir`, with its path relative to the project.
fn rust_files(dir: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![util::project_dir().join(dir)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(util::project_dir())
                    .unwrap()
                    .display()
                    .to_string();
                out.push((rel, util::read_file(&path)));
            }
        }
    }
    assert!(out.len() >= 10, "{} files under {dir}", out.len());
    out
}

/// One seam to the wire: nothing outside `src/client/` names a wire type, the client encodes
/// its own requests (`kafka-protocol` only checks them, as a dev-dependency), and only the
/// binaries end the process.
#[test]
fn only_the_client_names_the_wire_codec_and_only_binaries_exit() {
    let files = rust_files("src");
    let codec: Vec<&str> = files
        .iter()
        .filter(|(path, text)| !path.starts_with("src/client/") && text.contains("kafka_protocol"))
        .map(|(path, _)| path.as_str())
        .collect();
    assert!(
        codec.is_empty(),
        "kafka_protocol named outside src/client/: {codec:?}"
    );
    let manifest = util::read_file(&util::project_dir().join("Cargo.toml"));
    let normal = manifest
        .split("\n[dependencies]\n")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a [dependencies] table in Cargo.toml");
    assert!(
        !normal.contains("kafka-protocol") && !normal.contains("anyhow"),
        "kafka-protocol (or anyhow) is a normal dependency again: {normal}"
    );
    let checks: Vec<&str> = files
        .iter()
        .filter(|(path, text)| {
            path != "src/client/request/tests.rs" && text.contains("kafka_protocol")
        })
        .map(|(path, _)| path.as_str())
        .collect();
    assert!(
        checks.is_empty(),
        "the client encodes its own requests: only their unit tests \
         (src/client/request/tests.rs) may name kafka_protocol, not {checks:?}"
    );
    let exits: Vec<&str> = files
        .iter()
        .filter(|(path, text)| !path.starts_with("src/bin/") && text.contains("process::exit"))
        .map(|(path, _)| path.as_str())
        .collect();
    assert!(
        exits.is_empty(),
        "process::exit outside src/bin/: {exits:?}"
    );
    let lock = util::read_file(&util::project_dir().join("Cargo.lock"));
    for absent in [
        "\"kafka\"",
        "\"openssl",
        "\"tokio\"",
        "\"async-std\"",
        "\"zstd-sys\"",
        "\"lz4-sys\"",
    ] {
        assert!(
            !lock.contains(&format!("name = {absent}")),
            "Cargo.lock has {absent}"
        );
    }
}

/// The client hands out records: nothing outside `src/client/` (the fuzz targets included)
/// names its record batches (`records`), its error codes (`codes`) or a wire error code.
#[test]
fn only_the_client_names_record_batches_and_error_codes() {
    let codes = util::read_file(&util::project_dir().join("src/client/codes.rs"));
    // The names of the codes: the constants and the table's protocol names.
    let mut wire_names: Vec<&str> = codes
        .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .filter(|w| w.len() > 4 && w.contains('_') && !w.starts_with('_') && !w.ends_with('_'))
        .collect();
    wire_names.sort_unstable();
    wire_names.dedup();
    assert!(wire_names.len() >= 30, "error code names: {wire_names:?}");
    let mut files: Vec<(String, String)> = rust_files("src")
        .into_iter()
        .filter(|(path, _)| !path.starts_with("src/client/"))
        .collect();
    let fuzz = util::project_dir().join("fuzz/fuzz_targets");
    for entry in std::fs::read_dir(&fuzz).unwrap() {
        let path = entry.unwrap().path();
        let rel = format!(
            "fuzz/fuzz_targets/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        files.push((rel, util::read_file(&path)));
    }
    // `word` as a whole identifier (or path start): `exit_codes::` is not `codes::`.
    let names = |text: &str, word: &str| {
        text.match_indices(word).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + word.len()..].chars().next();
            let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
            let joined_before = before.is_some_and(ident);
            let joined_after = word.ends_with(char::is_alphanumeric) && after.is_some_and(ident);
            !joined_before && !joined_after
        })
    };
    let mut found = Vec::new();
    for (path, text) in &files {
        for word in ["client::records", "client::codes", "records::", "codes::"]
            .iter()
            .chain(&wire_names)
        {
            if names(text, word) {
                found.push(format!("{path}: {word}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the wire named outside src/client/ (records and error codes are the client's): {found:?}"
    );
}

/// The README's "Scale out" commands, run as written (the release binary swapped for the one
/// under test, the topic made fresh): two members split a 6-partition topic, then `--lag`.
#[test]
fn the_readme_scale_out_commands_split_a_topic_between_members() {
    let readme = util::read_file(&util::project_dir().join("README.md"));
    let block = readme
        .split("## Scale out")
        .nth(1)
        .and_then(|s| s.split("```sh").nth(1))
        .and_then(|b| b.split("```").next())
        .expect("a sh block in the Scale out section");
    let commands: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(commands.len(), 3, "{commands:?}");
    let topic = util::unique("readme-scale");
    let group = util::unique("workers");
    let consumer = env!("CARGO_BIN_EXE_order-consumer");
    let port = util::broker_port(util::broker());
    let adapt = |command: &str| {
        command
            .replace("orders-6", &topic)
            .replace("order-workers", &group)
            .replace(
                "target/release/order-consumer",
                &format!("{consumer} -b {}", util::broker()),
            )
    };
    let sh = |command: String| {
        std::process::Command::new("bash")
            .args(["-c", &command])
            .current_dir(util::project_dir())
            .env("KAFKA_PORT", port)
            .env("KAFKA_VERSION", util::kafka_version())
            .output()
            .unwrap()
    };
    let made = sh(adapt(commands[0]));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    util::produce_orders(&topic, 600);
    let members: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new("bash")
                .args(["-c", &adapt(commands[1])])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Each member's assignments over its run; while both ran, each had half the partitions
    // (when one stops first, the other takes all six: that is a rebalance too).
    let mut halves = Vec::new();
    for m in members {
        let out = m.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        let assigned: Vec<Vec<String>> = stderr
            .lines()
            .filter_map(|l| l.split(&format!("assigned {topic} [")).nth(1))
            .map(|list| {
                let mut ps: Vec<String> = list
                    .trim_end_matches(']')
                    .split(", ")
                    .map(str::to_string)
                    .collect();
                ps.sort();
                ps
            })
            .collect();
        println!("member: {assigned:?}");
        let half = assigned
            .into_iter()
            .find(|ps| ps.len() == 3)
            .unwrap_or_else(|| panic!("never half of the partitions: {stderr}"));
        halves.push(half);
    }
    let mut all: Vec<String> = halves.concat();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 6, "the halves split the topic: {halves:?}");
    let lag = sh(adapt(commands[2]));
    let text = String::from_utf8_lossy(&lag.stdout);
    assert!(
        lag.status.success(),
        "{}",
        String::from_utf8_lossy(&lag.stderr)
    );
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(
        text.lines().all(|l| l.contains(", lag 0,")),
        "every order read and committed: {text}"
    );
}

/// A file's code before its tests: the lines before the first `#[cfg(test)]`. A file that is
/// all tests (`tests.rs`, `tests/` under `src/`, declared behind `#[cfg(test)]`) has none.
fn code_before_tests(path: &str, text: &str) -> Vec<String> {
    if path.ends_with("/tests.rs") || path.contains("/tests/") {
        return Vec::new();
    }
    text.lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .map(str::to_string)
        .collect()
}

/// The module a file under `src/` is, as a path: `src/client/conn.rs` is `["client", "conn"]`,
/// `src/config/mod.rs` is `["config"]`, `src/lib.rs` is `[]`.
fn module_of(path: &str) -> Vec<String> {
    let rel = path
        .strip_prefix("src/")
        .unwrap()
        .strip_suffix(".rs")
        .unwrap();
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Which modules a module's code (before its tests) names through `crate::` or `super::` paths,
/// in `use` lines or inline: each path resolved to the longest module it names that exists.
fn imports(module: &[String], code: &[String], modules: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in code {
        let line = line.split("//").next().unwrap();
        let mut rest = line;
        while let Some(at) = rest.find(['c', 's']) {
            let tail = &rest[at..];
            let boundary = rest[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
            let (base, path) = if let Some(p) = tail.strip_prefix("crate::") {
                (Vec::new(), p)
            } else if tail.starts_with("super::") {
                let mut base = module.to_vec();
                let mut p = tail;
                while let Some(q) = p.strip_prefix("super::") {
                    base.pop();
                    p = q;
                }
                (base, p)
            } else {
                rest = &rest[at + 1..];
                continue;
            };
            rest = &rest[at + 1..];
            if !boundary {
                continue;
            }
            let mut target = base;
            let mut best = target.clone();
            for word in path.split("::") {
                let word: String = word
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if word.is_empty() {
                    break;
                }
                target.push(word);
                if modules.contains(&target) {
                    best = target.clone();
                }
            }
            out.push(best);
        }
    }
    out
}

/// Rooms of a size a reader can hold, and no two modules that import each other: no `src/` file
/// holds more than 800 lines of code before its tests, and no module names a module (other than
/// its own parent or child) that names it back.
#[test]
fn no_two_modules_import_each_other_and_no_file_is_over_800_lines() {
    let files: Vec<(String, String)> = rust_files("src")
        .into_iter()
        .filter(|(path, _)| !path.starts_with("src/bin/"))
        .collect();
    let modules: Vec<Vec<String>> = files.iter().map(|(path, _)| module_of(path)).collect();
    let mut edges = std::collections::BTreeSet::new();
    for (path, text) in &files {
        let from = module_of(path);
        for to in imports(&from, &code_before_tests(path, text), &modules) {
            let related = to.starts_with(&from) || from.starts_with(&to);
            if !related {
                edges.insert((from.join("::"), to.join("::")));
            }
        }
    }
    let cycles: Vec<String> = edges
        .iter()
        .filter(|(a, b)| a < b && edges.contains(&(b.clone(), a.clone())))
        .map(|(a, b)| format!("{a} <-> {b}"))
        .collect();
    assert!(
        cycles.is_empty(),
        "modules that import each other: {cycles:?}"
    );

    let mut large: Vec<String> = Vec::new();
    for (path, text) in &files {
        let code = code_before_tests(path, text).len();
        if code > 800 {
            large.push(format!("{path}: {code} lines before its tests"));
        }
    }
    large.sort();
    assert!(large.is_empty(), "files over 800 lines of code: {large:?}");
}
