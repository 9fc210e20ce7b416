//! A TCP relay to a server on this machine's loopback (MariaDB) that a test can cut (connections
//! closed, new ones refused) or black-hole (nothing relayed, refused or closed, as when a network
//! drops the packets), and restore. Used by the platform suite, and by bookstore-api's outage
//! tests (which include this file).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub struct Relay {
    pub addr: SocketAddr,
    target: SocketAddr,
    /// While true, every connection, old or new, hangs.
    holding: watch::Sender<bool>,
    accepting: Option<JoinHandle<()>>,
}

impl Relay {
    /// Listens on `ip` (a free port) and relays to `target`.
    pub async fn start(ip: &str, target: SocketAddr) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind the relay");
        let addr = listener.local_addr().unwrap();
        let (holding, watching) = watch::channel(false);
        Self {
            addr,
            target,
            holding,
            accepting: Some(tokio::spawn(relay(listener, target, watching))),
        }
    }

    /// Closes every relayed connection and refuses new ones.
    pub async fn cut(&mut self) {
        if let Some(accepting) = self.accepting.take() {
            accepting.abort();
            let _ = accepting.await;
        }
    }

    /// From now on nothing passes, in either direction, and nothing is closed or refused.
    pub fn blackhole(&self) {
        self.holding.send_replace(true);
    }

    /// Relays again, on the same port; connections held by a black hole are closed.
    pub async fn restore(&mut self) {
        self.holding.send_replace(false);
        if self.accepting.is_none() {
            let listener = TcpListener::bind(self.addr)
                .await
                .expect("rebind the relay's port");
            let watching = self.holding.subscribe();
            self.accepting = Some(tokio::spawn(relay(listener, self.target, watching)));
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(accepting) = &self.accepting {
            accepting.abort();
        }
    }
}

async fn relay(listener: TcpListener, target: SocketAddr, holding: watch::Receiver<bool>) {
    // Every connection lives in this task's set: ending the task closes them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut inbound, _)) = accepted else { continue };
                let mut holding = holding.clone();
                connections.spawn(async move {
                    let open = !*holding.borrow();
                    if open
                        && let Ok(mut outbound) = TcpStream::connect(target).await
                    {
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => return,
                            _ = holding.wait_for(|held| *held) => {}
                        }
                    }
                    // Held: open and unanswered until the hole is mended, then closed.
                    let _ = holding.wait_for(|held| !*held).await;
                });
            }
            Some(_) = connections.join_next() => {}
        }
    }
}
