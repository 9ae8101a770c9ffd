//! What can go wrong with a component, and the table of active faults.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Deserialize, Serialize};
use shop_domain::{Component, ShopError};
use tokio::sync::watch;

/// One fault, applied to every call into a component until it is cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Adds `latency_ms`, plus up to `jitter_ms` drawn uniformly, before each call.
    Slow {
        latency_ms: u64,
        #[serde(default)]
        jitter_ms: u64,
    },
    /// Fails this share of calls (0 < rate <= 1) as "unavailable".
    Fail { rate: f64 },
    /// Calls wait, without using CPU, until the fault is cleared or changed.
    Hang,
    /// Spins the calling thread for `cpu_ms` before each call.
    BurnCpu { cpu_ms: u64 },
    /// Aborts the whole process on the next call, before the component runs, as a
    /// crash would.
    Abort,
    /// Lets each call do its work, then aborts the whole process before it answers:
    /// the crash that loses an acknowledgement (a charge captured, its answer never
    /// sent), which compensation must then make good.
    AbortAfter,
    /// Each call leaks `kb_per_call` KiB, written to so that it is resident, until the
    /// process has leaked `max_mb` MiB (or its memory limit kills it first). What
    /// leaked stays leaked when the fault is cleared, as a leak's memory would.
    Leak { kb_per_call: u64, max_mb: u64 },
    /// Makes each call `share` slower (0 < share <= 10): after it, the calling thread
    /// spins for `share` of the time the call took. A regression made on purpose, to
    /// show that the regression gate catches one and names the component.
    Tax { share: f64 },
}

impl Fault {
    /// Whether it takes the process down.
    pub fn crashes(&self) -> bool {
        matches!(self, Fault::Abort | Fault::AbortAfter)
    }

    /// Refuses values that cannot be meant (and would wedge a test for hours).
    pub fn validate(&self) -> Result<(), ShopError> {
        const TEN_MINUTES_MS: u64 = 600_000;
        match *self {
            Fault::Slow {
                latency_ms,
                jitter_ms,
            } if latency_ms.saturating_add(jitter_ms) > TEN_MINUTES_MS => Err(ShopError::invalid(
                "latency_ms",
                "latency plus jitter must be at most 600000",
            )),
            Fault::Fail { rate } if !(rate > 0.0 && rate <= 1.0) => {
                Err(ShopError::invalid("rate", "must be above 0 and at most 1"))
            }
            Fault::Tax { share } if !(share > 0.0 && share <= 10.0) => Err(ShopError::invalid(
                "share",
                "must be above 0 and at most 10",
            )),
            Fault::BurnCpu { cpu_ms } if cpu_ms == 0 || cpu_ms > 10_000 => {
                Err(ShopError::invalid("cpu_ms", "must be between 1 and 10000"))
            }
            Fault::Leak { kb_per_call, .. } if kb_per_call == 0 || kb_per_call > 65_536 => Err(
                ShopError::invalid("kb_per_call", "must be between 1 and 65536"),
            ),
            Fault::Leak { max_mb, .. } if max_mb == 0 || max_mb > 16_384 => {
                Err(ShopError::invalid("max_mb", "must be between 1 and 16384"))
            }
            _ => Ok(()),
        }
    }
}

/// The live fault table, shared by every [`Edge`](crate::Edge) of one process.
/// Cloning is cheap and clones share the table.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Read on every component call: lets the common case (no faults) skip the lock.
    any: AtomicBool,
    table: RwLock<BTreeMap<Component, Fault>>,
    /// Bumped on every change, so hung calls wake up and look again.
    changed: watch::Sender<u64>,
    /// What the leak fault has leaked: kept for the life of the process.
    leaked: Mutex<Vec<Box<[u8]>>>,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            any: AtomicBool::new(false),
            table: RwLock::default(),
            changed: watch::Sender::new(0),
            leaked: Mutex::default(),
        }
    }
}

impl Faults {
    pub fn set(&self, component: Component, fault: Fault) -> Result<(), ShopError> {
        fault.validate()?;
        tracing::warn!(%component, ?fault, "fault injected");
        self.update(|table| {
            table.insert(component, fault);
        });
        Ok(())
    }

    /// Clears one component's fault; returns whether there was one.
    pub fn clear(&self, component: Component) -> bool {
        let mut had = false;
        self.update(|table| had = table.remove(&component).is_some());
        if had {
            tracing::info!(%component, "fault cleared");
        }
        had
    }

    pub fn clear_all(&self) {
        self.update(BTreeMap::clear);
        tracing::info!("all faults cleared");
    }

