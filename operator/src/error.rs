//! Why a reconcile failed: each reason becomes the Degraded condition's reason, a Warning Event
//! and a label of the failure metric. Messages are for people and never hold secret values.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    DatabaseSecretNotFound(String),
    #[error("{0}")]
    WriteTokenSecretNotFound(String),
    #[error("{0}")]
    WriteTokenInvalid(String),
    #[error("{0}")]
    SecretNotWatched(String),
    #[error(
        "{} already exist{} and {} not controlled by this Bookstore: the operator does not adopt objects it did not create; delete or rename {}",
        .0.join(", "),
        if .0.len() == 1 { "s" } else { "" },
        if .0.len() == 1 { "is" } else { "are" },
        if .0.len() == 1 { "it" } else { "them" }
    )]
    AdoptionRefused(Vec<String>),
    #[error("cannot {action} {object}: {}", api_message(.source))]
    Kube {
        action: &'static str,
        object: String,
        source: kube::Error,
    },
    #[error(
        "spec.monitoring.podMonitor.enabled is true, but the cluster served no PodMonitor (monitoring.coreos.com/v1) when the operator started: install prometheus-operator's CRDs and restart the operator, or turn the PodMonitor off"
    )]
    PodMonitorUnavailable,
    #[error("the Bookstore has no namespace")]
    NotNamespaced,
    #[error(
        "the operator's watches have not listed every object yet after {0:?} (see its watch errors and its RBAC)"
    )]
    CachesNotSynced(std::time::Duration),
}

impl Error {
    pub fn kube(action: &'static str, object: String, source: kube::Error) -> Self {
        Self::Kube {
            action,
            object,
            source,
        }
    }

    /// CamelCase reason, for conditions, Events and the failure metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::DatabaseSecretNotFound(_) => "DatabaseSecretNotFound",
            Self::WriteTokenSecretNotFound(_) => "WriteTokenSecretNotFound",
            Self::WriteTokenInvalid(_) => "WriteTokenInvalid",
            Self::SecretNotWatched(_) => "SecretNotWatched",
            Self::AdoptionRefused(_) => "AdoptionRefused",
            Self::Kube { source, .. } => kube_reason(source),
            Self::PodMonitorUnavailable => "PodMonitorUnavailable",
            Self::NotNamespaced => "NotNamespaced",
            Self::CachesNotSynced(_) => "CachesNotSynced",
        }
    }
}

/// What the API server said, or why it could not be asked: plain text for people and logs (a
/// `kube::Error::Api` displays the whole status as Rust debug text).
pub fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

/// A watch's failure, as plain text.
pub fn watch_message(error: &kube::runtime::watcher::Error) -> String {
    use kube::runtime::watcher::Error as E;
    match error {
        E::InitialListFailed(e) => format!("listing failed: {}", api_message(e)),
        E::WatchStartFailed(e) => format!("starting the watch failed: {}", api_message(e)),
        E::WatchFailed(e) => format!("the watch failed: {}", api_message(e)),
        E::WatchError(status) => format!("the watch ended: {}", status.message),
        other => other.to_string(),
    }
}

fn kube_reason(error: &kube::Error) -> &'static str {
    let kube::Error::Api(status) = error else {
        return "KubernetesApiUnreachable";
    };
    match (status.code, status.reason.as_str()) {
        (403, _) if status.message.contains("exceeded quota") => "QuotaExceeded",
        (403, _) => "Forbidden",
        (422, _) | (_, "Invalid") => "Invalid",
        (409, _) => "Conflict",
        _ => "KubernetesApiError",
    }
}

#[cfg(test)]
mod tests {
    use kube::core::Status;

    use super::*;

    fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
        let mut status = Status::failure(message, reason);
        status.code = code;
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn api_errors_get_a_reason_of_their_own() {
        let cases = [
            (
                api_error(
                    403,
                    "Forbidden",
                    "services \"shop\" is forbidden: exceeded quota: lb",
                ),
                "QuotaExceeded",
            ),
            (
                api_error(403, "Forbidden", "User \"x\" cannot create resource"),
                "Forbidden",
            ),
            (
                api_error(422, "Invalid", "Deployment.apps \"shop\" is invalid"),
                "Invalid",
            ),
            (
                api_error(500, "InternalError", "etcd"),
                "KubernetesApiError",
            ),
        ];
        for (source, reason) in cases {
            let error = Error::kube("apply", "Service books/shop".into(), source);
            assert_eq!(error.reason(), reason, "{error}");
        }
    }

    #[test]
    fn messages_name_the_object_and_quote_the_api_server() {
        let error = Error::kube(
            "apply",
            "Service books/shop".into(),
            api_error(
                403,
                "Forbidden",
                "exceeded quota: lb, requested: services.loadbalancers=1",
            ),
        );
        assert_eq!(
            error.to_string(),
            "cannot apply Service books/shop: exceeded quota: lb, requested: services.loadbalancers=1"
        );
        let refused = Error::AdoptionRefused(vec!["Secret books/shop-db".into()]);
        assert_eq!(
            refused.to_string(),
            "Secret books/shop-db already exists and is not controlled by this Bookstore: the operator does not adopt objects it did not create; delete or rename it"
        );
    }
}
