//! The demo scenarios: how the simulated green behaves during a cutover.
//! Words of the config (`[router.demo] scenario`) and of `cutover demo
//! --scenario`; the demo fleet (`crate::demo`) plays them.

use std::fmt;
use std::str::FromStr;

/// What the simulated candidate (green) does as it takes traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Green is slightly better than blue throughout.
    Healthy,
    /// Green is fine until it takes 25 %, then errors and latency climb.
    Degrading,
    /// Green's latency and errors are fine, but its quality drifts down.
    SlowQuality,
    /// Green never fails a request, but its time to first token triples.
    SlowFirstToken,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Scenario::Healthy,
        Scenario::Degrading,
        Scenario::SlowQuality,
        Scenario::SlowFirstToken,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Scenario::Healthy => "healthy",
            Scenario::Degrading => "degrading",
            Scenario::SlowQuality => "slow-quality",
            Scenario::SlowFirstToken => "slow-first-token",
        }
    }

    /// One line for the UI.
    pub fn describe(&self) -> &'static str {
        match self {
            Scenario::Healthy => "green is slightly faster and better than blue",
            Scenario::Degrading => {
                "green is fine until 25 %, then errors and p99 climb within ~15 s"
            }
            Scenario::SlowQuality => {
                "green is fast and error-free, but its quality drifts below blue's after ~3 s of traffic"
            }
            Scenario::SlowFirstToken => {
                "green never fails, but after ~2 s of traffic its time to first token is 3x blue's \
                 (p95 ~1 s against ~300 ms): the silent LLM regression"
            }
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| {
                let valid: Vec<&str> = Scenario::ALL.iter().map(|sc| sc.name()).collect();
                format!("unknown scenario {s:?}; valid: {}", valid.join(", "))
            })
    }
}

/// In the config (`[router.demo] scenario`), by the same names as on the
/// command line.
impl serde::Serialize for Scenario {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Scenario {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == name)
            .ok_or_else(|| {
                let valid: Vec<&str> = Scenario::ALL.iter().map(|sc| sc.name()).collect();
                serde::de::Error::custom(format!(
                    "`{name}` is not a scenario; choose one of {}",
                    valid.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn names_round_trip() {
        for sc in Scenario::ALL {
            assert_eq!(sc.name().parse::<Scenario>().unwrap(), sc);
            assert_eq!(sc.to_string(), sc.name());
            assert!(!sc.describe().is_empty());
            // clap's value names match ours.
            assert_eq!(
                <Scenario as ValueEnum>::from_str(sc.name(), false).unwrap(),
                sc
            );
        }
    }

    #[test]
    fn unknown_lists_valid() {
        let err = "flaky".parse::<Scenario>().unwrap_err();
        assert!(err.contains("flaky"));
        assert!(
            err.contains("healthy, degrading, slow-quality, slow-first-token"),
            "{err}"
        );
    }
}
