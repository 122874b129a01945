//! The checks FHIR JSON must pass before KMCR stores it, reported with the path of the first fault so that an
//! integration engineer can find it.
//!
//! A resource is walked against the R4 element model (`structure`): every element must be one its type defines, hold
//! an array exactly when it repeats, and hold the JSON its type takes (a boolean, an integer in range, a number, or a
//! string; dates, times and instants in their FHIR formats; ids and codes in theirs). Contained resources, Bundle
//! entries and Parameters are walked as the resources they are. The rules of the JSON format itself (R4 §2.6.2: no
//! nulls, no empty strings, arrays or objects) and the NHS rules KMCR relies on (an NHS number passes Modulus 11) are
//! checked on the way, and every element a type requires must be present (or carry its extensions). Not checked:
//! other cardinality limits, invariants and value set bindings, apart from `Patient.gender`.

use std::fmt;

use serde_json::{Map, Value};

use crate::instant::days_in_month;
use crate::structure::{Kind, TypeDefinition, type_definition};
use crate::{NHS_NUMBER_SYSTEM, NhsNumber, ResourceId, ResourceType};

/// The first fault found in a resource, with a FHIRPath-like location (`Patient.identifier[0].value`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ValidationError {
    pub path: String,
    pub message: String,
}

/// The deepest nesting of JSON accepted; real resources stay far below it.
const MAX_DEPTH: usize = 64;

const ADMINISTRATIVE_GENDERS: &[&str] = &["male", "female", "other", "unknown"];

/// Checks a resource and returns its type.
pub fn validate_resource(resource: &Value) -> Result<ResourceType, ValidationError> {
    let root = Path::Root("");
    let object = resource.as_object().ok_or_else(|| fault(&root, "a resource is a JSON object"))?;
    let resource_type = check_resource_type(object, &root)?;
    check_resource(resource_type, object, &Path::Root(resource_type.as_str()), 0)?;
    Ok(resource_type)
}

fn check_resource_type(object: &Map<String, Value>, path: &Path) -> Result<ResourceType, ValidationError> {
    let name = match object.get("resourceType") {
        Some(Value::String(name)) => name,
        Some(_) => return Err(fault(&path.member("resourceType"), "resourceType is a string")),
        None => return Err(fault(path, "resourceType is missing")),
    };
    ResourceType::parse(name)
        .map_err(|_| fault(&path.member("resourceType"), &format!("'{name}' is not a FHIR R4 resource type")))
}

fn check_resource(
    resource_type: ResourceType,
    object: &Map<String, Value>,
    path: &Path,
    depth: usize,
) -> Result<(), ValidationError> {
    let definition = type_definition(resource_type.as_str())
        .ok_or_else(|| fault(path, &format!("{resource_type} has no R4 definition")))?;
    if resource_type == ResourceType::PATIENT {
        check_patient(object, path)?;
    }
    check_members(definition, object, path, depth)
}

fn check_patient(object: &Map<String, Value>, path: &Path) -> Result<(), ValidationError> {
    if let Some(gender) = object.get("gender")
        && !gender.as_str().is_some_and(|code| ADMINISTRATIVE_GENDERS.contains(&code))
    {
        return Err(fault(&path.member("gender"), "gender is one of male, female, other, unknown"));
    }
    Ok(())
}

