//! Command line, environment and `.env` file → a typed, validated configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use bookstore_contract::env;
use bookstore_telemetry::LogFormat;
use clap::{Args, Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};

const ENV_HELP: &str = "\
Every option can also be set through the environment variable shown beside it, or in a `.env`
file in the working directory (real environment variables win).

Database selection:
  DATABASE_URL=mysql://USER:PASSWORD@HOST:PORT/NAME   MySQL / MariaDB / Amazon RDS
  DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD    the same, one part per variable
  neither                                             embedded SQLite file at SQLITE_PATH

Writes (POST, PUT, PATCH, DELETE) need `Authorization: Bearer TOKEN` once tokens are set:
  API_WRITE_TOKENS=TOKEN[,TOKEN]   or   API_WRITE_TOKENS_FILE=PATH (one per line, re-read on change)
  neither                           anyone may write (a warning is logged)

Logging: RUST_LOG sets the filter (default: info), e.g. RUST_LOG=bookstore_api=debug,sqlx=warn";

#[derive(Debug, Parser)]
#[command(name = "bookstore-api", version, about, after_long_help = ENV_HELP, after_help = ENV_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default): migrations are applied at start-up.
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
}

/// Raw settings as given; [`Settings::resolve`] checks how they fit together.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address and port the HTTP server listens on.
    #[arg(long, env = env::BIND_ADDR, default_value = "0.0.0.0:8080", global = true)]
    pub bind_addr: SocketAddr,

    /// Address of /healthz, /readyz and /metrics, apart from the API (so that a load balancer in
    /// front of BIND_ADDR does not publish them). Unset: they are served on BIND_ADDR.
    #[arg(long, env = env::METRICS_ADDR, global = true)]
    pub metrics_addr: Option<SocketAddr>,

    /// Database URL: mysql://USER:PASSWORD@HOST:PORT/NAME or sqlite:PATH.
    #[arg(long, env = env::DATABASE_URL, hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// MySQL host (used when DATABASE_URL is not set).
    #[arg(long, env = env::DB_HOST, global = true)]
    pub db_host: Option<String>,

    /// MySQL port.
    #[arg(long, env = env::DB_PORT, default_value_t = 3306, global = true)]
    pub db_port: u16,

    /// MySQL database name (required with DB_HOST).
    #[arg(long, env = env::DB_NAME, global = true)]
    pub db_name: Option<String>,

    /// MySQL user (required with DB_HOST).
    #[arg(long, env = env::DB_USER, global = true)]
    pub db_user: Option<String>,

    /// MySQL password (never printed or logged).
    #[arg(long, env = env::DB_PASSWORD, hide_env_values = true, global = true)]
    pub db_password: Option<String>,

    /// TLS to MySQL: disabled, preferred, required, verify_ca or verify_identity.
    #[arg(long, env = "DB_SSL_MODE", default_value = "preferred", global = true)]
    pub db_ssl_mode: String,

    /// SQLite file used when no MySQL database is configured (created if missing).
    #[arg(
        long,
        env = env::SQLITE_PATH,
        default_value = "bookstore.db",
        global = true
    )]
    pub sqlite_path: PathBuf,

    /// Largest number of open database connections (of this process: mind the database's
    /// max_connections across replicas).
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub db_max_connections: u32,

    /// Seconds a request waits for the database (a connection and its statements) before
    /// answering 503. While the database is found unreachable, requests answer 503 at once.
    #[arg(long, env = "DB_TIMEOUT_SECS", default_value_t = 2,
          value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    pub db_timeout_secs: u64,

    /// Seconds an unused database connection stays open.
    #[arg(
        long,
        env = "DB_IDLE_TIMEOUT_SECS",
        default_value_t = 600,
        global = true
    )]
    pub db_idle_timeout_secs: u64,

    /// Seconds, after SIGTERM or Ctrl-C, for clients to close their connections and in-flight
    /// requests to finish (together).
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub shutdown_timeout_secs: u64,

    /// Log line format.
    #[arg(
        long,
        env = env::LOG_FORMAT,
        value_enum,
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,

    /// Comma-separated origins (https://host[:port]) whose web pages may call the API (CORS).
    #[arg(
        long,
        env = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_allowed_origins: Vec<String>,

    /// Bearer tokens allowed to write (POST, PUT, PATCH, DELETE), comma-separated; each at least
    /// 16 characters. Without tokens (here or in API_WRITE_TOKENS_FILE) anyone may write.
    #[arg(
        long,
        env = env::API_WRITE_TOKENS,
        value_delimiter = ',',
        hide_env_values = true,
        global = true
    )]
    pub write_tokens: Vec<String>,

    /// File holding the write tokens, one per line (e.g. a mounted Kubernetes Secret); re-read
    /// when it changes, so tokens rotate without a restart.
    #[arg(long, env = env::API_WRITE_TOKENS_FILE, global = true)]
    pub write_tokens_file: Option<PathBuf>,

    /// Writes per minute allowed to each client address (0: no limit).
    #[arg(
        long,
        env = env::RATE_LIMIT_WRITES_PER_MINUTE,
        default_value_t = 60,
        global = true
    )]
    pub rate_limit_writes_per_minute: u32,

    /// Reads of /api/ per minute allowed to each client address (0: no limit).
    #[arg(
        long,
        env = env::RATE_LIMIT_READS_PER_MINUTE,
        default_value_t = 1200,
        global = true
    )]
    pub rate_limit_reads_per_minute: u32,

    /// Proxies (comma-separated addresses or CIDR blocks, e.g. the load balancer's subnets) whose
    /// X-Forwarded-For header names the client. Empty: the connecting address is the client.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<String>,
}

