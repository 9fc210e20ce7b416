//! The CRD's rules, checked in Rust too so that `render` rejects what the API server would (the
//! API server stays the authority: these mirror the schema and the CEL rules of `rules.rs`).

use kube::ResourceExt;

use crate::crd::{Bookstore, BookstoreSpec, ServiceType};
use crate::rules::{self, CelRule};

/// One broken rule: the field path and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

#[derive(Default)]
struct Violations(Vec<Violation>);

impl Violations {
    fn check(&mut self, ok: bool, path: &str, message: impl Into<String>) {
        if !ok {
            self.0.push(Violation {
                path: path.to_owned(),
                message: message.into(),
            });
        }
    }

    /// A rule of `rules.rs`: `holds` is its Rust reading.
    fn rule(&mut self, rule: &CelRule, holds: bool) {
        self.check(holds, &rule.path(), rule.message);
    }

    fn range(&mut self, value: i32, min: i32, max: i32, path: &str) {
        self.check(
            (min..=max).contains(&value),
            path,
            format!("must be between {min} and {max}"),
        );
    }
}

pub fn validate(bookstore: &Bookstore) -> Result<(), Vec<Violation>> {
    let mut found = Violations::default();
    found.rule(
        &rules::NAME_IS_DNS_LABEL,
        is_dns_1035_label(&bookstore.name_any()),
    );
    check_spec(&bookstore.spec, &mut found);
    if found.0.is_empty() {
        Ok(())
    } else {
        Err(found.0)
    }
}

fn check_spec(spec: &BookstoreSpec, found: &mut Violations) {
    found.check(!spec.image.is_empty(), "spec.image", "must not be empty");
    found.range(spec.replicas, 0, 100, "spec.replicas");
    let scaling = &spec.autoscaling;
    found.range(scaling.min_replicas, 1, 100, "spec.autoscaling.minReplicas");
    found.range(scaling.max_replicas, 1, 100, "spec.autoscaling.maxReplicas");
    found.range(
        scaling.target_cpu_utilization_percentage,
        1,
        100,
        "spec.autoscaling.targetCPUUtilizationPercentage",
    );
    found.rule(
        &rules::MAX_AT_LEAST_MIN,
        scaling.max_replicas >= scaling.min_replicas,
    );
    let autoscaled = spec.database.is_some() && scaling.enabled;
    found.rule(
        &rules::REPLICAS_WITHIN_AUTOSCALING,
        !autoscaled || (scaling.min_replicas..=scaling.max_replicas).contains(&spec.replicas),
    );
    let sets_cpu = |quantities: &Option<std::collections::BTreeMap<String, _>>| {
        quantities.as_ref().is_some_and(|q| q.contains_key("cpu"))
    };
    found.rule(
        &rules::AUTOSCALING_NEEDS_CPU_REQUEST,
        !autoscaled || sets_cpu(&spec.resources.requests) || sets_cpu(&spec.resources.limits),
    );
    found.range(spec.service.port, 1, 65535, "spec.service.port");
    let exporter = &spec.monitoring.node_exporter;
    found.range(exporter.port, 1, 65535, "spec.monitoring.nodeExporter.port");
    found.rule(
        &rules::NODE_EXPORTER_PORT_FREE,
        !exporter.enabled
            || ![
                bookstore_contract::API_PORT,
                bookstore_contract::API_METRICS_PORT,
            ]
            .iter()
            .any(|port| i32::from(*port) == exporter.port),
    );
    let auth = &spec.auth;
    found.rule(
        &rules::PUBLIC_WRITES_NEED_A_DECISION,
        spec.database.is_none()
            || spec.service.type_ != ServiceType::LoadBalancer
            || auth.write_token_secret_ref.is_some()
            || auth.open_writes,
    );
    found.rule(
        &rules::ONE_WAY_TO_WRITE,
        !(auth.write_token_secret_ref.is_some() && auth.open_writes),
    );
    found.rule(
        &rules::ENV_NOT_RESERVED,
        !spec
            .env
            .iter()
            .any(|var| rules::RESERVED_ENV.contains(&var.name.as_str())),
    );
    if let Some(token) = &auth.write_token_secret_ref {
        found.check(
            !token.name.is_empty(),
            "spec.auth.writeTokenSecretRef.name",
            "must not be empty",
        );
        found.check(
            !token.key.is_empty(),
            "spec.auth.writeTokenSecretRef.key",
            "must not be empty",
        );
    }
    if let Some(limit) = &spec.rate_limit {
        for (path, value) in [
            ("spec.rateLimit.writesPerMinute", limit.writes_per_minute),
            ("spec.rateLimit.readsPerMinute", limit.reads_per_minute),
        ] {
            if let Some(value) = value {
                found.range(value, 0, 1_000_000, path);
            }
        }
    }
    if let Some(database) = &spec.database {
        for (path, value) in [
            ("spec.database.host", &database.host),
            ("spec.database.name", &database.name),
            ("spec.database.user", &database.user),
            (
                "spec.database.passwordSecretRef.name",
                &database.password_secret_ref.name,
            ),
            (
                "spec.database.passwordSecretRef.key",
                &database.password_secret_ref.key,
            ),
        ] {
            found.check(!value.is_empty(), path, "must not be empty");
        }
        found.range(database.port, 1, 65535, "spec.database.port");
    }
}

