//! AWS's errors, read the way each protocol writes them (a JSON `__type`
//! or `code`, the `x-amzn-ErrorType` header, an XML `<Code>`), sorted into
//! what a caller acts on: retry, re-read, give up.

use std::fmt;

/// What a caller does with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No credentials could be found, or a source of them failed.
    Credentials,
    /// The request did not get an answer (connect, timeout).
    Network,
    /// Throttled: retried with backoff, then reported.
    Throttled,
    /// A conditional write lost (Lambda's `PreconditionFailedException`)
    /// or the resource is busy (`ResourceConflictException`).
    Conflict,
    NotFound,
    /// Signature, credentials or IAM permission refused.
    Denied,
    /// The request was refused as invalid (`ValidationException`).
    Invalid,
    /// A 5xx answer: retried, then reported.
    Server,
    /// An answer that could not be read.
    Unreadable,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct AwsError {
    pub kind: ErrorKind,
    /// AWS's error code, e.g. `PreconditionFailedException`.
    pub code: Option<String>,
    pub message: String,
    pub status: Option<u16>,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, self.status) {
            (Some(c), Some(s)) => write!(f, "{c} (HTTP {s}): {}", self.message),
            (Some(c), None) => write!(f, "{c}: {}", self.message),
            (None, Some(s)) => write!(f, "HTTP {s}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

impl AwsError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        AwsError {
            kind,
            code: None,
            message: message.into(),
            status: None,
        }
    }

    /// Worth another try after a pause: throttling, a 5xx, no answer.
    pub fn retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Throttled | ErrorKind::Server | ErrorKind::Network
        )
    }

    /// Reads an error answer: `status`, the `x-amzn-ErrorType` header if
    /// any, and the body (JSON or XML).
    pub fn from_answer(status: u16, error_type: Option<&str>, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let field = |names: &[&str]| {
            let j = json.as_ref()?;
            names
                .iter()
                .find_map(|n| j.get(*n).and_then(|v| v.as_str()).map(str::to_string))
        };
        let code = error_type
            .map(str::to_string)
            .or_else(|| field(&["__type", "code", "Code"]))
            .or_else(|| super::xml::text(&text, "Code"))
            .map(|c| short_code(&c));
        let message = field(&["message", "Message", "errorMessage"])
            .or_else(|| super::xml::text(&text, "Message"))
            .unwrap_or_else(|| first_line(&text));
        AwsError {
            kind: classify(status, code.as_deref()),
            code,
            message: clean(&message),
            status: Some(status),
        }
    }
}

/// `com.amazonaws.lambda#PreconditionFailedException` and
/// `PreconditionFailedException:http://...` both say
/// `PreconditionFailedException`.
fn short_code(raw: &str) -> String {
    let c = raw.rsplit('#').next().unwrap_or(raw);
    c.split(':').next().unwrap_or(c).trim().to_string()
}

fn classify(status: u16, code: Option<&str>) -> ErrorKind {
    let code = code.unwrap_or_default();
    const THROTTLED: &[&str] = &[
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "PriorRequestNotComplete",
        "LimitExceededException",
    ];
    const DENIED: &[&str] = &[
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "MissingAuthenticationToken",
        "UnauthorizedException",
    ];
    match code {
        c if THROTTLED.contains(&c) => ErrorKind::Throttled,
        c if DENIED.contains(&c) => ErrorKind::Denied,
        "PreconditionFailedException" | "ResourceConflictException" | "ConflictException" => {
            ErrorKind::Conflict
        }
        "ResourceNotFoundException" | "NotFoundException" | "ResourceNotFound" => {
            ErrorKind::NotFound
        }
        _ => match status {
            429 => ErrorKind::Throttled,
            401 | 403 => ErrorKind::Denied,
            404 => ErrorKind::NotFound,
            409 | 412 => ErrorKind::Conflict,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::Invalid,
        },
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.trim().is_empty() {
        "(no message)".into()
    } else {
        line.chars().take(300).collect()
    }
}

/// Text from the server, cut and without control characters, for the
/// screen and the journal.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_protocol_names_its_code() {
        let lambda = AwsError::from_answer(
            412,
            Some("PreconditionFailedException:http://internal.amazon.com/"),
            br#"{"Type":"User","message":"The Revision Id provided does not match"}"#,
        );
        assert_eq!(lambda.kind, ErrorKind::Conflict);
        assert_eq!(lambda.code.as_deref(), Some("PreconditionFailedException"));
        assert!(lambda.message.contains("Revision Id"));

        let sagemaker = AwsError::from_answer(
            400,
            None,
            br#"{"__type":"com.amazonaws.sagemaker#ThrottlingException","Message":"Rate exceeded"}"#,
        );
        assert_eq!(sagemaker.kind, ErrorKind::Throttled);
        assert!(sagemaker.retryable());

        let query = AwsError::from_answer(
            403,
            None,
            b"<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>bad &amp; wrong</Message></Error></ErrorResponse>",
        );
        assert_eq!(query.kind, ErrorKind::Denied);
        assert_eq!(query.message, "bad & wrong");
        assert!(!query.retryable());

        let validation = AwsError::from_answer(400, None, b"{\"message\":\"x\"}");
        assert_eq!(validation.kind, ErrorKind::Invalid);
        assert_eq!(
            AwsError::from_answer(503, None, b"").kind,
            ErrorKind::Server
        );
        assert_eq!(
            AwsError::from_answer(404, None, b"{\"message\":\"Invalid stage identifier specified\",\"__type\":\"NotFoundException\"}").kind,
            ErrorKind::NotFound
        );
    }
}
