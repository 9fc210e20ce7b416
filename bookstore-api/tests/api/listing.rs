//! Listing: bounds, stable order, paging by offset and by cursor, search filters, totals.

use std::collections::BTreeSet;

use awc::http::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, error_code};

crate::on_every_backend!(
    limit_defaults_to_20_and_is_bounded,
    offset_paging_visits_every_book_once_in_id_order,
    cursor_paging_never_skips_or_repeats_while_books_change,
    search_matches_title_or_author_case_insensitively,
    author_filter_is_exact_and_totals_follow_filters,
    totals_follow_every_write_at_once,
    offset_stops_at_1000_and_after_id_goes_deeper,
    search_follows_renames_and_deletes_in_any_script,
);

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect()
}

async fn create_many(app: &TestApp, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..count {
        let book = app
            .create_book(&format!("Volume {i}"), "Series Author", "3.00")
            .await;
        ids.push(book["id"].as_i64().unwrap());
    }
    ids
}

async fn limit_defaults_to_20_and_is_bounded(app: &TestApp) {
    create_many(app, 25).await;
    let (status, page) = app.get("/api/v1/books").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page).len(), 20);
    assert_eq!(
        (page["limit"].as_i64(), page["total"].as_i64()),
        (Some(20), Some(25))
    );
    assert_eq!(page["next_offset"], 20);
    let (_, page) = app.get("/api/v1/books?limit=100").await;
    assert_eq!(ids(&page).len(), 25);
    assert_eq!(
        (&page["next_offset"], &page["next_after_id"]),
        (&Value::Null, &Value::Null)
    );
    for bad in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "offset=-1",
        "after_id=-5",
        "offset=x",
    ] {
        let (status, body) = app.get(&format!("/api/v1/books?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_code(&body), "invalid_query");
    }
    let (status, _) = app
        .get(&format!("/api/v1/books?q={}", "x".repeat(256)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "q over 255 characters");
}

async fn offset_paging_visits_every_book_once_in_id_order(app: &TestApp) {
    let created = create_many(app, 23).await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/books?limit=7".to_owned();
    loop {
        let (status, page) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["total"], 23);
        seen.extend(ids(&page));
        match page["next_offset"].as_i64() {
            Some(next) => path = format!("/api/v1/books?limit=7&offset={next}"),
            None => break,
        }
    }
    assert_eq!(seen, created, "every book once, in ascending id order");
}

async fn cursor_paging_never_skips_or_repeats_while_books_change(app: &TestApp) {
    let created = create_many(app, 12).await;
    let (_, first) = app.get("/api/v1/books?limit=5").await;
    let mut seen = ids(&first);
    // Between pages: delete a book already seen and one not yet seen, add a new one.
    app.delete(&format!("/api/v1/books/{}", created[0])).await;
    app.delete(&format!("/api/v1/books/{}", created[8])).await;
    let added = app.create_book("Late arrival", "Someone", "1.00").await["id"]
        .as_i64()
        .unwrap();
    let mut cursor = first["next_after_id"].as_i64().unwrap();
    loop {
        let (_, page) = app
            .get(&format!("/api/v1/books?limit=5&after_id={cursor}"))
            .await;
        seen.extend(ids(&page));
        match page["next_after_id"].as_i64() {
            Some(next) => cursor = next,
            None => break,
        }
    }
    let unique: BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no book repeated: {seen:?}");
    let mut expected: Vec<i64> = created
        .iter()
        .copied()
        .filter(|&id| id != created[8])
        .collect();
    expected.push(added);
    assert_eq!(
        seen, expected,
        "every remaining book, the new one included, nothing skipped"
    );
}

async fn search_matches_title_or_author_case_insensitively(app: &TestApp) {
    let dune = app.create_book("Dune", "Frank Herbert", "9.99").await;
    let messiah = app
        .create_book("Dune Messiah", "Frank Herbert", "9.99")
        .await;
    let emma = app.create_book("Emma", "Jane Austen", "5.00").await;
    let sale = app.create_book("100% Sale_Book", "Promo", "1.00").await;
    let search = |q: &'static str| async move {
        let (status, page) = app.get(&format!("/api/v1/books?q={q}")).await;
        assert_eq!(status, StatusCode::OK);
        ids(&page)
    };
    let id = |book: &Value| book["id"].as_i64().unwrap();
    assert_eq!(search("dUNE").await, [id(&dune), id(&messiah)]);
    assert_eq!(
        search("herb").await,
        [id(&dune), id(&messiah)],
        "matches the author too"
    );
    assert_eq!(search("AUSTEN").await, [id(&emma)]);
    // LIKE wildcards in the search are literal characters.
    assert_eq!(search("%25").await, [id(&sale)], "a literal %");
    assert_eq!(search("e_b").await, [id(&sale)], "a literal _");
    assert_eq!(search("zzz").await, Vec::<i64>::new());
    assert_eq!(search("").await.len(), 4, "an empty search filters nothing");
}

