//! Migrations on a table that already holds books: the rows stay, and the new indexes serve the
//! author filter and the search (filled from the books already there).

use std::time::Duration;

use bookstore_api::config::DatabaseConfig;
use sqlx::Row;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::helpers::{MySqlDatabase, TestApp, mysql_url, test_config};

const BOOKS: i64 = 5000;
const AUTHORS: i64 = 50;

/// Books by `Author 7`: one in every AUTHORS.
async fn assert_books_kept_and_filter_served(app: &TestApp) {
    let (_, page) = app.get("/api/v1/books?limit=1").await;
    assert_eq!(page["total"], BOOKS);
    let (_, page) = app.get("/api/v1/books?author=author%207&limit=100").await;
    assert_eq!(page["total"], BOOKS / AUTHORS);
    assert_eq!(page["items"][0]["id"], 7);
    let (_, page) = app.get("/api/v1/books?q=book%204321").await;
    assert_eq!(
        page["total"], 1,
        "a book from before the migration is found"
    );
}

/// The steps SQLite plans for a listing page with `condition`, as the API asks for one.
async fn sqlite_plan(pool: &sqlx::SqlitePool, condition: &str, value: &str) -> Vec<String> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN SELECT id, title, author, price_cents FROM books \
         WHERE {condition} ORDER BY id LIMIT ? OFFSET ?"
    )))
    .bind(value.to_owned())
    .bind(21)
    .bind(0)
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get::<String, _>("detail"))
    .collect()
}

#[actix_web::test]
async fn sqlite_adds_its_indexes_to_a_populated_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bookstore.db");
    let pool = SqlitePoolOptions::new()
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .unwrap();
    sqlx::raw_sql(include_str!(
        "../../migrations/sqlite/0001_create_books.sql"
    ))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO books (title, author, price_cents) \
         SELECT 'Book ' || i, 'Author ' || (i % ?2), i FROM n",
    )
    .bind(BOOKS)
    .bind(AUTHORS)
    .execute(&pool)
    .await
    .unwrap();

    let app = TestApp::start(
        test_config(
            DatabaseConfig::Sqlite { path: path.clone() },
            Duration::from_secs(5),
        ),
        None,
    )
    .await;
    assert_books_kept_and_filter_served(&app).await;
    // A new connection: the first one read the schema before the migration.
    pool.close().await;
    let pool = SqlitePoolOptions::new()
        .connect_with(SqliteConnectOptions::new().filename(&path))
        .await
        .unwrap();
    let plan = sqlite_plan(&pool, "author = ?", "author 7").await;
    assert!(
        plan.iter()
            .any(|step| step.contains("INDEX books_author (author=?)")),
        "{plan:?}"
    );
    assert!(
        !plan.iter().any(|step| step.contains("TEMP B-TREE")),
        "sorted by the index: {plan:?}"
    );
    let search = "id IN (SELECT rowid FROM books_search WHERE books_search MATCH ?)";
    let plan = sqlite_plan(&pool, search, "\"4321\"").await;
    assert!(
        plan.iter().any(|step| step.contains("VIRTUAL TABLE INDEX")),
        "q reads the trigram index: {plan:?}"
    );
}

/// A fresh MySQL database holding the table as migration 1 leaves it (as a deployment from before
/// the later migrations has it), and one admin connection to it.
async fn mysql_with_the_original_table(url: &str) -> (MySqlDatabase, MySqlPool) {
    let database = MySqlDatabase::create(url).await;
    let pool = MySqlPoolOptions::new()
        .max_connections(1)
        .connect_with(database.options())
        .await
        .unwrap();
    sqlx::raw_sql(include_str!("../../migrations/mysql/0001_create_books.sql"))
        .execute(&pool)
        .await
        .unwrap();
    (database, pool)
}

