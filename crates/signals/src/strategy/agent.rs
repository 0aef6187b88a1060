//! The decision maker: ask the LLM when one is configured, validate its reply, and fall back to
//! the rules when it is missing, unreachable, slow, refuses or replies something invalid. The
//! outcome says which path decided and why, for the audit trail.

use serde::Serialize;

use super::cipher::MarketState;
use super::decision::{Decision, DecisionRules, Position, validate};
use super::fallback::{self, FallbackParams};
use super::llm::LlmClient;
use super::prompt;

/// Which path produced the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Origin {
    Llm {
        model: String,
    },
    /// The fallback rules; `reason` is why the LLM did not decide ("no LLM configured", the
    /// error, or the validation failure).
    Fallback {
        reason: String,
    },
}

/// A decision with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub decision: Decision,
    pub origin: Origin,
    /// What validation changed (caps, defaults, single-position rule).
    pub adjustments: Vec<String>,
}

/// LLM (optional) + rules.
#[derive(Debug, Clone)]
pub struct Agent {
    pub llm: Option<LlmClient>,
    pub rules: DecisionRules,
    pub fallback: FallbackParams,
}

impl Agent {
    /// Decides for the last candle of `state`.
    pub async fn decide(&self, state: &MarketState, position: Position) -> Outcome {
        let reason = match &self.llm {
            None => "no LLM configured".to_string(),
            Some(llm) => {
                let system = prompt::system_prompt(&self.rules);
                let user = prompt::user_prompt(state, position);
                match llm.complete(&system, &user).await {
                    Err(e) => e.to_string(),
                    Ok(text) => match super::decision::parse_reply(&text)
                        .and_then(|raw| validate(raw, &self.rules, position))
                    {
                        Ok(v) => {
                            return Outcome {
                                decision: v.decision,
                                origin: Origin::Llm {
                                    model: llm.model().to_string(),
                                },
                                adjustments: v.adjustments,
                            };
                        }
                        Err(e) => format!("invalid LLM reply: {e}"),
                    },
                }
            }
        };
        self.fallback_outcome(state, position, reason)
    }

    /// The rules' decision. Validation cannot refuse it with sane parameters; if configured
    /// parameters make it invalid, HOLD is the safe answer.
    pub fn fallback_outcome(
        &self,
        state: &MarketState,
        position: Position,
        reason: String,
    ) -> Outcome {
        let raw = fallback::decide(state, position, &self.fallback);
        match validate(raw, &self.rules, position) {
            Ok(v) => Outcome {
                decision: v.decision,
                origin: Origin::Fallback { reason },
                adjustments: v.adjustments,
            },
            Err(e) => Outcome {
                decision: Decision {
                    action: super::decision::Action::Hold,
                    size_pct: rust_decimal::Decimal::ZERO,
                    take_profit_pct: self.fallback.take_profit_pct,
                    stop_loss_pct: self.fallback.stop_loss_pct,
                    leverage: None,
                    rationale: super::decision::tidy_rationale(&format!(
                        "Fallback decision invalid ({e}): hold"
                    )),
                    reduce_only: false,
                },
                origin: Origin::Fallback { reason },
                adjustments: vec![],
            },
        }
    }
}
