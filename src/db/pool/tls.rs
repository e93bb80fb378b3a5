//! PostgreSQL over TLS, with the URL's `sslmode`, `sslrootcert`, `sslcert` and `sslkey` read as
//! libpq reads them, so that a DATABASE_URL a managed PostgreSQL hands out works unchanged.
//!
//! tokio-postgres knows only `disable`, `prefer` and `require`, and no certificate settings; the
//! handshake is `tokio-postgres-rustls` (rustls, as the gRPC port uses) and this module builds its
//! rustls configuration. What libpq does, and so what Docket does:
//!
//! | sslmode | TLS | server certificate checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (the default) | if the server offers it | only if `sslrootcert` is given (then as `verify-ca`) |
//! | `require` | always | only if `sslrootcert` is given (then as `verify-ca`) |
//! | `verify-ca` | always | chain to `sslrootcert` |
//! | `verify-full` | always | chain to `sslrootcert`, and the host name (or IP) in the URL |
//!
//! `sslrootcert=system` trusts the system's roots and, as in libpq 16, means `verify-full`: a
//! weaker mode beside it is refused. `verify-ca` and `verify-full` need `sslrootcert` (libpq
//! would look for `~/.postgresql/root.crt`, which a container does not have). `sslcert` and
//! `sslkey` present a client certificate. The files are read once, at start: a rotated
//! certificate takes a restart (a rolling one is enough).

use std::{path::PathBuf, sync::Arc};

use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    client::{
        WebPkiServerVerifier,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime, pem::PemObject},
};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The sslmode values libpq accepts and Docket honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The URL's TLS settings, taken out of it (tokio-postgres would refuse the ones it does not
/// know) and checked together.
#[derive(Debug, Clone, Default)]
pub struct TlsParams {
    mode: Option<TlsMode>,
    root_cert: Option<String>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
}

/// How to verify the server, once the settings are combined.
enum Verify {
    Nothing,
    Chain(RootCertStore),
    ChainAndName(RootCertStore),
}

impl TlsParams {
    /// Takes the parameter if it is one of the TLS settings; `Ok(false)` if it is not.
    pub fn take(&mut self, key: &str, value: &str) -> Result<bool, String> {
        match key {
            "sslmode" => {
                self.mode = Some(match value {
                    "disable" => TlsMode::Disable,
                    "prefer" => TlsMode::Prefer,
                    "require" => TlsMode::Require,
                    "verify-ca" => TlsMode::VerifyCa,
                    "verify-full" => TlsMode::VerifyFull,
                    "allow" => return Err(
                        "sslmode=allow (plain text first) is not supported; use prefer or require"
                            .into(),
                    ),
                    other => {
                        return Err(format!(
                            "unknown sslmode {other:?} (disable, prefer, require, verify-ca or verify-full)"
                        ));
                    }
                })
            }
            "sslrootcert" => self.root_cert = Some(value.to_owned()),
            "sslcert" => self.client_cert = Some(value.into()),
            "sslkey" => self.client_key = Some(value.into()),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The mode in effect: the URL's, or libpq's default (`verify-full` with the system's roots,
    /// `prefer` otherwise).
    pub fn mode(&self) -> TlsMode {
        match (self.mode, self.root_cert.as_deref()) {
            (Some(mode), _) => mode,
            (None, Some("system")) => TlsMode::VerifyFull,
            (None, _) => TlsMode::Prefer,
        }
    }

    /// The mode as tokio-postgres takes it: whether TLS is tried, and whether it is required.
    pub fn ssl_mode(&self) -> SslMode {
        match self.mode() {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        }
    }

    /// The connector every connection uses; reads the certificate files. The error says which
    /// setting is wrong and why, for the operator.
    pub fn connector(&self) -> Result<MakeRustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let builder = match self.verification()? {
            Verify::ChainAndName(roots) => builder.with_root_certificates(roots),
            Verify::Chain(roots) => {
                let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|e| format!("sslrootcert: {e}"))?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
            }
            Verify::Nothing => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unverified(provider))),
        };
        let config = match (&self.client_cert, &self.client_key) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), Some(key)) => {
                let chain = read_certificates("sslcert", &cert.to_string_lossy())?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("sslkey {}: {e}", key.display()))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("sslcert/sslkey: {e}"))?
            }
            _ => return Err("sslcert and sslkey go together: give both or neither".into()),
        };
        Ok(MakeRustlsConnect::new(config))
    }

    fn verification(&self) -> Result<Verify, String> {
        let mode = self.mode();
        let roots = match self.root_cert.as_deref() {
            None => None,
            Some("system") => {
                if mode != TlsMode::VerifyFull {
                    return Err(format!(
                        "sslrootcert=system checks the server's name: it takes sslmode=verify-full, not {mode:?}"
                    ));
                }
                Some(system_roots()?)
            }
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for cert in read_certificates("sslrootcert", path)? {
                    roots
                        .add(cert)
                        .map_err(|e| format!("sslrootcert {path}: {e}"))?;
                }
                Some(roots)
            }
        };
        Ok(match (mode, roots) {
            (TlsMode::Disable, _) | (TlsMode::Prefer | TlsMode::Require, None) => Verify::Nothing,
            (TlsMode::VerifyFull, Some(roots)) => Verify::ChainAndName(roots),
            (_, Some(roots)) => Verify::Chain(roots),
            (TlsMode::VerifyCa | TlsMode::VerifyFull, None) => {
                return Err(format!(
                    "sslmode={} checks the server's certificate against sslrootcert, which the URL does not give \
                     (a file of CA certificates, or `system` for the system's roots)",
                    if mode == TlsMode::VerifyCa {
                        "verify-ca"
                    } else {
                        "verify-full"
                    }
                ));
            }
        })
    }
}

