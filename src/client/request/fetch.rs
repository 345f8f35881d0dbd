//! Requests of a reader: Fetch and ListOffsets.

use super::{since, Request, Result, Writer};

/// Fetch, as a consumer (replica id -1) without a fetch session, one topic by name (up to
/// v12: v13 names topics by id).
pub struct FetchRequest<'a> {
    pub max_wait_ms: i32,
    pub min_bytes: i32,
    pub max_bytes: i32,
    pub isolation_level: i8,
    pub topic: &'a str,
    pub partitions: Vec<FetchPartition>,
}

pub struct FetchPartition {
    pub partition: i32,
    pub fetch_offset: i64,
    pub partition_max_bytes: i32,
}

impl Request for FetchRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.i32(-1); // replica_id
        w.i32(self.max_wait_ms);
        w.i32(self.min_bytes);
        if version >= 3 {
            w.i32(self.max_bytes);
        }
        if version >= 4 {
            w.i8(self.isolation_level);
        }
        if version >= 7 {
            w.i32(0); // session_id
            w.i32(-1); // session_epoch: no session
        }
        w.array(1)?;
        w.string(self.topic)?;
        w.array(self.partitions.len())?;
        for p in &self.partitions {
            w.i32(p.partition);
            if version >= 9 {
                w.i32(-1); // current_leader_epoch
            }
            w.i64(p.fetch_offset);
            if version >= 12 {
                w.i32(-1); // last_fetched_epoch
            }
            if version >= 5 {
                w.i64(-1); // log_start_offset
            }
            w.i32(p.partition_max_bytes);
            w.tags();
        }
        w.tags();
        if version >= 7 {
            w.array(0)?; // forgotten_topics_data
        }
        if version >= 11 {
            w.string("")?; // rack_id
        }
        w.tags();
        Ok(())
    }
}

/// ListOffsets, as a consumer (replica id -1): one timestamp (-2 earliest, -1 latest) for
/// each partition of one topic, from v1.
pub struct ListOffsetsRequest<'a> {
    pub isolation_level: i8,
    pub topic: &'a str,
    pub partitions: &'a [i32],
    pub timestamp: i64,
}

impl Request for ListOffsetsRequest<'_> {
    fn encode(&self, w: &mut Writer<'_>, version: i16) -> Result {
        w.i32(-1); // replica_id
        since(
            version,
            2,
            self.isolation_level != 0,
            "the isolation level read_committed",
        )?;
        if version >= 2 {
            w.i8(self.isolation_level);
        }
        w.array(1)?;
        w.string(self.topic)?;
        w.array(self.partitions.len())?;
        for &p in self.partitions {
            w.i32(p);
            if version >= 4 {
                w.i32(-1); // current_leader_epoch
            }
            w.i64(self.timestamp);
            w.tags();
        }
        w.tags();
        if version >= 10 {
            w.i32(0); // timeout_ms
        }
        w.tags();
        Ok(())
    }
}
