//! `[source]`: which topics to read, where to start and (optionally) stop.

use crate::serde_util::{closest, duration, list, one_of, string_enum};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// `[source]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceConfig {
    /// Topics to read (array or comma-separated). Exclusive with `topic_regex`.
    #[serde(deserialize_with = "list::deserialize")]
    pub topics: Vec<String>,
    /// Read every topic whose whole name matches this regular expression
    /// (new topics found at each discovery). Exclusive with `topics`.
    pub topic_regex: Option<String>,
    /// Where to start reading each partition.
    pub starting_offsets: StartingOffsets,
    /// Where to stop (bounded run); unset reads forever.
    pub stop_offsets: Option<StopOffsets>,
    /// How often to look for new partitions (and, with `topic_regex`, new
    /// topics). `0s` turns discovery off.
    #[serde(with = "duration")]
    pub partition_discovery_interval: Duration,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            topics: Vec::new(),
            topic_regex: None,
            starting_offsets: StartingOffsets::default(),
            stop_offsets: None,
            partition_discovery_interval: Duration::from_secs(60),
        }
    }
}

string_enum! {
    /// Where to start when no other position applies.
    pub enum OffsetReset {
        /// The first retained record.
        Earliest = "earliest",
        /// The end of the partition (only new records).
        Latest = "latest",
    }
    default = Earliest;
}

/// Per topic, per partition offsets: `{ orders = { 0 = 42, 1 = 17 } }`.
pub type PartitionOffsets = BTreeMap<String, BTreeMap<i32, i64>>;

/// A point in time, milliseconds since the Unix epoch. Written as RFC 3339
/// (`2024-05-01T00:00:00Z`) or as epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// Milliseconds since the Unix epoch (what Kafka's `offsets_for_times` takes).
    pub fn as_millis(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match chrono::DateTime::from_timestamp_millis(self.0) {
            Some(t) => f.write_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            None => write!(f, "{}", self.0),
        }
    }
}

impl std::str::FromStr for Timestamp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_timestamp(&Json::String(s.to_string()))
    }
}

/// `source.starting_offsets`.
///
/// ```toml
/// starting_offsets = "earliest"                 # from the beginning, ignoring commits
/// starting_offsets = "latest"                   # only new records
/// starting_offsets = "committed"                # the group's commits, else earliest
/// starting_offsets = { committed = "latest" }   # the group's commits, else latest
/// starting_offsets = { timestamp = "2024-05-01T00:00:00Z" }  # or epoch ms
/// starting_offsets = { offsets = { orders = { 0 = 42 } }, fallback = "earliest" }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartingOffsets {
    /// The first retained record of every partition, whatever was committed.
    Earliest,
    /// The end of every partition, whatever was committed.
    Latest,
    /// The consumer group's committed offsets; `fallback` where none exists.
    Committed {
        /// Where to start a partition with no committed offset.
        fallback: OffsetReset,
    },
    /// The first record at or after this time (the end where there is none).
    Timestamp(Timestamp),
    /// These exact offsets; `fallback` for partitions not listed.
    Specific {
        /// Topic → partition → offset.
        offsets: PartitionOffsets,
        /// Where to start a partition not listed.
        fallback: OffsetReset,
    },
}

impl Default for StartingOffsets {
    fn default() -> Self {
        StartingOffsets::Committed {
            fallback: OffsetReset::Earliest,
        }
    }
}

impl StartingOffsets {
    /// Reads the group's committed offsets.
    pub fn uses_committed(&self) -> bool {
        matches!(self, StartingOffsets::Committed { .. })
    }
}

/// `source.stop_offsets`: where a bounded run ends (exclusive).
///
/// ```toml
/// stop_offsets = "latest-at-start"          # the end offsets seen at start-up
/// stop_offsets = { timestamp = 1714521600000 }
/// stop_offsets = { offsets = { orders = { 0 = 1000 } } }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOffsets {
    /// The end of every partition as seen when the run starts.
    LatestAtStart,
    /// The first record at or after this time is not read.
    Timestamp(Timestamp),
    /// Stop before these offsets (topic → partition → offset).
    Specific(PartitionOffsets),
}

const STARTING_NAMES: &[&str] = &["earliest", "latest", "committed"];
const STARTING_KEYS: &[&str] = &["committed", "timestamp", "offsets", "fallback"];
const STOP_KEYS: &[&str] = &["timestamp", "offsets"];
/// How figment carries a TOML datetime value.
const TOML_DATETIME: &str = "$__toml_private_datetime";

