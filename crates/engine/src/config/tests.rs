use rust_decimal_macros::dec;

use super::import::{ImportOptions, SeedFiles, import_seed};

fn import_new(files: &SeedFiles) -> Result<Config, super::import::ImportError> {
    import_seed(
        "",
        std::path::Path::new("t.toml"),
        files,
        &ImportOptions::default(),
    )
    .map(|i| i.config)
}
use super::reload::check_hot_reload;
use super::*;

fn demo() -> Config {
    load_str(demo::DEMO_TOML, None, &[], &Overrides::default())
        .unwrap_or_else(|e| panic!("demo config must load: {e}"))
}

#[test]
fn embedded_demo_is_valid() {
    let c = demo();
    assert_eq!(c.engine.mode, Mode::Paper);
    assert_eq!(c.accounts.len(), 1);
    assert_eq!(c.accounts[0].venue, VenueKind::Paper);
    assert_eq!(c.symbols.len(), 2);
    assert!(
        c.database_url()
            .ends_with("tradeengine-data/tradeengine.sqlite")
    );
}

#[test]
fn unknown_key_is_refused_by_name() {
    let text = "[engine]\nmdoe = \"paper\"\n";
    let e = load_str(
        text,
        Some(std::path::Path::new("t.toml")),
        &[],
        &Overrides::default(),
    )
    .err()
    .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(e.key, "engine.mdoe");
    assert!(
        e.to_string()
            .starts_with("t.toml: engine.mdoe: unknown key"),
        "{e}"
    );
}

#[test]
fn bad_enum_value_names_the_key() {
    let text = "[[accounts]]\nname = \"a\"\nvenue = \"bybitt\"\n";
    let e = load_str(text, None, &[], &Overrides::default())
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(e.key, "accounts[0].venue");
    assert!(e.reason.contains("bybitt"), "{e}");
}

#[test]
fn a_bad_symbol_is_refused_at_load_with_the_models_reason() {
    let text = "[[symbols]]\nsymbol = \"BTCUSDT\"\n[[symbols]]\nsymbol = \"BTC-USDT\"\n";
    let e = load_str(text, None, &[], &Overrides::default())
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(e.key, "symbols[1].symbol");
    // The same text the model gives for the name, with nothing added.
    let model = tradeengine_model::Symbol::new("BTC-USDT")
        .err()
        .unwrap_or_else(|| panic!("BTC-USDT is not a unified symbol"));
    assert_eq!(e.reason, model.to_string());
    // A good name is stored as the symbol, upper case.
    let ok = load_str(
        "[[symbols]]\nsymbol = \"ethusdt\"\n",
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.symbols[0].symbol.as_str(), "ETHUSDT");
}

#[test]
fn weights_over_one_are_refused() {
    let text = r#"
[sources.a]
type = "rest"
[sources.b]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
weights = { a = 0.7, b = 0.4 }
"#;
    let e = load_str(text, None, &[], &Overrides::default())
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(e.key, "symbols[0].weights");
    assert!(e.reason.contains("1.1"), "{e}");
}

#[test]
fn weights_must_name_a_source() {
    let text = "[[symbols]]\nsymbol = \"BTCUSDT\"\nweights = { ghost = 0.5 }\n";
    let e = load_str(text, None, &[], &Overrides::default())
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(e.key, "symbols[0].weights.ghost");
}

#[test]
fn credentials_must_be_a_reference() {
    let text = "[[accounts]]\nname = \"b\"\nvenue = \"bybit\"\ncredentials = \"sk-live-123\"\n";
    let e = load_str(text, None, &[], &Overrides::default())
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(e.key, "accounts[0].credentials");
    assert!(
        !e.to_string().contains("sk-live-123"),
        "the value must not be echoed"
    );
}

