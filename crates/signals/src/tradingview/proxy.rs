//! Who sent an alert when a TLS proxy stands in front of the engine (as the README recommends):
//! the TCP peer is then the proxy, so `allow_ips` alone would check the proxy's address.
//!
//! - **Trusted proxies.** A forwarded-address header (`X-Forwarded-For` by default, or
//!   `Forwarded`, or a single-address header such as `X-Real-IP`) is read only when the TCP peer
//!   is a listed proxy (`trusted_proxies`); otherwise anyone could write the header. The sender
//!   is the right-most address that is not itself a trusted proxy: addresses to its left were
//!   written by the sender and prove nothing. An unreadable entry makes the sender unknown (an
//!   allow-list then refuses it).
//! - **Client certificate.** TradingView presents a client certificate (`CN=TradingView
//!   Webhooks`). When the proxy verifies it and passes the verified subject in a header the
//!   operator names (`client_cert_header`, e.g. nginx's `$ssl_client_s_dn`), the alert must
//!   carry a subject holding `client_cert_subject`, from a trusted proxy, in addition to the
//!   secret.

use std::net::IpAddr;

use super::auth::IpAllowList;
use super::config::TvConfig;
use super::error::AuthFailure;

/// The sender's address: the TCP peer, or, when the peer is a trusted proxy, the right-most
/// untrusted address of the forwarded header. `header_values` are the header's lines in order.
/// `None`: a trusted proxy sent an entry that is not an address.
pub fn client_ip(
    peer: IpAddr,
    header_name: &str,
    header_values: &[&str],
    trusted: &IpAllowList,
) -> Option<IpAddr> {
    if !is_trusted(trusted, peer) {
        return Some(peer);
    }
    let rfc7239 = header_name.eq_ignore_ascii_case("forwarded");
    let entries: Vec<&str> = header_values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let mut sender = peer;
    for entry in entries.iter().rev() {
        let addr = if rfc7239 {
            forwarded_for(entry).and_then(parse_addr)
        } else {
            parse_addr(entry)
        }?;
        sender = addr;
        if !is_trusted(trusted, addr) {
            break;
        }
    }
    Some(sender)
}

/// Checks the client certificate subject the proxy passed, when the source requires one.
/// `peer` is the TCP peer (the proxy); `subject` the header's value.
pub fn check_client_cert(
    cfg: &TvConfig,
    peer: IpAddr,
    subject: Option<&str>,
) -> Result<(), AuthFailure> {
    if cfg.client_cert_header.is_none() {
        return Ok(());
    }
    if !is_trusted(&cfg.trusted_proxies, peer) {
        return Err(AuthFailure::ClientCertUntrusted(peer));
    }
    let want = cfg.client_cert_subject.trim();
    let ok = subject.is_some_and(|s| {
        // nginx writes `CN=TradingView Webhooks,O=…` (RFC 2253) or `/O=…/CN=…` (legacy):
        // compare components, never substrings, so `CN=TradingView Webhooks Evil` fails.
        s.split([',', '/'])
            .map(str::trim)
            .any(|c| !c.is_empty() && c.eq_ignore_ascii_case(want))
    });
    if ok {
        Ok(())
    } else {
        Err(AuthFailure::ClientCertMissing)
    }
}

fn is_trusted(trusted: &IpAllowList, ip: IpAddr) -> bool {
    !trusted.is_empty() && trusted.allows(ip)
}

/// The `for=` value of one `Forwarded` element (`for=192.0.2.1;proto=https`).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("for")
            .then(|| v.trim().trim_matches('"'))
    })
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:443`.
fn parse_addr(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies() -> IpAllowList {
        IpAllowList::parse(&["127.0.0.1", "10.0.0.0/8"]).unwrap()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let xff = ["52.89.214.238"];
        assert_eq!(
            client_ip(ip("127.0.0.1"), "X-Forwarded-For", &xff, &proxies()),
            Some(ip("52.89.214.238"))
        );
        // From anyone else the header is ignored.
        assert_eq!(
            client_ip(ip("203.0.113.9"), "X-Forwarded-For", &xff, &proxies()),
            Some(ip("203.0.113.9"))
        );
        // No proxy configured: never read.
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                "X-Forwarded-For",
                &xff,
                &IpAllowList::default()
            ),
            Some(ip("127.0.0.1"))
        );
    }

    #[test]
    fn the_right_most_untrusted_address_wins_over_what_the_sender_wrote() {
        // The sender wrote a TradingView address itself; nginx appended the real one.
        let xff = ["52.89.214.238, 198.51.100.7", "10.1.2.3"];
        assert_eq!(
            client_ip(ip("127.0.0.1"), "x-forwarded-for", &xff, &proxies()),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                "Forwarded",
                &["for=52.89.214.238, for=\"[2001:db8::7]:4711\";proto=https"],
                &proxies()
            ),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                "X-Real-IP",
                &["198.51.100.7:5555"],
                &proxies()
            ),
            Some(ip("198.51.100.7"))
        );
        // Garbage from the proxy chain: unknown, never the proxy's own address.
        assert_eq!(
            client_ip(ip("127.0.0.1"), "X-Forwarded-For", &["unknown"], &proxies()),
            None
        );
        // No header from a trusted proxy: the proxy itself is the sender.
        assert_eq!(
            client_ip(ip("127.0.0.1"), "X-Forwarded-For", &[], &proxies()),
            Some(ip("127.0.0.1"))
        );
    }

    #[test]
    fn the_certificate_subject_is_checked_by_component_from_a_trusted_proxy() {
        let mut cfg = TvConfig::new(tradeengine_model::SourceId::new("tv").unwrap(), None);
        assert!(check_client_cert(&cfg, ip("203.0.113.9"), None).is_ok());
        cfg.trusted_proxies = proxies();
        cfg.client_cert_header = Some("X-Client-Subject".into());
        let proxy = ip("127.0.0.1");
        assert!(
            check_client_cert(&cfg, proxy, Some("CN=TradingView Webhooks,O=TradingView")).is_ok()
        );
        assert!(
            check_client_cert(&cfg, proxy, Some("/O=TradingView/CN=TradingView Webhooks")).is_ok()
        );
        assert_eq!(
            check_client_cert(&cfg, proxy, Some("CN=TradingView Webhooks Evil")),
            Err(AuthFailure::ClientCertMissing)
        );
        assert_eq!(
            check_client_cert(&cfg, proxy, None),
            Err(AuthFailure::ClientCertMissing)
        );
        assert_eq!(
            check_client_cert(&cfg, ip("203.0.113.9"), Some("CN=TradingView Webhooks")),
            Err(AuthFailure::ClientCertUntrusted(ip("203.0.113.9")))
        );
    }
}
