//! `[accounts.hyperliquid]`: the settings only a Hyperliquid account has, typed and checked at
//! load, and turned into the adapter's [`HyperliquidOptions`] when the account connects.
//!
//! ```toml
//! [accounts.hyperliquid]
//! market_slippage = 0.05       # a market order is an IOC limit this far from the mark
//! nonce_file = "hl-main.nonce" # the signer's nonce high-water mark (relative: to this file)
//! dead_man_every_secs = 300    # push the scheduled cancel forward this often; 0 = off
//! dead_man_after_secs = 600    # …to this far ahead: orders stop this long after the engine
//! ```
//!
//! - `market_slippage`: Hyperliquid has no market order; the SDK's `market_open` sends an IOC
//!   limit 5 % from the mark, our default too. It bounds the price a market order can fill at,
//!   so it must be above 0 (the IOC would meet nothing) and at most [`MAX_SLIPPAGE`].
//! - `nonce_file`: nonces must only go up for a signer, across restarts too
//!   (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/nonces-and-api-wallets>);
//!   the adapter keeps a high-water mark in this file. Default: `hyperliquid-<account>.nonce`
//!   in the data dir.
//! - `dead_man_every_secs`, `dead_man_after_secs`: the `scheduleCancel` dead-man switch
//!   (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/exchange-endpoint#schedule-cancel-dead-mans-switch>).
//!   The exchange wants the cancel at least 5 s ahead, and the push must come before the
//!   scheduled time or every open order is cancelled while the engine still runs: `after`
//!   must exceed `every` by at least [`MIN_DEAD_MAN_MARGIN_SECS`].

use std::path::PathBuf;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_venues::VenueId;
use tradeengine_venues::hyperliquid::HyperliquidOptions;
use tradeengine_venues::hyperliquid::venue::DEFAULT_SLIPPAGE;

use super::{AccountConfig, Config, VenueKind};

/// Above this a market order's limit protects nothing: 20 % from the mark.
pub const MAX_SLIPPAGE: Decimal = Decimal::from_parts(2, 0, 0, false, 1);
/// The exchange refuses a scheduled cancel less than 5 s ahead.
pub const MIN_DEAD_MAN_AFTER_SECS: u64 = 5;
/// How much later than the next push the scheduled cancel must lie, so one slow push (a
/// request timeout, a retry) does not cancel every order while the engine runs.
pub const MIN_DEAD_MAN_MARGIN_SECS: u64 = 30;
/// A day: a longer dead-man time leaves orders resting that long after a crash.
pub const MAX_DEAD_MAN_AFTER_SECS: u64 = 86_400;

/// `[accounts.hyperliquid]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HyperliquidAccountConfig {
    /// Distance of a market order's IOC limit from the mark (0.05 = 5 %).
    pub market_slippage: Decimal,
    /// The nonce high-water file; `None`: `hyperliquid-<account>.nonce` in the data dir.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce_file: Option<PathBuf>,
    /// Seconds between pushes of the scheduled cancel; 0 switches the dead-man switch off.
    pub dead_man_every_secs: u64,
    /// How far ahead each push schedules the cancel.
    pub dead_man_after_secs: u64,
}

impl Default for HyperliquidAccountConfig {
    fn default() -> Self {
        let adapter = HyperliquidOptions::default();
        Self {
            market_slippage: DEFAULT_SLIPPAGE,
            nonce_file: None,
            dead_man_every_secs: adapter.dead_man_every.map_or(0, |d| d.as_secs()),
            dead_man_after_secs: adapter.dead_man_after.as_secs(),
        }
    }
}

type Failure = (String, String);

