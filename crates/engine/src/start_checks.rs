//! Everything `tradeengine run` would refuse in a configuration, checked without connecting
//! anywhere: the engine's and accounts' problems ([`crate::config::preflight`]) and every enabled
//! source's own settings ([`crate::sources::settings_problems`]). `tradeengine config check` calls
//! the same function as the start, so the check cannot pass a file the start then refuses.

use crate::config::{Config, ConfigError};

/// Every problem the start would refuse, each naming its key. `env` is what the start's
/// environment would be.
pub fn start_problems(
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
    live_confirmed: bool,
) -> Vec<ConfigError> {
    let mut problems = crate::config::preflight::account_problems(config, env, live_confirmed);
    problems.extend(crate::sources::settings_problems(config, env));
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, load_str};

    fn config(text: &str) -> Config {
        load_str(text, None, &[], &Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_source_variable_not_set_is_a_problem_too() {
        let text = "[sources.tv]\ntype = \"tradingview\"\n[sources.tv.settings]\nsecret_env = \"TV_SECRET_X\"\n";
        let c = config(text);
        let p = start_problems(&c, &env(&[]), false);
        assert!(
            p.len() == 1 && p[0].reason.contains("TV_SECRET_X is not set"),
            "{p:?}"
        );
        assert!(start_problems(&c, &env(&[("TV_SECRET_X", "FAKE")]), false).is_empty());
    }
}
