//! The committed CRD and RBAC are exactly what the code generates, and the CRD carries what
//! `kubectl` users see.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bookstore_operator::crd;
use bookstore_operator::rules;
use serde_json::Value;

const COMMITTED: &str = include_str!("../../crds/bookstore.yaml");

#[test]
fn the_committed_crd_is_the_generated_one() {
    let generated = yaml_serde::to_string(&crd::definition().unwrap()).unwrap();
    assert!(
        generated == COMMITTED,
        "crds/bookstore.yaml is stale: run `cargo run -p bookstore-operator -- crd > crds/bookstore.yaml`"
    );
}

#[test]
fn the_committed_rbac_is_the_generated_one() {
    use bookstore_operator::rbac::{Install, manifests};
    for (install, committed, command) in [
        (
            Install::Cluster,
            include_str!("../../deploy/operator/rbac/roles.yaml"),
            "rbac > deploy/operator/rbac/roles.yaml",
        ),
        (
            Install::Namespaced,
            include_str!("../../deploy/operator-namespaced/roles.yaml"),
            "rbac --namespaced > deploy/operator-namespaced/roles.yaml",
        ),
    ] {
        assert!(
            manifests(install).unwrap() == committed,
            "stale RBAC: run `cargo run -p bookstore-operator -- {command}`"
        );
    }
}

/// `group/resource: verbs` for each rule of a role.
fn grants(role: &Value) -> Vec<String> {
    role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| {
            let list = |key: &str| {
                rule[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            format!(
                "{}/{}: {}",
                list("apiGroups"),
                list("resources"),
                list("verbs")
            )
        })
        .collect()
}

#[test]
fn the_rbac_grants_what_the_code_uses_and_never_writes_a_secret() {
    use bookstore_operator::rbac;
    let role = serde_json::to_value(rbac::cluster_role()).unwrap();
    let namespaced = [
        "bookstore.dev/bookstores: get,list,watch",
        "bookstore.dev/bookstores/status: get,patch",
        "bookstore.dev/bookstores/finalizers: update",
        "apps/deployments: get,list,watch,create,patch",
        "/services: get,list,watch,create,patch",
        "autoscaling/horizontalpodautoscalers: get,list,watch,create,patch,delete",
        "policy/poddisruptionbudgets: get,list,watch,create,patch,delete",
        "/secrets: get,list,watch",
        "monitoring.coreos.com/podmonitors: get,list,watch,create,patch,delete",
        "/pods: get,list,watch",
        "events.k8s.io/events: create,patch",
    ];
    let mut cluster = namespaced.to_vec();
    cluster.push("/nodes: list,watch");
    assert_eq!(grants(&role), cluster);
    assert!(!role.to_string().contains('*'), "no wildcards");
    assert_eq!(
        grants(&serde_json::to_value(rbac::namespaced_role()).unwrap()),
        namespaced,
        "the namespaced install's Role: the same, without the nodes"
    );
    assert_eq!(
        grants(&serde_json::to_value(rbac::nodes_role()).unwrap()),
        ["/nodes: list,watch"]
    );
    let lease = serde_json::to_value(rbac::lease_role()).unwrap();
    assert_eq!(
        grants(&lease),
        ["coordination.k8s.io/leases: get,create,update"]
    );
}

#[test]
fn tenants_get_bookstores_through_the_built_in_roles() {
    let [view, edit] = bookstore_operator::rbac::aggregated_roles()
        .map(|role| serde_json::to_value(role).unwrap());
    let labels = |role: &Value| {
        let mut keys: Vec<String> = role["metadata"]["labels"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(view["metadata"]["name"], "bookstore-view");
    assert_eq!(
        labels(&view),
        [
            "rbac.authorization.k8s.io/aggregate-to-admin=true",
            "rbac.authorization.k8s.io/aggregate-to-edit=true",
            "rbac.authorization.k8s.io/aggregate-to-view=true",
        ]
    );
    assert_eq!(
        grants(&view),
        ["bookstore.dev/bookstores,bookstores/status: get,list,watch"]
    );
    assert_eq!(edit["metadata"]["name"], "bookstore-edit");
    assert_eq!(
        labels(&edit),
        [
            "rbac.authorization.k8s.io/aggregate-to-admin=true",
            "rbac.authorization.k8s.io/aggregate-to-edit=true",
        ]
    );
    assert_eq!(
        grants(&edit),
        ["bookstore.dev/bookstores: create,update,patch,delete,deletecollection"]
    );
}

fn crd() -> Value {
    serde_json::to_value(crd::definition().unwrap()).unwrap()
}

#[test]
fn names_scope_subresource_and_columns() {
    let crd = crd();
    let spec = &crd["spec"];
    assert_eq!(crd["metadata"]["name"], "bookstores.bookstore.dev");
    assert_eq!(spec["scope"], "Namespaced");
    assert_eq!(spec["names"]["shortNames"], serde_json::json!(["bks"]));
    assert_eq!(
        spec["names"]["categories"],
        serde_json::json!(["bookstore"])
    );
    let version = &spec["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert!(version["subresources"]["status"].is_object());
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        ["Ready", "Reason", "Replicas", "URL", "Age", "Message"]
    );
    let wide_only: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["priority"] == 1)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(wide_only, ["Message"], "the message only with -o wide");
}

/// Every property under `spec`, recursively, with its path.
fn properties<'a>(path: String, schema: &'a Value, into: &mut Vec<(String, &'a Value)>) {
    if let Some(props) = schema["properties"].as_object() {
        for (name, child) in props {
            let child_path = format!("{path}.{name}");
            into.push((child_path.clone(), child));
            properties(child_path, child, into);
        }
    }
    if schema["items"].is_object() {
        properties(format!("{path}[]"), &schema["items"], into);
    }
}

#[test]
fn every_spec_field_is_described_for_kubectl_explain() {
    let crd = crd();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let mut fields = Vec::new();
    properties("spec".into(), spec, &mut fields);
    assert!(fields.len() > 30);
    let undescribed: Vec<&String> = fields
        .iter()
        .filter(|(_, schema)| schema["description"].as_str().is_none_or(str::is_empty))
        .map(|(path, _)| path)
        .collect();
    assert!(
        undescribed.is_empty(),
        "fields without a description: {undescribed:?}"
    );
    // `kubectl explain` shows descriptions as they are: no line breaks in mid-sentence.
    let broken: Vec<&String> = fields
        .iter()
        .filter(|(_, schema)| {
            schema["description"]
                .as_str()
                .is_some_and(|d| d.replace("\n\n", "").contains('\n'))
        })
        .map(|(path, _)| path)
        .collect();
    assert!(
        broken.is_empty(),
        "descriptions with hard line breaks: {broken:?}"
    );
}

/// The schema object at a dotted path (`spec.monitoring.nodeExporter`; empty: the root).
fn schema_at<'a>(root: &'a Value, path: &str) -> &'a Value {
    if path.is_empty() {
        return root;
    }
    path.split('.')
        .fold(root, |schema, field| &schema["properties"][field])
}

