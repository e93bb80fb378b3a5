//! The real `docket` binary as a child process, for what only a process can show: startup from
//! the command line, exit codes, stderr, and signals.

use std::{
    net::SocketAddr,
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use nix::{sys::signal::Signal, unistd::Pid};
use tonic::transport::Channel;
use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient};

use super::app::{channel, wait_for_status};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// `docket` with a clean environment: only what the test passes is configured.
pub fn docket(args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_docket"));
    command
        .args(args)
        .env_clear()
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// A running `docket serve` whose JSON log lines are collected as they come.
pub struct DocketProcess {
    pub addr: SocketAddr,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl DocketProcess {
    /// Starts `docket` (serve) on 127.0.0.1:0 with `envs`, and waits for its "listening" line.
    pub async fn start(envs: &[(&str, &str)]) -> Self {
        Self::spawn(docket(&[], &serve_envs(envs))).await
    }

    /// [`start`](Self::start), with at most `open_files` file descriptors (`ulimit -n`).
    pub async fn start_limited(envs: &[(&str, &str)], open_files: u32) -> Self {
        let mut command = Command::new("/bin/sh");
        command
            .args([
                "-c",
                &format!("ulimit -n {open_files} && exec \"$0\""),
                env!("CARGO_BIN_EXE_docket"),
            ])
            .env_clear()
            .envs(serve_envs(envs))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        Self::spawn(command).await
    }

    async fn spawn(mut command: Command) -> Self {
        let mut child = command.spawn().expect("spawn docket");
        let stdout = child.stdout.take().expect("stdout");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let collected = logs.clone();
        tokio::spawn(async move {
            let mut addr_tx = Some(addr_tx);
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = listening_addr(&line)
                    && let Some(tx) = addr_tx.take()
                {
                    let _ = tx.send(addr);
                }
                collected.lock().expect("lock").push(line);
            }
        });
        let addr = match tokio::time::timeout(Duration::from_secs(20), addr_rx).await {
            Ok(Ok(addr)) => addr,
            _ => {
                let _ = child.start_kill();
                let output = child.wait_with_output().await.expect("docket output");
                panic!(
                    "docket did not start listening; stderr: {}\nlogs: {:?}",
                    String::from_utf8_lossy(&output.stderr),
                    logs.lock().expect("lock")
                );
            }
        };
        Self { addr, child, logs }
    }

    /// A health client for this process, once it reports SERVING (within 10 s).
    pub async fn wait_until_serving(&self) -> HealthClient<Channel> {
        let mut health = HealthClient::new(channel(self.addr).await);
        wait_for_status(
            &mut health,
            "",
            ServingStatus::Serving,
            Duration::from_secs(10),
        )
        .await;
        health
    }

    pub fn signal(&self, signal: Signal) {
        let pid = self.child.id().expect("docket is running") as i32;
        nix::sys::signal::kill(Pid::from_raw(pid), signal).expect("send signal");
    }

    pub fn has_exited(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_some()
    }

    /// Waits for the process to exit, failing the test after `within`.
    pub async fn exit_status(&mut self, within: Duration) -> ExitStatus {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.expect("wait for docket"),
            Err(_) => panic!(
                "docket still running after {within:?}; logs: {:?}",
                self.logs()
            ),
        }
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("lock").clone()
    }
}

/// `envs` on top of what every test server runs with.
fn serve_envs<'a>(envs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![
        ("DOCKET_LISTEN", "127.0.0.1:0"),
        ("DOCKET_LOG_FORMAT", "json"),
        ("DOCKET_HEALTH_INTERVAL", "200ms"),
    ];
    all.extend_from_slice(envs);
    all
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value.get("message")?.as_str()? != "listening" {
        return None;
    }
    value.get("addr")?.as_str()?.parse().ok()
}