/// Every member of an object of type `definition`.
fn check_members(
    definition: &TypeDefinition,
    object: &Map<String, Value>,
    path: &Path,
    depth: usize,
) -> Result<(), ValidationError> {
    if depth > MAX_DEPTH {
        return Err(fault(path, "nested too deeply"));
    }
    if object.is_empty() {
        return Err(fault(path, "empty objects are not allowed"));
    }
    for (key, value) in object {
        if key == "resourceType" && definition.kind == Kind::Resource {
            continue;
        }
        let member_path = path.member(key);
        if let Some(name) = key.strip_prefix('_') {
            check_primitive_extensions(definition, object, name, value, &member_path, depth)?;
            continue;
        }
        let element = definition
            .element(key)
            .ok_or_else(|| fault(&member_path, &format!("{key} is not an element of {}", definition.name)))?;
        let element_type = type_definition(element.type_name)
            .ok_or_else(|| fault(&member_path, &format!("{} has no R4 definition", element.type_name)))?;
        match value {
            Value::Array(items) if element.repeats => {
                if items.is_empty() {
                    return Err(fault(&member_path, "empty arrays are not allowed"));
                }
                // A primitive array may hold null where its `_name` array carries the item's extensions instead.
                let nulls_allowed = element_type.kind == Kind::Primitive && object.contains_key(&format!("_{key}"));
                for (item_idx, item) in items.iter().enumerate() {
                    let item_path = member_path.item(item_idx);
                    if !(item.is_null() && nulls_allowed) {
                        check_value(element_type, item, &item_path, depth + 1)?;
                    }
                }
            }
            Value::Array(_) => {
                return Err(fault(&member_path, &format!("{key} does not repeat: give one value, not an array")));
            }
            _ if element.repeats => return Err(fault(&member_path, &format!("{key} repeats: give an array"))),
            _ => check_value(element_type, value, &member_path, depth + 1)?,
        }
    }
    for (element, names) in definition.choices {
        if names.iter().filter(|name| object.contains_key(**name)).count() > 1 {
            return Err(fault(&path.member(element), &format!("{element} takes one type, not several")));
        }
    }
    for (element, names) in definition.required {
        // A primitive may be present by its extensions alone (`_status` with a data-absent-reason).
        let present = names.iter().any(|name| object.contains_key(*name) || object.contains_key(&format!("_{name}")));
        if !present {
            return Err(fault(&path.member(element), &format!("{element} is required in {}", definition.name)));
        }
    }
    if definition.name == "Identifier" {
        check_nhs_number(object, path)?;
    }
    Ok(())
}

/// `_name`: the id and extensions of primitive element `name`, one object (or null) per value when it repeats.
fn check_primitive_extensions(
    definition: &TypeDefinition,
    object: &Map<String, Value>,
    name: &str,
    value: &Value,
    path: &Path,
    depth: usize,
) -> Result<(), ValidationError> {
    let element = definition
        .element(name)
        .filter(|element| type_definition(element.type_name).is_some_and(|found| found.kind == Kind::Primitive))
        .ok_or_else(|| fault(path, &format!("{name} is not a primitive element of {}", definition.name)))?;
    let extensions = type_definition("Element").expect("R4 defines Element");
    match value {
        Value::Array(items) if element.repeats => {
            let values = object.get(name).and_then(Value::as_array);
            if values.is_some_and(|values| values.len() != items.len()) {
                return Err(fault(path, &format!("_{name} has one item for each item of {name}")));
            }
            for (item_idx, item) in items.iter().enumerate() {
                let item_path = path.item(item_idx);
                match item {
                    Value::Null => {}
                    Value::Object(item) => check_members(extensions, item, &item_path, depth + 1)?,
                    _ => return Err(fault(&item_path, "an object with id or extension, or null")),
                }
            }
            Ok(())
        }
        Value::Object(item) if !element.repeats => check_members(extensions, item, path, depth + 1),
        _ if element.repeats => Err(fault(path, &format!("_{name} is an array, as {name} repeats"))),
        _ => Err(fault(path, "an object with id or extension")),
    }
}

fn check_value(definition: &TypeDefinition, value: &Value, path: &Path, depth: usize) -> Result<(), ValidationError> {
    match (definition.kind, value) {
        (_, Value::Null) => Err(fault(path, "null is not allowed; leave the element out")),
        (Kind::Primitive, _) => check_primitive(definition.name, value, path),
        (Kind::Resource, Value::Object(object)) => {
            // An element typed Resource (contained, Bundle.entry.resource) holds any resource, checked as what it is.
            let resource_type = check_resource_type(object, path)?;
            check_resource(resource_type, object, path, depth)
        }
        (_, Value::Object(object)) => check_members(definition, object, path, depth),
        _ => Err(fault(path, &format!("a {} is a JSON object", definition.name))),
    }
}

fn check_primitive(type_name: &str, value: &Value, path: &Path) -> Result<(), ValidationError> {
    let integer_in = |low: i64| value.as_i64().is_some_and(|number| number >= low && number <= i64::from(i32::MAX));
    let valid = match type_name {
        "boolean" => value.is_boolean(),
        "integer" => integer_in(i64::from(i32::MIN)),
        "unsignedInt" => integer_in(0),
        "positiveInt" => integer_in(1),
        "decimal" => value.is_number(),
        _ => {
            let Some(text) = value.as_str() else {
                return Err(fault(path, &format!("a {type_name} is a JSON string")));
            };
            if text.is_empty() {
                return Err(fault(path, "empty strings are not allowed"));
            }
            match type_name {
                "date" => is_fhir_date(text),
                "dateTime" => is_fhir_date_time(text),
                "instant" => is_fhir_instant(text),
                "time" => is_fhir_time(text),
                "id" => ResourceId::parse(text).is_ok(),
                "code" => !text.starts_with(char::is_whitespace) && !text.ends_with(char::is_whitespace),
                _ => true,
            }
        }
    };
    if valid { Ok(()) } else { Err(fault(path, primitive_rule(type_name))) }
}

