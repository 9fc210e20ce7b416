//! Embedded SQLite, the zero-configuration default: one file, price kept as whole cents.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteRow, SqliteSynchronous,
};

use super::{BookStore, ListQuery, Listing, PoolStats, StoreError, contains_pattern};
use crate::book::{Book, BookPatch, NewBook, Price};
use crate::config::PoolConfig;

pub struct SqliteStore {
    pool: SqlitePool,
    migrator: Migrator,
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
            migrator: super::embedded_migrator(include_str!(
                "../../migrations/sqlite/0001_create_books.sql"
            )),
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
        // LIKE is case-insensitive for ASCII letters only in SQLite; `author` is COLLATE NOCASE.
        let pattern = query.q.as_deref().map(contains_pattern);
        let rows = sqlx::query(
            "SELECT id, title, author, price_cents FROM books \
             WHERE id > ?1 \
               AND (?2 IS NULL OR title LIKE ?2 ESCAPE '!' OR author LIKE ?2 ESCAPE '!') \
               AND (?3 IS NULL OR author = ?3) \
             ORDER BY id LIMIT ?4 OFFSET ?5",
        )
        .bind(query.after_id)
        .bind(&pattern)
        .bind(&query.author)
        .bind(query.limit + 1)
        .bind(query.offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM books \
             WHERE (?1 IS NULL OR title LIKE ?1 ESCAPE '!' OR author LIKE ?1 ESCAPE '!') \
               AND (?2 IS NULL OR author = ?2)",
        )
        .bind(&pattern)
        .bind(&query.author)
        .fetch_one(&self.pool)
        .await?;
        let books = rows.iter().map(book_from_row).collect::<Result<_, _>>()?;
        Ok(Listing::from_rows(books, query, total))
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
        book_from_row(&row)
    }

    async fn update(&self, id: i64, patch: &BookPatch) -> Result<Option<Book>, StoreError> {
        sqlx::query(
            "UPDATE books SET title = COALESCE(?1, title), author = COALESCE(?2, author), \
             price_cents = COALESCE(?3, price_cents) WHERE id = ?4 \
             RETURNING id, title, author, price_cents",
        )
        .bind(&patch.title)
        .bind(&patch.author)
        .bind(patch.price.map(Price::cents))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(book_from_row)
        .transpose()
    }

    async fn delete(&self, id: i64) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM books WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats::of(&self.pool)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
