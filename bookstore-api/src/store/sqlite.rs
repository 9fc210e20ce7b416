//! Embedded SQLite, the zero-configuration default: one file, price kept as whole cents.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteRow, SqliteSynchronous,
};

use super::{BookStore, Dialect, ListQuery, Listing, PoolStats, StoreError, Totals, TrigramIndex};
use crate::book::{Book, BookPatch, NewBook, Price};
use crate::config::PoolConfig;

pub struct SqliteStore {
    pool: SqlitePool,
    migrator: Migrator,
    totals: Totals,
}

impl SqliteStore {
    pub fn connect_lazy(path: &Path, config: &PoolConfig) -> Self {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // WAL lets readers proceed while one connection writes.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        Self {
            pool: super::pool_options(config).connect_lazy_with(options),
            migrator: super::embedded_migrator(&[
                (
                    1,
                    "create books",
                    include_str!("../../migrations/sqlite/0001_create_books.sql"),
                ),
                (
                    2,
                    "index authors",
                    include_str!("../../migrations/sqlite/0002_index_authors.sql"),
                ),
                (
                    3,
                    "search index",
                    include_str!("../../migrations/sqlite/0003_search_index.sql"),
                ),
            ]),
            totals: Totals::default(),
        }
    }
}

fn book_from_row(row: &SqliteRow) -> Result<Book, StoreError> {
    let cents: i64 = row.try_get("price_cents")?;
    Ok(Book {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        author: row.try_get("author")?,
        price: Price::from_cents(cents)
            .map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?,
    })
}

#[async_trait]
impl BookStore for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        Ok(self.migrator.run(&self.pool).await?)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn list(&self, query: &ListQuery) -> Result<Listing, StoreError> {
        let dialect = Dialect {
            columns: "id, title, author, price_cents",
            search: TrigramIndex::Fts5,
        };
        super::list_books(&self.pool, &self.totals, dialect, book_from_row, query).await
    }

    async fn get(&self, id: i64) -> Result<Option<Book>, StoreError> {
        sqlx::query("SELECT id, title, author, price_cents FROM books WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(book_from_row)
            .transpose()
    }

    async fn create(&self, book: &NewBook) -> Result<Book, StoreError> {
        let row = sqlx::query(
            "INSERT INTO books (title, author, price_cents) VALUES (?1, ?2, ?3) \
             RETURNING id, title, author, price_cents",
        )
        .bind(&book.title)
        .bind(&book.author)
        .bind(book.price.cents())
        .fetch_one(&self.pool)
        .await?;
        self.totals.written();
        book_from_row(&row)
    }

    async fn update(&self, id: i64, patch: &BookPatch) -> Result<Option<Book>, StoreError> {
        let row = sqlx::query(
            "UPDATE books SET title = COALESCE(?1, title), author = COALESCE(?2, author), \
             price_cents = COALESCE(?3, price_cents) WHERE id = ?4 \
             RETURNING id, title, author, price_cents",
        )
        .bind(&patch.title)
        .bind(&patch.author)
        .bind(patch.price.map(Price::cents))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        if row.is_some() && patch.changes_filtered_fields() {
            self.totals.written();
        }
        row.as_ref().map(book_from_row).transpose()
    }

    async fn delete(&self, id: i64) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM books WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        let deleted = result.rows_affected() > 0;
        if deleted {
            self.totals.written();
        }
        Ok(deleted)
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats::of(&self.pool)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
