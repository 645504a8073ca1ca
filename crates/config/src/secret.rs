//! [`Secret`]: a string that never prints itself.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// What [`Secret`] prints instead of its value (`Debug`, `Display`, `Serialize`).
pub const REDACTED: &str = "***";

/// A password, token or key password.
///
/// `Debug`, `Display` and `Serialize` (so `kbridge config show`, logs and
/// error messages) print `***`; the value is read only through
/// [`Secret::expose`], at the one place that sends it (a librdkafka property,
/// an HTTP header). Deserializing a non-string value fails with a message that
/// does not echo the value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Call it only where the value is handed to the
    /// system that needs it, never to build log or error text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `true` when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;

        /// The message for a wrong type: names the type, never the value.
        fn wrong<E: de::Error>(found: &str) -> E {
            E::custom(format!(
                "expected a string, found {found} (value not shown: this key holds a secret)"
            ))
        }

        impl<'v> Visitor<'v> for SecretVisitor {
            type Value = Secret;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
                Ok(Secret(v))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
                Err(wrong("a boolean"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
                Err(wrong("a number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
                Err(wrong("a number"))
            }
            fn visit_i128<E: de::Error>(self, _: i128) -> Result<Secret, E> {
                Err(wrong("a number"))
            }
            fn visit_u128<E: de::Error>(self, _: u128) -> Result<Secret, E> {
                Err(wrong("a number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
                Err(wrong("a number"))
            }
            fn visit_char<E: de::Error>(self, _: char) -> Result<Secret, E> {
                Err(wrong("a character"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Secret, E> {
                Err(wrong("nothing"))
            }
            fn visit_seq<A: de::SeqAccess<'v>>(self, _: A) -> Result<Secret, A::Error> {
                Err(wrong("a list"))
            }
            fn visit_map<A: de::MapAccess<'v>>(self, _: A) -> Result<Secret, A::Error> {
                Err(wrong("a table"))
            }
        }

        deserializer.deserialize_any(SecretVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_display_and_serialize_never_print_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(serde_json::to_string(&secret).unwrap(), r#""***""#);
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            password: Option<Secret>,
        }
        let holder = Holder {
            password: Some(secret.clone()),
        };
        assert_eq!(format!("{holder:?}"), "Holder { password: Some(***) }");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn wrong_type_errors_do_not_echo_the_value() {
        let err = serde_json::from_str::<Secret>("123456").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("123456"), "{text}");
        assert!(
            text.starts_with(
                "expected a string, found a number (value not shown: this key holds a secret)"
            ),
            "{text}"
        );
        assert_eq!(
            serde_json::from_str::<Secret>(r#""s3cret""#)
                .unwrap()
                .expose(),
            "s3cret"
        );
    }
}
