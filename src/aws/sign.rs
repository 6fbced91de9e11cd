//! SigV4 over our own HTTP client: the official signer (`aws-sigv4`)
//! computes the headers, reqwest sends them. The signer's own trace lines
//! print the access key id, so `logging` caps its target at `info`.

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::identity::Identity;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::credentials::Credentials;

/// What the signature covers: the request as it will be sent.
pub struct Unsigned<'a> {
    pub method: &'a str,
    /// The full URL, path and query already percent-encoded.
    pub url: &'a str,
    /// Headers sent and signed (`host` is taken from the URL).
    pub headers: &'a [(&'a str, String)],
    pub body: &'a [u8],
}

/// Who signs a request, and for which service where.
pub struct Signer<'a> {
    pub creds: &'a Credentials,
    pub region: &'a str,
    pub service: &'a str,
}

/// `req` as reqwest will send it, signed by `signer` when there is one (a
/// token exchange such as `AssumeRoleWithWebIdentity` is sent unsigned).
pub fn build(
    http: &reqwest::Client,
    req: &Unsigned<'_>,
    signer: Option<Signer<'_>>,
) -> Result<reqwest::RequestBuilder, String> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut builder = http.request(method, req.url);
    if let Some(s) = signer {
        builder = builder.headers(signature(
            req,
            s.creds,
            s.region,
            s.service,
            SystemTime::now(),
        )?);
    }
    for (k, v) in req.headers {
        builder = builder.header(*k, v);
    }
    Ok(builder.body(req.body.to_vec()))
}

/// The headers to add to the request (`authorization`, `x-amz-date`, and
/// `x-amz-security-token` for temporary credentials), the secret ones
/// marked sensitive.
pub fn signature(
    req: &Unsigned<'_>,
    creds: &Credentials,
    region: &str,
    service: &str,
    now: SystemTime,
) -> Result<HeaderMap, String> {
    let identity: Identity = aws_credential_types::Credentials::new(
        creds.access_key_id.expose(),
        creds.secret_access_key.expose(),
        creds.session_token.as_ref().map(|t| t.expose().to_string()),
        creds.expires,
        "cutover",
    )
    .into();
    let params = SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("signing: {e}"))?
        .into();
    let signable = SignableRequest::new(
        req.method,
        req.url,
        req.headers.iter().map(|(k, v)| (*k, v.as_str())),
        SignableBody::Bytes(req.body),
    )
    .map_err(|e| format!("signing: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| format!("signing: {e}"))?
        .into_parts();
    let (headers, _) = instructions.into_parts();
    let mut out = HeaderMap::new();
    for h in headers {
        let name = HeaderName::from_static(h.name());
        let mut value =
            HeaderValue::from_str(h.value()).map_err(|_| format!("signing: bad {}", h.name()))?;
        // The authorization header names the access key id; the token is a
        // credential in itself. Both stay out of any debug output.
        value.set_sensitive(h.sensitive() || h.name() != "x-amz-date");
        out.insert(name, value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Secret;

    #[test]
    fn signs_with_the_token_and_hides_it() {
        let creds = Credentials {
            access_key_id: Secret::new("AKIDEXAMPLE"),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: Some(Secret::new("the-session-token")),
            expires: None,
            from: "test".into(),
        };
        let req = Unsigned {
            method: "GET",
            url: "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/f/aliases/live",
            headers: &[],
            body: b"",
        };
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160);
        let h = signature(&req, &creds, "us-east-1", "lambda", t).unwrap();
        let auth = h["authorization"].to_str().unwrap();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/lambda/aws4_request"
            ),
            "{auth}"
        );
        assert_eq!(h["x-amz-security-token"], "the-session-token");
        assert!(h["authorization"].is_sensitive() && h["x-amz-security-token"].is_sensitive());
        assert!(!format!("{h:?}").contains("the-session-token"));
        assert!(!format!("{h:?}").contains("AKIDEXAMPLE"));
    }
}
