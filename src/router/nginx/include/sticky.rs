//! Reading a sticky-mode include: the blue and green upstreams and the
//! `split_clients` block that shares keys between them.

use super::super::syntax::Directive;
use super::{
    Edit, Include, Refusal, Server, all_present, braced, refuse, servers, unaccountable,
    upstream_name,
};
use crate::config::NginxConfig;
use crate::model::{Color, Split};

pub(super) fn read_sticky(
    text: &str,
    cfg: &NginxConfig,
    dirs: &[Directive],
) -> Result<Include, Refusal> {
    let ups = Upstreams {
        blue: format!("{}_blue", cfg.upstream),
        green: format!("{}_green", cfg.upstream),
    };
    let (list, split_block) = upstreams(text, cfg, dirs, &ups)?;
    all_present(cfg, &list, &[Color::Blue, Color::Green])?;
    let Some(sc) = split_block else {
        return Err(refuse(text, None, "no `split_clients` block"));
    };
    check_head(text, cfg, sc)?;
    let green = green_share(text, sc, &ups)?;
    Ok(Include {
        split: Split::new(green.round().clamp(0.0, 100.0) as u8).expect("at most 100"),
        edit: Edit::Sticky(sc.span.clone()),
    })
}

/// The names of the two upstreams a sticky include holds.
struct Upstreams {
    blue: String,
    green: String,
}

/// The servers of the blue and green upstreams, and the `split_clients`
/// block; anything else is refused.
fn upstreams<'a>(
    text: &str,
    cfg: &NginxConfig,
    dirs: &'a [Directive],
    ups: &Upstreams,
) -> Result<(Vec<Server>, Option<&'a Directive>), Refusal> {
    let (blue_up, green_up) = (&ups.blue, &ups.green);
    let mut list = Vec::new();
    let mut seen = Vec::new();
    let mut split_block = None;
    for d in dirs {
        match d.name.as_str() {
            "upstream" => {
                let name = upstream_name(text, d)?;
                let color = if name == *blue_up {
                    Color::Blue
                } else if name == *green_up {
                    Color::Green
                } else {
                    return Err(refuse(
                        text,
                        Some(d.line),
                        format!("upstream `{name}` is neither `{blue_up}` nor `{green_up}`"),
                    ));
                };
                if seen.contains(&name) {
                    return Err(refuse(
                        text,
                        Some(d.line),
                        format!("a second upstream `{name}`"),
                    ));
                }
                seen.push(name);
                list.extend(servers(text, cfg, d, Some(color))?);
            }
            "split_clients" if split_block.is_none() => split_block = Some(d),
            _ => return Err(unaccountable(text, d)),
        }
    }
    Ok((list, split_block))
}

/// `split_clients "<sticky_key>" $<upstream>`: keyed as configured.
fn check_head(text: &str, cfg: &NginxConfig, sc: &Directive) -> Result<(), Refusal> {
    let key = cfg.sticky_key.as_deref().unwrap_or_default();
    let at = Some(sc.line);
    let var = format!("${}", cfg.upstream);
    if sc.args.len() != 2 || sc.args[1] != var {
        return Err(refuse(
            text,
            at,
            format!("expected `split_clients \"{key}\" {var} {{ ... }}`"),
        ));
    }
    if sc.args[0] != key && sc.args[0] != braced(key) {
        return Err(refuse(
            text,
            at,
            format!(
                "split_clients is keyed on `{}` but router.nginx.sticky_key is `{key}`",
                sc.args[0]
            ),
        ));
    }
    Ok(())
}

/// Green's percentage of the keys: its entries, plus the rest when `*`
/// names green.
fn green_share(text: &str, sc: &Directive, ups: &Upstreams) -> Result<f64, Refusal> {
    let (blue_up, green_up) = (&ups.blue, &ups.green);
    let mut green = 0.0f64;
    let mut total = 0.0f64;
    let mut star = None;
    for e in sc.block.as_deref().unwrap_or_default() {
        let color = match e.args.as_slice() {
            [v] if v == blue_up => Color::Blue,
            [v] if v == green_up => Color::Green,
            _ => {
                return Err(refuse(
                    text,
                    Some(e.line),
                    format!("each entry must name `{blue_up}` or `{green_up}`"),
                ));
            }
        };
        if e.name == "*" {
            star = Some(color);
            continue;
        }
        let pct = e
            .name
            .strip_suffix('%')
            .and_then(|p| p.parse::<f64>().ok())
            .filter(|p| *p > 0.0 && *p <= 100.0)
            .ok_or_else(|| {
                refuse(
                    text,
                    Some(e.line),
                    format!("`{}` is not a percentage", e.name),
                )
            })?;
        total += pct;
        if color == Color::Green {
            green += pct;
        }
    }
    if total > 100.0 + 1e-9 {
        return Err(refuse(
            text,
            Some(sc.line),
            "the percentages add up to more than 100%",
        ));
    }
    if star == Some(Color::Green) {
        green += 100.0 - total;
    }
    Ok(green)
}
