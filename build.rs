//! Compiles `proto/` with protox (no system protoc), writes the descriptor set that the
//! reflection service serves (`compile_fds` ignores `file_descriptor_set_path`, so the set is
//! encoded here by hand), and generates the table of the scope each RPC requires from its
//! `docket.v1.required_scope` option, failing the build when an RPC declares none. The build also
//! fails when a service, RPC, message, field, enum or enum value of Docket's API has no comment,
//! or an RPC's comment does not name the scope it requires: the comments are the API's reference
//! (`grpcurl describe` shows them), so they cannot fall behind the protos.

use std::{env, fmt::Write as _, fs, path::PathBuf};

use prost::Message;
use prost_reflect::{DescriptorPool, Value};

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
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    // `embed_migrations!` tracks the files it read, not the directory: without this a new
    // migration would not be embedded until something else changed.
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rustc-env=DOCKET_GIT_REVISION={}", git_revision());

    let mut protos: Vec<PathBuf> = fs::read_dir("proto/docket/v1")?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    protos.retain(|p| p.extension().is_some_and(|ext| ext == "proto"));
    protos.sort();

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(SERVED_DEPENDENCIES)?;
    compiler.open_files(&protos)?;
    let fds = compiler.file_descriptor_set();
    let undocumented = undocumented(&compiler.descriptor_pool());
    if !undocumented.is_empty() {
        return Err(format!(
            "these parts of the API have no comment (or an RPC's comment lacks its scope): {}",
            undocumented.join(", ")
        )
        .into());
    }

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join("docket_descriptor.bin"), fds.encode_to_vec())?;
    fs::write(
        out_dir.join("method_scopes.rs"),
        method_scopes(&compiler.descriptor_pool())?,
    )?;

    // Rust types only for Docket's package: google.rpc comes from tonic-types, google.protobuf
    // from prost-types. Services decode with Docket's codec, which reports an undecodable body as
    // the caller's error.
    tonic_prost_build::configure()
        .extern_path(".google.rpc", "::tonic_types::pb")
        .codec_path("crate::grpc::codec::EdgeCodec")
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}

/// Rust source for `METHOD_SCOPES` (gRPC path → required scope), `STREAMING_METHODS` (the
/// paths of the RPCs that answer with a stream) and `SERVICES` (every Docket service's full
/// name).
fn method_scopes(pool: &DescriptorPool) -> Result<String, Box<dyn std::error::Error>> {
    let option = pool
        .get_extension_by_name("docket.v1.required_scope")
        .ok_or("docket.v1.required_scope is not defined")?;
    let scope_enum = pool
        .get_enum_by_name("docket.v1.Scope")
        .ok_or("docket.v1.Scope missing")?;
    let mut table = String::from("pub const METHOD_SCOPES: &[(&str, Scope)] = &[\n");
    let mut services = String::from("pub const SERVICES: &[&str] = &[\n");
    let mut streaming = String::from("pub const STREAMING_METHODS: &[&str] = &[\n");
    for service in pool.services().filter(|s| s.package_name() == "docket.v1") {
        writeln!(services, "    {:?},", service.full_name())?;
        for method in service.methods() {
            let options = method.options();
            let number = match options
                .has_extension(&option)
                .then(|| options.get_extension(&option))
            {
                Some(value) => match value.as_ref() {
                    Value::EnumNumber(n) if *n != 0 => *n,
                    _ => 0,
                },
                None => 0,
            };
            let value = scope_enum
                .get_value(number)
                .filter(|_| number != 0)
                .ok_or_else(|| {
                    format!(
                        "{} declares no docket.v1.required_scope option",
                        method.full_name()
                    )
                })?;
            let contract = value
                .name()
                .trim_start_matches("SCOPE_")
                .to_lowercase()
                .replacen('_', ":", 1);
            let says_scope = method
                .parent_file()
                .file_descriptor_proto()
                .source_code_info
                .iter()
                .flat_map(|info| &info.location)
                .filter(|location| location.path == method.path())
                .any(|location| {
                    location
                        .leading_comments()
                        .contains(&format!("Requires the {contract} scope."))
                });
            if !says_scope {
                return Err(format!(
                    "the comment of {} does not say \"Requires the {contract} scope.\"",
                    method.full_name()
                )
                .into());
            }
            let variant: String = value
                .name()
                .trim_start_matches("SCOPE_")
                .split('_')
                .map(|word| word[..1].to_owned() + &word[1..].to_lowercase())
                .collect();
            let path = format!("/{}/{}", service.full_name(), method.name());
            writeln!(table, "    ({path:?}, Scope::{variant}),")?;
            if method.is_server_streaming() {
                writeln!(streaming, "    {path:?},")?;
            }
        }
    }
    table.push_str("];\n");
    services.push_str("];\n");
    streaming.push_str("];\n");
    Ok(format!(
        "// Generated by build.rs from proto/docket/v1.\n{table}{streaming}{services}"
    ))
}

