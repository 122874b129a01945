//! Evaluation of a compiled expression over JSON, borrowing from both the expression and the resource.

use kmcr_fhir::ResourceType;
use serde_json::{Map, Value};

use super::{BinaryOperator, Function, Literal, Node, TypeOperator};
use crate::reference::referenced_type;

/// One item of a FHIRPath collection.
#[derive(Clone, Copy, Debug)]
pub enum Item<'a> {
    /// A JSON element of the resource. `type_name` is its FHIR type when the JSON says it, from a choice element's
    /// suffix (`valueQuantity` is a `Quantity`); otherwise the type is inferred from the shape when needed.
    Element {
        value: &'a Value,
        type_name: Option<&'static str>,
    },
    Boolean(bool),
    String(&'a str),
    Number(f64),
    /// What `resolve()` yields without a store: only the type of resource a reference points at.
    Resolved(ResourceType),
}

pub(super) fn evaluate<'a>(node: &'a Node, resource: &'a Value, focus: &[Item<'a>], output: &mut Vec<Item<'a>>) {
    match node {
        Node::Literal(Literal::Boolean(boolean)) => output.push(Item::Boolean(*boolean)),
        Node::Literal(Literal::String(text)) => output.push(Item::String(text)),
        Node::Literal(Literal::Number(number)) => output.push(Item::Number(*number)),
        Node::This => output.extend_from_slice(focus),
        Node::Resource => output.push(Item::Element { value: resource, type_name: None }),
        Node::Member(name) => {
            for item in focus {
                member(*item, name, output);
            }
        }
        Node::Call(function) => call(function, resource, focus, output),
        Node::Invoke { target, step } => {
            let targets = collect(target, resource, focus);
            evaluate(step, resource, &targets, output);
        }
        Node::Index { target, index } => {
            let targets = collect(target, resource, focus);
            output.extend(targets.get(*index).copied());
        }
        Node::Union(parts) => {
            for part in parts {
                evaluate(part, resource, focus, output);
            }
        }
        Node::Binary { operator, left, right } => {
            let left = collect(left, resource, focus);
            let right = collect(right, resource, focus);
            output.extend(binary(*operator, &left, &right).map(Item::Boolean));
        }
        Node::TypeOperation { operator, operand, type_name } => {
            let operands = collect(operand, resource, focus);
            match operator {
                TypeOperator::As => output.extend(operands.into_iter().filter(|item| is_of_type(*item, type_name))),
                TypeOperator::Is => {
                    output.extend(singleton(&operands).map(|item| Item::Boolean(is_of_type(item, type_name))))
                }
            }
        }
    }
}

fn collect<'a>(node: &'a Node, resource: &'a Value, focus: &[Item<'a>]) -> Vec<Item<'a>> {
    let mut items = Vec::new();
    evaluate(node, resource, focus, &mut items);
    items
}

/// `name` applied to one item: a member, or a type filter when the name is capitalised (`Observation.code` starts by
/// keeping the focus if it is an Observation), since FHIR element names never start with a capital.
fn member<'a>(item: Item<'a>, name: &str, output: &mut Vec<Item<'a>>) {
    let Item::Element { value: Value::Object(object), .. } = item else { return };
    if name.starts_with(|first: char| first.is_ascii_uppercase()) {
        if is_of_type(item, name) {
            output.push(item);
        }
        return;
    }
    // One pass over the keys finds the member or, for a choice element `value[x]` (sent as `valueQuantity`,
    // `valueString`...), every key whose suffix names a datatype. FHIR objects are small, so this beats hashing.
    let first_byte = name.as_bytes().first();
    for (key, child) in object {
        // Comparing the first byte before the rest rejects most keys without a call to memcmp.
        if key.as_bytes().first() != first_byte {
            continue;
        }
        let Some(suffix) = key.strip_prefix(name) else { continue };
        if suffix.is_empty() {
            push_flattened(child, None, output);
            return;
        }
        if let Some(type_name) = choice_type(suffix) {
            push_flattened(child, Some(type_name), output);
        }
    }
}

fn push_flattened<'a>(value: &'a Value, type_name: Option<&'static str>, output: &mut Vec<Item<'a>>) {
    match value {
        Value::Array(values) => output
            .extend(values.iter().filter(|value| !value.is_null()).map(|value| Item::Element { value, type_name })),
        Value::Null => {}
        value => output.push(Item::Element { value, type_name }),
    }
}

