//! The database going away and coming back: 503s at once (never a hang), the process stays ready,
//! then recovery without a restart.

use std::time::{Duration, Instant};

use awc::http::StatusCode;
use bookstore_api::config::DatabaseConfig;

use crate::helpers::{MySqlDatabase, TestApp, error_code, mysql_url, test_config};

// One relay for both crates' outage tests.
#[path = "../../../operator/tests/node/relay.rs"]
mod relay;
use relay::Relay;

/// A MySQL database reached through a relay the test controls.
async fn mysql_behind_proxy() -> Option<(MySqlDatabase, Relay, DatabaseConfig)> {
    let database = MySqlDatabase::create(&mysql_url()?).await;
    let proxy = Relay::start("127.0.0.1", database.server_addr()).await;
    let options = database.options().host("127.0.0.1").port(proxy.addr.port());
    Some((database, proxy, DatabaseConfig::MySql(Box::new(options))))
}

/// One request, answered 503 `database_unavailable` with `Retry-After` and nothing leaked.
async fn assert_unavailable(app: &TestApp, path: &str) {
    let mut response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
    assert_eq!(
        response.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(b"5".as_slice()),
        "{path}: clients are told when to come back"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "database_unavailable");
    let text = body.to_string();
    for leak in ["127.0.0.1", "mysql", "SELECT", "sqlx", "root"] {
        assert!(!text.contains(leak), "{path} leaks {leak:?}: {text}");
    }
}

#[actix_web::test]
async fn a_database_outage_answers_503_then_recovers_without_restart() {
    let Some((database, mut proxy, config)) = mysql_behind_proxy().await else {
        return;
    };
    let app = TestApp::start(test_config(config, Duration::from_secs(1)), Some(database)).await;
    let book = app.create_book("Dune", "Frank Herbert", "9.99").await;
    let path = format!("/api/v1/books/{}", book["id"]);

    proxy.cut().await;
    assert_unavailable(&app, &path).await;
    assert_unavailable(&app, "/api/v1/books").await;
    assert_stays_ready_and_reports(&app, "unreachable").await;
    assert_eq!(
        app.get("/healthz").await.0,
        StatusCode::OK,
        "liveness does not touch the database"
    );

    proxy.restore().await;
    assert_stays_ready_and_reports(&app, "reachable").await;
    assert_eq!(app.get(&path).await, (StatusCode::OK, book));
    app.drop_database().await;
}

/// Readiness stays 200 through an outage (all replicas share the database: unready pods would
/// leave the Service refusing connections), and says within a few seconds what the database does.
async fn assert_stays_ready_and_reports(app: &TestApp, database: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, body) = app.get("/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["database"] == database {
            let metrics = app.get_text("/metrics").await;
            let reachable = if database == "reachable" { 1 } else { 0 };
            assert!(
                metrics.contains(&format!("bookstore_database_reachable {reachable}")),
                "{metrics}"
            );
            return;
        }
        assert!(Instant::now() < deadline, "readiness still says {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn a_database_that_stops_answering_gets_503_within_the_deadline_never_a_hang() {
    let Some((database, mut proxy, config)) = mysql_behind_proxy().await else {
        return;
    };
    let deadline = Duration::from_secs(1);
    let app = TestApp::start(test_config(config, deadline), Some(database)).await;
    let book = app.create_book("Dune", "Frank Herbert", "9.99").await;
    let path = format!("/api/v1/books/{}", book["id"]);

    // Packets dropped: pooled connections and new ones alike get no answer.
    proxy.blackhole();
    let mut slowest = Duration::ZERO;
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(4) {
        for request in [path.as_str(), "/api/v1/books"] {
            let started = Instant::now();
            assert_unavailable(&app, request).await;
            slowest = slowest.max(started.elapsed());
        }
    }
    assert!(
        slowest < deadline + Duration::from_millis(500),
        "a request waited {slowest:?} during the outage"
    );
    assert_stays_ready_and_reports(&app, "unreachable").await;

    proxy.restore().await;
    assert_stays_ready_and_reports(&app, "reachable").await;
    assert_eq!(app.get(&path).await, (StatusCode::OK, book));
    app.create_book("After", "The Outage", "1.00").await;
    app.drop_database().await;
}

#[actix_web::test]
async fn a_late_mysql_keeps_the_api_alive_and_unready_until_it_arrives() {
    let Some((database, mut proxy, config)) = mysql_behind_proxy().await else {
        return;
    };
    proxy.cut().await;
    let app = TestApp::start_unready(test_config(config, Duration::from_secs(1)), Some(database));
    assert_eq!(app.get("/healthz").await.0, StatusCode::OK);
    assert_unavailable(&app, "/readyz").await;
    assert_unavailable(&app, "/api/v1/books").await;

    proxy.restore().await;
    app.wait_until_ready().await;
    assert_eq!(app.get("/api/v1/books").await.0, StatusCode::OK);
    app.create_book("Arrived", "Late", "1.00").await;
    app.drop_database().await;
}

#[actix_web::test]
async fn a_sqlite_file_that_cannot_be_opened_yet_is_retried_until_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = dir.path().join("not-yet");
    let config = test_config(
        DatabaseConfig::Sqlite {
            path: missing_dir.join("bookstore.db"),
        },
        Duration::from_secs(1),
    );
    let app = TestApp::start_unready(config, None);
    assert_eq!(app.get("/healthz").await.0, StatusCode::OK);
    assert_unavailable(&app, "/readyz").await;

    std::fs::create_dir(&missing_dir).unwrap();
    app.wait_until_ready().await;
    app.create_book("Arrived", "Late", "1.00").await;
}

#[actix_web::test]
async fn a_pool_kept_busy_is_not_taken_for_an_outage() {
    let Some(url) = mysql_url() else {
        return;
    };
    let database = MySqlDatabase::create(&url).await;
    let options = database.options();
    let mut config = test_config(
        DatabaseConfig::MySql(Box::new(options.clone())),
        Duration::from_secs(1),
    );
    config.pool.max_connections = 1;
    let app = TestApp::start(config, Some(database)).await;
    let book = app.create_book("Dune", "Frank Herbert", "9.99").await;
    let path = format!("/api/v1/books/{}", book["id"]);

    // Another client locks the book: a PATCH of it holds the pool's only connection.
    use sqlx::Connection;
    let mut locker = sqlx::mysql::MySqlConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM books WHERE id = {} FOR UPDATE",
        book["id"]
    )))
    .execute(&mut locker)
    .await
    .unwrap();
    let blocked = {
        let app_url = app.url(&path);
        let client = app.client.clone();
        actix_web::rt::spawn(async move {
            client
                .patch(app_url)
                .send_json(&serde_json::json!({"price": "1.00"}))
                .await
                .map(|r| r.status())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The pool is busy: requests wait their second and get 503, yet the database answers its
    // monitor, which says so, and nothing is refused at once.
    let started = Instant::now();
    let (status, _) = app.get("/api/v1/books").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "it waited for a connection"
    );
    for _ in 0..20 {
        let (status, body) = app.get("/readyz").await;
        assert_eq!(
            (status, &body["database"]),
            (StatusCode::OK, &serde_json::json!("reachable"))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut locker)
        .await
        .unwrap();
    let _ = blocked.await;
    assert_eq!(app.get(&path).await.0, StatusCode::OK);
    app.drop_database().await;
}
