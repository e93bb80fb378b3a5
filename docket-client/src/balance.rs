//! Following what a `dns:///` name resolves to, so that a balanced client sends calls to the
//! servers there are now: pods that come are added, pods that go are removed. gRPC's own DNS
//! resolver does the same; tonic has none, hence this small loop.

use std::{collections::BTreeSet, net::SocketAddr, time::Duration};

use tokio::sync::mpsc::Sender;
use tonic::transport::{Endpoint, channel::Change};

use crate::ConnectError;

/// How often a name is resolved again.
const REFRESH: Duration = Duration::from_secs(30);

/// Every address `name` (`host:port`) resolves to.
pub(crate) async fn resolve(name: &str) -> Result<BTreeSet<SocketAddr>, ConnectError> {
    let addresses: BTreeSet<SocketAddr> = tokio::net::lookup_host(name)
        .await
        .map_err(|e| ConnectError::Resolve(format!("{name}: {e}")))?
        .collect();
    if addresses.is_empty() {
        return Err(ConnectError::Resolve(format!("{name}: no address")));
    }
    Ok(addresses)
}

/// Resolves each name every [`REFRESH`] and tells the channel what changed, until the channel is
/// gone (every clone of the client dropped). A failed lookup keeps the addresses known.
pub(crate) async fn follow(
    mut targets: Vec<(String, BTreeSet<SocketAddr>)>,
    changes: Sender<Change<String, Endpoint>>,
    endpoint: impl Fn(SocketAddr) -> Option<Endpoint>,
) {
    loop {
        tokio::time::sleep(REFRESH).await;
        if changes.is_closed() {
            return;
        }
        for (name, known) in &mut targets {
            let Ok(now) = resolve(name).await else {
                continue;
            };
            for gone in known.difference(&now) {
                let _ = changes.send(Change::Remove(gone.to_string())).await;
            }
            for new in now.difference(known) {
                if let Some(endpoint) = endpoint(*new) {
                    let _ = changes
                        .send(Change::Insert(new.to_string(), endpoint))
                        .await;
                }
            }
            *known = now;
        }
    }
}
