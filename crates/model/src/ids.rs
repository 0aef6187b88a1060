//! Names and identifiers. Each is a validated string newtype so a source name can never be passed
//! where a symbol is expected, and so malformed outside input is refused at the edge.
//!
//! The strings are held so that cloning one into a plan or an order leg does not allocate: names
//! up to 22 bytes inline in the 24 bytes a `String` took (longer ones share an `Arc<str>`), and
//! client order ids in a 32-byte inline buffer. Equality, order, hashing, `Display`, `Debug` and
//! the serde form (a plain JSON string) are those of the `String` each used to hold.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::ascii::{Ascii, SmallStr};

/// A unified symbol such as `BTCUSDT`: the one name the engine uses for an instrument across
/// sources and venues. Venue adapters translate it (`BTC-USDT`, `XBTUSDTM`, `BTC_USDT`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(SmallStr);

impl Symbol {
    /// Accepts 2–40 ASCII letters or digits; lower case is folded to upper case because
    /// TradingView tickers arrive in either.
    pub fn new(raw: &str) -> Result<Self, ModelError> {
        let s = raw.trim();
        let ok = (2..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
        match SmallStr::new_mapped(s, |b| b.to_ascii_uppercase()) {
            Some(a) if ok => Ok(Self(a)),
            _ => Err(ModelError::BadSymbol(raw.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The same characters as bytes, without the UTF-8 check `as_str` makes (for hashing).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl TryFrom<String> for Symbol {
    type Error = ModelError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<Symbol> for String {
    fn from(value: Symbol) -> Self {
        value.as_str().to_string()
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shows `Symbol("BTCUSDT")`, as the derived `Debug` of the former `String` field did.
impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Symbol").field(&self.as_str()).finish()
    }
}

/// Characters allowed in names that end up in URLs, config keys, metric labels and order ids.
const fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// [`is_name_char`] as a table, so checking a name is a branch-free scan: client order ids are
/// checked for every order leg, and their hex digits would defeat a branch predictor.
const NAME_CHARS: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = is_name_char(b as u8);
        b += 1;
    }
    t
};

/// True when `s` is non-empty and every byte is a name character.
fn is_name(s: &str) -> bool {
    is_name_bytes(s.as_bytes())
}

#[inline]
fn is_name_bytes(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .fold(true, |ok, b| ok & NAME_CHARS[usize::from(*b)])
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(SmallStr);

        impl $name {
            #[doc = concat!("Accepts 1–", stringify!($max), " characters of `A–Z a–z 0–9 _ -`.")]
            pub fn new(raw: &str) -> Result<Self, ModelError> {
                let ok = raw.len() <= $max && is_name(raw);
                match SmallStr::new(raw) {
                    Some(a) if ok => Ok(Self(a)),
                    _ => Err(ModelError::BadId {
                        kind: $kind,
                        value: raw.chars().take(80).collect(),
                        rule: concat!("1–", stringify!($max), " characters of A–Z a–z 0–9 _ -"),
                    }),
                }
            }

            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The same characters as bytes, without the UTF-8 check `as_str` makes (for
            /// hashing).
            #[inline]
            pub fn as_bytes(&self) -> &[u8] {
                self.0.as_bytes()
            }
        }

        impl TryFrom<String> for $name {
            type Error = ModelError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.as_str().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Shows the name wrapped in its type, as the derived `Debug` of the former `String`
        /// field did.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.as_str()).finish()
            }
        }
    };
}

name_type!(
    /// A signal source as configured (`tradingview`, `sn8`, `tv-trend`, `nats-ta`).
    SourceId,
    "source id",
    64
);
name_type!(
    /// An exchange account as configured (`bybit-main`, `paper`).
    AccountName,
    "account name",
    64
);
name_type!(
    /// One plan of one account and symbol. Chosen by the engine (time + sequence), never reused,
    /// and part of every client order id the plan produces.
    PlanId,
    "plan id",
    40
);
name_type!(
    /// The engine's id for a stored signal.
    SignalId,
    "signal id",
    64
);

/// The id an order carries to the venue. Derived deterministically from the order's intent so
/// that a retry re-uses it and the venue refuses a double (ARCHITECTURE.md, "Stored before sent,
/// settled by client id").
///
/// The shape fits every venue at once: at most 32 characters of `[A-Za-z0-9_-]` (BloFin and MEXC
/// allow 32, Binance and Bybit 36, KuCoin 40).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientOrderId(Ascii<32>);

impl ClientOrderId {
    pub const MAX_LEN: usize = 32;

    pub fn new(raw: &str) -> Result<Self, ModelError> {
        match Ascii::new(raw.as_bytes()) {
            Some(a) if is_name(raw) => Ok(Self(a)),
            _ => Err(ModelError::BadId {
                kind: "client order id",
                value: raw.chars().take(80).collect(),
                rule: "1–32 characters of A–Z a–z 0–9 _ -",
            }),
        }
    }

    /// [`ClientOrderId::new`] from bytes, for ids assembled in a buffer (the core builds one per
    /// order leg): the character check implies ASCII, so no separate UTF-8 check is needed.
    #[inline]
    pub fn from_ascii(raw: &[u8]) -> Result<Self, ModelError> {
        match Ascii::new(raw) {
            Some(a) if is_name_bytes(raw) => Ok(Self(a)),
            _ => Err(ModelError::BadId {
                kind: "client order id",
                value: String::from_utf8_lossy(raw).chars().take(80).collect(),
                rule: "1–32 characters of A–Z a–z 0–9 _ -",
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The same characters as bytes, without the UTF-8 check `as_str` makes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl TryFrom<String> for ClientOrderId {
    type Error = ModelError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<ClientOrderId> for String {
    fn from(value: ClientOrderId) -> Self {
        value.as_str().to_string()
    }
}

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shows `ClientOrderId("te…-0")`, as the derived `Debug` of the former `String` field did.
impl fmt::Debug for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientOrderId")
            .field(&self.as_str())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_is_upper_cased_and_validated() {
        assert_eq!(
            Symbol::new(" btcusdt ").map(String::from),
            Ok("BTCUSDT".to_string())
        );
        assert!(Symbol::new("BTC-USDT").is_err());
        assert!(Symbol::new("B").is_err());
        assert!(Symbol::new(&"A".repeat(41)).is_err());
    }

    #[test]
    fn names_refuse_separators_and_empty() {
        assert!(SourceId::new("tradingview").is_ok());
        assert!(SourceId::new("tv/trend").is_err());
        assert!(SourceId::new("").is_err());
        assert!(AccountName::new("bybit main").is_err());
    }

    #[test]
    fn client_order_id_fits_every_venue() {
        assert!(ClientOrderId::new(&"a".repeat(32)).is_ok());
        assert!(ClientOrderId::new(&"a".repeat(33)).is_err());
        assert!(ClientOrderId::new("te.1").is_err());
    }

    #[test]
    fn lengths_are_checked_at_each_limit() {
        assert!(Symbol::new(&"A".repeat(40)).is_ok());
        assert!(AccountName::new(&"a".repeat(64)).is_ok());
        assert!(AccountName::new(&"a".repeat(65)).is_err());
        assert!(PlanId::new(&"p".repeat(40)).is_ok());
        assert!(PlanId::new(&"p".repeat(41)).is_err());
        assert!(SignalId::new(&"s".repeat(300)).is_err());
        assert!(SourceId::new("tv-é").is_err());
        assert_eq!(
            AccountName::new(&"a".repeat(65)).err(),
            Some(ModelError::BadId {
                kind: "account name",
                value: "a".repeat(65),
                rule: "1–64 characters of A–Z a–z 0–9 _ -",
            })
        );
    }

    #[test]
    fn debug_display_and_json_are_those_of_the_string() {
        let s = Symbol::new("ethusdt").unwrap();
        assert_eq!(format!("{s:?}"), "Symbol(\"ETHUSDT\")");
        assert_eq!(format!("{s}"), "ETHUSDT");
        let a = AccountName::new("bybit-main").unwrap();
        assert_eq!(format!("{a:?}"), "AccountName(\"bybit-main\")");
        let c = ClientOrderId::new("te0123-1").unwrap();
        assert_eq!(format!("{c:?}"), "ClientOrderId(\"te0123-1\")");
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"bybit-main\"");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"te0123-1\"");
        let back: AccountName = serde_json::from_str("\"bybit-main\"").unwrap();
        assert_eq!(back, a);
        assert!(serde_json::from_str::<ClientOrderId>(&format!("\"{}\"", "a".repeat(33))).is_err());
        let mut names = ["b", "a-", "A", "a_", "a"].map(|n| SourceId::new(n).unwrap());
        names.sort();
        let sorted: Vec<&str> = names.iter().map(SourceId::as_str).collect();
        assert_eq!(sorted, ["A", "a", "a-", "a_", "b"]);
    }

    #[test]
    fn bytes_are_the_strings_and_from_ascii_checks_like_new() {
        assert_eq!(Symbol::new("btcusdt").unwrap().as_bytes(), b"BTCUSDT");
        let long = "s".repeat(50);
        assert_eq!(SignalId::new(&long).unwrap().as_bytes(), long.as_bytes());
        for raw in [
            "te0123-1",
            "",
            "te.1",
            "a_b-C9",
            &"a".repeat(32),
            &"a".repeat(33),
            "té",
        ] {
            assert_eq!(
                ClientOrderId::from_ascii(raw.as_bytes()),
                ClientOrderId::new(raw),
                "{raw:?}"
            );
        }
        let id = ClientOrderId::from_ascii(b"te0123-1").unwrap();
        assert_eq!(id.as_bytes(), b"te0123-1");
    }

    #[test]
    fn serde_validates_on_the_way_in() {
        let ok: Result<Symbol, _> = serde_json::from_str("\"ethusdt\"");
        assert_eq!(ok.map(|s| s.to_string()).ok(), Some("ETHUSDT".to_string()));
        let bad: Result<Symbol, _> = serde_json::from_str("\"ETH/USDT\"");
        assert!(bad.is_err());
    }
}