/// What in Docket's package lacks a leading or trailing comment, and the RPCs whose comment does
/// not say "Requires the <scope> scope." for the scope they declare.
fn undocumented(pool: &DescriptorPool) -> Vec<String> {
    use std::collections::HashMap;
    let mut comments: HashMap<(String, Vec<i32>), String> = HashMap::new();
    for file in pool.files().filter(|f| f.package_name() == "docket.v1") {
        let proto = file.file_descriptor_proto();
        for location in proto
            .source_code_info
            .iter()
            .flat_map(|info| &info.location)
        {
            let text = format!(
                "{}{}",
                location.leading_comments(),
                location.trailing_comments()
            );
            if !text.trim().is_empty() {
                comments.insert((file.name().to_owned(), location.path.clone()), text);
            }
        }
    }
    let comment = |file: &prost_reflect::FileDescriptor, path: &[i32]| {
        comments.get(&(file.name().to_owned(), path.to_vec()))
    };
    let mut missing = Vec::new();
    let mut check = |file: &prost_reflect::FileDescriptor, path: &[i32], name: &str| {
        if comment(file, path).is_none() {
            missing.push(name.to_owned());
        }
    };
    for message in pool
        .all_messages()
        .filter(|m| m.package_name() == "docket.v1")
    {
        let file = message.parent_file();
        check(&file, message.path(), message.full_name());
        for field in message.fields() {
            check(&file, field.path(), field.full_name());
        }
        for oneof in message.oneofs().filter(|o| !o.is_synthetic()) {
            check(&file, oneof.path(), oneof.full_name());
        }
    }
    for enumeration in pool.all_enums().filter(|e| e.package_name() == "docket.v1") {
        let file = enumeration.parent_file();
        check(&file, enumeration.path(), enumeration.full_name());
        for value in enumeration.values() {
            check(&file, value.path(), value.full_name());
        }
    }
    for service in pool.services().filter(|s| s.package_name() == "docket.v1") {
        let file = service.parent_file();
        check(&file, service.path(), service.full_name());
        for method in service.methods() {
            check(&file, method.path(), method.full_name());
        }
    }
    for extension in pool
        .all_extensions()
        .filter(|e| e.package_name() == "docket.v1")
    {
        check(
            &extension.parent_file(),
            extension.path(),
            extension.full_name(),
        );
    }
    missing
}

/// The revision being built: DOCKET_GIT_REVISION when set (an image build, which has no `.git`),
/// else the checkout's commit (`git describe --always`), else `unknown`.
fn git_revision() -> String {
    println!("cargo:rerun-if-env-changed=DOCKET_GIT_REVISION");
    if let Ok(revision) = env::var("DOCKET_GIT_REVISION") {
        return revision;
    }
    // HEAD and the branches move on commit and checkout.
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if fs::metadata(path).is_ok() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    std::process::Command::new("git")
        .args(["describe", "--always", "--abbrev=12"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|revision| revision.trim().to_owned())
        .filter(|revision| !revision.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
