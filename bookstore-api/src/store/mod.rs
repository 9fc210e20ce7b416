//! The repository: one trait for the catalogue, implemented for MySQL and for embedded SQLite.

mod guarded;
mod mysql;
mod sqlite;
mod totals;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::book::{Book, BookPatch, NewBook};
use crate::config::{DatabaseConfig, PoolConfig};

pub use guarded::{DatabaseHealth, Guarded, watch};
pub use mysql::MySqlStore;
pub use sqlite::SqliteStore;
use totals::Totals;

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

/// What filters a listing: the part of the query its `total` depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Filter {
    q: Option<String>,
    author: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> Filter {
        Filter {
            q: self.q.clone(),
            author: self.author.clone(),
        }
    }
}

/// A value bound to a `?` placeholder of [`ListSql`]; both databases take `?` in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SqlArg {
    Int(i64),
    Text(String),
}

/// What differs between the databases' listing SQL.
#[derive(Debug, Clone, Copy)]
struct Dialect {
    /// MySQL's `price`, SQLite's `price_cents`.
    columns: &'static str,
    search: TrigramIndex,
}

/// How each database indexes the trigrams of titles and authors, for `q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrigramIndex {
    /// SQLite: the FTS5 table `books_search` (migration 3).
    Fts5,
    /// MySQL and MariaDB: the table `book_trigrams` (migration 3), one row per book and trigram.
    Table,
    /// None: every search is a LIKE (the SQL before the index, kept for tests).
    #[cfg(test)]
    None,
}

/// A trigram index finds substrings of three characters or more; shorter ones are a LIKE.
const TRIGRAM: usize = 3;

/// A search looks up at most this many of its trigrams, spread over it: the rarest of them already
/// narrows the candidates to a few, and the LIKE beside it checks each candidate whole.
const TRIGRAMS_LOOKED_UP: usize = 4;

/// The distinct trigrams of `q` (windows of three characters) that a search looks up.
fn trigrams_looked_up(q: &str) -> Vec<String> {
    let chars: Vec<char> = q.chars().collect();
    let mut all: Vec<String> = Vec::new();
    for window in chars.windows(TRIGRAM) {
        let trigram: String = window.iter().collect();
        if !all.contains(&trigram) {
            all.push(trigram);
        }
    }
    if all.len() <= TRIGRAMS_LOOKED_UP {
        return all;
    }
    let last = all.len() - 1;
    (0..TRIGRAMS_LOOKED_UP)
        .map(|i| all[i * last / (TRIGRAMS_LOOKED_UP - 1)].clone())
        .collect()
}

/// `q` as one FTS5 phrase: its characters literally, in order (`"` doubled inside the quotes).
fn fts5_phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

/// The SQL of one listing page and of its count, with only the conditions the query uses, so that
/// each combination is its own prepared statement and can use its index (a
/// `? IS NULL OR author = ?` form cannot).
#[derive(Debug, PartialEq, Eq)]
struct ListSql {
    sql: String,
    args: Vec<SqlArg>,
}

impl ListSql {
    fn conditions(dialect: Dialect, filter: &Filter, after_id: Option<i64>) -> Self {
        let mut conditions = Vec::new();
        let mut args = Vec::new();
        if let Some(after_id) = after_id {
            conditions.push("id > ?");
            args.push(SqlArg::Int(after_id));
        }
        if let Some(q) = &filter.q {
            let indexed = q.chars().count() >= TRIGRAM;
            match dialect.search {
                // FTS5 reads its query as a C string: a NUL would end it mid-phrase (a syntax
                // error). Its phrase is the whole substring, so no LIKE is needed beside it.
                TrigramIndex::Fts5 if indexed && !q.contains('\0') => {
                    conditions
                        .push("id IN (SELECT rowid FROM books_search WHERE books_search MATCH ?)");
                    args.push(SqlArg::Text(fts5_phrase(q)));
                }
                TrigramIndex::Table if indexed => {
                    for trigram in trigrams_looked_up(q) {
                        conditions
                            .push("id IN (SELECT book_id FROM book_trigrams WHERE trigram = ?)");
                        args.push(SqlArg::Text(trigram));
                    }
                    push_like(&mut conditions, &mut args, q);
                }
                _ => push_like(&mut conditions, &mut args, q),
            }
        }
        if let Some(author) = &filter.author {
            conditions.push("author = ?");
            args.push(SqlArg::Text(author.clone()));
        }
        let sql = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        Self { sql, args }
    }

