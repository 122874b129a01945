//! The FHIRPath subset: every official expression compiles, and evaluation picks the right elements.

use expect_test::{Expect, expect};
use kmcr_fhir_search::fhirpath::{Item, compile};
use kmcr_fhir_search::{SearchParamRegistry, SearchParamType};
use serde_json::{Value, json};

use crate::{read_json, shared_data};

/// Compiles every expression of the official bundle as published (before splitting per base) and lists those that
/// fail, by SearchParameter id and type.
#[test]
fn every_official_expression_compiles() {
    let bundle = read_json(&shared_data("fhir-r4-examples/Bundle-searchParams.json"));
    let mut n_compiled = 0;
    let mut failures = String::new();
    for entry in bundle["entry"].as_array().unwrap() {
        let search_parameter = &entry["resource"];
        let Some(expression) = search_parameter["expression"].as_str() else { continue };
        match compile(expression) {
            Ok(_) => n_compiled += 1,
            Err(error) => failures.push_str(&format!(
                "{} ({}): {error}\n",
                search_parameter["id"].as_str().unwrap(),
                search_parameter["type"].as_str().unwrap()
            )),
        }
    }
    assert_eq!(n_compiled, 1372);
    expect![[""]].assert_eq(&failures);
}

/// The per-base expressions of the registry all compiled: every parameter with an expression can be evaluated.
#[test]
fn every_registry_expression_is_compiled() {
    let registry = SearchParamRegistry::official_r4();
    let uncompiled: Vec<String> = registry
        .all()
        .filter(|def| def.expression.is_some() && registry.compiled_expression(def.resource_type, def.code).is_none())
        .map(|def| format!("{} {}", def.resource_type, def.code))
        .collect();
    assert_eq!(uncompiled, Vec::<String>::new());
    let n_without_expression = registry.all().filter(|def| def.expression.is_none()).count();
    // `_text`, `_content` and `_query` on each of the 146 types.
    assert_eq!(n_without_expression, 3 * 146);
    let n_indexed = registry.all().filter(|def| !matches!(def.param_type, SearchParamType::Composite)).count();
    assert!(n_indexed > 1000);
}

