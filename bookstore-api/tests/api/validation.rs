//! Each input rule at its boundary, reported against its field with 422.

use awc::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

crate::on_every_backend!(
    title_and_author_count_characters_not_bytes,
    price_boundaries_are_exact,
    missing_null_and_unknown_fields_are_rejected,
    patch_and_put_apply_the_same_rules,
);

/// Posts a book and returns the status and the `field: message` list of a 422.
async fn post(app: &TestApp, body: Value) -> (StatusCode, Vec<String>) {
    let (status, response) = app.post_json("/api/v1/books", &body).await;
    let fields = if status == StatusCode::UNPROCESSABLE_ENTITY {
        assert_eq!(error_code(&response), "validation_failed");
        response["error"]["fields"]
            .as_array()
            .map(|fields| {
                fields
                    .iter()
                    .map(|f| {
                        format!(
                            "{}: {}",
                            f["field"].as_str().unwrap(),
                            f["message"].as_str().unwrap()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    (status, fields)
}

async fn title_and_author_count_characters_not_bytes(app: &TestApp) {
    let fits = "한".repeat(255);
    let (status, created) = app
        .post_json(
            "/api/v1/books",
            &json!({"title": fits, "author": fits, "price": "1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, stored) = app.get(&format!("/api/v1/books/{}", created["id"])).await;
    assert_eq!(
        stored["title"],
        json!(fits),
        "255 three-byte characters are stored whole"
    );

    let too_long = "한".repeat(256);
    assert_eq!(
        post(app, json!({"title": too_long, "author": "a", "price": "1"})).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["title: must be at most 255 characters (got 256)".to_owned()]
        )
    );
    assert_eq!(
        post(app, json!({"title": "a", "author": too_long, "price": "1"})).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["author: must be at most 255 characters (got 256)".to_owned()]
        )
    );
    // Surrounding spaces are trimmed from what is stored, but count against the limit as sent.
    let (status, created) = app
        .post_json(
            "/api/v1/books",
            &json!({"title": format!(" {} ", "한".repeat(253)), "author": " a ", "price": "1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (&created["title"], &created["author"]),
        (&json!("한".repeat(253)), &json!("a"))
    );
    assert_eq!(
        post(
            app,
            json!({"title": format!(" {fits}"), "author": "a", "price": "1"})
        )
        .await
        .1,
        ["title: must be at most 255 characters (got 256)"]
    );
    assert_eq!(
        post(app, json!({"title": "   ", "author": "a", "price": "1"}))
            .await
            .1,
        ["title: must not be empty"]
    );
}

async fn price_boundaries_are_exact(app: &TestApp) {
    for accepted in [
        json!("0"),
        json!(0),
        json!("0.00"),
        json!("99999999.99"),
        json!(99999999.99),
    ] {
        let (status, fields) =
            post(app, json!({"title": "t", "author": "a", "price": accepted})).await;
        assert_eq!(
            (status, fields),
            (StatusCode::CREATED, vec![]),
            "price {accepted}"
        );
    }
    let out_of_range = "price: must be between 0 and 99999999.99";
    let too_precise = "price: must have at most 2 decimal places";
    for (rejected, message) in [
        (json!("100000000.00"), out_of_range),
        (json!(100000000), out_of_range),
        (json!("-0.01"), out_of_range),
        (json!(-1), out_of_range),
        (json!("1.999"), too_precise),
        (json!(0.001), too_precise),
        (
            json!("12.5e1"),
            "price: must be a decimal number in plain notation, such as 12.50 or \"12.50\"",
        ),
        (
            json!("twelve"),
            "price: must be a decimal number in plain notation, such as 12.50 or \"12.50\"",
        ),
        (
            json!(true),
            "price: must be a decimal number in plain notation, such as 12.50 or \"12.50\"",
        ),
    ] {
        assert_eq!(
            post(app, json!({"title": "t", "author": "a", "price": rejected})).await,
            (StatusCode::UNPROCESSABLE_ENTITY, vec![message.to_owned()]),
            "price {rejected}"
        );
    }
    let (_, page) = app.get("/api/v1/books?limit=100").await;
    assert_eq!(page["total"], 5, "only the accepted prices were stored");
}

async fn missing_null_and_unknown_fields_are_rejected(app: &TestApp) {
    assert_eq!(
        post(app, json!({})).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![
                "title: is required".to_owned(),
                "author: is required".to_owned(),
                "price: is required".to_owned()
            ]
        )
    );
    assert_eq!(
        post(app, json!({"title": null, "author": 5, "price": "1"}))
            .await
            .1,
        ["title: must not be null", "author: must be a string"]
    );
    let (status, body) = app
        .post_json(
            "/api/v1/books",
            &json!({"title": "t", "author": "a", "price": "1", "isbn": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "validation_failed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `isbn`"),
        "{body}"
    );
    for not_an_object in [
        json!(["Dune", "Frank Herbert", "9.99"]),
        json!([]),
        json!("Dune"),
        json!(null),
    ] {
        let (status, body) = app.post_json("/api/v1/books", &not_an_object).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{not_an_object}"
        );
    }
}

async fn patch_and_put_apply_the_same_rules(app: &TestApp) {
    let book = app.create_book("Emma", "Jane Austen", "7.99").await;
    let path = format!("/api/v1/books/{}", book["id"]);
    let (status, body) = app
        .patch_json(&path, &json!({"price": "1.001", "title": ""}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["error"]["fields"].as_array().unwrap().len(),
        2,
        "{body}"
    );
    let (status, body) = app.patch_json(&path, &json!({"author": null})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["error"]["fields"][0],
        json!({"field": "author", "message": "must not be null"})
    );
    let (status, _) = app.patch_json(&path, &json!({"subtitle": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.patch_json(&path, &json!([])).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an array is not a patch"
    );
    let (status, _) = app
        .put_json(
            &path,
            &json!({"title": "t", "author": "a", "price": "100000000"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get(&path).await.1,
        book,
        "rejected updates left the book unchanged"
    );
}
