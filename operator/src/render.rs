//! `render`: the children a Bookstore file would get, printed without a cluster.

use std::fmt::Write as _;

use kube::ResourceExt;
use serde::{Deserialize, Serialize};

use crate::children::{self, Digests};
use crate::crd::Bookstore;
use crate::validate::{Violation, validate};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("not valid YAML: {0}")]
    Yaml(String),
    #[error("{path}: {message}")]
    Field { path: String, message: String },
    #[error("the file holds no Bookstore (kind: Bookstore)")]
    NoBookstore,
    #[error("apiVersion {0} is not supported: use {supported}", supported = supported_versions())]
    UnsupportedVersion(String),
    #[error("invalid Bookstore:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Invalid(Vec<Violation>),
    #[error("cannot write YAML: {0}")]
    Output(String),
}

/// Renders every Bookstore in a (multi-document) YAML file; other documents, such as the
/// password Secret beside it, are skipped.
pub fn render(yaml: &str, default_namespace: &str) -> Result<String, RenderError> {
    let mut out = String::new();
    let mut bookstores = 0;
    for document in yaml_serde::Deserializer::from_str(yaml) {
        let document = serde_json::Value::deserialize(document)
            .map_err(|e| RenderError::Yaml(e.to_string()))?;
        if document.is_null() || document["kind"] != "Bookstore" {
            continue;
        }
        bookstores += 1;
        out.push_str(&render_bookstore(document, default_namespace)?);
    }
    if bookstores == 0 {
        return Err(RenderError::NoBookstore);
    }
    Ok(out)
}

/// Parses one Bookstore (defaults applied as the API server would), checks it, and prints its
/// children as YAML documents.
fn render_bookstore(
    document: serde_json::Value,
    default_namespace: &str,
) -> Result<String, RenderError> {
    let read = READERS
        .iter()
        .find(|(version, _)| document["apiVersion"] == *version)
        .map(|(_, read)| read)
        .ok_or_else(|| RenderError::UnsupportedVersion(document["apiVersion"].to_string()))?;
    let mut bookstore = read(document)?;
    validate(&bookstore).map_err(RenderError::Invalid)?;
    if bookstore.namespace().is_none() {
        bookstore.metadata.namespace = Some(default_namespace.to_owned());
    }
    // Without the cluster's Secret values there are no digests to roll the pods with: the
    // operator adds them (`bookstore.dev/*-hmac-sha256` pod annotations).
    let children = children::desired(&bookstore, &Digests::default());

    let mut out = String::new();
    push_document(&mut out, &children.deployment)?;
    push_document(&mut out, &children.service)?;
    if let Some(autoscaler) = &children.autoscaler {
        push_document(&mut out, autoscaler)?;
    }
    if let Some(budget) = &children.disruption_budget {
        push_document(&mut out, budget)?;
    }
    if let Some(monitor) = &children.pod_monitor {
        push_document(&mut out, monitor)?;
    }
    Ok(out)
}

/// Each apiVersion a Bookstore file may use, and how it becomes the type the operator works on.
/// A new version adds a reader that converts to it (operator/API-VERSIONS.md).
const READERS: &[(&str, Reader)] = &[("bookstore.dev/v1alpha1", read_v1alpha1)];

/// Reads a Bookstore document of one apiVersion.
type Reader = fn(serde_json::Value) -> Result<Bookstore, RenderError>;

fn read_v1alpha1(document: serde_json::Value) -> Result<Bookstore, RenderError> {
    serde_path_to_error::deserialize(document).map_err(|e| RenderError::Field {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

fn supported_versions() -> String {
    READERS
        .iter()
        .map(|(version, _)| *version)
        .collect::<Vec<_>>()
        .join(" or ")
}

fn push_document(out: &mut String, object: &impl Serialize) -> Result<(), RenderError> {
    let yaml = yaml_serde::to_string(object).map_err(|e| RenderError::Output(e.to_string()))?;
    write!(out, "---\n{yaml}").map_err(|e| RenderError::Output(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = "apiVersion: bookstore.dev/v1alpha1\nkind: Bookstore\nmetadata:\n  name: demo\nspec:\n  image: bookstore-api:latest\n";

    #[test]
    fn a_demo_bookstore_renders_a_deployment_and_a_service() {
        let out = render(DEMO, "default").expect("renders");
        assert_eq!(kinds(&out), ["Deployment", "Service"]);
        assert!(out.contains("namespace: default"));
    }

    #[test]
    fn field_errors_name_the_path() {
        let bad = DEMO.replace(
            "  image: bookstore-api:latest\n",
            "  image: x\n  replicas: many\n",
        );
        let error = render(&bad, "default").expect_err("invalid");
        assert!(
            error.to_string().starts_with("spec.replicas: invalid type"),
            "{error}"
        );
        let bad = DEMO.replace(
            "  image: bookstore-api:latest\n",
            "  image: x\n  autoscaling:\n    minReplicas: 0\n",
        );
        let error = render(&bad, "default").expect_err("invalid");
        assert!(
            error
                .to_string()
                .contains("spec.autoscaling.minReplicas: must be between 1 and 100"),
            "{error}"
        );
        let error =
            render("kind: ConfigMap\napiVersion: v1\n", "default").expect_err("not a Bookstore");
        assert!(matches!(error, RenderError::NoBookstore));
    }

    fn kinds(out: &str) -> Vec<String> {
        out.split("---\n")
            .filter(|doc| !doc.is_empty())
            .map(|doc| {
                yaml_serde::from_str::<serde_json::Value>(doc).expect("yaml")["kind"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn a_bookstore_with_a_database_renders_every_child() {
        let rds = DEMO.replace(
            "  image: bookstore-api:latest\n",
            "  image: x\n  database:\n    host: db\n    name: books\n    user: app\n    passwordSecretRef: {name: pw, key: password}\n  service: {type: ClusterIP}\n",
        );
        let out = render(&rds, "default").expect("renders");
        assert_eq!(
            kinds(&out),
            [
                "Deployment",
                "Service",
                "HorizontalPodAutoscaler",
                "PodDisruptionBudget"
            ]
        );
        assert!(
            out.contains("secretKeyRef:\n              key: password\n              name: pw\n"),
            "the pods read the user's Secret: {out}"
        );
    }

    #[test]
    fn an_unknown_version_names_the_ones_supported() {
        let next = DEMO.replace("bookstore.dev/v1alpha1", "bookstore.dev/v2");
        let error = render(&next, "default").expect_err("unknown version");
        assert_eq!(
            error.to_string(),
            "apiVersion \"bookstore.dev/v2\" is not supported: use bookstore.dev/v1alpha1"
        );
    }
}