fn call<'a>(function: &'a Function, resource: &'a Value, focus: &[Item<'a>], output: &mut Vec<Item<'a>>) {
    match function {
        Function::Exists(None) => output.push(Item::Boolean(!focus.is_empty())),
        Function::Exists(Some(criteria)) => {
            let any = focus.iter().any(|item| satisfies(criteria, resource, *item));
            output.push(Item::Boolean(any));
        }
        Function::Empty => output.push(Item::Boolean(focus.is_empty())),
        Function::First => output.extend(focus.first().copied()),
        Function::Last => output.extend(focus.last().copied()),
        Function::Not => output.extend(truth(focus).map(|truth| Item::Boolean(!truth))),
        Function::Where(criteria) => {
            output.extend(focus.iter().copied().filter(|item| satisfies(criteria, resource, *item)));
        }
        Function::As(type_name) | Function::OfType(type_name) => {
            output.extend(focus.iter().copied().filter(|item| is_of_type(*item, type_name)));
        }
        Function::Is(type_name) => {
            output.extend(singleton(focus).map(|item| Item::Boolean(is_of_type(item, type_name))))
        }
        Function::Resolve => output.extend(focus.iter().filter_map(|item| resolve(*item)).map(Item::Resolved)),
        Function::Extension(url) => {
            for item in focus {
                let Item::Element { value: Value::Object(object), .. } = item else { continue };
                let Some(Value::Array(extensions)) = object.get("extension") else { continue };
                let matching =
                    extensions.iter().filter(|extension| extension.get("url").and_then(Value::as_str) == Some(url));
                output.extend(matching.map(|value| Item::Element { value, type_name: Some("Extension") }));
            }
        }
    }
}

fn satisfies<'a>(criteria: &'a Node, resource: &'a Value, item: Item<'a>) -> bool {
    truth(&collect(criteria, resource, &[item])) == Some(true)
}

/// The type of resource an item points at: a Reference's `reference` (or its `type`), a canonical or URI, or an
/// inline resource. `None` when the text does not tell, as for `urn:uuid:` references.
fn resolve(item: Item<'_>) -> Option<ResourceType> {
    match item {
        Item::Element { value: Value::String(text), .. } => referenced_type(text),
        Item::Element { value: Value::Object(object), .. } => {
            if let Some(resource_type) = object.get("resourceType").and_then(Value::as_str) {
                return ResourceType::parse(resource_type).ok();
            }
            let from_reference = object.get("reference").and_then(Value::as_str).and_then(referenced_type);
            // Reference.type may be a bare type name or a StructureDefinition URL ending with one.
            let from_type_element = || {
                let type_text = object.get("type").and_then(Value::as_str)?;
                ResourceType::parse(type_text.rsplit('/').next()?).ok()
            };
            from_reference.or_else(from_type_element)
        }
        _ => None,
    }
}

