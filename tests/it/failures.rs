//! Failures that end fast and say the right thing: a silent or mismatched listener, a
//! misspelled secret, `--lag` on what it cannot show, stats that must not go stale, a
//! certificate rustls cannot use, and the small things a terminal shows.
//!
//! Each test runs the real binaries, against the real broker where Kafka is involved, or a local
//! socket playing a silent peer; each on its own topic and group.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{self, Run};

/// A binary with no `KAFKA_*` or `RUST_LOG` from the caller, plus `env`.
fn command(name: &str, env: &[(&str, &str)]) -> Command {
    let path = match name {
        "order-producer" => env!("CARGO_BIN_EXE_order-producer"),
        "order-consumer" => env!("CARGO_BIN_EXE_order-consumer"),
        other => panic!("unknown binary {other}"),
    };
    let mut cmd = Command::new(path);
    for (key, _) in std::env::vars() {
        if key.starts_with("KAFKA_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    cmd
}

/// Runs `name` with `args` and `env`; returns the run and how long it took.
fn timed(name: &str, args: &[&str], env: &[(&str, &str)]) -> (Run, Duration) {
    let started = Instant::now();
    let out = command(name, env).args(args).output().expect("binary runs");
    (Run::from(out), started.elapsed())
}

/// A file in a fresh directory of its own, removed with it.
struct TempFile {
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
}

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let dir = std::env::temp_dir().join(util::unique("failures"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        TempFile { dir, path }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A misspelled key may hold a secret: its value is never echoed, from a `--config` file, `-X`
/// (with `=` or without), or a file named by `KAFKA_CONFIG`; the message still names the key
/// and the property meant.
#[test]
fn the_value_of_an_unknown_key_is_never_echoed() {
    let file = TempFile::new(
        "client.properties",
        "bootstrap.servers=127.0.0.1:1\nsasl.pasword=alice-secret\n",
    );
    let env_file = TempFile::new("client.properties", "sasl.passwrd: env-secret\n");
    // (arguments, environment, the value that must not show, the key that must)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            &["--config", file.path()],
            &[],
            "alice-secret",
            "sasl.pasword",
        ),
        (
            &["-X", "sasl.passwd=hunter2"],
            &[],
            "hunter2",
            "sasl.passwd",
        ),
        (
            &["-X", "sasl.passwd:hunter2"],
            &[],
            "hunter2",
            "sasl.passwd",
        ),
        (
            &["-X", "sasl.passwd hunter2"],
            &[],
            "hunter2",
            "sasl.passwd",
        ),
        (
            &["-X", "ssl.keystore.pasword=hunter3"],
            &[],
            "hunter3",
            "ssl.keystore.pasword",
        ),
        (
            &[],
            &[("KAFKA_CONFIG", env_file.path())],
            "env-secret",
            "sasl.passwrd",
        ),
    ];
    for name in ["order-producer", "order-consumer"] {
        for (args, env, secret, key) in cases {
            let mut all = vec!["-b", "127.0.0.1:1"];
            all.extend_from_slice(args);
            let mut env = env.to_vec();
            env.push(("RUST_LOG", "debug"));
            let (r, _) = timed(name, &all, &env);
            let what = format!("{name} {all:?} {env:?}");
            assert_eq!(r.code, 2, "{what}: {}", r.stderr);
            assert!(
                !r.stderr.contains(secret),
                "{what} echoed the value:\n{}",
                r.stderr
            );
            assert!(
                r.stderr.contains(key),
                "{what} does not name the key:\n{}",
                r.stderr
            );
        }
    }
    let (r, _) = timed("order-producer", &["-X", "sasl.passwd=hunter2"], &[]);
    assert!(
        r.stderr.contains("did you mean sasl.password?"),
        "{}",
        r.stderr
    );
}
