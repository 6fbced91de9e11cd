//! `cutover` run against moto: the test keys in its environment, its log
//! at trace level beside the config (the tests look for secrets in it).

use std::path::Path;
use std::process::Command;

use super::moto;
use super::nginx::{CHILD_TIMEOUT, run};

/// `cutover --config cfg --log <cfg dir>/cutover.log args`: (code, stdout,
/// stderr). `set` is forced: these configs have no metrics to pass a gate.
pub fn cutover(cfg: &Path, args: &[&str]) -> (i32, String, String) {
    let log = cfg.with_file_name("cutover.log");
    let mut c = Command::new(env!("CARGO_BIN_EXE_cutover"));
    c.arg("--config").arg(cfg).arg("--log").arg(log).args(args);
    c.envs(moto::env()).env("CUTOVER_LOG", "trace");
    if args.first() == Some(&"set") {
        c.arg("--force");
    }
    run(&mut c, CHILD_TIMEOUT)
}
