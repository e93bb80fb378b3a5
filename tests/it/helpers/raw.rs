//! Calling any RPC by its path with a raw protobuf payload, so the auth matrix covers every RPC in
//! the protos without typed client code for each.

use std::str::FromStr;

use bytes::{Buf, BufMut};
use http::uri::PathAndQuery;
use tonic::{
    Code, Request, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    transport::Channel,
};
use tonic_types::StatusExt;

#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// Streams that never end on their own: `call` reads their first message only.
const ENDLESS: &[&str] = &["/docket.v1.TaskService/WatchTasks"];

/// Calls `path` with `payload` (an encoded request message) and reads every response message
/// (of an endless stream, the first); works for unary and server-streaming RPCs alike.
pub async fn call(
    channel: Channel,
    path: &str,
    token: Option<&str>,
    payload: Vec<u8>,
) -> Result<Vec<Vec<u8>>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut request = Request::new(payload);
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("ascii token");
        request.metadata_mut().insert("authorization", value);
    }
    let endless = ENDLESS.contains(&path);
    let path = PathAndQuery::from_str(path).expect("a gRPC path");
    let mut stream = grpc
        .server_streaming(request, path, RawCodec)
        .await?
        .into_inner();
    let mut messages = Vec::new();
    while let Some(message) = stream.message().await? {
        messages.push(message);
        if endless {
            break;
        }
    }
    Ok(messages)
}

/// Calls `path` sending no request message at all (the request stream ends at once).
pub async fn call_without_message(channel: Channel, path: &str, token: &str) -> Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let mut request = Request::new(futures_util::stream::empty::<Vec<u8>>());
    let value = format!("Bearer {token}").parse().expect("ascii token");
    request.metadata_mut().insert("authorization", value);
    let path = PathAndQuery::from_str(path).expect("a gRPC path");
    match grpc.client_streaming(request, path, RawCodec).await {
        Ok(response) => panic!("{response:?}"),
        Err(status) => status,
    }
}

/// Asserts a failed call's code and `ErrorInfo` reason (domain `docket.v1`).
pub fn assert_error(status: &Status, code: Code, reason: &str, context: &str) {
    assert_eq!(status.code(), code, "{context}: {status:?}");
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("{context}: no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{context}");
    assert_eq!(info.domain, "docket.v1", "{context}");
}

/// The fields a validation error's BadRequest names, in order.
pub fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}