#[test]
fn environment_overrides_file_and_flags_override_environment() {
    let env = vec![
        (
            "TRADEENGINE_ENGINE__BIND".to_string(),
            "127.0.0.1:9999".to_string(),
        ),
        (
            "TRADEENGINE_ENGINE__DRIFT_CHECK_INTERVAL_SECS".to_string(),
            "30".to_string(),
        ),
        (
            "TRADEENGINE_ACCOUNTS__0__STATE".to_string(),
            "close_only".to_string(),
        ),
        ("TRADEENGINE_CONFIG".to_string(), "ignored.toml".to_string()),
    ];
    let c = load_str(demo::DEMO_TOML, None, &env, &Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.engine.bind.port(), 9999);
    assert_eq!(c.engine.drift_check_interval_secs, 30);
    assert_eq!(c.accounts[0].state, AccountState::CloseOnly);

    let flags = Overrides {
        bind: Some("127.0.0.1:7000".into()),
        ..Overrides::default()
    };
    let c = load_str(demo::DEMO_TOML, None, &env, &flags).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.engine.bind.port(), 7000);
}

#[test]
fn environment_with_bad_value_names_the_variable_path() {
    let env = vec![(
        "TRADEENGINE_ENGINE__DRIFT_BAND".to_string(),
        "0.9".to_string(),
    )];
    let e = load_str(demo::DEMO_TOML, None, &env, &Overrides::default())
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(e.key, "engine.drift_band");
}

#[test]
fn imports_the_seed_files_exactly() {
    let files = SeedFiles {
        asset_mapping: Some(
            r#"{"tradingview": {"BTCUSDT": "BTCUSDT", "ETHUSDT": "ETHUSDT"},
                "bittensor": {"BTCUSD": "BTCUSDT", "ETHUSD": "ETHUSDT"}}"#
                .into(),
        ),
        signal_weights: Some(
            r#"[{"symbol": "BTCUSDT", "leverage": 3,
                 "sources": [{"source": "tradingview", "weight": 0.1}, {"source": "bittensor", "weight": 0.15}]}]"#
                .into(),
        ),
        bittensor_processor: Some(r#"{"min_trades": 10, "max_drawdown_threshold": -0.5}"#.into()),
        ..SeedFiles::default()
    };
    let c = import_new(&files).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.map_symbol("sn8", "BTCUSD"), "BTCUSDT");
    let btc = c
        .symbol("BTCUSDT")
        .unwrap_or_else(|| panic!("BTCUSDT imported"));
    assert_eq!(btc.leverage, dec!(3));
    assert_eq!(btc.weights.get("sn8"), Some(&dec!(0.15)));
    assert_eq!(btc.weights.get("tradingview"), Some(&dec!(0.1)));
    let sn8 = c.sources.get("sn8").unwrap_or_else(|| panic!("sn8 source"));
    assert_eq!(sn8.kind, SourceKind::Sn8);
    let seed = sn8.settings.get("seed").and_then(|v| v.as_table());
    assert_eq!(
        seed.and_then(|t| t.get("min_trades"))
            .and_then(|v| v.as_integer()),
        Some(10)
    );
}

#[test]
fn import_refuses_weights_over_one() {
    let files = SeedFiles {
        signal_weights: Some(
            r#"[{"symbol": "BTCUSDT", "leverage": 3,
                 "sources": [{"source": "tradingview", "weight": 0.8}, {"source": "bittensor", "weight": 0.4}]}]"#
                .into(),
        ),
        ..SeedFiles::default()
    };
    assert!(import_new(&files).is_err());
}

#[test]
fn hot_reload_takes_weights_and_refuses_bind() {
    let current = demo();
    let mut next = current.clone();
    next.symbols[0].weights.insert("demo".into(), dec!(0.5));
    next.accounts[0].state = AccountState::CloseOnly;
    next.risk.max_depth = Some(dec!(0.5));
    next.accounts[0].risk.daily_loss_limit = Some(dec!(0.02));
    assert!(check_hot_reload(&current, &next).is_ok());
    let mut bad = current.clone();
    bad.engine.bind.set_port(1);
    assert!(check_hot_reload(&current, &bad).is_err());
}

#[test]
fn config_round_trips_through_toml() {
    let c = demo();
    let text = toml::to_string(&c).unwrap_or_else(|e| panic!("{e}"));
    let back =
        load_str(&text, None, &[], &Overrides::default()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, c);
}

