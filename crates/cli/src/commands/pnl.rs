//! `tradeengine pnl`: P&L by source or by symbol, rebuilt from the store (see
//! `tradeengine_engine::pnl`). Read-only: the database is opened `mode=ro`.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use tradeengine_engine::config::Overrides;
use tradeengine_engine::pnl::{self, GroupBy, PnlLine};
use tradeengine_model::Timestamp;

use super::{load_config, open_store_read_only};
use crate::args::{Global, PnlArgs, PnlBy};
use crate::output::Table;

/// Decimal places shown in the table (`--json` shows every one).
const SHOWN_DP: u32 = 4;

pub async fn run(global: &Global, args: PnlArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(global, Overrides::default())?;
    let account = args
        .account
        .as_deref()
        .map(|a| super::configured_account(&config, a))
        .transpose()?;
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let by = match args.by {
        PnlBy::Source => GroupBy::Source,
        PnlBy::Symbol => GroupBy::Symbol,
    };
    let store = open_store_read_only(&config).await?;
    let report = pnl::report(&*store, account.as_ref(), by, since).await?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    if report.lines.is_empty() {
        outln!("no P&L recorded yet (no plans or fills in the store)");
        return Ok(ExitCode::SUCCESS);
    }
    out!("{}", table(by, &report).render());
    Ok(ExitCode::SUCCESS)
}

/// RFC 3339, or a date meaning its first instant in UTC.
fn parse_since(s: &str) -> anyhow::Result<Timestamp> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("--since {s:?}: expected RFC 3339 or YYYY-MM-DD"))?;
    Ok(Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN)))
}

fn table(by: GroupBy, report: &pnl::Report) -> Table {
    let first = match by {
        GroupBy::Source => "source",
        GroupBy::Symbol => "symbol",
    };
    let mut t = Table::new(&[
        (first, false),
        ("pnl", true),
        ("realised", true),
        ("unrealised", true),
        ("fees", true),
        ("slippage", true),
        ("funding", true),
        ("netting saved", true),
        ("turnover", true),
    ]);
    for line in report.lines.iter().chain(std::iter::once(&report.total)) {
        t.row(row(line));
    }
    t
}

fn row(l: &PnlLine) -> Vec<String> {
    let show = |d: Decimal| d.round_dp(SHOWN_DP).normalize().to_string();
    vec![
        l.name.clone(),
        show(l.pnl),
        show(l.realised),
        show(l.unrealised),
        show(l.fees),
        show(l.slippage),
        show(l.funding),
        show(l.netting_saving),
        show(l.turnover),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_date_or_rfc3339() {
        assert_eq!(
            parse_since("2026-01-02").unwrap(),
            Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap()
        );
        assert_eq!(
            parse_since("2026-01-02T03:04:05+01:00").unwrap(),
            Utc.with_ymd_and_hms(2026, 1, 2, 2, 4, 5).unwrap()
        );
        assert!(parse_since("yesterday").is_err());
    }
}
