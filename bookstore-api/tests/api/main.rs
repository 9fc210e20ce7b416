//! The API through its HTTP interface, against SQLite always and MySQL when configured.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod auth;
mod binary;
mod books;
mod errors;
mod listing;
mod migrations;
mod operations;
mod outage;
mod validation;