/// Who may write.
#[derive(Debug, Clone)]
pub enum WriteTokens {
    /// Anyone (no token configured).
    Open,
    /// Redacted in `Debug` output, wiped from memory when dropped.
    Fixed(Vec<SecretString>),
    File(PathBuf),
}

/// An IPv4 or IPv6 address block (`10.0.0.0/16`), or one address (`192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(ipnet::IpNet);

impl Cidr {
    /// An IPv4 client seen over IPv6 (`::ffff:10.0.0.1`) is the IPv4 address.
    pub fn contains(&self, address: std::net::IpAddr) -> bool {
        self.0.contains(&address.to_canonical())
    }
}

impl FromStr for Cidr {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, ()> {
        text.parse::<ipnet::IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map(Self)
            .map_err(|_| ())
    }
}

/// Per client address; `None`: no limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub writes_per_minute: Option<std::num::NonZeroU32>,
    pub reads_per_minute: Option<std::num::NonZeroU32>,
    pub trusted_proxies: Vec<Cidr>,
}

pub use bookstore_contract::MIN_WRITE_TOKEN_LEN as MIN_TOKEN_LEN;

/// The resolved configuration the service runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind_addr: SocketAddr,
    /// Where the probes and metrics are served, when not on `bind_addr`.
    pub metrics_addr: Option<SocketAddr>,
    pub database: DatabaseConfig,
    pub pool: PoolConfig,
    pub shutdown_timeout: Duration,
    pub log_format: LogFormat,
    pub cors_allowed_origins: Vec<String>,
    pub write_tokens: WriteTokens,
    pub rate_limits: RateLimits,
}

