//! The Bookstore's cross-field rules, defined once. The API server enforces them as CEL rules in
//! the CRD (`x-kubernetes-validations`); `validate.rs` checks the same rules in Rust so that
//! `render` rejects what the API server would. The end-to-end suite submits every rule's
//! counterexample to a real API server and to `validate`, and requires the same verdict.

use kube::core::Rule;

/// One CEL rule, where it sits, and what it says when broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CelRule {
    /// The CEL expression, evaluated on the object at `attached_to`.
    pub rule: &'static str,
    /// The path of the object the rule is attached to (`spec`, `spec.autoscaling`, ...; empty
    /// for the root).
    pub attached_to: &'static str,
    /// The field the message is about, relative to `attached_to` (`.port`), or empty.
    pub field_path: &'static str,
    pub message: &'static str,
}

impl CelRule {
    /// The path an error names: `attached_to` + `field_path`.
    pub fn path(&self) -> String {
        format!("{}{}", self.attached_to, self.field_path)
    }

    /// The rule as it goes into the CRD.
    pub fn to_rule(self) -> Rule {
        let rule = Rule::new(self.rule).message(self.message);
        if self.field_path.is_empty() {
            rule
        } else {
            rule.field_path(self.field_path)
        }
    }
}

/// The name becomes the Service's name and a label value: a DNS-1035 label. A rule at the root
/// (the only place that sees `metadata.name`), which cannot name a field: the message does.
pub const NAME_IS_DNS_LABEL: CelRule = CelRule {
    rule: "size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
    attached_to: "",
    field_path: "",
    message: "metadata.name must be a DNS-1035 label of at most 63 characters (lowercase letters, digits and '-', starting with a letter and ending with a letter or digit): it names the Service",
};

pub const MAX_AT_LEAST_MIN: CelRule = CelRule {
    rule: "self.maxReplicas >= self.minReplicas",
    attached_to: "spec.autoscaling",
    field_path: ".maxReplicas",
    message: "must not be less than minReplicas",
};

/// Only with a database: in demo mode there is one pod and `replicas` is ignored.
pub const REPLICAS_WITHIN_AUTOSCALING: CelRule = CelRule {
    rule: "!has(self.database) || !self.autoscaling.enabled || (self.replicas >= self.autoscaling.minReplicas && self.replicas <= self.autoscaling.maxReplicas)",
    attached_to: "spec",
    field_path: ".replicas",
    message: "must lie between autoscaling.minReplicas and autoscaling.maxReplicas while autoscaling is enabled",
};

/// The autoscaler's target is a percentage of the CPU request (a CPU limit alone sets it too).
pub const AUTOSCALING_NEEDS_CPU_REQUEST: CelRule = CelRule {
    rule: "!has(self.database) || !self.autoscaling.enabled || (has(self.resources.requests) && 'cpu' in self.resources.requests) || (has(self.resources.limits) && 'cpu' in self.resources.limits)",
    attached_to: "spec",
    field_path: ".resources",
    message: "must request CPU (requests.cpu, or limits.cpu) while autoscaling is enabled: the autoscaler's target is a percentage of it",
};

/// 8080 and 8081 are `children::API_PORT` and `children::API_METRICS_PORT` (a test keeps them
/// equal).
pub const NODE_EXPORTER_PORT_FREE: CelRule = CelRule {
    rule: "!self.enabled || (self.port != 8080 && self.port != 8081)",
    attached_to: "spec.monitoring.nodeExporter",
    field_path: ".port",
    message: "must differ from the API's ports 8080 and 8081",
};

/// Secure by default: a catalogue with a database, published on a load balancer, is not open to
/// anyone by accident. The demo (no database) and in-cluster Services may stay open.
pub const PUBLIC_WRITES_NEED_A_DECISION: CelRule = CelRule {
    rule: "!has(self.database) || self.service.type != 'LoadBalancer' || has(self.auth.writeTokenSecretRef) || self.auth.openWrites",
    attached_to: "spec",
    field_path: ".auth",
    message: "must name a write token Secret (writeTokenSecretRef) or set openWrites: true: with a database behind a LoadBalancer, anyone on the internet could otherwise change the catalogue",
};

