//! Helpers the unit tests share, so a test module does not open with its
//! own copy of "parse this or fail the test".

use std::fmt::Debug;
use std::str::FromStr;

use serde::de::DeserializeOwned;

/// `text` read as TOML into `T`; a malformed fixture fails the test.
pub(crate) fn from_toml<T: DeserializeOwned>(text: &str) -> T {
    toml::from_str(text).unwrap_or_else(|e| panic!("fixture is not valid TOML: {e}"))
}

/// `text` parsed through `T`'s `FromStr`; a malformed fixture fails the test.
pub(crate) fn parsed<T: FromStr>(text: &str) -> T
where
    T::Err: Debug,
{
    text.parse()
        .unwrap_or_else(|e| panic!("fixture {text:?} does not parse: {e:?}"))
}

/// Owned strings from literals, for APIs that take `&[String]`.
pub(crate) fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}
