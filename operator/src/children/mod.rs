//! Desired state: pure functions from a `Bookstore` to the objects it should own.

mod budget;
mod deployment;
mod hpa;
mod monitor;
mod roll;
mod service;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::crd::{Bookstore, SecretKeyRef};

pub use budget::pod_disruption_budget;
pub use deployment::{
    API_CONTAINER, API_METRICS_PORT, API_PORT, DB_PASSWORD_DIGEST_ANNOTATION, MIN_READY_SECONDS,
    Referenced, WRITE_TOKEN_FILE, WRITE_TOKENS_DIGEST_ANNOTATION, applies_replicas, deployment,
    initial_replicas, replicas_handover,
};
pub use hpa::horizontal_pod_autoscaler;
pub use monitor::{PodMonitor, pod_monitor};
pub use roll::{MIN_ROLL_KEY_LEN, RollKey, RollKeyTooShort};
pub use service::service;

/// The field manager of every server-side apply, and the `managed-by` label.
pub const MANAGER: &str = "bookstore-operator";
/// Holds `spec.replicas` of an autoscaled Deployment until the autoscaler takes it: it sets the
/// starting count of a Deployment made autoscaled (right after creating it, or on a later
/// reconcile if that patch failed), and keeps the current count while autoscaling is switched
/// on (so that the main manager can let go of the field without it being reset to 1). A manager
/// of its own, so that the main one never owns `spec.replicas` while the autoscaler decides.
pub const REPLICAS_MANAGER: &str = "bookstore-operator-replicas";
/// On every child: a digest of the object as the operator last rendered it. Equal digests mean
/// the Bookstore asks for nothing new; drift is found by comparing the fields themselves.
pub const DESIRED_HASH_ANNOTATION: &str = "bookstore.dev/desired-sha256";

/// A value read from a Secret the Bookstore references: its bytes never appear in `Debug`
/// output, logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Vec<u8>);

impl SecretValue {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// What the children are built from besides the spec: the values the Bookstore references.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// The database password (with an external database).
    pub password: Option<SecretValue>,
    /// The write tokens (with `spec.auth.writeTokenSecretRef`).
    pub write_token: Option<SecretValue>,
}

/// Everything a Bookstore should own; `None` means "must not exist".
#[derive(Debug, Clone, PartialEq)]
pub struct Children {
    pub deployment: Deployment,
    pub service: Service,
    pub autoscaler: Option<HorizontalPodAutoscaler>,
    pub disruption_budget: Option<PodDisruptionBudget>,
    /// With `spec.monitoring.podMonitor.enabled`.
    pub pod_monitor: Option<PodMonitor>,
}

/// The keyed digests (`RollKey`) of the values a Bookstore references. In the pod template they
/// roll the pods when a value changes; the pods read the values from the user's Secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    pub password: Option<String>,
    pub write_tokens: Option<String>,
}

impl Inputs {
    /// Keyed, and tied to where each value is read (`namespace/secret:key`): equal values in
    /// other Secrets or namespaces show other digests, so the annotations tell nobody which
    /// Bookstores share a password.
    pub fn digests(&self, key: &RollKey, bookstore: &Bookstore) -> Digests {
        let namespace = bookstore.namespace().unwrap_or_default();
        let of = |what: &str, reference: Option<&SecretKeyRef>, value: Option<&SecretValue>| {
            let (reference, value) = (reference?, value?);
            let purpose = format!("{what} {namespace}/{}:{}", reference.name, reference.key);
            Some(key.digest(&purpose, value))
        };
        Digests {
            password: of(
                "database password",
                bookstore.database().map(|d| &d.password_secret_ref),
                self.password.as_ref(),
            ),
            write_tokens: of(
                "write tokens",
                bookstore.spec.auth.write_token_secret_ref.as_ref(),
                self.write_token.as_ref(),
            ),
        }
    }
}

/// The desired children, from the spec and the digests of the values it references.
pub fn desired(bookstore: &Bookstore, digests: &Digests) -> Children {
    let password = bookstore
        .database()
        .map(|database| &database.password_secret_ref)
        .map(|reference| Referenced {
            reference,
            digest: digests.password.clone(),
        });
    let write_tokens = bookstore
        .spec
        .auth
        .write_token_secret_ref
        .as_ref()
        .map(|reference| Referenced {
            reference,
            digest: digests.write_tokens.clone(),
        });
    Children {
        deployment: stamped(deployment(bookstore, password, write_tokens)),
        service: stamped(service(bookstore)),
        autoscaler: horizontal_pod_autoscaler(bookstore).map(stamped),
        disruption_budget: pod_disruption_budget(bookstore).map(stamped),
        pod_monitor: pod_monitor(bookstore).map(stamped),
    }
}

/// The object with its `DESIRED_HASH_ANNOTATION`, computed over everything else in it.
fn stamped<K: Resource + Serialize>(mut object: K) -> K {
    let digest = hex_sha256(&serde_json::to_vec(&object).unwrap_or_default());
    object
        .annotations_mut()
        .insert(DESIRED_HASH_ANNOTATION.to_owned(), digest);
    object
}