pub const ONE_WAY_TO_WRITE: CelRule = CelRule {
    rule: "!(has(self.writeTokenSecretRef) && self.openWrites)",
    attached_to: "spec.auth",
    field_path: ".openWrites",
    message: "must not be true when writeTokenSecretRef is set: writes either need the token or are open",
};

/// The API's settings that the operator sets itself, or that would move the API's data or open
/// its writes behind the operator's back (`spec.database`, `spec.auth`, `spec.rateLimit` are the
/// way to set those): the API's contract names them. The rule below spells the same list (a
/// test keeps them equal).
pub const RESERVED_ENV: [&str; 14] = bookstore_contract::env::RESERVED;

/// On `env` itself, so that a Bookstore made before the rule, whose `env` does not change, can
/// still be edited (the API server re-checks a rule only where its value changed).
pub const ENV_NOT_RESERVED: CelRule = CelRule {
    rule: "self.all(e, !(e.name in ['BIND_ADDR', 'METRICS_ADDR', 'LOG_FORMAT', 'DATABASE_URL', 'DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD', 'SQLITE_PATH', 'API_WRITE_TOKENS', 'API_WRITE_TOKENS_FILE', 'RATE_LIMIT_WRITES_PER_MINUTE', 'RATE_LIMIT_READS_PER_MINUTE']))",
    attached_to: "spec.env",
    field_path: "",
    message: "must not set BIND_ADDR, METRICS_ADDR, LOG_FORMAT, DATABASE_URL, DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD, SQLITE_PATH, API_WRITE_TOKENS, API_WRITE_TOKENS_FILE or RATE_LIMIT_*: the operator sets them from spec.database, spec.auth and spec.rateLimit",
};

/// A transition rule (it compares with the stored object, so `validate` cannot check it and the
/// end-to-end suite tries it on updates): adding or removing `database` would silently move the
/// catalogue, leaving the books behind (a demo's in its pod, the others in the database).
pub const DATABASE_STAYS: CelRule = CelRule {
    rule: "has(self.database) == has(oldSelf.database)",
    attached_to: "spec",
    field_path: ".database",
    message: "cannot be added or removed once the Bookstore exists: the catalogue would move and its books stay behind; make a new Bookstore instead",
};

/// Every rule a new Bookstore can break, for the tests that keep the CRD, `validate` and the API
/// server in step.
pub const ALL: [CelRule; 8] = [
    NAME_IS_DNS_LABEL,
    MAX_AT_LEAST_MIN,
    REPLICAS_WITHIN_AUTOSCALING,
    AUTOSCALING_NEEDS_CPU_REQUEST,
    NODE_EXPORTER_PORT_FREE,
    PUBLIC_WRITES_NEED_A_DECISION,
    ONE_WAY_TO_WRITE,
    ENV_NOT_RESERVED,
];

/// Every transition rule (they compare with the stored object: updates only).
pub const TRANSITIONS: [CelRule; 1] = [DATABASE_STAYS];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_exporter_rule_names_the_api_ports() {
        for port in [crate::children::API_PORT, crate::children::API_METRICS_PORT] {
            let port = port.to_string();
            assert!(NODE_EXPORTER_PORT_FREE.rule.contains(&format!("!= {port}")));
            assert!(NODE_EXPORTER_PORT_FREE.message.contains(&port));
        }
    }

    #[test]
    fn the_reserved_environment_rule_names_every_reserved_variable() {
        let quoted: Vec<String> = RESERVED_ENV
            .iter()
            .map(|name| format!("'{name}'"))
            .collect();
        assert!(
            ENV_NOT_RESERVED
                .rule
                .contains(&format!("[{}]", quoted.join(", "))),
            "{}",
            ENV_NOT_RESERVED.rule
        );
        for name in RESERVED_ENV {
            let named = ENV_NOT_RESERVED.message.contains(name)
                || name.starts_with("RATE_LIMIT_")
                    && ENV_NOT_RESERVED.message.contains("RATE_LIMIT_*");
            assert!(named, "{name}");
        }
    }

    #[test]
    fn paths_join_the_attachment_and_the_field() {
        assert_eq!(
            NODE_EXPORTER_PORT_FREE.path(),
            "spec.monitoring.nodeExporter.port"
        );
        assert_eq!(NAME_IS_DNS_LABEL.path(), "");
    }
}
