//! Who may write, how often anyone may call, and the headers on every answer.

use std::num::NonZeroU32;

use awc::http::header::HeaderMap;
use awc::http::{Method, StatusCode};
use bookstore_api::config::{Config, WriteTokens};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};
use crate::on_every_backend;

const TOKEN: &str = "catalogue-writer-0123456789";
const OTHER_TOKEN: &str = "second-writer-abcdefghijkl";
const WRONG_TOKEN: &str = "catalogue-writer-0123456780";

fn with_tokens(config: &mut Config) {
    config.write_tokens = WriteTokens::Fixed(vec![
        SecretString::from(TOKEN),
        SecretString::from(OTHER_TOKEN),
    ]);
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

/// A refused write: 401, the JSON error shape, and a Bearer challenge.
fn assert_refused(answer: &(StatusCode, HeaderMap, Value), presented: bool) {
    let (status, headers, body) = answer;
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_code(body), "unauthorized");
    let challenge = header(headers, "www-authenticate");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert_eq!(
        challenge.contains(r#"error="invalid_token""#),
        presented,
        "{challenge}"
    );
}

async fn every_write_route_needs_a_valid_token(app: &TestApp) {
    let book = json!({"title": "Dune", "author": "Frank Herbert", "price": "9.99"});
    let post = |token| app.send_as(token, Method::POST, "/api/v1/books", Some(&book));
    assert_refused(&post(None).await, false);
    assert_refused(&post(Some(WRONG_TOKEN)).await, true);
    // "Bearer" with nothing after it presents no token.
    assert_refused(&post(Some("")).await, false);
    let (status, _, created) = post(Some(TOKEN)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/api/v1/books/{}", created["id"]);

    let replacement = json!({"title": "Dune Messiah", "author": "Frank Herbert", "price": "10.50"});
    let change = json!({"price": "11.00"});
    // Each write, the price stored before it, and its answer once authorized.
    let writes: [(Method, Option<&Value>, &str, StatusCode); 3] = [
        (Method::PUT, Some(&replacement), "9.99", StatusCode::OK),
        (Method::PATCH, Some(&change), "10.50", StatusCode::OK),
        (Method::DELETE, None, "11.00", StatusCode::NO_CONTENT),
    ];
    for (method, body, price_before, accepted) in writes {
        assert_refused(&app.send_as(None, method.clone(), &path, body).await, false);
        assert_refused(
            &app.send_as(Some(WRONG_TOKEN), method.clone(), &path, body)
                .await,
            true,
        );
        // Refused writes changed nothing.
        let (status, stored) = app.get(&path).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{method} without a token deleted the book"
        );
        assert_eq!(
            stored["price"], price_before,
            "{method} without a token changed the book"
        );
        // Either configured token writes.
        let (status, _, answer) = app
            .send_as(Some(OTHER_TOKEN), method.clone(), &path, body)
            .await;
        assert_eq!(status, accepted, "{method}: {answer}");
    }
    let (status, _) = app.get(&path).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the authorized DELETE deleted"
    );
}

async fn reads_need_no_token(app: &TestApp) {
    let (status, _, created) = app
        .send_as(
            Some(TOKEN),
            Method::POST,
            "/api/v1/books",
            Some(&json!({"title": "Emma", "author": "Jane Austen", "price": "4.00"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, list) = app.get("/api/v1/books").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    let (status, book) = app.get(&format!("/api/v1/books/{}", created["id"])).await;
    assert_eq!((status, &book["title"]), (StatusCode::OK, &json!("Emma")));
    let (status, _) = app.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "readiness is unaffected by tokens");
}

on_every_backend!(configure = with_tokens; every_write_route_needs_a_valid_token, reads_need_no_token);

#[actix_web::test]
async fn a_token_rotated_in_the_file_takes_effect_without_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("write-token");
    std::fs::write(&file, format!("{TOKEN}\n")).expect("write token file");
    let app =
        TestApp::sqlite_with(|config| config.write_tokens = WriteTokens::File(file.clone())).await;
    let book = json!({"title": "Ulysses", "author": "James Joyce", "price": "12.00"});
    let post = |token| app.send_as(Some(token), Method::POST, "/api/v1/books", Some(&book));
    assert_eq!(post(TOKEN).await.0, StatusCode::CREATED);

    // As the kubelet does with a Secret volume: the new content replaces the file.
    let staged = dir.path().join("write-token.new");
    std::fs::write(&staged, format!("{OTHER_TOKEN}\n")).expect("stage");
    std::fs::rename(&staged, &file).expect("swap");
    assert_refused(&post(TOKEN).await, true);
    assert_eq!(post(OTHER_TOKEN).await.0, StatusCode::CREATED);

    // Both during a rollover, one per line.
    std::fs::write(&file, format!("{TOKEN}\n{OTHER_TOKEN}\n")).expect("write both");
    assert_eq!(post(TOKEN).await.0, StatusCode::CREATED);
    assert_eq!(post(OTHER_TOKEN).await.0, StatusCode::CREATED);

    // No readable tokens: nobody writes (fail closed), reads go on.
    std::fs::remove_file(&file).expect("remove");
    let (status, _, body) = post(TOKEN).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_code(&body), "write_tokens_unavailable");
    assert!(!body.to_string().contains(TOKEN));
    let (status, list) = app.get("/api/v1/books").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(4));
}

