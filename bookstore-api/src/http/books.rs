//! `/api/v1/books`: list, create, read, replace, patch, delete.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ByIdErrors, CreateErrors, DeleteErrors, ListErrors, UpdateErrors};
use super::{ApiError, AppState};
use crate::book::{Book, BookInput, BookPatchInput, JsonObject, MAX_TEXT_CHARS};
use crate::store::ListQuery;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;
/// The deepest `offset`: the database walks every skipped row, so a deep offset costs what the
/// depth costs. Deeper pages are reached with `after_id`, which costs the same at any depth.
pub const MAX_OFFSET: i64 = 1_000;

/// Query parameters of the listing. Books come in ascending id order.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<i64>,
    /// Books to skip (after the `after_id` cursor, when both are given), at most 1000: page
    /// deeper with `after_id`.
    #[param(minimum = 0, maximum = 1000, default = 0)]
    offset: Option<i64>,
    /// Cursor: only books whose id is greater. Pass the previous page's `next_after_id`; unlike
    /// `offset`, it never skips or repeats a book when others are added or deleted meanwhile.
    #[param(minimum = 0)]
    after_id: Option<i64>,
    /// Case-insensitive substring of the title or the author.
    #[param(max_length = 255)]
    q: Option<String>,
    /// Case-insensitive exact author.
    #[param(max_length = 255)]
    author: Option<String>,
}

impl ListParams {
    fn into_query(self) -> Result<ListQuery, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::InvalidQuery(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        let non_negative = |name: &str, value: Option<i64>| match value {
            Some(v) if v < 0 => Err(ApiError::InvalidQuery(format!(
                "{name} must not be negative"
            ))),
            other => Ok(other.unwrap_or(0)),
        };
        let text_filter = |name: &str, value: Option<String>| match value {
            Some(v) if v.chars().count() > MAX_TEXT_CHARS => Err(ApiError::InvalidQuery(format!(
                "{name} must be at most {MAX_TEXT_CHARS} characters"
            ))),
            Some(v) if v.trim().is_empty() => Ok(None),
            other => Ok(other.map(|v| v.trim().to_owned())),
        };
        let offset = non_negative("offset", self.offset)?;
        if offset > MAX_OFFSET {
            return Err(ApiError::InvalidQuery(format!(
                "offset must be at most {MAX_OFFSET}: page deeper with after_id (each page's \
                 next_after_id)"
            )));
        }
        Ok(ListQuery {
            q: text_filter("q", self.q)?,
            author: text_filter("author", self.author)?,
            after_id: non_negative("after_id", self.after_id)?,
            offset,
            limit,
        })
    }
}

/// One page of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookList {
    pub items: Vec<Book>,
    /// Books matching `q` and `author`, over all pages. Counted at most once per 5 seconds for each
    /// filter: it may lag writes made through other replicas by that much.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// `offset` of the next page; null on the last page, and where the next page is deeper than
    /// the largest `offset` (continue with `next_after_id`).
    pub next_offset: Option<i64>,
    /// `after_id` of the next page; null on the last page.
    pub next_after_id: Option<i64>,
}

/// Parses the `{id}` path segment: not a whole number is a client error (400); a number that no
/// book can have (out of range) is simply not found (404).
fn book_id(segment: &str) -> Result<i64, ApiError> {
    let digits = segment.strip_prefix('-').unwrap_or(segment);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::InvalidId);
    }
    segment.parse().map_err(|_| ApiError::BookNotFound)
}

fn location(id: i64) -> String {
    format!("/api/v1/books/{id}")
}

/// List books, filtered and paged.
#[utoipa::path(
    get, path = "/api/v1/books", tag = "books", params(ListParams),
    responses(
        (status = 200, description = "A page of books", body = BookList),
        ListErrors,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> Result<web::Json<BookList>, ApiError> {
    let query = params.into_inner().into_query()?;
    let listing = state.store()?.list(&query).await?;
    let last_id = listing.books.last().map(|book| book.id);
    Ok(web::Json(BookList {
        next_offset: listing
            .has_more
            .then_some(query.offset + query.limit)
            .filter(|next| *next <= MAX_OFFSET),
        next_after_id: if listing.has_more { last_id } else { None },
        items: listing.books,
        total: listing.total,
        limit: query.limit,
        offset: query.offset,
    }))
}

/// Add a book.
#[utoipa::path(
    post, path = "/api/v1/books", tag = "books", request_body = BookInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Book,
         headers(("Location" = String, description = "URL of the new book"))),
        CreateErrors,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    input: web::Json<JsonObject<BookInput>>,
) -> Result<HttpResponse, ApiError> {
    let book = input.into_inner().0.validate()?;
    let stored = state.store()?.create(&book).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, location(stored.id)))
        .json(stored))
}

/// Read one book.
#[utoipa::path(
    get, path = "/api/v1/books/{id}", tag = "books",
    params(("id" = i64, Path, description = "Book id")),
    responses(
        (status = 200, description = "The book", body = Book),
        ByIdErrors,
    )
)]
pub async fn read(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<Book>, ApiError> {
    let id = book_id(&id)?;
    let book = state.store()?.get(id).await?;
    book.map(web::Json).ok_or(ApiError::BookNotFound)
}

/// Replace a book: every field is required.
#[utoipa::path(
    put, path = "/api/v1/books/{id}", tag = "books", request_body = BookInput,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Book id")),
    responses(
        (status = 200, description = "The stored book", body = Book),
        UpdateErrors,
    )
)]
pub async fn replace(
    state: web::Data<AppState>,
    id: web::Path<String>,
    input: web::Json<JsonObject<BookInput>>,
) -> Result<web::Json<Book>, ApiError> {
    let id = book_id(&id)?;
    let book = input.into_inner().0.validate()?;
    let stored = state.store()?.update(id, &book.into()).await?;
    stored.map(web::Json).ok_or(ApiError::BookNotFound)
}

/// Change some fields of a book.
#[utoipa::path(
    patch, path = "/api/v1/books/{id}", tag = "books", request_body = BookPatchInput,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Book id")),
    responses(
        (status = 200, description = "The stored book", body = Book),
        UpdateErrors,
    )
)]
pub async fn patch(
    state: web::Data<AppState>,
    id: web::Path<String>,
    input: web::Json<JsonObject<BookPatchInput>>,
) -> Result<web::Json<Book>, ApiError> {
    let id = book_id(&id)?;
    let patch = input.into_inner().0.validate()?;
    let stored = state.store()?.update(id, &patch).await?;
    stored.map(web::Json).ok_or(ApiError::BookNotFound)
}

/// Delete a book.
#[utoipa::path(
    delete, path = "/api/v1/books/{id}", tag = "books",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Book id")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = book_id(&id)?;
    if state.store()?.delete(id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::BookNotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_are_not_numbers_are_bad_requests_and_huge_ones_not_found() {
        assert_eq!(book_id("42").ok(), Some(42));
        assert_eq!(book_id("-3").ok(), Some(-3));
        for bad in ["abc", "", "-", "1.5", "1e3", " 1"] {
            assert!(matches!(book_id(bad), Err(ApiError::InvalidId)), "{bad:?}");
        }
        assert!(matches!(
            book_id("99999999999999999999999"),
            Err(ApiError::BookNotFound)
        ));
    }
}
