//! The API reads the environment the operator gives it. For each example Bookstore, the API
//! container as `bookstore-operator render` prints it: every variable it sets is one the API reads
//! (a rename on either side fails here), and together they resolve into a configuration that
//! listens where the Service and the probes point, on the database the Bookstore names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::path::Path;

use bookstore_api::config::{Cli, WriteTokens};
use bookstore_contract::{API_METRICS_PORT, API_PORT, HEALTHZ_PATH, READYZ_PATH};
use clap::{CommandFactory, Parser};
use serde::Deserialize;
use serde_json::Value;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/examples");

/// The rendered Bookstore's Deployment and its API container.
fn rendered_api(example: &Path) -> (Value, Value) {
    let yaml = std::fs::read_to_string(example).unwrap();
    let rendered = bookstore_operator::render::render(&yaml, "books").unwrap();
    let deployment = yaml_serde::Deserializer::from_str(&rendered)
        .map(|document| Value::deserialize(document).unwrap())
        .find(|object| object["kind"] == "Deployment")
        .expect("a Deployment");
    let api = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "api")
        .cloned()
        .expect("the api container");
    (deployment, api)
}

/// The API's command line for an environment: each variable becomes the option that reads it.
/// A variable no option reads is a broken contract.
fn arguments(env: &[Value]) -> Vec<String> {
    let command = Cli::command();
    let mut argv = vec!["bookstore-api".to_owned()];
    for variable in env {
        let name = variable["name"].as_str().unwrap();
        // What the kubelet would put there from the user's Secret.
        let value = match variable["value"].as_str() {
            Some(value) => value.to_owned(),
            None => {
                let reference = &variable["valueFrom"]["secretKeyRef"];
                assert!(
                    reference.is_object(),
                    "{name}: neither a value nor a Secret key"
                );
                format!("from-secret-{}-{}", reference["name"], reference["key"])
            }
        };
        let option = command
            .get_arguments()
            .find(|arg| arg.get_env() == Some(OsStr::new(name)))
            .unwrap_or_else(|| {
                panic!("the operator sets {name}, which bookstore-api does not read")
            });
        argv.push(format!("--{}={value}", option.get_long().unwrap()));
    }
    argv
}

#[test]
fn the_api_runs_on_the_environment_the_operator_renders_for_each_example() {
    let mut examples: Vec<_> = std::fs::read_dir(EXAMPLES)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension() == Some(OsStr::new("yaml")))
        .collect();
    examples.sort();
    assert!(examples.len() >= 2, "{examples:?}");
    for example in examples {
        let (deployment, api) = rendered_api(&example);
        let env = api["env"].as_array().unwrap();
        let config = Cli::try_parse_from(arguments(env))
            .unwrap_or_else(|e| panic!("{}: {e}", example.display()))
            .settings
            .resolve()
            .unwrap_or_else(|e| panic!("{}: {e}", example.display()));

        // It listens where the Service sends traffic and the probes look.
        let port = |name: &str| {
            api["ports"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .and_then(|p| p["containerPort"].as_u64())
        };
        assert_eq!(config.bind_addr.port(), API_PORT);
        assert_eq!(port("http"), Some(u64::from(API_PORT)));
        assert_eq!(
            config.metrics_addr.map(|a| a.port()),
            Some(API_METRICS_PORT)
        );
        assert_eq!(port("metrics"), Some(u64::from(API_METRICS_PORT)));
        assert_eq!(api["livenessProbe"]["httpGet"]["path"], HEALTHZ_PATH);
        assert_eq!(api["readinessProbe"]["httpGet"]["path"], READYZ_PATH);

        // On the database the Bookstore names (demo: the scratch volume's SQLite file).
        let bookstore: Value =
            yaml_serde::Deserializer::from_str(&std::fs::read_to_string(&example).unwrap())
                .map(|document| Value::deserialize(document).unwrap())
                .find(|object| object["kind"] == "Bookstore")
                .unwrap();
        let database = &bookstore["spec"]["database"];
        let described = config.database.describe();
        if database.is_object() {
            assert_eq!(
                described,
                format!(
                    "mysql://{}@{}:{}/{}",
                    database["user"].as_str().unwrap(),
                    database["host"].as_str().unwrap(),
                    database["port"].as_u64().unwrap_or(3306),
                    database["name"].as_str().unwrap()
                ),
                "{}",
                example.display()
            );
        } else {
            let mount = api["volumeMounts"][0]["mountPath"].as_str().unwrap();
            assert!(
                described.starts_with(&format!("sqlite:{mount}/")),
                "{described}"
            );
        }

        // Writes need the mounted tokens when the Bookstore names a token Secret.
        let token_ref = &bookstore["spec"]["auth"]["writeTokenSecretRef"];
        match &config.write_tokens {
            WriteTokens::File(path) => {
                assert!(token_ref.is_object(), "{}", example.display());
                let mounted = api["volumeMounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| path.starts_with(m["mountPath"].as_str().unwrap()));
                assert!(mounted, "{} is on a mounted volume", path.display());
            }
            WriteTokens::Open => assert!(!token_ref.is_object(), "{}", example.display()),
            WriteTokens::Fixed(_) => panic!("the operator never passes tokens inline"),
        }
        assert_eq!(deployment["kind"], "Deployment");
        eprintln!("{}: {described}", example.display());
    }
}

#[test]
fn a_variable_the_api_does_not_read_breaks_the_contract() {
    let renamed = [serde_json::json!({"name": "BIND_ADDRESS", "value": "0.0.0.0:8080"})];
    let refused = std::panic::catch_unwind(|| arguments(&renamed));
    assert!(
        refused.is_err(),
        "a renamed variable must not pass unnoticed"
    );
}
