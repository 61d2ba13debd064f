//! Where a webhook may point. A URL is checked when a hook is made (its scheme, and an
//! address written into it), and every address its host resolves to is checked again at
//! delivery, inside the HTTP client's resolver: the connection goes to exactly the
//! addresses that were checked, so DNS cannot answer a public address to the check and a
//! private one to the connection (rebinding).

use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The longest URL a hook may have.
pub const MAX_URL: usize = 2_000;

/// Why an address is not one a webhook may reach (unless the operator allows internal
/// addresses), or `None` for a public address.
pub fn internal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        // 169.254.169.254, the cloud metadata service, is one of these.
        Some("a link-local address (cloud metadata included)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a carrier-grade NAT address")
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        Some("a multicast, broadcast or reserved address")
    } else {
        None
    }
}

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a unique-local (private) address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else {
        None
    }
}

/// Checks a hook's URL as written: https (or http where allowed), a host, and no internal
/// address or `localhost` unless allowed. The error is a sentence for the user.
pub fn check_url(raw: &str, allow_http: bool, allow_private: bool) -> Result<Url, String> {
    if raw.len() > MAX_URL {
        return Err(format!("the URL is longer than {MAX_URL} characters"));
    }
    let url = Url::parse(raw.trim()).map_err(|err| format!("`{raw}` is not a URL: {err}"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Err("the URL must be https".into()),
        other => return Err(format!("the URL must be https, not {other}")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not carry a user name or password".into());
    }
    let Some(host) = url.host() else {
        return Err("the URL has no host".into());
    };
    if allow_private {
        return Ok(url);
    }
    let refused = match host {
        url::Host::Ipv4(ip) => internal(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => internal(IpAddr::V6(ip)),
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            (name == "localhost" || name.ends_with(".localhost")).then_some("a loopback address")
        }
    };
    match refused {
        Some(why) => Err(format!(
            "the URL points at {why}; webhooks may only reach public addresses"
        )),
        None => Ok(url),
    }
}

/// A delivery refused because of where it would go: FAILED at once, with this reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The delivery client's resolver: the system's, with every answer checked.
#[derive(Debug, Clone, Copy)]
pub struct CheckedResolver {
    /// Whether internal addresses are allowed (`WEBHOOK_ALLOW_PRIVATE_ADDRESSES`).
    pub allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private {
                for addr in &addrs {
                    if let Some(why) = internal(addr.ip()) {
                        return Err(Box::new(Refused(format!(
                            "{host} resolves to {}, {why}; webhooks may only reach public addresses",
                            addr.ip()
                        )))
                            as Box<dyn std::error::Error + Send + Sync>);
                    }
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Checks a URL whose host is an address (the resolver is not asked about those).
pub fn check_literal(url: &Url, allow_private: bool) -> Result<(), Refused> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    match internal(ip) {
        Some(why) if !allow_private => Err(Refused(format!(
            "{ip} is {why}; webhooks may only reach public addresses"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_refused_and_public_ones_pass() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert!(internal(ip).is_some(), "{refused} passed");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "100.128.0.1"] {
            let ip: IpAddr = public.parse().unwrap();
            assert_eq!(internal(ip), None, "{public}");
        }
    }

    #[test]
    fn urls_are_checked_as_written() {
        assert!(check_url("https://hooks.example.org/in", false, false).is_ok());
        let err = check_url("http://hooks.example.org/in", false, false).unwrap_err();
        assert_eq!(err, "the URL must be https");
        assert!(check_url("http://hooks.example.org/in", true, false).is_ok());
        let err = check_url("https://169.254.169.254/latest", false, false).unwrap_err();
        assert!(err.contains("link-local"), "{err}");
        let err = check_url("https://localhost:8443/", false, false).unwrap_err();
        assert!(err.contains("loopback"), "{err}");
        assert!(check_url("https://[::1]:8443/", false, true).is_ok());
        assert!(check_url("ftp://example.org/", true, true).is_err());
        assert!(check_url("not a url", true, true).is_err());
        assert!(check_url("https://user:pw@example.org/", true, true).is_err());
    }
}