#[derive(Debug, Clone)]
pub enum DatabaseConfig {
    MySql(Box<MySqlConnectOptions>),
    Sqlite { path: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    pub max_connections: u32,
    /// The longest a request waits for the database: a connection and its statements together.
    pub timeout: Duration,
    pub idle_timeout: Duration,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("set either DATABASE_URL or DB_HOST (with DB_NAME, DB_USER, DB_PASSWORD), not both")]
    ConflictingDatabase,
    #[error("{0} is required when DB_HOST is set")]
    MissingDatabasePart(&'static str),
    #[error("{0} is set but DB_HOST is not: set DB_HOST too, or unset {0}")]
    DatabasePartWithoutHost(&'static str),
    #[error("DATABASE_URL must start with mysql:// or sqlite:")]
    UnsupportedDatabaseUrl,
    // The reason never quotes the URL: it may hold a password.
    #[error("DATABASE_URL is not a valid MySQL URL: {0}")]
    InvalidDatabaseUrl(String),
    #[error("CORS_ALLOWED_ORIGINS: {0:?} is not an origin such as https://books.example.com")]
    InvalidCorsOrigin(String),
    #[error("DB_SSL_MODE must be one of disabled, preferred, required, verify_ca, verify_identity")]
    InvalidSslMode,
    #[error("set either API_WRITE_TOKENS or API_WRITE_TOKENS_FILE, not both")]
    ConflictingWriteTokens,
    // Never quotes the token.
    #[error("API_WRITE_TOKENS: every token must be at least {MIN_TOKEN_LEN} characters")]
    ShortWriteToken,
    #[error("TRUSTED_PROXIES: {0:?} is not an address or CIDR block such as 10.0.0.0/16")]
    InvalidTrustedProxy(String),
}

impl Settings {
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        Ok(Config {
            bind_addr: self.bind_addr,
            metrics_addr: self.metrics_addr,
            database: self.database()?,
            pool: PoolConfig {
                max_connections: self.db_max_connections,
                timeout: Duration::from_secs(self.db_timeout_secs),
                idle_timeout: Duration::from_secs(self.db_idle_timeout_secs),
            },
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout_secs),
            log_format: self.log_format,
            cors_allowed_origins: self.cors_origins()?,
            write_tokens: self.write_tokens()?,
            rate_limits: RateLimits {
                writes_per_minute: std::num::NonZeroU32::new(self.rate_limit_writes_per_minute),
                reads_per_minute: std::num::NonZeroU32::new(self.rate_limit_reads_per_minute),
                trusted_proxies: self
                    .trusted_proxies
                    .iter()
                    .map(|text| text.trim())
                    .filter(|text| !text.is_empty())
                    .map(|text| {
                        text.parse()
                            .map_err(|()| ConfigError::InvalidTrustedProxy(text.to_owned()))
                    })
                    .collect::<Result<_, _>>()?,
            },
        })
    }

    fn write_tokens(&self) -> Result<WriteTokens, ConfigError> {
        let tokens: Vec<SecretString> = self
            .write_tokens
            .iter()
            .map(|token| token.trim())
            .filter(|token| !token.is_empty())
            .map(SecretString::from)
            .collect();
        match (&self.write_tokens_file, tokens.is_empty()) {
            (Some(_), false) => Err(ConfigError::ConflictingWriteTokens),
            (Some(path), true) => Ok(WriteTokens::File(path.clone())),
            (None, true) => Ok(WriteTokens::Open),
            (None, false)
                if tokens
                    .iter()
                    .any(|t| t.expose_secret().chars().count() < MIN_TOKEN_LEN) =>
            {
                Err(ConfigError::ShortWriteToken)
            }
            (None, false) => Ok(WriteTokens::Fixed(tokens)),
        }
    }

    fn cors_origins(&self) -> Result<Vec<String>, ConfigError> {
        self.cors_allowed_origins
            .iter()
            .map(|origin| origin.trim())
            .filter(|origin| !origin.is_empty())
            .map(|origin| {
                let host = origin
                    .strip_prefix("https://")
                    .or_else(|| origin.strip_prefix("http://"))
                    .unwrap_or_default();
                if host.is_empty() || host.contains('/') || host.contains(char::is_whitespace) {
                    Err(ConfigError::InvalidCorsOrigin(origin.to_owned()))
                } else {
                    Ok(origin.to_owned())
                }
            })
            .collect()
    }

