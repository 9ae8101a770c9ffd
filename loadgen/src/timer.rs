//! A sleep that wakes on time without burning a core.
//!
//! tokio's timer has millisecond ticks: a task asleep until an instant wakes up to a
//! millisecond late, and every send would carry that. Spinning through the last
//! millisecond fixes the lateness but costs a core at a few thousand sends per second.
//! Here one thread keeps the pending deadlines in a heap and sleeps on a condition
//! variable until the earliest (the kernel's high-resolution timer: tens of
//! microseconds late), then wakes the tasks whose time has come.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// A deadline and whom to wake at it.
struct Entry {
    at: Instant,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.at.cmp(&other.at)
    }
}

/// The process's one timer thread and its deadlines.
struct Timer {
    pending: Mutex<BinaryHeap<Reverse<Entry>>>,
    changed: Condvar,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<&'static Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::new(Timer {
            pending: Mutex::new(BinaryHeap::new()),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("precise-timer".to_owned())
            .spawn(move || timer.run())
            .expect("starting the timer thread");
        timer
    })
}

impl Timer {
    fn run(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let mut due = Vec::new();
        loop {
            let now = Instant::now();
            while pending.peek().is_some_and(|Reverse(e)| e.at <= now) {
                if let Some(Reverse(entry)) = pending.pop() {
                    due.push(entry.waker);
                }
            }
            if !due.is_empty() {
                // Woken without the lock, so a task that sleeps again at once does
                // not wait for it.
                drop(pending);
                due.drain(..).for_each(Waker::wake);
                pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            pending = match pending.peek().map(|Reverse(e)| e.at) {
                Some(next) => {
                    self.changed
                        .wait_timeout(pending, next.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .changed
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }

    fn wake_at(&self, at: Instant, waker: Waker) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let earliest = pending.peek().is_none_or(|Reverse(e)| at < e.at);
        pending.push(Reverse(Entry { at, waker }));
        if earliest {
            self.changed.notify_one();
        }
    }
}

/// Completes at `deadline` (or as soon after as the kernel wakes the timer thread).
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        registered: None,
    }
}

/// See [`sleep_until`].
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    /// The waker its pending entry will wake.
    registered: Option<Waker>,
}

impl Future for Sleep {
    type Output = Instant;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let now = Instant::now();
        if now >= self.deadline {
            return Poll::Ready(now);
        }
        // Polled again before its time (a spurious wake-up): its entry is still
        // pending, and needs no twin unless the task's waker changed.
        if !self
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            timer().wake_at(self.deadline, cx.waker().clone());
            self.registered = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn many_sleepers_each_wake_at_their_time_in_order() {
        let _alone = crate::TIMING_TESTS.lock().await;
        let start = Instant::now() + Duration::from_millis(5);
        // Deadlines handed in out of order.
        let offsets = [9_000u64, 1_000, 5_000, 3_000, 7_000];
        let sleepers: Vec<_> = offsets
            .iter()
            .map(|&us| {
                let at = start + Duration::from_micros(us);
                tokio::spawn(async move { (at, sleep_until(at).await) })
            })
            .collect();
        for sleeper in sleepers {
            let (at, woke) = sleeper.await.unwrap();
            assert!(woke >= at);
            assert!(woke - at < Duration::from_millis(2), "{:?} late", woke - at);
        }
    }

    #[tokio::test]
    async fn a_deadline_already_past_is_ready_at_once() {
        let past = Instant::now();
        assert!(sleep_until(past).await >= past);
    }
}
