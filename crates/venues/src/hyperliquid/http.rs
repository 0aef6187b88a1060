//! Hyperliquid's two endpoints: `POST /info` (reads, unsigned) and `POST /exchange` (signed
//! actions), with the IP weight limit and the reply envelope
//! (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/rate-limits-and-user-limits>):
//!
//! - every REST request from one IP shares 1200 weight per minute: an exchange action weighs
//!   1 + ⌊orders / 40⌋; `clearinghouseState`, `orderStatus`, `allMids` and `l2Book` weigh 2;
//!   `userRole` 60; every other info request 20;
//! - each address also has a request budget for actions (10 000 at first, one more per USDC
//!   traded); a spent budget is answered as a rate limit, and the budget is reported by the
//!   `userRateLimit` read ([`super::venue::HyperliquidVenue::address_budget`]).
//!
//! An action is answered `{"status": "ok", "response": ...}` or `{"status": "err",
//! "response": "message"}`; an unreadable body is HTTP 422.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::VENUE;
use super::actions::ExchangeRequest;
use super::nonce::{NonceError, Nonces};
use super::signing::{ActionContext, Address, Wallet};
use crate::http::classify::status_error;
use crate::http::{Method, Request, Transport, VenueClock};
use crate::ratelimit::{RateLimits, Scope};
use crate::{VenueError, VenueErrorKind};

/// The rate-limit scope of the IP weight.
pub const IP_WEIGHT: &str = "ip_weight";

/// Weight of an info request of type `kind`.
pub fn info_weight(kind: &str) -> u32 {
    match kind {
        "clearinghouseState"
        | "orderStatus"
        | "allMids"
        | "l2Book"
        | "exchangeStatus"
        | "spotClearinghouseState" => 2,
        "userRole" => 60,
        _ => 20,
    }
}

/// Weight of an action carrying `orders` orders (1 for actions without orders).
pub fn action_weight(orders: usize) -> u32 {
    1 + u32::try_from(orders / 40).unwrap_or(u32::MAX)
}

/// The signer of actions and how they are signed.
#[derive(Debug)]
pub struct Signer {
    pub wallet: Wallet,
    pub nonces: Nonces,
    pub vault: Option<Address>,
    pub mainnet: bool,
}

/// The HTTP side of one Hyperliquid account.
#[derive(Debug)]
pub struct HyperliquidHttp {
    transport: Transport,
    pub limits: RateLimits,
    pub clock: VenueClock,
    signer: Option<Arc<Signer>>,
}

impl HyperliquidHttp {
    pub fn new(
        transport: Transport,
        clock: VenueClock,
        signer: Option<Arc<Signer>>,
        max_wait: Duration,
    ) -> Self {
        let scopes = [Scope::new(IP_WEIGHT, 1200, Duration::from_secs(60))];
        Self {
            transport,
            limits: RateLimits::new(VENUE, &scopes, max_wait),
            clock,
            signer,
        }
    }

    pub fn signer(&self) -> Option<&Signer> {
        self.signer.as_deref()
    }

    /// `POST /info` with `body` (its `type` sets the weight).
    pub async fn info(&self, body: &Value) -> Result<Value, VenueError> {
        let kind = body.get("type").and_then(Value::as_str).unwrap_or_default();
        self.limits
            .acquire(&[(IP_WEIGHT, info_weight(kind))])
            .await?;
        let text = body.to_string();
        let resp = self
            .transport
            .send(Request {
                method: Method::Post,
                path: "/info",
                query: "",
                headers: Vec::new(),
                body: Some((text, "application/json")),
            })
            .await
            .map_err(|mut e| {
                // A read changes nothing: a lost answer is worth asking again, not settling.
                if e.kind == VenueErrorKind::Ambiguous {
                    e.kind = VenueErrorKind::Retryable;
                }
                e
            })?;
        self.read(resp, "POST /info")
    }

