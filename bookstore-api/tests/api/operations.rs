//! Probes, request ids, metrics and the OpenAPI document.

use std::collections::BTreeSet;

use awc::http::StatusCode;
use serde_json::Value;

use crate::helpers::{ALLOWED_ORIGIN, TestApp};

crate::on_every_backend!(
    health_and_readiness_answer_ok,
    request_ids_are_kept_or_generated_and_echoed,
    metrics_count_requests_by_route_template_and_report_the_pool,
    openapi_document_lists_every_route_and_resolves_every_reference,
    the_web_page_and_its_assets_are_served,
    cors_answers_allowed_origins_only,
);

async fn health_and_readiness_answer_ok(app: &TestApp) {
    assert_eq!(
        app.get("/healthz").await,
        (StatusCode::OK, serde_json::json!({"status": "ok"}))
    );
    assert_eq!(
        app.get("/readyz").await,
        (
            StatusCode::OK,
            serde_json::json!({"status": "ok", "database": "reachable"})
        )
    );
}

async fn request_ids_are_kept_or_generated_and_echoed(app: &TestApp) {
    let sent = app
        .client
        .get(app.url("/healthz"))
        .insert_header(("x-request-id", "trace-abc-123"))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.headers().get("x-request-id").unwrap(), "trace-abc-123");

    let generated = |response: &awc::ClientResponse| {
        response
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    let first = app.client.get(app.url("/nowhere")).send().await.unwrap();
    let second = app.client.get(app.url("/healthz")).send().await.unwrap();
    let (first, second) = (generated(&first), generated(&second));
    assert_eq!(first.len(), 36, "a UUID: {first}");
    assert_ne!(first, second, "each request gets its own id");

    // Ids that do not belong in a log line are replaced.
    let replaced = app
        .client
        .get(app.url("/healthz"))
        .insert_header(("x-request-id", "x".repeat(500)))
        .send()
        .await
        .unwrap();
    assert_eq!(generated(&replaced).len(), 36);
}

async fn metrics_count_requests_by_route_template_and_report_the_pool(app: &TestApp) {
    let book = app.create_book("Dune", "Frank Herbert", "9.99").await;
    app.get(&format!("/api/v1/books/{}", book["id"])).await;
    app.get("/api/v1/books/999999").await;
    app.get("/no/such/route").await;

    let mut response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
    for expected in [
        r#"bookstore_http_requests_total{method="POST",route="/api/v1/books",status="201"} 1"#,
        r#"bookstore_http_requests_total{method="GET",route="/api/v1/books/{id}",status="200"} 1"#,
        r#"bookstore_http_requests_total{method="GET",route="/api/v1/books/{id}",status="404"} 1"#,
        r#"bookstore_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"bookstore_http_request_duration_seconds_count{method="GET",route="/api/v1/books/{id}"} 2"#,
        "bookstore_db_pool_max_connections 5",
        "bookstore_database_ready 1",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    for gauge in [
        "bookstore_db_pool_connections ",
        "bookstore_db_pool_idle_connections ",
        "bookstore_db_pool_in_use_connections ",
    ] {
        assert!(
            text.lines().any(|line| line.starts_with(gauge)),
            "missing {gauge}"
        );
    }
    assert!(
        !text.contains("/api/v1/books/999999"),
        "raw paths never become labels"
    );
}

/// Every `$ref` in the document, recursively.
fn references(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                into.push(reference.clone());
            }
            map.values().for_each(|v| references(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, into)),
        _ => {}
    }
}

async fn openapi_document_lists_every_route_and_resolves_every_reference(app: &TestApp) {
    let (status, document) = app.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));

    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            operations.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let expected: BTreeSet<String> = [
        "GET /api/v1/books",
        "POST /api/v1/books",
        "GET /api/v1/books/{id}",
        "PUT /api/v1/books/{id}",
        "PATCH /api/v1/books/{id}",
        "DELETE /api/v1/books/{id}",
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /openapi.json",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(operations, expected);

    let mut refs = Vec::new();
    references(&document, &mut refs);
    assert!(refs.iter().any(|r| r == "#/components/schemas/ErrorBody"));
    for reference in refs {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {reference}"));
        assert!(
            document.pointer(pointer).is_some(),
            "unresolved {reference}"
        );
    }

    // The write operations document each client error they can answer.
    let create = &document["paths"]["/api/v1/books"]["post"]["responses"];
    for status in ["201", "400", "413", "415", "422", "503"] {
        assert!(
            create.get(status).is_some(),
            "POST /api/v1/books lacks {status}"
        );
    }
}

async fn the_web_page_and_its_assets_are_served(app: &TestApp) {
    for (path, content_type, marker) in [
        ("/", "text/html", "<script src=\"config.js\"></script>"),
        ("/app.js", "text/javascript", "/api/v1/books"),
        ("/style.css", "text/css", "@media"),
        ("/config.js", "text/javascript", "BOOKSTORE_API_URL"),
    ] {
        let mut response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let header = response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(header.starts_with(content_type), "{path}: {header}");
        assert_eq!(
            response.headers().get("x-content-type-options").unwrap(),
            "nosniff"
        );
        let body = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
        assert!(body.contains(marker), "{path} lacks {marker}");
    }
    let response = app.client.post(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

async fn cors_answers_allowed_origins_only(app: &TestApp) {
    let preflight = |origin: &'static str| {
        app.client
            .request(awc::http::Method::OPTIONS, app.url("/api/v1/books"))
            .insert_header(("origin", origin))
            .insert_header(("access-control-request-method", "POST"))
            .insert_header(("access-control-request-headers", "content-type"))
            .send()
    };
    let allowed = preflight(ALLOWED_ORIGIN).await.unwrap();
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    let headers = allowed.headers();
    assert_eq!(
        headers.get("access-control-allow-origin").unwrap(),
        ALLOWED_ORIGIN
    );
    assert!(
        headers
            .get("access-control-allow-methods")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        headers
            .get("access-control-allow-headers")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("content-type")
    );

    let refused = preflight("https://evil.example").await.unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::METHOD_NOT_ALLOWED,
        "no CORS answer for other origins"
    );
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let simple = app
        .client
        .get(app.url("/api/v1/books"))
        .insert_header(("origin", ALLOWED_ORIGIN))
        .send()
        .await
        .unwrap();
    assert_eq!(
        simple.headers().get("access-control-allow-origin").unwrap(),
        ALLOWED_ORIGIN
    );
    assert!(
        simple
            .headers()
            .get("access-control-expose-headers")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("location")
    );
    let other = app
        .client
        .get(app.url("/api/v1/books"))
        .insert_header(("origin", "https://evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