/// Every composite's expression and its components' compiled too, and the parameters that are unions of others, whose
/// values are looked up in the others' index rows rather than indexed twice.
#[test]
fn composites_compile_and_unions_are_found() {
    let registry = SearchParamRegistry::official_r4();
    let mut n_composites = 0;
    let mut unions = String::new();
    for def in registry.all() {
        if def.param_type == SearchParamType::Composite {
            n_composites += 1;
            let components = registry.composite_components(def.resource_type, def.code);
            assert!(components.len() >= 2, "{} {}", def.resource_type, def.code);
            for component in components {
                let compiled = kmcr_fhir_search::fhirpath::compile(component.expression);
                assert!(compiled.is_ok(), "{} {}: {}", def.resource_type, def.code, component.expression);
            }
        }
        let stored_under = registry.stored_under(def.resource_type, def.code);
        if stored_under != [def.code] {
            unions.push_str(&format!("{} {} = {}\n", def.resource_type, def.code, stored_under.join(" + ")));
        }
    }
    assert_eq!(n_composites, 72);
    expect![[r#"
        Observation combo-code = code + component-code
        Observation combo-code-value-concept = code-value-concept + component-code-value-concept
        Observation combo-code-value-quantity = code-value-quantity + component-code-value-quantity
        Observation combo-data-absent-reason = component-data-absent-reason + data-absent-reason
        Observation combo-value-concept = component-value-concept + value-concept
        Observation combo-value-quantity = component-value-quantity + value-quantity
    "#]]
    .assert_eq(&unions);
}

fn check(expression: &str, resource: Value, expected: Expect) {
    let compiled = compile(expression).unwrap_or_else(|error| panic!("{expression}: {error}"));
    let items = compiled.evaluate(&resource);
    let rendered: String = items.iter().map(|item| format!("{}\n", render_item(item))).collect();
    expected.assert_eq(&rendered);
}

fn render_item(item: &Item<'_>) -> String {
    match item {
        Item::Element { value, type_name } => format!("{}: {value}", type_name.unwrap_or("?")),
        Item::Boolean(boolean) => format!("boolean {boolean}"),
        Item::String(text) => format!("string {text:?}"),
        Item::Number(number) => format!("number {number}"),
        Item::Resolved(resource_type) => format!("resolved {resource_type}"),
    }
}

#[test]
fn navigates_members_and_arrays() {
    let patient = json!({
        "resourceType": "Patient",
        "name": [{"family": "Chalmers", "given": ["Peter", "James"]}, {"given": ["Jim"]}],
    });
    check(
        "Patient.name.given",
        patient.clone(),
        expect![[r#"
            ?: "Peter"
            ?: "James"
            ?: "Jim"
        "#]],
    );
    check("Observation.code", patient.clone(), expect![[""]]);
    check(
        "Resource.name.family",
        patient.clone(),
        expect![[r#"
        ?: "Chalmers"
    "#]],
    );
    check(
        "name.given.first()",
        patient,
        expect![[r#"
        ?: "Peter"
    "#]],
    );
}

#[test]
fn choice_elements_carry_their_type() {
    let observation = json!({
        "resourceType": "Observation",
        "valueQuantity": {"value": 67.1, "unit": "kg"},
        "effectivePeriod": {"start": "2020-01-01"},
        "valueSet": "not a choice: Set is no datatype",
        "component": [{"valueCodeableConcept": {"text": "a"}}, {"valueQuantity": {"value": 1}}],
    });
    check(
        "Observation.value",
        observation.clone(),
        expect![[r#"
        Quantity: {"value":67.1,"unit":"kg"}
    "#]],
    );
    check(
        "(Observation.effective)",
        observation.clone(),
        expect![[r#"
        Period: {"start":"2020-01-01"}
    "#]],
    );
    check("(Observation.value as CodeableConcept)", observation.clone(), expect![[""]]);
    check(
        "(Observation.value as Quantity) | (Observation.component.value as Quantity)",
        observation.clone(),
        expect![[r#"
            Quantity: {"value":67.1,"unit":"kg"}
            Quantity: {"value":1}
        "#]],
    );
    check(
        "Observation.component.value.ofType(CodeableConcept)",
        observation.clone(),
        expect![[r#"
        CodeableConcept: {"text":"a"}
    "#]],
    );
    check(
        "Observation.value.is(Quantity)",
        observation,
        expect![[r#"
        boolean true
    "#]],
    );
}

#[test]
fn as_and_is_accept_specialisations_and_shapes() {
    let condition =
        json!({"resourceType": "Condition", "onsetAge": {"value": 52, "unit": "a"}, "abatementString": "x"});
    check(
        "Condition.onset.as(Age) | Condition.onset.as(Range)",
        condition.clone(),
        expect![[r#"
        Age: {"value":52,"unit":"a"}
    "#]],
    );
    check(
        "Condition.onset as Quantity",
        condition.clone(),
        expect![[r#"
        Age: {"value":52,"unit":"a"}
    "#]],
    );
    check(
        "Condition.abatement.as(string)",
        condition,
        expect![[r#"
        string: "x"
    "#]],
    );
    let group = json!({"resourceType": "Group", "quantity": 3, "characteristic": [{"valueQuantity": {"value": 1}}]});
    check(
        "Group.quantity as integer",
        group,
        expect![[r#"
        ?: 3
    "#]],
    );
}

#[test]
fn where_resolve_is_keeps_references_to_that_type() {
    let account = json!({
        "resourceType": "Account",
        "subject": [
            {"reference": "Patient/1"},
            {"reference": "Group/2"},
            {"reference": "urn:uuid:8a6e1b2c-0000-4000-8000-000000000000"},
            {"reference": "http://example.org/fhir/Patient/3/_history/2"},
            {"reference": "#contained"},
            {"reference": "urn:uuid:8a6e1b2c-0000-4000-8000-000000000001", "type": "Patient"},
            {"display": "no reference"},
        ],
    });
    check(
        "Account.subject.where(resolve() is Patient)",
        account.clone(),
        expect![[r#"
            ?: {"reference":"Patient/1"}
            ?: {"reference":"http://example.org/fhir/Patient/3/_history/2"}
            ?: {"reference":"urn:uuid:8a6e1b2c-0000-4000-8000-000000000001","type":"Patient"}
        "#]],
    );
    check(
        "Account.subject.resolve()",
        account,
        expect![[r#"
        resolved Patient
        resolved Group
        resolved Patient
        resolved Patient
    "#]],
    );
}

#[test]
fn where_with_equality_and_extensions() {
    let patient = json!({
        "resourceType": "Patient",
        "telecom": [{"system": "phone", "value": "1"}, {"system": "email", "value": "a@b"}],
        "extension": [{"url": "http://x/a", "valueString": "A"}, {"url": "http://x/b", "valueCode": "B"}],
    });
    check(
        "Patient.telecom.where(system='email')",
        patient.clone(),
        expect![[r#"
        ?: {"system":"email","value":"a@b"}
    "#]],
    );
    check(
        "Patient.extension('http://x/b').value",
        patient.clone(),
        expect![[r#"
        code: "B"
    "#]],
    );
    check(
        "Patient.extension.where(url = 'http://x/a').value",
        patient.clone(),
        expect![[r#"
        string: "A"
    "#]],
    );
    check(
        "Patient.telecom.where(system != 'email').exists()",
        patient.clone(),
        expect![[r#"
        boolean true
    "#]],
    );
    check(
        "Patient.telecom.exists(system = 'fax')",
        patient,
        expect![[r#"
        boolean false
    "#]],
    );
}

#[test]
fn deceased_expression_is_three_valued() {
    let expression = "Patient.deceased.exists() and Patient.deceased != false";
    check(
        expression,
        json!({"resourceType": "Patient"}),
        expect![[r#"
        boolean false
    "#]],
    );
    check(
        expression,
        json!({"resourceType": "Patient", "deceasedBoolean": false}),
        expect![[r#"
        boolean false
    "#]],
    );
    check(
        expression,
        json!({"resourceType": "Patient", "deceasedBoolean": true}),
        expect![[r#"
        boolean true
    "#]],
    );
    check(
        expression,
        json!({"resourceType": "Patient", "deceasedDateTime": "2020-01-01"}),
        expect![[r#"
        boolean true
    "#]],
    );
}

#[test]
fn indexer_and_inline_resources() {
    let bundle = json!({
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Composition", "id": "c1"}}, {"resource": {"resourceType": "Patient"}}],
    });
    check(
        "Bundle.entry[0].resource",
        bundle.clone(),
        expect![[r#"
        ?: {"resourceType":"Composition","id":"c1"}
    "#]],
    );
    check("Bundle.entry[5].resource", bundle.clone(), expect![[""]]);
    check(
        "Bundle.entry.resource.ofType(Patient) | %resource.type",
        bundle,
        expect![[r#"
        ?: {"resourceType":"Patient"}
    "#]],
    );
}

#[test]
fn logic_and_literals() {
    let resource = json!({"resourceType": "Basic", "active": true});
    check(
        "true and false",
        resource.clone(),
        expect![[r#"
        boolean false
    "#]],
    );
    check(
        "Basic.missing or true",
        resource.clone(),
        expect![[r#"
        boolean true
    "#]],
    );
    check("Basic.missing and true", resource.clone(), expect![[""]]);
    check(
        "true xor Basic.active",
        resource.clone(),
        expect![[r#"
        boolean false
    "#]],
    );
    check(
        "Basic.active.not()",
        resource.clone(),
        expect![[r#"
        boolean false
    "#]],
    );
    check(
        "'it' | 'a\\'b' | 3.5 | $this.active.empty()",
        resource,
        expect![[r#"
            string "it"
            string "a'b"
            number 3.5
            boolean false
        "#]],
    );
}

#[test]
fn errors_name_what_is_unsupported() {
    let errors: String = [
        "Patient.name.select(given)",
        "Patient.name.where()",
        "Patient.birthDate > 2020",
        "Patient.a + Patient.b",
        "Patient.name.given contains 'x'",
        "Patient.name implies true",
        "Patient.name[",
        "Patient.name.where(use = 'official'",
        "Patient.identifier.where(system = 'x",
        "Patient..name",
        "Patient.name.as()",
        "Patient.name[first()]",
        "Patient # name",
    ]
    .iter()
    .map(|source| format!("{source}: {}\n", compile(source).unwrap_err()))
    .collect();
    expect![[r#"
        Patient.name.select(given): unsupported function 'select'
        Patient.name.where(): wrong number of arguments to 'where'
        Patient.birthDate > 2020: unsupported operator '>'
        Patient.a + Patient.b: unsupported operator '+'
        Patient.name.given contains 'x': unsupported operator 'contains'
        Patient.name implies true: unsupported operator 'implies'
        Patient.name[: unexpected token at offset 13: expected an integer index
        Patient.name.where(use = 'official': unexpected token at offset 35: expected )
        Patient.identifier.where(system = 'x: unterminated string literal
        Patient..name: unexpected token at offset 8: expected a name
        Patient.name.as(): wrong number of arguments to 'as'
        Patient.name[first()]: unexpected token at offset 13: expected an integer index
        Patient # name: unexpected character at offset 8
    "#]]
    .assert_eq(&errors);
}

#[test]
fn deep_nesting_is_refused() {
    let source = format!("{}Patient.name{}", "(".repeat(200), ")".repeat(200));
    assert_eq!(compile(&source).unwrap_err().to_string(), "expression nested too deeply");
}
