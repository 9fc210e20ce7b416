//! Leader election on a Lease: several replicas may run, one reconciles.

use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;

use crate::children::MANAGER;

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("cannot join the election: {0}")]
    Lease(#[from] kube_lease_manager::LeaseManagerError),
    #[error("the election stopped: {0}")]
    Stopped(String),
}

pub struct Leadership {
    channel: watch::Receiver<bool>,
}

impl Leadership {
    /// Joins the election and waits until this replica leads.
    pub async fn acquire(
        client: Client,
        namespace: &str,
        lease: &str,
        identity: &str,
    ) -> Result<Self, LeaderError> {
        let manager = LeaseManagerBuilder::new(client, lease)
            .with_namespace(namespace)
            .with_identity(identity)
            .with_duration(15)
            .with_grace(5)
            .with_field_manager(MANAGER)
            .build()
            .await?;
        let (mut channel, task) = manager.watch().await;
        tracing::info!(lease, identity, "waiting for leadership");
        while !*channel.borrow_and_update() {
            if channel.changed().await.is_err() {
                // The lease task ended before we led: report why, and let the pod restart.
                let reason = match task.await {
                    Ok(Err(error)) => error.to_string(),
                    Ok(Ok(_)) => "the lease manager stopped".to_owned(),
                    Err(error) => error.to_string(),
                };
                return Err(LeaderError::Stopped(reason));
            }
        }
        tracing::info!(lease, identity, "leading");
        Ok(Self { channel })
    }

    /// Resolves when leadership is lost.
    pub async fn lost(mut self) {
        while *self.channel.borrow_and_update() {
            if self.channel.changed().await.is_err() {
                break;
            }
        }
        tracing::warn!("leadership lost");
    }
}
