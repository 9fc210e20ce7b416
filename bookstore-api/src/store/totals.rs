//! The `total` of a listing, counted at most once per [`MAX_AGE`] for each filter.
//!
//! Counting reads every matching row (a table scan without filters: ~0.1 s at 1,000,000 books),
//! so a listing does not count per request. A total is served from here while it is younger than
//! `MAX_AGE`; a write through this process makes every total due at once. One count per filter
//! runs at a time: while a due total is recounted, concurrent requests get the previous value;
//! when there is none yet, they wait for that one count rather than start their own. So a total
//! may lag writes through other replicas by `MAX_AGE` plus one count.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{Filter, StoreError};

pub const MAX_AGE: Duration = Duration::from_secs(5);
/// Distinct filters remembered, ~200 bytes each for an author or a short search (~2 KB at most).
/// Authors are a bounded set and should all fit: with 1,024, the benchmark's 5,000 authors
/// recounted on nearly every request. Searches are open-ended: when the map is full, the totals
/// that are due are dropped, and when most are still fresh, all of them.
const MAX_FILTERS: usize = 8192;

#[derive(Debug, Clone, Copy)]
struct Total {
    value: i64,
    counted_at: Instant,
    /// [`Totals::generation`] when the count started: a write since makes the total due.
    generation: u64,
}

impl Total {
    fn is_fresh(&self, generation: u64) -> bool {
        self.generation == generation && self.counted_at.elapsed() < MAX_AGE
    }
}

/// One filter's total, and the lock its one count holds (released if the count is abandoned: a
/// request can be cancelled).
#[derive(Debug, Default)]
struct Slot {
    total: Mutex<Option<Total>>,
    counting: tokio::sync::Mutex<()>,
}

