//! Opening PostgreSQL connections the way every part of Docket wants them: with a connect timeout,
//! a statement timeout, and an application name, and with errors that keep PostgreSQL's own reason
//! (a pool would hide a refused connection behind its own timeout).

use std::{str::FromStr, time::Duration};

use diesel_async::AsyncPgConnection;
use tokio_postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::tls::TlsParams;
use crate::config::DatabaseConfig;

/// Where and how to connect, parsed and checked once from [`DatabaseConfig`].
#[derive(Clone)]
pub struct ConnectOptions {
    pg: tokio_postgres::Config,
    /// The URL with any password replaced, for messages.
    display: String,
    connect_timeout: Duration,
    /// The TLS handshake the URL's sslmode and certificates ask for (`tls`).
    tls: MakeRustlsConnect,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    InvalidUrl(String),
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Refused {
        target: String,
        reason: String,
        code: Option<SqlState>,
    },
    #[error("cannot connect to PostgreSQL at {target}: no answer within {timeout:?}")]
    TimedOut { target: String, timeout: Duration },
    #[error("connected to PostgreSQL at {target} but could not set the session up: {reason}")]
    Setup { target: String, reason: String },
}

impl ConnectError {
    /// The server answered that the database does not exist (as opposed to being unreachable).
    pub fn is_missing_database(&self) -> bool {
        matches!(self, ConnectError::Refused { code: Some(code), .. } if *code == SqlState::INVALID_CATALOG_NAME)
    }

    /// Worth trying again later: nothing answered, or the server said it cannot take connections
    /// right now (starting up, shutting down, full). A malformed URL, or a server that refused
    /// these credentials or this database, will say the same next time.
    pub fn is_transient(&self) -> bool {
        match self {
            ConnectError::InvalidUrl(_) => false,
            ConnectError::TimedOut { .. } | ConnectError::Setup { .. } => true,
            ConnectError::Refused { code: None, .. } => true,
            ConnectError::Refused {
                code: Some(code), ..
            } => [
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::TOO_MANY_CONNECTIONS,
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
            ]
            .contains(code),
        }
    }
}

impl ConnectOptions {
    /// Parses the URL and fixes the per-session settings every Docket connection carries.
    pub fn new(config: &DatabaseConfig, application_name: &str) -> Result<Self, ConnectError> {
        let url = url::Url::parse(&config.database_url)
            .map_err(|e| ConnectError::InvalidUrl(e.to_string()))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(ConnectError::InvalidUrl(format!(
                "scheme must be postgres:// or postgresql://, not {}://",
                url.scheme()
            )));
        }
        let (without_tls, tls) = split_tls_params(&url)?;
        let mut pg = tokio_postgres::Config::from_str(without_tls.as_str())
            .map_err(|e| ConnectError::InvalidUrl(e.to_string()))?;
        pg.ssl_mode(tls.ssl_mode());
        let tls = tls.connector().map_err(ConnectError::InvalidUrl)?;
        if pg.get_dbname().is_none_or(str::is_empty) {
            return Err(ConnectError::InvalidUrl(
                "it names no database (postgres://user@host:port/DATABASE)".into(),
            ));
        }
        if pg.get_user().is_none() {
            return Err(ConnectError::InvalidUrl(
                "it names no user (postgres://USER@host:port/database)".into(),
            ));
        }

        // PostgreSQL enforces the statement timeout itself, so a runaway query is cancelled on the
        // server rather than merely abandoned by us.
        let timeout_ms = config.statement_timeout.as_millis();
        // No parallel workers by default: Docket's queries are short, and starting workers cost a
        // page of 50 tasks (an assignee filter on 1,000,000 tasks) 16 ms against 9 ms without. It
        // comes first so that `options` in DATABASE_URL can set it back.
        let options = format!(
            "-c max_parallel_workers_per_gather=0 {} -c statement_timeout={timeout_ms}",
            pg.get_options().unwrap_or_default()
        );
        pg.options(options)
            .application_name(application_name)
            .connect_timeout(config.connect_timeout);

