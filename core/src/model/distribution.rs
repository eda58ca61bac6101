//! How a team's queue is served: by outside programs (`Manual`, the vendor's behaviour) or by
//! the service itself (`Automatic`), with the times that drive automatic distribution.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DistributionMode {
    /// Tasks wait until a client offers them (every client written for the vendor's API).
    #[default]
    Manual,
    /// The service offers each waiting task to the longest-idle available member.
    Automatic,
}

/// A team's distribution settings; every field has a default, so a team stored or sent
/// without them is a Manual team with the defaults below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Distribution {
    #[serde(default)]
    pub mode: DistributionMode,
    /// How long an automatic offer rings before it goes back to the queue (RONA).
    #[serde(
        default = "Distribution::default_ring_timeout",
        deserialize_with = "whole_seconds"
    )]
    pub ring_timeout_seconds: u32,
    /// After-call work: how long an agent gets no offer after a task of theirs ended.
    #[serde(default, deserialize_with = "whole_seconds")]
    pub wrap_up_seconds: u32,
    /// How long an agent who let an offer ring out stays NotResponding (no offers).
    #[serde(
        default = "Distribution::default_not_responding_reset",
        deserialize_with = "whole_seconds"
    )]
    pub not_responding_reset_seconds: u32,
    /// The team's service level target: a call answered within this many seconds of its
    /// arrival counts as answered in time (team statistics).
    #[serde(
        default = "Distribution::default_service_level_threshold",
        deserialize_with = "whole_seconds"
    )]
    pub service_level_threshold_seconds: u32,
}

/// A number of seconds: a whole number, also written as `20.0` (JSON Schema's `integer` allows
/// it, so generated clients may send it); anything else is refused naming the field.
pub(crate) fn whole_seconds<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Whole(u64),
        Float(f64),
    }
    let whole = match Number::deserialize(deserializer)? {
        Number::Whole(n) => u32::try_from(n).ok(),
        Number::Float(f) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => {
            Some(f as u32)
        }
        Number::Float(_) => None,
    };
    whole.ok_or_else(|| serde::de::Error::custom("a whole number of seconds is required"))
}

impl Distribution {
    /// 20 s: about four rings, the common default of contact-center systems (Genesys, Webex);
    /// long enough to reach the answer button, short enough that a caller is not kept waiting.
    pub const DEFAULT_RING_TIMEOUT_SECONDS: u32 = 20;
    /// 600 s: Luware Nimbus's default reset time; an agent who walked away gets no calls for
    /// ten minutes unless they say they are back.
    pub const DEFAULT_NOT_RESPONDING_RESET_SECONDS: u32 = 600;
    pub const RING_TIMEOUT_RANGE: (u32, u32) = (5, 300);
    pub const WRAP_UP_RANGE: (u32, u32) = (0, 3600);
    pub const NOT_RESPONDING_RESET_RANGE: (u32, u32) = (10, 28_800);
    /// 20 s: the industry's classic target ("80 % of calls answered within 20 s").
    pub const DEFAULT_SERVICE_LEVEL_THRESHOLD_SECONDS: u32 = 20;
    pub const SERVICE_LEVEL_THRESHOLD_RANGE: (u32, u32) = (1, 600);

    fn default_service_level_threshold() -> u32 {
        Self::DEFAULT_SERVICE_LEVEL_THRESHOLD_SECONDS
    }

    fn default_ring_timeout() -> u32 {
        Self::DEFAULT_RING_TIMEOUT_SECONDS
    }

    fn default_not_responding_reset() -> u32 {
        Self::DEFAULT_NOT_RESPONDING_RESET_SECONDS
    }

    pub fn is_automatic(&self) -> bool {
        self.mode == DistributionMode::Automatic
    }

    pub fn ring_timeout_millis(&self) -> i64 {
        i64::from(self.ring_timeout_seconds) * 1000
    }

    pub fn wrap_up_millis(&self) -> i64 {
        i64::from(self.wrap_up_seconds) * 1000
    }

    pub fn not_responding_reset_millis(&self) -> i64 {
        i64::from(self.not_responding_reset_seconds) * 1000
    }