fn binary(operator: BinaryOperator, left: &[Item<'_>], right: &[Item<'_>]) -> Option<bool> {
    match operator {
        BinaryOperator::And => match (truth(left), truth(right)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        BinaryOperator::Or => match (truth(left), truth(right)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        BinaryOperator::Xor => Some(truth(left)? != truth(right)?),
        BinaryOperator::Equals => collections_equal(left, right),
        BinaryOperator::NotEquals => collections_equal(left, right).map(|equal| !equal),
    }
}

/// FHIRPath equality: empty when either side is empty, otherwise item by item.
fn collections_equal(left: &[Item<'_>], right: &[Item<'_>]) -> Option<bool> {
    if left.is_empty() || right.is_empty() {
        return None;
    }
    Some(left.len() == right.len() && left.iter().zip(right).all(|(left, right)| items_equal(*left, *right)))
}

fn items_equal(left: Item<'_>, right: Item<'_>) -> bool {
    match (comparable(left), comparable(right)) {
        (Comparable::Text(left), Comparable::Text(right)) => left == right,
        (Comparable::Boolean(left), Comparable::Boolean(right)) => left == right,
        (Comparable::Number(left), Comparable::Number(right)) => left == right,
        (Comparable::Json(left), Comparable::Json(right)) => left == right,
        _ => false,
    }
}

enum Comparable<'a> {
    Text(&'a str),
    Boolean(bool),
    Number(f64),
    Json(&'a Value),
}

fn comparable(item: Item<'_>) -> Comparable<'_> {
    match item {
        Item::Element { value: Value::String(text), .. } => Comparable::Text(text),
        Item::Element { value: Value::Bool(boolean), .. } => Comparable::Boolean(*boolean),
        Item::Element { value: Value::Number(number), .. } => Comparable::Number(number.as_f64().unwrap_or(f64::NAN)),
        Item::Element { value, .. } => Comparable::Json(value),
        Item::Boolean(boolean) => Comparable::Boolean(boolean),
        Item::String(text) => Comparable::Text(text),
        Item::Number(number) => Comparable::Number(number),
        Item::Resolved(resource_type) => Comparable::Text(resource_type.as_str()),
    }
}

/// FHIRPath's singleton evaluation of a collection as a boolean: empty is unknown, one boolean is itself, any other
/// single item is true.
fn truth(items: &[Item<'_>]) -> Option<bool> {
    match singleton(items)? {
        Item::Boolean(boolean) => Some(boolean),
        Item::Element { value: Value::Bool(boolean), .. } => Some(*boolean),
        _ => Some(true),
    }
}

fn singleton<'a>(items: &[Item<'a>]) -> Option<Item<'a>> {
    match items {
        [item] => Some(*item),
        _ => None,
    }
}

/// Whether an item is of `wanted` or one of its specialisations (`Age` is a `Quantity`, `code` is a `string`).
fn is_of_type(item: Item<'_>, wanted: &str) -> bool {
    match item {
        Item::Element { type_name: Some(type_name), .. } => {
            is_specialisation(type_name, wanted)
                || matches!(wanted, "Resource" | "DomainResource") && ResourceType::parse(type_name).is_ok()
        }
        Item::Element { value, type_name: None } => element_is_of_type(value, wanted),
        Item::Boolean(_) => wanted.eq_ignore_ascii_case("boolean"),
        Item::String(_) => wanted.eq_ignore_ascii_case("string"),
        Item::Number(_) => wanted.eq_ignore_ascii_case("decimal") || wanted.eq_ignore_ascii_case("integer"),
        Item::Resolved(resource_type) => is_resource_type(resource_type.as_str(), wanted),
    }
}

fn is_specialisation(type_name: &str, wanted: &str) -> bool {
    if type_name.eq_ignore_ascii_case(wanted) {
        return true;
    }
    let family: &[&str] = match wanted {
        "Quantity" => QUANTITY_TYPES,
        "string" | "String" => STRING_TYPES,
        "uri" => &["url", "canonical", "oid", "uuid"],
        "integer" | "Integer" => &["positiveInt", "unsignedInt"],
        _ => &[],
    };
    family.contains(&type_name)
}

/// The type of an element sent without a choice suffix, inferred from its JSON shape.
fn element_is_of_type(value: &Value, wanted: &str) -> bool {
    match value {
        // JSON does not tell a code from a dateTime: any string-valued primitive matches.
        Value::String(_) => STRING_PRIMITIVE_TYPES.iter().any(|primitive| primitive.eq_ignore_ascii_case(wanted)),
        Value::Bool(_) => wanted.eq_ignore_ascii_case("boolean"),
        Value::Number(number) => match wanted {
            "decimal" | "Decimal" => true,
            "integer" | "Integer" | "positiveInt" | "unsignedInt" => number.is_i64() || number.is_u64(),
            _ => false,
        },
        Value::Object(object) => match object.get("resourceType").and_then(Value::as_str) {
            Some(resource_type) => is_resource_type(resource_type, wanted),
            None => object_type(object).is_some_and(|inferred| {
                is_specialisation(inferred, wanted) || inferred == "Quantity" && QUANTITY_TYPES.contains(&wanted)
            }),
        },
        Value::Null | Value::Array(_) => false,
    }
}

fn is_resource_type(resource_type: &str, wanted: &str) -> bool {
    resource_type == wanted || wanted == "Resource" || wanted == "DomainResource"
}

/// The datatype a JSON object most likely is, from the elements it has.
pub(crate) fn object_type(object: &Map<String, Value>) -> Option<&'static str> {
    let has = |key: &str| object.contains_key(key);
    let value_is_number = object.get("value").is_some_and(Value::is_number);
    let inferred = if has("coding") {
        "CodeableConcept"
    } else if has("reference") {
        "Reference"
    } else if has("currency") && value_is_number {
        "Money"
    } else if value_is_number {
        "Quantity"
    } else if has("low") || has("high") {
        "Range"
    } else if has("numerator") || has("denominator") {
        "Ratio"
    } else if has("start") || has("end") {
        "Period"
    } else if has("family") || has("given") {
        "HumanName"
    } else if ["line", "city", "district", "state", "postalCode", "country"].iter().any(|key| has(key)) {
        "Address"
    } else if has("value") {
        let system = object.get("system").and_then(Value::as_str);
        if system.is_some_and(|system| CONTACT_POINT_SYSTEMS.contains(&system)) { "ContactPoint" } else { "Identifier" }
    } else if has("code") || has("system") {
        "Coding"
    } else if has("event") || has("repeat") {
        "Timing"
    } else if has("identifier") || has("display") {
        "Reference"
    } else if has("text") {
        "CodeableConcept"
    } else {
        return None;
    };
    Some(inferred)
}

const CONTACT_POINT_SYSTEMS: &[&str] = &["phone", "fax", "email", "pager", "url", "sms", "other"];

const QUANTITY_TYPES: &[&str] = &["Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity"];

const STRING_TYPES: &[&str] = &["code", "id", "markdown"];

const STRING_PRIMITIVE_TYPES: &[&str] = &[
    "string",
    "code",
    "id",
    "markdown",
    "uri",
    "url",
    "canonical",
    "oid",
    "uuid",
    "base64Binary",
    "date",
    "dateTime",
    "instant",
    "time",
];

/// The FHIR datatype a choice element's suffix names (`DateTime` in `effectiveDateTime`), or `None` when the suffix
/// is not a datatype, so that `code` does not pick up an unrelated `codeFilter`.
fn choice_type(suffix: &str) -> Option<&'static str> {
    if !suffix.starts_with(|first: char| first.is_ascii_uppercase()) {
        return None;
    }
    CHOICE_SUFFIXES.iter().find(|(candidate, _)| *candidate == suffix).map(|(_, type_name)| *type_name)
}