fn parse_reset(value: &Json, what: &str) -> Result<OffsetReset, String> {
    match value {
        Json::String(s) => s.parse().map_err(|e| format!("{what}: {e}")),
        other => Err(format!(
            "{what}: expected `earliest` or `latest`, found {}",
            kind(other)
        )),
    }
}

fn kind(value: &Json) -> String {
    match value {
        Json::Null => "nothing".to_string(),
        Json::Bool(b) => format!("boolean `{b}`"),
        Json::Number(n) => format!("number `{n}`"),
        Json::String(s) => format!("string `{s}`"),
        Json::Array(_) => "a list".to_string(),
        Json::Object(_) => "a table".to_string(),
    }
}

fn non_negative(value: &Json) -> Option<i64> {
    match value {
        Json::Number(n) => n.as_i64().filter(|v| *v >= 0),
        Json::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    }
}

fn parse_timestamp(value: &Json) -> Result<Timestamp, String> {
    let text = match value {
        Json::Object(map) if map.len() == 1 => match map.get(TOML_DATETIME) {
            Some(Json::String(s)) => s.clone(),
            _ => {
                return Err(format!(
                    "invalid timestamp: expected RFC 3339 or epoch milliseconds, found {}",
                    kind(value)
                ));
            }
        },
        Json::String(s) => s.clone(),
        other => match non_negative(other) {
            Some(ms) => return Ok(Timestamp(ms)),
            None => {
                return Err(format!(
                    "invalid timestamp: expected RFC 3339 or epoch milliseconds, found {}",
                    kind(other)
                ));
            }
        },
    };
    if let Some(ms) = non_negative(&Json::String(text.trim().to_string())) {
        return Ok(Timestamp(ms));
    }
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| Timestamp(t.timestamp_millis()))
        .map_err(|e| {
            format!(
                "invalid timestamp `{text}`: {e} (expected RFC 3339 such as `2024-05-01T00:00:00Z`, or epoch milliseconds)"
            )
        })
}

fn parse_offsets(value: &Json) -> Result<PartitionOffsets, String> {
    let Json::Object(topics) = value else {
        return Err(format!(
            "offsets: expected a table of topic → {{ partition = offset }}, found {}",
            kind(value)
        ));
    };
    let mut result = PartitionOffsets::new();
    for (topic, partitions) in topics {
        let Json::Object(partitions) = partitions else {
            return Err(format!(
                "offsets.{topic}: expected a table of partition = offset, found {}",
                kind(partitions)
            ));
        };
        let entry = result.entry(topic.clone()).or_default();
        for (partition, offset) in partitions {
            let p = partition
                .trim()
                .parse::<i32>()
                .ok()
                .filter(|p| *p >= 0)
                .ok_or_else(|| {
                    format!(
                        "offsets.{topic}: partition `{partition}` is not a non-negative integer"
                    )
                })?;
            let o = non_negative(offset).ok_or_else(|| {
                format!(
                    "offsets.{topic}.{partition}: expected a non-negative offset, found {}",
                    kind(offset)
                )
            })?;
            entry.insert(p, o);
        }
    }
    Ok(result)
}

fn check_keys(
    map: &serde_json::Map<String, Json>,
    allowed: &[&str],
    what: &str,
) -> Result<(), String> {
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            let mut message = format!(
                "unknown key `{key}` in {what}, expected {}",
                one_of(allowed)
            );
            if let Some(best) = closest(key, allowed.iter().copied()) {
                message.push_str(&format!(" (did you mean `{best}`?)"));
            }
            return Err(message);
        }
    }
    Ok(())
}

