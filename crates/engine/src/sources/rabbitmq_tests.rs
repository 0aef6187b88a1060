//! Settings of the RabbitMQ source (the consumer itself is tested against a broker in
//! `tests/brokers`).
use super::*;

fn config(settings: &str) -> Config {
    let text = format!("[sources.r]\ntype = \"rabbitmq\"\n[sources.r.settings]\n{settings}\n");
    crate::config::load_str(&text, None, &[], &crate::config::Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn defaults_follow_algo_trading_platform_and_secrets_stay_hidden() {
    let env = |k: &str| (k == "RMQ_PASS").then(|| "s3cr3t:/@".to_string());
    let s = settings(
        "r",
        &config("user = \"bot\"\npassword_env = \"RMQ_PASS\""),
        &env,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.queue, "trading_signals");
    assert_eq!(s.dead_letter_queue, "trading_signals.dead");
    assert_eq!(s.shown_url, "amqp://127.0.0.1:5672//");
    assert_eq!(
        s.uri.expose_secret(),
        "amqp://bot:s3cr3t%3A%2F%40@127.0.0.1:5672/%2F"
    );
    let shown = format!("{s:?}");
    assert!(
        !shown.contains("s3cr3t") && !shown.contains("bot"),
        "{shown}"
    );
}

#[test]
fn typos_and_bad_values_are_refused_by_key() {
    let env = |_: &str| None;
    let e = settings("r", &config("queu = \"x\""), &env).unwrap_err();
    assert!(e.contains("queu"), "{e}");
    let e = settings("r", &config("password_env = \"MISSING\""), &env).unwrap_err();
    assert!(e.contains("MISSING"), "{e}");
    assert!(settings("r", &config("prefetch = 0"), &env).is_err());
    assert!(
        settings(
            "r",
            &config("dead_letter_queue = \"trading_signals\""),
            &env
        )
        .is_err()
    );
    assert!(settings("r", &config("url = \"http://x\""), &env).is_err());
}
