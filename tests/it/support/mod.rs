//! The test kit: the shared crate `cutover-testkit` (also used by the
//! benchmark programs), plus the helpers that run the `cutover` binary,
//! whose path cargo gives to integration tests only.

// Every kit module under its old path `support::…`, whether a test names
// it today or reaches it through another (`engine` re-exports the router).
#[allow(unused_imports)]
pub use cutover_testkit::{
    aws_fake, engine, fake_router, gates_rig, journal_gen, kube_apiserver, kube_objects, moto,
    moto_setup, nginx, nginx_lock_path, prometheus, proxy, serial, skip, source, unique,
};

pub mod aws_cli;
pub mod demo;
pub mod served;
pub mod tmux;

/// The HTML report of the last cutover of the journal `text`, every line
/// of which must read.
pub fn report_page(text: &str) -> String {
    let (entries, bad) = cutover::report::parse(text);
    assert_eq!(bad, 0, "unreadable lines");
    let c = cutover::report::Cutover::select(&entries, None, "journal.jsonl").unwrap();
    cutover::report::html(&c).unwrap()
}
