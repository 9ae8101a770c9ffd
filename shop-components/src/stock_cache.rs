//! A short-lived cache of the stock a product page shows.
//!
//! Reading one row from SQLite costs little, but each read transaction takes and drops
//! file locks (two `fcntl` calls), and the product page is the hottest read in the shop.
//! Stock on a product page is advisory: `reserve` is the authority and always reads the
//! table. So `stock` may answer from here, within a bound:
//!
//! - this process's own writes invalidate the SKUs they touch at once, so a process that
//!   is the only writer (the monolith, a single inventory service) never shows stale stock;
//! - writes by *other* processes sharing the file (replicas) show after at most the TTL.
//!
//! A TTL of zero turns the cache off.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use shop_domain::Sku;

#[derive(Debug)]
pub(crate) struct StockCache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Sku, (u64, Instant)>,
    /// Bumped by every invalidation: a read that started before one must not be cached.
    generation: u64,
}

/// A read in progress: remembers the generation it started in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

impl StockCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every critical section leaves the map whole: a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh cached value, or a ticket to read the table and [`put`](Self::put) the result.
    pub(crate) fn get(&self, sku: &Sku) -> Result<u64, Ticket> {
        let inner = self.lock();
        match inner.entries.get(sku) {
            Some(&(available, at)) if at.elapsed() < self.ttl => Ok(available),
            _ => Err(Ticket(inner.generation)),
        }
    }

    /// Caches a value read from the table, unless an invalidation happened since `ticket`.
    pub(crate) fn put(&self, ticket: Ticket, sku: &Sku, available: u64) {
        if self.ttl.is_zero() {
            return;
        }
        let mut inner = self.lock();
        if inner.generation == ticket.0 {
            inner
                .entries
                .insert(sku.clone(), (available, Instant::now()));
        }
    }

    /// Forgets these SKUs; call after a write to them has committed.
    pub(crate) fn invalidate<'a>(&self, skus: impl IntoIterator<Item = &'a Sku>) {
        let mut inner = self.lock();
        inner.generation += 1;
        for sku in skus {
            inner.entries.remove(sku);
        }
    }

    /// Forgets everything (when the SKUs a write touched are not at hand).
    pub(crate) fn invalidate_all(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(n: usize) -> Sku {
        Sku::from_index(n)
    }

    #[test]
    fn a_put_is_served_until_it_expires() {
        let cache = StockCache::new(Duration::from_millis(50));
        let ticket = cache.get(&sku(1)).unwrap_err();
        cache.put(ticket, &sku(1), 7);
        assert_eq!(cache.get(&sku(1)).unwrap(), 7);
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(&sku(1)).is_err());
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_cached() {
        let cache = StockCache::new(Duration::from_secs(60));
        let ticket = cache.get(&sku(1)).unwrap_err();
        cache.invalidate([&sku(1)]);
        cache.put(ticket, &sku(1), 7);
        assert!(
            cache.get(&sku(1)).is_err(),
            "the value read before the write must not stick"
        );
    }

    #[test]
    fn invalidation_forgets_only_what_it_names_and_zero_ttl_caches_nothing() {
        let cache = StockCache::new(Duration::from_secs(60));
        for n in [1, 2] {
            let ticket = cache.get(&sku(n)).unwrap_err();
            cache.put(ticket, &sku(n), n as u64);
        }
        cache.invalidate([&sku(1)]);
        assert!(cache.get(&sku(1)).is_err());
        assert_eq!(cache.get(&sku(2)).unwrap(), 2);
        cache.invalidate_all();
        assert!(cache.get(&sku(2)).is_err());

        let off = StockCache::new(Duration::ZERO);
        let ticket = off.get(&sku(1)).unwrap_err();
        off.put(ticket, &sku(1), 1);
        assert!(off.get(&sku(1)).is_err());
    }
}
