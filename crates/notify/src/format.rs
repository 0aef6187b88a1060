//! The words of each notification: plain text (no parse mode, so nothing a source or a venue
//! wrote can break Telegram's Markdown), one short headline line first so a phone's lock screen
//! shows what matters.

use std::collections::BTreeMap;

use crate::event::{Event, NoticeKind};

/// Telegram refuses a message past 4096 characters (https://core.telegram.org/bots/api#sendmessage).
pub const MAX_CHARS: usize = 4096;

/// The text of one event.
pub fn render(event: &Event) -> String {
    match event {
        Event::Fill {
            account,
            symbol,
            side,
            qty,
            price,
            fee,
            ..
        } => {
            let verb = if side == "sell" { "SOLD" } else { "BOUGHT" };
            let fee = fee
                .map(|f| format!(", fee {}", f.normalize()))
                .unwrap_or_default();
            format!(
                "{verb} {} {symbol} @ {} ({account}{fee})",
                qty.normalize(),
                price.normalize()
            )
        }
        Event::SignalRefused { source, reason, .. } => {
            format!("Signal refused from {source}: {reason}")
        }
        Event::SourceStale {
            source,
            since,
            error,
        } => {
            let why = error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            format!(
                "Source {source} is STALE since {}{why}",
                since.format("%Y-%m-%d %H:%M:%S UTC")
            )
        }
        Event::SourceFresh { source, .. } => format!("Source {source} is fresh again"),
        Event::RiskState {
            account,
            from,
            to,
            detail,
            ..
        } => format!("Risk {account}: {from} -> {to} ({detail})"),
        Event::KillSwitch {
            action, scope, by, ..
        } => match action.as_str() {
            "released" => format!("Kill switch RELEASED ({scope}) by {by}"),
            _ => format!(
                "Kill switch ENGAGED: {} {scope} by {by}",
                action.to_uppercase()
            ),
        },
        Event::ReconcileFailed {
            account, detail, ..
        } => format!("Reconciliation failed on {account}: {detail}"),
        Event::EngineStarted { mode, accounts, .. } => {
            format!("Engine started ({mode}): {}", accounts.join(", "))
        }
        Event::EngineStopped { detail, .. } => format!("Engine stopped: {detail}"),
    }
}

/// One line for refused signals gathered over a window: how many, from which sources and why
/// (each source's reasons by count, most frequent first).
pub fn refusal_summary(
    window_secs: u64,
    refused: &BTreeMap<String, BTreeMap<String, u64>>,
) -> String {
    let total: u64 = refused.values().flat_map(|r| r.values()).sum();
    let mut parts = Vec::new();
    for (source, reasons) in refused {
        let n: u64 = reasons.values().sum();
        let mut by_count: Vec<(&String, &u64)> = reasons.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let why: Vec<String> = by_count
            .iter()
            .take(3)
            .map(|(r, c)| format!("{r} x{c}"))
            .collect();
        parts.push(format!("{source} {n} ({})", why.join("; ")));
    }
    let s = if total == 1 { "" } else { "s" };
    format!(
        "{total} signal{s} refused in the last {}: {}",
        span(window_secs),
        parts.join(", ")
    )
}

/// The line that says what a rate limit held back.
pub fn held_back(held: &BTreeMap<NoticeKind, u64>) -> String {
    let total: u64 = held.values().sum();
    let parts: Vec<String> = held
        .iter()
        .map(|(k, n)| format!("{n} {}", k.as_str()))
        .collect();
    format!(
        "{total} notification(s) held back by the rate limit: {}",
        parts.join(", ")
    )
}

fn span(secs: u64) -> String {
    if secs.is_multiple_of(60) && secs >= 60 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// Cuts text to Telegram's limit on a character boundary.
pub fn clip(text: &str) -> String {
    if text.chars().count() <= MAX_CHARS {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_CHARS - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn at() -> tradeengine_model::Timestamp {
        chrono::Utc
            .with_ymd_and_hms(2025, 3, 1, 12, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn a_fill_says_side_quantity_symbol_price_and_fee_exactly() {
        let e = Event::Fill {
            account: "main".into(),
            symbol: "BTCUSDT".into(),
            side: "sell".into(),
            qty: dec!(0.0120),
            price: dec!(64250.10),
            fee: Some(dec!(0.3855)),
            at: at(),
        };
        assert_eq!(
            render(&e),
            "SOLD 0.012 BTCUSDT @ 64250.1 (main, fee 0.3855)"
        );
    }

    #[test]
    fn stale_names_since_and_why() {
        let e = Event::SourceStale {
            source: "sn8".into(),
            since: at(),
            error: Some("HTTP 503".into()),
        };
        assert_eq!(
            render(&e),
            "Source sn8 is STALE since 2025-03-01 12:00:00 UTC: HTTP 503"
        );
    }

    #[test]
    fn refusal_summary_counts_by_source_and_reason() {
        let mut m: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        m.entry("tv".into())
            .or_default()
            .insert("bad secret".into(), 8);
        m.entry("tv".into())
            .or_default()
            .insert("unknown symbol".into(), 2);
        m.entry("nats".into())
            .or_default()
            .insert("stale".into(), 1);
        assert_eq!(
            refusal_summary(300, &m),
            "11 signals refused in the last 5 min: nats 1 (stale x1), tv 10 (bad secret x8; unknown symbol x2)"
        );
    }

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_to_the_limit() {
        assert_eq!(clip("hi"), "hi");
        let long = "é".repeat(MAX_CHARS + 10);
        assert_eq!(clip(&long).chars().count(), MAX_CHARS);
    }
}
