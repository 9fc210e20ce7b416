//! The bookstore API: an HTTP service over a catalogue of books, on MySQL or embedded SQLite.
//!
//! Data flows config → http (extract, validate with `book`) → store → response.

pub mod book;
pub mod config;
pub mod http;
pub mod server;
pub mod store;