impl StartingOffsets {
    fn from_json(value: &Json) -> Result<Self, String> {
        match value {
            Json::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "earliest" => Ok(StartingOffsets::Earliest),
                "latest" => Ok(StartingOffsets::Latest),
                "committed" => Ok(StartingOffsets::default()),
                _ => Err(format!(
                    "{}, or a table with `committed`, `timestamp` or `offsets`",
                    crate::serde_util::unknown_value(s, STARTING_NAMES)
                )),
            },
            Json::Object(map) => {
                check_keys(map, STARTING_KEYS, "starting offsets")?;
                let modes: Vec<&str> = ["committed", "timestamp", "offsets"]
                    .into_iter()
                    .filter(|k| map.contains_key(*k))
                    .collect();
                let fallback = map.get("fallback");
                match modes.as_slice() {
                    ["committed"] => {
                        if fallback.is_some() {
                            return Err("starting offsets: give the fallback as `{ committed = \"latest\" }`, not with `fallback`".to_string());
                        }
                        let committed = map.get("committed").unwrap_or(&Json::Null);
                        Ok(StartingOffsets::Committed {
                            fallback: parse_reset(committed, "committed")?,
                        })
                    }
                    ["timestamp"] => {
                        if fallback.is_some() {
                            return Err("starting offsets: `fallback` applies only to `offsets`"
                                .to_string());
                        }
                        Ok(StartingOffsets::Timestamp(parse_timestamp(
                            map.get("timestamp").unwrap_or(&Json::Null),
                        )?))
                    }
                    ["offsets"] => Ok(StartingOffsets::Specific {
                        offsets: parse_offsets(map.get("offsets").unwrap_or(&Json::Null))?,
                        fallback: match fallback {
                            Some(f) => parse_reset(f, "fallback")?,
                            None => OffsetReset::Earliest,
                        },
                    }),
                    [] => Err(
                        "starting offsets: expected one of `committed`, `timestamp` or `offsets`"
                            .to_string(),
                    ),
                    many => Err(format!(
                        "starting offsets: choose one of `committed`, `timestamp` or `offsets`, found {}",
                        many.join(" and ")
                    )),
                }
            }
            other => Err(format!(
                "expected {} or a table, found {}",
                one_of(STARTING_NAMES),
                kind(other)
            )),
        }
    }
}

impl StopOffsets {
    fn from_json(value: &Json) -> Result<Self, String> {
        match value {
            Json::String(s) => match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "latest-at-start" | "latest" => Ok(StopOffsets::LatestAtStart),
                _ => Err(format!(
                    "{}, or a table with `timestamp` or `offsets`",
                    crate::serde_util::unknown_value(s, &["latest-at-start"])
                )),
            },
            Json::Object(map) => {
                check_keys(map, STOP_KEYS, "stop offsets")?;
                match (map.get("timestamp"), map.get("offsets")) {
                    (Some(t), None) => Ok(StopOffsets::Timestamp(parse_timestamp(t)?)),
                    (None, Some(o)) => Ok(StopOffsets::Specific(parse_offsets(o)?)),
                    (Some(_), Some(_)) => Err(
                        "stop offsets: choose one of `timestamp` or `offsets`, found both"
                            .to_string(),
                    ),
                    (None, None) => {
                        Err("stop offsets: expected `timestamp` or `offsets`".to_string())
                    }
                }
            }
            other => Err(format!(
                "expected `latest-at-start` or a table, found {}",
                kind(other)
            )),
        }
    }
}

struct OffsetsRef<'a>(&'a PartitionOffsets);

impl Serialize for OffsetsRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut topics = serializer.serialize_map(Some(self.0.len()))?;
        for (topic, partitions) in self.0 {
            let as_strings: BTreeMap<String, i64> = partitions
                .iter()
                .map(|(p, o)| (p.to_string(), *o))
                .collect();
            topics.serialize_entry(topic, &as_strings)?;
        }
        topics.end()
    }
}

impl Serialize for StartingOffsets {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            StartingOffsets::Earliest => serializer.serialize_str("earliest"),
            StartingOffsets::Latest => serializer.serialize_str("latest"),
            StartingOffsets::Committed { fallback } => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("committed", fallback)?;
                map.end()
            }
            StartingOffsets::Timestamp(t) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("timestamp", &t.to_string())?;
                map.end()
            }
            StartingOffsets::Specific { offsets, fallback } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("fallback", fallback)?;
                map.serialize_entry("offsets", &OffsetsRef(offsets))?;
                map.end()
            }
        }
    }
}

