//! The consumer's `--stats` figures and its status line's numbers, from the poll loop's state.

use super::Consumer;
use crate::stats::{counter, Figures, PartitionFigures};

impl Consumer<'_, '_> {
    pub(super) fn partition_figures(&self) -> Vec<PartitionFigures> {
        self.positions
            .iter()
            .map(|(&partition, &position)| PartitionFigures {
                partition,
                position,
                committed: self.committed.get(&partition).copied(),
                high_watermark: self.high_watermarks.get(&partition).copied(),
            })
            .collect()
    }

    /// Writes one `--stats` report; one that cannot be written is a warning.
    pub(super) fn report(&mut self) {
        let figures = Figures {
            role: "consumer",
            topic: &self.config.topic,
            figures: vec![
                counter("received", "valid orders printed", self.summary.received),
                counter(
                    "invalid",
                    "records that are not orders",
                    self.summary.invalid,
                ),
                counter(
                    "dead_lettered",
                    "dead letters the broker acknowledged",
                    self.summary.dead_lettered,
                ),
                counter(
                    "skipped",
                    "invalid records no dead letter could be published for",
                    self.summary.skipped,
                ),
                counter("commits", "offset commits the group accepted", self.commits),
                counter(
                    "retries",
                    "attempts repeated after a failure",
                    self.client.retries(),
                ),
            ],
            partitions: self.partition_figures(),
        };
        if let Some(reporter) = &self.reporter {
            self.progress.clear();
            if let Err(e) = reporter.write(&figures) {
                log::warn!("cannot write the stats: {e}");
            }
        }
    }
}