fn primitive_rule(type_name: &str) -> &'static str {
    match type_name {
        "boolean" => "a boolean is true or false",
        "integer" => "an integer is a whole JSON number within 32 bits",
        "unsignedInt" => "an unsignedInt is a whole JSON number from 0",
        "positiveInt" => "a positiveInt is a whole JSON number from 1",
        "decimal" => "a decimal is a JSON number",
        "date" => "a date is YYYY, YYYY-MM or YYYY-MM-DD",
        "dateTime" => "a dateTime is YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone",
        "instant" => "an instant is YYYY-MM-DDThh:mm:ss with a time zone",
        "time" => "a time is hh:mm:ss",
        "id" => "an id is 1 to 64 letters, digits, '-' or '.'",
        "code" => "a code has no leading or trailing whitespace",
        _ => "not a valid value",
    }
}

fn check_nhs_number(identifier: &Map<String, Value>, path: &Path) -> Result<(), ValidationError> {
    if identifier.get("system").and_then(Value::as_str) == Some(NHS_NUMBER_SYSTEM)
        && let Some(value) = identifier.get("value")
    {
        let number = value.as_str().ok_or_else(|| fault(&path.member("value"), "must be a string"))?;
        NhsNumber::parse(number).map_err(|error| fault(&path.member("value"), &error.to_string()))?;
    }
    Ok(())
}

