//! The bookstore operator: reconciles `Bookstore` resources into the workload that runs the API.
//!
//! Data flows crd (spec, with `rules`) → validate → inputs (the Secret values it references) → children (desired
//! objects) → compare with the caches → apply (only what differs) → status (conditions) and
//! Events. `controller` wires the watches that fill the caches and trigger reconciles.

pub mod apply;
pub mod cache;
pub mod children;
pub mod compare;
pub mod controller;
pub mod crd;
pub mod database_probe;
pub mod error;
pub mod inputs;
pub mod leader;
pub mod metrics;
pub mod problems;
pub mod rbac;
pub mod reconcile;
pub mod render;
pub mod rules;
pub mod server;
pub mod status;
pub mod validate;
pub mod zones;
