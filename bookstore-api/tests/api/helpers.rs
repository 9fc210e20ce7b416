//! A real server per test, on its own database, reached over HTTP.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use awc::http::StatusCode;
use bookstore_api::config::{Config, DatabaseConfig, PoolConfig, RateLimits, WriteTokens};
use bookstore_api::server::Application;
use bookstore_telemetry::LogFormat;
use serde_json::{Value, json};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};

const MYSQL_URL_VAR: &str = "BOOKSTORE_TEST_MYSQL_URL";
/// The one origin the test servers allow for CORS.
pub const ALLOWED_ORIGIN: &str = "https://books.example.com";

/// Runs each listed test once against SQLite and once against MySQL. The MySQL runs are skipped
/// (with a message) when `BOOKSTORE_TEST_MYSQL_URL` is unset, except under CI, where they fail.
/// With `configure = f;` first, each server's configuration passes through `f` before it starts.
#[macro_export]
macro_rules! on_every_backend {
    (configure = $configure:path; $($test:ident),* $(,)?) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[actix_web::test]
                async fn $test() {
                    let app = $crate::helpers::TestApp::sqlite_with($configure).await;
                    super::$test(&app).await;
                }
            )*
        }
        mod mysql {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[actix_web::test]
                async fn $test() {
                    if let Some(app) = $crate::helpers::TestApp::mysql_with($configure).await {
                        super::$test(&app).await;
                        app.drop_database().await;
                    }
                }
            )*
        }
    };
    ($($test:ident),* $(,)?) => {
        $crate::on_every_backend!(configure = $crate::helpers::as_it_is; $($test),*);
    };
}

/// The default test configuration, unchanged.
pub fn as_it_is(_: &mut Config) {}

/// The admin URL of the MySQL server for tests, or `None` (skip) outside CI.
pub fn mysql_url() -> Option<String> {
    match std::env::var(MYSQL_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but {MYSQL_URL_VAR} is not: the MySQL tests must run in CI")
        }
        _ => {
            eprintln!("SKIPPED: {MYSQL_URL_VAR} is not set, so this MySQL test did not run");
            None
        }
    }
}

/// A fresh, empty MySQL database for one test; `drop` removes it.
pub struct MySqlDatabase {
    admin: MySqlConnectOptions,
    pub name: String,
}

impl MySqlDatabase {
    pub async fn create(admin_url: &str) -> Self {
        let admin =
            MySqlConnectOptions::from_str(admin_url).expect("valid BOOKSTORE_TEST_MYSQL_URL");
        let name = format!("bookstore_test_{}", uuid::Uuid::new_v4().simple());
        let pool = MySqlPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(admin.clone())
            .await
            .unwrap_or_else(|e| panic!("{MYSQL_URL_VAR} is set but MySQL is unreachable: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
        )))
        .execute(&pool)
        .await
        .expect("create test database");
        pool.close().await;
        Self { admin, name }
    }

    pub fn options(&self) -> MySqlConnectOptions {
        self.admin.clone().database(&self.name)
    }

    pub fn server_addr(&self) -> SocketAddr {
        format!("{}:{}", self.admin.get_host(), self.admin.get_port())
            .parse()
            .expect("BOOKSTORE_TEST_MYSQL_URL names an IP address and port")
    }

    pub async fn drop(&self) {
        if let Ok(pool) = MySqlPoolOptions::new()
            .max_connections(1)
            .connect_with(self.admin.clone())
            .await
        {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS `{}`",
                self.name
            )))
            .execute(&pool)
            .await;
            pool.close().await;
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: awc::Client,
    mysql: Option<MySqlDatabase>,
    _sqlite_dir: Option<tempfile::TempDir>,
}

