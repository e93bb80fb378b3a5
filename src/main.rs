//! The `docket` binary: `docket serve` (the default) and `docket migrate`. Startup failures print
//! one line with the real reason to stderr and exit 1.

use std::process::ExitCode;

use clap::Parser;
use docket::{
    Application,
    config::{Cli, Command},
    error::ErrorChain,
    telemetry,
};

fn main() -> ExitCode {
    let command = Cli::parse().into_command();
    // Multi-thread: the migration harness bridges sync diesel with block_in_place.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("docket: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome: Result<(), Box<dyn std::error::Error>> = runtime.block_on(async {
        match command {
            Command::Serve(config) => {
                telemetry::init(&config.log);
                let app = Application::build(config).await?;
                app.run_until_stopped(shutdown_signal()).await?;
            }
            Command::Admin(config) => docket::cli::run(config).await?,
            Command::Migrate(config) => {
                telemetry::init(&config.log);
                let applied = docket::db::prepare(&config.database).await?;
                tracing::info!(applied = applied.len(), "database is up to date");
            }
        }
        Ok(())
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docket: {}", ErrorChain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM (Kubernetes stopping the pod) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM; only SIGINT will stop the server");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
    }
}
