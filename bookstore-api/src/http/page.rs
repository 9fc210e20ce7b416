//! The web page: static files compiled into the binary and served at `/`.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, X_CONTENT_TYPE_OPTIONS};
use actix_web::{HttpResponse, Resource};

/// Path, content type and content of each file of the page.
const FILES: [(&str, &str, &str); 4] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../../web/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    ),
    (
        "/style.css",
        "text/css; charset=utf-8",
        include_str!("../../web/style.css"),
    ),
    (
        "/config.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/config.js"),
    ),
];

/// Served from the API itself the page talks to its own origin only.
const POLICY: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; \
                      frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// One resource per file (GET only; other methods get the JSON 405).
pub fn resources() -> impl Iterator<Item = Resource> {
    FILES.into_iter().map(|(path, content_type, body)| {
        super::resource(path, "GET").route(actix_web::web::get().to(move || async move {
            HttpResponse::Ok()
                .content_type(content_type)
                .insert_header((CACHE_CONTROL, "no-cache"))
                .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .insert_header((CONTENT_SECURITY_POLICY, POLICY))
                .body(body)
        }))
    })
}
