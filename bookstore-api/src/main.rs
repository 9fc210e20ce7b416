//! `bookstore-api`: command line wiring only.

use std::process::ExitCode;

use clap::Parser;

use bookstore_api::config::{Cli, Command};
use bookstore_api::server::{self, Application};

/// Invalid configuration (the same code clap uses for bad arguments).
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("error: cannot read .env: {error}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let cli = Cli::parse();
    let config = match cli.settings.resolve() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    bookstore_telemetry::init(config.log_format);
    tracing::info!(database = %config.database.describe(), "configuration loaded");

    let command = cli.command.unwrap_or(Command::Serve);
    let outcome = actix_web::rt::System::new().block_on(async move {
        match command {
            Command::Serve => {
                let app = Application::build(&config).map_err(|e| e.to_string())?;
                app.run_until_stopped().await.map_err(|e| e.to_string())
            }
            Command::Migrate => {
                server::migrate(&config).await.map_err(|e| e.to_string())?;
                tracing::info!("migrations applied");
                Ok(())
            }
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
