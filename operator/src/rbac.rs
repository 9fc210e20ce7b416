//! The permissions the operator's code uses, in one place: the install package's RBAC is
//! generated from here (`bookstore-operator rbac`), so it grants exactly these.

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub const NAME: &str = "bookstore-operator";

/// API group, resources, verbs, and why.
type Rule = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
);

/// What it needs in each namespace it watches (every namespace, with the ClusterRole install).
pub const NAMESPACED_RULES: &[Rule] = &[
    (
        "bookstore.dev",
        &["bookstores"],
        &["get", "list", "watch"],
        "the resources it reconciles",
    ),
    (
        "bookstore.dev",
        &["bookstores/status"],
        &["get", "patch"],
        "status, by server-side apply",
    ),
    (
        "bookstore.dev",
        &["bookstores/finalizers"],
        &["update"],
        "blockOwnerDeletion on the children's owner references, where the OwnerReferencesPermissionEnforcement admission plugin is on",
    ),
    (
        "apps",
        &["deployments"],
        &["get", "list", "watch", "create", "patch"],
        "apply (a server-side apply that creates is authorised as create) and observe the Deployment",
    ),
    (
        "",
        &["services"],
        &["get", "list", "watch", "create", "patch"],
        "apply and observe the Service",
    ),
    (
        "autoscaling",
        &["horizontalpodautoscalers"],
        &["get", "list", "watch", "create", "patch", "delete"],
        "apply, observe, and remove the HPA when autoscaling is off",
    ),
    (
        "policy",
        &["poddisruptionbudgets"],
        &["get", "list", "watch", "create", "patch", "delete"],
        "apply, observe, and remove the PodDisruptionBudget when the Bookstore runs one pod",
    ),
    (
        "",
        &["secrets"],
        &["get", "list", "watch"],
        "read the Secrets a Bookstore references (password, write tokens): watched only where labelled bookstore.dev/watch=true; get tells an unlabelled one from a missing one. Never written",
    ),
    (
        "monitoring.coreos.com",
        &["podmonitors"],
        &["get", "list", "watch", "create", "patch", "delete"],
        "apply, observe and remove the PodMonitor of spec.monitoring.podMonitor (where prometheus-operator's CRD is installed)",
    ),
    (
        "",
        &["pods"],
        &["get", "list", "watch"],
        "find the API pods, to ask one of each Bookstore whether its database answers",
    ),
    (
        "events.k8s.io",
        &["events"],
        &["create", "patch"],
        "Events (a repeated one is patched into a series)",
    ),
];

/// Cluster-scoped, in both installs.
pub const NODE_RULES: &[Rule] = &[(
    "",
    &["nodes"],
    &["list", "watch"],
    "the zones of the nodes the API pods run on (metadata only), for the ZoneRedundant condition",
)];

/// Aggregated into the built-in `view` ClusterRole: whoever may view a namespace sees its
/// Bookstores.
pub const VIEW_RULES: &[Rule] = &[(
    "bookstore.dev",
    &["bookstores", "bookstores/status"],
    &["get", "list", "watch"],
    "read Bookstores",
)];

/// Aggregated into the built-in `edit` and `admin` ClusterRoles: whoever may edit a namespace
/// manages its Bookstores.
pub const EDIT_RULES: &[Rule] = &[(
    "bookstore.dev",
    &["bookstores"],
    &["create", "update", "patch", "delete", "deletecollection"],
    "manage Bookstores",
)];

/// Leader election, only in the operator's own namespace.
pub const LEASE_RULES: &[Rule] = &[(
    "coordination.k8s.io",
    &["leases"],
    &["get", "create", "update"],
    "leader election (updates carry the resourceVersion read, so two replicas cannot both win)",
)];

