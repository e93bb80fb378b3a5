//! The gRPC edge: text and wire input, request ids, reflection, connections, TLS.

mod connections;
mod reflection;
mod request_id;
mod text;
mod tls;
mod wire;
