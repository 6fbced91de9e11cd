//! The nginx include's render/read/rewrite round trip over every config
//! the validation accepts: one to four servers a colour (IPv4, IPv6, names,
//! unix sockets; any of nginx's per-server options), both modes, any
//! upstream name and sticky key, and every split. What the cockpit writes
//! it reads back as the split it wrote, and a rewrite changes only the
//! parts it manages.

use proptest::prelude::*;

use cutover::config::NginxConfig;
use cutover::model::Split;
use cutover::router::nginx::include::{read, render};

/// One server entry, `address [options]`, unique by `n`.
fn server(color: u8, n: usize) -> impl Strategy<Value = String> {
    let address = prop_oneof![
        (1u16..=65535).prop_map(move |p| format!("10.0.{color}.{n}:{p}")),
        (1u16..=65535).prop_map(move |p| format!("[fd00::{color}:{n}]:{p}")),
        Just(format!("model-{color}-{n}.internal:8000")),
        Just(format!("unix:/run/model-{color}-{n}.sock")),
    ];
    let options = prop::sample::subsequence(
        vec![
            "max_fails=3",
            "fail_timeout=10s",
            "max_conns=100",
            "slow_start=30s",
            "resolve",
        ],
        0..=3,
    );
    (address, options).prop_map(|(a, o)| {
        std::iter::once(a.as_str())
            .chain(o)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn servers(color: u8) -> impl Strategy<Value = Vec<String>> {
    (1usize..=4).prop_flat_map(move |k| (1..=k).map(|n| server(color, n)).collect::<Vec<_>>())
}

/// A config the validation accepts.
fn config() -> impl Strategy<Value = NginxConfig> {
    let sticky = prop_oneof![
        Just(None),
        "\\$[a-z_]{1,16}".prop_map(Some),
        prop::sample::select(vec!["$cookie_user", "$request_id", "$http_x_user_id"])
            .prop_map(|k| Some(k.to_string())),
    ];
    (
        "[A-Za-z_][A-Za-z0-9_]{0,15}",
        servers(1),
        servers(2),
        sticky,
    )
        .prop_filter_map(
            "not a valid config",
            |(upstream, blue, green, sticky_key)| {
                let quoted = |v: &[String]| {
                    v.iter()
                        .map(|s| format!("{s:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let mode = match &sticky_key {
                    Some(k) => format!("mode = \"sticky\"\nsticky_key = {k:?}\n"),
                    None => String::new(),
                };
                let text = format!(
                    "include = \"/etc/nginx/conf.d/cutover.conf\"\nupstream = {upstream:?}\n\
                 blue = [{}]\ngreen = [{}]\n{mode}",
                    quoted(&blue),
                    quoted(&green)
                );
                let cfg: NginxConfig = toml::from_str(&text).ok()?;
                cfg.validate().is_ok().then_some(cfg)
            },
        )
}

fn split() -> impl Strategy<Value = Split> {
    (0u8..=100).prop_map(|g| Split::new(g).unwrap())
}

proptest! {
    #[test]
    fn what_is_rendered_reads_back_as_its_split(cfg in config(), s in split()) {
        let text = render(&cfg, s);
        let got = read(&text, &cfg).map_err(|e| format!("{e}\n{text}"));
        prop_assert_eq!(got.map(|i| i.split), Ok(s), "{}", text);
    }

    /// From `a` to `b` and back: `b` reads back, and the text returns to
    /// what it was byte for byte, with a directive and a comment of the
    /// operator's kept where they were.
    #[test]
    fn a_rewrite_goes_there_and_back(cfg in config(), a in split(), b in split()) {
        let kept = "    keepalive 16;  # the operator's\n";
        let mut text = render(&cfg, a);
        let at = text.find("{\n").expect("an upstream block") + 2;
        text.insert_str(at, kept);
        let there = read(&text, &cfg)
            .map_err(|e| format!("{e}\n{text}"))
            .unwrap()
            .rewrite(&text, &cfg, b);
        let inc = read(&there, &cfg).map_err(|e| format!("{e}\n{there}"));
        prop_assert_eq!(inc.as_ref().map(|i| i.split), Ok(b), "{}", there);
        prop_assert!(there.contains(kept), "{}", there);
        let back = inc.unwrap().rewrite(&there, &cfg, a);
        prop_assert_eq!(back, text);
    }
}
