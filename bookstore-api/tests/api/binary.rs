//! The `bookstore-api` executable: help, configuration errors, migrate, serve and shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_bookstore-api");

/// The binary with a clean environment: nothing from the developer's shell leaks in.
fn command(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .current_dir(dir)
        .envs(env.iter().copied());
    command
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(dir, env).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_the_subcommands_and_every_variable_without_secret_values() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        &["--help"],
        &[
            ("DB_PASSWORD", "hunter2-secret"),
            ("API_WRITE_TOKENS", "hunter2-write-token-0123"),
        ],
    );
    assert!(output.status.success());
    let help = text(&output.stdout);
    for expected in [
        "serve",
        "migrate",
        "BIND_ADDR",
        "DATABASE_URL",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASSWORD",
        "DB_SSL_MODE",
        "SQLITE_PATH",
        "DB_MAX_CONNECTIONS",
        "DB_TIMEOUT_SECS",
        "METRICS_ADDR",
        "DB_IDLE_TIMEOUT_SECS",
        "SHUTDOWN_TIMEOUT_SECS",
        "LOG_FORMAT",
        "CORS_ALLOWED_ORIGINS",
        "API_WRITE_TOKENS",
        "API_WRITE_TOKENS_FILE",
        "RATE_LIMIT_WRITES_PER_MINUTE",
        "RATE_LIMIT_READS_PER_MINUTE",
        "TRUSTED_PROXIES",
        "RUST_LOG",
        ".env",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}");
    }
    assert!(!help.contains("hunter2"));
}

#[test]
fn invalid_configuration_exits_2_with_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[(&str, &str)], &str); 7] = [
        (
            &[("DB_HOST", "db")],
            "DB_NAME is required when DB_HOST is set",
        ),
        (
            &[("BIND_ADDR", "not-an-address")],
            "invalid value 'not-an-address'",
        ),
        (&[("LOG_FORMAT", "xml")], "invalid value 'xml'"),
        (
            &[(
                "DATABASE_URL",
                "mysql://app:hunter2-secret@db:notaport/books",
            )],
            "DATABASE_URL is not a valid MySQL URL",
        ),
        (
            &[("API_WRITE_TOKENS", "hunter2-secret")],
            "every token must be at least 16 characters",
        ),
        (
            &[
                ("API_WRITE_TOKENS", "hunter2-secret-token-0123"),
                ("API_WRITE_TOKENS_FILE", "/run/token"),
            ],
            "set either API_WRITE_TOKENS or API_WRITE_TOKENS_FILE, not both",
        ),
        (
            &[("TRUSTED_PROXIES", "10.0.0.0/33")],
            "TRUSTED_PROXIES: \"10.0.0.0/33\" is not an address or CIDR block",
        ),
    ];
    for (env, message) in cases {
        let output = run(dir.path(), &[], env);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{env:?}: {stderr}");
        assert!(stderr.contains(message), "{env:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
        assert!(!stderr.contains("hunter2"), "a secret leaked: {stderr}");
    }
}

#[test]
fn settings_are_read_from_a_dotenv_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "DB_HOST=db.internal\n").unwrap();
    let output = run(dir.path(), &[], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("DB_NAME is required when DB_HOST is set"));
}

#[test]
fn migrate_creates_the_sqlite_database_and_can_run_again() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = run(dir.path(), &["migrate"], &[("SQLITE_PATH", "catalogue.db")]);
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    assert!(dir.path().join("catalogue.db").is_file());
}

/// The binary serving on a free port with JSON logs, and every log line it has printed so far.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = command(dir, &[("BIND_ADDR", "127.0.0.1:0"), ("LOG_FORMAT", "json")])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a JSON log line whose message is `message`.
    fn wait_for(&mut self, message: &str) -> serde_json::Value {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| {
                    panic!("no {message:?} log line; saw:\n{}", self.seen.join("\n"))
                });
            self.seen.push(line.clone());
            if let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line)
                && entry["message"] == message
            {
                return entry;
            }
        }
    }

    /// Waits until it listens and its database is ready; its address.
    fn ready(&mut self) -> String {
        let listening = self.wait_for("listening");
        self.wait_for("database ready");
        listening["addr"].as_str().unwrap().to_owned()
    }

    /// SIGTERM, then its exit status and every line it printed.
    fn stop(mut self) -> (ExitStatus, Vec<String>) {
        // Already ended (a test may have sent the signal itself): nothing to signal.
        if self.child.try_wait().unwrap().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
        }
        let status = self.child.wait().unwrap();
        // The reader ends at the closed pipe: this takes every line.
        self.seen.extend(self.lines.iter());
        (status, self.seen)
    }
}

fn http_get(addr: &str, path: &str) -> String {
    http(addr, "GET", path, &[], "")
}