pub fn test_config(database: DatabaseConfig, timeout: Duration) -> Config {
    Config {
        bind_addr: "127.0.0.1:0".parse().expect("valid address"),
        metrics_addr: None,
        database,
        pool: PoolConfig {
            max_connections: 5,
            timeout,
            idle_timeout: Duration::from_secs(60),
        },
        shutdown_timeout: Duration::from_secs(1),
        log_format: LogFormat::Pretty,
        cors_allowed_origins: vec![ALLOWED_ORIGIN.to_owned()],
        write_tokens: WriteTokens::Open,
        rate_limits: RateLimits {
            writes_per_minute: None,
            reads_per_minute: None,
            trusted_proxies: Vec::new(),
        },
    }
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(as_it_is).await
    }

    pub async fn sqlite_with(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database = DatabaseConfig::Sqlite {
            path: dir.path().join("bookstore.db"),
        };
        let mut config = test_config(database, Duration::from_secs(5));
        configure(&mut config);
        let app = Self::start(config, None).await;
        Self {
            _sqlite_dir: Some(dir),
            ..app
        }
    }

    pub async fn mysql_with(configure: impl FnOnce(&mut Config)) -> Option<Self> {
        let database = MySqlDatabase::create(&mysql_url()?).await;
        let mut config = test_config(
            DatabaseConfig::MySql(Box::new(database.options())),
            Duration::from_secs(5),
        );
        configure(&mut config);
        Some(Self::start(config, Some(database)).await)
    }

    /// Starts the server and waits until it is ready (migrations applied).
    pub async fn start(config: Config, mysql: Option<MySqlDatabase>) -> Self {
        let app = Self::start_unready(config, mysql);
        app.wait_until_ready().await;
        app
    }

    /// Starts the server without waiting for its database.
    pub fn start_unready(config: Config, mysql: Option<MySqlDatabase>) -> Self {
        let application = Application::build(&config).expect("server starts");
        let address = format!("http://{}", application.local_addr());
        actix_web::rt::spawn(application.run_until_stopped());
        Self {
            address,
            client: awc::Client::builder()
                .timeout(Duration::from_secs(30))
                .finish(),
            mysql,
            _sqlite_dir: None,
        }
    }

    pub async fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, _) = self.get("/readyz").await;
            if status == StatusCode::OK {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server not ready within 30 s (last status {status})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The MySQL database this server uses, to look at it directly; `None` on SQLite.
    pub fn mysql_options(&self) -> Option<MySqlConnectOptions> {
        self.mysql.as_ref().map(MySqlDatabase::options)
    }

    pub async fn drop_database(&self) {
        if let Some(database) = &self.mysql {
            database.drop().await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        read(self.client.get(self.url(path)).send().await).await
    }

    /// A body that is not JSON (the metrics), as text.
    pub async fn get_text(&self, path: &str) -> String {
        let mut response = self.client.get(self.url(path)).send().await.unwrap();
        let bytes = response.body().limit(1 << 20).await.unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        read(self.client.delete(self.url(path)).send().await).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        read(self.client.post(self.url(path)).send_json(body).await).await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        read(self.client.put(self.url(path)).send_json(body).await).await
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        read(self.client.patch(self.url(path)).send_json(body).await).await
    }

    /// Sends `body` as it is, with the given content type (or none).
    pub async fn send_raw(
        &self,
        method: awc::http::Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(content_type) = content_type {
            request = request.insert_header(("content-type", content_type));
        }
        read(request.send_body(body.into()).await).await
    }

    /// Sends a request with a bearer token (or none) and a JSON body (or none); returns the status,
    /// the response headers and the JSON body.
    pub async fn send_as(
        &self,
        token: Option<&str>,
        method: awc::http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, awc::http::header::HeaderMap, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.insert_header(("authorization", format!("Bearer {token}")));
        }
        let mut response = match body {
            Some(body) => request.send_json(body).await,
            None => request.send().await,
        }
        .expect("request sent");
        let headers = response.headers().clone();
        let status = response.status();
        let bytes = response.body().await.expect("body");
        let is_json = headers
            .get("content-type")
            .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
        let body = if bytes.is_empty() {
            Value::Null
        } else if is_json {
            serde_json::from_slice(&bytes).expect("JSON body")
        } else {
            // The page's files: their text.
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        };
        (status, headers, body)
    }

    /// Creates a book and returns the stored JSON.
    pub async fn create_book(&self, title: &str, author: &str, price: &str) -> Value {
        let (status, body) = self
            .post_json(
                "/api/v1/books",
                &json!({"title": title, "author": author, "price": price}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

type SendResult = Result<awc::ClientResponse, awc::error::SendRequestError>;

/// Status and JSON body (`Null` for an empty body). Every body the API sends must be JSON.
async fn read(response: SendResult) -> (StatusCode, Value) {
    let mut response = response.expect("request sent");
    let status = response.status();
    let bytes = response.body().limit(1 << 20).await.expect("response body");
    if bytes.is_empty() {
        return (status, Value::Null);
    }
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{status}: body is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, body)
}

/// Asserts the one error shape and returns its code.
pub fn error_code(body: &Value) -> &str {
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message: {body}"
    );
    error["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"))
}
