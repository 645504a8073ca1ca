//! Serde helpers shared by the sections: closed-set string enums, humantime
//! durations, byte sizes, lists given as arrays or comma-separated strings,
//! and the "did you mean" suggestion.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serializer};
use std::fmt;

/// The closest candidate to `word` (case-insensitive Jaro-Winkler), if it
/// is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
pub fn one_of(values: &[&str]) -> String {
    match values {
        [] => "nothing".to_string(),
        [one] => format!("`{one}`"),
        [a, b] => format!("`{a}` or `{b}`"),
        many => {
            let quoted: Vec<String> = many.iter().map(|v| format!("`{v}`")).collect();
            format!("one of {}", quoted.join(", "))
        }
    }
}

/// The message for a value outside a closed set.
pub(crate) fn unknown_value(found: &str, values: &[&str]) -> String {
    let mut message = format!("unknown value `{found}`, expected {}", one_of(values));
    if let Some(best) = closest(found, values.iter().copied()) {
        message.push_str(&format!(" (did you mean `{best}`?)"));
    }
    message
}

/// Spelling-insensitive comparison for enum values: case and `-`/`_` ignored.
pub(crate) fn normalize(value: &str) -> String {
    value.trim().to_ascii_lowercase().replace('_', "-")
}

/// Declares a closed set of string values: the enum, `VALUES`, `as_str`,
/// `Display`, `FromStr` (case-insensitive, `-` and `_` interchangeable, the
/// error suggests the closest value), `Default`, `Serialize`, `Deserialize`.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
        default = $default:ident;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every accepted spelling, canonical form.
            pub const VALUES: &'static [&'static str] = &[$($text),+];

            /// The canonical spelling (what `config show` prints).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                let wanted = $crate::serde_util::normalize(s);
                $(
                    if wanted == $crate::serde_util::normalize($text) {
                        return Ok(Self::$variant);
                    }
                )+
                Err($crate::serde_util::unknown_value(s, Self::VALUES))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct EnumVisitor;
                impl serde::de::Visitor<'_> for EnumVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(&$crate::serde_util::one_of($name::VALUES))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(EnumVisitor)
            }
        }
    };
}
pub(crate) use string_enum;

/// `Duration` as a humantime string: `500ms`, `60s`, `5m`, `1h 30m`.
pub(crate) mod duration {
    use super::*;
    use std::time::Duration;

    pub(crate) fn parse(text: &str) -> Result<Duration, String> {
        humantime::parse_duration(text.trim())
            .map_err(|e| format!("invalid duration `{text}`: {e} (examples: `500ms`, `60s`, `5m`)"))
    }

    pub(crate) fn format(value: Duration) -> String {
        humantime::format_duration(value).to_string()
    }

    pub(crate) fn serialize<S: Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(*value))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as `500ms` or `60s`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "invalid duration `{v}`: a unit is required (for example `{v}ms` or `{v}s`)"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "invalid duration `{v}`: a unit is required (for example `{v}ms` or `{v}s`)"
                )))
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// A byte count given as an integer or a size string: `1MiB`, `64 KiB`, `1MB`.
pub(crate) mod size {
    use super::*;

    const UNITS: &[(u64, &str)] = &[
        (1 << 30, "GiB"),
        (1_000_000_000, "GB"),
        (1 << 20, "MiB"),
        (1_000_000, "MB"),
        (1 << 10, "KiB"),
        (1_000, "KB"),
    ];

    pub(crate) fn parse(text: &str) -> Result<u64, String> {
        text.trim()
            .parse::<bytesize::ByteSize>()
            .map(|size| size.as_u64())
            .map_err(|e| {
                format!("invalid size `{text}`: {e} (examples: `1MiB`, `512KiB`, `1048576`)")
            })
    }

    /// The exact, shortest unit spelling: `1MiB`, `1MB`, `1234B`.
    pub(crate) fn format(bytes: u64) -> String {
        UNITS
            .iter()
            .find(|(unit, _)| bytes != 0 && bytes.is_multiple_of(*unit))
            .map(|(unit, name)| format!("{}{name}", bytes / unit))
            .unwrap_or_else(|| format!("{bytes}B"))
    }

    pub(crate) fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(*value))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = u64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as `1MiB` or a number of bytes")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("invalid size `{v}`: must not be negative")))
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// A list of strings, given as an array, a JSON array string
/// (`["a:9092","b:9092"]`) or a comma-separated string (`a:9092,b:9092`).
pub(crate) mod list {
    use super::*;

    pub(crate) fn parse(text: &str) -> Result<Vec<String>, String> {
        let trimmed = text.trim();
        if trimmed.starts_with('[') {
            return serde_json::from_str::<Vec<String>>(trimmed)
                .map_err(|e| format!("invalid JSON array of strings `{text}`: {e}"));
        }
        Ok(trimmed
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_string)
            .collect())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of strings or a comma-separated string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
                parse(v).map_err(E::custom)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Scalar>()? {
                    items.push(item.0);
                }
                Ok(items)
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

/// A string, or a number or boolean turned into its string form (librdkafka
/// property values, list items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar(pub(crate) String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_parse_and_print_humantime() {
        assert_eq!(
            duration::parse("500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(duration::parse("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(duration::format(Duration::from_secs(90)), "1m 30s");
        assert_eq!(duration::parse("1m 30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            duration::parse("5x").unwrap_err(),
            "invalid duration `5x`: unknown time unit \"x\", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations) (examples: `500ms`, `60s`, `5m`)"
        );
    }

    #[test]
    fn sizes_parse_units_and_print_exactly() {
        assert_eq!(size::parse("1MiB").unwrap(), 1 << 20);
        assert_eq!(size::parse("64 KiB").unwrap(), 64 << 10);
        assert_eq!(size::parse("1MB").unwrap(), 1_000_000);
        assert_eq!(size::parse("1048576").unwrap(), 1 << 20);
        assert_eq!(size::format(1 << 20), "1MiB");
        assert_eq!(size::format(52_428_800), "50MiB");
        assert_eq!(size::format(1_000_000), "1MB");
        assert_eq!(size::format(1234), "1234B");
        assert_eq!(size::format(0), "0B");
        for bytes in [0, 1, 1234, 1 << 20, 1_000_000, 65_536_000, 3 << 30] {
            assert_eq!(size::parse(&size::format(bytes)).unwrap(), bytes);
        }
        assert!(
            size::parse("1XB")
                .unwrap_err()
                .starts_with("invalid size `1XB`: ")
        );
    }

    #[test]
    fn lists_accept_commas_and_json_arrays() {
        assert_eq!(
            list::parse("a:9092, b:9092,").unwrap(),
            vec!["a:9092", "b:9092"]
        );
        assert_eq!(
            list::parse(r#"["a:9092","b:9092"]"#).unwrap(),
            vec!["a:9092", "b:9092"]
        );
        assert_eq!(list::parse("").unwrap(), Vec::<String>::new());
        assert!(
            list::parse("[a")
                .unwrap_err()
                .starts_with("invalid JSON array of strings `[a`: ")
        );
    }

    #[test]
    fn suggestions_pick_the_closest_typo() {
        assert_eq!(
            closest("brokerz", ["brokers", "client_id"]),
            Some("brokers")
        );
        assert_eq!(closest("zzz", ["brokers", "client_id"]), None);
        assert_eq!(one_of(&["a", "b"]), "`a` or `b`");
        assert_eq!(one_of(&["a", "b", "c"]), "one of `a`, `b`, `c`");
    }
}
