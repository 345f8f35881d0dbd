//! `--lag`: a view of a group for hosts with no JVM: per partition the committed offset, the
//! log-end offset, the lag and the owning member.

use std::io::Write;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use super::{say, MAX_FRAME};
use crate::client::{Client, End, Isolation as ClientIsolation};
use crate::config::{ConsumerConfig, Format};
use crate::error::Error;
use crate::producer::client_options;

#[derive(Serialize)]
struct JsonLag<'a> {
    topic: &'a str,
    group: &'a str,
    partition: i32,
    committed: Option<i64>,
    end: i64,
    lag: i64,
    owner: Option<&'a str>,
}

/// `--lag`: the group's committed offset, the log-end offset and the lag of every partition,
/// and the member that owns it when the group has members. Reads nothing, commits nothing.
pub fn lag(config: &ConsumerConfig, out: &mut dyn Write, stop: &AtomicBool) -> Result<(), Error> {
    let topic = config.topic.as_str();
    let group = config.group.as_str();
    let options = client_options(&config.connection, "order-consumer", MAX_FRAME, &[]);
    let mut client = Client::connect(options, &[topic], stop)?;
    let partitions = match config.partitions.is_empty() {
        true => client.partitions(topic)?,
        false => config.partitions.clone(),
    };
    let committed = client.committed(group, topic, &partitions)?;
    let ends = client.list_offsets(
        topic,
        &partitions,
        End::Latest,
        ClientIsolation::ReadCommitted,
    )?;
    let owners = client.owners(group, topic)?;
    let mut text = String::new();
    for p in partitions {
        let end = ends[&p];
        let done = committed.get(&p).copied();
        let lag = end - done.unwrap_or(0);
        let owner = owners.get(&p).map(String::as_str);
        match config.format {
            Format::Human => text.push_str(&format!(
                "{topic}/{p}: committed {}, end {end}, lag {lag}, owner {}\n",
                done.map_or("none".to_string(), |o| o.to_string()),
                owner.unwrap_or("none")
            )),
            Format::Json => {
                let line = JsonLag {
                    topic,
                    group,
                    partition: p,
                    committed: done,
                    end,
                    lag,
                    owner,
                };
                text.push_str(&serde_json::to_string(&line).expect("a lag line serializes"));
                text.push('\n');
            }
        }
    }
    say(out, text.trim_end())
}
