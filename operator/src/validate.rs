//! The CRD's validation rules, checked in Rust too so that `render` rejects what the API server
//! would (the API server stays the authority: these mirror the schema, they do not replace it).

use crate::crd::BookstoreSpec;

/// One broken rule: the field path and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

pub fn validate(spec: &BookstoreSpec) -> Result<(), Vec<Violation>> {
    let mut violations = Vec::new();
    let mut check = |ok: bool, path: &str, message: String| {
        if !ok {
            violations.push(Violation {
                path: path.to_owned(),
                message,
            });
        }
    };
    let in_range = |value: i32, min: i32, max: i32| (min..=max).contains(&value);
    check(
        !spec.image.is_empty(),
        "spec.image",
        "must not be empty".to_owned(),
    );
    check(
        in_range(spec.replicas, 0, 100),
        "spec.replicas",
        "must be between 0 and 100".to_owned(),
    );
    let scaling = &spec.autoscaling;
    check(
        in_range(scaling.min_replicas, 1, 100),
        "spec.autoscaling.minReplicas",
        "must be between 1 and 100".to_owned(),
    );
    check(
        in_range(scaling.max_replicas, 1, 100),
        "spec.autoscaling.maxReplicas",
        "must be between 1 and 100".to_owned(),
    );
    check(
        scaling.max_replicas >= scaling.min_replicas,
        "spec.autoscaling",
        "maxReplicas must not be less than minReplicas".to_owned(),
    );
    check(
        in_range(scaling.target_cpu_utilization_percentage, 1, 100),
        "spec.autoscaling.targetCPUUtilizationPercentage",
        "must be between 1 and 100".to_owned(),
    );
    check(
        !scaling.enabled || in_range(spec.replicas, scaling.min_replicas, scaling.max_replicas),
        "spec",
        "replicas must lie between autoscaling.minReplicas and autoscaling.maxReplicas while autoscaling is enabled"
            .to_owned(),
    );
    check(
        in_range(spec.service.port, 1, 65535),
        "spec.service.port",
        "must be between 1 and 65535".to_owned(),
    );
    let exporter = &spec.monitoring.node_exporter;
    check(
        in_range(exporter.port, 1, 65535),
        "spec.monitoring.nodeExporter.port",
        "must be between 1 and 65535".to_owned(),
    );
    check(
        !exporter.enabled || exporter.port != crate::children::API_PORT,
        "spec.monitoring.nodeExporter.port",
        format!(
            "must differ from the API's port {}",
            crate::children::API_PORT
        ),
    );
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
            check(!value.is_empty(), path, "must not be empty".to_owned());
        }
        check(
            in_range(database.port, 1, 65535),
            "spec.database.port",
            "must be between 1 and 65535".to_owned(),
        );
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::children::fixtures::{bookstore, with_database};

    fn violations(spec: serde_json::Value) -> Vec<String> {
        match validate(&bookstore(spec).spec) {
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
            &"spec.autoscaling: maxReplicas must not be less than minReplicas".to_owned()
        ));
        spec["autoscaling"] = serde_json::json!({});
        spec["replicas"] = serde_json::json!(5);
        assert_eq!(
            violations(spec.clone()),
            [
                "spec: replicas must lie between autoscaling.minReplicas and autoscaling.maxReplicas while autoscaling is enabled"
            ]
        );
        spec["autoscaling"] = serde_json::json!({"enabled": false});
        assert!(
            violations(spec).is_empty(),
            "without autoscaling any replica count up to 100 is fine"
        );
    }
}
