//! Create, read, replace, patch, delete; exact prices; concurrent creates.

use awc::http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, error_code};

crate::on_every_backend!(
    create_answers_201_with_location_and_the_stored_book,
    read_returns_the_book_or_404,
    put_replaces_every_field_or_404,
    patch_changes_only_the_given_fields,
    delete_answers_204_then_404,
    prices_round_trip_exactly,
    concurrent_creates_get_distinct_ids,
);

async fn create_answers_201_with_location_and_the_stored_book(app: &TestApp) {
    let response = app
        .client
        .post(app.url("/api/v1/books"))
        .send_json(&json!({"title": "Dune", "author": "Frank Herbert", "price": "12.50"}))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let (status, stored) = app.get(&location).await;
    assert_eq!(status, StatusCode::OK);
    let id = stored["id"].as_i64().unwrap();
    assert!(id > 0);
    assert_eq!(location, format!("/api/v1/books/{id}"));
    assert_eq!(
        stored,
        json!({"id": id, "title": "Dune", "author": "Frank Herbert", "price": "12.50"})
    );
}

async fn read_returns_the_book_or_404(app: &TestApp) {
    let book = app.create_book("Emma", "Jane Austen", "7.99").await;
    let (status, body) = app.get(&format!("/api/v1/books/{}", book["id"])).await;
    assert_eq!((status, &body), (StatusCode::OK, &book));
    let (status, body) = app.get("/api/v1/books/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
}

async fn put_replaces_every_field_or_404(app: &TestApp) {
    let book = app.create_book("Emma", "Jane Austen", "7.99").await;
    let path = format!("/api/v1/books/{}", book["id"]);
    let replacement = json!({"title": "Persuasion", "author": "J. Austen", "price": 9});
    let (status, body) = app.put_json(&path, &replacement).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"id": book["id"], "title": "Persuasion", "author": "J. Austen", "price": "9.00"})
    );
    assert_eq!(app.get(&path).await.1, body);

    let (status, body) = app.put_json(&path, &json!({"title": "Only a title"})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a PUT needs every field"
    );
    assert_eq!(error_code(&body), "validation_failed");

    let (status, body) = app.put_json("/api/v1/books/999999", &replacement).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
}

async fn patch_changes_only_the_given_fields(app: &TestApp) {
    let book = app.create_book("Emma", "Jane Austen", "7.99").await;
    let path = format!("/api/v1/books/{}", book["id"]);
    let (status, body) = app.patch_json(&path, &json!({"price": "8.25"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"id": book["id"], "title": "Emma", "author": "Jane Austen", "price": "8.25"})
    );
    let (status, body) = app
        .patch_json(&path, &json!({"title": "Emma.", "author": "Austen"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"id": book["id"], "title": "Emma.", "author": "Austen", "price": "8.25"})
    );
    // An empty patch changes nothing and still finds the book (MySQL counts matched rows).
    let (status, unchanged) = app.patch_json(&path, &json!({})).await;
    assert_eq!((status, unchanged), (StatusCode::OK, body));

    let (status, body) = app
        .patch_json("/api/v1/books/999999", &json!({"price": 1}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
}

async fn delete_answers_204_then_404(app: &TestApp) {
    let book = app.create_book("Emma", "Jane Austen", "7.99").await;
    let path = format!("/api/v1/books/{}", book["id"]);
    let (status, body) = app.delete(&path).await;
    assert_eq!(
        (status, body),
        (StatusCode::NO_CONTENT, serde_json::Value::Null)
    );
    assert_eq!(app.get(&path).await.0, StatusCode::NOT_FOUND);
    let (status, body) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
}

async fn prices_round_trip_exactly(app: &TestApp) {
    let cases = [
        (json!("0.10"), "0.10"),
        (json!("19.99"), "19.99"),
        (json!("99999999.99"), "99999999.99"),
        (json!("0"), "0.00"),
        (json!(0.1), "0.10"),
        (json!(19.99), "19.99"),
        (json!(12), "12.00"),
    ];
    for (input, expected) in cases {
        let (status, created) = app
            .post_json(
                "/api/v1/books",
                &json!({"title": "t", "author": "a", "price": input}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{input}: {created}");
        assert_eq!(created["price"], expected, "as created, from {input}");
        let (_, stored) = app.get(&format!("/api/v1/books/{}", created["id"])).await;
        assert_eq!(stored["price"], expected, "as read back, from {input}");
    }
    // A number with more digits than a float can hold still arrives exactly.
    let raw = br#"{"title":"t","author":"a","price":99999999.99}"#;
    let (status, created) = app
        .send_raw(
            awc::http::Method::POST,
            "/api/v1/books",
            Some("application/json"),
            raw.to_vec(),
        )
        .await;
    assert_eq!(
        (status, &created["price"]),
        (StatusCode::CREATED, &json!("99999999.99"))
    );
}

async fn concurrent_creates_get_distinct_ids(app: &TestApp) {
    const BOOKS: usize = 24;
    let creates = (0..BOOKS).map(|i| async move {
        let (status, body) = app
            .post_json(
                "/api/v1/books",
                &json!({"title": format!("Book {i}"), "author": "Many", "price": "1.00"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().unwrap()
    });
    let mut ids = futures_util::future::join_all(creates).await;
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), BOOKS, "every create got its own id");
    let (_, page) = app.get("/api/v1/books?author=Many&limit=100").await;
    assert_eq!(page["total"], BOOKS);
}