/// The README's configuration reference must be a configuration that loads.
#[test]
fn readme_full_example_is_valid() {
    let readme = include_str!("../../../../README.md");
    let section = readme
        .split("### Full example")
        .nth(1)
        .unwrap_or_else(|| panic!("README has a Full example section"));
    let block = section
        .split("```toml")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("the section has a toml block"));
    let c = load_str(block, None, &[], &Overrides::default())
        .unwrap_or_else(|e| panic!("README example must load: {e}"));
    assert_eq!(c.accounts[0].name, "paper");
    assert_eq!(c.risk.max_gross_exposure, Some(dec!(3)));
    assert_eq!(c.map_symbol("demo", "XBTUSD"), "BTCUSDT");
}

#[test]
fn shipped_examples_are_valid() {
    for (name, text) in [
        ("demo.toml", include_str!("../../../../examples/demo.toml")),
        (
            "paper-recorded.toml",
            include_str!("../../../../examples/paper-recorded.toml"),
        ),
    ] {
        if let Err(e) = load_str(
            text,
            Some(std::path::Path::new(name)),
            &[],
            &Overrides::default(),
        ) {
            panic!("examples/{name}: {e}");
        }
    }
}

#[test]
fn api_without_variable_names_uses_the_default_ones() {
    // No [api] table, and an empty one as `config import` wrote it: the default variables.
    for text in ["", "[api]\n"] {
        let c = load_str(text, None, &[], &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.api.read_var(), "TRADEENGINE_READ_TOKEN");
        assert_eq!(c.api.control_var(), "TRADEENGINE_CONTROL_TOKEN");
    }
    let named = load_str(
        "[api]\nread_token_env = \"MY_READ\"\n",
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(named.api.read_var(), "MY_READ");
    assert_eq!(named.api.control_var(), "TRADEENGINE_CONTROL_TOKEN");
}

#[test]
fn a_files_relative_paths_follow_the_file_and_flags_follow_the_shell() {
    let text = "[engine]\ndata_dir = \"data\"\n";
    let file = std::path::Path::new("/srv/te/tradeengine.toml");
    let c =
        load_str(text, Some(file), &[], &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.engine.data_dir, std::path::PathBuf::from("/srv/te/data"));
    let flags = Overrides {
        data_dir: Some("mine".into()),
        ..Overrides::default()
    };
    let c = load_str(text, Some(file), &[], &flags).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.engine.data_dir, std::path::PathBuf::from("mine"));
    // No file (the embedded demo): relative to the current folder, as written.
    let c = load_str(text, None, &[], &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.engine.data_dir, std::path::PathBuf::from("data"));
}

#[test]
fn notifications_are_checked_by_name() {
    let load = |text: &str| load_str(text, None, &[], &Overrides::default());
    let ok = load("[notifications.telegram]\nchat_ids = [42]\n[notifications.webhook]\nformat = \"discord\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let t = ok.notifications.telegram.unwrap_or_default();
    assert_eq!(t.chat_ids, vec![42]);
    assert_eq!(
        ok.notifications.webhook.map(|w| w.format),
        Some(tradeengine_notify::config::WebhookFormat::Discord)
    );
    for (text, key) in [
        (
            "[notifications.telegram]\nchat_ids = []\n",
            "notifications.telegram.chat_ids",
        ),
        // A pasted token is never accepted as a key, and never echoed.
        (
            "[notifications.telegram]\nchat_ids = [1]\nbot_token = \"123:secret\"\n",
            "notifications.telegram.bot_token",
        ),
        (
            "[notifications.telegram]\nchat_ids = [1]\nnotify = { fil = false }\n",
            "notifications.telegram.notify.fil",
        ),
        (
            "[notifications.webhook]\nurl = \"https://hooks.example/T0/secret\"\n",
            "notifications.webhook.url",
        ),
        (
            "[notifications.webhook]\nper_minute = 0\n",
            "notifications.webhook.per_minute",
        ),
    ] {
        let e = load(text)
            .err()
            .unwrap_or_else(|| panic!("must fail: {text}"));
        assert_eq!(e.key, key, "{text}: {e}");
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}

#[test]
fn a_notifications_change_needs_a_restart() {
    let current = demo();
    let mut next = demo();
    next.notifications.webhook = Some(Default::default());
    assert_eq!(
        check_hot_reload(&current, &next).map_err(|e| e.key),
        Err("notifications".to_string())
    );
}
