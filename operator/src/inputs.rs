//! Input: the values a Bookstore references in Secrets (the database password, the write
//! tokens). A Secret's data is read once per resourceVersion (which the metadata-only Secret
//! cache reports); reconciles in between reuse it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Client, ResourceExt};

use crate::cache::Caches;
use crate::children::{Inputs, SecretValue};
use crate::crd::{Bookstore, SecretKeyRef};
use crate::error::Error;

/// The API refuses shorter tokens (and then every write): say so before rolling pods.
pub const MIN_WRITE_TOKEN_LEN: usize = 16;

/// Namespace, Secret name and key.
type Reference = (String, String, String);

/// The value of a key at a version of its Secret (`None`: the key was missing).
struct Known {
    version: String,
    value: Option<SecretValue>,
}

/// Why a referenced value could not be had.
enum Missing {
    Secret,
    Key,
}

#[derive(Default)]
pub struct SecretValues {
    known: Mutex<HashMap<Reference, Known>>,
}

impl SecretValues {
    /// Everything the Bookstore's children are built from, besides its spec.
    pub async fn inputs(
        &self,
        client: &Client,
        caches: &Caches,
        bookstore: &Bookstore,
        namespace: &str,
    ) -> Result<Inputs, Error> {
        let mut inputs = Inputs::default();
        if let Some(database) = bookstore.database() {
            let reference = &database.password_secret_ref;
            let read = self.read(client, caches, namespace, reference).await?;
            inputs.password = Some(read.map_err(|missing| {
                Error::DatabaseSecretNotFound(describe(
                    missing,
                    namespace,
                    reference,
                    "spec.database.passwordSecretRef",
                ))
            })?);
        }
        if let Some(reference) = &bookstore.spec.auth.write_token_secret_ref {
            let read = self.read(client, caches, namespace, reference).await?;
            let tokens = read.map_err(|missing| {
                Error::WriteTokenSecretNotFound(describe(
                    missing,
                    namespace,
                    reference,
                    "spec.auth.writeTokenSecretRef",
                ))
            })?;
            check_tokens(&tokens, namespace, reference)?;
            inputs.write_token = Some(tokens);
        }
        Ok(inputs)
    }

    async fn read(
        &self,
        client: &Client,
        caches: &Caches,
        namespace: &str,
        reference: &SecretKeyRef,
    ) -> Result<Result<SecretValue, Missing>, Error> {
        let key: Reference = (
            namespace.to_owned(),
            reference.name.clone(),
            reference.key.clone(),
        );
        let Some(version) = caches.secret_version(namespace, &reference.name) else {
            return Ok(Err(Missing::Secret));
        };
        if let Some(known) = self.lock().get(&key).filter(|k| k.version == version) {
            return Ok(known.value.clone().ok_or(Missing::Key));
        }
        let secret = Api::<Secret>::namespaced(client.clone(), namespace)
            .get_opt(&reference.name)
            .await
            .map_err(|e| {
                Error::kube("read", format!("Secret {namespace}/{}", reference.name), e)
            })?;
        let Some(secret) = secret else {
            return Ok(Err(Missing::Secret));
        };
        let value = key_value(&secret, &reference.key).map(SecretValue::new);
        let known = Known {
            version: secret.resource_version().unwrap_or_default(),
            value: value.clone(),
        };
        self.lock().insert(key, known);
        Ok(value.ok_or(Missing::Key))
    }

    /// Forgets the values no Bookstore references any more.
    pub fn retain(&self, referenced: impl Fn(&str, &str) -> bool) {
        self.lock()
            .retain(|(namespace, name, _), _| referenced(namespace, name));
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Reference, Known>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn describe(missing: Missing, namespace: &str, reference: &SecretKeyRef, field: &str) -> String {
    match missing {
        Missing::Secret => format!("Secret {namespace}/{} ({field}) not found", reference.name),
        Missing::Key => format!(
            "Secret {namespace}/{} has no key {:?} ({field})",
            reference.name, reference.key
        ),
    }
}

/// One token per line, each long enough: what the API accepts. The message never quotes one.
fn check_tokens(
    tokens: &SecretValue,
    namespace: &str,
    reference: &SecretKeyRef,
) -> Result<(), Error> {
    let text = std::str::from_utf8(tokens.bytes()).ok();
    let lines: Vec<&str> = text
        .map(|t| t.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
        .unwrap_or_default();
    let usable = text.is_some()
        && !lines.is_empty()
        && lines
            .iter()
            .all(|l| l.chars().count() >= MIN_WRITE_TOKEN_LEN);
    if usable {
        Ok(())
    } else {
        Err(Error::WriteTokenInvalid(format!(
            "Secret {namespace}/{} key {:?} (spec.auth.writeTokenSecretRef) must hold one token per line, each at least {MIN_WRITE_TOKEN_LEN} characters of UTF-8 text",
            reference.name, reference.key
        )))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> SecretKeyRef {
        SecretKeyRef {
            name: "writers".into(),
            key: "tokens".into(),
        }
    }

    #[test]
    fn tokens_must_be_long_enough_and_are_never_quoted() {
        let check =
            |text: &str| check_tokens(&SecretValue::new(text.into()), "books", &reference());
        assert!(check("writer-token-0123456789\n").is_ok());
        assert!(check("writer-token-0123456789\nsecond-token-0123456789\n\n").is_ok());
        for bad in [
            "",
            "\n",
            "short-secret\n",
            "writer-token-0123456789\nshort-secret",
        ] {
            let error = check(bad).expect_err(bad);
            assert_eq!(error.reason(), "WriteTokenInvalid");
            assert!(!error.to_string().contains("short-secret"), "{error}");
        }
    }
}
