//! The repository: one trait for the catalogue, implemented for MySQL and for embedded SQLite.

mod mysql;
mod sqlite;

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::book::{Book, BookPatch, NewBook};
use crate::config::{DatabaseConfig, PoolConfig};

pub use mysql::MySqlStore;
pub use sqlite::SqliteStore;

/// What a listing asks for; the HTTP layer has already validated the bounds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Case-insensitive substring of the title or the author.
    pub q: Option<String>,
    /// Case-insensitive exact author.
    pub author: Option<String>,
    /// Keyset cursor: only books with a larger id.
    pub after_id: i64,
    pub offset: i64,
    pub limit: i64,
}

/// One page of books in id order, with the count of every book matching the filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub books: Vec<Book>,
    pub total: i64,
    pub has_more: bool,
}

impl Listing {
    /// `rows` were fetched with `limit + 1`: the extra row only tells that another page exists.
    fn from_rows(mut rows: Vec<Book>, query: &ListQuery, total: i64) -> Self {
        let limit = usize::try_from(query.limit).unwrap_or(0);
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        Self {
            books: rows,
            total,
            has_more,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections, idle or in use.
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl PoolStats {
    fn of<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> Self {
        Self {
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        }
    }

    pub fn in_use(&self) -> u32 {
        self.size.saturating_sub(self.idle)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached right now; a retry may succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match error {
            E::Io(_)
            | E::Tls(_)
            | E::PoolTimedOut
            | E::PoolClosed
            | E::WorkerCrashed
            | E::Protocol(_) => Self::Unavailable(error),
            E::Database(ref db) if is_transient(db.as_ref()) => Self::Unavailable(error),
            _ => Self::Database(error),
        }
    }
}

/// Errors that say the database is away, refusing us or busy, rather than that the query is wrong.
fn is_transient(error: &dyn sqlx::error::DatabaseError) -> bool {
    if let Some(mysql) = error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // Too many connections, access denied (credentials being rotated), unknown database,
        // shutdown in progress, lock wait timeout, deadlock, connection killed.
        const TRANSIENT: [u16; 8] = [1040, 1044, 1045, 1049, 1053, 1205, 1213, 1927];
        return TRANSIENT.contains(&mysql.number());
    }
    // SQLITE_BUSY and SQLITE_LOCKED: another writer holds the file beyond the busy timeout.
    error.code().is_some_and(|code| code == "5" || code == "6")
}

/// The catalogue's storage. Implementations own their connection pool.
#[async_trait]
pub trait BookStore: Send + Sync {
    /// Applies the embedded migrations; safe when several replicas start at once.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// A trivial round trip, for readiness.
    async fn ping(&self) -> Result<(), StoreError>;
    async fn list(&self, query: &ListQuery) -> Result<Listing, StoreError>;
    async fn get(&self, id: i64) -> Result<Option<Book>, StoreError>;
    async fn create(&self, book: &NewBook) -> Result<Book, StoreError>;
    /// Applies the fields the patch carries; `None` when no book has that id.
    async fn update(&self, id: i64, patch: &BookPatch) -> Result<Option<Book>, StoreError>;
    /// `false` when no book had that id.
    async fn delete(&self, id: i64) -> Result<bool, StoreError>;
    fn pool_stats(&self) -> PoolStats;
    /// Waits for connections in use to be returned, then closes them all.
    async fn close(&self);
}

/// Builds the store the configuration names. Nothing connects yet: the pool opens connections on
/// first use, so the server can start (and answer `/healthz`) while the database is still away.
pub fn connect_lazy(
    database: &DatabaseConfig,
    pool: &PoolConfig,
) -> Result<Arc<dyn BookStore>, StoreError> {
    Ok(match database {
        DatabaseConfig::MySql(options) => {
            Arc::new(MySqlStore::connect_lazy(options.as_ref().clone(), pool))
        }
        DatabaseConfig::Sqlite { path } => Arc::new(SqliteStore::connect_lazy(path, pool)),
    })
}

fn pool_options<DB: sqlx::Database>(config: &PoolConfig) -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .max_connections(config.max_connections)
        .min_connections(0)
        .acquire_timeout(config.acquire_timeout)
        .idle_timeout(config.idle_timeout)
}

/// Migrations are compiled into the binary, so an image needs no files beside it.
fn embedded_migrator(sql: &'static str) -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        Cow::Borrowed("create books"),
        MigrationType::Simple,
        sqlx::SqlSafeStr::into_sql_str(sql),
        false,
    )])
}

/// `%q%` with LIKE's wildcards escaped (escape character `!`, the same on MySQL and SQLite).
fn contains_pattern(q: &str) -> String {
    let mut pattern = String::with_capacity(q.len() + 2);
    pattern.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_a_search_are_taken_literally() {
        assert_eq!(contains_pattern("50%_off!"), "%50!%!_off!!%");
        assert_eq!(contains_pattern("dune"), "%dune%");
    }

    #[test]
    fn the_extra_row_signals_another_page() {
        let book = |id| Book {
            id,
            title: "t".into(),
            author: "a".into(),
            price: crate::book::Price::from_cents(1).expect("in range"),
        };
        let query = ListQuery {
            limit: 2,
            ..ListQuery::default()
        };
        let page = Listing::from_rows(vec![book(1), book(2), book(3)], &query, 3);
        assert_eq!(page.books.len(), 2);
        assert!(page.has_more);
        let page = Listing::from_rows(vec![book(1), book(2)], &query, 2);
        assert!(!page.has_more);
    }
}
