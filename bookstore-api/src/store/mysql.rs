//! MySQL (Amazon RDS in production, MariaDB in tests): `price` is DECIMAL(10,2), read and written
//! as an exact decimal.

use async_trait::async_trait;
use rust_decimal::Decimal;
use std::sync::{Mutex, MutexGuard, PoisonError};

use sqlx::migrate::Migrator;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlRow};
use sqlx::{Connection, Row};

use super::{BookStore, Dialect, ListQuery, Listing, PoolStats, StoreError, Totals, TrigramIndex};
use crate::book::{Book, BookPatch, NewBook, Price};
use crate::config::PoolConfig;

pub struct MySqlStore {
    pool: MySqlPool,
    migrator: Migrator,
    totals: Totals,
    /// The monitor's own connection, outside the pool, kept between checks.
    monitor: Mutex<Option<MySqlConnection>>,
    options: MySqlConnectOptions,
}

impl MySqlStore {
    pub fn connect_lazy(options: MySqlConnectOptions, config: &PoolConfig) -> Self {
        let options = options.charset("utf8mb4");
        Self {
            pool: super::pool_options(config).connect_lazy_with(options.clone()),
            monitor: Mutex::new(None),
            options,
            migrator: super::embedded_migrator(&[
                (
                    1,
                    "create books",
                    include_str!("../../migrations/mysql/0001_create_books.sql"),
                ),
                (
                    2,
                    "index authors",
                    include_str!("../../migrations/mysql/0002_index_authors.sql"),
                ),
                (
                    3,
                    "search index",
                    include_str!("../../migrations/mysql/0003_search_index.sql"),
                ),
            ]),
            totals: Totals::default(),
        }
    }
}

impl MySqlStore {
    fn monitor_slot(&self) -> MutexGuard<'_, Option<MySqlConnection>> {
        self.monitor.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn book_from_row(row: &MySqlRow) -> Result<Book, StoreError> {
    let price: Decimal = row.try_get("price")?;
    Ok(Book {
        id: i64::from(row.try_get::<i32, _>("id")?),
        title: row.try_get("title")?,
        author: row.try_get("author")?,
        price: price_from_decimal(price)?,
    })
}

fn price_from_decimal(value: Decimal) -> Result<Price, StoreError> {
    let mut value = value;
    value.rescale(2);
    i64::try_from(value.mantissa())
        .ok()
        .and_then(|cents| Price::from_cents(cents).ok())
        .ok_or_else(|| {
            StoreError::Database(sqlx::Error::Decode(
                format!("price {value} is out of range").into(),
            ))
        })
}

fn price_to_decimal(price: Price) -> Decimal {
    Decimal::new(price.cents(), 2)
}

#[async_trait]
impl BookStore for MySqlStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        Ok(self.migrator.run(&self.pool).await?)
    }

    /// Taken out of its slot while in use: a check cut off by its deadline drops the connection
    /// (in an unknown state) rather than leave it for the next one.
    async fn ping(&self) -> Result<(), StoreError> {
        let kept = self.monitor_slot().take();
        let mut connection = match kept {
            Some(connection) => connection,
            None => MySqlConnection::connect_with(&self.options).await?,
        };
        connection.ping().await?;
        *self.monitor_slot() = Some(connection);
        Ok(())
    }

    async fn list(&self, query: &ListQuery) -> Result<Listing, StoreError> {
        let dialect = Dialect {
            columns: "id, title, author, price",
            search: TrigramIndex::Table,
        };
        super::list_books(&self.pool, &self.totals, dialect, book_from_row, query).await
    }

    async fn get(&self, id: i64) -> Result<Option<Book>, StoreError> {
        sqlx::query("SELECT id, title, author, price FROM books WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(book_from_row)
            .transpose()
    }

    async fn create(&self, book: &NewBook) -> Result<Book, StoreError> {
        let result = sqlx::query("INSERT INTO books (title, author, price) VALUES (?, ?, ?)")
            .bind(&book.title)
            .bind(&book.author)
            .bind(price_to_decimal(book.price))
            .execute(&self.pool)
            .await?;
        self.totals.written();
        Ok(Book {
            id: i64::try_from(result.last_insert_id())
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?,
            title: book.title.clone(),
            author: book.author.clone(),
            price: book.price,
        })
    }

    async fn update(&self, id: i64, patch: &BookPatch) -> Result<Option<Book>, StoreError> {
        // One statement, so concurrent patches of different fields never undo each other.
        // The connection reports matched rows (CLIENT_FOUND_ROWS), so an unchanged book counts.
        let result = sqlx::query(
            "UPDATE books SET title = COALESCE(?, title), author = COALESCE(?, author), \
             price = COALESCE(?, price) WHERE id = ?",
        )
        .bind(&patch.title)
        .bind(&patch.author)
        .bind(patch.price.map(price_to_decimal))
        .bind(id)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        if patch.changes_filtered_fields() {
            self.totals.written();
        }
        self.get(id).await
    }

    async fn delete(&self, id: i64) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM books WHERE id = ?")
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
        let monitor = self.monitor_slot().take();
        if let Some(connection) = monitor {
            let _ = connection.close().await;
        }
        self.pool.close().await;
    }
}
