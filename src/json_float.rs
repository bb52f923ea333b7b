//! JSON numbers that may not be finite. JSON has no NaN or infinity (serde_json writes them as
//! `null`, and a `null` loss reads back as nothing); a field marked
//! `#[serde(with = "crate::json_float")]` writes them as the strings `"NaN"`, `"inf"` and
//! `"-inf"` and reads numbers and those strings, so a history keeps exactly what happened.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JSON value of a maybe non-finite number.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Value {
    Number(f64),
    Text(String),
}

/// Writes `value`: a number when finite, else its name.
pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(*value)
    } else {
        serializer.serialize_str(&value.to_string())
    }
}

/// Reads a number, or `"NaN"`, `"inf"` or `"-inf"`.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Number(number) => Ok(number),
        Value::Text(text) => match text.as_str() {
            "NaN" | "inf" | "-inf" => text.parse().map_err(serde::de::Error::custom),
            other => Err(serde::de::Error::custom(format!(
                "expected a number, \"NaN\", \"inf\" or \"-inf\", found \"{other}\""
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize)]
    struct Loss {
        #[serde(with = "super")]
        loss: f64,
    }

    #[test]
    fn non_finite_values_round_trip_as_their_names_and_finite_ones_as_numbers() {
        for (value, json) in [
            (f64::NAN, r#"{"loss":"NaN"}"#),
            (f64::INFINITY, r#"{"loss":"inf"}"#),
            (f64::NEG_INFINITY, r#"{"loss":"-inf"}"#),
            (0.125, r#"{"loss":0.125}"#),
        ] {
            let text = serde_json::to_string(&Loss { loss: value }).unwrap();
            assert_eq!(text, json);
            let back: Loss = serde_json::from_str(&text).unwrap();
            assert_eq!(back.loss.to_bits(), value.to_bits(), "{json}");
        }
        assert!(serde_json::from_str::<Loss>(r#"{"loss":"much"}"#).is_err());
    }
}
