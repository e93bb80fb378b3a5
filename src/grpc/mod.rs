//! The gRPC edge: generated protobuf types, the layers every call passes through (request ids and
//! logging, authentication), the codec, the one error mapping, and one adapter per service that
//! reads requests into domain values (`parse`), calls the domain, and writes the answer. Nothing
//! below this module knows tonic or the generated types.

pub mod assignments;
pub mod auth;
pub(crate) mod bare_errors;
pub(crate) mod call_log;
pub mod codec;
pub mod directory;
pub(crate) mod enums;
pub mod error;
pub(crate) mod parse;
pub(crate) mod reauthorize;
pub mod request_context;
mod sla_policies;
pub(crate) mod subject;
pub mod tasks;
pub mod templates;
pub mod webhooks;
pub mod workspace;

use chrono::{DateTime, Utc};
use tonic::{Request, Status};

use crate::auth::Caller;
use error::ApiError;

/// The authenticated caller, put in the request by the auth layer.
fn caller<T>(request: &Request<T>) -> Result<&Caller, Status> {
    request.extensions().get::<Caller>().ok_or_else(|| {
        // Only reachable if a Docket service were mounted outside the auth layer.
        ApiError::internal("request reached a handler without an authenticated caller").into()
    })
}

fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// Types generated from `proto/docket/v1/`.
pub mod pb {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("docket.v1");

    /// Descriptors of Docket's protos, google.rpc error details and the well-known types they
    /// import, for reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/docket_descriptor.bin"));

    /// `METHOD_SCOPES`: every Docket RPC's gRPC path and the scope it requires, from the
    /// `required_scope` option in the protos. `SERVICES`: every Docket service's full name.
    pub mod methods {
        use super::Scope;
        include!(concat!(env!("OUT_DIR"), "/method_scopes.rs"));
    }
}
