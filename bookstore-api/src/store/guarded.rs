//! Every database call under a deadline, and none while the database is known to be away.
//!
//! Without this a request waits for a pooled connection that will not come, or, on a connection
//! whose packets are dropped, for TCP to give up (minutes). With it, a request answers 503 within
//! the deadline at worst, and at once while a monitor ([`watch`]) finds the database away; the
//! monitor also notices its return within a second, so the API recovers by itself.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::{BookStore, ListQuery, Listing, PoolStats, StoreError};
use crate::book::{Book, BookPatch, NewBook};

/// How often the monitor checks the database while nothing suggests a problem.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Whether the database answers, as the monitor last found it.
#[derive(Debug)]
pub struct DatabaseHealth {
    reachable: AtomicBool,
    /// A request met a connection failure: the monitor checks at once.
    suspicion: Notify,
}

impl Default for DatabaseHealth {
    fn default() -> Self {
        Self {
            // Unknown until a check (or a migration) has reached it: a pod started during an
            // outage must not report a database it never reached.
            reachable: AtomicBool::new(false),
            suspicion: Notify::new(),
        }
    }
}

impl DatabaseHealth {
    pub fn is_reachable(&self) -> bool {
        self.reachable.load(Ordering::Acquire)
    }

    /// Records a check's outcome (or a migration's: it reached the database too); logs only the
    /// changes.
    pub fn record(&self, outcome: &Result<(), StoreError>) {
        let reachable = outcome.is_ok();
        if self.reachable.swap(reachable, Ordering::AcqRel) == reachable {
            return;
        }
        match outcome {
            Ok(()) => tracing::info!("database reachable again"),
            Err(error) => tracing::warn!(
                error = %error,
                "database unreachable: requests answer 503 until it returns"
            ),
        }
    }
}

/// A store whose calls answer within `deadline`, and fail at once while the database is away.
pub struct Guarded {
    inner: Arc<dyn BookStore>,
    health: Arc<DatabaseHealth>,
    deadline: Duration,
}

impl Guarded {
    pub fn new(inner: Arc<dyn BookStore>, health: Arc<DatabaseHealth>, deadline: Duration) -> Self {
        Self {
            inner,
            health,
            deadline,
        }
    }

    async fn call<T>(
        &self,
        operation: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        if !self.health.is_reachable() {
            return Err(StoreError::Unreachable);
        }
        let outcome = tokio::time::timeout(self.deadline, operation)
            .await
            .unwrap_or(Err(StoreError::TimedOut(self.deadline)));
        if outcome.as_ref().is_err_and(StoreError::suggests_outage) {
            self.health.suspicion.notify_one();
        }
        outcome
    }
}

#[async_trait]
impl BookStore for Guarded {
    /// Not under the deadline: a migration may take long, and runs before any request is served.
    async fn migrate(&self) -> Result<(), StoreError> {
        self.inner.migrate().await
    }

    /// Under the deadline, whatever the monitor found: this is how it finds out.
    async fn ping(&self) -> Result<(), StoreError> {
        tokio::time::timeout(self.deadline, self.inner.ping())
            .await
            .unwrap_or(Err(StoreError::TimedOut(self.deadline)))
    }

    async fn list(&self, query: &ListQuery) -> Result<Listing, StoreError> {
        self.call(self.inner.list(query)).await
    }

    async fn get(&self, id: i64) -> Result<Option<Book>, StoreError> {
        self.call(self.inner.get(id)).await
    }

    async fn create(&self, book: &NewBook) -> Result<Book, StoreError> {
        self.call(self.inner.create(book)).await
    }

    async fn update(&self, id: i64, patch: &BookPatch) -> Result<Option<Book>, StoreError> {
        self.call(self.inner.update(id, patch)).await
    }

    async fn delete(&self, id: i64) -> Result<bool, StoreError> {
        self.call(self.inner.delete(id)).await
    }

    fn pool_stats(&self) -> PoolStats {
        self.inner.pool_stats()
    }

    async fn close(&self) {
        self.inner.close().await;
    }
}