/// `^[a-z]([-a-z0-9]*[a-z0-9])?$`, at most 63 characters.
fn is_dns_1035_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    name.len() <= 63
        && bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes
            .last()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::children::fixtures::{bookstore, with_database};

    fn violations(spec: serde_json::Value) -> Vec<String> {
        match validate(&bookstore(spec)) {
            Ok(()) => Vec::new(),
            Err(found) => found.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn the_defaults_are_valid() {
        assert!(violations(with_database()).is_empty());
        assert!(violations(serde_json::json!({"image": "img"})).is_empty());
    }

    #[test]
    fn autoscaling_bounds_are_enforced() {
        let mut spec = with_database();
        spec["autoscaling"] = serde_json::json!({"minReplicas": 0});
        assert!(
            violations(spec.clone())
                .contains(&"spec.autoscaling.minReplicas: must be between 1 and 100".to_owned())
        );
        spec["autoscaling"] = serde_json::json!({"minReplicas": 3, "maxReplicas": 2});
        assert!(violations(spec.clone()).contains(
            &"spec.autoscaling.maxReplicas: must not be less than minReplicas".to_owned()
        ));
        spec["autoscaling"] = serde_json::json!({});
        spec["replicas"] = serde_json::json!(5);
        assert_eq!(
            violations(spec.clone()),
            [
                "spec.replicas: must lie between autoscaling.minReplicas and autoscaling.maxReplicas while autoscaling is enabled"
            ]
        );
        spec["autoscaling"] = serde_json::json!({"enabled": false});
        assert!(
            violations(spec).is_empty(),
            "without autoscaling any replica count up to 100 is fine"
        );
    }

    #[test]
    fn replicas_are_free_in_demo_mode_where_they_are_ignored() {
        assert!(violations(serde_json::json!({"image": "img", "replicas": 7})).is_empty());
    }

    #[test]
    fn autoscaling_needs_a_cpu_request_or_limit() {
        let mut spec = with_database();
        spec["resources"] = serde_json::json!({"requests": {"memory": "64Mi"}});
        assert_eq!(
            violations(spec.clone()),
            [format!(
                "spec.resources: {}",
                rules::AUTOSCALING_NEEDS_CPU_REQUEST.message
            )]
        );
        spec["resources"] = serde_json::json!({"limits": {"cpu": "1"}});
        assert!(
            violations(spec.clone()).is_empty(),
            "a limit sets the request"
        );
        spec["resources"] = serde_json::json!({});
        spec["autoscaling"] = serde_json::json!({"enabled": false});
        assert!(violations(spec).is_empty(), "no autoscaler, no need");
    }

    #[test]
    fn the_node_exporter_cannot_take_the_api_ports() {
        let mut spec = with_database();
        for port in [8080, 8081] {
            spec["monitoring"] = serde_json::json!({"nodeExporter": {"port": port}});
            assert_eq!(
                violations(spec.clone()),
                [
                    "spec.monitoring.nodeExporter.port: must differ from the API's ports 8080 and 8081"
                ]
            );
        }
        spec["monitoring"] = serde_json::json!({"nodeExporter": {"port": 8080, "enabled": false}});
        assert!(violations(spec).is_empty());
    }

    #[test]
    fn a_public_catalogue_needs_a_write_token_or_open_writes_on_purpose() {
        let mut spec = with_database();
        spec["auth"] = serde_json::json!({});
        assert_eq!(
            violations(spec.clone()),
            [format!(
                "spec.auth: {}",
                rules::PUBLIC_WRITES_NEED_A_DECISION.message
            )]
        );
        spec["auth"] = serde_json::json!({"writeTokenSecretRef": {"name": "t", "key": "token"}});
        assert!(violations(spec.clone()).is_empty());
        spec["auth"] = serde_json::json!({"writeTokenSecretRef": {"name": "t", "key": "token"}, "openWrites": true});
        assert_eq!(
            violations(spec.clone()),
            [format!(
                "spec.auth.openWrites: {}",
                rules::ONE_WAY_TO_WRITE.message
            )]
        );
        spec["auth"] = serde_json::json!({});
        spec["service"] = serde_json::json!({"type": "ClusterIP"});
        assert!(
            violations(spec).is_empty(),
            "inside the cluster writes may stay open"
        );
        assert!(
            violations(serde_json::json!({"image": "img"})).is_empty(),
            "so may the demo, which keeps nothing"
        );
    }

    #[test]
    fn names_must_be_dns_1035_labels() {
        for good in ["shop", "a", "shop-2", &"a".repeat(63)] {
            assert!(is_dns_1035_label(good), "{good}");
        }
        for bad in ["Shop", "2shop", "shop-", "sh.op", "", &"a".repeat(64)] {
            assert!(!is_dns_1035_label(bad), "{bad}");
        }
        let mut shop = bookstore(with_database());
        shop.metadata.name = Some("My.Shop".into());
        let found = validate(&shop).expect_err("invalid name");
        assert!(
            found[0]
                .to_string()
                .starts_with("metadata.name must be a DNS-1035 label")
        );
    }
}