fn read_certificates(setting: &str, path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{setting} {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{setting} {path}: no PEM certificate in it"));
    }
    Ok(certs)
}

fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(format!(
            "sslrootcert=system: no CA certificate found on this system ({:?})",
            found.errors
        ));
    }
    Ok(roots)
}

/// `verify-ca`: the chain must lead to a trusted root; the name in it may be any (libpq's
/// verify-ca, for servers reached by an address their certificate does not name).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError::*, Error::InvalidCertificate};
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(InvalidCertificate(NotValidForName | NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require` without `sslrootcert`: encrypted, the certificate taken as it comes
/// (libpq's behaviour, which protects against eavesdropping but not an active attacker); the
/// handshake's signatures are still checked, so the session is with the certificate's key holder.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> TlsParams {
        let mut params = TlsParams::default();
        for (key, value) in pairs {
            assert!(params.take(key, value).expect("valid"), "{key}");
        }
        params
    }

    #[test]
    fn modes_and_their_defaults_follow_libpq() {
        assert_eq!(params(&[]).mode(), TlsMode::Prefer);
        assert_eq!(
            params(&[("sslrootcert", "system")]).mode(),
            TlsMode::VerifyFull
        );
        assert_eq!(
            params(&[("sslmode", "verify-ca")]).ssl_mode(),
            SslMode::Require
        );
        assert_eq!(
            params(&[("sslmode", "disable")]).ssl_mode(),
            SslMode::Disable
        );
        assert!(TlsParams::default().take("sslmode", "allow").is_err());
        assert!(TlsParams::default().take("sslmode", "verify_full").is_err());
        assert!(
            !TlsParams::default()
                .take("application_name", "x")
                .expect("not ours")
        );
    }

    #[test]
    fn settings_that_cannot_work_together_are_refused_at_start() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("sslmode", "verify-full")], "sslrootcert"),
            (&[("sslmode", "verify-ca")], "sslrootcert"),
            (
                &[("sslmode", "require"), ("sslrootcert", "system")],
                "verify-full",
            ),
            (&[("sslcert", "/c.pem")], "give both"),
            (
                &[("sslmode", "require"), ("sslrootcert", "/no/such.pem")],
                "/no/such.pem",
            ),
        ];
        for (pairs, says) in cases {
            let error = params(pairs).connector().err().expect("refused");
            assert!(error.contains(says), "{pairs:?}: {error}");
        }
        assert!(params(&[("sslmode", "require")]).connector().is_ok());
    }
}
