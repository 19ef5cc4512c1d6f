//! Durations in the settings file: a whole number of seconds, or a string in Go's syntax
//! (`crate::duration`, the one parser).

use std::time::Duration;

use serde::Deserialize;

pub use crate::duration::{SYNTAX, format, parse};

/// A duration in the settings file: a whole number of seconds, or a string in Go's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileDuration(pub Duration);

impl<'de> Deserialize<'de> for FileDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(i64),
            Text(String),
        }
        match Raw::deserialize(d) {
            Ok(Raw::Secs(n)) if n >= 0 => Ok(FileDuration(Duration::from_secs(n as u64))),
            Ok(Raw::Secs(n)) => Err(serde::de::Error::custom(format!(
                "{n}: negative ({SYNTAX})"
            ))),
            Ok(Raw::Text(t)) => parse(&t)
                .map(FileDuration)
                .map_err(serde::de::Error::custom),
            Err(_) => Err(serde::de::Error::custom(format!(
                "not a duration ({SYNTAX})"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_the_file_a_number_of_seconds_or_a_string() {
        #[derive(Deserialize)]
        struct T {
            d: FileDuration,
        }
        let d = |t: &str| {
            toml::from_str::<T>(t)
                .map(|t| t.d.0)
                .map_err(|e| e.message().to_string())
        };
        assert_eq!(d("d = 10"), Ok(Duration::from_secs(10)));
        assert_eq!(d("d = \"1m30s\""), Ok(Duration::from_secs(90)));
        assert_eq!(d("d = \"10\""), Ok(Duration::from_secs(10)));
        assert_eq!(d("d = -1"), Err(format!("-1: negative ({SYNTAX})")));
        assert_eq!(
            d("d = \"soon\""),
            Err(format!("\"soon\": not a duration ({SYNTAX})"))
        );
        assert_eq!(d("d = true"), Err(format!("not a duration ({SYNTAX})")));
    }
}