impl Serialize for StopOffsets {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            StopOffsets::LatestAtStart => serializer.serialize_str("latest-at-start"),
            StopOffsets::Timestamp(t) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("timestamp", &t.to_string())?;
                map.end()
            }
            StopOffsets::Specific(offsets) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("offsets", &OffsetsRef(offsets))?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for StartingOffsets {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Json::deserialize(deserializer)?;
        StartingOffsets::from_json(&value).map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for StopOffsets {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Json::deserialize(deserializer)?;
        StopOffsets::from_json(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn start(v: Json) -> Result<StartingOffsets, String> {
        StartingOffsets::from_json(&v)
    }

    #[test]
    fn starting_offsets_accept_every_documented_form() {
        assert_eq!(start(json!("earliest")), Ok(StartingOffsets::Earliest));
        assert_eq!(start(json!("LATEST")), Ok(StartingOffsets::Latest));
        assert_eq!(
            start(json!("committed")),
            Ok(StartingOffsets::Committed {
                fallback: OffsetReset::Earliest
            })
        );
        assert_eq!(
            start(json!({"committed": "latest"})),
            Ok(StartingOffsets::Committed {
                fallback: OffsetReset::Latest
            })
        );
        assert_eq!(
            start(json!({"timestamp": "2024-05-01T00:00:00Z"})),
            Ok(StartingOffsets::Timestamp(Timestamp(1_714_521_600_000)))
        );
        assert_eq!(
            start(json!({"timestamp": "2024-05-01T02:00:00.250+02:00"})),
            Ok(StartingOffsets::Timestamp(Timestamp(1_714_521_600_250)))
        );
        assert_eq!(
            start(json!({"timestamp": 1_714_521_600_000_i64})),
            Ok(StartingOffsets::Timestamp(Timestamp(1_714_521_600_000)))
        );
        assert_eq!(
            start(json!({"timestamp": "1714521600000"})),
            Ok(StartingOffsets::Timestamp(Timestamp(1_714_521_600_000)))
        );
        let specific =
            start(json!({"offsets": {"orders": {"0": 42, "3": "7"}}, "fallback": "latest"}))
                .unwrap();
        assert_eq!(
            specific,
            StartingOffsets::Specific {
                offsets: BTreeMap::from([(
                    "orders".to_string(),
                    BTreeMap::from([(0, 42), (3, 7)])
                )]),
                fallback: OffsetReset::Latest,
            }
        );
    }

    #[test]
    fn starting_offsets_errors_say_what_is_wrong() {
        assert_eq!(
            start(json!("earliset")).unwrap_err(),
            "unknown value `earliset`, expected one of `earliest`, `latest`, `committed` (did you mean `earliest`?), or a table with `committed`, `timestamp` or `offsets`"
        );
        assert_eq!(
            start(json!({"timestamp": 1, "offsets": {}})).unwrap_err(),
            "starting offsets: choose one of `committed`, `timestamp` or `offsets`, found timestamp and offsets"
        );
        assert_eq!(
            start(json!({"comitted": "latest"})).unwrap_err(),
            "unknown key `comitted` in starting offsets, expected one of `committed`, `timestamp`, `offsets`, `fallback` (did you mean `committed`?)"
        );
        assert_eq!(
            start(json!({"offsets": {"orders": {"x": 1}}})).unwrap_err(),
            "offsets.orders: partition `x` is not a non-negative integer"
        );
        assert_eq!(
            start(json!({"offsets": {"orders": {"0": -5}}})).unwrap_err(),
            "offsets.orders.0: expected a non-negative offset, found number `-5`"
        );
        assert!(
            start(json!({"timestamp": "yesterday"}))
                .unwrap_err()
                .starts_with("invalid timestamp `yesterday`: ")
        );
    }

    #[test]
    fn stop_offsets_forms_and_round_trip() {
        for (input, expected) in [
            (json!("latest-at-start"), StopOffsets::LatestAtStart),
            (
                json!({"timestamp": 5}),
                StopOffsets::Timestamp(Timestamp(5)),
            ),
            (
                json!({"offsets": {"t": {"1": 10}}}),
                StopOffsets::Specific(BTreeMap::from([(
                    "t".to_string(),
                    BTreeMap::from([(1, 10)]),
                )])),
            ),
        ] {
            let parsed = StopOffsets::from_json(&input).unwrap();
            assert_eq!(parsed, expected);
            let back = serde_json::to_value(&parsed).unwrap();
            assert_eq!(StopOffsets::from_json(&back).unwrap(), expected);
        }
        for value in [
            StartingOffsets::Earliest,
            StartingOffsets::default(),
            StartingOffsets::Timestamp(Timestamp(1_714_521_600_123)),
            StartingOffsets::Specific {
                offsets: BTreeMap::from([("a.b".to_string(), BTreeMap::from([(0, 1)]))]),
                fallback: OffsetReset::Latest,
            },
        ] {
            let back = serde_json::to_value(&value).unwrap();
            assert_eq!(StartingOffsets::from_json(&back).unwrap(), value, "{back}");
        }
    }
}
