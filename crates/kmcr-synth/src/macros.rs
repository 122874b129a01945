//! `object!` and `array!`: build a [`crate::json::Json`] tree by moving values in, with JSON-like syntax.

/// A JSON object from `"key": value` pairs; each value is anything `Json::from` accepts.
macro_rules! object {
    ($($key:literal : $value:expr),* $(,)?) => {
        $crate::json::Json::Object(vec![$(($key, $crate::json::Json::from($value))),*])
    };
}

/// A JSON array of values, each anything `Json::from` accepts.
macro_rules! array {
    ($($value:expr),* $(,)?) => {
        $crate::json::Json::Array(vec![$($crate::json::Json::from($value)),*])
    };
}
