//! The condition on one index row for one searched value, for every type of value but composites (`composite.rs`).

use kmcr_fhir_search::{CriterionValue, Modifier, Prefix};

use super::SqlBuilder;
use crate::StoreError;

/// The condition on the index row `row` (a table alias) for one searched value, under `modifier`. `targets` are the
/// types a reference parameter may point to.
pub(super) fn value_condition(
    builder: &mut SqlBuilder,
    row: &str,
    modifier: Option<Modifier>,
    value: &CriterionValue,
    targets: &[&str],
) -> Result<String, StoreError> {
    Ok(match value {
        CriterionValue::Token { .. } | CriterionValue::String(_) if modifier == Some(Modifier::Text) => {
            let text = match value {
                CriterionValue::Token { code: Some(code), .. } => code.clone(),
                CriterionValue::String(text) => text.clone(),
                _ => return Err(StoreError::UnsupportedSearch(":text needs text".into())),
            };
            let pattern = builder.text(&format!("%{}%", escape_like(&text.to_lowercase())));
            format!("LOWER({row}.display_text) LIKE {pattern} ESCAPE '\\'")
        }
        CriterionValue::Token { system, code } => token_condition(builder, row, system, code),
        CriterionValue::String(text) => match modifier {
            Some(Modifier::Exact) => format!("{row}.exact = {}", builder.text(text)),
            Some(Modifier::Contains) => {
                let pattern = builder.text(&format!("%{}%", escape_like(text)));
                format!("{row}.normalized LIKE {pattern} ESCAPE '\\'")
            }
            _ => {
                let low = builder.text(text);
                let high = builder.text(&format!("{text}\u{10FFFF}"));
                format!("{row}.normalized >= {low} AND {row}.normalized < {high}")
            }
        },
        CriterionValue::Date { prefix, low_ms, high_ms } => date_range_condition(
            builder,
            &format!("{row}.low_ms"),
            &format!("{row}.high_ms"),
            *prefix,
            *low_ms,
            *high_ms,
        ),
        CriterionValue::Reference { target_type, target_id, url } => {
            reference_condition(builder, row, target_type.as_deref(), target_id.as_deref(), url.as_deref(), targets)?
        }
        CriterionValue::Quantity { prefix, value, low, high, system, code } => {
            let mut condition = number_condition(builder, row, *prefix, *value, *low, *high);
            if let Some(code) = code {
                condition.push_str(&format!(" AND {row}.code = {}", builder.text(code)));
            }
            if let Some(system) = system {
                condition.push_str(&format!(" AND {row}.system = {}", builder.text(system)));
            }
            condition
        }
        CriterionValue::Number { prefix, value, low, high } => {
            number_condition(builder, row, *prefix, *value, *low, *high)
        }
        CriterionValue::Composite(_) => {
            return Err(StoreError::UnsupportedSearch("a composite value is matched by its components".into()));
        }
        CriterionValue::Uri(uri) => match modifier {
            Some(Modifier::Below) => {
                let pattern = builder.text(&format!("{}%", escape_like(uri)));
                format!("{row}.uri LIKE {pattern} ESCAPE '\\'")
            }
            // The stored uri is a prefix of the searched one.
            Some(Modifier::Above) => {
                let searched = builder.text(uri);
                format!("substr({searched}, 1, length({row}.uri)) = {row}.uri")
            }
            _ => format!("{row}.uri = {}", builder.text(uri)),
        },
    })
}

fn token_condition(
    builder: &mut SqlBuilder,
    row: &str,
    system: &Option<Option<String>>,
    code: &Option<String>,
) -> String {
    let mut parts = Vec::new();
    if let Some(code) = code {
        parts.push(format!("{row}.code = {}", builder.text(code)));
    }
    match system {
        Some(Some(system)) => parts.push(format!("{row}.system = {}", builder.text(system))),
        Some(None) => parts.push(format!("{row}.system IS NULL")),
        None => {}
    }
    if parts.is_empty() { "1 = 1".to_string() } else { format!("({})", parts.join(" AND ")) }
}

