//! Durations in config are written as humans write them: `30s`, `5m`, `48h`,
//! `1h 30m`, `250ms` (parsed by `humantime`), always as a string: a bare
//! `300` has no unit, and guessing one (seconds? minutes?) is how a dwell
//! of five minutes becomes five hours.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::format::span(*d))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(DurationText)
}

struct DurationText;

fn bare_number<E: de::Error>(n: impl fmt::Display) -> E {
    E::custom(format!(
        "{n} has no unit: write a duration in quotes, such as \"{n}s\" or \"5m\""
    ))
}

impl<'de> Visitor<'de> for DurationText {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a duration in quotes, such as \"30s\", \"5m\" or \"48h\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        Err(bare_number(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Err(bare_number(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        Err(bare_number(v))
    }
}

pub fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}); write e.g. `30s`, `5m`, `48h`"))
}

/// An optional duration (`rollback_sla`): absent is `None`, and a value
/// present is read as strictly as a required one.
pub mod optional {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::deserialize(d).map(Some)
    }
}
