//! A Lambda function's ARN with its qualifier, as a smoke check's `url`:
//! `arn:aws:lambda:us-east-1:123456789012:function:chat-model:7` invokes
//! version 7 (green's) directly, before the alias sends it any traffic.
//! Pure.

/// A qualified Lambda function ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaArn {
    /// The ARN as written: Invoke takes it whole as the function's name.
    pub arn: String,
    pub region: String,
    pub function: String,
    /// A version number or an alias.
    pub qualifier: String,
}

impl LambdaArn {
    /// `None` for anything that is not an ARN (`arn:` first); an error
    /// for an ARN that is not a qualified Lambda function's, saying why.
    pub fn parse(s: &str) -> Option<Result<LambdaArn, String>> {
        let rest = s.strip_prefix("arn:")?;
        let parts: Vec<&str> = rest.split(':').collect();
        let why = match parts.as_slice() {
            [
                partition,
                "lambda",
                region,
                account,
                "function",
                function,
                qualifier,
            ] if partition.starts_with("aws")
                && !region.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !function.is_empty()
                && !qualifier.is_empty() =>
            {
                return Some(Ok(LambdaArn {
                    arn: s.to_string(),
                    region: region.to_string(),
                    function: function.to_string(),
                    qualifier: qualifier.to_string(),
                }));
            }
            [_, "lambda", _, _, "function", _] => {
                "names no version: add green's (`...:function:chat-model:7`), so that the check \
                 invokes green and not $LATEST"
            }
            _ => {
                "is not a Lambda function ARN with a version \
                 (`arn:aws:lambda:REGION:ACCOUNT:function:NAME:VERSION`)"
            }
        };
        Some(Err(format!("`{s}` {why}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qualified_function_arn_and_what_is_not_one() {
        let a = LambdaArn::parse("arn:aws:lambda:eu-west-1:123456789012:function:chat:7")
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.region.as_str(), a.function.as_str(), a.qualifier.as_str()),
            ("eu-west-1", "chat", "7")
        );
        assert!(
            LambdaArn::parse("arn:aws-cn:lambda:cn-north-1:123456789012:function:c:live")
                .is_some_and(|r| r.is_ok())
        );
        assert_eq!(LambdaArn::parse("http://x/"), None);
        let unqualified = LambdaArn::parse("arn:aws:lambda:eu-west-1:123456789012:function:chat");
        assert!(
            unqualified
                .unwrap()
                .unwrap_err()
                .contains("names no version")
        );
        let s3 = LambdaArn::parse("arn:aws:s3:::bucket")
            .unwrap()
            .unwrap_err();
        assert!(s3.contains("is not a Lambda function ARN"), "{s3}");
    }
}
