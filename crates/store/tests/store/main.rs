//! The shared store suite, run against SQLite and against PostgreSQL.
//!
//! Every test in `suite!` below is a function `async fn(&Backend)` and runs twice: once on a
//! fresh SQLite file, once on a fresh PostgreSQL schema.

// Tests may unwrap (team standard); the workspace lint is for library code.
#![allow(clippy::unwrap_used)]

mod audit;
mod concurrency;
mod fixtures;
mod harness;
mod health;
mod lease;
mod open;
mod orders;
mod pnl;
mod schema;
mod settle;
mod signals;
mod snapshots;

macro_rules! suite {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let backend = crate::harness::sqlite().await;
                    crate::$module::$name(&backend).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(backend) = crate::harness::postgres().await else { return };
                    crate::$module::$name(&backend).await;
                }
            )*
        }
    };
}

suite! {
    signals::signal_is_stored_once_with_its_sleeve,
    signals::same_key_from_another_source_is_a_new_signal,
    signals::refused_inputs_write_nothing,
    signals::recent_signals_are_newest_first_and_paged,
    signals::refused_signal_is_audited,
    signals::refused_signal_is_recorded_once_per_key,
    signals::refusals_are_listed_with_bounded_bodies,
    signals::refusals_are_bounded_per_source,
    signals::sleeves_round_trip_and_replace,
    signals::batch_is_one_transaction_and_all_or_nothing,
    signals::large_batch_spans_statements,
    orders::plan_stores_every_leg_as_intended,
    orders::duplicate_plan_or_order_id_writes_nothing,
    orders::order_walks_the_state_machine,
    orders::illegal_transition_writes_nothing,
    orders::bad_reports_are_refused,
    orders::repeated_report_writes_nothing,
    orders::orders_filter_and_page,
    orders::fills_are_idempotent,
    pnl::pnl_events_and_fills_are_read_in_order,
    pnl::mark_readings_keep_their_prices_exactly_in_order,
    pnl::a_plan_and_its_attribution_are_stored_together_or_not_at_all,
    settle::settlement_stores_the_final_state_and_the_fill_once,
    settle::a_settlement_failing_half_way_writes_nothing,
    settle::a_fill_that_is_not_the_orders_writes_nothing,
    settle::an_old_final_order_without_its_fill_gets_it,
    snapshots::latest_target_per_symbol,
    snapshots::positions_replace_the_previous_snapshot,
    snapshots::equity_since_a_time,
    snapshots::a_cycle_end_is_written_whole_or_not_at_all,
    snapshots::state_blobs,
    snapshots::concurrent_state_writes_are_group_committed,
    audit::chain_verifies_and_pages,
    audit::edited_payload_is_named,
    audit::edited_kind_or_time_is_named,
    audit::deleted_event_is_named_as_a_gap,
    audit::reinserted_event_is_named,
    audit::truncation_fails_against_a_kept_head,
    audit::rewriting_fails_against_a_kept_head,
    concurrency::concurrent_writers_keep_one_chain,
}