    fn database(&self) -> Result<DatabaseConfig, ConfigError> {
        let ssl_mode =
            MySqlSslMode::from_str(&self.db_ssl_mode).map_err(|_| ConfigError::InvalidSslMode)?;
        let parts = [
            ("DB_NAME", &self.db_name),
            ("DB_USER", &self.db_user),
            ("DB_PASSWORD", &self.db_password),
        ];
        match (&self.database_url, &self.db_host) {
            (Some(_), Some(_)) => Err(ConfigError::ConflictingDatabase),
            (Some(url), None) => database_from_url(url, ssl_mode),
            (None, Some(host)) => {
                let required = |(name, value): (&'static str, &Option<String>)| {
                    value.clone().ok_or(ConfigError::MissingDatabasePart(name))
                };
                let [name, user, password] = parts.map(required);
                Ok(DatabaseConfig::MySql(Box::new(
                    MySqlConnectOptions::new()
                        .host(host)
                        .port(self.db_port)
                        .database(&name?)
                        .username(&user?)
                        .password(&password?)
                        .ssl_mode(ssl_mode),
                )))
            }
            (None, None) => match parts.iter().find(|(_, value)| value.is_some()) {
                Some((name, _)) => Err(ConfigError::DatabasePartWithoutHost(name)),
                None => Ok(DatabaseConfig::Sqlite {
                    path: self.sqlite_path.clone(),
                }),
            },
        }
    }
}

fn database_from_url(url: &str, ssl_mode: MySqlSslMode) -> Result<DatabaseConfig, ConfigError> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        return Ok(DatabaseConfig::Sqlite { path: path.into() });
    }
    if !(url.starts_with("mysql://") || url.starts_with("mariadb://")) {
        return Err(ConfigError::UnsupportedDatabaseUrl);
    }
    let options = MySqlConnectOptions::from_str(url)
        .map_err(|e| ConfigError::InvalidDatabaseUrl(e.to_string()))?;
    // An ssl-mode in the URL wins over DB_SSL_MODE's default.
    Ok(DatabaseConfig::MySql(Box::new(
        if url.contains("ssl-mode=") || url.contains("sslmode=") {
            options
        } else {
            options.ssl_mode(ssl_mode)
        },
    )))
}

