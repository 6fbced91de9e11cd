//! The include file as the cockpit understands it: which servers it holds,
//! the split they give, and how to rewrite only the parts it manages
//! (weights and `down`, or the `split_clients` block). Pure: text in, text
//! out; every refusal names the line.

use std::fmt;
use std::ops::Range;

use super::syntax::{self, Directive};
use crate::config::nginx::address_of;
use crate::config::{NginxConfig, NginxMode};
use crate::model::{Color, Split};

mod render;
mod sticky;

pub use render::{render, weights};
use sticky::read_sticky;

/// Directives inside an upstream that do not change what weights mean;
/// they are kept exactly as written.
const KEPT: [&str; 9] = [
    "zone",
    "keepalive",
    "keepalive_requests",
    "keepalive_time",
    "keepalive_timeout",
    "resolver",
    "resolver_timeout",
    "ntlm",
    "queue",
];

/// Balancing directives: with them a weight is no longer a share.
const BALANCING: [&str; 6] = [
    "hash",
    "ip_hash",
    "least_conn",
    "least_time",
    "random",
    "sticky",
];

/// Why the include cannot be read or written, with its line when known.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub line: Option<usize>,
    pub message: String,
    /// The offending line as written.
    pub excerpt: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, &self.excerpt) {
            (Some(l), Some(x)) => write!(f, "line {l}: {} (`{}`)", self.message, x.trim()),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// One `server` line of a managed upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub address: String,
    pub color: Color,
    pub weight: u32,
    pub down: bool,
    /// Every other option, as written (`max_fails=3`, `slow_start=30s`).
    pub options: Vec<String>,
    pub span: Range<usize>,
}

/// What the include holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Include {
    pub split: Split,
    edit: Edit,
}

#[derive(Debug, Clone, PartialEq)]
enum Edit {
    Weighted(Vec<Server>),
    /// The span of the `split_clients` directive.
    Sticky(Range<usize>),
}

fn refuse(text: &str, line: Option<usize>, message: impl Into<String>) -> Refusal {
    Refusal {
        line,
        message: message.into(),
        excerpt: line
            .and_then(|l| text.lines().nth(l - 1))
            .map(str::to_string),
    }
}

/// Reads `text` against the config: the split it gives, or why it cannot
/// be accounted for.
pub fn read(text: &str, cfg: &NginxConfig) -> Result<Include, Refusal> {
    let dirs = syntax::parse(text).map_err(|e| refuse(text, Some(e.line), e.message))?;
    match cfg.mode {
        NginxMode::Weighted => read_weighted(text, cfg, &dirs),
        NginxMode::Sticky => read_sticky(text, cfg, &dirs),
    }
}

fn color_of(cfg: &NginxConfig, address: &str) -> Option<Color> {
    if cfg.blue.iter().any(|e| address_of(e) == address) {
        Some(Color::Blue)
    } else if cfg.green.iter().any(|e| address_of(e) == address) {
        Some(Color::Green)
    } else {
        None
    }
}

/// The servers of one upstream block, each checked against the config.
fn servers(
    text: &str,
    cfg: &NginxConfig,
    block: &Directive,
    only: Option<Color>,
) -> Result<Vec<Server>, Refusal> {
    let mut out: Vec<Server> = Vec::new();
    for d in block.block.as_deref().unwrap_or_default() {
        let at = Some(d.line);
        if BALANCING.contains(&d.name.as_str()) {
            return Err(refuse(
                text,
                at,
                format!(
                    "`{}` changes what server weights mean; cutover cannot keep a split with it",
                    d.name
                ),
            ));
        }
        if KEPT.contains(&d.name.as_str()) {
            continue;
        }
        if d.name != "server" {
            return Err(refuse(
                text,
                at,
                format!(
                    "`{}` in an upstream is not something cutover can account for",
                    d.name
                ),
            ));
        }
        let Some(address) = d.args.first() else {
            return Err(refuse(text, at, "`server` without an address"));
        };
        let Some(color) = color_of(cfg, address) else {
            return Err(refuse(
                text,
                at,
                format!("server {address} is in neither router.nginx.blue nor router.nginx.green"),
            ));
        };
        if let Some(want) = only
            && want != color
        {
            return Err(refuse(
                text,
                at,
                format!(
                    "server {address} is {} in the config but sits in upstream {}",
                    color.name(),
                    block.args.join(" ")
                ),
            ));
        }
        if out.iter().any(|s| &s.address == address) {
            return Err(refuse(
                text,
                at,
                format!("server {address} is listed twice"),
            ));
        }
        let (weight, down, options) = server_options(text, at, &d.args[1..])?;
        out.push(Server {
            address: address.clone(),
            color,
            weight,
            down,
            options,
            span: d.span.clone(),
        });
    }
    Ok(out)
}

