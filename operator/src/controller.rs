//! Wiring the controller: which objects are watched and how their events map to Bookstores.

use std::sync::Arc;

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};

use crate::children::MANAGER;
use crate::crd::Bookstore;
use crate::metrics::Metrics;
use crate::reconcile::{Context, error_policy, reconcile};

/// A Kubernetes client that counts its requests by verb.
pub async fn client(metrics: Arc<Metrics>) -> Result<Client, kube::Error> {
    let config = kube::Config::infer()
        .await
        .map_err(kube::Error::InferConfig)?;
    let count =
        tower::util::MapRequestLayer::new(move |request: http::Request<kube::client::Body>| {
            metrics.observe_kube_request(verb(&request));
            request
        });
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&count)
        .build())
}

/// The Kubernetes verb of a request, as far as the method and query tell.
fn verb<B>(request: &http::Request<B>) -> &'static str {
    let watching = request
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "watch=true"));
    match *request.method() {
        http::Method::GET if watching => "watch",
        http::Method::GET => "get",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "other",
    }
}

/// Runs the controller until `shutdown` resolves (or a signal arrives).
pub async fn run(
    context: Arc<Context>,
    store_out: impl FnOnce(Store<Bookstore>),
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = context.client.clone();
    let owned =
        watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    let controller = Controller::new(
        Api::<Bookstore>::all(client.clone()),
        watcher::Config::default(),
    );
    let bookstores = controller.store();
    store_out(bookstores.clone());
    controller
        .owns(Api::<Deployment>::all(client.clone()), owned.clone())
        .owns(Api::<Service>::all(client.clone()), owned.clone())
        .owns(Api::<HorizontalPodAutoscaler>::all(client.clone()), owned)
        // Secrets: the `<name>-db` children, and the password Secrets Bookstores reference, so a
        // Secret created late is picked up at once.
        .watches(
            Api::<Secret>::all(client),
            watcher::Config::default(),
            move |secret| bookstores_for_secret(&bookstores, &secret),
        )
        .graceful_shutdown_on(shutdown)
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(error = %error, "reconcile did not complete");
            }
        })
        .await;
}

/// The Bookstores a Secret concerns: its owner, and those whose password it holds.
fn bookstores_for_secret(
    bookstores: &Store<Bookstore>,
    secret: &Secret,
) -> Vec<ObjectRef<Bookstore>> {
    let namespace = secret.namespace().unwrap_or_default();
    let name = secret.name_any();
    let owners = secret
        .owner_references()
        .iter()
        .filter(|owner| {
            owner.kind == "Bookstore" && owner.api_version.starts_with(crate::crd::GROUP)
        })
        .map(|owner| ObjectRef::new(&owner.name).within(&namespace));
    let referencing = bookstores
        .state()
        .into_iter()
        .filter(|bookstore| {
            bookstore.namespace().as_deref() == Some(namespace.as_str())
                && bookstore
                    .database()
                    .is_some_and(|db| db.password_secret_ref.name == name)
        })
        .map(|bookstore| ObjectRef::from_obj(bookstore.as_ref()));
    owners.chain(referencing).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_follow_method_and_watch_flag() {
        let request = |method: http::Method, uri: &str| {
            http::Request::builder()
                .method(method)
                .uri(uri)
                .body(())
                .expect("request")
        };
        assert_eq!(
            verb(&request(
                http::Method::GET,
                "/api/v1/secrets?watch=true&timeoutSeconds=290"
            )),
            "watch"
        );
        assert_eq!(
            verb(&request(
                http::Method::GET,
                "/api/v1/namespaces/a/secrets/b"
            )),
            "get"
        );
        assert_eq!(
            verb(&request(
                http::Method::PATCH,
                "/apis/apps/v1/namespaces/a/deployments/b"
            )),
            "patch"
        );
        assert_eq!(verb(&request(http::Method::DELETE, "/x")), "delete");
    }

    #[test]
    fn a_password_secret_maps_to_the_bookstores_that_reference_it() {
        let (reader, mut writer) = kube::runtime::reflector::store::<Bookstore>();
        let shop = crate::children::fixtures::bookstore(crate::children::fixtures::with_database());
        writer.apply_watcher_event(&watcher::Event::Apply(shop));
        let secret = |namespace: &str, name: &str| Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                ..Default::default()
            },
            ..Secret::default()
        };
        assert_eq!(
            bookstores_for_secret(&reader, &secret("books", "db-password")),
            [ObjectRef::new("shop").within("books")]
        );
        assert!(bookstores_for_secret(&reader, &secret("other", "db-password")).is_empty());
        assert!(bookstores_for_secret(&reader, &secret("books", "unrelated")).is_empty());
    }
}
