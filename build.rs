//! Compiles `proto/` with protox (no system protoc) and writes the descriptor set that the
//! reflection service serves. `compile_fds` ignores `file_descriptor_set_path`, so the set is
//! encoded here by hand.

use std::{env, fs, path::PathBuf};

use prost::Message;

/// Files served by reflection besides Docket's own: the google.rpc error details (vendored under
/// their canonical paths, so clients resolve them like anywhere else) and the well-known types
/// they and Docket import, so grpcurl resolves every import through reflection alone.
const SERVED_DEPENDENCIES: &[&str] = &[
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
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
    compiler.open_files(SERVED_DEPENDENCIES)?;
    compiler.open_files(&protos)?;
    let mut fds = compiler.file_descriptor_set();

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join("docket_descriptor.bin"), fds.encode_to_vec())?;

    // Rust types only for Docket's package: google.rpc comes from tonic-types, google.protobuf
    // from prost-types.
    fds.file.retain(|file| file.package() == "docket.v1");
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