/// One HTTP/1.1 request, written by hand; the whole response as text.
fn http(addr: &str, method: &str, path: &str, headers: &[&str], body: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(&format!("{header}\r\n"));
    }
    if !body.is_empty() {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serves_on_sqlite_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let addr = server.ready();

    let response = http_get(&addr, "/readyz");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        dir.path().join("bookstore.db").is_file(),
        "the default SQLite file is created"
    );

    let (status, log) = server.stop();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    assert!(
        log.iter()
            .any(|line| line.contains(r#""message":"stopped""#)),
        "{}",
        log.join("\n")
    );
}

#[test]
fn a_database_password_never_reaches_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 refuses connections: the server keeps retrying and logging about it.
    let url = "mysql://app:hunter2-secret@127.0.0.1:1/books";
    let mut server = Server::start(dir.path(), &[("DATABASE_URL", url)]);
    let loaded = server.wait_for("configuration loaded");
    assert_eq!(loaded["database"], "mysql://app@127.0.0.1:1/books");
    let listening = server.wait_for("listening");
    let response = http_get(listening["addr"].as_str().unwrap(), "/readyz");
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    server.wait_for("database not ready");

    let log = server.stop().1.join("\n");
    assert!(
        !log.contains("hunter2-secret"),
        "the password leaked:\n{log}"
    );
}

#[test]
fn write_tokens_never_reach_the_logs_or_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        dir.path(),
        &[
            ("RUST_LOG", "debug"),
            ("API_WRITE_TOKENS", "hunter2-write-token-0123"),
        ],
    );
    let addr = server.ready();

    let book = r#"{"title":"Dune","author":"Frank Herbert","price":"9.99"}"#;
    let right = http(
        &addr,
        "POST",
        "/api/v1/books",
        &["Authorization: Bearer hunter2-write-token-0123"],
        book,
    );
    assert!(right.starts_with("HTTP/1.1 201"), "{right}");
    let wrong = http(
        &addr,
        "DELETE",
        "/api/v1/books/1",
        &["Authorization: Bearer hunter2-wrong-token-0123"],
        "",
    );
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    assert!(
        !wrong.contains("hunter2"),
        "the answer quotes the token: {wrong}"
    );
    let metrics = http_get(&addr, "/metrics");
    assert!(metrics.contains("status=\"401\""), "{metrics}");

    let (_, seen) = server.stop();
    let log = seen.join("\n");
    assert!(
        seen.iter().any(|line| line.contains("\"status\":401")),
        "the refused write is logged:\n{log}"
    );
    assert!(!log.contains("hunter2"), "a token leaked:\n{log}");
    assert!(!metrics.contains("hunter2"), "a token leaked into /metrics");
    assert!(
        !log.contains("writes are open"),
        "tokens are configured:\n{log}"
    );
}

#[test]
fn without_tokens_it_serves_and_warns_once_that_writes_are_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let addr = server.ready();
    let created = http(
        &addr,
        "POST",
        "/api/v1/books",
        &[],
        r#"{"title":"Emma","author":"Jane Austen","price":"4.00"}"#,
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    assert!(http_get(&addr, "/readyz").starts_with("HTTP/1.1 200"));

    let (_, seen) = server.stop();
    let warnings: Vec<&String> = seen
        .iter()
        .filter(|line| line.contains("WARN") && line.contains("writes are open"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", seen.join("\n"));
}

#[test]
fn with_a_metrics_address_the_probes_and_metrics_are_not_served_with_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[("METRICS_ADDR", "127.0.0.1:0")]);
    let listening = server.wait_for("listening");
    server.wait_for("database ready");
    let api = listening["addr"].as_str().unwrap();
    let operations = listening["metrics_addr"].as_str().unwrap();
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(
            http_get(api, path).starts_with("HTTP/1.1 404"),
            "{path} is public"
        );
        assert!(
            http_get(operations, path).starts_with("HTTP/1.1 200"),
            "{path} is not served for the kubelet and Prometheus"
        );
    }
    for path in ["/api/v1/books", "/", "/openapi.json"] {
        assert!(http_get(api, path).starts_with("HTTP/1.1 200"), "{path}");
        assert!(
            http_get(operations, path).starts_with("HTTP/1.1 404"),
            "{path}"
        );
    }
    assert!(server.stop().0.success());
}

/// One response read off a kept-alive connection: its head (lower-cased) and body.
fn read_response(stream: &mut TcpStream) -> (String, String) {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "connection closed"
        );
        if line == "\r\n" {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |value| value.trim().parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (head, text(&body))
}

#[test]
fn on_sigterm_it_turns_unready_and_closes_kept_alive_connections_after_their_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[("METRICS_ADDR", "127.0.0.1:0")]);
    let listening = server.wait_for("listening");
    server.wait_for("database ready");
    let api = listening["addr"].as_str().unwrap().to_owned();
    let operations = listening["metrics_addr"].as_str().unwrap().to_owned();
    let request = b"GET /api/v1/books HTTP/1.1\r\nHost: test\r\n\r\n";

    let mut kept = TcpStream::connect(&api).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    kept.write_all(request).unwrap();
    let (head, _) = read_response(&mut kept);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");

    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    server.wait_for("shutting down: finishing the requests in flight");
    let readiness = http_get(&operations, "/readyz");
    assert!(readiness.starts_with("HTTP/1.1 503"), "{readiness}");
    assert!(readiness.contains("shutting_down"), "{readiness}");

    // The connection stays served: its next request is answered, then closed.
    kept.write_all(request).unwrap();
    let (head, body) = read_response(&mut kept);
    assert!(head.starts_with("http/1.1 200"), "{head}{body}");
    assert!(head.contains("connection: close"), "{head}");
    let mut rest = Vec::new();
    assert_eq!(kept.read_to_end(&mut rest).unwrap(), 0, "closed after it");

    let (status, log) = server.stop();
    assert!(status.success(), "{}", log.join("\n"));
    assert!(
        log.iter()
            .any(|line| line.contains(r#""message":"stopped""#))
    );
}
