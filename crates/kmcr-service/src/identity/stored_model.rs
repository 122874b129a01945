//! The person index's matching model as the store keeps it: JSON naming every field and level, so that a model
//! trained by an earlier build is used only when its fields and levels are the ones this build compares.

use kmcr_mpi::{FIELDS, Model};
use serde_json::{Value, json};

pub fn model_to_json(model: &Model) -> String {
    let fields: Vec<Value> = FIELDS
        .iter()
        .enumerate()
        .map(|(field_idx, spec)| {
            let levels: Vec<Value> = spec
                .levels
                .iter()
                .enumerate()
                .map(|(level_idx, level)| {
                    json!({"level": level, "m": model.m[field_idx][level_idx], "u": model.u[field_idx][level_idx]})
                })
                .collect();
            json!({"field": spec.name, "levels": levels})
        })
        .collect();
    json!({"priorMatchProbability": model.prior_match_probability, "fields": fields}).to_string()
}

/// The model, or `None` when the JSON is not a model of this build's fields and levels (in this order).
pub fn model_from_json(text: &str) -> Option<Model> {
    let value: Value = serde_json::from_str(text).ok()?;
    let prior_match_probability = value.get("priorMatchProbability")?.as_f64()?;
    let fields = value.get("fields")?.as_array()?;
    if fields.len() != FIELDS.len() {
        return None;
    }
    let mut m = Vec::with_capacity(FIELDS.len());
    let mut u = Vec::with_capacity(FIELDS.len());
    for (field, spec) in fields.iter().zip(FIELDS.iter()) {
        let levels = field.get("levels")?.as_array()?;
        if field.get("field")?.as_str()? != spec.name || levels.len() != spec.levels.len() {
            return None;
        }
        let mut field_m = Vec::with_capacity(levels.len());
        let mut field_u = Vec::with_capacity(levels.len());
        for (level, name) in levels.iter().zip(spec.levels) {
            if level.get("level")?.as_str()? != *name {
                return None;
            }
            field_m.push(probability(level.get("m")?)?);
            field_u.push(probability(level.get("u")?)?);
        }
        m.push(field_m);
        u.push(field_u);
    }
    (prior_match_probability > 0.0 && prior_match_probability < 1.0).then_some(Model { prior_match_probability, m, u })
}

fn probability(value: &Value) -> Option<f64> {
    value.as_f64().filter(|probability| (0.0..=1.0).contains(probability))
}
