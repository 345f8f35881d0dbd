//! `order-consumer --lag`: a view of the group for hosts with no JVM. For each partition, the
//! group's committed offset, the end offset, the lag and the member that owns it. Reads no
//! record and commits nothing. Without a committed offset the lag counts from the log start,
//! where a new member would begin, not from offset 0 (records deleted or expired are no lag).
//!
//! It asks only for what it can show: a partition the topic does not have is an error at once,
//! not a round of retries waiting for it to appear.

use std::io::Write;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::client::{Client, End, Isolation};
use crate::config::{ConsumerConfig, Format};
use crate::error::{output_closed, Error};

/// Largest response frame: metadata, offsets and a group's description are small.
const MAX_FRAME: usize = 16 << 20;

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

/// Prints the lag of every partition of the topic (or of `--partition`) to `out`.
pub fn show(config: &ConsumerConfig, out: &mut dyn Write, stop: &AtomicBool) -> Result<(), Error> {
    let topic = config.topic.as_str();
    let group = config.group.as_str();
    let options = config
        .connection
        .client_options("order-consumer", MAX_FRAME, &[]);
    let mut client = Client::connect(options, &[topic], stop)?;
    let all = client.partitions(topic)?;
    let partitions = match config.partitions.is_empty() {
        true => all,
        false => {
            check_partitions(topic, &config.partitions, &all)?;
            config.partitions.clone()
        }
    };
    let committed = client.committed(group, topic, &partitions)?;
    let ends = client.list_offsets(topic, &partitions, End::Latest, Isolation::ReadCommitted)?;
    // Without a commit, a member starts at the log start (--from earliest): that is its lag.
    let starts =
        client.list_offsets(topic, &partitions, End::Earliest, Isolation::ReadCommitted)?;
    let mut owners = client.owners(group, topic)?;
    if owners.is_empty() {
        // No classic member owns a partition: the group may be on the consumer protocol.
        owners = client.consumer_group_owners(group, topic)?;
    }
    let mut text = String::new();
    for p in partitions {
        let end = ends[&p];
        let done = committed.get(&p).copied();
        let lag = end - done.unwrap_or(starts[&p]);
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
    writeln!(out, "{}", text.trim_end())
        .and_then(|()| out.flush())
        .or_else(output_closed)
}

/// Every partition asked for must be one of the topic's (`all`, sorted).
fn check_partitions(topic: &str, asked: &[i32], all: &[i32]) -> Result<(), Error> {
    let missing: Vec<String> = asked
        .iter()
        .filter(|p| !all.contains(p))
        .map(i32::to_string)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let has = match (all.first(), all.last()) {
        (Some(first), Some(last)) if all.len() as i64 == i64::from(*last - *first) + 1 => {
            format!("{first} to {last}")
        }
        _ => all
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    };
    Err(Error::Broker {
        what: format!("showing the lag of '{topic}'"),
        cause: format!(
            "the topic has no partition {} (it has partitions {has}): fix --partition",
            missing.join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_asked_for_must_exist() {
        assert!(check_partitions("t", &[0, 2], &[0, 1, 2]).is_ok());
        assert_eq!(
            check_partitions("t", &[9], &[0, 1])
                .unwrap_err()
                .to_string(),
            "showing the lag of 't': the topic has no partition 9 (it has partitions 0 to 1): \
             fix --partition"
        );
        assert_eq!(
            check_partitions("t", &[1, 7, 8], &[0, 1, 2])
                .unwrap_err()
                .to_string(),
            "showing the lag of 't': the topic has no partition 7, 8 (it has partitions 0 to 2): \
             fix --partition"
        );
    }
}