/// Every CEL rule anywhere in a schema.
fn cel_rules_in(schema: &serde_json::Value) -> usize {
    match schema {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(key, value)| match (key.as_str(), value) {
                ("x-kubernetes-validations", serde_json::Value::Array(rules)) => rules.len(),
                _ => cel_rules_in(value),
            })
            .sum(),
        serde_json::Value::Array(items) => items.iter().map(cel_rules_in).sum(),
        _ => 0,
    }
}

#[test]
fn every_rule_is_in_the_crd_where_it_belongs() {
    let crd = crd();
    let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    for rule in rules::ALL.iter().chain(&rules::TRANSITIONS) {
        let validations = schema_at(root, rule.attached_to)["x-kubernetes-validations"]
            .as_array()
            .unwrap_or_else(|| panic!("no rules at {}", rule.attached_to));
        let found = validations
            .iter()
            .find(|v| v["rule"] == rule.rule)
            .unwrap_or_else(|| panic!("{} is not in the CRD at {}", rule.rule, rule.attached_to));
        assert_eq!(found["message"], rule.message);
        if !rule.field_path.is_empty() {
            assert_eq!(found["fieldPath"], rule.field_path);
        }
    }
    assert_eq!(
        cel_rules_in(root),
        rules::ALL.len() + rules::TRANSITIONS.len(),
        "a CEL rule in the CRD that rules.rs does not list"
    );
}

#[test]
fn defaults_and_validation_rules_live_in_the_schema() {
    let crd = crd();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(spec["required"], serde_json::json!(["image"]));
    assert_eq!(spec["properties"]["replicas"]["default"], 2);
    let autoscaling = &spec["properties"]["autoscaling"];
    assert_eq!(autoscaling["properties"]["minReplicas"]["default"], 1);
    assert_eq!(autoscaling["properties"]["minReplicas"]["minimum"], 1.0);
    assert_eq!(autoscaling["properties"]["maxReplicas"]["default"], 3);
    assert_eq!(
        autoscaling["properties"]["targetCPUUtilizationPercentage"]["default"],
        70
    );
    assert_eq!(
        spec["properties"]["service"]["properties"]["type"]["default"],
        "LoadBalancer"
    );
    assert_eq!(
        spec["properties"]["service"]["properties"]["port"]["default"],
        80
    );
    let exporter = &spec["properties"]["monitoring"]["properties"]["nodeExporter"]["properties"];
    assert_eq!(exporter["port"]["default"], 9100);
    assert_eq!(
        spec["properties"]["database"]["properties"]["port"]["default"],
        3306
    );
}