/// A `server` line's options after the address: its weight, whether it is
/// `down`, and the rest, kept as written.
fn server_options(
    text: &str,
    at: Option<usize>,
    args: &[String],
) -> Result<(u32, bool, Vec<String>), Refusal> {
    let (mut weight, mut down, mut options) = (1, false, Vec::new());
    for o in args {
        if o == "down" {
            down = true;
        } else if o == "backup" {
            return Err(refuse(
                text,
                at,
                "a `backup` server takes traffic only when others fail; cutover cannot split with it",
            ));
        } else if let Some(w) = o.strip_prefix("weight=") {
            weight = match w.parse::<u32>() {
                Ok(w) if w > 0 => w,
                _ => return Err(refuse(text, at, format!("`{o}` is not a weight"))),
            };
        } else {
            options.push(o.clone());
        }
    }
    Ok((weight, down, options))
}

/// Every configured server of `colors` must be there.
fn all_present(cfg: &NginxConfig, found: &[Server], colors: &[Color]) -> Result<(), Refusal> {
    for &c in colors {
        let list = if c == Color::Blue {
            &cfg.blue
        } else {
            &cfg.green
        };
        for e in list {
            let a = address_of(e);
            if !found.iter().any(|s| s.address == a) {
                return Err(Refusal {
                    line: None,
                    message: format!(
                        "server {a} of router.nginx.{} is not in the include",
                        c.name()
                    ),
                    excerpt: None,
                });
            }
        }
    }
    Ok(())
}

fn upstream_name(text: &str, d: &Directive) -> Result<String, Refusal> {
    match (d.args.as_slice(), &d.block) {
        ([name], Some(_)) => Ok(name.clone()),
        _ => Err(refuse(
            text,
            Some(d.line),
            "`upstream` needs one name and a block",
        )),
    }
}

/// A directive the include may not hold.
fn unaccountable(text: &str, d: &Directive) -> Refusal {
    refuse(
        text,
        Some(d.line),
        format!(
            "`{}` is not something cutover can account for in its include",
            d.name
        ),
    )
}

fn read_weighted(text: &str, cfg: &NginxConfig, dirs: &[Directive]) -> Result<Include, Refusal> {
    let mut found = None;
    for d in dirs {
        if d.name != "upstream" {
            return Err(unaccountable(text, d));
        }
        let name = upstream_name(text, d)?;
        if name != cfg.upstream || found.is_some() {
            return Err(refuse(
                text,
                Some(d.line),
                format!(
                    "a second upstream `{name}`; the include holds only `{}`",
                    cfg.upstream
                ),
            ));
        }
        found = Some(d);
    }
    let Some(up) = found else {
        return Err(refuse(
            text,
            None,
            format!("no `upstream {}` block", cfg.upstream),
        ));
    };
    let list = servers(text, cfg, up, None)?;
    all_present(cfg, &list, &[Color::Blue, Color::Green])?;
    let sum = |c: Color| -> u64 {
        list.iter()
            .filter(|s| s.color == c && !s.down)
            .map(|s| u64::from(s.weight))
            .sum()
    };
    let (b, g) = (sum(Color::Blue), sum(Color::Green));
    if b + g == 0 {
        return Err(refuse(text, Some(up.line), "every server is down"));
    }
    // Weights the cockpit writes are exact; a hand-written 2:1 is rounded.
    let pct = ((g * 100 + (b + g) / 2) / (b + g)) as u8;
    Ok(Include {
        split: Split::new(pct).expect("at most 100"),
        edit: Edit::Weighted(list),
    })
}