    /// The active faults, by component.
    pub fn active(&self) -> BTreeMap<Component, Fault> {
        self.read().clone()
    }

    fn get(&self, component: Component) -> Option<Fault> {
        self.read().get(&component).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Component, Fault>> {
        // A poisoned table only means a panic elsewhere while holding it; the map is still whole.
        self.inner.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut BTreeMap<Component, Fault>)) {
        let mut table = self.inner.table.write().unwrap_or_else(|e| e.into_inner());
        change(&mut table);
        self.inner.any.store(!table.is_empty(), Ordering::Release);
        drop(table);
        self.inner
            .changed
            .send_modify(|generation| *generation += 1);
    }

    /// Applies `component`'s fault, if any, to one call: waits, spins, fails or aborts
    /// before it; what is owed after it (a [`Fault::Tax`]) is the [`Toll`] returned.
    pub async fn apply(&self, component: Component) -> Result<Toll, ShopError> {
        // The common case, on every call of every component: nothing to do, no lock taken.
        if !self.inner.any.load(Ordering::Acquire) {
            return Ok(Toll::NOTHING);
        }
        // Subscribed before looking, so a change between the look and the wait is not missed.
        let mut changes = self.inner.changed.subscribe();
        loop {
            match self.get(component) {
                None => return Ok(Toll::NOTHING),
                Some(Fault::Slow {
                    latency_ms,
                    jitter_ms,
                }) => {
                    let jitter = if jitter_ms > 0 {
                        rand::rng().random_range(0..=jitter_ms)
                    } else {
                        0
                    };
                    tokio::time::sleep(Duration::from_millis(latency_ms + jitter)).await;
                    return Ok(Toll::NOTHING);
                }
                Some(Fault::Fail { rate }) => {
                    return if rand::rng().random::<f64>() < rate {
                        Err(ShopError::unavailable(component, "injected failure"))
                    } else {
                        Ok(Toll::NOTHING)
                    };
                }
                Some(Fault::Hang) => {
                    // Wait for the table to change, then look again.
                    if changes.changed().await.is_err() {
                        return Ok(Toll::NOTHING);
                    }
                }
                Some(Fault::BurnCpu { cpu_ms }) => {
                    burn_cpu(Duration::from_millis(cpu_ms));
                    return Ok(Toll::NOTHING);
                }
                Some(Fault::Tax { share }) => return Ok(Toll(Due::Tax(share))),
                Some(Fault::AbortAfter) => return Ok(Toll(Due::Abort(component))),
                Some(Fault::Abort) => {
                    tracing::error!(%component, "injected fault: aborting the process");
                    std::process::abort();
                }
                Some(Fault::Leak {
                    kb_per_call,
                    max_mb,
                }) => {
                    self.leak(kb_per_call * 1024, max_mb * 1024 * 1024);
                    return Ok(Toll::NOTHING);
                }
            }
        }
    }
}

impl Faults {
    /// Leaks `bytes` more, unless `cap` bytes have leaked already.
    fn leak(&self, bytes: u64, cap: u64) {
        let mut leaked = self
            .inner
            .leaked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let total: u64 = leaked.iter().map(|block| block.len() as u64).sum();
        if total + bytes <= cap {
            // Written, not zeroed: zeroed pages are not resident until touched.
            leaked.push(vec![0xA5; bytes as usize].into_boxed_slice());
        }
    }

    /// Bytes the leak fault has leaked in this process.
    pub fn leaked_bytes(&self) -> u64 {
        self.inner
            .leaked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|block| block.len() as u64)
            .sum()
    }
}

/// What a call owes after it has run: nothing, a share of its own time spent
/// spinning ([`Fault::Tax`]), or the process ([`Fault::AbortAfter`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[must_use = "a toll is paid after the call"]
pub struct Toll(Due);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Due {
    Nothing,
    Tax(f64),
    Abort(Component),
}

impl Toll {
    pub const NOTHING: Toll = Toll(Due::Nothing);

    /// Pays it for a call that began at `began` (the clock is read only when there is
    /// something to pay: this runs after every component call).
    pub fn pay(self, began: Instant) {
        match self.0 {
            Due::Nothing => {}
            Due::Tax(share) => burn_cpu(began.elapsed().mul_f64(share)),
            Due::Abort(component) => {
                tracing::error!(%component, "injected fault: aborting the process after the call");
                std::process::abort();
            }
        }
    }
}

