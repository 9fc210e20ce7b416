//! Continuous load through a Service, as clients with kept-alive connections send it: each worker
//! holds one HTTP/1.1 connection, opens a new one when the server closes it (`Connection: close`,
//! or the socket ends between requests), and never retries a request. Every outcome is counted.
//! Besides the busy workers, one client pauses between its requests, its connection idle most of
//! the time, as a person's browser would leave it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Longer than any answer may take; past it a request counts as hung.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The pausing client's pause between requests.
const IDLE_PAUSE: Duration = Duration::from_millis(2500);

/// What the clients saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// 2xx answers.
    pub ok: u64,
    /// 503 answers that carry `Retry-After` (what clients are told during an outage).
    pub unavailable: u64,
    /// Everything else, by kind (`connect: Connection refused`, `status 500`, `send: ...`).
    pub failures: BTreeMap<String, u64>,
    /// The slowest answer, or failure.
    pub slowest: Duration,
    /// Ids of the books created (201).
    pub created: Vec<i64>,
    /// When the last non-2xx outcome happened.
    pub last_not_ok: Option<Instant>,
}

impl Tally {
    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    pub fn total(&self) -> u64 {
        self.ok + self.unavailable + self.failed()
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.unavailable += other.unavailable;
        for (kind, count) in other.failures {
            *self.failures.entry(kind).or_default() += count;
        }
        self.slowest = self.slowest.max(other.slowest);
        self.created.extend(other.created);
        self.last_not_ok = self.last_not_ok.max(other.last_not_ok);
    }

    fn fail(&mut self, kind: String) {
        *self.failures.entry(kind).or_default() += 1;
        self.last_not_ok = Some(Instant::now());
    }

    /// One line: `2741 requests: 2741 ok, 0 unavailable (503), 0 failed {}; slowest 41 ms`.
    pub fn summary(&self) -> String {
        format!(
            "{} requests: {} ok, {} unavailable (503 + Retry-After), {} failed {:?}; slowest {} ms",
            self.total(),
            self.ok,
            self.unavailable,
            self.failed(),
            self.failures,
            self.slowest.as_millis()
        )
    }
}

/// Workers sending requests until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Tally>>,
    pub started: Instant,
}

impl Load {
    /// `busy` clients against `target` (a Service's address), and the one that pauses. Every
    /// fourth request creates a book with the token `token` holds at that moment; the others read
    /// a book or a page.
    pub fn start(target: SocketAddr, token: Arc<Mutex<String>>, busy: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..=busy)
            .map(|worker| {
                let (stop, token) = (Arc::clone(&stop), Arc::clone(&token));
                // Within the API's keep-alive (5 s): its connection stays open, and idle.
                let pause = (worker == busy).then_some(IDLE_PAUSE);
                tokio::spawn(async move { run(worker, target, &token, &stop, pause).await })
            })
            .collect();
        Self {
            stop,
            workers,
            started: Instant::now(),
        }
    }

    pub async fn stop(self) -> Tally {
        self.stop.store(true, Ordering::Release);
        let mut tally = Tally::default();
        for worker in self.workers {
            tally.merge(worker.await.unwrap());
        }
        tally
    }
}

async fn run(
    worker: usize,
    target: SocketAddr,
    token: &Mutex<String>,
    stop: &AtomicBool,
    pause: Option<Duration>,
) -> Tally {
    let mut tally = Tally::default();
    let mut connection: Option<SendRequest<Full<Bytes>>> = None;
    let mut created: Vec<i64> = Vec::new();
    let mut sequence = 0_u64;
    while !stop.load(Ordering::Acquire) {
        if let Some(pause) = pause.filter(|_| sequence > 0) {
            tokio::time::sleep(pause).await;
        }
        sequence += 1;
        let started = Instant::now();
        let sender = match connection.as_mut() {
            Some(sender) if !sender.is_closed() => sender,
            _ => match connect(target).await {
                Ok(sender) => connection.insert(sender),
                Err(kind) => {
                    tally.fail(kind);
                    tally.slowest = tally.slowest.max(started.elapsed());
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let request = if sequence.is_multiple_of(4) {
            let body = format!(
                r#"{{"title": "부하 {worker}-{sequence}", "author": "Load", "price": "18.50"}}"#
            );
            http::Request::post("/api/v1/books")
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(
                    http::header::AUTHORIZATION,
                    format!("Bearer {}", token.lock().unwrap()),
                )
                .body(Full::new(Bytes::from(body)))
        } else if let Some(id) = created.get(sequence as usize % created.len().max(1)) {
            http::Request::get(format!("/api/v1/books/{id}")).body(Full::default())
        } else {
            http::Request::get("/api/v1/books?limit=5").body(Full::default())
        }
        .unwrap();
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, answer(sender, request, target)).await;
        tally.slowest = tally.slowest.max(started.elapsed());
        match outcome {
            Err(_) => {
                tally.fail("hung".into());
                connection = None;
            }
            Ok(Err(kind)) => {
                tally.fail(kind);
                connection = None;
            }
            Ok(Ok((status, retry_after, close, body))) => {
                if close {
                    connection = None;
                }
                if status.is_success() {
                    tally.ok += 1;
                    if status == http::StatusCode::CREATED {
                        let book: serde_json::Value = serde_json::from_slice(&body).unwrap();
                        let id = book["id"].as_i64().unwrap();
                        created.push(id);
                        tally.created.push(id);
                    }
                } else if status == http::StatusCode::SERVICE_UNAVAILABLE && retry_after {
                    tally.unavailable += 1;
                    tally.last_not_ok = Some(Instant::now());
                } else {
                    tally.fail(format!(
                        "status {status}: {}",
                        String::from_utf8_lossy(&body)
                    ));
                }
            }
        }
    }
    tally
}

async fn connect(target: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = tokio::time::timeout(REQUEST_TIMEOUT, TcpStream::connect(target))
        .await
        .map_err(|_| "connect: timed out".to_owned())?
        .map_err(|e| format!("connect: {}", e.kind()))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Status, whether `Retry-After` was sent, whether the server closes the connection, the body.
async fn answer(
    sender: &mut SendRequest<Full<Bytes>>,
    mut request: http::Request<Full<Bytes>>,
    target: SocketAddr,
) -> Result<(http::StatusCode, bool, bool, Bytes), String> {
    request.headers_mut().insert(
        http::header::HOST,
        http::HeaderValue::from_str(&target.to_string()).unwrap(),
    );
    sender
        .ready()
        .await
        .map_err(|e| format!("connection not ready: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = response.status();
    let retry_after = response.headers().contains_key(http::header::RETRY_AFTER);
    let close = response
        .headers()
        .get(http::header::CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok((status, retry_after, close, body))
}
