//! Generates `src/official_r4_params.rs` from the official R4 SearchParameter bundle (rust-analyzer's sourcegen
//! pattern): when the committed file differs from what the bundle gives, the test writes the new file and fails.
//!
//! An official parameter covers several base types with one expression joined by `|` (`clinical-patient`); each base
//! gets only the union parts rooted at it. Parts rooted at no base (`name | alias` of InsurancePlan) go to every base
//! of the parameter; parts rooted at a type the parameter does not list are dropped.
//!
//! A composite parameter also gets a row in the table of composites: its components, each with the code and type of
//! the SearchParameter the component's `definition` names, and the component's expression, which is evaluated on each
//! item the composite's own expression picks.

use std::collections::BTreeSet;

use kmcr_fhir::resource_type::ALL_RESOURCE_TYPES;
use kmcr_fhir_search::fhirpath::split_union;
use serde_json::Value;

use crate::{read_json, shared_data};

const GENERATED_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/official_r4_params.rs");
const BUNDLE_PATH: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/fhir-r4-examples/Bundle-searchParams.json");

#[test]
fn official_r4_params_are_up_to_date() {
    let bundle = read_json(std::path::Path::new(BUNDLE_PATH));
    let generated = generate(&bundle);
    let committed = std::fs::read_to_string(GENERATED_PATH).unwrap_or_default();
    if committed != generated {
        std::fs::write(GENERATED_PATH, &generated).unwrap();
        panic!("{GENERATED_PATH} was out of date and has been regenerated: review it and run the tests again");
    }
}

#[test]
fn bundle_path_is_the_shared_data_path() {
    assert_eq!(
        std::fs::canonicalize(BUNDLE_PATH).unwrap(),
        std::fs::canonicalize(shared_data("fhir-r4-examples/Bundle-searchParams.json")).unwrap()
    );
}

struct Row {
    base: String,
    code: String,
    param_type: &'static str,
    expression: Option<String>,
    targets: Vec<String>,
}

fn generate(bundle: &Value) -> String {
    let mut rows: Vec<Row> =
        bundle["entry"].as_array().unwrap().iter().flat_map(|entry| rows_of(&entry["resource"])).collect();
    rows.sort_by(|left, right| (&left.base, &left.code).cmp(&(&right.base, &right.code)));
    let any_type: BTreeSet<&str> = ALL_RESOURCE_TYPES.iter().copied().filter(|name| *name != "Parameters").collect();
    let mut text = String::from(HEADER);
    text.push_str(&any_type_constant(&any_type));
    text.push_str("\npub(crate) static OFFICIAL_R4_PARAMS: &[OfficialParam] = &[\n");
    for row in &rows {
        text.push_str(&row_line(row, &any_type));
    }
    text.push_str("];\n");
    text.push_str(&composites_table(bundle));
    text
}

/// The table of composite parameters' components, one line per composite and base type.
fn composites_table(bundle: &Value) -> String {
    let search_parameters: Vec<&Value> =
        bundle["entry"].as_array().unwrap().iter().map(|entry| &entry["resource"]).collect();
    let by_url: std::collections::HashMap<&str, &Value> = search_parameters
        .iter()
        .map(|search_parameter| (search_parameter["url"].as_str().unwrap(), *search_parameter))
        .collect();
    let mut lines = Vec::new();
    for search_parameter in search_parameters.iter().filter(|search_parameter| search_parameter["type"] == "composite")
    {
        let code = search_parameter["code"].as_str().unwrap();
        let id = search_parameter["id"].as_str().unwrap();
        let components: Vec<String> = search_parameter["component"]
            .as_array()
            .unwrap()
            .iter()
            .map(|component| {
                let definition = by_url[component["definition"].as_str().unwrap()];
                let component_code = definition["code"].as_str().unwrap();
                let expression = component_expression(id, component_code, component["expression"].as_str().unwrap());
                format!(
                    "({:?}, {component_code:?}, T::{}, {expression:?})",
                    format!("{code}${component_code}"),
                    rust_param_type(definition["type"].as_str().unwrap())
                )
            })
            .collect();
        for base in search_parameter["base"].as_array().unwrap() {
            lines.push(format!("    ({:?}, {code:?}, &[{}]),\n", base.as_str().unwrap(), components.join(", ")));
        }
    }
    lines.sort();
    let mut text = String::from(COMPOSITES_HEADER);
    text.extend(lines);
    text.push_str("];\n");
    text
}

