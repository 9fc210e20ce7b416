//! Input: the database password a Bookstore references. The Secret's data is read once per
//! resourceVersion (which the metadata-only Secret cache reports); reconciles in between reuse it.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Client, ResourceExt};

use crate::cache::Caches;
use crate::children::DatabasePassword;
use crate::crd::SecretKeyRef;
use crate::error::Error;

/// Namespace, Secret name and key.
type Reference = (String, String, String);

/// The value of a key at a version of its Secret (`None`: the key was missing).
struct Known {
    version: String,
    value: Option<DatabasePassword>,
}

#[derive(Default)]
pub struct Passwords {
    known: Mutex<HashMap<Reference, Known>>,
}

impl Passwords {
    pub async fn read(
        &self,
        client: &Client,
        caches: &Caches,
        namespace: &str,
        reference: &SecretKeyRef,
    ) -> Result<DatabasePassword, Error> {
        let key: Reference = (
            namespace.to_owned(),
            reference.name.clone(),
            reference.key.clone(),
        );
        let not_found = || {
            Error::DatabaseSecretNotFound(format!(
                "Secret {namespace}/{} (spec.database.passwordSecretRef) not found",
                reference.name
            ))
        };
        let no_key = || {
            Error::DatabaseSecretNotFound(format!(
                "Secret {namespace}/{} has no key {:?} (spec.database.passwordSecretRef)",
                reference.name, reference.key
            ))
        };
        let version = caches
            .secret_version(namespace, &reference.name)
            .ok_or_else(not_found)?;
        if let Some(known) = self.lock().get(&key).filter(|k| k.version == version) {
            return known.value.clone().ok_or_else(no_key);
        }
        let secret = Api::<Secret>::namespaced(client.clone(), namespace)
            .get_opt(&reference.name)
            .await
            .map_err(|e| Error::kube("read", format!("Secret {namespace}/{}", reference.name), e))?
            .ok_or_else(not_found)?;
        let value = key_value(&secret, &reference.key).map(DatabasePassword::new);
        let known = Known {
            version: secret.resource_version().unwrap_or_default(),
            value: value.clone(),
        };
        self.lock().insert(key, known);
        value.ok_or_else(no_key)
    }

    /// Forgets the passwords no Bookstore references any more.
    pub fn retain(&self, referenced: impl Fn(&str, &str) -> bool) {
        self.lock()
            .retain(|(namespace, name, _), _| referenced(namespace, name));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Reference, Known>> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn key_value(secret: &Secret, key: &str) -> Option<Vec<u8>> {
    secret
        .data
        .as_ref()
        .and_then(|data| data.get(key))
        .map(|bytes| bytes.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()?
                .get(key)
                .map(|s| s.clone().into_bytes())
        })
}
