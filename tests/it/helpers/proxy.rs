//! A TCP proxy between Docket and PostgreSQL that a test can cut and restore, to simulate the
//! database becoming unreachable without stopping the shared PostgreSQL server.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::{
    net::{TcpListener, TcpStream},
    task::{AbortHandle, JoinHandle},
};

pub struct TcpProxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    accept_loop: JoinHandle<()>,
}

#[derive(Default)]
struct State {
    cut: AtomicBool,
    connections: Mutex<Vec<AbortHandle>>,
}

impl TcpProxy {
    pub async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let state = Arc::new(State::default());
        let accept_state = state.clone();
        let accept_loop = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if accept_state.cut.load(Ordering::SeqCst) {
                    continue; // dropping the socket refuses the connection
                }
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
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
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept_loop.abort();
    }
}
