//! Heartbeats from a thread of their own, as the Java consumer sends them since KIP-62: a member
//! whose output blocks (a slow pipe, a full disk) stays in its group for as long as
//! `max.poll.interval.ms` allows, not just the session timeout.
//!
//! The thread has a [`Client`] of its own (its own connection to the coordinator), so no
//! request of the poll loop waits for a heartbeat or the other way round. The two threads share
//! one [`Beat`] under a mutex that is never held across I/O: the poll loop publishes the
//! member's identity after each join and says when it polls; the thread reports what the
//! coordinator answered. When the poll loop has not polled for `max.poll.interval.ms`, the thread
//! leaves the group, as the Java client does, and the poll loop rejoins when it comes back.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::request::{ApiKey, HeartbeatRequest, LeaveGroupRequest};
use super::wire::Reader;
use super::{codes, Client};
use crate::error::{secs, Error};

pub(super) const HEARTBEAT: std::ops::RangeInclusive<i16> = 1..=4;
pub(super) const LEAVE_GROUP: std::ops::RangeInclusive<i16> = 3..=5;

/// Membership settings, named and defaulted as in the Java consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSettings {
    /// session.timeout.ms (45 s): the coordinator drops a member silent this long.
    pub session_timeout: Duration,
    /// heartbeat.interval.ms (3 s).
    pub heartbeat_interval: Duration,
    /// max.poll.interval.ms (300 s): also the rebalance timeout a join may wait.
    pub max_poll_interval: Duration,
    /// group.instance.id: static membership.
    pub instance_id: Option<String>,
}

/// What the poll loop must act on.
#[derive(Debug)]
pub(super) enum News {
    /// The group is rebalancing: commit, then join again.
    Rebalance,
    /// This member is out of its generation (the coordinator's error code): its partitions may
    /// belong to another member already.
    Lost(i16),
    /// The poll loop stalled past max.poll.interval.ms and the member left the group.
    PollTimeout,
    /// Heartbeats failed after every retry.
    Failed(Error),
}

/// The state the poll loop and the heartbeat thread share.
#[derive(Debug)]
struct State {
    member_id: String,
    generation: i32,
    /// Heartbeats go out only while the member is in a generation: not during a join, not
    /// after it lost its partitions.
    in_generation: bool,
    last_poll: Instant,
    news: Option<News>,
    /// The run is over: the thread ends.
    done: bool,
}

/// One member's heartbeat state, shared by the poll loop and the heartbeat thread.
#[derive(Debug)]
pub struct Beat {
    group: String,
    settings: GroupSettings,
    state: Mutex<State>,
}