/// Checks an account's `[accounts.hyperliquid]`; `key` names a field of the account.
pub fn validate(a: &AccountConfig, key: &dyn Fn(&str) -> String) -> Result<(), Failure> {
    let Some(h) = &a.hyperliquid else {
        return Ok(());
    };
    let fail = |field: &str, reason: String| Err((key(&format!("hyperliquid.{field}")), reason));
    if a.venue != VenueKind::Exchange(VenueId::Hyperliquid) {
        return Err((
            key("hyperliquid"),
            format!(
                "only venue = \"hyperliquid\" accounts take [accounts.hyperliquid] (this one is {})",
                a.venue
            ),
        ));
    }
    if h.market_slippage <= Decimal::ZERO || h.market_slippage > MAX_SLIPPAGE {
        return fail(
            "market_slippage",
            format!("must be above 0 and at most {MAX_SLIPPAGE} (0.05 = 5 % from the mark)"),
        );
    }
    if h.nonce_file
        .as_ref()
        .is_some_and(|p| p.file_name().is_none())
    {
        return fail("nonce_file", "must name a file".into());
    }
    if h.dead_man_every_secs > 0 {
        if !(MIN_DEAD_MAN_AFTER_SECS..=MAX_DEAD_MAN_AFTER_SECS).contains(&h.dead_man_after_secs) {
            return fail(
                "dead_man_after_secs",
                format!(
                    "must be between {MIN_DEAD_MAN_AFTER_SECS} (the exchange's minimum) and {MAX_DEAD_MAN_AFTER_SECS}"
                ),
            );
        }
        if h.dead_man_after_secs < h.dead_man_every_secs + MIN_DEAD_MAN_MARGIN_SECS {
            return fail(
                "dead_man_after_secs",
                format!(
                    "must be at least dead_man_every_secs + {MIN_DEAD_MAN_MARGIN_SECS} ({}): otherwise the scheduled cancel fires between two pushes and cancels every order while the engine runs",
                    h.dead_man_every_secs + MIN_DEAD_MAN_MARGIN_SECS
                ),
            );
        }
    }
    Ok(())
}

