//! The database going away and coming back: 503s, then recovery without a restart.

use std::time::Duration;

use awc::http::StatusCode;
use bookstore_api::config::DatabaseConfig;

use crate::helpers::{MySqlDatabase, TcpProxy, TestApp, error_code, mysql_url, test_config};

/// A MySQL database reached through a relay the test controls.
async fn mysql_behind_proxy() -> Option<(MySqlDatabase, TcpProxy, DatabaseConfig)> {
    let database = MySqlDatabase::create(&mysql_url()?).await;
    let proxy = TcpProxy::start(database.server_addr()).await;
    let options = database.options().host("127.0.0.1").port(proxy.addr.port());
    Some((database, proxy, DatabaseConfig::MySql(Box::new(options))))
}

async fn assert_unavailable(app: &TestApp, path: &str) {
    let (status, body) = app.get(path).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
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
    assert_unavailable(&app, "/readyz").await;
    assert_eq!(
        app.get("/healthz").await.0,
        StatusCode::OK,
        "liveness does not touch the database"
    );

    proxy.restore().await;
    app.wait_until_ready().await;
    assert_eq!(app.get(&path).await, (StatusCode::OK, book));
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
