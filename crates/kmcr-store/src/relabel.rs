//! Sensitivity labels worked out again at open, when the code rules configured are not those the stored items were
//! labelled under (or they never were: a store written before labels existed). Each current item's labels and codes
//! are read from its JSON; what is found is added to what the item had (labels are never taken away, so that an item
//! once sealed stays sealed).

/// Items labelled per transaction.
pub const BATCH_SIZE: i64 = 500;

/// The sensitivity bits of a stored body under `rules`, or `None` when it does not parse.
pub fn sensitivity_of_body(body: &str, rules: &kmcr_access::CodeRules) -> Option<i64> {
    let resource: serde_json::Value = serde_json::from_str(body).ok()?;
    Some(kmcr_access::sensitivity_of(&resource, rules).bits())
}