impl Slot {
    fn total(&self) -> MutexGuard<'_, Option<Total>> {
        // Never held across an await, and every write leaves it whole: poisoning cannot spoil it.
        self.total.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Worth keeping when the map is full: fresh, or being counted right now (dropping it would
    /// let a second count of the same filter start).
    fn is_live(&self, generation: u64) -> bool {
        self.counting.try_lock().is_err() || self.total().is_some_and(|t| t.is_fresh(generation))
    }
}

#[derive(Debug, Default)]
pub struct Totals {
    slots: Mutex<HashMap<Filter, Arc<Slot>>>,
    /// Bumped by every write, so a write costs the same however many totals are remembered.
    generation: AtomicU64,
}

impl Totals {
    fn slots(&self) -> MutexGuard<'_, HashMap<Filter, Arc<Slot>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// After a write: every total is due.
    pub fn written(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn slot(&self, filter: &Filter) -> Arc<Slot> {
        let mut slots = self.slots();
        if let Some(slot) = slots.get(filter) {
            return Arc::clone(slot);
        }
        if slots.len() >= MAX_FILTERS {
            let generation = self.generation();
            slots.retain(|_, slot| slot.is_live(generation));
            if slots.len() >= MAX_FILTERS * 3 / 4 {
                slots.clear();
            }
        }
        Arc::clone(slots.entry(filter.clone()).or_default())
    }

    /// The total for `filter`, from memory or from `count`.
    pub async fn get<F, C>(&self, filter: &Filter, count: C) -> Result<i64, StoreError>
    where
        C: FnOnce() -> F,
        F: Future<Output = Result<i64, StoreError>>,
    {
        let slot = self.slot(filter);
        let previous = *slot.total();
        if let Some(total) = previous.filter(|t| t.is_fresh(self.generation())) {
            return Ok(total.value);
        }
        let _counting = match (slot.counting.try_lock(), previous) {
            (Ok(guard), _) => guard,
            (Err(_), Some(stale)) => return Ok(stale.value),
            (Err(_), None) => slot.counting.lock().await,
        };
        // The count this request waited for may have just finished.
        if let Some(total) = slot.total().filter(|t| t.is_fresh(self.generation())) {
            return Ok(total.value);
        }
        let generation = self.generation();
        let value = count().await?;
        *slot.total() = Some(Total {
            value,
            counted_at: Instant::now(),
            generation,
        });
        Ok(value)
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.slots().len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    fn filter(q: &str) -> Filter {
        Filter {
            q: Some(q.to_owned()),
            author: None,
        }
    }

    /// A counter that answers how often it has been asked.
    async fn counting(calls: &AtomicI64) -> Result<i64, StoreError> {
        Ok(calls.fetch_add(1, Ordering::SeqCst) + 1)
    }

    #[tokio::test]
    async fn a_total_is_counted_once_until_a_write() {
        let totals = Totals::default();
        let calls = AtomicI64::new(0);
        assert_eq!(
            totals.get(&filter("a"), || counting(&calls)).await.ok(),
            Some(1)
        );
        assert_eq!(
            totals.get(&filter("a"), || counting(&calls)).await.ok(),
            Some(1)
        );
        assert_eq!(
            totals.get(&filter("b"), || counting(&calls)).await.ok(),
            Some(2)
        );
        totals.written();
        assert_eq!(
            totals.get(&filter("a"), || counting(&calls)).await.ok(),
            Some(3)
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    /// Counts `filters` (new ones: each counted once) and says how many counts ran.
    async fn count_each(totals: &Totals, filters: impl Iterator<Item = Filter>) -> i64 {
        let calls = AtomicI64::new(0);
        for filter in filters {
            totals
                .get(&filter, || counting(&calls))
                .await
                .expect("counted");
        }
        calls.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn a_full_map_drops_the_totals_that_are_due_and_keeps_fresh_ones() {
        let totals = Totals::default();
        let half = MAX_FILTERS / 2;
        let older = (0..half).map(|i| filter(&format!("older {i}")));
        assert_eq!(count_each(&totals, older).await, half as i64);
        totals.written();
        let newer = (0..half).map(|i| filter(&format!("newer {i}")));
        assert_eq!(count_each(&totals, newer.clone()).await, half as i64);
        assert_eq!(totals.remembered(), MAX_FILTERS);

        assert_eq!(
            count_each(&totals, std::iter::once(filter("one more"))).await,
            1
        );
        assert_eq!(totals.remembered(), half + 1, "the totals due were dropped");
        assert_eq!(
            count_each(&totals, newer).await,
            0,
            "the fresh ones are still served from memory"
        );
    }

    #[tokio::test]
    async fn a_map_full_of_fresh_totals_starts_over() {
        let totals = Totals::default();
        let searches = (0..MAX_FILTERS).map(|i| filter(&format!("search {i}")));
        count_each(&totals, searches).await;
        assert_eq!(totals.remembered(), MAX_FILTERS);
        count_each(&totals, std::iter::once(filter("one more"))).await;
        assert_eq!(totals.remembered(), 1);
    }

    #[tokio::test]
    async fn a_count_that_overlapped_a_write_is_due_at_once() {
        let totals = Totals::default();
        let overlapped = totals
            .get(&filter("a"), || async {
                totals.written();
                Ok(10)
            })
            .await;
        assert_eq!(overlapped.ok(), Some(10));
        let calls = AtomicI64::new(10);
        assert_eq!(
            totals.get(&filter("a"), || counting(&calls)).await.ok(),
            Some(11)
        );
    }

    #[tokio::test]
    async fn while_one_request_recounts_the_others_get_the_previous_total() {
        let totals = Totals::default();
        let calls = AtomicI64::new(0);
        assert_eq!(
            totals.get(&filter("a"), || counting(&calls)).await.ok(),
            Some(1)
        );
        totals.written();
        let during_recount = totals
            .get(&filter("a"), || async {
                totals.get(&filter("a"), || counting(&calls)).await
            })
            .await;
        assert_eq!(
            during_recount.ok(),
            Some(1),
            "the inner caller got the previous total"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1, "and did not count");
    }

    #[tokio::test]
    async fn concurrent_first_requests_wait_for_one_count() {
        let totals = Totals::default();
        let calls = AtomicI64::new(0);
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let a = filter("a");
        let first = totals.get(&a, || async {
            let _ = released.await;
            counting(&calls).await
        });
        let second = totals.get(&a, || counting(&calls));
        let release_later = async {
            tokio::task::yield_now().await;
            let _ = release.send(());
        };
        let (first, second, ()) = tokio::join!(first, second, release_later);
        assert_eq!((first.ok(), second.ok()), (Some(1), Some(1)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_or_abandoned_count_is_not_remembered() {
        let totals = Totals::default();
        let failed = totals
            .get(&filter("a"), || async {
                Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut))
            })
            .await;
        assert!(failed.is_err());
        let a = filter("a");
        let abandoned = totals.get(&a, std::future::pending);
        assert!(
            tokio::time::timeout(Duration::from_millis(10), abandoned)
                .await
                .is_err()
        );
        let calls = AtomicI64::new(0);
        assert_eq!(
            totals.get(&filter("a"), || counting(&calls)).await.ok(),
            Some(1)
        );
    }
}