/// Keeps this thread busy for `duration` of wall time (on purpose: that is the fault).
fn burn_cpu(duration: Duration) {
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < duration {
        for i in 0..1_000u64 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_taxed_call_pays_its_share_of_its_own_time_after_it() {
        let faults = Faults::default();
        faults
            .set(Component::Catalog, Fault::Tax { share: 0.5 })
            .unwrap();
        assert_eq!(faults.apply(Component::Cart).await.unwrap(), Toll::NOTHING);
        let toll = faults.apply(Component::Catalog).await.unwrap();
        let paying = Instant::now();
        // A call that began 40 ms ago.
        toll.pay(paying - Duration::from_millis(40));
        let paid = paying.elapsed();
        assert!(
            paid >= Duration::from_millis(20),
            "paid {paid:?} for 40 ms at 50%"
        );
        assert!(
            paid < Duration::from_millis(200),
            "paid {paid:?} for 40 ms at 50%"
        );
        for share in [0.0, -1.0, 10.5, f64::NAN] {
            assert!(Fault::Tax { share }.validate().is_err(), "{share}");
        }
    }

    #[tokio::test]
    async fn a_leak_grows_by_its_step_up_to_its_cap_and_stays_when_cleared() {
        let faults = Faults::default();
        let leak = Fault::Leak {
            kb_per_call: 512,
            max_mb: 2,
        };
        faults.set(Component::Cart, leak).unwrap();
        let _ = faults.apply(Component::Cart).await.unwrap();
        assert_eq!(faults.leaked_bytes(), 512 * 1024);
        for _ in 0..10 {
            let _ = faults.apply(Component::Cart).await.unwrap();
        }
        assert_eq!(faults.leaked_bytes(), 2 * 1024 * 1024, "capped at max_mb");
        // Other components do not leak.
        let _ = faults.apply(Component::Catalog).await.unwrap();
        faults.clear(Component::Cart);
        let _ = faults.apply(Component::Cart).await.unwrap();
        assert_eq!(faults.leaked_bytes(), 2 * 1024 * 1024);
        assert!(
            Fault::Leak {
                kb_per_call: 0,
                max_mb: 1
            }
            .validate()
            .is_err()
        );
        assert!(
            Fault::Leak {
                kb_per_call: 1,
                max_mb: 0
            }
            .validate()
            .is_err()
        );
    }

    #[tokio::test]
    async fn no_fault_means_no_effect() {
        let faults = Faults::default();
        assert!(faults.apply(Component::Catalog).await.is_ok());
    }

    #[tokio::test]
    async fn a_fault_touches_only_its_component() {
        let faults = Faults::default();
        faults
            .set(Component::Payments, Fault::Fail { rate: 1.0 })
            .unwrap();
        let err = faults.apply(Component::Payments).await.unwrap_err();
        assert_eq!(
            err,
            ShopError::unavailable(Component::Payments, "injected failure")
        );
        assert!(faults.apply(Component::Catalog).await.is_ok());
        assert!(faults.clear(Component::Payments));
        assert!(faults.apply(Component::Payments).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn slow_adds_the_latency() {
        let faults = Faults::default();
        faults
            .set(
                Component::Inventory,
                Fault::Slow {
                    latency_ms: 250,
                    jitter_ms: 0,
                },
            )
            .unwrap();
        let start = tokio::time::Instant::now();
        let _ = faults.apply(Component::Inventory).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(250));
    }

    #[tokio::test]
    async fn hang_holds_calls_until_cleared() {
        let faults = Faults::default();
        faults.set(Component::Recommendations, Fault::Hang).unwrap();
        let call = tokio::spawn({
            let faults = faults.clone();
            async move { faults.apply(Component::Recommendations).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!call.is_finished(), "a hung call must not return");
        faults.clear(Component::Recommendations);
        let result = tokio::time::timeout(Duration::from_secs(5), call)
            .await
            .expect("woke up");
        assert!(result.unwrap().is_ok());
    }

    #[test]
    fn nonsense_faults_are_refused() {
        assert!(Fault::Fail { rate: 0.0 }.validate().is_err());
        assert!(Fault::Fail { rate: 1.5 }.validate().is_err());
        assert!(Fault::Fail { rate: f64::NAN }.validate().is_err());
        assert!(Fault::BurnCpu { cpu_ms: 0 }.validate().is_err());
        assert!(
            Fault::Slow {
                latency_ms: 600_001,
                jitter_ms: 0
            }
            .validate()
            .is_err()
        );
        // The sum must not wrap around into something small.
        assert!(
            Fault::Slow {
                latency_ms: u64::MAX,
                jitter_ms: 2
            }
            .validate()
            .is_err()
        );
        assert!(
            Fault::Slow {
                latency_ms: 5,
                jitter_ms: 5
            }
            .validate()
            .is_ok()
        );
    }
}
