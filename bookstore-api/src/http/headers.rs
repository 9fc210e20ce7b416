//! Security headers on every response, the API's JSON included: no sniffing, no referrer, no
//! framing, nothing active in a JSON answer, and a cache policy by route (the page's files set
//! their own, with their content security policy). actix-web's `DefaultHeaders` adds each only
//! where the response has not set it.

use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use actix_web::middleware::DefaultHeaders;

pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((REFERRER_POLICY, "no-referrer"))
        .add((X_FRAME_OPTIONS, "DENY"))
        // Answers the page did not set: JSON, errors, health and metrics. Always current (books
        // change under the same URL), never an active document.
        .add((CACHE_CONTROL, "no-store"))
        .add((
            CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ))
}
