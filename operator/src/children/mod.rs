//! Desired state: pure functions from a `Bookstore` to the objects it should own.

mod deployment;
mod hpa;
mod secret;
mod service;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Resource, ResourceExt};

use crate::crd::Bookstore;

pub use deployment::{API_PORT, DB_SECRET_HASH_ANNOTATION, deployment, initial_replicas};
pub use hpa::horizontal_pod_autoscaler;
pub use secret::{DatabasePassword, database_secret, secret_name};
pub use service::service;

/// The field manager of every server-side apply, and the `managed-by` label.
pub const MANAGER: &str = "bookstore-operator";
/// Sets the starting replica count of an autoscaled Deployment, once. A manager of its own, so
/// that the main one never owns `spec.replicas` and never fights the autoscaler over it.
pub const INITIAL_REPLICAS_MANAGER: &str = "bookstore-operator-initial-replicas";

/// Everything a Bookstore should own; `None` means "must not exist".
#[derive(Debug, Clone, PartialEq)]
pub struct Children {
    pub secret: Option<Secret>,
    pub deployment: Deployment,
    pub service: Service,
    pub autoscaler: Option<HorizontalPodAutoscaler>,
}

/// The desired children. `password` is the database password read from the referenced Secret;
/// `None` only without an external database.
pub fn desired(bookstore: &Bookstore, password: Option<&DatabasePassword>) -> Children {
    let secret = bookstore
        .database()
        .zip(password)
        .map(|(database, password)| database_secret(bookstore, database, password));
    Children {
        deployment: deployment(bookstore, secret.as_ref()),
        service: service(bookstore),
        autoscaler: horizontal_pod_autoscaler(bookstore),
        secret,
    }
}

/// The recommended labels, on every child and on the pods.
pub fn labels(bookstore: &Bookstore) -> BTreeMap<String, String> {
    let mut labels = selector_labels(bookstore);
    labels.extend([
        ("app.kubernetes.io/component".to_owned(), "api".to_owned()),
        (
            "app.kubernetes.io/part-of".to_owned(),
            "bookstore".to_owned(),
        ),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            MANAGER.to_owned(),
        ),
    ]);
    labels
}

/// The subset that selects a Bookstore's pods: it must never change (selectors are immutable).
pub fn selector_labels(bookstore: &Bookstore) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/name".to_owned(),
            "bookstore-api".to_owned(),
        ),
        (
            "app.kubernetes.io/instance".to_owned(),
            bookstore.name_any(),
        ),
    ])
}

/// Name, namespace, labels and the controller owner reference (absent when the Bookstore has no
/// uid yet, as in `render`).
fn metadata(bookstore: &Bookstore, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: bookstore.namespace(),
        labels: Some(labels(bookstore)),
        owner_references: bookstore.controller_owner_ref(&()).map(|owner| vec![owner]),
        ..ObjectMeta::default()
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use crate::crd::Bookstore;

    /// A Bookstore as the API server would hand it over: defaults applied, uid set.
    pub fn bookstore(spec: serde_json::Value) -> Bookstore {
        let mut bookstore: Bookstore = serde_json::from_value(serde_json::json!({
            "apiVersion": "bookstore.dev/v1alpha1",
            "kind": "Bookstore",
            "metadata": {"name": "shop", "namespace": "books", "uid": "1234-abcd", "generation": 3},
            "spec": spec,
        }))
        .expect("valid Bookstore");
        bookstore.status = None;
        bookstore
    }

    pub fn with_database() -> serde_json::Value {
        serde_json::json!({
            "image": "registry.example/bookstore-api:1.0.0",
            "database": {
                "host": "db.example.internal",
                "name": "bookstore",
                "user": "app",
                "passwordSecretRef": {"name": "db-password", "key": "password"}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{bookstore, with_database};
    use super::*;

    #[test]
    fn every_child_is_labelled_and_owned_by_the_bookstore() {
        let shop = bookstore(with_database());
        let password = DatabasePassword::new(b"s3cret".to_vec());
        let children = desired(&shop, Some(&password));
        let metas = [
            &children.secret.as_ref().expect("secret").metadata,
            &children.deployment.metadata,
            &children.service.metadata,
            &children.autoscaler.as_ref().expect("autoscaler").metadata,
        ];
        for meta in metas {
            let labels = meta.labels.as_ref().expect("labels");
            for key in ["name", "instance", "component", "part-of", "managed-by"] {
                assert!(
                    labels.contains_key(&format!("app.kubernetes.io/{key}")),
                    "{key}"
                );
            }
            let owner = &meta.owner_references.as_ref().expect("owner")[0];
            assert_eq!(
                (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
                ("Bookstore", "shop", "1234-abcd")
            );
            assert_eq!(owner.controller, Some(true));
            assert_eq!(meta.namespace.as_deref(), Some("books"));
        }
    }

    #[test]
    fn demo_mode_has_no_secret_and_no_autoscaler() {
        let shop = bookstore(serde_json::json!({"image": "img"}));
        let children = desired(&shop, None);
        assert!(children.secret.is_none());
        assert!(children.autoscaler.is_none());
    }
}