impl DatabaseConfig {
    /// Where the data lives, for logs: never includes the password.
    pub fn describe(&self) -> String {
        match self {
            Self::MySql(options) => format!(
                "mysql://{}@{}:{}/{}",
                options.get_username(),
                options.get_host(),
                options.get_port(),
                options.get_database().unwrap_or("")
            ),
            Self::Sqlite { path } => format!("sqlite:{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Settings {
        let mut argv = vec!["bookstore-api"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("valid arguments").settings
    }

    #[test]
    fn nothing_configured_means_embedded_sqlite() {
        let config = settings(&[]).resolve().expect("valid");
        assert_eq!(config.database.describe(), "sqlite:bookstore.db");
        assert_eq!(config.bind_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(config.shutdown_timeout, Duration::from_secs(30));
    }

    #[test]
    fn mysql_from_parts_is_described_without_its_password() {
        let config = settings(&[
            "--db-host=db.internal",
            "--db-name=books",
            "--db-user=app",
            "--db-password=s3cret",
        ])
        .resolve()
        .expect("valid");
        let described = config.database.describe();
        assert_eq!(described, "mysql://app@db.internal:3306/books");
        assert!(!described.contains("s3cret"));
    }

    #[test]
    fn mysql_from_url_is_described_without_its_password() {
        let config = settings(&["--database-url=mysql://app:s3cret@db:3307/books"])
            .resolve()
            .expect("valid");
        assert_eq!(config.database.describe(), "mysql://app@db:3307/books");
    }

    #[test]
    fn incomplete_or_conflicting_database_settings_are_rejected() {
        let err = |args: &[&str]| settings(args).resolve().expect_err("invalid");
        assert_eq!(
            err(&["--db-host=db", "--db-name=b", "--db-user=u"]),
            ConfigError::MissingDatabasePart("DB_PASSWORD")
        );
        assert_eq!(
            err(&["--db-password=p"]),
            ConfigError::DatabasePartWithoutHost("DB_PASSWORD")
        );
        assert_eq!(
            err(&["--database-url=mysql://u:p@h/b", "--db-host=h"]),
            ConfigError::ConflictingDatabase
        );
        assert_eq!(
            err(&["--database-url=postgres://u:p@h/b"]),
            ConfigError::UnsupportedDatabaseUrl
        );
        assert_eq!(
            err(&["--db-ssl-mode=sometimes"]),
            ConfigError::InvalidSslMode
        );
    }

    #[test]
    fn an_invalid_url_error_does_not_repeat_the_password() {
        let error = settings(&["--database-url=mysql://u:hunter2@h:notaport/b"])
            .resolve()
            .expect_err("invalid port");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[test]
    fn cors_origins_are_a_checked_comma_separated_list() {
        let config = settings(&["--cors-allowed-origins=https://a.example, http://localhost:3000"])
            .resolve()
            .expect("valid");
        assert_eq!(
            config.cors_allowed_origins,
            ["https://a.example", "http://localhost:3000"]
        );
        assert!(
            settings(&[])
                .resolve()
                .expect("valid")
                .cors_allowed_origins
                .is_empty()
        );
        let error = settings(&["--cors-allowed-origins=https://a.example/page"]).resolve();
        assert_eq!(
            error.expect_err("a path is not an origin"),
            ConfigError::InvalidCorsOrigin("https://a.example/page".to_owned())
        );
    }

    #[test]
    fn write_tokens_come_from_one_place_are_long_enough_and_never_shown() {
        let token = "s3cret-token-0123456789";
        let config = settings(&[&format!("--write-tokens={token}, other-token-0123456789")])
            .resolve()
            .expect("valid");
        match &config.write_tokens {
            WriteTokens::Fixed(tokens) => assert_eq!(tokens.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(!format!("{config:?}").contains(token), "Debug hides tokens");
        assert!(matches!(
            settings(&[]).resolve().expect("valid").write_tokens,
            WriteTokens::Open
        ));
        assert_eq!(
            settings(&["--write-tokens=short"]).resolve().err(),
            Some(ConfigError::ShortWriteToken)
        );
        assert_eq!(
            settings(&[
                "--write-tokens=0123456789abcdef",
                "--write-tokens-file=/run/t"
            ])
            .resolve()
            .err(),
            Some(ConfigError::ConflictingWriteTokens)
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_blocks() {
        let config = settings(&["--trusted-proxies=10.0.0.0/16, 192.0.2.7, 2001:db8::/32"])
            .resolve()
            .expect("valid");
        let proxies = &config.rate_limits.trusted_proxies;
        let ip = |text: &str| text.parse::<std::net::IpAddr>().expect("address");
        assert!(proxies[0].contains(ip("10.0.200.1")));
        assert!(!proxies[0].contains(ip("10.1.0.1")));
        assert!(proxies[1].contains(ip("192.0.2.7")) && !proxies[1].contains(ip("192.0.2.8")));
        assert!(proxies[2].contains(ip("2001:db8::1")));
        assert!(
            proxies[0].contains(ip("::ffff:10.0.0.9")),
            "IPv4 mapped in IPv6"
        );
        assert_eq!(
            settings(&["--trusted-proxies=10.0.0.0/33"]).resolve().err(),
            Some(ConfigError::InvalidTrustedProxy("10.0.0.0/33".to_owned()))
        );
        assert!(
            "0.0.0.0/0"
                .parse::<Cidr>()
                .expect("any")
                .contains(ip("203.0.113.9"))
        );
        let limits = settings(&["--rate-limit-reads-per-minute=0"])
            .resolve()
            .expect("valid");
        assert_eq!(
            limits.rate_limits.reads_per_minute, None,
            "0 means no limit"
        );
    }

    #[test]
    fn out_of_range_numbers_are_refused_by_the_parser() {
        let parsed = Cli::try_parse_from(["bookstore-api", "--db-max-connections=0"]);
        assert!(parsed.is_err());
    }
}
