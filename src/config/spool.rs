//! The store-and-forward settings (`--spool` and the flags that only go with it) -> a
//! [`SpoolConfig`].

use std::path::PathBuf;
use std::time::Duration;

use super::source::{usage, Resolver, Source};
use super::table::*;
use crate::spool::Fsync;
use crate::Error;

/// How often `--spool-sync interval` fsyncs, at most.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(100);

/// `--spool DIR` and its companions.
#[derive(Debug, Clone, PartialEq)]
pub struct SpoolConfig {
    pub dir: PathBuf,
    pub fsync: Fsync,
    pub max_bytes: u64,
    /// `None`: the spool's own id (DIR/transactional-id).
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms`; fits the protocol's i32 milliseconds.
    pub transaction_timeout: Duration,
    pub mode: SpoolMode,
}

/// What a run with `--spool` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpoolMode {
    /// Spool the input and forward it in the same process; exit once all is forwarded, or
    /// with the count left when the uplink stays down past the retry policy.
    Forward,
    /// `--follow`: spool the input and forward it as it arrives; an uplink that is down is
    /// waited for, not given up on.
    Follow,
    /// `--drain`: no input; forward what is in the spool, then exit.
    Drain,
    /// `--spool-only`: spool the input, forward nothing.
    SpoolOnly,
    /// `--spool-quarantine`: move damaged segments aside, nothing else.
    Quarantine,
}

impl Resolver<'_> {
    /// The spool settings; `None` without `--spool` (then none of its companions may be given).
    pub(super) fn spool(&self) -> Result<Option<SpoolConfig>, Error> {
        let companions = [
            &SPOOL_SYNC,
            &SPOOL_MAX_BYTES,
            &TRANSACTIONAL_ID,
            &TRANSACTION_TIMEOUT,
            &DRAIN,
            &FOLLOW,
            &SPOOL_ONLY,
            &SPOOL_QUARANTINE,
        ];
        let Some(dir) = self.path(&SPOOL)? else {
            for setting in companions {
                if let Some(given) = self.flag(setting)? {
                    return Err(usage(&given, "goes only with --spool DIR"));
                }
            }
            return Ok(None);
        };
        let modes = [&DRAIN, &FOLLOW, &SPOOL_ONLY, &SPOOL_QUARANTINE]
            .into_iter()
            .filter_map(|s| self.flag(s).transpose())
            .collect::<Result<Vec<_>, Error>>()?;
        if let [first, second, ..] = &modes[..] {
            return Err(usage(second, &format!("does not go with {first}")));
        }
        let input_given = [&COUNT, &USER, &ITEM, &QUANTITY]
            .into_iter()
            .find_map(|s| self.flag(s).transpose())
            .transpose()?;
        let stdin = self.switch(&STDIN);
        let mode = match modes.first().map(|g| g.to_string()) {
            None => SpoolMode::Forward,
            Some(mode) if self.switch(&DRAIN) || self.switch(&SPOOL_QUARANTINE) => {
                let what = format!("does not go with {mode} (it reads no input)");
                if let Some(given) = input_given {
                    return Err(usage(&given, &what));
                }
                if stdin {
                    return Err(Error::Usage(format!("--stdin {what}")));
                }
                match self.switch(&DRAIN) {
                    true => SpoolMode::Drain,
                    false => SpoolMode::Quarantine,
                }
            }
            Some(_) if self.switch(&FOLLOW) => {
                if !stdin && input_given.is_none() {
                    return Err(Error::Usage(
                        "--follow forwards orders as they arrive: give --stdin (or --drain to \
                         forward what is in the spool)"
                            .into(),
                    ));
                }
                SpoolMode::Follow
            }
            Some(_) => SpoolMode::SpoolOnly,
        };
        // A transaction's records wait for every in-sync replica.
        for setting in [&ACKS, &NO_IDEMPOTENCE] {
            if let Some(given) = self
                .get(setting)?
                .filter(|g| !matches!(&*g.text, "all" | "-1"))
            {
                return Err(usage(
                    &given,
                    "does not go with --spool (its transactions wait for all replicas, \
                     idempotently)",
                ));
            }
        }
        // What a spooling run does not do: said, not ignored.
        let not_with_spool: [(&Setting, &str); 4] = [
            (&RATE, "the spool takes orders as they come"),
            (&STATS, "a spooling run prints its counts at the end only"),
            (
                &SCHEMA_REGISTRY,
                "spooled orders are forwarded as plain JSON",
            ),
            (&SERIALIZER, "spooled orders are forwarded as plain JSON"),
        ];
        for (setting, why) in not_with_spool {
            let given = self.get(setting)?;
            let plain =
                |g: &super::source::Given| setting.long == SERIALIZER.long && g.text == "json";
            if let Some(given) = given.filter(|g| g.source != Source::Default && !plain(g)) {
                return Err(usage(&given, &format!("does not go with --spool ({why})")));
            }
        }
        let fsync = match self.choice(&SPOOL_SYNC)? {
            Some("interval") => Fsync::Interval(SYNC_INTERVAL),
            _ => Fsync::Batch,
        };
        Ok(Some(SpoolConfig {
            dir,
            fsync,
            max_bytes: self.int(&SPOOL_MAX_BYTES)?.expect("it has a default"),
            transactional_id: self.text(&TRANSACTIONAL_ID)?,
            transaction_timeout: self.secs(&TRANSACTION_TIMEOUT)?.expect("it has a default"),
            mode,
        }))
    }
}