/// `$cookie_user` as `${cookie_user}`, so that it can stand in quotes.
fn braced(key: &str) -> String {
    match key.strip_prefix('$') {
        Some(v) if !v.starts_with('{') => format!("${{{v}}}"),
        _ => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::split as s;

    fn cfg(mode: NginxMode) -> NginxConfig {
        NginxConfig {
            include: "/tmp/x.conf".into(),
            upstream: "chat_model".into(),
            blue: vec![
                "10.0.1.11:8000".into(),
                "10.0.1.12:8000 max_fails=3 fail_timeout=10s".into(),
            ],
            green: vec!["10.0.2.11:8000".into()],
            mode,
            sticky_key: (mode == NginxMode::Sticky).then(|| "$cookie_user".into()),
            test_command: crate::config::nginx::default_test_command(),
            test_before_rollback: false,
            reload_command: crate::config::nginx::default_reload_command(),
            probe_url: None,
            probe_requests: 200,
        }
    }

    #[test]
    fn weights_are_exact_for_every_split() {
        for (nb, ng) in [(1, 1), (2, 1), (3, 2), (1, 4)] {
            for g in 0..=100u8 {
                let (wb, wg) = weights(s(g), nb, ng);
                let b = wb.unwrap_or(0) * nb as u64;
                let gr = wg.unwrap_or(0) * ng as u64;
                assert_eq!(gr * 100, u64::from(g) * (b + gr), "{g}% {nb}/{ng}");
            }
        }
    }

    #[test]
    fn render_then_read_round_trips_both_modes() {
        for mode in [NginxMode::Weighted, NginxMode::Sticky] {
            let c = cfg(mode);
            for g in [0, 1, 25, 50, 99, 100] {
                let text = render(&c, s(g));
                let inc = read(&text, &c).unwrap_or_else(|e| panic!("{e}\n{text}"));
                assert_eq!(inc.split, s(g), "{mode:?}\n{text}");
                let again = inc.rewrite(&text, &c, s(30));
                assert_eq!(read(&again, &c).unwrap().split, s(30), "{again}");
            }
        }
        let t = render(&cfg(NginxMode::Weighted), Split::ZERO);
        assert!(t.contains("server 10.0.2.11:8000 down;"), "{t}");
        assert!(t.contains("max_fails=3 fail_timeout=10s weight=1;"), "{t}");
    }

    #[test]
    fn a_hand_written_upstream_is_read_as_nginx_does_and_kept() {
        let text = "upstream chat_model {\n  zone chat 64k;   # shared\n\tserver 10.0.2.11:8000   weight=1 ;\n  keepalive 16;\n  server 10.0.1.12:8000 max_fails=3 fail_timeout=10s weight=2;\n  # the old one\n  server 10.0.1.11:8000 slow_start=30s;\n}\n";
        let c = cfg(NginxMode::Weighted);
        let inc = read(text, &c).unwrap();
        assert_eq!(inc.split, s(25));
        let out = inc.rewrite(text, &c, s(50));
        assert!(out.contains("zone chat 64k;   # shared"), "{out}");
        assert!(out.contains("  keepalive 16;\n"), "{out}");
        assert!(out.contains("# the old one"), "{out}");
        assert!(
            out.contains("server 10.0.1.11:8000 slow_start=30s weight=1;"),
            "{out}"
        );
        assert!(out.contains("server 10.0.2.11:8000 weight=2;"), "{out}");
        assert_eq!(read(&out, &c).unwrap().split, s(50));
    }

    #[test]
    fn what_cannot_be_accounted_for_is_refused_with_its_line() {
        let c = cfg(NginxMode::Weighted);
        let base = render(&c, s(10));
        let cases = [
            (base.replace("10.0.2.11:8000", "10.9.9.9:80"), "neither"),
            (
                format!("{base}upstream other {{ server 1.2.3.4:80; }}\n"),
                "second upstream",
            ),
            (
                base.replace(
                    "upstream chat_model {",
                    "upstream chat_model {\n    least_conn;",
                ),
                "least_conn",
            ),
            (
                base.replace(
                    "upstream chat_model {",
                    "upstream chat_model {\n    hash $x consistent;",
                ),
                "hash",
            ),
            (base.replace("weight=2;", "weight=2 backup;"), "backup"),
            (format!("{base}map $a $b {{ }}\n"), "`map`"),
            (base.replace("}\n", ""), "never closed"),
        ];
        for (text, want) in cases {
            let e = read(&text, &c).unwrap_err();
            assert!(e.to_string().contains(want), "{want}: {e}\n{text}");
            assert!(e.line.is_some(), "{e}");
        }
        let missing = base
            .lines()
            .filter(|l| !l.contains("10.0.2.11"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            read(&missing, &c)
                .unwrap_err()
                .to_string()
                .contains("not in the include")
        );
    }

    #[test]
    fn sticky_green_is_the_first_bucket_and_the_key_is_checked() {
        let c = cfg(NginxMode::Sticky);
        let t = render(&c, s(5));
        assert!(t.contains("split_clients \"${cookie_user}\" $chat_model {\n    5% chat_model_green;\n    * chat_model_blue;\n}"), "{t}");
        let other = t.replace("${cookie_user}", "$request_id");
        assert!(
            read(&other, &c)
                .unwrap_err()
                .to_string()
                .contains("keyed on")
        );
        let hand = "split_clients \"$cookie_user\" $chat_model { 2.5% chat_model_green; 20% chat_model_green; * chat_model_blue; }\nupstream chat_model_blue { server 10.0.1.11:8000; server 10.0.1.12:8000; }\nupstream chat_model_green { server 10.0.2.11:8000; }\n";
        assert_eq!(read(hand, &c).unwrap().split, s(23));
        let wrong = hand.replace(
            "upstream chat_model_green { server 10.0.2.11:8000; }",
            "upstream chat_model_green { server 10.0.1.11:8000; }",
        );
        assert!(read(&wrong, &c).is_err());
    }
}
