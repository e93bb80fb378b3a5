//! Generates the client from Docket's own protos (`../proto`), with protox: no system protoc.
//! Only client code, and google.rpc from tonic-types, as the server does.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../proto");
    let mut protos: Vec<std::path::PathBuf> = std::fs::read_dir("../proto/docket/v1")?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    protos.retain(|p| p.extension().is_some_and(|ext| ext == "proto"));
    protos.sort();
    let fds = protox::compile(&protos, ["../proto"])?;
    tonic_prost_build::configure()
        .extern_path(".google.rpc", "::tonic_types::pb")
        .build_server(false)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
