//! Per-call balancing: one `docket-client` over three servers on one database sends its calls to
//! all three, and one that names them by `dns:///` finds them by resolving the name.

use docket_client::{Docket, pb};

use crate::helpers::{app::Replica, scrape, team::Team};

const GET_WORKSPACE_OK: &str =
    "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"GetWorkspace\"";

#[tokio::test(flavor = "multi_thread")]
async fn one_clients_calls_spread_over_every_server() {
    let team = Team::new().await;
    let replicas = [
        Replica::start(team.app.db.url()).await,
        Replica::start(team.app.db.url()).await,
    ];
    let mut servers = vec![(team.app.addr, team.app.metrics_addr)];
    servers.extend(replicas.iter().map(|r| (r.addr, r.metrics_addr)));
    let endpoints = servers.iter().map(|(addr, _)| format!("http://{addr}"));
    let docket = Docket::balanced(endpoints, team.admin.clone())
        .connect()
        .await
        .expect("connect");

    for _ in 0..90 {
        docket
            .workspace()
            .get_workspace(pb::GetWorkspaceRequest {})
            .await
            .expect("GetWorkspace");
    }
    let mut served = Vec::new();
    for (_, metrics) in &servers {
        let metrics = metrics.expect("test servers serve metrics");
        served.push(scrape::sum(metrics, GET_WORKSPACE_OK).await);
    }
    assert_eq!(served.iter().sum::<f64>(), 90.0, "{served:?}");
    // Sequential calls on idle servers: p2c spreads them about evenly; each gets a fair share.
    assert!(
        served.iter().all(|n| *n >= 10.0),
        "every server takes calls: {served:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dns_name_is_resolved_to_the_servers_behind_it() {
    let team = Team::new().await;
    let name = format!("dns:///localhost:{}", team.app.addr.port());
    let docket = Docket::builder(name, team.admin.clone())
        .connect()
        .await
        .expect("resolves");
    for _ in 0..5 {
        docket
            .workspace()
            .get_workspace(pb::GetWorkspaceRequest {})
            .await
            .expect("GetWorkspace through the resolved address");
    }
    let unknown = Docket::builder("dns:///no-such-host.invalid:50051", "dkt_x")
        .connect()
        .await;
    assert!(
        unknown.is_err(),
        "a name that resolves to nothing is an error"
    );
}