fn reference_condition(
    builder: &mut SqlBuilder,
    row: &str,
    target_type: Option<&str>,
    target_id: Option<&str>,
    url: Option<&str>,
    targets: &[&str],
) -> Result<String, StoreError> {
    match (target_type, target_id, url) {
        (Some(target_type), Some(target_id), _) => {
            let target_type = builder.text(target_type);
            let target_id = builder.text(target_id);
            Ok(format!(
                "{row}.target_key = (SELECT t.resource_key FROM resource t WHERE t.resource_type = {target_type} AND \
                 t.resource_id = {target_id})"
            ))
        }
        (None, Some(target_id), _) if !targets.is_empty() => {
            let types: Vec<String> = targets.iter().map(|target| builder.text(target)).collect();
            let target_id = builder.text(target_id);
            Ok(format!(
                "{row}.target_key IN (SELECT t.resource_key FROM resource t WHERE t.resource_type IN ({}) AND \
                 t.resource_id = {target_id})",
                types.join(", ")
            ))
        }
        (None, Some(target_id), _) => {
            let target_id = builder.text(target_id);
            Ok(format!("{row}.target_key IN (SELECT t.resource_key FROM resource t WHERE t.resource_id = {target_id})"))
        }
        (_, None, Some(url)) => Ok(format!("{row}.url = {}", builder.text(url))),
        _ => Err(StoreError::UnsupportedSearch("a reference names a type and id, or a URL".into())),
    }
}

/// Compares an indexed range [`low_column`, `high_column`] with the searched range, as R4 §3.1.1.4.2 defines.
pub(super) fn date_range_condition(
    builder: &mut SqlBuilder,
    low_column: &str,
    high_column: &str,
    prefix: Prefix,
    low_ms: i64,
    high_ms: i64,
) -> String {
    match prefix {
        // `low <= high` of every stored range, so `high <= H` implies `low <= H`: said, it bounds the index's range
        // scan on `low` at both ends (a birth date driving a search read every later date's rows without it).
        Prefix::Eq => {
            let (low, high) = (builder.int(low_ms), builder.int(high_ms));
            format!("{low_column} >= {low} AND {low_column} <= {high} AND {high_column} <= {high}")
        }
        Prefix::Ne => {
            format!("NOT ({low_column} >= {} AND {high_column} <= {})", builder.int(low_ms), builder.int(high_ms))
        }
        Prefix::Gt => format!("{high_column} > {}", builder.int(high_ms)),
        Prefix::Lt => format!("{low_column} < {}", builder.int(low_ms)),
        Prefix::Ge => format!("{high_column} >= {}", builder.int(low_ms)),
        Prefix::Le => format!("{low_column} <= {}", builder.int(high_ms)),
        Prefix::Sa => format!("{low_column} > {}", builder.int(high_ms)),
        Prefix::Eb => format!("{high_column} < {}", builder.int(low_ms)),
        Prefix::Ap => {
            let now_ms = kmcr_fhir::Instant::now().unix_ms;
            let distance_ms = (now_ms - low_ms).abs().max((now_ms - high_ms).abs());
            let margin_ms = (distance_ms / 10).max(86_400_000);
            let low = builder.int(low_ms.saturating_sub(margin_ms));
            let high = builder.int(high_ms.saturating_add(margin_ms));
            format!("{low_column} <= {high} AND {high_column} >= {low}")
        }
    }
}

fn number_condition(builder: &mut SqlBuilder, row: &str, prefix: Prefix, value: f64, low: f64, high: f64) -> String {
    match prefix {
        Prefix::Eq => format!("{row}.value >= {} AND {row}.value <= {}", builder.real(low), builder.real(high)),
        Prefix::Ne => format!("NOT ({row}.value >= {} AND {row}.value <= {})", builder.real(low), builder.real(high)),
        Prefix::Gt | Prefix::Sa => format!("{row}.value > {}", builder.real(value)),
        Prefix::Lt | Prefix::Eb => format!("{row}.value < {}", builder.real(value)),
        Prefix::Ge => format!("{row}.value >= {}", builder.real(value)),
        Prefix::Le => format!("{row}.value <= {}", builder.real(value)),
        Prefix::Ap => {
            let margin = (value * 0.1).abs();
            format!(
                "{row}.value >= {} AND {row}.value <= {}",
                builder.real(value - margin),
                builder.real(value + margin)
            )
        }
    }
}

pub(super) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
