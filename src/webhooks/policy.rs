//! The egress policy: where webhooks may be sent. `https` only unless plain `http` is allowed;
//! a destination must be a public address unless an operator allowed its network
//! (DOCKET_WEBHOOK_ALLOW_NETWORKS), since internal services live on private addresses and the
//! allowlist is how operators say which. The check runs when a URL is set (its host resolved
//! then) and again on every DNS answer when a delivery connects (`send`'s resolver), so a name
//! that later resolves elsewhere cannot get around it.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use url::Url;

/// Networks that are not public: refused unless allowed. IPv4 in IPv6 (`::ffff:a.b.c.d`) is
/// judged as the IPv4 address.
const NOT_PUBLIC: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/3",
    "::/127",
    "64:ff9b:1::/48",
    "100::/64",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Url(String),
    #[error("plain http is not allowed (https only; DOCKET_WEBHOOK_ALLOW_HTTP)")]
    PlainHttp,
    #[error(
        "{0} is not a public address and its network is not allowed (DOCKET_WEBHOOK_ALLOW_NETWORKS)"
    )]
    Address(IpAddr),
    #[error("{host} does not resolve: {reason}")]
    Unresolved { host: String, reason: String },
}

impl Refusal {
    /// The refused address, if an address was refused.
    pub fn address(&self) -> Option<IpAddr> {
        match self {
            Refusal::Address(ip) => Some(*ip),
            _ => None,
        }
    }
}

/// Where webhooks may go.
#[derive(Debug, Clone)]
pub struct EgressPolicy {
    allow_http: bool,
    allowed: Vec<IpNet>,
    not_public: Vec<IpNet>,
}

impl EgressPolicy {
    pub fn new(allow_http: bool, allowed: Vec<IpNet>) -> Self {
        let not_public = NOT_PUBLIC.iter().filter_map(|n| n.parse().ok()).collect();
        Self {
            allow_http,
            allowed,
            not_public,
        }
    }

    /// Whether a connection to `ip` is allowed.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Refusal> {
        let judged = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let allowed = self
            .allowed
            .iter()
            .any(|n| n.contains(&judged) || n.contains(&ip));
        if allowed || !self.not_public.iter().any(|n| n.contains(&judged)) {
            Ok(())
        } else {
            Err(Refusal::Address(ip))
        }
    }

    /// Reads a subscription's URL: absolute, `https` (or allowed `http`), with a host, no
    /// credentials and no fragment; a host given as an address is checked here.
    pub fn parse_url(&self, raw: &str) -> Result<Url, Refusal> {
        let url = Url::parse(raw).map_err(|e| Refusal::Url(format!("not a URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(Refusal::PlainHttp),
            other => return Err(Refusal::Url(format!("{other}: only https (or http) URLs"))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Url("credentials do not belong in the URL".into()));
        }
        if url.fragment().is_some() {
            return Err(Refusal::Url("a URL with a #fragment".into()));
        }
        match url.host() {
            None => Err(Refusal::Url("the URL has no host".into())),
            Some(url::Host::Ipv4(ip)) => self.check_address(IpAddr::V4(ip)).map(|()| url),
            Some(url::Host::Ipv6(ip)) => self.check_address(IpAddr::V6(ip)).map(|()| url),
            Some(url::Host::Domain(_)) => Ok(url),
        }
    }

    /// Resolves `host` and checks every answer: all must be allowed.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
        let unresolved = |reason: String| Refusal::Unresolved {
            host: host.to_string(),
            reason,
        };
        let answers: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| unresolved(e.to_string()))?
            .collect();
        if answers.is_empty() {
            return Err(unresolved("no address".into()));
        }
        for answer in &answers {
            self.check_address(answer.ip())?;
        }
        Ok(answers)
    }

    /// Reads `raw` and checks where it leads now: the URL, and its host's DNS answers.
    pub async fn check_destination(&self, raw: &str) -> Result<Url, Refusal> {
        let url = self.parse_url(raw)?;
        if let Some(url::Host::Domain(host)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(443);
            self.resolve(host, port).await?;
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_unless_allowed() {
        let strict = EgressPolicy::new(false, vec![]);
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert_eq!(
                strict.check_address(ip),
                Err(Refusal::Address(ip)),
                "{refused}"
            );
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(
                strict.check_address(public.parse().unwrap()).is_ok(),
                "{public}"
            );
        }
        let allowing = EgressPolicy::new(true, vec!["127.0.0.1/32".parse().unwrap()]);
        assert!(allowing.check_address("127.0.0.1".parse().unwrap()).is_ok());
        assert!(
            allowing
                .check_address("::ffff:127.0.0.1".parse().unwrap())
                .is_ok()
        );
        assert!(
            allowing
                .check_address("127.0.0.2".parse().unwrap())
                .is_err()
        );
    }

    #[test]
    fn urls_are_https_with_a_host_and_no_credentials() {
        let strict = EgressPolicy::new(false, vec![]);
        assert_eq!(
            strict.parse_url("http://example.com/"),
            Err(Refusal::PlainHttp)
        );
        assert!(strict.parse_url("https://example.com/hook").is_ok());
        for bad in [
            "ftp://example.com",
            "https://u:p@example.com/",
            "not a url",
            "https://example.com/#x",
        ] {
            assert!(
                matches!(strict.parse_url(bad), Err(Refusal::Url(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            strict.parse_url("https://[::1]:8443/"),
            Err(Refusal::Address(_))
        ));
        assert!(matches!(
            strict.parse_url("https://10.0.0.1/"),
            Err(Refusal::Address(_))
        ));
    }
}
