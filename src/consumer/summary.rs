//! The run's summary on stderr: what was read, dead-lettered and skipped, the last offsets, and
//! whether they were committed to a group.

use std::collections::BTreeMap;

/// What a run did, for the summary on stderr.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub received: u64,
    pub invalid: u64,
    pub dead_lettered: u64,
    /// Invalid records whose dead letter had to be shortened to be accepted.
    pub shortened: u64,
    /// Invalid records no dead letter could be published for: logged and skipped.
    pub skipped: u64,
    /// Last processed offset per partition.
    pub last_offsets: BTreeMap<i32, i64>,
    /// `Some(group)` when offsets were committed to a group.
    pub group: Option<String>,
    /// `Some(group)` when a stop came while joining that group.
    pub joining: Option<String>,
    /// Commits the group refused: this member was out of its generation (and joined again).
    pub refused_commits: u64,
}

impl Summary {
    /// The summary as one JSON object (for `--format json`).
    pub fn json(&self, topic: &str) -> String {
        let last: BTreeMap<String, i64> = self
            .last_offsets
            .iter()
            .map(|(p, o)| (p.to_string(), *o))
            .collect();
        serde_json::json!({
            "type": "summary",
            "topic": topic,
            "received": self.received,
            "invalid": self.invalid,
            "dead_lettered": self.dead_lettered,
            "shortened": self.shortened,
            "skipped": self.skipped,
            "last_offsets": last,
            "group": self.group,
            "refused_commits": self.refused_commits,
            "text": self.line(topic),
        })
        .to_string()
    }

    pub fn line(&self, topic: &str) -> String {
        let offsets: Vec<String> = self
            .last_offsets
            .iter()
            .map(|(p, o)| format!("{topic}/{p}={o}"))
            .collect();
        let offsets = if offsets.is_empty() {
            "none".to_string()
        } else {
            offsets.join(" ")
        };
        let commits = match &self.group {
            Some(group) if self.refused_commits > 0 => format!(
                "committed to group '{group}', {} commits refused (this member was out of the \
                 group's generation and joined again)",
                self.refused_commits
            ),
            Some(group) => format!("committed to group '{group}'"),
            None => match &self.joining {
                Some(group) => format!("stopped while joining group '{group}', nothing committed"),
                None => "manual assignment, nothing committed".to_string(),
            },
        };
        let mut dead = format!("dead-lettered {}", self.dead_lettered);
        if self.shortened > 0 {
            dead += &format!(" ({} shortened)", self.shortened);
        }
        if self.skipped > 0 {
            dead += &format!(", skipped {} (no dead letter possible)", self.skipped);
        }
        format!(
            "received {}, invalid {}, {dead}; last offsets: {offsets}; {commits}",
            self.received, self.invalid
        )
    }
}
