//! `scoring = "ptn"`: trust the validator's own judgement
//! (https://github.com/taoshidev/proprietary-trading-network).
//!
//! Candidates are the miners in `/statistics` `data[]` (only miners with a weight rank appear).
//! A miner is dropped when it is in `/eliminations`, when its challenge status is not `success`
//! (i.e. still in the challenge period, on probation or under plagiarism review), and, if
//! configured, when its instantaneous drawdown ratio, penalty multiplier or plagiarism score is
//! past the limit. Survivors are ordered by the validator's weight (`weight.value`, highest
//! first), then by `weight.rank`, then by document order. The score reported is the weight.

use std::collections::HashSet;

use super::config::PtnParams;
use super::metric_score::{Exclusion, desc_nan_last};
use super::types::{EliminationsDoc, StatisticsDoc};

/// A selected miner, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct PtnChoice {
    pub hotkey: String,
    pub score: f64,
}

/// Selects and orders miners from the validator's statistics.
pub fn select(
    stats: &StatisticsDoc,
    eliminations: &EliminationsDoc,
    p: &PtnParams,
) -> (Vec<PtnChoice>, Vec<Exclusion>) {
    let eliminated: HashSet<&str> = eliminations
        .eliminations
        .iter()
        .filter_map(|e| e.hotkey.as_deref())
        .collect();
    let mut excluded = Vec::new();
    let mut seen = HashSet::new();
    let mut chosen: Vec<(usize, f64, i64, String)> = Vec::new();
    for (i, m) in stats.data.iter().enumerate() {
        let Some(hk) = m.hotkey.as_deref() else {
            continue;
        };
        if !seen.insert(hk) {
            continue;
        }
        let reason = if eliminated.contains(hk) {
            Some(Exclusion::Eliminated)
        } else if m
            .challengeperiod
            .as_ref()
            .and_then(|c| c.status.as_deref())
            .is_none_or(|s| !s.eq_ignore_ascii_case("success"))
        {
            Some(Exclusion::NotInMainCompetition)
        } else if let Some(min) = p.min_drawdown_ratio
            && m.drawdowns
                .as_ref()
                .and_then(|d| d.instantaneous_max_drawdown)
                .is_none_or(|dd| dd < min)
        {
            Some(Exclusion::PtnDrawdown)
        } else if let Some(min) = p.min_penalty_total
            && m.penalties
                .as_ref()
                .and_then(|x| x.total)
                .is_none_or(|t| t < min)
        {
            Some(Exclusion::Penalised)
        } else if let Some(max) = p.max_plagiarism
            && m.plagiarism.is_some_and(|x| x > max)
        {
            Some(Exclusion::Plagiarism)
        } else {
            None
        };
        match reason {
            Some(r) => excluded.push(r),
            None => {
                let w = m.weight.as_ref();
                chosen.push((
                    i,
                    w.and_then(|w| w.value).unwrap_or(f64::NAN),
                    w.and_then(|w| w.rank).unwrap_or(i64::MAX),
                    hk.to_string(),
                ));
            }
        }
    }
    chosen.sort_by(|a, b| {
        desc_nan_last(a.1, b.1)
            .then_with(|| a.2.cmp(&b.2))
            .then_with(|| a.0.cmp(&b.0))
    });
    let out = chosen
        .into_iter()
        .map(|(_, score, _, hotkey)| PtnChoice { hotkey, score })
        .collect();
    (out, excluded)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::types::StatisticsDoc;
    use super::*;

    #[test]
    fn drops_eliminated_and_challenge_miners_and_orders_by_weight() {
        let stats: StatisticsDoc = serde_json::from_value(json!({"data": [
            {"hotkey": "a", "challengeperiod": {"status": "success"}, "weight": {"value": 0.1, "rank": 2}},
            {"hotkey": "b", "challengeperiod": {"status": "testing", "remaining_time_ms": 5}, "weight": {"value": 0.9, "rank": 1}},
            {"hotkey": "c", "challengeperiod": {"status": "success"}, "weight": {"value": 0.3, "rank": 1}},
            {"hotkey": "d", "challengeperiod": {"status": "success"}, "weight": {"value": 0.5}},
            {"hotkey": "e", "challengeperiod": {"status": "probation"}},
            {"hotkey": "f", "weight": {"value": 1.0}},
            {"hotkey": "g", "challengeperiod": {"status": "success"}, "weight": {"value": null}},
            {"hotkey": "c", "challengeperiod": {"status": "success"}, "weight": {"value": 9.0}}
        ]}))
        .unwrap();
        let elim: EliminationsDoc = serde_json::from_value(json!({"eliminations": [
            {"hotkey": "d", "reason": "MAX_TOTAL_DRAWDOWN", "dd": 10.2}
        ]}))
        .unwrap();
        let (chosen, excluded) = select(&stats, &elim, &PtnParams::default());
        let keys: Vec<&str> = chosen.iter().map(|c| c.hotkey.as_str()).collect();
        assert_eq!(keys, vec!["c", "a", "g"]);
        assert_eq!(
            excluded
                .iter()
                .filter(|e| **e == Exclusion::Eliminated)
                .count(),
            1
        );
        assert_eq!(
            excluded
                .iter()
                .filter(|e| **e == Exclusion::NotInMainCompetition)
                .count(),
            3
        );
    }

    #[test]
    fn optional_filters() {
        let stats: StatisticsDoc = serde_json::from_value(json!({"data": [
            {"hotkey": "a", "challengeperiod": {"status": "success"},
             "drawdowns": {"instantaneous_max_drawdown": 0.91}, "penalties": {"total": 1.0}},
            {"hotkey": "b", "challengeperiod": {"status": "success"},
             "drawdowns": {"instantaneous_max_drawdown": 0.97}, "penalties": {"total": 0.5}},
            {"hotkey": "c", "challengeperiod": {"status": "success"},
             "drawdowns": {"instantaneous_max_drawdown": 0.97}, "penalties": {"total": 1.0},
             "plagiarism": 0.9},
            {"hotkey": "d", "challengeperiod": {"status": "success"},
             "drawdowns": {"instantaneous_max_drawdown": 0.99}, "penalties": {"total": 1.0},
             "plagiarism": null}
        ]}))
        .unwrap();
        let p = PtnParams {
            min_drawdown_ratio: Some(0.93),
            min_penalty_total: Some(1.0),
            max_plagiarism: Some(0.5),
        };
        let (chosen, excluded) = select(&stats, &EliminationsDoc::default(), &p);
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].hotkey, "d");
        assert_eq!(
            excluded,
            vec![
                Exclusion::PtnDrawdown,
                Exclusion::Penalised,
                Exclusion::Plagiarism
            ]
        );
    }
}
