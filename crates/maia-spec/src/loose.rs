//! The original toolkit read its configs with Python and so accepted a number or a
//! string in many places (`"ports": {"web": ["8080"]}`, `"gpu_request": 1`,
//! `"deployment": true`). These types accept both and keep the text, so validation
//! can say exactly what was written.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};

/// What a loose scalar was written as, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    String,
    Number,
    Bool,
}

macro_rules! loose_scalar {
    ($(#[$doc:meta])* $name:ident, $expecting:literal, $accept_bool:literal, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(crate) struct $name {
            pub(crate) text: String,
            pub(crate) written: Written,
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name { text: v.to_string(), written: Written::String })
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        Ok($name { text: v.to_string(), written: Written::Number })
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        Ok($name { text: v.to_string(), written: Written::Number })
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$name, E> {
                        Ok($name { text: v.to_string(), written: Written::Number })
                    }
                    fn visit_bool<E: de::Error>(self, v: bool) -> Result<$name, E> {
                        if $accept_bool {
                            Ok($name { text: v.to_string(), written: Written::Bool })
                        } else {
                            Err(E::invalid_type(de::Unexpected::Bool(v), &self))
                        }
                    }
                }
                d.deserialize_any(V)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.text)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

loose_scalar!(
    /// A string, or a number written without quotes (ports, counts, quantities).
    StringOrNumber,
    "a number or a string",
    false,
    json_schema!({"type": ["string", "number"]})
);

loose_scalar!(
    /// Text for an environment variable or a flag: strings, numbers and booleans all
    /// become their text.
    Text,
    "a string, number or boolean",
    true,
    json_schema!({"type": ["string", "number", "boolean"]})
);

loose_scalar!(
    /// `true`/`false`, also written as the strings `"true"`/`"false"`.
    StringOrBool,
    "a boolean or the string \"true\"/\"false\"",
    true,
    json_schema!({"anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false", "True", "False"]}]})
);

/// A loose value as it appeared in the file: `"4GB"` for a string, `4` for a number.
fn shown(text: &str, written: Written) -> String {
    match written {
        Written::String => format!("{text:?}"),
        _ => text.to_string(),
    }
}

impl StringOrBool {
    /// The value as it appeared in the file, for messages.
    pub(crate) fn shown(&self) -> String {
        shown(&self.text, self.written)
    }

    /// `true` or `false` (any case), else `None`.
    pub(crate) fn parse(&self) -> Option<bool> {
        match self.text.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
}

impl StringOrNumber {
    /// The value as it appeared in the file, for messages.
    pub(crate) fn shown(&self) -> String {
        shown(&self.text, self.written)
    }

    /// The value as a whole number, if it is one.
    pub(crate) fn as_u64(&self) -> Option<u64> {
        self.text.trim().parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_numbers_and_strings_and_remembers_which() {
        let n: StringOrNumber = serde_json::from_str("8080").unwrap();
        assert_eq!((n.text.as_str(), n.written), ("8080", Written::Number));
        let s: StringOrNumber = serde_json::from_str("\"8080\"").unwrap();
        assert_eq!((s.text.as_str(), s.written), ("8080", Written::String));
        assert_eq!(s.shown(), "\"8080\"");
        assert!(serde_json::from_str::<StringOrNumber>("true").is_err());
        let b: StringOrBool = serde_json::from_str("\"True\"").unwrap();
        assert_eq!(b.parse(), Some(true));
        let t: Text = serde_json::from_str("false").unwrap();
        assert_eq!(t.text, "false");
    }
}
