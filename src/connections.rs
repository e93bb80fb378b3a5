//! Accepting client connections with bounds tonic does not set itself: a connection that sends
//! nothing within the handshake timeout, or has had no call running for the idle timeout, is
//! closed (gRPC's MAX_CONNECTION_IDLE); running out of file descriptors is logged, and accepting
//! pauses briefly instead of spinning. Keepalive pings, the maximum connection age and the stream
//! limit are HTTP/2 settings, set in `server`.
//!
//! Each connection counts the calls running on it ([`Activity`]): the request context layer
//! registers every call with [`track_call`], through the connection info tonic puts in each
//! request. An idle connection is closed without a GOAWAY: it has no call to lose, and gRPC
//! clients reconnect on their next call.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll, ready},
    time::Duration,
};

use futures_util::Stream;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    time::{Instant, Sleep},
};
use tonic::transport::server::{Connected, TlsConnectInfo};

/// How long accepting pauses after the process ran out of file descriptors, and how often that
/// is logged at most.
const EXHAUSTED_PAUSE: Duration = Duration::from_millis(100);
const EXHAUSTED_LOG_EVERY: Duration = Duration::from_secs(10);

/// Limits of each accepted connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Until the first byte from the client.
    pub handshake_timeout: Duration,
    /// With no call running.
    pub idle_timeout: Duration,
}

/// The listening socket as tonic's stream of accepted connections.
pub struct Incoming {
    listener: TcpListener,
    limits: Limits,
    paused: Option<Pin<Box<Sleep>>>,
    exhausted_logged: Option<Instant>,
    exhausted_since_log: u64,
}

impl Incoming {
    pub fn new(listener: TcpListener, limits: Limits) -> Self {
        Self {
            listener,
            limits,
            paused: None,
            exhausted_logged: None,
            exhausted_since_log: 0,
        }
    }

    fn exhausted(&mut self, error: &io::Error) {
        self.exhausted_since_log += 1;
        if self
            .exhausted_logged
            .is_none_or(|at| at.elapsed() >= EXHAUSTED_LOG_EVERY)
        {
            tracing::error!(
                error = %error,
                refused = self.exhausted_since_log,
                "cannot accept connections: out of file descriptors (raise the limit, `ulimit -n`, or lower DOCKET_MAX_CONNECTION_IDLE)"
            );
            self.exhausted_logged = Some(Instant::now());
            self.exhausted_since_log = 0;
        }
    }
}

/// EMFILE (this process) or ENFILE (the whole system), and the socket buffers running out.
fn is_exhaustion(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(23 | 24 | 105))
}

impl Stream for Incoming {
    type Item = io::Result<Connection>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(pause) = self.paused.as_mut() {
                ready!(pause.as_mut().poll(cx));
                self.paused = None;
            }
            match ready!(self.listener.poll_accept(cx)) {
                Ok((stream, peer)) => {
                    // Replies are small and latency-bound; Nagle would hold them back.
                    let _ = stream.set_nodelay(true);
                    return Poll::Ready(Some(Ok(Connection::new(stream, peer, self.limits))));
                }
                Err(e) if is_exhaustion(&e) => {
                    self.exhausted(&e);
                    self.paused = Some(Box::pin(tokio::time::sleep(EXHAUSTED_PAUSE)));
                }
                // A client that gave up while queued (ECONNABORTED and the like): next.
                Err(e) => tracing::debug!(error = %e, "accepting a connection failed"),
            }
        }
    }
}

/// What a connection knows of its calls.
#[derive(Debug)]
pub struct Activity {
    calls: AtomicUsize,
    /// When the last call ended, in milliseconds since `epoch`.
    last_call_ended_ms: AtomicU64,
    epoch: Instant,
}

impl Activity {
    fn idle_since(&self) -> Option<Instant> {
        if self.calls.load(Ordering::Acquire) > 0 {
            return None;
        }
        let ms = self.last_call_ended_ms.load(Ordering::Acquire);
        Some(self.epoch + Duration::from_millis(ms))
    }
}

/// Keeps a call counted on its connection until dropped.
#[derive(Debug)]
pub struct CallOnConnection(Arc<Activity>);

impl Drop for CallOnConnection {
    fn drop(&mut self) {
        let activity = &self.0;
        let ms = activity.epoch.elapsed().as_millis() as u64;
        activity.last_call_ended_ms.store(ms, Ordering::Release);
        activity.calls.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Connection info tonic puts in every request's extensions.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    pub peer: SocketAddr,
    activity: Arc<Activity>,
}

/// Counts the call in `extensions` on its connection, until the returned guard is dropped. None
/// when the request did not come through [`Incoming`] (tests that call services directly).
pub fn track_call(extensions: &http::Extensions) -> Option<CallOnConnection> {
    let info = extensions.get::<ConnectionInfo>().or_else(|| {
        extensions
            .get::<TlsConnectInfo<ConnectionInfo>>()
            .map(TlsConnectInfo::get_ref)
    })?;
    info.activity.calls.fetch_add(1, Ordering::AcqRel);
    Some(CallOnConnection(info.activity.clone()))
}

/// An accepted TCP connection that closes itself when it outstays its limits.
pub struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    limits: Limits,
    activity: Arc<Activity>,
    greeted: bool,
    check: Pin<Box<Sleep>>,
}

impl Connection {
    fn new(stream: TcpStream, peer: SocketAddr, limits: Limits) -> Self {
        let epoch = Instant::now();
        Self {
            stream,
            peer,
            limits,
            activity: Arc::new(Activity {
                calls: AtomicUsize::new(0),
                last_call_ended_ms: AtomicU64::new(0),
                epoch,
            }),
            greeted: false,
            check: Box::pin(tokio::time::sleep_until(epoch + limits.handshake_timeout)),
        }
    }

    /// Whether the connection has outstayed a limit; otherwise re-arms the check for the next
    /// moment it could.
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<&'static str> {
        while self.check.as_mut().poll(cx).is_ready() {
            if !self.greeted {
                return Some("no HTTP/2 preface within the handshake timeout");
            }
            let next = match self.activity.idle_since() {
                Some(since) if since.elapsed() >= self.limits.idle_timeout => {
                    return Some("no call within the idle timeout");
                }
                Some(since) => since + self.limits.idle_timeout,
                None => Instant::now() + self.limits.idle_timeout,
            };
            self.check.as_mut().reset(next);
        }
        None
    }
}

impl Connected for Connection {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> ConnectionInfo {
        ConnectionInfo {
            peer: self.peer,
            activity: self.activity.clone(),
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() > before && !this.greeted => {
                this.greeted = true;
                // From now on the check is for idleness.
                let first = Instant::now() + this.limits.idle_timeout;
                this.check.as_mut().reset(first);
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.expired(cx) {
                Some(why) => {
                    tracing::debug!(peer = %this.peer, why, "closing connection");
                    // End of stream: the HTTP/2 connection ends, and with it the socket.
                    Poll::Ready(Ok(()))
                }
                None => Poll::Pending,
            },
            other => other,
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