fn rules<'a>(tables: impl IntoIterator<Item = &'a [Rule]>) -> Vec<PolicyRule> {
    tables
        .into_iter()
        .flatten()
        .map(|(group, resources, verbs, _why)| PolicyRule {
            api_groups: Some(vec![(*group).to_owned()]),
            resources: Some(resources.iter().map(|r| (*r).to_owned()).collect()),
            verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
            ..PolicyRule::default()
        })
        .collect()
}

fn meta(name: &str, labels: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        labels: (!labels.is_empty()).then(|| {
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        }),
        ..ObjectMeta::default()
    }
}

/// The operator's role in the ClusterRole install: everything, in every namespace.
pub fn cluster_role() -> ClusterRole {
    ClusterRole {
        metadata: meta(NAME, &[]),
        rules: Some(rules([NAMESPACED_RULES, NODE_RULES])),
        ..ClusterRole::default()
    }
}

/// The operator's role in each namespace it watches, in the namespaced install.
pub fn namespaced_role() -> Role {
    Role {
        metadata: meta(NAME, &[]),
        rules: Some(rules([NAMESPACED_RULES])),
    }
}

/// The namespaced install's one cluster-scoped grant: node metadata (zones).
pub fn nodes_role() -> ClusterRole {
    ClusterRole {
        metadata: meta(&format!("{NAME}-nodes"), &[]),
        rules: Some(rules([NODE_RULES])),
        ..ClusterRole::default()
    }
}

/// The Lease role; its namespace is set by the install package.
pub fn lease_role() -> Role {
    Role {
        metadata: meta(&format!("{NAME}-leader-election"), &[]),
        rules: Some(rules([LEASE_RULES])),
    }
}

/// `bookstore-view` and `bookstore-edit`, aggregated into the built-in roles, so that tenants
/// given `view`, `edit` or `admin` in a namespace can read or manage its Bookstores.
pub fn aggregated_roles() -> [ClusterRole; 2] {
    let aggregated = |name: &str, into: &[&str], table: &'static [Rule]| ClusterRole {
        metadata: meta(
            name,
            &into
                .iter()
                .map(|role| match *role {
                    "view" => ("rbac.authorization.k8s.io/aggregate-to-view", "true"),
                    "edit" => ("rbac.authorization.k8s.io/aggregate-to-edit", "true"),
                    _ => ("rbac.authorization.k8s.io/aggregate-to-admin", "true"),
                })
                .collect::<Vec<_>>(),
        ),
        rules: Some(rules([table])),
        ..ClusterRole::default()
    };
    [
        aggregated("bookstore-view", &["view", "edit", "admin"], VIEW_RULES),
        aggregated("bookstore-edit", &["edit", "admin"], EDIT_RULES),
    ]
}

/// Which install the roles are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Install {
    /// `deploy/operator`: a ClusterRole, every namespace.
    Cluster,
    /// `deploy/operator-namespaced`: Roles in the watched namespace, node metadata cluster-wide.
    Namespaced,
}

/// The install's roles as a YAML stream, as committed in `deploy/operator/rbac/roles.yaml` and
/// `deploy/operator-namespaced/roles.yaml`.
pub fn manifests(install: Install) -> Result<String, yaml_serde::Error> {
    let (command, path) = match install {
        Install::Cluster => ("rbac", "deploy/operator/rbac/roles.yaml"),
        Install::Namespaced => ("rbac --namespaced", "deploy/operator-namespaced/roles.yaml"),
    };
    let mut documents = match install {
        Install::Cluster => vec![yaml_serde::to_string(&cluster_role())?],
        Install::Namespaced => vec![
            yaml_serde::to_string(&namespaced_role())?,
            yaml_serde::to_string(&nodes_role())?,
        ],
    };
    documents.push(yaml_serde::to_string(&lease_role())?);
    for role in aggregated_roles() {
        documents.push(yaml_serde::to_string(&role)?);
    }
    let mut out = format!(
        "# Generated by `bookstore-operator {command}` into {path}: do not edit; change operator/src/rbac.rs.\n"
    );
    for document in documents {
        out.push_str("---\n");
        out.push_str(&document);
    }
    Ok(out)
}
