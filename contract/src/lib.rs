//! What the operator and the API agree on, in one place both compile against: the environment
//! variables the operator sets on the API container, the ports and paths it wires to the Service
//! and the probes, and what a write-token file holds. A rename on one side renames it on the
//! other, or fails to compile.

/// The environment variables the API reads and the operator sets.
pub mod env {
    /// Address the API listens on (`0.0.0.0:API_PORT` in a pod).
    pub const BIND_ADDR: &str = "BIND_ADDR";
    /// Address of the probes and metrics (`0.0.0.0:API_METRICS_PORT` in a pod).
    pub const METRICS_ADDR: &str = "METRICS_ADDR";
    /// `json` or `pretty`.
    pub const LOG_FORMAT: &str = "LOG_FORMAT";
    /// The whole connection as a URL (the operator never sets it: it uses the parts below).
    pub const DATABASE_URL: &str = "DATABASE_URL";
    pub const DB_HOST: &str = "DB_HOST";
    pub const DB_PORT: &str = "DB_PORT";
    pub const DB_NAME: &str = "DB_NAME";
    pub const DB_USER: &str = "DB_USER";
    /// From the user's Secret (`secretKeyRef`), never a value in the pod template.
    pub const DB_PASSWORD: &str = "DB_PASSWORD";
    /// The embedded database's file (demo mode).
    pub const SQLITE_PATH: &str = "SQLITE_PATH";
    /// Write tokens given inline (the operator never sets it: it mounts a file).
    pub const API_WRITE_TOKENS: &str = "API_WRITE_TOKENS";
    /// The mounted write-token file (see [`super::parse_write_tokens`]).
    pub const API_WRITE_TOKENS_FILE: &str = "API_WRITE_TOKENS_FILE";
    pub const RATE_LIMIT_WRITES_PER_MINUTE: &str = "RATE_LIMIT_WRITES_PER_MINUTE";
    pub const RATE_LIMIT_READS_PER_MINUTE: &str = "RATE_LIMIT_READS_PER_MINUTE";

    /// What a Bookstore's `spec.env` may not set: the operator sets them (or, for
    /// `DATABASE_URL` and `API_WRITE_TOKENS`, they would move the data or open writes behind
    /// `spec.database` and `spec.auth`).
    pub const RESERVED: [&str; 14] = [
        BIND_ADDR,
        METRICS_ADDR,
        LOG_FORMAT,
        DATABASE_URL,
        DB_HOST,
        DB_PORT,
        DB_NAME,
        DB_USER,
        DB_PASSWORD,
        SQLITE_PATH,
        API_WRITE_TOKENS,
        API_WRITE_TOKENS_FILE,
        RATE_LIMIT_WRITES_PER_MINUTE,
        RATE_LIMIT_READS_PER_MINUTE,
    ];
}

/// The API's port (the Service's target).
pub const API_PORT: u16 = 8080;
/// The probes' and metrics' port (`METRICS_ADDR`), apart from the API.
pub const API_METRICS_PORT: u16 = 8081;

/// Liveness: the process serves.
pub const HEALTHZ_PATH: &str = "/healthz";
/// Readiness, and what the operator asks each pod about its database.
pub const READYZ_PATH: &str = "/readyz";
/// Prometheus metrics.
pub const METRICS_PATH: &str = "/metrics";

/// The shortest write token accepted: a guessable token protects nothing.
pub const MIN_WRITE_TOKEN_LEN: usize = 16;

/// Why a write-token file is refused (never quoting a token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnusableWriteTokens;

impl std::fmt::Display for UnusableWriteTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "it must hold one token per line, each at least {MIN_WRITE_TOKEN_LEN} characters"
        )
    }
}

impl std::error::Error for UnusableWriteTokens {}

/// The tokens of a write-token file: one per line, surrounding blanks and empty lines ignored.
/// Refused unless there is at least one and every one is long enough: the API then refuses every
/// write, and the operator says so before it rolls pods onto such a file.
pub fn parse_write_tokens(text: &str) -> Result<Vec<&str>, UnusableWriteTokens> {
    let tokens: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    if tokens.is_empty()
        || tokens
            .iter()
            .any(|token| token.chars().count() < MIN_WRITE_TOKEN_LEN)
    {
        return Err(UnusableWriteTokens);
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_holds_long_enough_tokens_one_per_line() {
        assert_eq!(
            parse_write_tokens("writer-token-0123456789\n\n  second-token-0123456789 \n"),
            Ok(vec!["writer-token-0123456789", "second-token-0123456789"])
        );
        for unusable in [
            "",
            "\n \n",
            "short-secret\n",
            "writer-token-0123456789\nshort",
        ] {
            assert_eq!(
                parse_write_tokens(unusable),
                Err(UnusableWriteTokens),
                "{unusable:?}"
            );
        }
        // Characters, not bytes: 16 two-byte letters are a token, 15 are not.
        assert!(parse_write_tokens(&"é".repeat(16)).is_ok());
        assert!(parse_write_tokens(&"é".repeat(15)).is_err());
    }
}
