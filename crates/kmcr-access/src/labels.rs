//! Sensitivity: which items are sealed, from their `meta.security` labels and from configurable code rules. Worked out
//! once when an item is written and stored with it, so that a search can leave sealed items out in the query itself.

use serde_json::Value;

pub const CONFIDENTIALITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
pub const ACT_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub const SNOMED_SYSTEM: &str = "http://snomed.info/sct";

/// Why an item is sensitive; an item may have several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SensitiveCategory {
    /// `v3-Confidentiality` R.
    Restricted,
    /// `v3-Confidentiality` V.
    VeryRestricted,
    Hiv,
    /// `PSY`: psychiatry information.
    MentalHealth,
    /// `SDV`: sexual assault, abuse or domestic violence.
    SexualOrDomesticViolence,
    /// `SEX`: sexuality and reproductive health.
    SexualAndReproductiveHealth,
    /// `STD`: sexually transmitted disease.
    SexuallyTransmittedDisease,
    /// `ETH`: substance abuse.
    SubstanceMisuse,
    /// `GDIS`: genetic disease.
    GeneticDisease,
    GenderIdentity,
    Fertility,
    SafeguardingNote,
}

impl SensitiveCategory {
    pub const ALL: [SensitiveCategory; 12] = [
        SensitiveCategory::Restricted,
        SensitiveCategory::VeryRestricted,
        SensitiveCategory::Hiv,
        SensitiveCategory::MentalHealth,
        SensitiveCategory::SexualOrDomesticViolence,
        SensitiveCategory::SexualAndReproductiveHealth,
        SensitiveCategory::SexuallyTransmittedDisease,
        SensitiveCategory::SubstanceMisuse,
        SensitiveCategory::GeneticDisease,
        SensitiveCategory::GenderIdentity,
        SensitiveCategory::Fertility,
        SensitiveCategory::SafeguardingNote,
    ];

    fn bit(self) -> u32 {
        1 << (self as u32)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SensitiveCategory::Restricted => "restricted",
            SensitiveCategory::VeryRestricted => "very-restricted",
            SensitiveCategory::Hiv => "hiv",
            SensitiveCategory::MentalHealth => "mental-health",
            SensitiveCategory::SexualOrDomesticViolence => "sexual-or-domestic-violence",
            SensitiveCategory::SexualAndReproductiveHealth => "sexual-and-reproductive-health",
            SensitiveCategory::SexuallyTransmittedDisease => "sexually-transmitted-disease",
            SensitiveCategory::SubstanceMisuse => "substance-misuse",
            SensitiveCategory::GeneticDisease => "genetic-disease",
            SensitiveCategory::GenderIdentity => "gender-identity",
            SensitiveCategory::Fertility => "fertility",
            SensitiveCategory::SafeguardingNote => "safeguarding-note",
        }
    }

    pub fn parse(text: &str) -> Option<SensitiveCategory> {
        SensitiveCategory::ALL.into_iter().find(|category| category.as_str() == text)
    }

    /// The category of a `meta.security` coding, if it is a sensitivity label.
    pub fn from_security_label(system: &str, code: &str) -> Option<SensitiveCategory> {
        match (system, code) {
            (CONFIDENTIALITY_SYSTEM, "R") => Some(SensitiveCategory::Restricted),
            (CONFIDENTIALITY_SYSTEM, "V") => Some(SensitiveCategory::VeryRestricted),
            (ACT_CODE_SYSTEM, "HIV") => Some(SensitiveCategory::Hiv),
            (ACT_CODE_SYSTEM, "PSY") => Some(SensitiveCategory::MentalHealth),
            (ACT_CODE_SYSTEM, "SDV") => Some(SensitiveCategory::SexualOrDomesticViolence),
            (ACT_CODE_SYSTEM, "SEX") => Some(SensitiveCategory::SexualAndReproductiveHealth),
            (ACT_CODE_SYSTEM, "STD") => Some(SensitiveCategory::SexuallyTransmittedDisease),
            (ACT_CODE_SYSTEM, "ETH") => Some(SensitiveCategory::SubstanceMisuse),
            (ACT_CODE_SYSTEM, "GDIS") => Some(SensitiveCategory::GeneticDisease),
            _ => None,
        }
    }
}

/// The sensitive categories of an item, as a bit set (stored as an integer beside the item).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Sensitivity(u32);

impl Sensitivity {
    pub const NONE: Sensitivity = Sensitivity(0);

