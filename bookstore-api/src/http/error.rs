//! One error type for every HTTP answer that is not a success, and its one JSON shape.

use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError, error::JsonPayloadError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::book::{FieldError, ValidationErrors};
use crate::store::StoreError;

/// Stable, machine-readable error codes. New codes may be added; existing ones never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MalformedJson,
    ValidationFailed,
    UnsupportedMediaType,
    PayloadTooLarge,
    InvalidQuery,
    InvalidId,
    NotFound,
    MethodNotAllowed,
    DatabaseUnavailable,
    InternalError,
    Unauthorized,
    RateLimited,
    WriteTokensUnavailable,
    ShuttingDown,
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// For people; may change wording between releases.
    #[schema(example = "the request body is invalid")]
    pub message: String,
    /// With `validation_failed`: each broken rule and the field it concerns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{message}")]
    Validation {
        message: String,
        fields: Vec<FieldError>,
    },
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("invalid query parameter: {0}")]
    InvalidQuery(String),
    #[error("the book id must be a whole number")]
    InvalidId,
    #[error("no book with this id")]
    BookNotFound,
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed here; allowed: {allow}")]
    MethodNotAllowed { allow: &'static str },
    #[error("the database is not reachable right now; retry shortly")]
    DatabaseUnavailable,
    #[error("the database is not ready yet; retry shortly")]
    DatabaseStarting,
    #[error("internal error")]
    Internal,
    #[error("{}", if *presented { "the bearer token is not valid for writing" } else { "writing needs a bearer token: Authorization: Bearer TOKEN" })]
    Unauthorized { presented: bool },
    #[error("too many requests from this address; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("writes are refused: the service cannot read its write tokens")]
    WriteTokensUnavailable,
    #[error("this process is shutting down")]
    ShuttingDown,
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::MalformedJson(_) => ErrorCode::MalformedJson,
            Self::Validation { .. } => ErrorCode::ValidationFailed,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::InvalidQuery(_) => ErrorCode::InvalidQuery,
            Self::InvalidId => ErrorCode::InvalidId,
            Self::BookNotFound | Self::RouteNotFound => ErrorCode::NotFound,
            Self::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Self::DatabaseUnavailable | Self::DatabaseStarting => ErrorCode::DatabaseUnavailable,
            Self::Internal => ErrorCode::InternalError,
            Self::Unauthorized { .. } => ErrorCode::Unauthorized,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::WriteTokensUnavailable => ErrorCode::WriteTokensUnavailable,
            Self::ShuttingDown => ErrorCode::ShuttingDown,
        }
    }

    fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                fields: match self {
                    Self::Validation { fields, .. } => fields.clone(),
                    _ => Vec::new(),
                },
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_) | Self::InvalidQuery(_) | Self::InvalidId => {
                StatusCode::BAD_REQUEST
            }
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BookNotFound | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::DatabaseUnavailable
            | Self::DatabaseStarting
            | Self::WriteTokensUnavailable
            | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::MethodNotAllowed { allow } => {
                response.insert_header((ALLOW, *allow));
            }
            Self::DatabaseUnavailable | Self::DatabaseStarting => {
                response.insert_header((RETRY_AFTER, "5"));
            }
            Self::Unauthorized { presented } => {
                let challenge = if *presented {
                    r#"Bearer realm="bookstore", error="invalid_token""#
                } else {
                    r#"Bearer realm="bookstore""#
                };
                response.insert_header((WWW_AUTHENTICATE, challenge));
            }
            Self::RateLimited { retry_after } => {
                response.insert_header((RETRY_AFTER, retry_after.to_string()));
            }
            _ => {}
        }
        response.json(self.body())
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation {
            message: errors.to_string(),
            fields: errors.0,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        // The details (which may name tables or hosts) go to the log, never to the client.
        match error {
            StoreError::Unavailable(_) | StoreError::TimedOut(_) => {
                tracing::warn!(error = %error, "database unavailable");
                Self::DatabaseUnavailable
            }
            // Logged once by the monitor that found it, not per request.
            StoreError::Unreachable => Self::DatabaseUnavailable,
            StoreError::Database(_) | StoreError::Migration(_) => {
                tracing::error!(error = %error, "database error");
                Self::Internal
            }
        }
    }
}

