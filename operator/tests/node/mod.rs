//! What the platform suite (`tests/on_node.rs`) needs besides a cluster: load through a Service,
//! a relay to MariaDB that can be cut, and a real Prometheus.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod load;
pub mod prometheus;
pub mod relay;

use std::process::Command;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One `GET` (HTTP/1.0, so the server closes): status and body; `None` when nothing answers
/// within 3 s.
pub async fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        let response = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = response.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, body.to_owned()))
    };
    tokio::time::timeout(Duration::from_secs(3), exchange)
        .await
        .ok()
        .flatten()
}

/// Runs SQL on the MariaDB server of the tests (`root` over TCP on 127.0.0.1:3306) with the
/// `mysql` client: its tab-separated output. The SQL goes on standard input: a statement naming
/// every book written under load (tens of thousands of ids) is longer than one command-line
/// argument may be (128 KiB on Linux).
pub fn mysql(sql: &str) -> String {
    use std::io::Write;
    let mut client = Command::new("mysql")
        .args([
            "--protocol=tcp",
            "-h",
            "127.0.0.1",
            "-P",
            "3306",
            "-u",
            "root",
            "-N",
            "-B",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the mysql client runs");
    client
        .stdin
        .take()
        .expect("its standard input")
        .write_all(sql.as_bytes())
        .expect("the SQL is sent");
    let output = client.wait_with_output().expect("the mysql client ends");
    assert!(
        output.status.success(),
        "mysql: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Percent-encodes a query parameter's value.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
