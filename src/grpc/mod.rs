//! The gRPC edge: generated protobuf types, and the layers every call passes through. Service
//! adapters that turn proto requests into domain calls live in submodules, one per service.

pub mod request_context;

/// Types generated from `proto/docket/v1/`.
pub mod pb {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("docket.v1");

    /// Descriptors of Docket's protos, google.rpc error details and the well-known types they
    /// import, for reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/docket_descriptor.bin"));
}
