//! `tradeengine`: turns trading signals from many sources into positions on many exchange
//! accounts. This file is the edge: it parses the command line, sets up logging and maps errors
//! to exit codes (2 for configuration problems, 1 for everything else).

/// `println!` for command output that never panics. `println!` panics when stdout is closed
/// (`tradeengine kill | head -1`): the command stopped half-way, after it acted or before it
/// could (`kill --release --yes | head -1` left the switch engaged). Output that cannot be
/// written is dropped; what the command did shows in its exit code and the audit trail.
macro_rules! outln {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that never panics (see [`outln`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}

mod args;
mod cli;
mod commands;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A replay runs the paper venue through thousands of simulated fills, each logged at info
    // as live paper fills are: its own output is the report, so it logs warnings only unless
    // TRADEENGINE_LOG asks for more.
    let default_level = match cli.command {
        Command::Replay(_) => "warn",
        _ => "info",
    };
    init_logging(cli.log_format, default_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(dispatch(cli));
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(config_error) = e.downcast_ref::<tradeengine_engine::config::ConfigError>()
            {
                eprintln!("configuration error: {config_error}");
                return ExitCode::from(2);
            }
            if let Some(nothing) = e.downcast_ref::<commands::resolve::NothingToActOn>() {
                eprintln!("error: {nothing}");
                return ExitCode::from(2);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = cli.global();
    match cli.command {
        Command::Run(args) => commands::run::run(&global, args).await,
        Command::Config(cmd) => commands::config::run(&global, cmd).await,
        Command::Positions(args) => commands::positions::run(&global, args).await,
        Command::Orders(args) => commands::inspect::orders(&global, args).await,
        Command::Signals(args) => commands::inspect::signals(&global, args).await,
        Command::Pnl(args) => commands::pnl::run(&global, args).await,
        Command::Replay(args) => commands::replay::run(&global, args).await,
        Command::Audit(cmd) => commands::audit::run(&global, cmd).await,
        Command::Credentials(cmd) => commands::credentials::run(cmd),
        Command::Kill(args) => commands::kill::run(&global, args).await,
        Command::Risk(cli::RiskCommand::Reset(args)) => commands::risk::reset(&global, args).await,
        Command::Status(args) => commands::status::run(&global, args).await,
        Command::Cluster(cli::ClusterCommand::Status(args)) => {
            commands::cluster::status(&global, args).await
        }
        Command::VenueSim(args) => commands::venue::sim(args).await,
        Command::Venue(cli::VenueCommand::Check(args)) => {
            commands::venue_check::check(&global, args).await
        }
        Command::Order(cmd) => commands::venue::order(&global, cmd).await,
        Command::Sn8(cli::Sn8Command::Rank(args)) => commands::sn8::rank(&global, args).await,
        Command::Strategy(cli::StrategyCommand::Run(args)) => {
            commands::strategy::run(&global, args).await
        }
    }
}

/// Transport crates that log whole frames at `trace`: the Bybit stream's auth frame carries the
/// API key, broker handshakes carry passwords and tokens. Their `trace` events are dropped
/// whatever `TRADEENGINE_LOG` asks for (ARCHITECTURE.md, "Secrets stay secret").
const PAYLOAD_LOGGERS: &[&str] = &[
    "tungstenite",
    "tokio_tungstenite",
    "lapin",
    "amq_protocol",
    "async_nats",
];

fn logs_payloads(meta: &tracing::Metadata<'_>) -> bool {
    *meta.level() > tracing::Level::DEBUG
        && PAYLOAD_LOGGERS.iter().any(|p| {
            meta.target()
                .strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
}

fn init_logging(format: LogFormat, default_level: &str) {
    use std::io::IsTerminal;
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::FilterExt;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRADEENGINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level))
        .and(tracing_subscriber::filter::filter_fn(|m| !logs_payloads(m)));
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry();
    match format {
        LogFormat::Json => registry
            .with(layer.json().flatten_event(true).with_filter(filter))
            .init(),
        LogFormat::Pretty => registry.with(layer.compact().with_filter(filter)).init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_dumps_of_transport_crates_are_dropped() {
        use tracing::Level;
        use tracing::callsite::Identifier;
        use tracing::field::FieldSet;
        use tracing::metadata::Kind;
        static CS: tracing::callsite::DefaultCallsite =
            tracing::callsite::DefaultCallsite::new(&META_T);
        static META_T: tracing::Metadata<'static> = tracing::Metadata::new(
            "frame",
            "tungstenite::protocol",
            Level::TRACE,
            None,
            None,
            None,
            FieldSet::new(&[], Identifier(&CS)),
            Kind::EVENT,
        );
        static META_D: tracing::Metadata<'static> = tracing::Metadata::new(
            "frame",
            "tungstenite::protocol",
            Level::DEBUG,
            None,
            None,
            None,
            FieldSet::new(&[], Identifier(&CS)),
            Kind::EVENT,
        );
        static META_OURS: tracing::Metadata<'static> = tracing::Metadata::new(
            "ours",
            "tungstenite_lookalike::x",
            Level::TRACE,
            None,
            None,
            None,
            FieldSet::new(&[], Identifier(&CS)),
            Kind::EVENT,
        );
        assert!(logs_payloads(&META_T));
        assert!(!logs_payloads(&META_D));
        assert!(!logs_payloads(&META_OURS));
    }
}