    /// One row more than the page is fetched: it only tells that another page exists.
    fn page(dialect: Dialect, query: &ListQuery) -> Self {
        let after_id = (query.after_id > 0).then_some(query.after_id);
        let Self { sql, mut args } = Self::conditions(dialect, &query.filter(), after_id);
        let columns = dialect.columns;
        args.push(SqlArg::Int(query.limit + 1));
        args.push(SqlArg::Int(query.offset));
        Self {
            sql: format!("SELECT {columns} FROM books{sql} ORDER BY id LIMIT ? OFFSET ?"),
            args,
        }
    }

    fn count(dialect: Dialect, filter: &Filter) -> Self {
        let Self { sql, args } = Self::conditions(dialect, filter, None);
        Self {
            sql: format!("SELECT COUNT(*) FROM books{sql}"),
            args,
        }
    }

    fn into_query<DB>(self) -> sqlx::query::Query<'static, DB, <DB as sqlx::Database>::Arguments>
    where
        DB: sqlx::Database,
        i64: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        String: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    {
        // Assembled from the fixed fragments above only: every value is a bound argument.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for arg in self.args {
            query = match arg {
                SqlArg::Int(value) => query.bind(value),
                SqlArg::Text(value) => query.bind(value),
            };
        }
        query
    }
}

/// A listing on either database: `dialect` and `book_from_row` are what differ between them.
async fn list_books<DB>(
    pool: &sqlx::Pool<DB>,
    totals: &Totals,
    dialect: Dialect,
    book_from_row: fn(&DB::Row) -> Result<Book, StoreError>,
    query: &ListQuery,
) -> Result<Listing, StoreError>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'a> DB::Arguments: sqlx::IntoArguments<DB>,
    i64: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB>,
    String: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let rows = ListSql::page(dialect, query)
        .into_query()
        .fetch_all(pool)
        .await?;
    let books = rows.iter().map(book_from_row).collect::<Result<_, _>>()?;
    let filter = query.filter();
    let total = totals
        .get(&filter, || async {
            let row = ListSql::count(dialect, &filter)
                .into_query()
                .fetch_one(pool)
                .await?;
            Ok(sqlx::Row::try_get::<i64, _>(&row, 0)?)
        })
        .await?;
    Ok(Listing::from_rows(books, query, total))
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
    /// The database did not answer in time (a connection and its statements together).
    #[error("the database did not answer within {0:?}")]
    TimedOut(Duration),
    /// The database was found unreachable by the last check, so it was not asked.
    #[error("the database is unreachable")]
    Unreachable,
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