/// The monitor: checks the database every [`CHECK_EVERY`], and at once when a request suspects an
/// outage while it is thought reachable (during an outage, once a second: never faster than that,
/// however many requests fail). Runs until the task is dropped.
pub async fn watch(store: &dyn BookStore, health: &DatabaseHealth) {
    loop {
        let outcome = store.ping().await;
        health.record(&outcome);
        if outcome.is_ok() {
            tokio::select! {
                () = tokio::time::sleep(CHECK_EVERY) => {}
                () = health.suspicion.notified() => {}
            }
        } else {
            tokio::time::sleep(CHECK_EVERY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicU32;

    use super::*;

    /// A store whose reads take `delay` and then fail with `error` (if any).
    #[derive(Default)]
    struct Scripted {
        delay: Mutex<Duration>,
        failing: AtomicBool,
        calls: AtomicU32,
    }

    #[async_trait]
    impl BookStore for Scripted {
        async fn migrate(&self) -> Result<(), StoreError> {
            Ok(())
        }
        async fn ping(&self) -> Result<(), StoreError> {
            self.get(0).await.map(|_| ())
        }
        async fn list(&self, _: &ListQuery) -> Result<Listing, StoreError> {
            unimplemented!("not used")
        }
        async fn get(&self, _: i64) -> Result<Option<Book>, StoreError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let delay = *self.delay.lock().expect("lock");
            tokio::time::sleep(delay).await;
            if self.failing.load(Ordering::SeqCst) {
                Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut))
            } else {
                Ok(None)
            }
        }
        async fn create(&self, _: &NewBook) -> Result<Book, StoreError> {
            unimplemented!("not used")
        }
        async fn update(&self, _: i64, _: &BookPatch) -> Result<Option<Book>, StoreError> {
            unimplemented!("not used")
        }
        async fn delete(&self, _: i64) -> Result<bool, StoreError> {
            unimplemented!("not used")
        }
        fn pool_stats(&self) -> PoolStats {
            PoolStats::default()
        }
        async fn close(&self) {}
    }

    /// A guarded store whose database was last found reachable.
    fn guarded(inner: &Arc<Scripted>) -> (Guarded, Arc<DatabaseHealth>) {
        let health = Arc::new(DatabaseHealth::default());
        health.record(&Ok(()));
        let store = Guarded::new(
            Arc::clone(inner) as Arc<dyn BookStore>,
            Arc::clone(&health),
            Duration::from_secs(2),
        );
        (store, health)
    }

    #[test]
    fn a_database_never_checked_is_not_called_reachable() {
        assert!(!DatabaseHealth::default().is_reachable());
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_hangs_ends_at_the_deadline() {
        let inner = Arc::new(Scripted::default());
        *inner.delay.lock().expect("lock") = Duration::from_secs(600);
        let (store, _) = guarded(&inner);
        let started = tokio::time::Instant::now();
        let outcome = store.get(1).await;
        assert!(
            matches!(outcome, Err(StoreError::TimedOut(_))),
            "{outcome:?}"
        );
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn while_the_monitor_finds_the_database_away_calls_fail_at_once_and_recover() {
        let inner = Arc::new(Scripted::default());
        let (store, health) = guarded(&inner);
        let store = Arc::new(store);
        let monitor = {
            let (store, health) = (Arc::clone(&store), Arc::clone(&health));
            tokio::spawn(async move { watch(store.as_ref(), &health).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(health.is_reachable());

        inner.failing.store(true, Ordering::SeqCst);
        // A request meets the failure; the monitor checks at once, not a second later.
        assert!(store.get(1).await.is_err());
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!health.is_reachable(), "the monitor confirmed the outage");
        let calls = inner.calls.load(Ordering::SeqCst);
        let started = tokio::time::Instant::now();
        assert!(matches!(store.get(1).await, Err(StoreError::Unreachable)));
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "no wait during an outage"
        );
        assert_eq!(
            inner.calls.load(Ordering::SeqCst),
            calls,
            "the database is not asked"
        );

        // However many requests are refused meanwhile, the database is checked once a second.
        for _ in 0..100 {
            assert!(store.get(1).await.is_err());
        }
        tokio::time::sleep(CHECK_EVERY * 3).await;
        let checks = inner.calls.load(Ordering::SeqCst) - calls;
        assert!(checks <= 3, "{checks} checks in 3 s");

        inner.failing.store(false, Ordering::SeqCst);
        tokio::time::sleep(CHECK_EVERY + Duration::from_millis(10)).await;
        assert!(health.is_reachable(), "found back by the next check");
        assert!(matches!(store.get(1).await, Ok(None)));
        monitor.abort();
    }
}
