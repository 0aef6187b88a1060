//! `tradeengine status`'s source lines: each polled source's freshness (fresh, or stale since T
//! and why) from the running engine's `GET /api/v1/sources`, and the refusals of the last hour
//! from the store.

use std::time::Duration;

use tradeengine_engine::config::Config;
use tradeengine_engine::freshness::SourceFreshness;
use tradeengine_store::Store;

/// Refusals counted in the status line's window.
const REFUSAL_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The engine's answer to `GET path` (read token from `[api]`'s variable when set), or `None`
/// when it does not answer.
async fn api_get(config: &Config, path: &str) -> Option<serde_json::Value> {
    let mut addr = config.engine.bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .ok()?;
    let mut req = client.get(format!("http://{addr}{path}"));
    if let Ok(token) = std::env::var(config.api.read_var()) {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

/// One line per polled source, e.g. `source sn8 (sn8, tier 100): STALE since 2026-…, last
/// success …: fetch: HTTP 503 (12 failures in a row)`. SN8 sources show their data tier.
pub fn freshness_line(name: &str, f: &SourceFreshness, tier: Option<i64>) -> String {
    let kind = match tier {
        Some(t) => format!("{}, tier {t}", f.kind),
        None => f.kind.clone(),
    };
    let at = |t: Option<tradeengine_model::Timestamp>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| "never".into())
    };
    let why = f
        .last_error
        .as_deref()
        .map(|e| format!(": {e} ({} failures in a row)", f.consecutive_failures))
        .unwrap_or_default();
    if f.stale {
        format!(
            "source {name} ({kind}): STALE since {}, last success {}{why}\n",
            at(f.stale_since),
            at(f.last_success)
        )
    } else {
        format!(
            "source {name} ({kind}): fresh, last success {}{why}\n",
            at(f.last_success)
        )
    }
}

/// The source lines of `status`.
pub async fn lines(config: &Config, store: &dyn Store) -> anyhow::Result<String> {
    let mut out = String::new();
    match api_get(config, "/api/v1/sources").await {
        Some(serde_json::Value::Object(sources)) => {
            for (name, s) in &sources {
                let fresh = s
                    .get("freshness")
                    .cloned()
                    .and_then(|f| serde_json::from_value::<SourceFreshness>(f).ok());
                let tier = s.get("tier").and_then(serde_json::Value::as_i64);
                if let Some(f) = fresh {
                    out.push_str(&freshness_line(name, &f, tier));
                }
            }
        }
        _ => {
            if config
                .sources
                .values()
                .any(|s| s.kind == tradeengine_engine::config::SourceKind::Sn8)
            {
                out.push_str("sources: freshness unknown (the engine's API did not answer)\n");
            }
        }
    }
    let since = chrono::Utc::now() - REFUSAL_WINDOW;
    let recent: Vec<_> = store
        .refused_signals(None, 1000)
        .await?
        .into_iter()
        .filter(|r| r.refused_at >= since)
        .collect();
    if !recent.is_empty() {
        let mut by: std::collections::BTreeMap<(String, String), usize> = Default::default();
        for r in &recent {
            *by.entry((r.source.clone(), r.code.clone())).or_default() += 1;
        }
        let parts: Vec<String> = by
            .iter()
            .map(|((s, c), n)| format!("{s}/{c} {n}"))
            .collect();
        out.push_str(&format!(
            "refused in the last hour: {} ({}); see `tradeengine signals --refused`\n",
            recent.len(),
            parts.join(", ")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_lines_say_since_when_and_why() {
        let t = |s: i64| chrono::DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap_or_default();
        let f = SourceFreshness {
            kind: "sn8".into(),
            stale: true,
            stale_since: Some(t(120)),
            last_success: Some(t(0)),
            last_error: Some("fetch: HTTP 503".into()),
            last_error_at: Some(t(360)),
            consecutive_failures: 6,
            checked_at: t(360),
            ttl_secs: 120,
            warned_at: None,
        };
        let line = freshness_line("sn8", &f, Some(30));
        assert_eq!(
            line,
            "source sn8 (sn8, tier 30): STALE since 2023-11-14 22:15:20 UTC, last success 2023-11-14 \
             22:13:20 UTC: fetch: HTTP 503 (6 failures in a row)\n"
        );
    }
}
