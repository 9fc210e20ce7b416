//! Client mistakes get a clear JSON answer with a stable code, never a 500.

use awc::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, error_code};

crate::on_every_backend!(
    malformed_json_is_400,
    a_body_that_is_not_json_is_415,
    a_body_over_64_kib_is_413,
    ids_that_are_not_numbers_are_400_and_huge_ones_404,
    unknown_routes_are_404_json,
    wrong_methods_are_405_with_allow,
);

async fn malformed_json_is_400(app: &TestApp) {
    for body in [&b"{"[..], b"{\"title\": }", b"", b"\xff\xfe"] {
        let (status, response) = app
            .send_raw(
                Method::POST,
                "/api/v1/books",
                Some("application/json"),
                body.to_vec(),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{:?}: {response}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(error_code(&response), "malformed_json");
    }
}

async fn a_body_that_is_not_json_is_415(app: &TestApp) {
    let book = br#"{"title":"t","author":"a","price":"1"}"#.to_vec();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        for method in [Method::POST, Method::PUT, Method::PATCH] {
            let path = if method == Method::POST {
                "/api/v1/books"
            } else {
                "/api/v1/books/1"
            };
            let (status, body) = app
                .send_raw(method.clone(), path, content_type, book.clone())
                .await;
            assert_eq!(
                status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{method} with {content_type:?}"
            );
            assert_eq!(error_code(&body), "unsupported_media_type");
        }
    }
    // A charset parameter is fine.
    let (status, _) = app
        .send_raw(
            Method::POST,
            "/api/v1/books",
            Some("application/json; charset=utf-8"),
            book,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn a_body_over_64_kib_is_413(app: &TestApp) {
    let padding = "x".repeat(64 * 1024);
    let body = json!({"title": padding, "author": "a", "price": "1"}).to_string();
    let (status, response) = app
        .send_raw(
            Method::POST,
            "/api/v1/books",
            Some("application/json"),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&response), "payload_too_large");
}

async fn ids_that_are_not_numbers_are_400_and_huge_ones_404(app: &TestApp) {
    for path in [
        "/api/v1/books/abc",
        "/api/v1/books/1.5",
        "/api/v1/books/%20",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(error_code(&body), "invalid_id");
        let (status, _) = app.delete(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "DELETE {path}");
    }
    for path in [
        "/api/v1/books/0",
        "/api/v1/books/-1",
        "/api/v1/books/2147483648",
        "/api/v1/books/99999999999999999999999",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error_code(&body), "not_found");
    }
}

async fn unknown_routes_are_404_json(app: &TestApp) {
    for path in [
        "/index.html",
        "/api/v1",
        "/api/v2/books",
        "/api/v1/books/1/extra",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error_code(&body), "not_found");
    }
}

async fn wrong_methods_are_405_with_allow(app: &TestApp) {
    let cases = [
        (Method::DELETE, "/api/v1/books", "GET, POST"),
        (Method::POST, "/api/v1/books/1", "GET, PUT, PATCH, DELETE"),
        (Method::POST, "/healthz", "GET"),
        (Method::PUT, "/metrics", "GET"),
    ];
    for (method, path, allow) in cases {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.headers().get("allow").unwrap(), allow);
        let (_, body) = app.send_raw(method, path, None, Vec::new()).await;
        assert_eq!(error_code(&body), "method_not_allowed");
    }
}
