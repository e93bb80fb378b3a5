//! PostgreSQL over TLS, against a cluster of the test's own that takes TLS connections only, with
//! a CA the test makes: each sslmode connects or refuses as libpq's would, certificate checks
//! that must fail do fail, a client certificate authenticates, and a server runs on it.

use docket::{config::DatabaseConfig, db::pool::ConnectOptions};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::helpers::{
    app::TestApp, cluster::Cluster, database::database_config, process::docket, rpc::authorized,
};
use docket::grpc::pb::{self, workspace_service_client::WorkspaceServiceClient};

/// A CA, and a certificate it signs for `names` (or for the user `common_name`).
struct Authority {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("ca key");
        let pem = params.self_signed(&key).expect("ca certificate").pem();
        Authority {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// (certificate, key) as PEM.
    fn sign(&self, names: &[&str], common_name: &str) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        (cert.pem(), key.serialize_pem())
    }
}

/// The cluster's server certificate names `localhost` only, so 127.0.0.1 passes `verify-ca`
/// but not `verify-full`. `certuser` must present a client certificate; plain text is refused.
fn tls_only_cluster(ca: &Authority) -> Cluster {
    let (cert, key) = ca.sign(&["localhost"], "localhost");
    let cluster = Cluster::start(
        &[
            ("server.crt", cert.as_bytes()),
            ("server.key", key.as_bytes()),
            ("ca.crt", ca.pem.as_bytes()),
        ],
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'ca.crt'",
        "local all all trust\n\
         hostnossl all all 127.0.0.1/32 reject\n\
         hostssl all certuser 127.0.0.1/32 cert\n\
         hostssl all all 127.0.0.1/32 trust\n",
    );
    std::fs::write(cluster.path("ca.crt"), &ca.pem).expect("client's copy of the CA");
    cluster
}

fn config(url: String) -> DatabaseConfig {
    database_config(url)
}

/// Connects as the server would, and says whether the session is encrypted.
async fn session_is_tls(url: &str) -> Result<bool, String> {
    let options =
        ConnectOptions::new(&config(url.into()), "tls-test").map_err(|e| e.to_string())?;
    let client = options.connect_raw().await.map_err(|e| e.to_string())?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn each_sslmode_connects_or_refuses_as_libpq_would() {
    let ca = Authority::new("docket test CA");
    let stranger = Authority::new("someone else's CA");
    let cluster = tls_only_cluster(&ca);
    cluster.execute("CREATE ROLE certuser LOGIN").await;
    let port = cluster.port;
    let ca_file = cluster.path("ca.crt");
    let ca_file = ca_file.display();
    let other_ca = cluster.path("other-ca.crt");
    std::fs::write(&other_ca, &stranger.pem).expect("other CA");
    let other_ca = other_ca.display();
    let (client_cert, client_key) = ca.sign(&[], "certuser");
    std::fs::write(cluster.path("client.crt"), client_cert).expect("client cert");
    std::fs::write(cluster.path("client.key"), client_key).expect("client key");
    let (cert, key) = (cluster.path("client.crt"), cluster.path("client.key"));
    let (cert, key) = (cert.display(), key.display());

    let at = |host: &str, user: &str, params: String| {
        format!("postgres://{user}@{host}:{port}/postgres?{params}")
    };
    // (URL, Some(encrypted) if it connects, or a part of the refusal)
    let cases: Vec<(String, Result<bool, &str>)> = vec![
        (
            at("127.0.0.1", "postgres", "sslmode=disable".into()),
            Err("no encryption"),
        ),
        (at("127.0.0.1", "postgres", String::new()), Ok(true)),
        (
            at("127.0.0.1", "postgres", "sslmode=prefer".into()),
            Ok(true),
        ),
        (
            at("127.0.0.1", "postgres", "sslmode=require".into()),
            Ok(true),
        ),
        (
            at(
                "127.0.0.1",
                "postgres",
                format!("sslmode=verify-ca&sslrootcert={ca_file}"),
            ),
            Ok(true),
        ),
        (
            at(
                "localhost",
                "postgres",
                format!("sslmode=verify-full&sslrootcert={ca_file}"),
            ),
            Ok(true),
        ),
        // The certificate does not name 127.0.0.1.
        (
            at(
                "127.0.0.1",
                "postgres",
                format!("sslmode=verify-full&sslrootcert={ca_file}"),
            ),
            Err("certificate"),
        ),
        (
            at(
                "localhost",
                "postgres",
                format!("sslmode=verify-full&sslrootcert={other_ca}"),
            ),
            Err("certificate"),
        ),
        (
            at(
                "127.0.0.1",
                "postgres",
                format!("sslmode=verify-ca&sslrootcert={other_ca}"),
            ),
            Err("certificate"),
        ),
        // As libpq: require with a root certificate checks the chain.
        (
            at(
                "127.0.0.1",
                "postgres",
                format!("sslmode=require&sslrootcert={other_ca}"),
            ),
            Err("certificate"),
        ),
        (
            at("127.0.0.1", "postgres", "sslmode=verify-full".into()),
            Err("sslrootcert"),
        ),
        (
            at("127.0.0.1", "certuser", "sslmode=require".into()),
            Err("certuser"),
        ),
        (
            at(
                "localhost",
                "certuser",
                format!("sslmode=verify-full&sslrootcert={ca_file}&sslcert={cert}&sslkey={key}"),
            ),
            Ok(true),
        ),
    ];
    for (url, want) in cases {
        let got = session_is_tls(&url).await;
        match (&got, want) {
            (Ok(tls), Ok(want)) => assert_eq!(*tls, want, "{url}"),
            (Err(error), Err(says)) => assert!(error.contains(says), "{url}: {error}"),
            _ => panic!("{url}: got {got:?}, want {want:?}\n{}", cluster.log()),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_and_the_admin_cli_work_on_a_postgresql_that_takes_tls_only() {
    let ca = Authority::new("docket test CA");
    let cluster = tls_only_cluster(&ca);
    let url = format!(
        "postgres://postgres@localhost:{}/docket?sslmode=verify-full&sslrootcert={}",
        cluster.port,
        cluster.path("ca.crt").display()
    );
    // The server creates its database on the cluster and migrates it, over TLS.
    let database = config(url.clone());
    let app = TestApp::builder()
        .configure(move |config| config.database = database)
        .spawn()
        .await;
    let output = docket(
        &["admin", "workspace", "create", "--name", "tls", "--json"],
        &[("DATABASE_URL", &url)],
    )
    .output()
    .await
    .expect("run docket admin");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let secret = created["token"]["secret"].as_str().expect("secret");
    let workspace = WorkspaceServiceClient::new(app.channel().await)
        .get_workspace(authorized(pb::GetWorkspaceRequest {}, secret))
        .await
        .expect("a call served from the TLS-only database")
        .into_inner();
    assert_eq!(workspace.workspace.expect("workspace").name, "tls");
    app.stop().await;
}
