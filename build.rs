//! Compiles `proto/` with protox (no system protoc) and writes the descriptor set that the
//! reflection service serves. `compile_fds` ignores `file_descriptor_set_path`, so the set is
//! encoded here by hand.

use std::{env, fs, path::PathBuf};

use prost::Message;

/// Well-known types some served descriptor depends on (google.rpc details import Duration and Any).
/// Shipping them lets grpcurl resolve every import through reflection alone.
const WELL_KNOWN: &[&str] = &[
    "google/protobuf/any.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/timestamp.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");

    let mut protos: Vec<PathBuf> = fs::read_dir("proto/docket/v1")?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    protos.retain(|p| p.extension().is_some_and(|ext| ext == "proto"));
    protos.sort();

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(WELL_KNOWN)?;
    compiler.open_files(&protos)?;
    let fds = compiler.file_descriptor_set();

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join("docket_descriptor.bin"), fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
