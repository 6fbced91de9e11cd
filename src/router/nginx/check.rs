//! `cutover check` for an nginx router: can the cockpit read its include,
//! write next to it, and does nginx accept the config and include the file.

use std::path::Path;

use super::command::{self, COMMAND_TIMEOUT};
use super::{include, write};
use crate::config::NginxConfig;

/// One finding per line; `ok` is false when a write would fail.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    pub lines: Vec<String>,
    pub ok: bool,
}

/// The test command with `-t` turned into `-T` (test and dump), or `None`
/// when it has no `-t` to turn.
fn dump_command(test: &[String]) -> Option<Vec<String>> {
    test.iter().any(|a| a == "-t").then(|| {
        test.iter()
            .map(|a| if a == "-t" { "-T".into() } else { a.clone() })
            .collect()
    })
}

/// Whether the config nginx loads includes `path`: `nginx -T` prints every
/// file it read after `# configuration file <path>:`.
pub fn wired_in(cfg: &NginxConfig) -> Result<bool, String> {
    let cmd = dump_command(&cfg.test_command).ok_or_else(|| {
        format!(
            "the test command `{}` has no -t, so cutover cannot ask nginx which files it reads",
            cfg.test_command.join(" ")
        )
    })?;
    let r = command::run(&cmd, COMMAND_TIMEOUT)?;
    if !r.ok {
        return Err(format!("`{}` failed: {}", cmd.join(" "), r.said));
    }
    Ok(mentions(&r.stdout, &cfg.include))
}

fn mentions(dump: &str, include: &Path) -> bool {
    let want = std::fs::canonicalize(include).unwrap_or_else(|_| include.to_path_buf());
    dump.lines()
        .filter_map(|l| l.strip_prefix("# configuration file "))
        .filter_map(|l| l.strip_suffix(':'))
        .any(|f| {
            let p = Path::new(f);
            p == include || std::fs::canonicalize(p).is_ok_and(|c| c == want)
        })
}

fn writable_dir(dir: &Path) -> bool {
    rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_ok()
}

/// Runs every check; never writes anything.
pub fn check(cfg: &NginxConfig) -> CheckReport {
    let mut lines = Vec::new();
    let mut ok = true;
    let path = &cfg.include;
    match write::read_include(path) {
        Ok(Some(bytes)) => match include::read(&String::from_utf8_lossy(&bytes), cfg) {
            Ok(inc) => lines.push(format!("ok: {} holds {}", path.display(), inc.split)),
            Err(r) => {
                ok = false;
                lines.push(format!("FAIL: {} {r}", path.display()));
            }
        },
        Ok(None) => {
            ok = false;
            lines.push(format!(
                "FAIL: {} does not exist: move your upstream there, or let `cutover set 0` write it",
                path.display()
            ));
        }
        Err(e) => {
            ok = false;
            lines.push(format!("FAIL: {e}"));
        }
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if writable_dir(dir) {
        lines.push(format!(
            "ok: {} is writable (temp file, backup, lock, reload record)",
            dir.display()
        ));
    } else {
        ok = false;
        lines.push(format!(
            "FAIL: cannot create files in {}: cutover writes a temp file, a backup, a lock and a reload record there",
            dir.display()
        ));
    }
    match command::run(&cfg.test_command, COMMAND_TIMEOUT) {
        Ok(r) if r.ok => lines.push(format!("ok: `{}` passes", cfg.test_command.join(" "))),
        Ok(r) => {
            ok = false;
            lines.push(format!(
                "FAIL: `{}`: {}",
                cfg.test_command.join(" "),
                r.said
            ));
        }
        Err(e) => {
            ok = false;
            lines.push(format!("FAIL: {e}"));
        }
    }
    match wired_in(cfg) {
        Ok(true) => lines.push(format!("ok: nginx's config includes {}", path.display())),
        Ok(false) => {
            ok = false;
            lines.push(format!(
                "FAIL: nginx's config does not include {}: add `include {};` inside its http block",
                path.display(),
                path.display()
            ));
        }
        Err(e) => {
            ok = false;
            lines.push(format!(
                "FAIL: cannot tell whether the include is wired in: {e}"
            ));
        }
    }
    CheckReport { lines, ok }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_lists_the_include() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            dump_command(&v(&["sudo", "nginx", "-t", "-q"])),
            Some(v(&["sudo", "nginx", "-T", "-q"]))
        );
        assert_eq!(dump_command(&v(&["true"])), None);
        let dump = "# configuration file /etc/nginx/nginx.conf:\nhttp {}\n# configuration file /etc/nginx/cutover/chat.conf:\nupstream x {}\n";
        assert!(mentions(dump, Path::new("/etc/nginx/cutover/chat.conf")));
        assert!(!mentions(dump, Path::new("/etc/nginx/other.conf")));
    }
}
