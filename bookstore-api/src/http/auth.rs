//! Writes need a bearer token, once tokens are configured. Tokens are kept as SHA-256 digests and
//! compared in constant time; a token file (a mounted Secret) is re-read when it changes, so
//! tokens rotate without a restart. Tokens never reach logs or metrics.

use secrecy::ExposeSecret;
use std::fs;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::SystemTime;

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};
use crate::config::WriteTokens;

type TokenDigest = [u8; 32];

/// Who may write, as the running service checks it.
pub enum WriteAccess {
    Open,
    Fixed(Vec<TokenDigest>),
    File(TokenFile),
}

/// A token file and what was read from it, with the file's identity at that time.
pub struct TokenFile {
    path: PathBuf,
    read: RwLock<Option<(FileStamp, Vec<TokenDigest>)>>,
}

/// Changes when the file is replaced or rewritten (a Secret volume swaps a symlink).
type FileStamp = (Option<SystemTime>, u64);

impl WriteAccess {
    pub fn new(tokens: &WriteTokens) -> Self {
        match tokens {
            WriteTokens::Open => Self::Open,
            WriteTokens::Fixed(tokens) => Self::Fixed(
                tokens
                    .iter()
                    .map(|t| digest(t.expose_secret().as_bytes()))
                    .collect(),
            ),
            WriteTokens::File(path) => Self::File(TokenFile {
                path: path.clone(),
                read: RwLock::new(None),
            }),
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self, Self::Open)
    }

    /// Whether `presented` is one of the tokens.
    fn admits(&self, presented: &[u8]) -> Result<bool, ApiError> {
        let presented = digest(presented);
        let matches = |digests: &[TokenDigest]| {
            // Every digest is compared, whatever the outcome: the time says nothing.
            digests
                .iter()
                .fold(0_u8, |found, d| found | d.ct_eq(&presented).unwrap_u8())
                == 1
        };
        match self {
            Self::Open => Ok(true),
            Self::Fixed(digests) => Ok(matches(digests)),
            Self::File(file) => file.with_digests(matches),
        }
    }
}

impl TokenFile {
    fn with_digests(&self, check: impl Fn(&[TokenDigest]) -> bool) -> Result<bool, ApiError> {
        let stamp = fs::metadata(&self.path)
            .map(|m| (m.modified().ok(), m.len()))
            .map_err(|error| self.unavailable(&error.to_string()))?;
        {
            let read = self.read.read().unwrap_or_else(|p| p.into_inner());
            if let Some((known, digests)) = read.as_ref()
                && *known == stamp
            {
                return Ok(check(digests));
            }
        }
        let text =
            fs::read_to_string(&self.path).map_err(|error| self.unavailable(&error.to_string()))?;
        let tokens = bookstore_contract::parse_write_tokens(&text)
            .map_err(|unusable| self.unavailable(&unusable.to_string()))?;
        let digests: Vec<TokenDigest> = tokens.iter().map(|t| digest(t.as_bytes())).collect();
        let admitted = check(&digests);
        tracing::info!(path = %self.path.display(), tokens = digests.len(), "write tokens loaded");
        *self.read.write().unwrap_or_else(|p| p.into_inner()) = Some((stamp, digests));
        Ok(admitted)
    }

    /// Fails closed: without readable tokens nobody writes. The reason never quotes the file.
    fn unavailable(&self, reason: &str) -> ApiError {
        tracing::error!(path = %self.path.display(), reason, "cannot read the write tokens; writes are refused");
        ApiError::WriteTokensUnavailable
    }
}

fn digest(bytes: &[u8]) -> TokenDigest {
    Sha256::digest(bytes).into()
}

fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// The bearer token of a request, if it has one.
fn bearer(request: &ServiceRequest) -> Option<&[u8]> {
    let value = request.headers().get(header::AUTHORIZATION)?.as_bytes();
    let scheme = value.get(..7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| value[7..].trim_ascii())
}

/// Refuses a write without a valid token with an answer (not an error: the outer middleware
/// still logs, counts and decorates it).
pub async fn require_token<B: MessageBody + 'static>(
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let guarded = is_write(request.method()) && request.path().starts_with("/api/");
    if guarded && let Some(state) = request.app_data::<web::Data<AppState>>().cloned() {
        let verdict = match bearer(&request) {
            None if !state.write_access.is_open() => {
                Err(ApiError::Unauthorized { presented: false })
            }
            presented => match state.write_access.admits(presented.unwrap_or_default()) {
                Ok(true) => Ok(()),
                Ok(false) => Err(ApiError::Unauthorized { presented: true }),
                Err(error) => Err(error),
            },
        };
        if let Err(error) = verdict {
            let answer = error.error_response();
            return Ok(request.into_response(answer).map_into_right_body());
        }
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn fixed_tokens_admit_exactly_themselves() {
        let access = WriteAccess::new(&WriteTokens::Fixed(vec![
            SecretString::from("first-token-0123456789"),
            SecretString::from("second-token-0123456789"),
        ]));
        assert!(access.admits(b"first-token-0123456789").unwrap_or(false));
        assert!(access.admits(b"second-token-0123456789").unwrap_or(false));
        assert!(!access.admits(b"first-token-012345678").unwrap_or(true));
        assert!(!access.admits(b"").unwrap_or(true));
        assert!(
            WriteAccess::new(&WriteTokens::Open)
                .admits(b"")
                .unwrap_or(false)
        );
    }

    #[test]
    fn a_token_file_is_reread_when_it_changes_and_fails_closed() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tokens");
        let access = WriteAccess::new(&WriteTokens::File(path.clone()));
        assert!(
            matches!(access.admits(b"x"), Err(ApiError::WriteTokensUnavailable)),
            "no file: nobody writes"
        );
        fs::write(&path, "old-token-0123456789\n").expect("write");
        assert!(access.admits(b"old-token-0123456789").unwrap_or(false));
        // A rotated Secret: a new file (new size here; a new modification time in general).
        fs::write(&path, "new-token-0123456789abc\n").expect("write");
        assert!(access.admits(b"new-token-0123456789abc").unwrap_or(false));
        assert!(!access.admits(b"old-token-0123456789").unwrap_or(true));
        fs::write(&path, "short\n").expect("write");
        assert!(matches!(
            access.admits(b"short"),
            Err(ApiError::WriteTokensUnavailable)
        ));
    }
}
