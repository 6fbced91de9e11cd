//! The lab's config templates (`assets/lab/*.tmpl`) and their rendering:
//! `{{name}}` is replaced by its value; a placeholder without a value, or a
//! value without a placeholder, is an error, so a template and its caller
//! cannot drift apart silently. Pure.

pub const NGINX_CONF: &str = include_str!("../../assets/lab/nginx.conf.tmpl");
pub const PROMETHEUS_YML: &str = include_str!("../../assets/lab/prometheus.yml.tmpl");
pub const CUTOVER_TOML: &str = include_str!("../../assets/lab/cutover.toml.tmpl");

/// Fills `template` with `values`.
pub fn render(name: &str, template: &str, values: &[(&str, String)]) -> anyhow::Result<String> {
    let mut out = String::with_capacity(template.len() + 256);
    let mut used = vec![false; values.len()];
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            anyhow::bail!(
                "{name}: unclosed `{{{{` at byte {}",
                template.len() - rest.len() + open
            );
        };
        let key = after[..close].trim();
        let Some(i) = values.iter().position(|(k, _)| *k == key) else {
            anyhow::bail!("{name}: no value for the placeholder {{{{{key}}}}}");
        };
        out.push_str(&values[i].1);
        used[i] = true;
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    if let Some(i) = used.iter().position(|u| !u) {
        anyhow::bail!("{name}: the value {} has no placeholder", values[i].0);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_and_refuses_mismatches() {
        let v = [("a", "1".to_string()), ("b", "two".to_string())];
        assert_eq!(
            render("t", "x {{a}} y {{ b }} {{a}}", &v).unwrap(),
            "x 1 y two 1"
        );
        let e = render("t", "{{c}}", &v).unwrap_err().to_string();
        assert!(e.contains("{{c}}"), "{e}");
        let e = render("t", "{{a}}", &v).unwrap_err().to_string();
        assert!(e.contains("b has no placeholder"), "{e}");
        assert!(render("t", "{{a", &v).is_err());
    }
}