async fn author_filter_is_exact_and_totals_follow_filters(app: &TestApp) {
    app.create_book("Dune", "Frank Herbert", "9.99").await;
    app.create_book("Children of Dune", "Frank Herbert", "9.99")
        .await;
    app.create_book("Dune: House Atreides", "Brian Herbert", "9.99")
        .await;
    let (_, page) = app.get("/api/v1/books?author=frank%20herbert").await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["author"], "Frank Herbert");
    let (_, page) = app.get("/api/v1/books?author=Herbert").await;
    assert_eq!(page["total"], 0, "author matches whole names only");
    let (_, page) = app
        .get("/api/v1/books?q=dune&author=Brian%20Herbert&limit=1")
        .await;
    assert_eq!((page["total"].as_i64(), ids(&page).len()), (Some(1), 1));
    let (_, page) = app.get("/api/v1/books?q=dune&limit=1").await;
    assert_eq!(page["total"], 3, "the total counts every page");
    assert_eq!(page["next_offset"], 1);
}

/// Totals are remembered between listings; a write through this API makes them due at once.
async fn totals_follow_every_write_at_once(app: &TestApp) {
    let total = |path: &'static str| async move { app.get(path).await.1["total"].clone() };
    let dune = app.create_book("Dune", "Frank Herbert", "9.99").await;
    assert_eq!(total("/api/v1/books").await, 1);
    assert_eq!(total("/api/v1/books?author=Frank%20Herbert").await, 1);
    assert_eq!(total("/api/v1/books?q=emma").await, 0);

    let emma = app.create_book("Emma", "Jane Austen", "5.00").await;
    assert_eq!(total("/api/v1/books").await, 2, "after a create");
    assert_eq!(total("/api/v1/books?q=emma").await, 1, "after a create");

    let path = format!("/api/v1/books/{}", dune["id"]);
    app.patch_json(&path, &serde_json::json!({"author": "Brian Herbert"}))
        .await;
    assert_eq!(
        total("/api/v1/books?author=Frank%20Herbert").await,
        0,
        "after a patch of the author"
    );
    app.delete(&format!("/api/v1/books/{}", emma["id"])).await;
    assert_eq!(total("/api/v1/books").await, 1, "after a delete");
    assert_eq!(total("/api/v1/books?q=emma").await, 0, "after a delete");
}

async fn offset_stops_at_1000_and_after_id_goes_deeper(app: &TestApp) {
    let created = create_many(app, 3).await;
    let (status, page) = app.get("/api/v1/books?offset=1000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"], Value::Array(Vec::new()));
    let (status, body) = app.get("/api/v1/books?offset=1001").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_query");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("after_id"),
        "says how to go deeper: {body}"
    );
    let (_, page) = app
        .get(&format!("/api/v1/books?after_id={}", created[0]))
        .await;
    assert_eq!(ids(&page), created[1..]);
}