/// The adapter's options for `account` (its `[accounts.hyperliquid]`, or the defaults), with
/// the nonce file defaulting into the data dir.
pub fn options(config: &Config, account: &AccountConfig) -> HyperliquidOptions {
    let h = account.hyperliquid.clone().unwrap_or_default();
    let nonce_file = h.nonce_file.unwrap_or_else(|| {
        config
            .engine
            .data_dir
            .join(format!("hyperliquid-{}.nonce", account.name))
    });
    HyperliquidOptions {
        slippage: h.market_slippage,
        dead_man_every: (h.dead_man_every_secs > 0)
            .then(|| Duration::from_secs(h.dead_man_every_secs)),
        dead_man_after: Duration::from_secs(h.dead_man_after_secs),
        nonce_file: Some(nonce_file),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(account_extra: &str) -> Result<Config, super::super::ConfigError> {
        let text = format!(
            r#"
[engine]
mode = "dry-run"
data_dir = "/tmp/te-data"

[[accounts]]
name = "hl"
venue = "hyperliquid"
credentials = "env:HL"
{account_extra}
"#
        );
        super::super::load_str(&text, None, &[], &Default::default())
    }

    fn refused(extra: &str) -> (String, String) {
        match load(extra) {
            Ok(_) => panic!("accepted: {extra}"),
            Err(e) => (e.key, e.reason),
        }
    }

    #[test]
    fn defaults_are_the_sdks_slippage_and_a_nonce_file_in_the_data_dir() {
        let config = load("").unwrap_or_else(|e| panic!("{e}"));
        let o = options(&config, &config.accounts[0]);
        assert_eq!(o.slippage, Decimal::new(5, 2));
        assert_eq!(o.dead_man_every, Some(Duration::from_secs(300)));
        assert_eq!(o.dead_man_after, Duration::from_secs(600));
        assert_eq!(
            o.nonce_file,
            Some(PathBuf::from("/tmp/te-data/hyperliquid-hl.nonce"))
        );
    }

    #[test]
    fn the_table_is_read_typed() {
        let config = load(
            "[accounts.hyperliquid]\nmarket_slippage = 0.02\nnonce_file = \"/var/te/hl.nonce\"\ndead_man_every_secs = 0\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let o = options(&config, &config.accounts[0]);
        assert_eq!(o.slippage, Decimal::new(2, 2));
        assert_eq!(o.dead_man_every, None, "0 switches the dead-man switch off");
        assert_eq!(o.nonce_file, Some(PathBuf::from("/var/te/hl.nonce")));
    }

    #[test]
    fn bad_values_are_refused_by_key() {
        let (key, reason) = refused("[accounts.hyperliquid]\nmarket_slippage = 0\n");
        assert_eq!(key, "accounts[0].hyperliquid.market_slippage");
        assert!(reason.contains("above 0"), "{reason}");
        let (key, _) = refused("[accounts.hyperliquid]\nmarket_slippage = 0.5\n");
        assert_eq!(key, "accounts[0].hyperliquid.market_slippage");
        let (key, reason) = refused(
            "[accounts.hyperliquid]\ndead_man_every_secs = 300\ndead_man_after_secs = 310\n",
        );
        assert_eq!(key, "accounts[0].hyperliquid.dead_man_after_secs");
        assert!(reason.contains("between two pushes"), "{reason}");
        let (key, _) =
            refused("[accounts.hyperliquid]\ndead_man_every_secs = 1\ndead_man_after_secs = 4\n");
        assert_eq!(key, "accounts[0].hyperliquid.dead_man_after_secs");
        let (key, _) = refused("[accounts.hyperliquid]\nnonce_file = \"\"\n");
        assert_eq!(key, "accounts[0].hyperliquid.nonce_file");
        // A misspelt key is refused by name (in the loader's path notation).
        let (key, reason) = refused("[accounts.hyperliquid]\nslippage = 0.05\n");
        assert!(
            key.contains("hyperliquid") && key.ends_with(".slippage"),
            "{key}"
        );
        assert!(reason.contains("unknown key"), "{reason}");
    }

    #[test]
    fn the_shipped_example_reads_its_settings() {
        let text = include_str!("../../../../examples/hyperliquid-testnet.toml");
        let config = super::super::load_str(
            text,
            Some(std::path::Path::new("/srv/te/hyperliquid-testnet.toml")),
            &[],
            &Default::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let o = options(&config, &config.accounts[0]);
        assert_eq!(o.slippage, Decimal::new(3, 2));
        assert_eq!(o.dead_man_every, Some(Duration::from_secs(120)));
        assert_eq!(o.dead_man_after, Duration::from_secs(300));
        // The data dir, and so the default nonce file, is relative to the file's folder.
        assert_eq!(
            o.nonce_file,
            Some(PathBuf::from(
                "/srv/te/tradeengine-data-hyperliquid/hyperliquid-hl-testnet.nonce"
            ))
        );
    }

    #[test]
    fn a_relative_nonce_file_is_relative_to_the_config_file() {
        let text = "[[accounts]]\nname = \"hl\"\nvenue = \"hyperliquid\"\n[accounts.hyperliquid]\nnonce_file = \"keys/hl.nonce\"\n";
        let config = super::super::load_str(
            text,
            Some(std::path::Path::new("/srv/te/t.toml")),
            &[],
            &Default::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let o = options(&config, &config.accounts[0]);
        assert_eq!(o.nonce_file, Some(PathBuf::from("/srv/te/keys/hl.nonce")));
    }

    #[test]
    fn other_venues_do_not_take_the_table() {
        let text = r#"
[engine]
mode = "paper"

[[accounts]]
name = "by"
venue = "bybit"

[accounts.hyperliquid]
market_slippage = 0.05
"#;
        let e = super::super::load_str(text, None, &[], &Default::default())
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(e.key, "accounts[0].hyperliquid");
        assert!(
            e.reason.contains("only venue = \"hyperliquid\""),
            "{}",
            e.reason
        );
    }
}