impl From<JsonPayloadError> for ApiError {
    fn from(error: JsonPayloadError) -> Self {
        use actix_web::error::PayloadError;
        use serde_json::error::Category;
        match error {
            JsonPayloadError::OverflowKnownLength { limit, .. }
            | JsonPayloadError::Overflow { limit } => Self::PayloadTooLarge { limit },
            JsonPayloadError::Payload(PayloadError::Overflow) => Self::PayloadTooLarge {
                limit: super::BODY_LIMIT_BYTES,
            },
            JsonPayloadError::ContentType => Self::UnsupportedMediaType,
            JsonPayloadError::Deserialize(e) if e.classify() == Category::Data => {
                Self::Validation {
                    message: e.to_string(),
                    fields: Vec::new(),
                }
            }
            JsonPayloadError::Deserialize(e) => Self::MalformedJson(e.to_string()),
            JsonPayloadError::Payload(e) => Self::MalformedJson(e.to_string()),
            JsonPayloadError::Serialize(e) => {
                tracing::error!(error = %e, "response serialization failed");
                Self::Internal
            }
            other => Self::MalformedJson(other.to_string()),
        }
    }
}

/// The error answers an operation documents, as OpenAPI responses that all use `ErrorBody`.
fn error_responses(
    answers: &[(u16, &str)],
) -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>>
{
    use utoipa::openapi::{Content, Ref, ResponseBuilder};
    answers
        .iter()
        .map(|(status, description)| {
            let response = ResponseBuilder::new()
                .description(*description)
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                )
                .build();
            (status.to_string(), response.into())
        })
        .collect()
}

const UNAVAILABLE: (u16, &str) = (503, "Database unavailable (`database_unavailable`)");
const INTERNAL: (u16, &str) = (500, "Unexpected server error (`internal_error`)");
const BAD_ID_OR_JSON: (u16, &str) = (
    400,
    "The id is not a whole number (`invalid_id`), or malformed JSON",
);
const NOT_FOUND: (u16, &str) = (404, "No book with this id (`not_found`)");
const TOO_LARGE: (u16, &str) = (413, "Body over 64 KiB (`payload_too_large`)");
const NOT_JSON: (u16, &str) = (
    415,
    "Body is not application/json (`unsupported_media_type`)",
);
const INVALID: (u16, &str) = (422, "Validation failed (`validation_failed`)");
const RATE_LIMITED: (u16, &str) = (
    429,
    "Too many requests from this address (`rate_limited`); `Retry-After` says when to retry",
);
const UNAUTHORIZED: (u16, &str) = (
    401,
    "No bearer token, or not a valid one (`unauthorized`); `WWW-Authenticate: Bearer`",
);
const WRITE_UNAVAILABLE: (u16, &str) = (
    503,
    "Database unavailable (`database_unavailable`), or the write tokens cannot be read \
     (`write_tokens_unavailable`)",
);

/// Errors of `GET /api/v1/books`.
pub struct ListErrors;
/// Errors of `POST /api/v1/books`.
pub struct CreateErrors;
/// Errors of reading one book.
pub struct ByIdErrors;
/// Errors of deleting one book.
pub struct DeleteErrors;
/// Errors of replacing or patching one book.
pub struct UpdateErrors;

impl utoipa::IntoResponses for ListErrors {
    fn responses() -> std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    > {
        error_responses(&[
            (400, "Invalid query parameter (`invalid_query`)"),
            RATE_LIMITED,
            UNAVAILABLE,
            INTERNAL,
        ])
    }
}

impl utoipa::IntoResponses for CreateErrors {
    fn responses() -> std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    > {
        error_responses(&[
            (400, "Malformed JSON (`malformed_json`)"),
            UNAUTHORIZED,
            TOO_LARGE,
            NOT_JSON,
            INVALID,
            RATE_LIMITED,
            WRITE_UNAVAILABLE,
            INTERNAL,
        ])
    }
}

impl utoipa::IntoResponses for ByIdErrors {
    fn responses() -> std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    > {
        error_responses(&[
            (400, "The id is not a whole number (`invalid_id`)"),
            NOT_FOUND,
            RATE_LIMITED,
            UNAVAILABLE,
            INTERNAL,
        ])
    }
}

impl utoipa::IntoResponses for DeleteErrors {
    fn responses() -> std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    > {
        error_responses(&[
            (400, "The id is not a whole number (`invalid_id`)"),
            UNAUTHORIZED,
            NOT_FOUND,
            RATE_LIMITED,
            WRITE_UNAVAILABLE,
            INTERNAL,
        ])
    }
}

impl utoipa::IntoResponses for UpdateErrors {
    fn responses() -> std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    > {
        error_responses(&[
            BAD_ID_OR_JSON,
            UNAUTHORIZED,
            NOT_FOUND,
            TOO_LARGE,
            NOT_JSON,
            INVALID,
            RATE_LIMITED,
            WRITE_UNAVAILABLE,
            INTERNAL,
        ])
    }
}
