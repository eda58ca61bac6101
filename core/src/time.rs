//! Timestamps. The core never reads a clock: hosts pass `now` in.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// A point in time as milliseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_unix_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    pub fn plus_millis(self, millis: i64) -> Self {
        Timestamp(self.0.saturating_add(millis))
    }

    /// Parses any RFC 3339 timestamp (any offset) and converts it to UTC.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        let millis = parsed.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(millis).ok().map(Timestamp)
    }

    /// RFC 3339 in UTC with exactly three fractional digits, as the contract asks.
    pub fn to_rfc3339(self) -> String {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .ok()
            .and_then(|t| t.format(&format).ok())
            .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_string())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TimestampVisitor)
    }
}

/// Parses the text where it lies (no allocation per timestamp: index documents hold many).
struct TimestampVisitor;

impl serde::de::Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
        Timestamp::parse_rfc3339(text).ok_or_else(|| {
            E::custom(format!(
                "invalid timestamp '{text}', expected RFC 3339 such as 2026-01-31T12:00:00.000Z"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_from_json_text_escaped_or_not_and_names_bad_input() {
        let plain: Timestamp = serde_json::from_str(r#""2026-01-31T12:00:00.000Z""#).unwrap();
        let escaped: Timestamp =
            serde_json::from_str(r#""\u0032026-01-31T12:00:00.000Z""#).unwrap();
        assert_eq!(plain, escaped);
        assert_eq!(plain.to_rfc3339(), "2026-01-31T12:00:00.000Z");
        let error = serde_json::from_str::<Timestamp>(r#""yesterday""#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("invalid timestamp 'yesterday'"), "{error}");
        assert!(serde_json::from_str::<Timestamp>("17").is_err());
    }

    #[test]
    fn formats_with_milliseconds_in_utc() {
        assert_eq!(
            Timestamp::from_unix_millis(1_764_331_200_007).to_rfc3339(),
            "2025-11-28T12:00:00.007Z"
        );
        assert_eq!(
            Timestamp::default().to_rfc3339(),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn parses_offsets_into_utc() {
        let t = Timestamp::parse_rfc3339("2025-11-28T13:00:00.007+01:00").unwrap();
        assert_eq!(t, Timestamp::from_unix_millis(1_764_331_200_007));
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }
}