/// `hh:mm:ss` with an optional fraction of a second.
pub fn is_fhir_time(text: &str) -> bool {
    let (clock, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let mut parts = clock.split(':');
    let two_digits = |part: Option<&str>, max: u32| {
        part.is_some_and(|part| {
            part.len() == 2
                && part.bytes().all(|byte| byte.is_ascii_digit())
                && part.parse::<u32>().is_ok_and(|n| n <= max)
        })
    };
    two_digits(parts.next(), 23)
        && two_digits(parts.next(), 59)
        && two_digits(parts.next(), 60)
        && parts.next().is_none()
        && !fraction.is_empty()
        && fraction.bytes().all(|byte| byte.is_ascii_digit())
}

/// `YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm)`.
pub fn is_fhir_instant(text: &str) -> bool {
    let Some((date, time)) = text.split_once('T') else { return false };
    date.len() == 10 && is_fhir_date(date) && is_time_with_zone(time)
}

/// A date (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`), or a full date with a time and time zone.
pub fn is_fhir_date_time(text: &str) -> bool {
    match text.split_once('T') {
        None => is_fhir_date(text),
        Some((date, time)) => date.len() == 10 && is_fhir_date(date) && is_time_with_zone(time),
    }
}

fn is_time_with_zone(text: &str) -> bool {
    let (time, zone) = if let Some(time) = text.strip_suffix('Z') {
        (time, "00:00")
    } else {
        match text.len().checked_sub(6).and_then(|split| text.get(split..).map(|zone| (&text[..split], zone))) {
            Some((time, zone)) if zone.starts_with(['+', '-']) => (time, &zone[1..]),
            _ => return false,
        }
    };
    let zone_valid = zone.len() == 5
        && zone.as_bytes()[2] == b':'
        && zone[..2].parse::<u32>().is_ok_and(|hours| hours <= 14)
        && zone[3..].parse::<u32>().is_ok_and(|minutes| minutes <= 59)
        && zone.bytes().filter(|byte| *byte != b':').all(|byte| byte.is_ascii_digit());
    zone_valid && is_fhir_time(time)
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with a real month and day.
pub fn is_fhir_date(text: &str) -> bool {
    let mut split = text.split('-');
    let parts = [split.next(), split.next(), split.next(), split.next()];
    let numeric = |part: &str, len: usize| part.len() == len && part.bytes().all(|byte| byte.is_ascii_digit());
    match parts {
        [Some(year), None, _, _] => numeric(year, 4),
        [Some(year), Some(month), None, _] => {
            numeric(year, 4) && numeric(month, 2) && (1..=12).contains(&month.parse::<u32>().unwrap_or(0))
        }
        [Some(year), Some(month), Some(day), None] => {
            if !(numeric(year, 4) && numeric(month, 2) && numeric(day, 2)) {
                return false;
            }
            let (year, month, day): (i64, u32, u32) =
                (year.parse().unwrap_or(0), month.parse().unwrap_or(0), day.parse().unwrap_or(0));
            (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)
        }
        _ => false,
    }
}

/// Where a value sits (`Patient.identifier[0].value`), kept as a chain on the stack and written out only when a fault
/// is reported, so that checking a valid resource builds no strings.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root(&'a str),
    Member(&'a Path<'a>, &'a str),
    Item(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    fn member(&'a self, key: &'a str) -> Path<'a> {
        Path::Member(self, key)
    }

    fn item(&'a self, idx: usize) -> Path<'a> {
        Path::Item(self, idx)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Member(Path::Root(""), key) => f.write_str(key),
            Path::Member(parent, key) => write!(f, "{parent}.{key}"),
            Path::Item(parent, idx) => write!(f, "{parent}[{idx}]"),
        }
    }
}

fn fault(path: &Path, message: &str) -> ValidationError {
    ValidationError { path: path.to_string(), message: message.to_string() }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fault_of(resource: Value) -> String {
        validate_resource(&resource).map(|_| String::new()).unwrap_or_else(|error| error.to_string())
    }

    #[test]
    fn a_well_formed_patient_passes() {
        let patient = json!({
            "resourceType": "Patient", "id": "p1", "active": true,
            "name": [{"use": "official", "family": "Smith", "given": ["Ann", "Marie"]}],
            "_birthDate": {"extension": [{"url": "http://example.org/accuracy", "valueCode": "estimated"}]},
            "birthDate": "1970-05-06", "deceasedDateTime": "2020-01-02T03:04:05+01:00", "multipleBirthInteger": 2,
            "contact": [{"relationship": [{"text": "daughter"}], "name": {"family": "Smith"}}],
            "contained": [{"resourceType": "Organization", "id": "gp", "name": "Practice"}],
            "meta": {"lastUpdated": "2024-01-01T00:00:00.123Z"}
        });
        assert_eq!(validate_resource(&patient), Ok(ResourceType::PATIENT));
    }

    #[test]
    fn elements_r4_does_not_define_are_rejected_where_they_are() {
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "nmae": []})),
            "Patient.nmae: nmae is not an element of Patient"
        );
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "name": [{"surname": "Smith"}]})),
            "Patient.name[0].surname: surname is not an element of HumanName"
        );
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "contact": [{"phone": "01622"}]})),
            "Patient.contact[0].phone: phone is not an element of Patient.contact"
        );
        // A choice element is named with its type.
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "deceased": true})),
            "Patient.deceased: deceased is not an element of Patient"
        );
        assert_eq!(
            fault_of(json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueFoo": 1})),
            "Observation.valueFoo: valueFoo is not an element of Observation"
        );
    }

    #[test]
    fn a_choice_element_takes_one_type() {
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "deceasedBoolean": true, "deceasedDateTime": "2020"})),
            "Patient.deceased[x]: deceased[x] takes one type, not several"
        );
        let one_type = json!({"resourceType": "Patient", "deceasedDateTime": "2020", "multipleBirthInteger": 2});
        assert_eq!(validate_resource(&one_type), Ok(ResourceType::PATIENT));
    }

    #[test]
    fn repeating_elements_take_arrays_and_single_ones_do_not() {
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "name": {"family": "Smith"}})),
            "Patient.name: name repeats: give an array"
        );
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "active": [true]})),
            "Patient.active: active does not repeat: give one value, not an array"
        );
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "name": [{"given": "Ann"}]})),
            "Patient.name[0].given: given repeats: give an array"
        );
    }

    #[test]
    fn primitives_hold_the_json_their_type_takes() {
        let cases = [
            (json!({"resourceType": "Patient", "active": "yes"}), "Patient.active: a boolean is true or false"),
            (
                json!({"resourceType": "Patient", "multipleBirthInteger": 1.5}),
                "Patient.multipleBirthInteger: an integer is a whole JSON number within 32 bits",
            ),
            (
                json!({"resourceType": "Patient", "birthDate": "06/05/1970"}),
                "Patient.birthDate: a date is YYYY, YYYY-MM or YYYY-MM-DD",
            ),
            (
                json!({"resourceType": "Patient", "name": [{"family": 7}]}),
                "Patient.name[0].family: a string is a JSON string",
            ),
            (
                json!({"resourceType": "Patient", "deceasedDateTime": "2020-01-02T03:04:05"}),
                "Patient.deceasedDateTime: a dateTime is YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone",
            ),
            (
                json!({"resourceType": "Patient", "meta": {"lastUpdated": "2024-01-01"}}),
                "Patient.meta.lastUpdated: an instant is YYYY-MM-DDThh:mm:ss with a time zone",
            ),
            (
                json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": "5"}}),
                "Observation.valueQuantity.value: a decimal is a JSON number",
            ),
            (
                json!({"resourceType": "Patient", "name": [{"family": ""}]}),
                "Patient.name[0].family: empty strings are not allowed",
            ),
            (json!({"resourceType": "Patient", "name": [{}]}), "Patient.name[0]: empty objects are not allowed"),
            (json!({"resourceType": "Patient", "name": []}), "Patient.name: empty arrays are not allowed"),
            (
                json!({"resourceType": "Patient", "active": null}),
                "Patient.active: null is not allowed; leave the element out",
            ),
            (
                json!({"resourceType": "Patient", "id": "a b"}),
                "Patient.id: an id is 1 to 64 letters, digits, '-' or '.'",
            ),
        ];
        for (resource, expected) in cases {
            assert_eq!(fault_of(resource), expected);
        }
        assert!(is_fhir_date_time("2020") && is_fhir_date_time("2020-02-29T23:59:60.5-14:00"));
        assert!(!is_fhir_date_time("2021-02-29") && !is_fhir_date_time("2020-01-01T10:00Z"));
        assert!(is_fhir_time("10:00:00") && !is_fhir_time("24:00:00") && !is_fhir_time("10:00"));
    }

    #[test]
    fn primitive_extensions_sit_beside_primitive_elements_only() {
        let given_with_gap = json!({"resourceType": "Patient", "name": [{
            "given": ["Ann", null], "_given": [null, {"extension": [{"url": "http://example.org/x", "valueString": "y"}]}]
        }]});
        assert_eq!(validate_resource(&given_with_gap), Ok(ResourceType::PATIENT));
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "name": [{"given": ["Ann", null]}]})),
            "Patient.name[0].given[1]: null is not allowed; leave the element out"
        );
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "_name": {"id": "x"}})),
            "Patient._name: name is not a primitive element of Patient"
        );
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "_active": {"colour": "red"}})),
            "Patient._active.colour: colour is not an element of Element"
        );
    }

    #[test]
    fn resources_inside_resources_are_checked_as_what_they_are() {
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Patient", "active": true}, "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Patient", "activ": true}, "request": {"method": "POST", "url": "Patient"}}
        ]});
        assert_eq!(fault_of(bundle), "Bundle.entry[1].resource.activ: activ is not an element of Patient");
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "contained": [{"id": "x"}]})),
            "Patient.contained[0]: resourceType is missing"
        );
        assert_eq!(
            fault_of(
                json!({"resourceType": "Patient", "contained": [{"resourceType": "Basic", "code": {"txt": "x"}}]})
            ),
            "Patient.contained[0].code.txt: txt is not an element of CodeableConcept"
        );
    }

    #[test]
    fn elements_a_type_requires_must_be_present() {
        let observation = |resource: Value| fault_of(resource);
        assert_eq!(
            observation(json!({"resourceType": "Observation", "code": {"text": "pulse"}})),
            "Observation.status: status is required in Observation"
        );
        // Present by its extensions alone: the source says why the value is absent.
        let absent = json!({"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]});
        assert_eq!(
            observation(json!({"resourceType": "Observation", "_status": absent, "code": {"text": "pulse"}})),
            ""
        );
        assert_eq!(
            fault_of(json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                "subject": {"reference": "Patient/p1"}})),
            "MedicationRequest.medication[x]: medication[x] is required in MedicationRequest"
        );
        assert_eq!(
            fault_of(json!({"resourceType": "Patient", "extension": [{"valueString": "x"}]})),
            "Patient.extension[0].url: url is required in Extension"
        );
        assert_eq!(
            fault_of(json!({"resourceType": "Bundle", "type": "transaction", "entry": [
                {"resource": {"resourceType": "Patient"}, "request": {"method": "POST"}}]})),
            "Bundle.entry[0].request.url: url is required in Bundle.entry.request"
        );
    }

    #[test]
    fn an_nhs_number_must_pass_modulus_11() {
        let patient = |number: &str| json!({"resourceType": "Patient", "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": number}]});
        assert_eq!(validate_resource(&patient("9434765919")), Ok(ResourceType::PATIENT));
        assert!(fault_of(patient("9434765918")).starts_with("Patient.identifier[0].value: "));
    }
}