#[actix_web::test]
async fn writes_beyond_the_limit_get_429_with_retry_after() {
    let app = TestApp::sqlite_with(|config| {
        config.rate_limits.writes_per_minute = NonZeroU32::new(3);
    })
    .await;
    let book = json!({"title": "Middlemarch", "author": "George Eliot", "price": "7.25"});
    for attempt in 1..=3 {
        let (status, _, body) = app
            .send_as(None, Method::POST, "/api/v1/books", Some(&book))
            .await;
        assert_eq!(status, StatusCode::CREATED, "write {attempt}: {body}");
    }
    let (status, headers, body) = app
        .send_as(None, Method::POST, "/api/v1/books", Some(&book))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(error_code(&body), "rate_limited");
    // Three per minute: the next one is allowed in 20 s.
    let retry_after: u64 = header(&headers, "retry-after")
        .parse()
        .expect("whole seconds");
    assert!(
        (1..=20).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    // The limit counts writes of any kind, and refused ones too.
    let (status, _, _) = app
        .send_as(None, Method::DELETE, "/api/v1/books/1", None)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, list) = app.get("/api/v1/books").await;
    assert_eq!(status, StatusCode::OK, "reads have their own allowance");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(3));
}

#[actix_web::test]
async fn reads_have_their_own_looser_limit_and_probes_none() {
    let app = TestApp::sqlite_with(|config| {
        config.rate_limits.reads_per_minute = NonZeroU32::new(5);
    })
    .await;
    for attempt in 1..=5 {
        let (status, _) = app.get("/api/v1/books").await;
        assert_eq!(status, StatusCode::OK, "read {attempt}");
    }
    let (status, headers, body) = app
        .send_as(None, Method::GET, "/api/v1/books/1", None)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let retry_after: u64 = header(&headers, "retry-after")
        .parse()
        .expect("whole seconds");
    assert!(
        (1..=12).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    for _ in 0..10 {
        for path in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/"] {
            let (status, _, _) = app.send_as(None, Method::GET, path, None).await;
            assert_eq!(status, StatusCode::OK, "{path} must never be limited");
        }
    }
    let (status, _, _) = app
        .send_as(
            None,
            Method::POST,
            "/api/v1/books",
            Some(&json!({"title": "Persuasion", "author": "Jane Austen", "price": "3.00"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "writes have their own allowance"
    );
}

#[actix_web::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::sqlite_with(with_tokens).await;
    let answers = [
        (
            "list",
            app.send_as(None, Method::GET, "/api/v1/books", None)
                .await
                .1,
        ),
        (
            "404",
            app.send_as(None, Method::GET, "/api/v1/books/99", None)
                .await
                .1,
        ),
        (
            "401",
            app.send_as(None, Method::DELETE, "/api/v1/books/99", None)
                .await
                .1,
        ),
        (
            "health",
            app.send_as(None, Method::GET, "/healthz", None).await.1,
        ),
    ];
    for (what, headers) in &answers {
        assert_eq!(
            header(headers, "x-content-type-options"),
            "nosniff",
            "{what}"
        );
        assert_eq!(header(headers, "referrer-policy"), "no-referrer", "{what}");
        assert_eq!(header(headers, "x-frame-options"), "DENY", "{what}");
        assert_eq!(header(headers, "cache-control"), "no-store", "{what}");
        assert!(
            header(headers, "content-security-policy").starts_with("default-src 'none'"),
            "{what}"
        );
    }
    // The page keeps its own policy, which lets it run its script and call the API.
    let page = app.client.get(app.url("/")).send().await.expect("page");
    let headers = page.headers();
    assert_eq!(
        header(headers, "content-security-policy").split(';').next(),
        Some("default-src 'self'")
    );
    assert_eq!(header(headers, "cache-control"), "no-cache");
    assert_eq!(header(headers, "referrer-policy"), "no-referrer");
}

#[actix_web::test]
async fn the_openapi_document_declares_the_bearer_scheme_on_writes() {
    let app = TestApp::sqlite().await;
    let (status, document) = app.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"]),
        (&json!("http"), &json!("bearer")),
        "{scheme}"
    );
    let bearer = json!([{"bearer": []}]);
    let operations = [
        ("/api/v1/books", "get", false),
        ("/api/v1/books", "post", true),
        ("/api/v1/books/{id}", "get", false),
        ("/api/v1/books/{id}", "put", true),
        ("/api/v1/books/{id}", "patch", true),
        ("/api/v1/books/{id}", "delete", true),
    ];
    for (path, method, guarded) in operations {
        let operation = &document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert_eq!(
            operation["security"] == bearer,
            guarded,
            "{method} {path}: {operation}"
        );
        assert_eq!(
            operation["responses"]["401"].is_object(),
            guarded,
            "{method} {path} documents its 401"
        );
        assert!(
            operation["responses"]["429"].is_object(),
            "{method} {path} documents its 429"
        );
    }
}
