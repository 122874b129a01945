//! Index extraction: the entries of known official examples, and one case per datatype conversion.

use expect_test::{Expect, expect};
use kmcr_fhir_search::{SearchParamRegistry, extract_index_entries};
use serde_json::{Value, json};

use crate::{read_json, render, shared_data};

/// The entries of `resource` for the listed parameters (all when `params` is empty).
fn check(resource: &Value, params: &[&str], expected: Expect) {
    let entries = extract_index_entries(SearchParamRegistry::official_r4(), resource);
    let selected: Vec<_> =
        entries.into_iter().filter(|entry| params.is_empty() || params.contains(&entry.param_code)).collect();
    expected.assert_eq(&render::entries(&selected));
}

fn example(file_name: &str) -> Value {
    read_json(&shared_data(&format!("fhir-r4-examples/{file_name}")))
}

#[test]
fn patient_example() {
    check(
        &example("Patient-example.json"),
        &[],
        expect![[r#"
            active = token -|true
            address = string "534 erewhon st peasantville, rainbow, vic 3999" (exact "534 Erewhon St PeasantVille, Rainbow, Vic  3999")
            address = string "534 erewhon st" (exact "534 Erewhon St")
            address = string "pleasantville" (exact "PleasantVille")
            address = string "rainbow" (exact "Rainbow")
            address = string "vic" (exact "Vic")
            address = string "3999" (exact "3999")
            address-city = string "pleasantville" (exact "PleasantVille")
            address-postalcode = string "3999" (exact "3999")
            address-state = string "vic" (exact "Vic")
            address-use = token -|home
            birthdate = date 1974-12-25T00:00:00.000Z .. 1974-12-25T23:59:59.999Z
            deceased = token -|false
            family = string "chalmers" (exact "Chalmers")
            family = string "windsor" (exact "Windsor")
            gender = token -|male
            given = string "peter" (exact "Peter")
            given = string "james" (exact "James")
            given = string "jim" (exact "Jim")
            identifier = token urn:oid:1.2.36.146.595.217.0.1|12345
            name = string "chalmers" (exact "Chalmers")
            name = string "peter" (exact "Peter")
            name = string "james" (exact "James")
            name = string "jim" (exact "Jim")
            name = string "windsor" (exact "Windsor")
            organization = reference Organization/1
            phone = token phone|(03) 5555 6473
            phone = token phone|(03) 3410 5613
            phone = token phone|(03) 5555 8834
            phonetic = string "chalmers" (exact "Chalmers")
            phonetic = string "peter" (exact "Peter")
            phonetic = string "james" (exact "James")
            phonetic = string "jim" (exact "Jim")
            phonetic = string "windsor" (exact "Windsor")
            telecom = token phone|(03) 5555 6473
            telecom = token phone|(03) 3410 5613
            telecom = token phone|(03) 5555 8834
        "#]],
    );
}

#[test]
fn observation_example() {
    check(
        &example("Observation-example.json"),
        &[],
        expect![[r#"
            category = token http://terminology.hl7.org/CodeSystem/observation-category|vital-signs ("Vital Signs")
            code = token http://loinc.org|29463-7 ("Body Weight")
            code = token http://loinc.org|3141-9 ("Body weight Measured")
            code = token http://snomed.info/sct|27113001 ("Body weight")
            code = token http://acme.org/devices/clinical-codes|body-weight ("Body Weight")
            date = date 2016-03-28T00:00:00.000Z .. 2016-03-28T23:59:59.999Z
            encounter = reference Encounter/example
            patient = reference Patient/example
            status = token -|final
            subject = reference Patient/example
            value-quantity = quantity 185 http://unitsofmeasure.org|[lb_av] (unit "lbs")
            code-value-quantity = composite [token http://loinc.org|29463-7 ("Body Weight"); quantity 185 http://unitsofmeasure.org|[lb_av] (unit "lbs")]
            code-value-quantity = composite [token http://loinc.org|3141-9 ("Body weight Measured"); quantity 185 http://unitsofmeasure.org|[lb_av] (unit "lbs")]
            code-value-quantity = composite [token http://snomed.info/sct|27113001 ("Body weight"); quantity 185 http://unitsofmeasure.org|[lb_av] (unit "lbs")]
            code-value-quantity = composite [token http://acme.org/devices/clinical-codes|body-weight ("Body Weight"); quantity 185 http://unitsofmeasure.org|[lb_av] (unit "lbs")]
        "#]],
    );
}

/// Each component's code is indexed together with its own value only: systolic 107 and diastolic 60, never systolic 60.
#[test]
fn composites_pair_the_values_of_one_component() {
    check(
        &example("Observation-blood-pressure.json"),
        &["component-code-value-quantity", "combo-code-value-quantity", "code-value-quantity"],
        expect![[r#"
            component-code-value-quantity = composite [token http://loinc.org|8480-6 ("Systolic blood pressure"); quantity 107 http://unitsofmeasure.org|mm[Hg] (unit "mmHg")]
            component-code-value-quantity = composite [token http://snomed.info/sct|271649006 ("Systolic blood pressure"); quantity 107 http://unitsofmeasure.org|mm[Hg] (unit "mmHg")]
            component-code-value-quantity = composite [token http://acme.org/devices/clinical-codes|bp-s ("Systolic Blood pressure"); quantity 107 http://unitsofmeasure.org|mm[Hg] (unit "mmHg")]
            component-code-value-quantity = composite [token http://loinc.org|8462-4 ("Diastolic blood pressure"); quantity 60 http://unitsofmeasure.org|mm[Hg] (unit "mmHg")]
        "#]],
    );
}

/// A composite's components come from the same item, across every kind the official definitions use: a reference and
/// a token (DocumentReference relationship), a token read through `%resource` beside numbers (MolecularSequence).
#[test]
fn composites_of_references_and_numbers() {
    let document = json!({
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": {"url": "http://example.org/a.pdf"}}],
        "relatesTo": [
            {"code": "replaces", "target": {"reference": "DocumentReference/old"}},
            {"code": "appends", "target": {"reference": "DocumentReference/base", "identifier": {"value": "x"}}},
        ],
    });
    check(
        &document,
        &["relationship"],
        expect![[r#"
        relationship = composite [reference DocumentReference/old; token -|replaces]
        relationship = composite [reference DocumentReference/base; token -|appends]
    "#]],
    );
    let sequence = json!({
        "resourceType": "MolecularSequence",
        "coordinateSystem": 0,
        "referenceSeq": {"chromosome": {"coding": [{"code": "1"}]}, "windowStart": 10, "windowEnd": 20},
        "variant": [{"start": 12, "end": 13}, {"start": 15, "end": 16}],
    });
    check(
        &sequence,
        &["chromosome-variant-coordinate", "chromosome-window-coordinate"],
        expect![[r#"
        chromosome-variant-coordinate = composite [token -|1; number 12; number 13]
        chromosome-variant-coordinate = composite [token -|1; number 15; number 16]
        chromosome-window-coordinate = composite [token -|1; number 10; number 20]
    "#]],
    );
}

/// An Observation without a value, or a value of another type, has no tuple for the composites that need it.
#[test]
fn composites_need_every_component() {
    let observation = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "valueString": "regular",
    });
    check(
        &observation,
        &["code-value-quantity", "code-value-string", "code-value-concept", "combo-code-value-quantity"],
        expect![[r#"
            code-value-string = composite [token http://loinc.org|8867-4; string "regular" (exact "regular")]
        "#]],
    );
}

#[test]
fn condition_and_medication_request_examples() {
    check(
        &example("Condition-example.json"),
        &["code", "patient", "subject", "onset-date", "clinical-status", "body-site"],
        expect![[r#"
            body-site = token http://snomed.info/sct|49521004 ("Left Ear")
            clinical-status = token http://terminology.hl7.org/CodeSystem/condition-clinical|active
            code = token http://snomed.info/sct|39065001 ("Burnt Ear")
            onset-date = date 2012-05-24T00:00:00.000Z .. 2012-05-24T23:59:59.999Z
            patient = reference Patient/example
            subject = reference Patient/example
        "#]],
    );
    check(
        &example("MedicationRequest-medrx0308.json"),
        &["code", "medication", "subject", "authoredon", "intent"],
        expect![[r#"
            authoredon = date 2015-01-15T00:00:00.000Z .. 2015-01-15T23:59:59.999Z
            code = token http://www.nlm.nih.gov/research/umls/rxnorm|856907 ("Vicodin 5/500 Oral Tablet")
            intent = token -|order
            subject = reference Patient/pat1
        "#]],
    );
}

#[test]
fn tokens_from_each_datatype() {
    let patient = json!({
        "resourceType": "Patient",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009", "type": {"text": "NHS"}}],
        "telecom": [{"system": "email", "value": "a@example.org"}, {"system": "phone", "value": "0113"}],
        "gender": "female",
        "active": false,
        "meta": {"tag": [{"system": "http://x/tags", "code": "t1", "display": "Tag one"}], "security": [{"code": "R"}]},
        "language": "en",
        "maritalStatus": {"text": "married, text only"},
    });
    check(
        &patient,
        &["identifier", "email", "phone", "gender", "active", "_tag", "_security", "deceased", "language"],
        expect![[r#"
            _security = token -|R
            _tag = token http://x/tags|t1 ("Tag one")
            active = token -|false
            deceased = token -|false
            email = token email|a@example.org
            gender = token -|female
            identifier = token https://fhir.nhs.uk/Id/nhs-number|9000000009 ("NHS")
            phone = token phone|0113
        "#]],
    );
    let observation = json!({
        "resourceType": "Observation",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1"}, {"display": "no code"}], "text": "Concept"},
        "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "2"}]},
        "component": [{"code": {"coding": [{"code": "3"}]}, "valueBoolean": true}],
    });
    check(
        &observation,
        &["code", "value-concept", "combo-value-concept", "component-code"],
        expect![[r#"
            code = token http://loinc.org|1 ("Concept")
            code = token -|- ("Concept")
            component-code = token -|3
            value-concept = token http://snomed.info/sct|2
        "#]],
    );
}

#[test]
fn strings_from_names_addresses_and_text() {
    let practitioner = json!({
        "resourceType": "Practitioner",
        "name": [{"text": "Dr  Zoë  O'Brien", "family": "O'Brien", "given": ["Zoë", "Anne"], "prefix": ["Dr"]}],
        "address": [{"line": ["1 Rue Ça"], "city": "Łódź", "postalCode": "LS1 4AP", "country": "PL"}],
    });
    check(
        &practitioner,
        &["name", "family", "given", "address", "address-city", "address-postalcode"],
        expect![[r#"
            address = string "1 rue ca" (exact "1 Rue Ça")
            address = string "lodz" (exact "Łódź")
            address = string "ls1 4ap" (exact "LS1 4AP")
            address = string "pl" (exact "PL")
            address-city = string "lodz" (exact "Łódź")
            address-postalcode = string "ls1 4ap" (exact "LS1 4AP")
            family = string "o'brien" (exact "O'Brien")
            given = string "zoe" (exact "Zoë")
            given = string "anne" (exact "Anne")
            name = string "o'brien" (exact "O'Brien")
            name = string "zoe" (exact "Zoë")
            name = string "anne" (exact "Anne")
            name = string "dr" (exact "Dr")
            name = string "dr zoe o'brien" (exact "Dr  Zoë  O'Brien")
        "#]],
    );
}

#[test]
fn dates_from_each_datatype() {
    let encounter = json!({"resourceType": "Encounter", "period": {"start": "2020-03-04T10:00:00+01:00"}});
    check(
        &encounter,
        &["date"],
        expect![[r#"
            date = date 2020-03-04T09:00:00.000Z .. +inf
        "#]],
    );
    let procedure = json!({"resourceType": "Procedure", "performedPeriod": {"end": "2021"}});
    check(
        &procedure,
        &["date"],
        expect![[r#"
            date = date -inf .. 2021-12-31T23:59:59.999Z
        "#]],
    );
    let medication_request = json!({
        "resourceType": "MedicationRequest",
        "authoredOn": "2019-02",
        "dosageInstruction": [{"timing": {"event": ["2019-02-03T08:00:00Z", "not a date"]}}],
    });
    check(
        &medication_request,
        &["authoredon"],
        expect![[r#"
            authoredon = date 2019-02-01T00:00:00.000Z .. 2019-02-28T23:59:59.999Z
        "#]],
    );
    let condition = json!({"resourceType": "Condition", "onsetAge": {"value": 3}, "abatementDateTime": "2001-01-01"});
    check(
        &condition,
        &["onset-date", "abatement-date", "onset-age"],
        expect![[r#"
            abatement-date = date 2001-01-01T00:00:00.000Z .. 2001-01-01T23:59:59.999Z
            onset-age = quantity 3 -|-
        "#]],
    );
    let care_plan = json!({
        "resourceType": "CarePlan",
        "activity": [
            {"detail": {"scheduledTiming": {"event": ["2019-02-03T08:00:00Z", "not a date", "2019-02-04"]}}},
            {"detail": {"scheduledString": "daily"}},
        ],
    });
    check(
        &care_plan,
        &["activity-date"],
        expect![[r#"
        activity-date = date 2019-02-03T08:00:00.000Z .. 2019-02-03T08:00:00.999Z
        activity-date = date 2019-02-04T00:00:00.000Z .. 2019-02-04T23:59:59.999Z
    "#]],
    );
    let observation = json!({"resourceType": "Observation", "effectiveInstant": "2020-01-01T00:00:00.123Z"});
    check(
        &observation,
        &["date"],
        expect![[r#"
            date = date 2020-01-01T00:00:00.123Z .. 2020-01-01T00:00:00.123Z
        "#]],
    );
}

#[test]
fn references_relative_absolute_contained_and_logical() {
    let observation = json!({
        "resourceType": "Observation",
        "subject": {"reference": "Patient/p1/_history/3"},
        "performer": [
            {"reference": "#org1"},
            {"reference": "urn:uuid:7b4b1c1e-4c1f-4c1f-8c1f-1c1f4c1f4c1f"},
            {"reference": "https://other.example/fhir/Practitioner/x"},
            {"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RR8"}},
            {"reference": "Practitioner/not an id"},
        ],
        "hasMember": [{"reference": "Observation/o2"}],
    });
    check(
        &observation,
        &["subject", "patient", "performer", "has-member"],
        expect![[r#"
            has-member = reference Observation/o2
            patient = reference Patient/p1
            performer = reference url urn:uuid:7b4b1c1e-4c1f-4c1f-8c1f-1c1f4c1f4c1f
            performer = reference url https://other.example/fhir/Practitioner/x
            performer = token https://fhir.nhs.uk/Id/ods-organization-code|RR8
            performer = reference url Practitioner/not an id
            subject = reference Patient/p1
        "#]],
    );
    let plan_definition = json!({"resourceType": "PlanDefinition", "library": ["http://example.org/Library/l1|1.0"]});
    check(
        &plan_definition,
        &["depends-on"],
        expect![[r#"
            depends-on = reference url http://example.org/Library/l1|1.0
        "#]],
    );
    let bundle = json!({"resourceType": "Bundle", "type": "document", "entry": [{"resource": {"resourceType": "Composition", "id": "c1"}}]});
    check(
        &bundle,
        &["composition", "type"],
        expect![[r#"
            composition = reference Composition/c1
            type = token -|document
        "#]],
    );
}

#[test]
fn quantities_numbers_and_uris() {
    let observation = json!({
        "resourceType": "Observation",
        "valueQuantity": {"value": 5.4, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
        "component": [{"valueRange": {"low": {"value": 1}}}],
        "meta": {"profile": ["http://example.org/StructureDefinition/p"], "source": "urn:source"},
    });
    check(
        &observation,
        &["value-quantity", "combo-value-quantity", "_profile", "_source"],
        expect![[r#"
            _profile = uri http://example.org/StructureDefinition/p
            _source = uri urn:source
            value-quantity = quantity 5.4 http://unitsofmeasure.org|mmol/L (unit "mmol/L")
        "#]],
    );
    let invoice = json!({"resourceType": "Invoice", "totalGross": {"value": 10.5, "currency": "GBP"}});
    check(
        &invoice,
        &["totalgross"],
        expect![[r#"
        totalgross = quantity 10.5 urn:iso:std:iso:4217|GBP
    "#]],
    );
    let risk = json!({"resourceType": "RiskAssessment", "prediction": [{"probabilityDecimal": 0.25}]});
    check(
        &risk,
        &["probability"],
        expect![[r#"
            probability = number 0.25
        "#]],
    );
}

#[test]
fn duplicates_within_a_parameter_are_dropped() {
    let patient = json!({
        "resourceType": "Patient",
        "name": [{"family": "Smith", "given": ["Ann"]}, {"family": "Smith", "given": ["Ann", "Smith"]}],
    });
    check(
        &patient,
        &["family", "name"],
        expect![[r#"
            family = string "smith" (exact "Smith")
            name = string "smith" (exact "Smith")
            name = string "ann" (exact "Ann")
        "#]],
    );
}

#[test]
fn unknown_or_missing_resource_type_yields_nothing() {
    let registry = SearchParamRegistry::official_r4();
    assert!(extract_index_entries(registry, &json!({"resourceType": "Nonsense", "id": "1"})).is_empty());
    assert!(extract_index_entries(registry, &json!({"id": "1"})).is_empty());
    assert!(extract_index_entries(registry, &json!([1, 2])).is_empty());
}

#[test]
fn id_and_last_updated_are_not_indexed() {
    let patient = json!({"resourceType": "Patient", "id": "p1", "meta": {"lastUpdated": "2020-01-01T00:00:00Z"}});
    check(&patient, &["_id", "_lastUpdated"], expect![[""]]);
}