    pub fn from_bits(bits: i64) -> Sensitivity {
        Sensitivity((bits & 0xffff_ffff) as u32)
    }

    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    pub fn is_sensitive(self) -> bool {
        self.0 != 0
    }

    pub fn with(self, category: SensitiveCategory) -> Sensitivity {
        Sensitivity(self.0 | category.bit())
    }

    pub fn union(self, other: Sensitivity) -> Sensitivity {
        Sensitivity(self.0 | other.0)
    }

    pub fn categories(self) -> impl Iterator<Item = SensitiveCategory> {
        SensitiveCategory::ALL.into_iter().filter(move |category| self.0 & category.bit() != 0)
    }
}

/// A coded entry that makes an item sensitive wherever it appears in the item (its code, category, reason, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRule {
    pub system: String,
    pub code: String,
    pub category: SensitiveCategory,
}

/// The code rules in force; configuration may replace the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRules {
    pub rules: Vec<CodeRule>,
}

impl CodeRules {
    /// A cautious starting set: conditions whose mere presence in a record is sensitive. A region adds its own.
    pub fn defaults() -> CodeRules {
        let rule = |code: &str, category| CodeRule { system: SNOMED_SYSTEM.into(), code: code.into(), category };
        CodeRules {
            rules: vec![
                rule("86406008", SensitiveCategory::Hiv),
                rule("105629000", SensitiveCategory::SexuallyTransmittedDisease),
                rule("93461009", SensitiveCategory::GenderIdentity),
            ],
        }
    }

    /// A fingerprint of the rules, stored with the items they were applied to: when it changes, items are labelled
    /// again.
    pub fn fingerprint(&self) -> String {
        let mut rules: Vec<String> =
            self.rules.iter().map(|rule| format!("{}|{}={}", rule.system, rule.code, rule.category.as_str())).collect();
        rules.sort();
        rules.join(";")
    }
}

/// The sensitivity of a resource: its `meta.security` labels and every coding anywhere in it that a rule names.
pub fn sensitivity_of(resource: &Value, rules: &CodeRules) -> Sensitivity {
    let mut sensitivity = Sensitivity::NONE;
    if let Some(labels) = resource.pointer("/meta/security").and_then(Value::as_array) {
        for label in labels {
            let system = label.get("system").and_then(Value::as_str).unwrap_or_default();
            let code = label.get("code").and_then(Value::as_str).unwrap_or_default();
            if let Some(category) = SensitiveCategory::from_security_label(system, code) {
                sensitivity = sensitivity.with(category);
            }
        }
    }
    if !rules.rules.is_empty() {
        visit_codings(resource, &mut |system, code| {
            for rule in &rules.rules {
                if rule.code == code && rule.system == system {
                    sensitivity = sensitivity.with(rule.category);
                }
            }
        });
    }
    sensitivity
}

/// Calls `visit` with the system and code of every object holding both, at any depth (not inside `meta` or the
/// narrative).
fn visit_codings(value: &Value, visit: &mut impl FnMut(&str, &str)) {
    match value {
        Value::Object(object) => {
            if let (Some(Value::String(system)), Some(Value::String(code))) = (object.get("system"), object.get("code"))
            {
                visit(system, code);
            }
            for (key, child) in object {
                if key != "meta" && key != "text" {
                    visit_codings(child, visit);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| visit_codings(item, visit)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_and_codes_make_an_item_sensitive() {
        let rules = CodeRules::defaults();
        let labelled =
            json!({"resourceType": "Condition", "meta": {"security": [{"system": ACT_CODE_SYSTEM, "code": "PSY"}]}});
        assert_eq!(
            sensitivity_of(&labelled, &rules).categories().collect::<Vec<_>>(),
            [SensitiveCategory::MentalHealth]
        );
        let coded =
            json!({"resourceType": "Condition", "code": {"coding": [{"system": SNOMED_SYSTEM, "code": "86406008"}]}});
        assert_eq!(sensitivity_of(&coded, &rules).categories().collect::<Vec<_>>(), [SensitiveCategory::Hiv]);
        let plain = json!({"resourceType": "Condition", "code": {"coding": [{"system": SNOMED_SYSTEM, "code": "38341003"}]},
            "meta": {"security": [{"system": CONFIDENTIALITY_SYSTEM, "code": "N"}]}});
        assert!(!sensitivity_of(&plain, &rules).is_sensitive());
    }
}