/// A component's expression, with the one known error of the R4 definitions mended: DocumentReference-relationship
/// gives its reference component (`relatesto`) the expression `code` and its token component (`relation`) the
/// expression `target`, the wrong way round. R5 keeps the components in that order and swaps the expressions.
fn component_expression<'a>(composite_id: &str, component_code: &str, expression: &'a str) -> &'a str {
    match (composite_id, component_code, expression) {
        ("DocumentReference-relationship", "relatesto", "code") => "target",
        ("DocumentReference-relationship", "relation", "target") => "code",
        _ => expression,
    }
}

const COMPOSITES_HEADER: &str = "
/// The components of each composite parameter, one line per parameter and base type: (base, code, components). A
/// component is (the code its index rows are stored under, the code of the parameter it is defined by, that
/// parameter's type, the expression evaluated on each item the composite's expression picks).
pub(crate) type OfficialComposite = (&'static str, &'static str, &'static [OfficialComponent]);

pub(crate) type OfficialComponent = (&'static str, &'static str, T, &'static str);

pub(crate) static OFFICIAL_R4_COMPOSITES: &[OfficialComposite] = &[
";

const HEADER: &str = "\
//! The official FHIR R4 search parameters, one line per parameter and base type: (base, code, type, expression for
//! that base only, target types). Generated from the R4 SearchParameter bundle by `tests/it/sourcegen.rs`: do not
//! edit; run `cargo test -p kmcr-fhir-search` to regenerate.

use crate::SearchParamType as T;

pub(crate) type OfficialParam = (&'static str, &'static str, T, Option<&'static str>, &'static [&'static str]);
";

/// One row per base type of an official SearchParameter.
fn rows_of(search_parameter: &Value) -> Vec<Row> {
    let text_list = |key: &str| -> Vec<String> {
        search_parameter[key]
            .as_array()
            .map_or(Vec::new(), |values| values.iter().map(|value| value.as_str().unwrap().to_string()).collect())
    };
    let bases = text_list("base");
    let union_parts = search_parameter["expression"].as_str().map(split_union).unwrap_or_default();
    bases
        .iter()
        .map(|base| {
            let parts: Vec<&str> =
                union_parts.iter().copied().filter(|part| part_root(part).is_none_or(|root| root == base)).collect();
            Row {
                base: base.clone(),
                code: search_parameter["code"].as_str().unwrap().to_string(),
                param_type: rust_param_type(search_parameter["type"].as_str().unwrap()),
                expression: (!parts.is_empty()).then(|| parts.join(" | ")),
                targets: text_list("target"),
            }
        })
        .collect()
}

/// The type a union part starts from (`Observation` in `(Observation.value as Quantity)`), or `None` when it starts
/// from a member name, relative to whatever resource it is evaluated on.
fn part_root(part: &str) -> Option<&str> {
    let start = part.trim_start_matches(['(', ' ']);
    let name_length = start.bytes().take_while(|byte| byte.is_ascii_alphanumeric() || *byte == b'_').count();
    let name = &start[..name_length];
    name.starts_with(|first: char| first.is_ascii_uppercase()).then_some(name)
}

fn rust_param_type(fhir_type: &str) -> &'static str {
    match fhir_type {
        "number" => "Number",
        "date" => "Date",
        "string" => "String",
        "token" => "Token",
        "reference" => "Reference",
        "composite" => "Composite",
        "quantity" => "Quantity",
        "uri" => "Uri",
        "special" => "Special",
        other => panic!("unknown SearchParameter.type {other}"),
    }
}

fn row_line(row: &Row, any_type: &BTreeSet<&str>) -> String {
    let expression = match &row.expression {
        Some(expression) => format!("Some({expression:?})"),
        None => "None".to_string(),
    };
    let target_set: BTreeSet<&str> = row.targets.iter().map(String::as_str).collect();
    let targets = if target_set == *any_type {
        "ANY".to_string()
    } else {
        let quoted: Vec<String> = row.targets.iter().map(|target| format!("{target:?}")).collect();
        format!("&[{}]", quoted.join(", "))
    };
    format!("    ({:?}, {:?}, T::{}, {expression}, {targets}),\n", row.base, row.code, row.param_type)
}

/// The list of every type but Parameters, wrapped at the workspace's line width.
fn any_type_constant(any_type: &BTreeSet<&str>) -> String {
    let mut text = String::from(
        "\n/// Every resource type but Parameters: what the official definitions list as the targets of a reference to any\n\
         /// resource.\nconst ANY: &[&str] = &[\n",
    );
    let mut line = String::from("   ");
    for name in any_type {
        let item = format!(" {name:?},");
        if line.len() + item.len() > 120 {
            text.push_str(&line);
            text.push('\n');
            line = String::from("   ");
        }
        line.push_str(&item);
    }
    text.push_str(&line);
    text.push_str("\n];\n");
    text
}
