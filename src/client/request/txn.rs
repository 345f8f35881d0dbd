//! Requests of a transactional producer (KIP-98, and KIP-890's transactions v2 where the broker
//! offers them): partitions and offsets added to a transaction, offsets committed inside it, its
//! end.

use super::{Request, Result, Writer};

/// The producer a transactional request speaks for.
#[derive(Debug, Clone, Copy)]
pub struct TxnProducer<'a> {
    pub transactional_id: &'a str,
    pub producer_id: i64,
    pub producer_epoch: i16,
}

impl TxnProducer<'_> {
    fn encode(&self, w: &mut Writer<'_>) -> Result {
        w.string(self.transactional_id)?;
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        Ok(())
    }
}

/// AddPartitionsToTxn of partitions of one topic, as a client, v0 to v3 (v4 on are the
/// brokers' batched verification).
pub struct AddPartitionsToTxnRequest<'a> {
    pub producer: TxnProducer<'a>,
    pub topic: &'a str,
    pub partitions: &'a [i32],
}

impl Request for AddPartitionsToTxnRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, _version: i16) -> Result {
        self.producer.encode(w)?;
        w.array(1)?;
        w.string(self.topic)?;
        w.array(self.partitions.len())?;
        for &p in self.partitions {
            w.i32(p);
        }
        w.tags();
        w.tags();
        Ok(())
    }
}

/// AddOffsetsToTxn: the group whose offsets the transaction commits, v0 to v4.
pub struct AddOffsetsToTxnRequest<'a> {
    pub producer: TxnProducer<'a>,
    pub group_id: &'a str,
}

impl Request for AddOffsetsToTxnRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, _version: i16) -> Result {
        self.producer.encode(w)?;
        w.string(self.group_id)?;
        w.tags();
        Ok(())
    }
}

/// TxnOffsetCommit of (partition, offset) pairs of one topic with a metadata string each, for a
/// group with no members (generation -1), v0 to v5.
pub struct TxnOffsetCommitRequest<'a> {
    pub producer: TxnProducer<'a>,
    pub group_id: &'a str,
    pub topic: &'a str,
    pub offsets: &'a [(i32, i64)],
    pub metadata: &'a str,
}

impl Request for TxnOffsetCommitRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.string(self.producer.transactional_id)?;
        w.string(self.group_id)?;
        w.i64(self.producer.producer_id);
        w.i16(self.producer.producer_epoch);
        if version >= 3 {
            w.i32(-1); // generation_id
            w.string("")?; // member_id
            w.nullable_string(None)?; // group_instance_id
        }
        w.array(1)?;
        w.string(self.topic)?;
        w.array(self.offsets.len())?;
        for &(partition, offset) in self.offsets {
            w.i32(partition);
            w.i64(offset);
            if version >= 2 {
                w.i32(-1); // committed_leader_epoch
            }
            w.nullable_string(Some(self.metadata))?;
            w.tags();
        }
        w.tags();
        w.tags();
        Ok(())
    }
}

/// EndTxn: commit (`committed`) or abort, v0 to v5 (v5 bumps the epoch: transactions v2).
pub struct EndTxnRequest<'a> {
    pub producer: TxnProducer<'a>,
    pub committed: bool,
}

impl Request for EndTxnRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, _version: i16) -> Result {
        self.producer.encode(w)?;
        w.bool(self.committed);
        w.tags();
        Ok(())
    }
}