#[actix_web::test]
async fn mysql_adds_its_indexes_to_a_populated_table() {
    let Some(url) = mysql_url() else { return };
    let (database, pool) = mysql_with_the_original_table(&url).await;
    // Numbers without a recursive query (capped at 1,000 iterations on MariaDB by default).
    sqlx::raw_sql(
        "CREATE TEMPORARY TABLE digits (d INT PRIMARY KEY); \
         INSERT INTO digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO books (title, author, price) \
         SELECT CONCAT('Book ', i), CONCAT('Author ', i % ?), i / 100 FROM \
           (SELECT 1 + a.d + 10 * b.d + 100 * c.d + 1000 * e.d AS i \
            FROM digits a, digits b, digits c, digits e) numbers \
         WHERE i <= ? ORDER BY i",
    )
    .bind(AUTHORS)
    .bind(BOOKS)
    .execute(&pool)
    .await
    .unwrap();

    let config = test_config(
        DatabaseConfig::MySql(Box::new(database.options())),
        Duration::from_secs(5),
    );
    let app = TestApp::start(config, Some(database)).await;
    assert_books_kept_and_filter_served(&app).await;
    let plan = sqlx::query(
        "EXPLAIN SELECT id, title, author, price FROM books \
         WHERE author = ? ORDER BY id LIMIT ? OFFSET ?",
    )
    .bind("author 7")
    .bind(21)
    .bind(0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        plan.get::<Option<String>, _>("key").as_deref(),
        Some("books_author")
    );
    let extra = plan.get::<Option<String>, _>("Extra").unwrap_or_default();
    assert!(!extra.contains("filesort"), "sorted by the index: {extra}");

    // `q=4321` as the API asks for it: its trigrams looked up, then LIKE on the candidates.
    let lookup = "id IN (SELECT book_id FROM book_trigrams WHERE trigram = ?)";
    let plan = sqlx::query(sqlx::AssertSqlSafe(format!(
        "EXPLAIN SELECT id, title, author, price FROM books WHERE {lookup} AND {lookup} \
         AND (title LIKE ? ESCAPE '!' OR author LIKE ? ESCAPE '!') ORDER BY id LIMIT ? OFFSET ?"
    )))
    .bind("432")
    .bind("321")
    .bind("%4321%")
    .bind("%4321%")
    .bind(21)
    .bind(0)
    .fetch_all(&pool)
    .await
    .unwrap();
    let steps: Vec<_> = plan
        .iter()
        .map(|step| {
            (
                step.get::<String, _>("table"),
                step.get::<String, _>("type"),
                step.get::<Option<String>, _>("key"),
                step.get::<Option<String>, _>("Extra").unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        (steps[0].0.as_str(), steps[0].2.as_deref()),
        ("book_trigrams", Some("book_trigrams_trigram")),
        "starts from a trigram's books: {steps:?}"
    );
    assert!(
        steps
            .iter()
            .all(|(_, kind, _, extra)| kind != "ALL" && !extra.contains("filesort")),
        "no table scan, no sort: {steps:?}"
    );
    pool.close().await;
    app.drop_database().await;
}

/// The rights `deploy/aws/database-user.yaml` grants the API's own database user, read from there
/// so that the two cannot drift apart.
fn granted_rights() -> &'static str {
    let job = include_str!("../../../deploy/aws/database-user.yaml");
    let grant = job
        .lines()
        .find_map(|line| line.trim().strip_prefix("GRANT "))
        .expect("the job grants rights");
    grant.split(" ON ").next().expect("GRANT ... ON")
}

/// Migrations create tables, an index, triggers and a procedure: as a user with only the rights
/// the deployment grants (no SUPER, no global rights), on a database holding books already.
#[actix_web::test]
async fn mysql_migrations_run_with_the_rights_the_deployment_grants() {
    let Some(url) = mysql_url() else { return };
    let (database, admin) = mysql_with_the_original_table(&url).await;
    sqlx::query("INSERT INTO books (title, author, price) VALUES ('Dune', 'Frank Herbert', 9.99)")
        .execute(&admin)
        .await
        .unwrap();
    let user = format!("app_{}", &database.name[database.name.len() - 12..]);
    let password = "app-password-for-tests";
    let rights = granted_rights();
    assert!(rights.contains("TRIGGER"), "{rights}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; \
         GRANT {rights} ON `{}`.* TO '{user}'@'%'",
        database.name
    )))
    .execute(&admin)
    .await
    .unwrap();

    let options = database.options().username(&user).password(password);
    let app = TestApp::start(
        test_config(
            DatabaseConfig::MySql(Box::new(options)),
            Duration::from_secs(5),
        ),
        Some(database),
    )
    .await;
    let (_, page) = app.get("/api/v1/books?q=herb").await;
    assert_eq!(
        page["total"], 1,
        "the book from before, found by its trigrams"
    );
    let created = app
        .create_book("Children of Dune", "Frank Herbert", "9.99")
        .await;
    let (_, page) = app.get("/api/v1/books?q=children").await;
    assert_eq!(
        page["items"][0]["id"], created["id"],
        "the triggers index new books"
    );

    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP USER '{user}'@'%'")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    app.drop_database().await;
}