    /// Signs `action` with the next nonce and sends it to `POST /exchange`; `Ok` is the
    /// `response` of an `ok` envelope.
    pub async fn exchange<A: Serialize + Sync>(
        &self,
        action: &A,
        orders: usize,
    ) -> Result<Value, VenueError> {
        let signer = self.signer.as_deref().ok_or_else(|| {
            VenueError::new(
                VENUE,
                VenueErrorKind::Auth,
                "no API wallet key configured: trading needs PREFIX_API_SECRET (the agent's private key)",
            )
        })?;
        self.limits
            .acquire(&[(IP_WEIGHT, action_weight(orders))])
            .await?;
        let now = u64::try_from(self.clock.venue_ms()).unwrap_or_default();
        let nonce = signer.nonces.next(now).map_err(|e| match e {
            NonceError::TooFarAhead(ms) => VenueError::new(
                VENUE,
                VenueErrorKind::RateLimited,
                format!("more than one action per millisecond: {e}"),
            )
            .with_retry_after(Duration::from_millis(ms)),
            NonceError::State { .. } => {
                VenueError::new(VENUE, VenueErrorKind::Internal, e.to_string())
            }
        })?;
        let context = ActionContext {
            nonce,
            vault: signer.vault,
            expires_after: None,
            mainnet: signer.mainnet,
        };
        let signature = signer
            .wallet
            .sign_l1_action(action, &context)
            .map_err(|e| VenueError::new(VENUE, VenueErrorKind::Internal, e.to_string()))?;
        let body = serde_json::to_string(&ExchangeRequest::new(action, &context, signature))
            .map_err(|e| VenueError::new(VENUE, VenueErrorKind::Internal, e.to_string()))?;
        let resp = self
            .transport
            .send(Request {
                method: Method::Post,
                path: "/exchange",
                query: "",
                headers: Vec::new(),
                body: Some((body, "application/json")),
            })
            .await?;
        let envelope = self.read(resp, "POST /exchange")?;
        match envelope.get("status").and_then(Value::as_str) {
            Some("ok") => Ok(envelope.get("response").cloned().unwrap_or(Value::Null)),
            Some("err") => Err(refusal(
                envelope
                    .get("response")
                    .and_then(Value::as_str)
                    .unwrap_or("refused without a message"),
            )),
            _ => Err(VenueError::new(
                VENUE,
                VenueErrorKind::Internal,
                format!(
                    "POST /exchange: no status in the reply: {}",
                    snippet(&envelope)
                ),
            )),
        }
    }

    fn read(&self, resp: crate::http::RawResponse, what: &str) -> Result<Value, VenueError> {
        if !(200..300).contains(&resp.status) {
            if resp.status == 429 {
                self.limits.pause_for(Duration::from_secs(1));
            }
            let mut e = status_error(VENUE, &resp);
            e.message = format!("{what}: {}", e.message);
            return Err(e);
        }
        serde_json::from_slice(&resp.body).map_err(|_| {
            VenueError::new(
                VENUE,
                VenueErrorKind::Internal,
                format!("{what}: the reply is not JSON: {}", resp.body_snippet()),
            )
        })
    }
}

fn snippet(v: &Value) -> String {
    v.to_string().chars().take(300).collect()
}

/// What a refused request (`status: err`) means for the caller. Every one of them says the
/// action was not carried out.
pub fn refusal(message: &str) -> VenueError {
    let lower = message.to_ascii_lowercase();
    let (kind, code) = if lower.contains("does not exist") || lower.contains("api wallet") {
        (VenueErrorKind::Auth, "unknown_signer")
    } else if lower.contains("nonce") {
        (VenueErrorKind::Retryable, "nonce")
    } else if lower.contains("too many") || lower.contains("rate limit") {
        (VenueErrorKind::RateLimited, "rate_limited")
    } else {
        (VenueErrorKind::Rejected, "refused")
    };
    let e =
        VenueError::new(VENUE, kind, message.chars().take(300).collect::<String>()).with_code(code);
    if kind == VenueErrorKind::RateLimited {
        e.with_retry_after(Duration::from_secs(10))
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_the_documented_table() {
        assert_eq!(info_weight("clearinghouseState"), 2);
        assert_eq!(info_weight("orderStatus"), 2);
        assert_eq!(info_weight("meta"), 20);
        assert_eq!(info_weight("userRole"), 60);
        assert_eq!(action_weight(1), 1);
        assert_eq!(action_weight(39), 1);
        assert_eq!(action_weight(40), 2);
        assert_eq!(action_weight(85), 3);
    }

    #[test]
    fn refusals_are_classified_by_what_the_caller_may_do() {
        let unknown = refusal("User or API Wallet 0xabc does not exist.");
        assert_eq!(unknown.kind, VenueErrorKind::Auth);
        assert!(!unknown.may_have_acted());
        let nonce = refusal("Invalid nonce: duplicate nonce 5");
        assert_eq!(nonce.kind, VenueErrorKind::Retryable);
        assert_eq!(
            refusal("Too many cumulative requests sent").kind,
            VenueErrorKind::RateLimited
        );
        assert_eq!(
            refusal("Vault trading is not simulated").kind,
            VenueErrorKind::Rejected
        );
    }
}
