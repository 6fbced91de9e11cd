//! The little XML the query protocol answers with (STS, CloudWatch's
//! query form, error bodies): the text of the first element of a name.
//! Enough for flat answers; no attributes, namespaces or nesting rules.

/// The text of the first `<tag>…</tag>` in `doc`, entities decoded.
pub fn text(doc: &str, tag: &str) -> Option<String> {
    all(doc, tag).into_iter().next()
}

/// The text of every `<tag>…</tag>` in `doc`, in order.
pub fn all(doc: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find(&open) {
        let body = &rest[start + open.len()..];
        let Some(end) = body.find(&close) else { break };
        out.push(unescape(&body[..end]));
        rest = &body[end + close.len()..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_flat_elements() {
        let doc = "<R><Credentials><AccessKeyId>AK</AccessKeyId><Expiration>2026-01-01T00:00:00Z</Expiration></Credentials><M>a</M><M>b &lt;c&gt;</M></R>";
        assert_eq!(super::text(doc, "AccessKeyId").as_deref(), Some("AK"));
        assert_eq!(super::all(doc, "M"), ["a", "b <c>"]);
        assert_eq!(super::text(doc, "Nope"), None);
    }
}
