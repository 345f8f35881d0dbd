//! Dead letters: an invalid record published to the dead-letter topic, keyed and partitioned
//! like the record, before its offset may be committed.

use super::Consumer;
use crate::client::{
    uncompressed_only, Acks, Client, Compression, Outgoing, ProduceSettings, Refusal, RefusalKind,
};
use crate::dead_letter::Envelope;
use crate::error::Error;
use crate::partition;

/// Bytes of the original payload a shortened dead letter keeps.
const SHORT_PREFIX: usize = 1024;

impl Consumer<'_, '_> {
    /// Publishes a dead letter, keyed and partitioned like the record, and waits for the
    /// broker's acknowledgement. One too large for the topic is shortened; one too large even
    /// then is logged and skipped, so the partition moves on. Any other refusal (an ACL) is an
    /// error: the record stays uncommitted.
    pub(super) fn dead_letter(
        &mut self,
        dlq: &str,
        partition: i32,
        offset: i64,
        key: Option<&[u8]>,
        envelope: &Envelope,
    ) -> Result<(), Error> {
        let topic = self.config.topic.as_str();
        let partitions = match self.dlq_partitions {
            Some(n) => n,
            None => {
                let n = self.client.partitions(dlq)?.len() as u32;
                self.dlq_partitions = Some(n);
                n
            }
        };
        let to = key.map_or(0, |k| partition::for_key(k, partitions));
        let settings = ProduceSettings {
            acks: Acks::All,
            ack_timeout: self.config.dlq_ack_timeout,
            compression: Compression::None,
            compressor: uncompressed_only,
            idempotent: false,
        };
        let send = |client: &mut Client<'_>, value: &str| {
            let record = Outgoing {
                partition: to,
                key,
                value: Some(value.as_bytes()),
            };
            let (mut results, ended) = client.produce(dlq, &[record], &settings);
            match ended {
                Some(e) => Err(e),
                None => Ok(results.pop().expect("one result per record")),
            }
        };
        let refused = match send(&mut self.client, &envelope.to_json())? {
            Ok(_) => {
                self.summary.dead_lettered += 1;
                return Ok(());
            }
            Err(cause) => cause,
        };
        // Only a dead letter too large for the topic is worth a smaller one; any other refusal
        // ends the run before the record's offset is committed, so nothing is skipped unseen.
        let not_published = |refusal: Refusal| {
            let what = format!(
                "publishing the dead letter of {topic}/{partition} offset {offset} to '{dlq}' \
                 (the record is not committed: the next run reads it again)"
            );
            let cause = refusal.cause;
            match refusal.kind {
                RefusalKind::NotAuthorized => Error::Refused { what, cause },
                _ => Error::Broker { what, cause },
            }
        };
        if refused.kind != RefusalKind::TooLarge {
            return Err(not_published(refused));
        }
        log::warn!(
            "{topic}/{partition} offset {offset}: the dead letter was refused ({refused}); \
             sending a shortened one"
        );
        let short = envelope.to_shortened_json(SHORT_PREFIX);
        match send(&mut self.client, &short)? {
            Ok(_) => {
                self.summary.dead_lettered += 1;
                self.summary.shortened += 1;
            }
            Err(cause) if cause.kind == RefusalKind::TooLarge => {
                log::error!(
                    "{topic}/{partition} offset {offset}: no dead letter could be published to \
                     '{dlq}' ({cause}); skipping the record"
                );
                self.summary.skipped += 1;
            }
            Err(cause) => return Err(not_published(cause)),
        }
        Ok(())
    }
}