impl StoreError {
    /// Whether the failure may mean the database is away (rather than busy or the query wrong):
    /// worth checking the database at once. (`Unreachable` is the check's own verdict.)
    pub fn suggests_outage(&self) -> bool {
        use sqlx::Error as E;
        match self {
            Self::TimedOut(_) => true,
            Self::Unreachable => false,
            Self::Unavailable(E::Database(db)) => db
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                // Access denied, unknown database, shutdown in progress, connection killed.
                .is_some_and(|mysql| [1044, 1045, 1049, 1053, 1927].contains(&mysql.number())),
            Self::Unavailable(_) => true,
            Self::Database(_) | Self::Migration(_) => false,
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
    /// A trivial round trip, for the database monitor: on a connection of its own where the
    /// database is a server (a pool kept busy by requests is not an outage).
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

/// A connection idle this long is checked with a ping before use (it may have been cut meanwhile:
/// a database restart or failover). sqlx's default pings before every use: a second round trip
/// per request, which bench/api measured at a quarter of the throughput of a point select.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

fn pool_options<DB: sqlx::Database>(config: &PoolConfig) -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .max_connections(config.max_connections)
        .min_connections(0)
        .acquire_timeout(config.timeout)
        .idle_timeout(config.idle_timeout)
        .test_before_acquire(false)
        .before_acquire(|connection, metadata| {
            Box::pin(async move {
                if metadata.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
}

/// Migrations are compiled into the binary, so an image needs no files beside it.
/// `migrations`: (version, description, SQL), in order.
fn embedded_migrator(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(sql),
                    false,
                )
            })
            .collect(),
    )
}

/// `q` as a substring of the title or the author.
fn push_like(conditions: &mut Vec<&'static str>, args: &mut Vec<SqlArg>, q: &str) {
    conditions.push("(title LIKE ? ESCAPE '!' OR author LIKE ? ESCAPE '!')");
    let pattern = contains_pattern(q);
    args.push(SqlArg::Text(pattern.clone()));
    args.push(SqlArg::Text(pattern));
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

    const LIKE_ONLY: Dialect = Dialect {
        columns: "id",
        search: TrigramIndex::None,
    };
    const WITH_FTS5: Dialect = Dialect {
        search: TrigramIndex::Fts5,
        ..LIKE_ONLY
    };
    const WITH_TABLE: Dialect = Dialect {
        search: TrigramIndex::Table,
        ..LIKE_ONLY
    };

    #[test]
    fn a_listing_asks_only_for_the_conditions_it_uses() {
        let query = ListQuery {
            limit: 20,
            ..ListQuery::default()
        };
        assert_eq!(
            ListSql::page(LIKE_ONLY, &query),
            ListSql {
                sql: "SELECT id FROM books ORDER BY id LIMIT ? OFFSET ?".into(),
                args: vec![SqlArg::Int(21), SqlArg::Int(0)],
            }
        );
        let query = ListQuery {
            author: Some("Le Guin".into()),
            after_id: 7,
            offset: 3,
            ..query
        };
        assert_eq!(
            ListSql::page(LIKE_ONLY, &query),
            ListSql {
                sql:
                    "SELECT id FROM books WHERE id > ? AND author = ? ORDER BY id LIMIT ? OFFSET ?"
                        .into(),
                args: vec![
                    SqlArg::Int(7),
                    SqlArg::Text("Le Guin".into()),
                    SqlArg::Int(21),
                    SqlArg::Int(3)
                ],
            }
        );
        let filter = Filter {
            q: Some("50%".into()),
            author: None,
        };
        assert_eq!(
            ListSql::count(LIKE_ONLY, &filter),
            ListSql {
                sql: "SELECT COUNT(*) FROM books WHERE (title LIKE ? ESCAPE '!' OR author LIKE ? \
                      ESCAPE '!')"
                    .into(),
                args: vec![SqlArg::Text("%50!%%".into()), SqlArg::Text("%50!%%".into())],
            }
        );
    }

    #[test]
    fn a_search_of_three_characters_or_more_uses_the_trigram_index_where_there_is_one() {
        let filter = |q: &str| Filter {
            q: Some(q.into()),
            author: None,
        };
        assert_eq!(
            ListSql::count(WITH_FTS5, &filter(r#"say "hi""#)),
            ListSql {
                sql: "SELECT COUNT(*) FROM books WHERE id IN (SELECT rowid FROM books_search \
                      WHERE books_search MATCH ?)"
                    .into(),
                args: vec![SqlArg::Text(r#""say ""hi""""#.into())],
            }
        );
        let short = ListSql::count(WITH_FTS5, &filter("ab"));
        assert_eq!(
            short,
            ListSql::count(LIKE_ONLY, &filter("ab")),
            "too short: LIKE"
        );
        assert!(short.sql.contains("LIKE"));
        let with_nul = ListSql::count(WITH_FTS5, &filter("a\0bc"));
        assert!(
            with_nul.sql.contains("LIKE"),
            "a NUL would end FTS5's query early"
        );
        let like = ListSql::count(LIKE_ONLY, &filter("abc"));
        assert!(like.sql.contains("LIKE"), "{}", like.sql);
    }

    #[test]
    fn on_mysql_a_search_looks_up_its_trigrams_and_checks_the_candidates_with_like() {
        let filter = Filter {
            q: Some("50%".into()),
            author: Some("Ann".into()),
        };
        let lookup = "id IN (SELECT book_id FROM book_trigrams WHERE trigram = ?)";
        assert_eq!(
            ListSql::count(WITH_TABLE, &filter),
            ListSql {
                sql: format!(
                    "SELECT COUNT(*) FROM books WHERE {lookup} AND (title LIKE ? ESCAPE '!' OR \
                     author LIKE ? ESCAPE '!') AND author = ?"
                ),
                args: vec![
                    SqlArg::Text("50%".into()),
                    SqlArg::Text("%50!%%".into()),
                    SqlArg::Text("%50!%%".into()),
                    SqlArg::Text("Ann".into()),
                ],
            }
        );
        let short = Filter {
            q: Some("ab".into()),
            author: None,
        };
        assert_eq!(
            ListSql::count(WITH_TABLE, &short),
            ListSql::count(LIKE_ONLY, &short),
            "too short for a trigram: LIKE alone"
        );
    }

    #[test]
    fn a_search_looks_up_a_few_distinct_trigrams_spread_over_it() {
        assert_eq!(trigrams_looked_up("abc"), ["abc"]);
        assert_eq!(trigrams_looked_up("aaaa"), ["aaa"], "repeated windows once");
        assert_eq!(trigrams_looked_up("12345"), ["123", "234", "345"]);
        assert_eq!(
            trigrams_looked_up("한국어 책"),
            ["한국어", "국어 ", "어 책"]
        );
        assert_eq!(
            trigrams_looked_up("the left hand of darkness"),
            ["the", "t h", "of ", "ess"],
            "first, last and two between"
        );
        assert!(trigrams_looked_up("ab").is_empty());
    }

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
