//! `[router.nginx]`: the include file the cockpit owns and how nginx is
//! tested and reloaded. The key names are the interface (issue 9).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How the include splits traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NginxMode {
    /// One upstream; the split is the servers' weights (`down` for 0 %).
    #[default]
    Weighted,
    /// Two upstreams chosen by `split_clients` on `sticky_key`: a key stays
    /// on its colour while the percentage moves.
    Sticky,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NginxConfig {
    /// The include file the cockpit owns (the user's main config includes it).
    pub include: PathBuf,
    /// The upstream's name (weighted), or the variable and the prefix of the
    /// two upstreams `<name>_blue` / `<name>_green` (sticky).
    pub upstream: String,
    /// Blue's servers: an address, then any per-server options as nginx
    /// writes them (`"10.0.1.12:8000 max_fails=3 fail_timeout=10s"`).
    pub blue: Vec<String>,
    /// Green's servers, written the same way.
    pub green: Vec<String>,
    #[serde(default)]
    pub mode: NginxMode,
    /// The `split_clients` key in sticky mode, e.g. `$cookie_user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky_key: Option<String>,
    /// Checks the whole config after the include is replaced.
    #[serde(default = "default_test_command")]
    pub test_command: Vec<String>,
    /// Runs `test_command` before a write that puts all traffic on blue (a
    /// rollback) too. Off by default: the reload parses the whole config
    /// itself and refuses a bad one without signalling, so for a rollback
    /// the reload is the test and traffic moves one nginx start-up sooner.
    #[serde(default)]
    pub test_before_rollback: bool,
    /// Makes nginx load the new config.
    #[serde(default = "default_reload_command")]
    pub reload_command: Vec<String>,
    /// Where `verify` sends requests to count which colour answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_url: Option<String>,
    /// How many requests one verification sends.
    #[serde(default = "default_probe_requests")]
    pub probe_requests: u32,
}

pub fn default_test_command() -> Vec<String> {
    vec!["nginx".into(), "-t".into(), "-q".into()]
}

pub fn default_reload_command() -> Vec<String> {
    vec!["nginx".into(), "-s".into(), "reload".into()]
}

pub fn default_probe_requests() -> u32 {
    200
}

/// An nginx variable or upstream name: letters, digits and `_`.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// The address of a server entry (its first word).
pub fn address_of(entry: &str) -> &str {
    entry.split_whitespace().next().unwrap_or("")
}

impl NginxConfig {
    /// Checks serde cannot express; errors are `(dotted key, message)`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |k: &str, m: String| Err((format!("router.nginx.{k}"), m));
        if self.include.as_os_str().is_empty() {
            return err("include", "must name the include file".into());
        }
        if !is_name(&self.upstream) {
            return err(
                "upstream",
                format!(
                    "`{}` is not an nginx name (letters, digits and _)",
                    self.upstream
                ),
            );
        }
        self.validate_servers()?;
        self.validate_sticky_key()?;
        for (key, cmd) in [
            ("test_command", &self.test_command),
            ("reload_command", &self.reload_command),
        ] {
            if cmd.is_empty() || cmd[0].trim().is_empty() {
                return err(key, "must name a program".into());
            }
        }
        if let Some(u) = &self.probe_url
            && let Some(why) = super::validate::not_http_url(u)
        {
            return err("probe_url", why);
        }
        if self.probe_requests == 0 {
            return err("probe_requests", "must be at least 1".into());
        }
        Ok(())
    }

    /// Each colour's servers: at least one, `address [options]` without the
    /// options cutover sets, and no address twice.
    fn validate_servers(&self) -> Result<(), (String, String)> {
        let err = |k: &str, m: String| Err((format!("router.nginx.{k}"), m));
        let mut seen = std::collections::HashSet::new();
        for (key, list) in [("blue", &self.blue), ("green", &self.green)] {
            if list.is_empty() {
                return err(key, "needs at least one server".into());
            }
            for entry in list {
                let addr = address_of(entry);
                if addr.is_empty() || entry.contains([';', '{', '}', '#']) {
                    return err(key, format!("`{entry}` is not `address [options]`"));
                }
                for opt in entry.split_whitespace().skip(1) {
                    if opt == "down" || opt == "backup" || opt.starts_with("weight=") {
                        return err(
                            key,
                            format!("`{entry}`: `{opt}` is set by cutover, leave it out"),
                        );
                    }
                }
                if !seen.insert(addr.to_string()) {
                    return err(key, format!("server {addr} is listed twice"));
                }
            }
        }
        Ok(())
    }

    /// A key in sticky mode, an nginx variable, and none in weighted mode.
    fn validate_sticky_key(&self) -> Result<(), (String, String)> {
        let err = |k: &str, m: String| Err((format!("router.nginx.{k}"), m));
        match (self.mode, &self.sticky_key) {
            (NginxMode::Sticky, None) => {
                return err(
                    "sticky_key",
                    "sticky mode needs a key, e.g. \"$cookie_user\"".into(),
                );
            }
            (NginxMode::Sticky, Some(k)) if !k.starts_with('$') || k.contains(['"', ';']) => {
                return err(
                    "sticky_key",
                    format!("`{k}` is not an nginx variable such as $cookie_user"),
                );
            }
            (NginxMode::Weighted, Some(_)) => {
                return err(
                    "sticky_key",
                    "only used with mode = \"sticky\"; remove it or switch the mode".into(),
                );
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    const HEAD: &str = "[service]\nname = \"chat\"\n[source]\nkind = \"scrape\"\ninterval = \"5s\"\ntimeout = \"2s\"\nwindow = \"30s\"\n[source.scrape]\nblue = [\"http://127.0.0.1:1/metrics\"]\ngreen = [\"http://127.0.0.1:2/metrics\"]\n[router]\nkind = \"nginx\"\n";
    const TABLE: &str = "[router.nginx]\ninclude = \"/etc/nginx/cutover/chat-model.conf\"\nupstream = \"chat_model\"\nblue = [\"10.0.1.11:8000\", \"10.0.1.12:8000 max_fails=3 fail_timeout=10s\"]\ngreen = [\"10.0.2.11:8000\"]\n";

    #[test]
    fn the_issue_table_loads_with_its_defaults() {
        let c = load_str(&format!("{HEAD}{TABLE}"), "t").unwrap();
        let crate::config::RouterConfig::Nginx(n) = c.router else {
            panic!("not nginx")
        };
        assert_eq!(n.test_command, ["nginx", "-t", "-q"]);
        assert_eq!(n.reload_command, ["nginx", "-s", "reload"]);
        assert!(!n.test_before_rollback);
        assert_eq!(n.mode, super::NginxMode::Weighted);
    }

    #[test]
    fn mistakes_name_the_key() {
        let e = load_str(HEAD, "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("router.nginx"), "{e}");
        let sticky = format!("{HEAD}{TABLE}mode = \"sticky\"\n");
        let e = load_str(&sticky, "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("router.nginx.sticky_key"), "{e}");
        let weight = format!(
            "{HEAD}{}",
            TABLE.replace("10.0.2.11:8000", "10.0.2.11:8000 weight=3")
        );
        let e = load_str(&weight, "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("router.nginx.green"), "{e}");
        assert!(e.message.contains("set by cutover"), "{e}");
        let twice = format!(
            "{HEAD}{}",
            TABLE.replace("10.0.2.11:8000", "10.0.1.11:8000")
        );
        assert!(load_str(&twice, "t").unwrap_err().message.contains("twice"));
    }
}