/// `q` goes through a trigram index on both databases, which triggers keep in step with the table.
async fn search_follows_renames_and_deletes_in_any_script(app: &TestApp) {
    let search = |q: &'static str| async move {
        let (status, page) = app.get(&format!("/api/v1/books?q={q}")).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        ids(&page)
    };
    let book = app.create_book("채식주의자", "한강", "15.00").await;
    let id = book["id"].as_i64().unwrap();
    assert_eq!(
        search("%EC%8B%9D%EC%A3%BC%EC%9D%98").await,
        [id],
        "식주의, inside a title"
    );
    assert_eq!(
        search("%ED%95%9C%EA%B0%95").await,
        [id],
        "한강, a whole author of 2 characters"
    );

    let path = format!("/api/v1/books/{id}");
    app.patch_json(
        &path,
        &serde_json::json!({"title": "Solaris", "author": "Stanisław Lem"}),
    )
    .await;
    assert_eq!(
        search("%EC%8B%9D%EC%A3%BC%EC%9D%98").await,
        Vec::<i64>::new(),
        "old title"
    );
    assert_eq!(search("OLARI").await, [id], "new title");
    assert_eq!(search("anis%C5%82aw").await, [id], "new author");
    app.delete(&path).await;
    assert_eq!(search("olari").await, Vec::<i64>::new(), "deleted");
    // Found by the fuzzer: a NUL in a search of 3 characters or more broke SQLite's FTS5 query.
    assert_eq!(
        search("%C3%84%00%C3%B1%3E").await,
        Vec::<i64>::new(),
        "a NUL is a character"
    );
}

/// MySQL looks a search up by its trigrams (`book_trigrams`), then checks the candidates with LIKE:
/// it must find exactly what a LIKE over every row finds, whatever the text. The oracle is the
/// database's own LIKE, in the books' collation (case and accents ignored).
#[actix_web::test]
async fn mysql_search_through_trigrams_finds_exactly_what_a_scan_finds() {
    let Some(app) = TestApp::mysql_with(crate::helpers::as_it_is).await else {
        return;
    };
    let corpus = [
        ("Dune", "Frank Herbert"),
        ("Straße der Ölsardinen", "Jürgen Müller"),
        ("L'école des femmes", "Molière"),
        ("ECOLE NORMALE", "Éric Lefèvre"),
        ("채식주의자", "한강"),
        ("소년이 온다", "한 강"),
        ("naïve café au lait", "Zoë"),
        ("100% Sale_Book!", "Promo"),
        ("a  b  c   d", "spaced  out"),
        ("quotes \"double\" and 'single'", "back\\slash"),
        ("📚 books & 🐉 dragons", "Ｆｕｌｌｗｉｄｔｈ"),
        ("ﬁnance for ǆ", "æsir Œuvre"),
        ("zero\u{200d}width joiner", "soft\u{ad}hyphen"),
        ("Ab", "cD"),
    ];
    for (title, author) in corpus {
        app.create_book(title, author, "1.00").await;
    }
    let mut queries = BTreeSet::new();
    for (title, author) in corpus {
        for text in [title, author] {
            let chars: Vec<char> = text.chars().collect();
            for length in 3..=5 {
                for window in chars.windows(length) {
                    let q: String = window.iter().collect();
                    queries.insert(q.to_uppercase());
                    queries.insert(q.to_lowercase());
                    queries.insert(q);
                }
            }
        }
    }
    queries.extend(
        [
            "ecole", "ÉCOLE", "strasse", "oel", "fin", "dae", "naive", "zzz", "%_!", "b  c",
        ]
        .map(String::from),
    );

    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(1)
        .connect_with(app.mysql_options().unwrap())
        .await
        .unwrap();
    let mut found_by_both = 0;
    for q in &queries {
        // The API trims a search (a blank one filters nothing).
        let trimmed = q.trim();
        if trimmed.is_empty() {
            continue;
        }
        let pattern = format!(
            "%{}%",
            trimmed
                .replace('!', "!!")
                .replace('%', "!%")
                .replace('_', "!_")
        );
        let scan: Vec<i64> = sqlx::query_scalar::<_, i32>(
            "SELECT id FROM books WHERE title LIKE ? ESCAPE '!' OR author LIKE ? ESCAPE '!' \
             ORDER BY id",
        )
        .bind(&pattern)
        .bind(&pattern)
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(i64::from)
        .collect();
        let encoded: String = q.bytes().map(|byte| format!("%{byte:02X}")).collect();
        let (status, page) = app
            .get(&format!("/api/v1/books?limit=100&q={encoded}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{q:?}");
        assert_eq!(ids(&page), scan, "search {q:?}");
        assert_eq!(page["total"], scan.len(), "total of {q:?}");
        found_by_both += usize::from(!scan.is_empty());
    }
    assert!(
        found_by_both > queries.len() / 2,
        "most searches find something: {found_by_both} of {}",
        queries.len()
    );
    pool.close().await;
    app.drop_database().await;
}
