//! The OpenAPI document, generated from the handlers' annotations.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{books, error, health, metrics};
use crate::book;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bookstore API",
        description = "CRUD over a catalogue of books. Prices are exact decimals: written as \
                       strings with two places (\"12.50\"); accepted as strings or JSON numbers \
                       with at most two places. Every error has the body `ErrorBody` with a \
                       stable `code`. An id that is not a whole number is a 400 (`invalid_id`); \
                       a whole number no book has, however large, is a 404 (`not_found`). \
                       Unknown routes answer 404 and known routes with another method 405, both \
                       with `ErrorBody`. Writes need `Authorization: Bearer TOKEN` when the \
                       service has write tokens (401 `unauthorized` otherwise); every client \
                       address has a rate limit (429 `rate_limited` with `Retry-After`)."
    ),
    modifiers(&BearerTokens),
    paths(
        books::list, books::create, books::read, books::replace, books::patch, books::delete,
        health::healthz, health::readyz, metrics::metrics, openapi_json,
    ),
    components(schemas(
        book::Book, book::BookInput, book::BookPatchInput, book::FieldError, books::BookList,
        error::ErrorBody, error::ErrorDetail, error::ErrorCode, health::Status, health::Readiness,
    )),
    tags(
        (name = "books", description = "The catalogue"),
        (name = "operations", description = "Probes, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// The write operations' security scheme.
struct BearerTokens;

impl Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "A write token (API_WRITE_TOKENS or API_WRITE_TOKENS_FILE); reads need none",
            ))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI document", body = Object))
)]
pub async fn openapi_json() -> HttpResponse {
    static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);
    HttpResponse::Ok().json(&*DOCUMENT)
}
