//! A PostgreSQL cluster of a test's own (initdb in a temporary directory, on a free port), for
//! settings the shared test server must not take, such as TLS only. Stopped and removed on drop.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

pub struct Cluster {
    dir: PathBuf,
    pub port: u16,
}

/// Runs a PostgreSQL program as the user that may own a cluster (`postgres` when the tests run
/// as root, which initdb refuses).
fn postgres_command(program: &str) -> Command {
    let bindir = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("pg_config (PostgreSQL's server packages) is needed for this test");
    let path = Path::new(String::from_utf8_lossy(&bindir.stdout).trim()).join(program);
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn run(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Cluster {
    /// A new cluster with `files` written into its data directory (key files get mode 0600),
    /// `conf` appended to postgresql.conf and `hba` as the whole of pg_hba.conf; started.
    pub fn start(files: &[(&str, &[u8])], conf: &str, hba: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("docket-cluster-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("cluster directory");
        if running_as_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres:postgres").arg(&dir);
                    c
                },
                "chown the cluster directory",
            );
        }
        let data = dir.join("data");
        let mut initdb = postgres_command("initdb");
        initdb
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data);
        run(initdb, "initdb");

        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        for (name, content) in files {
            let path = data.join(name);
            std::fs::write(&path, content).expect("cluster file");
            if name.ends_with(".key") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .expect("key mode");
            }
        }
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nfsync = off\n{conf}\n",
            dir.display()
        );
        append(&data.join("postgresql.conf"), &conf);
        std::fs::write(data.join("pg_hba.conf"), hba).expect("pg_hba.conf");
        if running_as_root() {
            let mut chown = Command::new("chown");
            chown.arg("-R").arg("postgres:postgres").arg(&data);
            run(chown, "chown the data directory");
        }
        let mut start = postgres_command("pg_ctl");
        start
            .args(["-w", "-t", "30", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(dir.join("log"))
            .arg("start");
        run(start, "pg_ctl start");
        Cluster { dir, port }
    }

    /// A path inside the cluster's directory, for files a client reads.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs `sql` as the superuser, over the cluster's Unix socket (which needs no TLS).
    pub async fn execute(&self, sql: &str) {
        let socket = format!(
            "host={} port={} user=postgres dbname=postgres",
            self.dir.display(),
            self.port
        );
        let client = super::database::connect(&socket).await;
        client.batch_execute(sql).await.expect(sql);
    }

    /// What the server logged, for a failing assertion's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("postgresql.conf");
    file.write_all(text.as_bytes()).expect("append");
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut stop = postgres_command("pg_ctl");
        stop.args(["-m", "immediate", "-D"])
            .arg(self.dir.join("data"))
            .arg("stop");
        let _ = stop.output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