/// The digest a child carries, if any.
pub fn desired_hash<K: Resource>(object: &K) -> Option<&str> {
    object
        .meta()
        .annotations
        .as_ref()?
        .get(DESIRED_HASH_ANNOTATION)
        .map(String::as_str)
}

pub(crate) fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
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

/// The label naming the Bookstore an object belongs to.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

/// The subset that selects a Bookstore's pods: it must never change (selectors are immutable).
pub fn selector_labels(bookstore: &Bookstore) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/name".to_owned(),
            "bookstore-api".to_owned(),
        ),
        (INSTANCE_LABEL.to_owned(), bookstore.name_any()),
    ])
}

/// Name, namespace, labels and the controller owner reference (absent when the Bookstore has no
/// uid yet, as in `render`). `blockOwnerDeletion`: a foreground deletion of the Bookstore waits
/// for its children.
fn metadata(bookstore: &Bookstore, name: String) -> ObjectMeta {
    let owner = bookstore.controller_owner_ref(&()).map(|mut owner| {
        owner.block_owner_deletion = Some(true);
        owner
    });
    ObjectMeta {
        name: Some(name),
        namespace: bookstore.namespace(),
        labels: Some(labels(bookstore)),
        owner_references: owner.map(|owner| vec![owner]),
        ..ObjectMeta::default()
    }
}

/// Whether `object` is controlled by `bookstore` (its controller owner reference has its uid).
pub fn controlled_by<K: Resource>(object: &K, bookstore: &Bookstore) -> bool {
    let Some(uid) = bookstore.meta().uid.as_deref() else {
        return false;
    };
    object
        .owner_references()
        .iter()
        .any(|owner| owner.controller == Some(true) && owner.uid == uid)
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

    /// The roll key of the unit tests.
    pub fn roll_key() -> super::RollKey {
        super::RollKey::new(b"unit-test-roll-key-0123456789abcdef").expect("long enough")
    }

    /// The digests of a Bookstore whose only input is a database password.
    pub fn with_password(password: &[u8]) -> super::Digests {
        super::Inputs {
            password: Some(super::SecretValue::new(password.to_vec())),
            write_token: None,
        }
        .digests(&roll_key(), &bookstore(with_database()))
    }

    pub fn with_database() -> serde_json::Value {
        serde_json::json!({
            "image": "registry.example/bookstore-api:1.0.0",
            "auth": {"openWrites": true},
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
    use super::fixtures::{bookstore, with_database, with_password};
    use super::*;

    #[test]
    fn secret_values_never_show_in_debug_output() {
        let inputs = Inputs {
            password: Some(SecretValue::new(b"s3cret".to_vec())),
            write_token: Some(SecretValue::new(b"t0ken-0123456789".to_vec())),
        };
        let shown = format!("{inputs:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("t0ken"),
            "{shown}"
        );
    }

    #[test]
    fn every_child_is_labelled_and_owned_by_the_bookstore() {
        let shop = bookstore(with_database());
        let children = desired(&shop, &with_password(b"s3cret"));
        let metas = [
            &children.deployment.metadata,
            &children.service.metadata,
            &children.autoscaler.as_ref().expect("autoscaler").metadata,
            &children
                .disruption_budget
                .as_ref()
                .expect("budget")
                .metadata,
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
            assert_eq!(owner.block_owner_deletion, Some(true));
            assert_eq!(meta.namespace.as_deref(), Some("books"));
            let digest = &meta.annotations.as_ref().expect("annotations")[DESIRED_HASH_ANNOTATION];
            assert_eq!(digest.len(), 64);
        }
    }

    #[test]
    fn the_desired_digest_follows_the_spec_and_nothing_else() {
        let digests = |spec: serde_json::Value| {
            let children = desired(&bookstore(spec), &with_password(b"s3cret"));
            [
                desired_hash(&children.deployment).map(str::to_owned),
                desired_hash(&children.service).map(str::to_owned),
            ]
        };
        assert_eq!(digests(with_database()), digests(with_database()));
        let mut changed = with_database();
        changed["service"] = serde_json::json!({"port": 8081});
        let (before, after) = (digests(with_database()), digests(changed));
        assert_eq!(before[0], after[0], "the Deployment did not change");
        assert_ne!(before[1], after[1], "the Service did");
    }

    #[test]
    fn only_the_controller_reference_of_this_bookstore_counts() {
        let shop = bookstore(with_database());
        let mut service = service(&shop);
        assert!(controlled_by(&service, &shop));
        service.metadata.owner_references.as_mut().expect("owners")[0].uid = "other".into();
        assert!(!controlled_by(&service, &shop));
        service.metadata.owner_references = None;
        assert!(!controlled_by(&service, &shop));
    }

    #[test]
    fn demo_mode_has_no_autoscaler_and_reads_no_secret() {
        let shop = bookstore(serde_json::json!({"image": "img"}));
        let children = desired(&shop, &Digests::default());
        assert!(children.autoscaler.is_none());
        let rendered = serde_json::to_string(&children.deployment).expect("json");
        assert!(!rendered.contains("secretKeyRef"), "{rendered}");
    }
}
