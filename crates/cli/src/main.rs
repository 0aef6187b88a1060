//! `tradeengine`: turns trading signals from many sources into positions on many exchange
//! accounts. This file is the edge: it parses the command line, sets up logging and maps errors
//! to exit codes (2 for configuration problems, 1 for everything else).

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
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
        Command::Positions(args) => commands::inspect::positions(&global, args).await,
        Command::Orders(args) => commands::inspect::orders(&global, args).await,
        Command::Signals(args) => commands::inspect::signals(&global, args).await,
        Command::Audit(cmd) => commands::audit::run(&global, cmd).await,
        Command::Kill(args) => commands::kill::run(&global, args).await,
        Command::Status(args) => commands::status::run(&global, args).await,
        Command::VenueSim(args) => commands::venue::sim(args).await,
        Command::Order(cmd) => commands::venue::order(&global, cmd).await,
        Command::Sn8(cli::Sn8Command::Rank(args)) => commands::sn8::rank(&global, args).await,
        Command::Strategy(cli::StrategyCommand::Run(args)) => {
            commands::strategy::run(&global, args).await
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRADEENGINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.compact().init(),
    }
}