impl Beat {
    pub(super) fn new(group: &str, settings: &GroupSettings) -> Beat {
        Beat {
            group: group.to_string(),
            settings: settings.clone(),
            state: Mutex::new(State {
                member_id: String::new(),
                generation: -1,
                in_generation: false,
                last_poll: Instant::now(),
                news: None,
                done: false,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind: still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A join went through: heartbeats for this generation start.
    pub(super) fn joined(&self, member_id: &str, generation: i32) {
        let mut s = self.state();
        s.member_id = member_id.to_string();
        s.generation = generation;
        s.in_generation = true;
        s.last_poll = Instant::now();
        s.news = None;
    }

    /// A join begins: no heartbeats until it ends.
    pub(super) fn joining(&self) {
        self.state().in_generation = false;
    }

    /// The member is out of its generation (a refused commit): no heartbeats, no commits.
    pub(super) fn lose(&self, error: i16) {
        let mut s = self.state();
        s.in_generation = false;
        if !matches!(s.news, Some(News::Lost(_) | News::PollTimeout)) {
            s.news = Some(News::Lost(error));
        }
    }

    pub(super) fn in_generation(&self) -> bool {
        self.state().in_generation
    }

    /// Whether the member lost its partitions since its last join.
    pub(super) fn lost(&self) -> bool {
        matches!(self.state().news, Some(News::Lost(_) | News::PollTimeout))
    }

    pub(super) fn polled(&self) {
        self.state().last_poll = Instant::now();
    }

    pub(super) fn take_news(&self) -> Option<News> {
        self.state().news.take()
    }

    /// Ends the heartbeat thread.
    pub fn finish(&self) {
        self.state().done = true;
    }

    /// What the thread learned, unless the member joined anew meanwhile (its answer is stale).
    fn report(&self, generation: i32, news: News) {
        let mut s = self.state();
        if s.generation != generation || !s.in_generation {
            return;
        }
        if !matches!(news, News::Rebalance) {
            s.in_generation = false;
        }
        match (&s.news, &news) {
            // A rebalance is already known; anything worse replaces it.
            (Some(News::Rebalance), News::Rebalance) => {}
            (None | Some(News::Rebalance), _) => s.news = Some(news),
            _ => {}
        }
    }
}

impl Client<'_> {
    /// The heartbeat thread's loop: a heartbeat every heartbeat interval while the member is in
    /// a generation, until [`Beat::finish`] or a stop request.
    pub fn send_heartbeats(mut self, beat: &Beat) {
        let settings = &beat.settings;
        let mut last = Instant::now();
        loop {
            let due = last + settings.heartbeat_interval;
            // Short naps: the end of the run and a stalled poll loop are seen within 100 ms.
            let nap = due
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100));
            if self.sleep(nap).is_err() {
                return;
            }
            let (member_id, generation, stalled) = {
                let s = beat.state();
                if s.done {
                    return;
                }
                if !s.in_generation {
                    last = Instant::now();
                    continue;
                }
                let stalled = s.last_poll.elapsed() > settings.max_poll_interval;
                (s.member_id.clone(), s.generation, stalled)
            };
            if stalled {
                self.leave_stalled(beat, &member_id, generation);
                continue;
            }
            if Instant::now() < due {
                continue;
            }
            last = Instant::now();
            match self.heartbeat_once(beat, &member_id, generation) {
                Ok(codes::NONE) => {}
                Ok(codes::REBALANCE_IN_PROGRESS) => beat.report(generation, News::Rebalance),
                Ok(error) => beat.report(generation, News::Lost(error)),
                Err(Error::Interrupted) => return,
                Err(e) => beat.report(generation, News::Failed(e)),
            }
        }
    }

    /// One heartbeat under the retry policy: the coordinator's answer, NONE or an error that
    /// says the member must join again.
    fn heartbeat_once(
        &mut self,
        beat: &Beat,
        member_id: &str,
        generation: i32,
    ) -> Result<i16, Error> {
        let group = beat.group.as_str();
        let what = format!("sending a heartbeat to group '{group}'");
        self.retry(&what, |c| {
            let node = c.coordinator_node(group)?;
            let request = |_| HeartbeatRequest {
                group_id: group,
                generation_id: generation,
                member_id,
                group_instance_id: beat.settings.instance_id.as_deref(),
            };
            let error = c.call_node(
                node,
                ApiKey::Heartbeat,
                HEARTBEAT,
                Duration::ZERO,
                request,
                |body, version| {
                    let mut r = Reader::new(body, version >= 4);
                    r.i32()?;
                    r.i16()
                },
            )?;
            match error {
                codes::NONE
                | codes::REBALANCE_IN_PROGRESS
                | codes::ILLEGAL_GENERATION
                | codes::UNKNOWN_MEMBER_ID
                | codes::FENCED_INSTANCE_ID => Ok(error),
                e => Err(c.membership_failure(group, e)),
            }
        })
    }

    /// The poll loop stalled past max.poll.interval.ms: its partitions go to the others now
    /// rather than after the session timeout. A static member stays (its partitions wait for it
    /// up to the session timeout), as in the Java client.
    fn leave_stalled(&mut self, beat: &Beat, member_id: &str, generation: i32) {
        let settings = &beat.settings;
        log::warn!(
            "no poll of group '{}' for longer than --max-poll-interval ({}): this member leaves \
             the group, so its partitions move to the others, and joins again once its output \
             moves; raise --max-poll-interval if processing a fetch takes this long",
            beat.group,
            secs(settings.max_poll_interval)
        );
        beat.report(generation, News::PollTimeout);
        if settings.instance_id.is_some() {
            return;
        }
        let group = beat.group.as_str();
        let left = self.retry(&format!("leaving group '{group}'"), |c| {
            let node = c.coordinator_node(group)?;
            let request = |_| LeaveGroupRequest {
                group_id: group,
                member_id,
            };
            c.call_node(
                node,
                ApiKey::LeaveGroup,
                LEAVE_GROUP,
                Duration::ZERO,
                request,
                |_, _| Ok(()),
            )
        });
        if let Err(e) = left {
            log::warn!("{e}: the coordinator drops this member after the session timeout");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat() -> Beat {
        let settings = GroupSettings {
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            instance_id: None,
        };
        Beat::new("g", &settings)
    }

    #[test]
    fn an_answer_about_an_earlier_generation_changes_nothing() {
        let b = beat();
        b.joined("m-1", 4);
        b.report(3, News::Lost(codes::ILLEGAL_GENERATION));
        assert!(b.in_generation() && !b.lost() && b.take_news().is_none());
        // Nor while a join is under way.
        b.joining();
        b.report(4, News::Rebalance);
        assert!(b.take_news().is_none());
    }

    #[test]
    fn a_rebalance_keeps_the_generation_and_a_loss_ends_it_and_outranks_it() {
        let b = beat();
        b.joined("m-1", 4);
        b.report(4, News::Rebalance);
        assert!(b.in_generation() && !b.lost());
        b.report(4, News::PollTimeout);
        assert!(!b.in_generation() && b.lost());
        assert!(matches!(b.take_news(), Some(News::PollTimeout)));
        b.joined("m-1", 5);
        assert!(b.in_generation() && b.take_news().is_none());
    }

    #[test]
    fn a_refused_commit_puts_the_member_out_until_it_joins_again() {
        let b = beat();
        b.joined("m-1", 4);
        b.lose(codes::REBALANCE_IN_PROGRESS);
        assert!(!b.in_generation() && b.lost());
        // What the heartbeats say afterwards does not hide the loss.
        b.report(4, News::Rebalance);
        assert!(matches!(
            b.take_news(),
            Some(News::Lost(codes::REBALANCE_IN_PROGRESS))
        ));
        b.joined("m-2", 5);
        assert!(b.in_generation() && !b.lost());
    }
}
