//! The codec of Docket's generated services (set in `build.rs`): prost's, except that a body which
//! does not decode as the method's request message is the caller's error, INVALID_ARGUMENT with
//! reason MALFORMED_REQUEST, like every other bad input, instead of tonic's bare INTERNAL.

use std::marker::PhantomData;

use prost::Message;
use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::ProstCodec;

use super::error::ApiError;

/// prost's codec with decode failures reported as the caller's error.
#[derive(Debug, Clone)]
pub struct EdgeCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for EdgeCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for EdgeCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = <ProstCodec<T, U> as Codec>::Encoder;
    type Decoder = EdgeDecoder<<ProstCodec<T, U> as Codec>::Decoder>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        EdgeDecoder(ProstCodec::<T, U>::raw_decoder(BufferSettings::default()))
    }
}

/// prost's decoder, whose only failure is a body that is not the message.
#[derive(Debug)]
pub struct EdgeDecoder<D>(D);

impl<D> Decoder for EdgeDecoder<D>
where
    D: Decoder<Error = Status>,
{
    type Item = D::Item;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        // prost's message is "failed to decode Protobuf message: <what the decoder found>".
        self.0.decode(buf).map_err(|status| {
            let why = status.message();
            let why = why
                .strip_prefix("failed to decode Protobuf message: ")
                .unwrap_or(why);
            ApiError::Malformed(why.to_owned()).into()
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
