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
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{Filter, StoreError};

pub const MAX_AGE: Duration = Duration::from_secs(5);
/// Distinct filters remembered; searches are open-ended, so the map is emptied when full.
const MAX_FILTERS: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Total {
    value: i64,
    counted_at: Instant,
    /// A write may have come after the count.
    written_since: bool,
}

impl Total {
    fn is_fresh(&self) -> bool {
        !self.written_since && self.counted_at.elapsed() < MAX_AGE
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
}

#[derive(Debug, Default)]
struct State {
    slots: HashMap<Filter, Arc<Slot>>,
    /// Bumped by every write: a count that overlapped a write is due at once.
    generation: u64,
}

#[derive(Debug, Default)]
pub struct Totals {
    state: Mutex<State>,
}

impl Totals {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// After a write: every total is due.
    pub fn written(&self) {
        let mut state = self.state();
        state.generation += 1;
        for slot in state.slots.values() {
            if let Some(total) = slot.total().as_mut() {
                total.written_since = true;
            }
        }
    }

    fn slot(&self, filter: &Filter) -> Arc<Slot> {
        let mut state = self.state();
        if let Some(slot) = state.slots.get(filter) {
            return Arc::clone(slot);
        }
        if state.slots.len() >= MAX_FILTERS {
            state.slots.clear();
        }
        Arc::clone(state.slots.entry(filter.clone()).or_default())
    }

    /// The total for `filter`, from memory or from `count`.
    pub async fn get<F, C>(&self, filter: &Filter, count: C) -> Result<i64, StoreError>
    where
        C: FnOnce() -> F,
        F: Future<Output = Result<i64, StoreError>>,
    {
        let slot = self.slot(filter);
        let previous = *slot.total();
        if let Some(total) = previous.filter(Total::is_fresh) {
            return Ok(total.value);
        }
        let _counting = match (slot.counting.try_lock(), previous) {
            (Ok(guard), _) => guard,
            (Err(_), Some(stale)) => return Ok(stale.value),
            (Err(_), None) => slot.counting.lock().await,
        };
        // The count this request waited for may have just finished.
        if let Some(total) = slot.total().filter(Total::is_fresh) {
            return Ok(total.value);
        }
        let generation = self.state().generation;
        let value = count().await?;
        let written_since = self.state().generation != generation;
        *slot.total() = Some(Total {
            value,
            counted_at: Instant::now(),
            written_since,
        });
        Ok(value)
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
