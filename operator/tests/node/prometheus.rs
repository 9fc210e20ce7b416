//! A real Prometheus (Debian's `prometheus`), with the project's alert rules. It has no
//! Kubernetes discovery, so the suite tells it the pods' addresses through file discovery, with
//! the labels `deploy/monitoring/prometheus.yml` gives them in a cluster.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::{http_get, percent_encode};
use crate::cluster::eventually;

pub struct Prometheus {
    child: Child,
    pub addr: String,
    targets: PathBuf,
    pub log: PathBuf,
}

/// The jobs of `deploy/monitoring/prometheus.yml`.
pub const JOBS: [&str; 3] = [
    "bookstore-api",
    "bookstore-node-exporter",
    "bookstore-operator",
];

impl Prometheus {
    /// Scrapes and evaluates every second, with `rules` loaded.
    pub async fn start(work_dir: &Path, rules: &Path) -> Self {
        let dir = work_dir.join("prometheus");
        let targets = dir.join("targets");
        fs::create_dir_all(&targets).unwrap();
        let jobs: Vec<Value> = JOBS
            .iter()
            .map(|job| {
                json!({"job_name": job, "file_sd_configs": [
                    {"files": [targets.join(format!("{job}.json"))], "refresh_interval": "1s"}]})
            })
            .collect();
        let config = json!({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
            "rule_files": [rules],
            "scrape_configs": jobs,
        });
        // YAML is a superset of JSON.
        fs::write(dir.join("prometheus.yml"), config.to_string()).unwrap();
        for job in JOBS {
            fs::write(targets.join(format!("{job}.json")), "[]").unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log = dir.join("prometheus.log");
        let output = fs::File::create(&log).unwrap();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::from(output.try_clone().unwrap()))
            .stderr(Stdio::from(output))
            .spawn()
            .expect("Debian's prometheus is installed (.ci/run installs it)");
        let prometheus = Self {
            child,
            addr,
            targets,
            log,
        };
        eventually("Prometheus to answer", Duration::from_secs(30), || async {
            http_get(&prometheus.addr, "/-/ready")
                .await
                .filter(|(status, _)| *status == 200)
        })
        .await;
        prometheus
    }

    /// The targets of a job: (address, labels).
    pub fn set_targets(&self, job: &str, targets: &[(String, Value)]) {
        let groups: Vec<Value> = targets
            .iter()
            .map(|(address, labels)| json!({"targets": [address], "labels": labels}))
            .collect();
        let file = self.targets.join(format!("{job}.json"));
        let staged = file.with_extension("json.new");
        fs::write(&staged, Value::Array(groups).to_string()).unwrap();
        fs::rename(staged, file).unwrap();
    }

    /// The API's `data` of a GET.
    async fn api(&self, path: &str) -> Value {
        let (status, body) = http_get(&self.addr, path)
            .await
            .expect("Prometheus answers");
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str::<Value>(&body).unwrap()["data"].clone()
    }

    /// An instant query's samples: (labels, value).
    pub async fn query(&self, promql: &str) -> Vec<(Value, f64)> {
        let data = self
            .api(&format!("/api/v1/query?query={}", percent_encode(promql)))
            .await;
        data["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|sample| {
                let value = sample["value"][1]
                    .as_str()
                    .unwrap_or("NaN")
                    .parse()
                    .unwrap();
                (sample["metric"].clone(), value)
            })
            .collect()
    }

    /// Active targets: (job, address, health).
    pub async fn targets(&self) -> Vec<(String, String, String)> {
        let data = self.api("/api/v1/targets?state=active").await;
        data["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|t| {
                (
                    t["labels"]["job"].as_str().unwrap_or_default().to_owned(),
                    t["scrapeUrl"].as_str().unwrap_or_default().to_owned(),
                    t["health"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// Alerts with their state (`pending`, `firing`).
    pub async fn alerts(&self) -> Vec<Value> {
        self.api("/api/v1/alerts").await["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The names of the rules loaded.
    pub async fn rule_names(&self) -> Vec<String> {
        let data = self.api("/api/v1/rules").await;
        data["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .filter_map(|r| r["name"].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
