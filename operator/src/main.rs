//! Placeholder until the operator issue lands: the crate exists so the workspace is complete.
use clap::Parser;

/// Kubernetes operator for Bookstore resources (not implemented yet).
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    Cli::parse();
    eprintln!("bookstore-operator: not implemented yet");
    std::process::exit(1);
}
