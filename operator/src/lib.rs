//! The bookstore operator: reconciles `Bookstore` resources into the workload that runs the API.
//!
//! Data flows crd (spec) → validate → children (desired objects) → reconcile (apply, observe)
//! → status (conditions) and Events.

pub mod children;
pub mod controller;
pub mod crd;
pub mod leader;
pub mod metrics;
pub mod rbac;
pub mod reconcile;
pub mod render;
pub mod server;
pub mod status;
pub mod validate;