    /// What is wrong with these settings, one sentence per field out of range.
    pub fn problems(&self) -> Vec<String> {
        let fields = [
            (
                "RingTimeoutSeconds",
                self.ring_timeout_seconds,
                Self::RING_TIMEOUT_RANGE,
            ),
            ("WrapUpSeconds", self.wrap_up_seconds, Self::WRAP_UP_RANGE),
            (
                "NotRespondingResetSeconds",
                self.not_responding_reset_seconds,
                Self::NOT_RESPONDING_RESET_RANGE,
            ),
            (
                "ServiceLevelThresholdSeconds",
                self.service_level_threshold_seconds,
                Self::SERVICE_LEVEL_THRESHOLD_RANGE,
            ),
        ];
        fields
            .into_iter()
            .filter(|(_, value, (low, high))| value < low || value > high)
            .map(|(name, value, (low, high))| {
                format!("Distribution.{name} is {value}; it must be {low} to {high}.")
            })
            .collect()
    }
}

impl Default for Distribution {
    fn default() -> Self {
        Distribution {
            mode: DistributionMode::Manual,
            ring_timeout_seconds: Self::DEFAULT_RING_TIMEOUT_SECONDS,
            wrap_up_seconds: 0,
            not_responding_reset_seconds: Self::DEFAULT_NOT_RESPONDING_RESET_SECONDS,
            service_level_threshold_seconds: Self::DEFAULT_SERVICE_LEVEL_THRESHOLD_SECONDS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_settings_are_a_manual_team_with_the_documented_defaults() {
        let parsed: Result<Distribution, _> = serde_json::from_str("{}");
        assert_eq!(
            parsed.ok(),
            Some(Distribution {
                mode: DistributionMode::Manual,
                ring_timeout_seconds: 20,
                wrap_up_seconds: 0,
                not_responding_reset_seconds: 600,
                service_level_threshold_seconds: 20,
            })
        );
    }

    #[test]
    fn seconds_are_whole_numbers_also_written_with_a_zero_fraction() {
        let parsed = |text: &str| serde_json::from_str::<Distribution>(text).ok();
        assert_eq!(
            parsed(r#"{"RingTimeoutSeconds": 53.0}"#).map(|d| d.ring_timeout_seconds),
            Some(53)
        );
        assert_eq!(
            parsed(r#"{"WrapUpSeconds": 30}"#).map(|d| d.wrap_up_seconds),
            Some(30)
        );
        for refused in [
            r#"{"RingTimeoutSeconds": 20.5}"#,
            r#"{"RingTimeoutSeconds": -1}"#,
            r#"{"RingTimeoutSeconds": "20"}"#,
            r#"{"RingTimeoutSeconds": 4294967296}"#,
            r#"{"Mode": "Sometimes"}"#,
            r#"{"Ring": 20}"#,
        ] {
            assert_eq!(parsed(refused), None, "{refused}");
        }
    }

    #[test]
    fn settings_out_of_range_are_named() {
        let settings = Distribution {
            mode: DistributionMode::Automatic,
            ring_timeout_seconds: 4,
            wrap_up_seconds: 3601,
            not_responding_reset_seconds: 9,
            service_level_threshold_seconds: 601,
        };
        assert_eq!(
            settings.problems(),
            vec![
                "Distribution.RingTimeoutSeconds is 4; it must be 5 to 300.".to_string(),
                "Distribution.WrapUpSeconds is 3601; it must be 0 to 3600.".to_string(),
                "Distribution.NotRespondingResetSeconds is 9; it must be 10 to 28800.".to_string(),
                "Distribution.ServiceLevelThresholdSeconds is 601; it must be 1 to 600."
                    .to_string(),
            ]
        );
        let edges = Distribution {
            mode: DistributionMode::Automatic,
            ring_timeout_seconds: 300,
            wrap_up_seconds: 0,
            not_responding_reset_seconds: 28_800,
            service_level_threshold_seconds: 1,
        };
        assert!(edges.problems().is_empty());
    }
}
