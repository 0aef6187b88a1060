//! Building a [`HyperliquidVenue`] from an [`AdapterConfig`], refusing keys that cannot trade,
//! then starting the user streams ([`super::stream`]) of the account's address.
//!
//! The dead-man switch ([`super::dead_man`]) is armed by the first order this process places (see
//! [`HyperliquidVenue`]), not here: a dry-run account, whose orders never reach the adapter,
//! or a `venue check`, must not schedule cancels of orders someone else placed.
//!
//! Hyperliquid has no API keys in the usual sense
//! (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/nonces-and-api-wallets>):
//! the account is an Ethereum address (the master), and actions are signed by an **API
//! wallet** (agent) the master approved, or by the master's own key. So:
//! - `PREFIX_API_KEY` is the master address, which every private read names;
//! - `PREFIX_API_SECRET` is the API wallet's private key, which signs.
//!
//! At connect the API wallet's role is read (`userRole`): it must be an agent of that master
//! (the master's own key, which can withdraw, is refused like a withdrawal-enabled key on the
//! other venues). Anything else — a key for another account, an agent never approved
//! or since removed, an address that is not one — is refused with what to fix, before any
//! order could be signed by a key the exchange would not accept. The adapter signs only L1
//! actions (orders, cancels, leverage, the scheduled cancel); an agent key cannot withdraw at
//! all, which is why it is the only key accepted.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::VENUE;
use super::http::{HyperliquidHttp, Signer};
use super::models::UserRole;
use super::nonce::Nonces;
use super::signing::{Address, Wallet};
use super::venue::{HyperliquidOptions, HyperliquidVenue};
use crate::adapters::AdapterConfig;
use crate::http::{Transport, VenueClock};
use crate::parse::reply;
use crate::{VenueError, VenueErrorKind};

/// Longest a request waits for a rate-limit pause before failing as rate limited.
const MAX_RATE_WAIT: Duration = Duration::from_secs(5);

fn auth(message: String) -> VenueError {
    VenueError::new(VENUE, VenueErrorKind::Auth, message).with_code("keys")
}

/// Whether `base_url` is Hyperliquid's mainnet: only then is the phantom agent's source `a`.
pub fn is_mainnet(base_url: &str) -> bool {
    let host = base_url
        .trim_end_matches('/')
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    host == "api.hyperliquid.xyz"
}

/// [`connect_hyperliquid_with`] and the account's own options (`config.hyperliquid`).
pub async fn connect_hyperliquid(config: AdapterConfig) -> Result<HyperliquidVenue, VenueError> {
    let options = config.hyperliquid.clone();
    connect_hyperliquid_with(config, options).await
}

/// Hyperliquid perpetuals: keys read and checked, then the dead-man switch started.
pub async fn connect_hyperliquid_with(
    config: AdapterConfig,
    options: HyperliquidOptions,
) -> Result<HyperliquidVenue, VenueError> {
    let transport = Transport::new(VENUE, &config.base_url, config.request_timeout)?;
    let clock = VenueClock::new(config.clock.clone());
    let (user, signer) = match &config.credentials {
        None => (None, None),
        Some(c) => {
            let master = Address::parse(c.key().trim()).map_err(|_| {
                auth(
                    "the API key must be the master account's address (0x and 40 hex digits)"
                        .into(),
                )
            })?;
            let wallet = Wallet::from_hex(std::str::from_utf8(c.secret()).unwrap_or_default())
                .map_err(|_| {
                    auth("the API secret must be the API wallet's private key (0x and 64 hex digits)".into())
                })?;
            let nonces = match &options.nonce_file {
                Some(path) => nonces_in(path)?,
                None => Nonces::new(),
            };
            let signer = Signer {
                wallet,
                nonces,
                vault: None,
                mainnet: is_mainnet(&config.base_url),
            };
            (Some(master), Some(Arc::new(signer)))
        }
    };
    let http = Arc::new(HyperliquidHttp::new(
        transport,
        clock,
        signer.clone(),
        MAX_RATE_WAIT,
    ));
    if let (Some(master), Some(signer)) = (user, &signer) {
        check_agent(&http, master, signer.wallet.address()).await?;
    }
    let mut venue = HyperliquidVenue::new(http, user, options);
    // The user streams need only the address; they start once the keys are known good.
    let url = user.and_then(|_| {
        config
            .stream
            .resolve(|| super::stream::stream_url(&config.base_url))
    });
    if let (Some(url), Some(master)) = (url, user) {
        let fill_wait = config.request_timeout.min(Duration::from_secs(1));
        venue.live = super::stream::Live::start(url, master.to_string(), fill_wait);
    }
    Ok(venue)
}

/// The nonce source kept in `path`, its folder created when missing (the engine's default
/// file is in its data dir, which a first `order place` may precede).
fn nonces_in(path: &std::path::Path) -> Result<Nonces, VenueError> {
    let internal = |m: String| VenueError::new(VENUE, VenueErrorKind::Internal, m);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| internal(format!("nonce file folder {}: {e}", dir.display())))?;
    }
    Nonces::with_file(path).map_err(|e| internal(e.to_string()))
}

/// Refuses a signer the exchange would not accept for `master`.
async fn check_agent(
    http: &HyperliquidHttp,
    master: Address,
    signer: Address,
) -> Result<(), VenueError> {
    if signer == master {
        // The master's own key can withdraw: refused like any key with withdrawal permission
        // on the other venues.
        return Err(auth(
            "the API secret is the account's own (master) key, which can withdraw funds; \
             tradeengine refuses such keys. Approve an API wallet for this account \
             (app.hyperliquid.xyz, API) and set its private key as the API secret"
                .to_string(),
        )
        .with_code(crate::permissions::WITHDRAWAL_ENABLED));
    }
    let value = http
        .info(&json!({"type": "userRole", "user": signer.to_string()}))
        .await?;
    let role: UserRole = reply(VENUE, "POST /info userRole", value)?;
    let approved_for = role
        .data
        .as_ref()
        .and_then(|d| d.user.as_deref())
        .map(str::to_ascii_lowercase);
    if role.role == "agent" && approved_for.as_deref() == Some(master.to_string().as_str()) {
        return Ok(());
    }
    Err(auth(format!(
        "API wallet {signer} cannot trade for {master}: its role is {:?}{}; approve it for this account (app.hyperliquid.xyz, API) or set the API key to the account it trades for",
        role.role,
        approved_for.map(|m| format!(" of {m}")).unwrap_or_default()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_mainnet_host_signs_as_mainnet() {
        assert!(is_mainnet("https://api.hyperliquid.xyz"));
        assert!(is_mainnet("https://api.hyperliquid.xyz/"));
        assert!(!is_mainnet("https://api.hyperliquid-testnet.xyz"));
        assert!(!is_mainnet("http://127.0.0.1:9000"));
    }
}
