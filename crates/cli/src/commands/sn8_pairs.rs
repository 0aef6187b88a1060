//! The trade-pair part of `tradeengine sn8 rank`: what the validator's `/trade-pairs` says about
//! each pair the source follows, and mapping suggestions for the crypto pairs it does not follow
//! yet (Hyperliquid-sourced `BTCUSDC` as much as Vanta's `BTCUSD`) whose unified symbol the
//! configuration trades, with that symbol's name on each account's venue.

use std::fmt::Write;

use tradeengine_engine::config::{Config, VenueKind};
use tradeengine_model::VenueId;
use tradeengine_signals::sn8::{PairRule, PairStatus, TradePairsDoc};

/// A unified symbol as a venue names it (`BTCUSDT` → BloFin `BTC-USDT`, KuCoin `XBTUSDTM`,
/// MEXC `BTC_USDT`, Hyperliquid coin `BTC`; Bybit, Binance and paper use it as is).
pub fn venue_name(venue: VenueKind, unified: &str) -> Option<String> {
    match venue.exchange() {
        Some(VenueId::Blofin) => tradeengine_venues::blofin::venue_symbol(unified),
        Some(VenueId::Kucoin) => tradeengine_venues::kucoin::venue_symbol(unified),
        Some(VenueId::Mexc) => tradeengine_venues::mexc::venue_symbol(unified),
        Some(VenueId::Hyperliquid) => unified
            .strip_suffix("USDT")
            .filter(|b| !b.is_empty())
            .map(str::to_string),
        _ => Some(unified.to_string()),
    }
}

fn on_accounts(config: &Config, unified: &str) -> String {
    config
        .accounts
        .iter()
        .map(|a| {
            format!(
                "{}={}",
                a.name,
                venue_name(a.venue, unified).unwrap_or_else(|| "-".into())
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn status(s: PairStatus) -> &'static str {
    match s {
        PairStatus::Allowed => "allowed",
        PairStatus::Deprecated => "reduce-only",
        PairStatus::Disabled => "disabled",
    }
}

/// The lines: every followed pair with its rule, then suggestions.
pub fn format_pairs(config: &Config, source: &str, doc: &TradePairsDoc) -> String {
    let mut out = String::new();
    let mapped = config.mapping.get(source);
    let _ = writeln!(out, "\ntrade pairs (validator /trade-pairs):");
    for (raw, unified) in mapped.into_iter().flatten() {
        let rule = match PairRule::from_doc(Some(doc), raw) {
            PairRule::Unknown | PairRule::Allowed { .. } => "allowed",
            PairRule::Deprecated { .. } => "reduce-only",
            PairRule::Disabled => "disabled: held flat",
            PairRule::Dropped => "not listed: held flat",
        };
        let (src, max) = doc
            .find(raw)
            .map_or((String::new(), String::new()), |(_, p)| {
                (
                    p.trade_pair_source.clone().unwrap_or_default(),
                    p.max_leverage
                        .map(|m| format!("max leverage {m}"))
                        .unwrap_or_default(),
                )
            });
        let _ = writeln!(
            out,
            "  {raw:<12} {src:<12} {rule:<22} {max:<18} → {unified}  {}",
            on_accounts(config, unified)
        );
    }
    let traded: Vec<&str> = config.symbols.iter().map(|s| s.symbol.as_str()).collect();
    let mut suggestions = Vec::new();
    for (s, p) in &doc.pairs {
        let (Some(id), Some(unified)) = (p.trade_pair_id.as_deref(), p.suggested_symbol()) else {
            continue;
        };
        let already = mapped.is_some_and(|m| {
            m.keys().any(|k| {
                tradeengine_signals::mapping::normalise(k)
                    == tradeengine_signals::mapping::normalise(id)
            })
        });
        if already || *s == PairStatus::Disabled || !traded.contains(&unified.as_str()) {
            continue;
        }
        suggestions.push(format!(
            "  {id:<12} {:<12} {:<22} → add `{id} = \"{unified}\"` to [mapping.{source}]  {}",
            p.trade_pair_source.as_deref().unwrap_or(""),
            status(*s),
            on_accounts(config, &unified)
        ));
    }
    if !suggestions.is_empty() {
        let _ = writeln!(
            out,
            "not followed yet, for symbols this configuration trades:"
        );
        for s in suggestions {
            let _ = writeln!(out, "{s}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followed_pairs_show_their_rule_and_hyperliquid_pairs_are_suggested_per_account() {
        let config = tradeengine_engine::config::load_str(
            r#"
[engine]
mode = "paper"

[[accounts]]
name = "bb"
venue = "bybit"

[[accounts]]
name = "kc"
venue = "kucoin"

[[accounts]]
name = "hl"
venue = "hyperliquid"

[[symbols]]
symbol = "BTCUSDT"
weights = { sn8 = 0.5 }

[[symbols]]
symbol = "ETHUSDT"
weights = { sn8 = 0.5 }

[sources.sn8]
type = "sn8"
ttl_secs = 120
[sources.sn8.settings]
positions_url = "http://127.0.0.1:1/miner-positions"

[mapping.sn8]
BTCUSD = "BTCUSDT"
"#,
            None,
            &[],
            &tradeengine_engine::config::Overrides::default(),
        );
        let Ok(config) = config else {
            panic!("{config:?}")
        };
        let doc = tradeengine_signals::sn8::parse_trade_pairs(
            br#"{"allowed": [
                  {"trade_pair_id": "BTCUSDC", "hl_coin": "BTC", "trade_pair_source": "hyperliquid", "max_leverage": 1.0},
                  {"trade_pair_id": "ETHUSDC", "hl_coin": "ETH", "trade_pair_source": "hyperliquid", "max_leverage": 1.0},
                  {"trade_pair_id": "DOGEUSDC", "hl_coin": "DOGE", "trade_pair_source": "hyperliquid"}],
                 "disabled": [{"trade_pair_id": "BTCUSD", "trade_pair_source": "vanta", "max_leverage": 0.5}]}"#,
        )
        .unwrap();
        let text = format_pairs(&config, "sn8", &doc);
        assert!(
            text.contains("BTCUSD ") && text.contains("disabled: held flat"),
            "{text}"
        );
        assert!(
            text.contains(
                "add `BTCUSDC = \"BTCUSDT\"` to [mapping.sn8]  bb=BTCUSDT kc=XBTUSDTM hl=BTC"
            ),
            "{text}"
        );
        assert!(text.contains("ETHUSDC = \"ETHUSDT\""), "{text}");
        assert!(
            !text.contains("DOGE"),
            "only symbols the configuration trades: {text}"
        );
    }
}
