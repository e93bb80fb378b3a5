//! A TCP proxy between Docket and PostgreSQL that a test can cut and restore, to simulate the
//! database becoming unreachable without stopping the shared PostgreSQL server, or stall and
//! resume, to simulate a database that hangs (frozen, not gone): connections stay open, and
//! nothing passes either way until it resumes.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::watch,
    task::{AbortHandle, JoinHandle},
};

pub struct TcpProxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    accept_loop: JoinHandle<()>,
}

struct State {
    cut: AtomicBool,
    stalled: watch::Sender<bool>,
    connections: Mutex<Vec<AbortHandle>>,
}

impl TcpProxy {
    pub async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let state = Arc::new(State {
            cut: AtomicBool::new(false),
            stalled: watch::Sender::new(false),
            connections: Mutex::new(Vec::new()),
        });
        let accept_state = state.clone();
        let accept_loop = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if accept_state.cut.load(Ordering::SeqCst) {
                    continue; // dropping the socket refuses the connection
                }
                let target = target.clone();
                let stalled = accept_state.stalled.subscribe();
                let pipe = tokio::spawn(async move {
                    wait_while_stalled(stalled.clone()).await;
                    let Ok(outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (in_read, in_write) = inbound.into_split();
                    let (out_read, out_write) = outbound.into_split();
                    tokio::select! {
                        () = forward(in_read, out_write, stalled.clone()) => {}
                        () = forward(out_read, in_write, stalled) => {}
                    }
                });
                accept_state
                    .connections
                    .lock()
                    .expect("lock")
                    .push(pipe.abort_handle());
            }
        });
        Self {
            addr,
            state,
            accept_loop,
        }
    }

    /// Closes every proxied connection and refuses new ones, like a database that went away.
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        for connection in self.state.connections.lock().expect("lock").drain(..) {
            connection.abort();
        }
    }

    pub fn restore(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }

    /// Holds every byte in both directions, and new connections at their start, like a database
    /// that hangs (SIGSTOP): nothing is refused or closed, nothing answers.
    pub fn stall(&self) {
        self.state.stalled.send_replace(true);
    }

    /// Lets everything held by [`stall`](Self::stall) through, in order.
    pub fn resume(&self) {
        self.state.stalled.send_replace(false);
    }
}

async fn wait_while_stalled(mut stalled: watch::Receiver<bool>) {
    let _ = stalled.wait_for(|stalled| !*stalled).await;
}

/// Copies one direction, holding what it read while the proxy is stalled.
async fn forward(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, stalled: watch::Receiver<bool>) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        wait_while_stalled(stalled.clone()).await;
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept_loop.abort();
    }
}
