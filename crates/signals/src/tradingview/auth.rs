//! Authentication of TradingView alerts: a shared secret and an optional sender allow-list.
//!
//! TradingView sends no auth header and no signature
//! (https://www.tradingview.com/support/solutions/43000529348-about-webhooks/), so the secret
//! travels in the body (or the URL). It is compared in constant time: both sides are hashed with
//! BLAKE3 and the digests compared with BLAKE3's constant-time equality, so neither the content
//! nor the length of the configured secret leaks through response timing.
//!
//! The allow-list is an extra layer. [`IpAllowList::tradingview`] holds the four addresses
//! TradingView publishes for its webhooks (IPv4 only).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::AuthFailure;

/// TradingView's published webhook sender addresses
/// (https://www.tradingview.com/support/solutions/43000529348-about-webhooks/).
pub const TRADINGVIEW_WEBHOOK_IPS: [Ipv4Addr; 4] = [
    Ipv4Addr::new(52, 89, 214, 238),
    Ipv4Addr::new(34, 212, 75, 30),
    Ipv4Addr::new(54, 218, 53, 128),
    Ipv4Addr::new(52, 32, 178, 7),
];

/// Compares a presented secret with the configured one in constant time.
pub fn secret_matches(presented: &str, expected: &SecretString) -> bool {
    let a = blake3::hash(presented.as_bytes());
    let b = blake3::hash(expected.expose_secret().as_bytes());
    // `blake3::Hash`'s `PartialEq` is constant time.
    a == b
}

/// Checks the presented secret against the configuration.
pub fn check_secret(
    presented: Option<&str>,
    expected: Option<&SecretString>,
    allow_unauthenticated: bool,
) -> Result<(), AuthFailure> {
    match (expected, presented) {
        (None, _) if allow_unauthenticated => Ok(()),
        (None, _) => Err(AuthFailure::NoSecretConfigured),
        (Some(_), None) => Err(AuthFailure::MissingSecret),
        (Some(want), Some(got)) if secret_matches(got, want) => Ok(()),
        (Some(_), Some(_)) => Err(AuthFailure::WrongSecret),
    }
}

/// One address block: an address and how many leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:52.89.214.238`, as a dual-stack listener reports it) is
/// the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

impl FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR block"))?;
        let addr = canonical(addr);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has an invalid prefix length"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Sender addresses allowed to post alerts. Empty allows everyone.
///
/// In configuration it is a list of strings: addresses, CIDR blocks, or `"tradingview"` for the
/// published TradingView set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpAllowList {
    nets: Vec<IpNet>,
}

impl IpAllowList {
    /// TradingView's four published webhook addresses.
    pub fn tradingview() -> Self {
        Self {
            nets: TRADINGVIEW_WEBHOOK_IPS
                .iter()
                .map(|ip| IpNet {
                    addr: IpAddr::V4(*ip),
                    prefix: 32,
                })
                .collect(),
        }
    }

    /// Parses entries as in configuration.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let mut nets = Vec::new();
        for e in entries {
            let e = e.as_ref();
            if e.trim().eq_ignore_ascii_case("tradingview") {
                nets.extend(Self::tradingview().nets);
            } else {
                nets.push(e.parse()?);
            }
        }
        Ok(Self { nets })
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        self.nets.is_empty() || self.nets.iter().any(|n| n.contains(ip))
    }

    /// Checks the sender. With a list configured, an unknown sender is refused: a server that
    /// cannot tell who is calling must not skip the check.
    pub fn check(&self, peer: Option<IpAddr>) -> Result<(), AuthFailure> {
        if self.nets.is_empty() {
            return Ok(());
        }
        match peer {
            None => Err(AuthFailure::PeerUnknown),
            Some(ip) if self.allows(ip) => Ok(()),
            Some(ip) => Err(AuthFailure::PeerNotAllowed(ip)),
        }
    }
}

impl<'de> Deserialize<'de> for IpAllowList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(d)?;
        Self::parse(&entries).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn secret_compare() {
        let want = SecretString::from("s3cret");
        assert!(secret_matches("s3cret", &want));
        assert!(!secret_matches("s3cre", &want));
        assert!(!secret_matches("s3cret ", &want));
        assert!(!secret_matches("", &want));
        assert_eq!(check_secret(Some("s3cret"), Some(&want), false), Ok(()));
        assert_eq!(
            check_secret(None, Some(&want), false),
            Err(AuthFailure::MissingSecret)
        );
        assert_eq!(
            check_secret(Some("x"), Some(&want), false),
            Err(AuthFailure::WrongSecret)
        );
        assert_eq!(
            check_secret(Some("x"), None, false),
            Err(AuthFailure::NoSecretConfigured)
        );
        assert_eq!(check_secret(None, None, true), Ok(()));
    }

    #[test]
    fn tradingview_preset_allows_exactly_the_four() {
        let list = IpAllowList::tradingview();
        for a in [
            "52.89.214.238",
            "34.212.75.30",
            "54.218.53.128",
            "52.32.178.7",
        ] {
            assert!(list.allows(ip(a)), "{a}");
        }
        assert!(list.allows(ip("::ffff:52.89.214.238")));
        assert!(!list.allows(ip("52.89.214.239")));
        assert!(!list.allows(ip("::1")));
        assert_eq!(
            list.check(Some(ip("1.2.3.4"))),
            Err(AuthFailure::PeerNotAllowed(ip("1.2.3.4")))
        );
        assert_eq!(list.check(None), Err(AuthFailure::PeerUnknown));
    }

    #[test]
    fn cidr_blocks_and_empty_list() {
        let list = IpAllowList::parse(&["10.0.0.0/8", "fd00::/8", "127.0.0.1"]).unwrap();
        assert!(list.allows(ip("10.200.3.4")));
        assert!(!list.allows(ip("11.0.0.1")));
        assert!(list.allows(ip("fd12::1")));
        assert!(list.allows(ip("127.0.0.1")));
        let all = IpAllowList::parse(&["0.0.0.0/0"]).unwrap();
        assert!(all.allows(ip("8.8.8.8")));
        assert!(IpAllowList::default().allows(ip("8.8.8.8")));
        assert_eq!(IpAllowList::default().check(None), Ok(()));
        assert!(IpAllowList::parse(&["10.0.0.0/33"]).is_err());
        assert!(IpAllowList::parse(&["nope"]).is_err());
    }
}