        let mut display = url;
        if display.password().is_some() {
            // Only fails for URLs that cannot have a password, which this one evidently can.
            let _ = display.set_password(Some("********"));
        }
        Ok(Self {
            pg,
            display: display.to_string(),
            connect_timeout: config.connect_timeout,
            tls,
        })
    }

    /// The same server and settings, another database (e.g. the maintenance database).
    pub fn for_database(&self, dbname: &str) -> Self {
        let mut other = self.clone();
        other.pg.dbname(dbname);
        if let Ok(mut url) = url::Url::parse(&self.display) {
            url.set_path(dbname);
            other.display = url.to_string();
        }
        other
    }

    /// The database these options connect to.
    pub fn database_name(&self) -> &str {
        self.pg.get_dbname().unwrap_or_default()
    }

    /// The URL with the password masked, fit for logs and error messages.
    pub fn display_url(&self) -> &str {
        &self.display
    }

    /// Opens a raw tokio-postgres client (bootstrap work that needs SQLSTATEs or runs outside a
    /// transaction, like CREATE DATABASE).
    pub async fn connect_raw(&self) -> Result<tokio_postgres::Client, ConnectError> {
        let (client, connection) = self.establish().await?;
        tokio::spawn(async move {
            // The error also surfaces on the client's next query; nothing else to do with it here.
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Opens a diesel-async connection.
    pub async fn connect(&self) -> Result<AsyncPgConnection, ConnectError> {
        let (client, connection) = self.establish().await?;
        AsyncPgConnection::try_from_client_and_connection(client, connection)
            .await
            .map_err(|e| ConnectError::Setup {
                target: self.display.clone(),
                reason: e.to_string(),
            })
    }

    async fn establish(
        &self,
    ) -> Result<
        (
            tokio_postgres::Client,
            tokio_postgres::Connection<
                tokio_postgres::Socket,
                <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<
                    tokio_postgres::Socket,
                >>::Stream,
            >,
        ),
        ConnectError,
    > {
        // tokio-postgres' own connect_timeout covers each TCP attempt; this bounds the whole
        // handshake, including a server that accepts and then never answers.
        match tokio::time::timeout(self.connect_timeout, self.pg.connect(self.tls.clone())).await {
            Ok(Ok(pair)) => Ok(pair),
            Ok(Err(e)) => Err(ConnectError::Refused {
                target: self.display.clone(),
                reason: describe(&e),
                code: e.code().cloned(),
            }),
            Err(_) => Err(ConnectError::TimedOut {
                target: self.display.clone(),
                timeout: self.connect_timeout,
            }),
        }
    }
}

/// The URL without its TLS settings (which tokio-postgres does not all know), and those settings.
fn split_tls_params(url: &url::Url) -> Result<(url::Url, TlsParams), ConnectError> {
    let mut tls = TlsParams::default();
    // The other parameters stay as written: re-encoding would turn `%20` into `+`, which
    // tokio-postgres does not read as a space.
    let mut rest = Vec::new();
    for raw in url.query().unwrap_or_default().split('&') {
        let ours = match url::form_urlencoded::parse(raw.as_bytes()).next() {
            Some((key, value)) => tls
                .take(&key, &value)
                .map_err(|e| ConnectError::InvalidUrl(e.to_string()))?,
            None => false,
        };
        if !ours && !raw.is_empty() {
            rest.push(raw);
        }
    }
    let mut without = url.clone();
    without.set_query((!rest.is_empty()).then(|| rest.join("&")).as_deref());
    Ok((without, tls))
}

/// tokio-postgres' Display of an I/O failure is just "error connecting to server"; the useful part
/// (e.g. "Connection refused") is in the source chain, and a server error carries its own message.
fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return db.message().to_owned();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> DatabaseConfig {
        DatabaseConfig {
            database_url: url.into(),
            maintenance_db: "postgres".into(),
            pool_size: 4,
            statement_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            batch_runners: 2,
            batch_fill: 8,
            stream_connections: None,
        }
    }

    #[test]
    fn rejects_urls_that_are_not_postgres() {
        for url in [
            "not a url",
            "mysql://u@h/db",
            "postgres://u@h:5432/",
            "postgres://h:5432/db",
        ] {
            let err = ConnectOptions::new(&config(url), "t").expect_err(url);
            assert!(matches!(err, ConnectError::InvalidUrl(_)), "{url}: {err}");
            assert!(
                err.to_string().starts_with("DATABASE_URL is not a valid"),
                "{err}"
            );
        }
    }

    #[test]
    fn masks_the_password_and_switches_database() {
        let opts = ConnectOptions::new(&config("postgres://bob:s3cret@db:5432/docket"), "t")
            .expect("valid");
        assert_eq!(opts.display_url(), "postgres://bob:********@db:5432/docket");
        assert_eq!(opts.database_name(), "docket");
        let maint = opts.for_database("postgres");
        assert_eq!(maint.database_name(), "postgres");
        assert_eq!(
            maint.display_url(),
            "postgres://bob:********@db:5432/postgres"
        );
        assert!(!format!("{opts:?}").contains("s3cret"));
    }

    #[test]
    fn tls_settings_are_taken_out_and_the_rest_kept_as_written() {
        let url = "postgres://bob@db/docket?sslmode=verify-ca&options=-c%20work_mem%3D8MB&sslrootcert=/ca.pem&application_name=x";
        let (without, tls) =
            split_tls_params(&url::Url::parse(url).expect("url")).expect("valid settings");
        assert_eq!(
            without.query(),
            Some("options=-c%20work_mem%3D8MB&application_name=x")
        );
        assert_eq!(tls.ssl_mode(), tokio_postgres::config::SslMode::Require);
        let unknown = "postgres://bob@db/docket?sslmode=verify_full";
        assert!(ConnectOptions::new(&config(unknown), "t").is_err());
    }

    #[test]
    fn session_settings_keep_the_operators_options_in_between() {
        let url = "postgres://bob@db/docket?options=-c%20work_mem%3D8MB";
        let opts = ConnectOptions::new(&config(url), "t").expect("valid");
        assert_eq!(
            opts.pg.get_options(),
            Some("-c max_parallel_workers_per_gather=0 -c work_mem=8MB -c statement_timeout=5000")
        );
    }
}