/// Every datatype R4 allows in a choice element, as its suffix and as its type name.
const CHOICE_SUFFIXES: &[(&str, &str)] = &[
    ("Base64Binary", "base64Binary"),
    ("Boolean", "boolean"),
    ("Canonical", "canonical"),
    ("Code", "code"),
    ("Date", "date"),
    ("DateTime", "dateTime"),
    ("Decimal", "decimal"),
    ("Id", "id"),
    ("Instant", "instant"),
    ("Integer", "integer"),
    ("Markdown", "markdown"),
    ("Oid", "oid"),
    ("PositiveInt", "positiveInt"),
    ("String", "string"),
    ("Time", "time"),
    ("UnsignedInt", "unsignedInt"),
    ("Uri", "uri"),
    ("Url", "url"),
    ("Uuid", "uuid"),
    ("Address", "Address"),
    ("Age", "Age"),
    ("Annotation", "Annotation"),
    ("Attachment", "Attachment"),
    ("CodeableConcept", "CodeableConcept"),
    ("Coding", "Coding"),
    ("ContactDetail", "ContactDetail"),
    ("ContactPoint", "ContactPoint"),
    ("Contributor", "Contributor"),
    ("Count", "Count"),
    ("DataRequirement", "DataRequirement"),
    ("Distance", "Distance"),
    ("Dosage", "Dosage"),
    ("Duration", "Duration"),
    ("Expression", "Expression"),
    ("HumanName", "HumanName"),
    ("Identifier", "Identifier"),
    ("Meta", "Meta"),
    ("Money", "Money"),
    ("ParameterDefinition", "ParameterDefinition"),
    ("Period", "Period"),
    ("Quantity", "Quantity"),
    ("Range", "Range"),
    ("Ratio", "Ratio"),
    ("Reference", "Reference"),
    ("RelatedArtifact", "RelatedArtifact"),
    ("SampledData", "SampledData"),
    ("Signature", "Signature"),
    ("Timing", "Timing"),
    ("TriggerDefinition", "TriggerDefinition"),
    ("UsageContext", "UsageContext"),
];
