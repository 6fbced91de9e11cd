//! The stack's router until the nginx adapter (`[router] kind = "nginx"`)
//! is wired in: it owns the include nginx reads, writes it safely (temp
//! file, fsync, rename, `nginx -t`, restore on failure) and reloads nginx.
//! It manages only the include the stack generated, so it reads back its
//! own format and nothing more.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::model::Split;
use crate::router::{Applied, Revision, RouterError, RouterRead, TrafficRouter, WriteRequest};

/// A test or reload that takes longer than this has failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

pub struct IncludeRouter {
    pub include: PathBuf,
    pub upstream: String,
    pub blue: Vec<SocketAddr>,
    pub green: Vec<SocketAddr>,
    /// `nginx -p PREFIX -c CONF`: the flags that name this nginx.
    pub nginx: Vec<String>,
    writing: Mutex<()>,
}

impl IncludeRouter {
    pub fn new(
        include: PathBuf,
        upstream: String,
        blue: Vec<SocketAddr>,
        green: Vec<SocketAddr>,
        nginx: Vec<String>,
    ) -> Self {
        IncludeRouter {
            include,
            upstream,
            blue,
            green,
            nginx,
            writing: Mutex::new(()),
        }
    }
}

/// The include for `split`: weights are the percentages; a side with none
/// is `down`, because nginx refuses `weight=0`. Pure.
pub fn render_include(
    upstream: &str,
    blue: &[SocketAddr],
    green: &[SocketAddr],
    split: Split,
) -> String {
    let mut out =
        format!("# Owned by cutover: rewritten on every traffic change.\nupstream {upstream} {{\n");
    for (addrs, weight) in [(blue, 100 - split.green()), (green, split.green())] {
        for a in addrs {
            if weight == 0 {
                out.push_str(&format!("    server {a} down;\n"));
            } else {
                out.push_str(&format!("    server {a} weight={weight};\n"));
            }
        }
    }
    out.push_str("}\n");
    out
}

/// Reads back what [`render_include`] wrote. Pure.
pub fn parse_include(text: &str, green: &[SocketAddr]) -> Result<Split, String> {
    for (n, line) in text.lines().enumerate() {
        let words: Vec<&str> = line
            .trim()
            .trim_end_matches(';')
            .split_whitespace()
            .collect();
        let [server, addr, state] = words[..] else {
            continue;
        };
        if server != "server" || !green.iter().any(|g| g.to_string() == addr) {
            continue;
        }
        let pct = match state {
            "down" => 0,
            w => w
                .strip_prefix("weight=")
                .and_then(|w| w.parse::<u8>().ok())
                .ok_or_else(|| format!("line {}: unexpected {state:?}", n + 1))?,
        };
        return Split::new(pct).ok_or_else(|| format!("line {}: weight {pct} above 100", n + 1));
    }
    Err("no green server in the include".into())
}

fn revision(text: &str) -> Revision {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    Revision(format!("{:016x}", h.finish()))
}

/// Runs `nginx <flags> <args>`, killing it after [`COMMAND_TIMEOUT`].
fn nginx(flags: &[String], args: &[&str]) -> Result<(), String> {
    let (bin, rest) = flags.split_first().ok_or("no nginx command")?;
    let mut child = Command::new(bin)
        .args(rest)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {bin}: {e}"))?;
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "nginx {}: {status}: {}",
                        args.join(" "),
                        err.trim()
                    ))
                };
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("nginx {} timed out", args.join(" ")));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn write_synced(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[async_trait]
impl TrafficRouter for IncludeRouter {
    fn kind(&self) -> &'static str {
        "nginx (stack)"
    }

    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        let text = tokio::fs::read_to_string(&self.include)
            .await
            .map_err(|e| RouterError::Unavailable(format!("{}: {e}", self.include.display())))?;
        let split = parse_include(&text, &self.green)
            .map_err(|e| RouterError::Unreadable(format!("{}: {e}", self.include.display())))?;
        Ok(RouterRead {
            split,
            revision: Some(revision(&text)),
        })
    }

    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        let _one_writer = self.writing.lock().await;
        let old = tokio::fs::read_to_string(&self.include)
            .await
            .map_err(|e| RouterError::Unavailable(format!("{}: {e}", self.include.display())))?;
        if let Some(expected) = &req.expected
            && revision(&old) != *expected
        {
            return Err(RouterError::Conflict(format!(
                "{} changed since it was read",
                self.include.display()
            )));
        }
        let new = render_include(&self.upstream, &self.blue, &self.green, req.split);
        let tmp = self.include.with_extension("conf.tmp");
        let (include, flags) = (self.include.clone(), self.nginx.clone());
        // The point of no return is the rename: cancel only before it.
        if req.cancel.is_cancelled() {
            return Err(RouterError::Cancelled);
        }
        let started = Instant::now();
        let done = tokio::task::spawn_blocking(move || -> Result<(), RouterError> {
            write_synced(&tmp, &new).map_err(|e| RouterError::Unavailable(e.to_string()))?;
            std::fs::rename(&tmp, &include).map_err(|e| RouterError::Unavailable(e.to_string()))?;
            if let Err(e) = nginx(&flags, &["-t", "-q"]) {
                let _ = write_synced(&include, &old);
                return Err(RouterError::Rejected(e));
            }
            nginx(&flags, &["-s", "reload"]).map_err(RouterError::Rejected)
        })
        .await
        .map_err(|e| RouterError::Unavailable(e.to_string()))?;
        done?;
        let read = self.get_split().await?;
        if read.split != req.split {
            return Err(RouterError::Unreadable(format!(
                "read back {} after writing {}",
                read.split, req.split
            )));
        }
        Ok(Applied {
            split: req.split,
            revision: read.revision,
            detail: format!(
                "include rewritten, nginx reloaded in {} ms",
                started.elapsed().as_millis()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_round_trips_with_down_at_the_ends() {
        let b: Vec<SocketAddr> = vec![
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        ];
        let g: Vec<SocketAddr> = vec!["127.0.0.1:3".parse().unwrap()];
        for pct in [0, 1, 25, 99, 100] {
            let text = render_include("m", &b, &g, Split::new(pct).unwrap());
            assert_eq!(parse_include(&text, &g).unwrap().green(), pct, "{text}");
        }
        let zero = render_include("m", &b, &g, Split::ZERO);
        assert!(zero.contains("server 127.0.0.1:3 down;"), "{zero}");
        assert!(!zero.contains("weight=0"));
        assert!(parse_include("upstream m {}", &g).is_err());
    }
}
