//! Every integration test in one binary: each former `tests/<name>.rs` is a
//! module here, and `support` is the kit they share. One binary links the
//! crate once instead of once per file.

mod support;

mod alerts;
mod check_and_status;
mod ci_build;
mod cli_safety;
mod cli_signals;
mod config_example;
mod config_props;
mod demo_fleet;
mod demo_headless;
mod demo_rollback_restart;
mod demo_stack;
mod demo_vllm;
mod drill;
mod engine_flow;
mod engine_metrics;
mod gate_green_data;
mod gates_command;
mod gates_smoke;
mod headless_pipe;
mod journal_files;
mod journal_fixture;
mod journal_full_disk;
mod journal_lock;
mod kubernetes_engine;
mod kubernetes_rollback_retry;
mod kubernetes_router;
mod metricspec_legacy;
mod nginx_include_props;
mod nginx_rollback_faults;
mod nginx_rollback_retry;
mod nginx_router;
mod prometheus_bounded;
mod prometheus_source;
mod prometheus_tls;
mod report;
mod report_stream;
mod rollback_memory;
mod rollback_retry;
mod rollback_time;
mod router_workload;
mod scrape_source;
mod scrape_tls;
mod scrape_vllm;
mod terminal_loss;
mod tui_input;
mod tui_quit_alerts;
mod tui_render;
mod tui_rollback_failed;
mod tui_rollback_time;
mod tui_rolled_back;
mod tui_snapshots;
mod tui_tmux;
