//! Input: the values a Bookstore references in Secrets (the database password, the write
//! tokens). The operator watches only Secrets labelled `bookstore.dev/watch=true` (not every
//! Secret of the cluster): their data is in the cache, and a change reconciles the Bookstores
//! that read them. It never writes a Secret; the pods read the referenced keys themselves.

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::Api;

use crate::cache::Caches;
use crate::children::{Inputs, SecretValue};
use crate::crd::{Bookstore, SecretKeyRef};
use crate::error::Error;

/// The label that puts a Secret in the operator's view: `bookstore.dev/watch=true`.
pub const WATCH_LABEL: &str = "bookstore.dev/watch";

/// Why a referenced value could not be had.
enum Missing {
    Secret,
    Key,
    /// The Secret exists but lacks `WATCH_LABEL`.
    Unwatched,
}

/// Everything the Bookstore's children are built from, besides its spec.
pub async fn inputs(
    client: &Client,
    caches: &Caches,
    bookstore: &Bookstore,
    namespace: &str,
) -> Result<Inputs, Error> {
    let mut inputs = Inputs::default();
    if let Some(database) = bookstore.database() {
        let reference = &database.password_secret_ref;
        let field = "spec.database.passwordSecretRef";
        let not_found = Error::DatabaseSecretNotFound;
        inputs.password =
            Some(required(client, caches, namespace, reference, field, not_found).await?);
    }
    if let Some(reference) = &bookstore.spec.auth.write_token_secret_ref {
        let field = "spec.auth.writeTokenSecretRef";
        let not_found = Error::WriteTokenSecretNotFound;
        let tokens = required(client, caches, namespace, reference, field, not_found).await?;
        check_tokens(&tokens, namespace, reference)?;
        inputs.write_token = Some(tokens);
    }
    Ok(inputs)
}

/// The value `field` references: an unlabelled Secret is `SecretNotWatched`, a missing Secret or
/// key the field's own `not_found` reason.
async fn required(
    client: &Client,
    caches: &Caches,
    namespace: &str,
    reference: &SecretKeyRef,
    field: &str,
    not_found: fn(String) -> Error,
) -> Result<SecretValue, Error> {
    read(client, caches, namespace, reference)
        .await?
        .map_err(|missing| {
            let message = describe(&missing, namespace, reference, field);
            match missing {
                Missing::Unwatched => Error::SecretNotWatched(message),
                Missing::Secret | Missing::Key => not_found(message),
            }
        })
}

/// The referenced value, from the cache of watched Secrets. A Secret missing there is asked for
/// once more, only to tell "not labelled" from "not there" in the message.
async fn read(
    client: &Client,
    caches: &Caches,
    namespace: &str,
    reference: &SecretKeyRef,
) -> Result<Result<SecretValue, Missing>, Error> {
    if let Some(secret) = caches.secret(namespace, &reference.name) {
        return Ok(key_value(&secret, &reference.key)
            .map(SecretValue::new)
            .ok_or(Missing::Key));
    }
    let exists = Api::<Secret>::namespaced(client.clone(), namespace)
        .get_metadata_opt(&reference.name)
        .await
        .map_err(|e| Error::kube("read", format!("Secret {namespace}/{}", reference.name), e))?
        .is_some();
    Ok(Err(if exists {
        Missing::Unwatched
    } else {
        Missing::Secret
    }))
}

fn describe(missing: &Missing, namespace: &str, reference: &SecretKeyRef, field: &str) -> String {
    match missing {
        Missing::Unwatched => format!(
            "Secret {namespace}/{name} ({field}) is not labelled {WATCH_LABEL}=true, so the operator does not see it: kubectl -n {namespace} label secret {name} {WATCH_LABEL}=true",
            name = reference.name
        ),
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
    // What the API will accept, by its own parser: it refuses every write otherwise.
    let usable = std::str::from_utf8(tokens.bytes())
        .ok()
        .is_some_and(|text| bookstore_contract::parse_write_tokens(text).is_ok());
    if usable {
        Ok(())
    } else {
        Err(Error::WriteTokenInvalid(format!(
            "Secret {namespace}/{} key {:?} (spec.auth.writeTokenSecretRef) must hold one token per line, each at least {} characters of UTF-8 text",
            reference.name,
            reference.key,
            bookstore_contract::MIN_WRITE_TOKEN_LEN
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
