//! Requests of a producer: Produce and InitProducerId, idempotent or transactional.

use super::{Request, Result, Writer};

/// Produce of one record batch per partition of one topic, from v3 up to v12 (v13 names topics
/// by id); `transactional_id` is set inside a transaction.
pub struct ProduceRequest<'a> {
    pub transactional_id: Option<&'a str>,
    pub acks: i16,
    pub timeout_ms: i32,
    pub topic: &'a str,
    pub partitions: Vec<ProducePartition<'a>>,
}

pub struct ProducePartition<'a> {
    pub index: i32,
    /// One encoded record batch.
    pub records: &'a [u8],
}

impl Request for ProduceRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, _version: i16) -> Result {
        w.nullable_string(self.transactional_id)?;
        w.i16(self.acks);
        w.i32(self.timeout_ms);
        w.array(1)?;
        w.string(self.topic)?;
        w.array(self.partitions.len())?;
        for p in &self.partitions {
            w.i32(p.index);
            w.bytes(p.records)?;
            w.tags();
        }
        w.tags();
        w.tags();
        Ok(())
    }
}

/// InitProducerId for an idempotent producer (no transactional id) or a transactional one (whose
/// earlier epochs it fences), always a new one (no producer id or epoch to bump), up to v5.
pub struct InitProducerIdRequest<'a> {
    pub transactional_id: Option<&'a str>,
    pub transaction_timeout_ms: i32,
}

impl Request for InitProducerIdRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.nullable_string(self.transactional_id)?;
        w.i32(self.transaction_timeout_ms);
        if version >= 3 {
            w.i64(-1); // producer_id
            w.i16(-1); // producer_epoch
        }
        w.tags();
        Ok(())
    }
}
