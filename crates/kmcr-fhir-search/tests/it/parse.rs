//! Search parsing: query strings (already percent-decoded; `&` separates pairs) and what they parse to, including
//! every error with the message a client sees.

use expect_test::{Expect, expect};
use kmcr_fhir::ResourceType;
use kmcr_fhir_search::{SearchParamRegistry, parse_search};

use crate::render;

const MAX_COUNT: usize = 100;

fn check_with(resource_type: &str, query: &str, lenient: bool, expected: Expect) {
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name.to_string(), value.to_string())
        })
        .collect();
    let resource_type = ResourceType::parse(resource_type).unwrap();
    let rendered = match parse_search(SearchParamRegistry::official_r4(), resource_type, &params, lenient, MAX_COUNT) {
        Ok(request) => render::request(&request),
        Err(error) => format!("error {error:?}\n{error}\n"),
    };
    expected.assert_eq(&rendered);
}

fn check(resource_type: &str, query: &str, expected: Expect) {
    check_with(resource_type, query, false, expected);
}

#[test]
fn tokens() {
    check(
        "Observation",
        "code=http://loinc.org|29463-7",
        expect![[r#"
        code Token [Token { system: Some(Some("http://loinc.org")), code: Some("29463-7") }]
    "#]],
    );
    check(
        "Observation",
        "code=29463-7,|local,http://snomed.info/sct|",
        expect![[r#"
        code Token [Token { system: None, code: Some("29463-7") }] [Token { system: Some(None), code: Some("local") }] [Token { system: Some(Some("http://snomed.info/sct")), code: None }]
    "#]],
    );
    check(
        "Observation",
        "code:not=a\\,b|c\\|d",
        expect![[r#"
        code Token :Not [Token { system: Some(Some("a,b")), code: Some("c|d") }]
    "#]],
    );
    check(
        "Observation",
        "code:text=Body  Weight",
        expect![[r#"
        code Token :Text [String("Body  Weight")]
    "#]],
    );
    check(
        "Patient",
        "identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009&gender=female&active=true",
        expect![[r#"
        identifier Token [Token { system: Some(Some("https://fhir.nhs.uk/Id/nhs-number")), code: Some("9000000009") }]
        gender Token [Token { system: None, code: Some("female") }]
        active Token [Token { system: None, code: Some("true") }]
    "#]],
    );
    check(
        "Patient",
        "_id=abc,def-1.2&_tag=http://x|t",
        expect![[r#"
        _id Token [Token { system: None, code: Some("abc") }] [Token { system: None, code: Some("def-1.2") }]
        _tag Token [Token { system: Some(Some("http://x")), code: Some("t") }]
    "#]],
    );
    check(
        "Patient",
        "_id:not=abc",
        expect![[r#"
        _id Token :Not [Token { system: None, code: Some("abc") }]
    "#]],
    );
}

#[test]
fn strings() {
    check(
        "Patient",
        "name=Chalmers&family:exact=du Marché&given:contains=Béné",
        expect![[r#"
        name String [String("chalmers")]
        family String :Exact [String("du Marché")]
        given String :Contains [String("bene")]
    "#]],
    );
    check(
        "Patient",
        "address-city=  Pleasant   Ville ,Łódź",
        expect![[r#"
        address-city String [String("pleasant ville")] [String("lodz")]
    "#]],
    );
}

#[test]
fn dates() {
    check(
        "Observation",
        "date=ge2020-03&date=lt2020-03-04T10:00:00+01:00",
        expect![[r#"
        date Date [Ge 2020-03-01T00:00:00.000Z .. 2020-03-31T23:59:59.999Z]
        date Date [Lt 2020-03-04T09:00:00.000Z .. 2020-03-04T09:00:00.999Z]
    "#]],
    );
    check(
        "Observation",
        "date=2020,eb2019-12-31,sa2021-01-01T00:00Z,ap2020-06-15,ne2020-02",
        expect![[r#"
        date Date [Eq 2020-01-01T00:00:00.000Z .. 2020-12-31T23:59:59.999Z] [Eb 2019-12-31T00:00:00.000Z .. 2019-12-31T23:59:59.999Z] [Sa 2021-01-01T00:00:00.000Z .. 2021-01-01T00:00:59.999Z] [Ap 2020-06-15T00:00:00.000Z .. 2020-06-15T23:59:59.999Z] [Ne 2020-02-01T00:00:00.000Z .. 2020-02-29T23:59:59.999Z]
    "#]],
    );
    // `+` in an unencoded URL arrives as a space.
    check(
        "Patient",
        "birthdate=le1974-12-25&_lastUpdated=gt2024-01-01T10:00:00 02:00",
        expect![[r#"
        birthdate Date [Le 1974-12-25T00:00:00.000Z .. 1974-12-25T23:59:59.999Z]
        _lastUpdated Date [Gt 2024-01-01T08:00:00.000Z .. 2024-01-01T08:00:00.999Z]
    "#]],
    );
}

#[test]
fn numbers_and_quantities() {
    check(
        "RiskAssessment",
        "probability=gt0.8,5.40,100,1e2,-0.5",
        expect![[r#"
        probability Number [Number { prefix: Gt, value: 0.8, low: 0.75, high: 0.85 }] [Number { prefix: Eq, value: 5.4, low: 5.395, high: 5.405 }] [Number { prefix: Eq, value: 100.0, low: 99.5, high: 100.5 }] [Number { prefix: Eq, value: 100.0, low: 50.0, high: 150.0 }] [Number { prefix: Eq, value: -0.5, low: -0.55, high: -0.45 }]
    "#]],
    );
    check(
        "Observation",
        "value-quantity=le5.4|http://unitsofmeasure.org|mg,5.4||mg,ap5.4",
        expect![[r#"
        value-quantity Quantity [Quantity { prefix: Le, value: 5.4, low: 5.35, high: 5.45, system: Some("http://unitsofmeasure.org"), code: Some("mg") }] [Quantity { prefix: Eq, value: 5.4, low: 5.35, high: 5.45, system: None, code: Some("mg") }] [Quantity { prefix: Ap, value: 5.4, low: 5.35, high: 5.45, system: None, code: None }]
    "#]],
    );
}

#[test]
fn references() {
    check(
        "Observation",
        "subject=Patient/123,456,Group/7/_history/2,https://other.example/fhir/Patient/9",
        expect![[r#"
        subject Reference [Reference { target_type: Some("Patient"), target_id: Some("123"), url: None }] [Reference { target_type: None, target_id: Some("456"), url: None }] [Reference { target_type: Some("Group"), target_id: Some("7"), url: None }] [Reference { target_type: None, target_id: None, url: Some("https://other.example/fhir/Patient/9") }]
    "#]],
    );
    check(
        "Observation",
        "subject:Patient=123&encounter=e1",
        expect![[r#"
        subject Reference :Type [Reference { target_type: Some("Patient"), target_id: Some("123"), url: None }]
        encounter Reference [Reference { target_type: None, target_id: Some("e1"), url: None }]
    "#]],
    );
    check(
        "Observation",
        "subject:identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009",
        expect![[r#"
        subject Token :Identifier [Token { system: Some(Some("https://fhir.nhs.uk/Id/nhs-number")), code: Some("9000000009") }]
    "#]],
    );
    check(
        "Observation",
        "patient=urn:uuid:5d3b0c3e-0000-4000-8000-000000000000",
        expect![[r#"
        patient Reference [Reference { target_type: None, target_id: None, url: Some("urn:uuid:5d3b0c3e-0000-4000-8000-000000000000") }]
    "#]],
    );
}

#[test]
fn uris_and_missing() {
    check(
        "ValueSet",
        "url:below=http://hl7.org/fhir/ValueSet&_profile=http://x/p",
        expect![[r#"
        url Uri :Below [Uri("http://hl7.org/fhir/ValueSet")]
        _profile Uri [Uri("http://x/p")]
    "#]],
    );
    check(
        "Patient",
        "birthdate:missing=true&family:missing=false",
        expect![[r#"
        birthdate Date :Missing(true)
        family String :Missing(false)
    "#]],
    );
}

#[test]
fn chains() {
    check(
        "Observation",
        "subject:Patient.identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009",
        expect![[r#"
        subject Reference -> Patient identifier Token [Token { system: Some(Some("https://fhir.nhs.uk/Id/nhs-number")), code: Some("9000000009") }]
    "#]],
    );
    // `encounter` can point to Encounter or EpisodeOfCare, but only Encounter has `class`.
    check(
        "Observation",
        "encounter.class=AMB",
        expect![[r#"
        encounter Reference -> Encounter class Token [Token { system: None, code: Some("AMB") }]
    "#]],
    );
    check(
        "Observation",
        "patient.name:exact=Chalmers",
        expect![[r#"
        patient Reference -> Patient name String :Exact [String("Chalmers")]
    "#]],
    );
    check(
        "Encounter",
        "subject:Patient.birthdate=ge1970",
        expect![[r#"
        subject Reference -> Patient birthdate Date [Ge 1970-01-01T00:00:00.000Z .. 1970-12-31T23:59:59.999Z]
    "#]],
    );
}

#[test]
fn result_params() {
    check(
        "Observation",
        "_count=500&_sort=-date,code,_lastUpdated&_include=Observation:subject:Patient&_include:iterate=Patient:general-practitioner&_revinclude=Provenance:target&_summary=data&_elements=id,code,subject&_total=accurate&_format=json&_pretty=true",
        expect![[r#"
            count: 100
            sort: [SortKey { param_code: "date", descending: true }, SortKey { param_code: "code", descending: false }, SortKey { param_code: "_lastUpdated", descending: false }]
            includes: [Include { source_type: Observation, param_code: "subject", target_type: Some(Patient), iterate: false }, Include { source_type: Patient, param_code: "general-practitioner", target_type: None, iterate: true }]
            revincludes: [Include { source_type: Provenance, param_code: "target", target_type: None, iterate: false }]
            summary: Data
            elements: ["id", "code", "subject"]
            total: accurate
        "#]],
    );
    check(
        "Patient",
        "_count=0",
        expect![[r#"
        count: 0
    "#]],
    );
    check("Patient", "", expect![[""]]);
}

/// A composite value gives each component in the syntax of the parameter defining it, separated by `$`.
#[test]
fn composites() {
    check(
        "Observation",
        "component-code-value-quantity=http://loinc.org|8480-6$lt90,8462-4$ge60|http://unitsofmeasure.org|mm[Hg]",
        expect![[r#"
            component-code-value-quantity Composite [Composite([Token { system: Some(Some("http://loinc.org")), code: Some("8480-6") }, Quantity { prefix: Lt, value: 90.0, low: 89.5, high: 90.5, system: None, code: None }])] [Composite([Token { system: None, code: Some("8462-4") }, Quantity { prefix: Ge, value: 60.0, low: 59.5, high: 60.5, system: Some("http://unitsofmeasure.org"), code: Some("mm[Hg]") }])]
        "#]],
    );
    check(
        "Observation",
        "code-value-date=http://loinc.org|1$ge2020-03&code-value-string=a\\$b$Ab\\$C",
        expect![[r#"
        code-value-date Composite [Composite([Token { system: Some(Some("http://loinc.org")), code: Some("1") }, Date { prefix: Ge, low_ms: 1583020800000, high_ms: 1585699199999 }])]
        code-value-string Composite [Composite([Token { system: None, code: Some("a$b") }, String("ab$c")])]
    "#]],
    );
    check(
        "DocumentReference",
        "relationship=DocumentReference/old$replaces",
        expect![[r#"
        relationship Composite [Composite([Reference { target_type: Some("DocumentReference"), target_id: Some("old"), url: None }, Token { system: None, code: Some("replaces") }])]
    "#]],
    );
    check(
        "MolecularSequence",
        "chromosome-window-coordinate=1$ge10$le20",
        expect![[r#"
        chromosome-window-coordinate Composite [Composite([Token { system: None, code: Some("1") }, Number { prefix: Ge, value: 10.0, low: 9.5, high: 10.5 }, Number { prefix: Le, value: 20.0, low: 19.5, high: 20.5 }])]
    "#]],
    );
    check(
        "Observation",
        "code-value-quantity:missing=true",
        expect![[r#"
        code-value-quantity Composite :Missing(true)
    "#]],
    );
}

#[test]
fn lenient_handling_drops_unknown_and_unsupported_parameters() {
    check_with(
        "Patient",
        "foo=1&name:sounds-like=x&_has:Observation:patient:code=1&link.name.family=x&name=smith&_contained=true&organization:Location=1&general-practitioner.name=x",
        true,
        expect![[r#"
            name String [String("smith")]
            ignored: ["foo", "name:sounds-like", "_has:Observation:patient:code", "link.name.family", "_contained", "organization:Location", "general-practitioner.name"]
        "#]],
    );
    check_with(
        "Patient",
        "birthdate=notadate&foo=1",
        true,
        expect![[r#"
        error InvalidValue { param: "birthdate", message: "not a date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][zone]" }
        invalid value for search parameter 'birthdate': not a date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][zone]
    "#]],
    );
}

#[test]
fn errors() {
    let cases: &[(&str, &str)] = &[
        ("Patient", "foo=1"),
        ("Patient", "name:sounds-like=x"),
        ("Patient", "gender:contains=f"),
        ("Patient", "name:text=x"),
        ("Patient", "_id:missing=true"),
        ("Patient", "_lastUpdated:missing=true"),
        ("Observation", "code:above=x"),
        ("Observation", "code:in=http://x/vs"),
        ("Observation", "code-value-quantity=x$5$6"),
        ("Observation", "code-value-quantity=x"),
        ("Observation", "code-value-quantity=x$"),
        ("Observation", "code-value-quantity=x$abc"),
        ("Observation", "code-value-quantity:exact=x$5"),
        ("Observation", "code-value-date=x$2020-13"),
        ("Location", "near=1|2|3"),
        ("Patient", "_text=x"),
        ("Patient", "_content=x"),
        ("Patient", "_has:Observation:patient:code=1"),
        ("Patient", "_contained=true"),
        ("Observation", "subject:Medication=1"),
        ("Observation", "subject:Nonsense=1"),
        ("Observation", "subject:Patient.organization.name=x"),
        ("Observation", "subject.name=x"),
        ("Observation", "subject.nonsense=x"),
        ("Observation", "code.text=x"),
        ("Patient", "birthdate=2020-02-30"),
        ("Patient", "birthdate=ge"),
        ("Patient", "birthdate=xx2020"),
        ("Patient", "name="),
        ("Patient", "name=a,,b"),
        ("Patient", "name=   "),
        ("Patient", "family:missing=maybe"),
        ("Patient", "family:missing=true,false"),
        ("Patient", "identifier=|"),
        ("Patient", "identifier=a|b|c"),
        ("Patient", "_id=a/b"),
        ("RiskAssessment", "probability=abc"),
        ("RiskAssessment", "probability=1.2.3"),
        ("RiskAssessment", "probability=.5"),
        ("RiskAssessment", "probability=1e99999"),
        ("RiskAssessment", "probability=1234567890123456789012345678901"),
        ("Observation", "value-quantity=5|mg"),
        ("Observation", "subject=Medication/1"),
        ("Observation", "subject=Nonsense/1"),
        ("Observation", "subject=#contained"),
        ("Observation", "subject=bad id"),
        ("Observation", "subject:Patient=Group/1"),
        ("Patient", "_count=-1"),
        ("Patient", "_count=ten"),
        ("Patient", "_count=1&_count=2"),
        ("Patient", "_count:x=1"),
        ("Patient", "_sort=nonsense"),
        ("Patient", "_sort=organization"),
        ("Patient", "_sort=name,"),
        ("Patient", "_include=*"),
        ("Patient", "_include=Patient:*"),
        ("Patient", "_include=Patient"),
        ("Patient", "_include=Nonsense:x"),
        ("Patient", "_include=Patient:name"),
        ("Patient", "_include=Patient:organization:Patient"),
        ("Patient", "_include:deep=Patient:organization"),
        ("Patient", "_summary=maybe"),
        ("Patient", "_elements=name,meta.tag"),
        ("Patient", "_total=all"),
        ("Patient", "_summary="),
    ];
    let rendered: String = cases
        .iter()
        .map(|(resource_type, query)| {
            let mut params = Vec::new();
            for pair in query.split('&') {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                params.push((name.to_string(), value.to_string()));
            }
            let resource_type = ResourceType::parse(resource_type).unwrap();
            match parse_search(SearchParamRegistry::official_r4(), resource_type, &params, false, MAX_COUNT) {
                Ok(request) => format!("{query}\n  NOT AN ERROR: {}", render::request(&request)),
                Err(error) => format!("{query}\n  {error}\n"),
            }
        })
        .collect();
    expect![[r#"
        foo=1
          unknown search parameter 'foo' for this resource type
        name:sounds-like=x
          search parameter 'name:sounds-like' has an unknown modifier, or one this parameter does not support
        gender:contains=f
          search parameter 'gender:contains' has an unknown modifier, or one this parameter does not support
        name:text=x
          search parameter 'name:text' has an unknown modifier, or one this parameter does not support
        _id:missing=true
          search parameter '_id:missing' has an unknown modifier, or one this parameter does not support
        _lastUpdated:missing=true
          search parameter '_lastUpdated:missing' has an unknown modifier, or one this parameter does not support
        code:above=x
          search parameter 'code:above' has an unknown modifier, or one this parameter does not support
        code:in=http://x/vs
          search parameter 'code:in' has an unknown modifier, or one this parameter does not support
        code-value-quantity=x$5$6
          invalid value for search parameter 'code-value-quantity': a composite value has one value per component, separated by $
        code-value-quantity=x
          invalid value for search parameter 'code-value-quantity': a composite value has one value per component, separated by $
        code-value-quantity=x$
          invalid value for search parameter 'code-value-quantity': empty value
        code-value-quantity=x$abc
          invalid value for search parameter 'code-value-quantity': not a number
        code-value-quantity:exact=x$5
          search parameter 'code-value-quantity:exact' has an unknown modifier, or one this parameter does not support
        code-value-date=x$2020-13
          invalid value for search parameter 'code-value-date': not a date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][zone]
        near=1|2|3
          search parameter 'near' is not supported
        _text=x
          search parameter '_text' is not supported
        _content=x
          search parameter '_content' is not supported
        _has:Observation:patient:code=1
          search parameter '_has:Observation:patient:code' is not supported
        _contained=true
          search parameter '_contained' is not supported
        subject:Medication=1
          search parameter 'subject:Medication' names a resource type this reference cannot point to
        subject:Nonsense=1
          search parameter 'subject:Nonsense' has an unknown modifier, or one this parameter does not support
        subject:Patient.organization.name=x
          search parameter 'subject:Patient.organization.name' chains more than one reference; one level is supported
        subject.name=x
          chained search parameter 'subject.name' must name its target type, as in subject:Patient.name
        subject.nonsense=x
          unknown search parameter 'subject.nonsense' for this resource type
        code.text=x
          unknown search parameter 'code.text' for this resource type
        birthdate=2020-02-30
          invalid value for search parameter 'birthdate': not a date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][zone]
        birthdate=ge
          invalid value for search parameter 'birthdate': not a date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][zone]
        birthdate=xx2020
          invalid value for search parameter 'birthdate': not a date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][zone]
        name=
          invalid value for search parameter 'name': empty value
        name=a,,b
          invalid value for search parameter 'name': empty value
        name=   
          invalid value for search parameter 'name': empty value
        family:missing=maybe
          invalid value for search parameter 'family:missing': :missing takes true or false
        family:missing=true,false
          invalid value for search parameter 'family:missing': :missing takes true or false
        identifier=|
          invalid value for search parameter 'identifier': a token needs a system or a code
        identifier=a|b|c
          invalid value for search parameter 'identifier': a token is code, system|code, |code or system|
        _id=a/b
          invalid value for search parameter '_id': not a valid resource id
        probability=abc
          invalid value for search parameter 'probability': not a number
        probability=1.2.3
          invalid value for search parameter 'probability': not a number
        probability=.5
          invalid value for search parameter 'probability': not a number
        probability=1e99999
          invalid value for search parameter 'probability': not a number
        probability=1234567890123456789012345678901
          invalid value for search parameter 'probability': not a number
        value-quantity=5|mg
          invalid value for search parameter 'value-quantity': a quantity is number, or number|system|code
        subject=Medication/1
          invalid value for search parameter 'subject': the reference names a type this parameter cannot point to
        subject=Nonsense/1
          invalid value for search parameter 'subject': a reference is Type/id, an id or an absolute URL
        subject=#contained
          invalid value for search parameter 'subject': a search cannot refer to a contained resource
        subject=bad id
          invalid value for search parameter 'subject': not a valid resource id
        subject:Patient=Group/1
          invalid value for search parameter 'subject:Patient': the type modifier and the reference name different types
        _count=-1
          invalid value for search parameter '_count': must be a whole number, 0 or more
        _count=ten
          invalid value for search parameter '_count': must be a whole number, 0 or more
        _count=1&_count=2
          search parameter '_count' is given more than once
        _count:x=1
          search parameter '_count:x' has an unknown modifier, or one this parameter does not support
        _sort=nonsense
          invalid value for search parameter '_sort': names no parameter of this type that results can be sorted by
        _sort=organization
          invalid value for search parameter '_sort': names no parameter of this type that results can be sorted by
        _sort=name,
          invalid value for search parameter '_sort': empty sort key
        _include=*
          invalid value for search parameter '_include': the wildcard '*' is not supported
        _include=Patient:*
          invalid value for search parameter '_include': the wildcard '*' is not supported
        _include=Patient
          invalid value for search parameter '_include': takes Type:parameter or Type:parameter:TargetType
        _include=Nonsense:x
          invalid value for search parameter '_include': unknown resource type
        _include=Patient:name
          invalid value for search parameter '_include': names no reference parameter of that resource type
        _include=Patient:organization:Patient
          invalid value for search parameter '_include': the parameter cannot point to that target type
        _include:deep=Patient:organization
          search parameter '_include:deep' has an unknown modifier, or one this parameter does not support
        _summary=maybe
          invalid value for search parameter '_summary': takes true, text, data, count or false
        _elements=name,meta.tag
          invalid value for search parameter '_elements': takes a comma-separated list of element names
        _total=all
          invalid value for search parameter '_total': takes none, estimate or accurate
        _summary=
          invalid value for search parameter '_summary': empty value
    "#]]
    .assert_eq(&rendered);
}

#[test]
fn limits() {
    let many_params: Vec<String> = (0..65).map(|idx| format!("name=n{idx}")).collect();
    check(
        "Patient",
        &many_params.join("&"),
        expect![[r#"
        error TooManyParameters { max: 64 }
        a search takes at most 64 parameters
    "#]],
    );
    let many_values: Vec<String> = (0..65).map(|idx| format!("n{idx}")).collect();
    check(
        "Patient",
        &format!("name={}", many_values.join(",")),
        expect![[r#"
        error InvalidValue { param: "name", message: "too many comma-separated values" }
        invalid value for search parameter 'name': too many comma-separated values
    "#]],
    );
    let long_name = "x".repeat(200);
    check(
        "Patient",
        &format!("{long_name}=1"),
        expect![[r#"
        error UnknownParameter { name: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..." }
        unknown search parameter 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' for this resource type
    "#]],
    );
    check(
        "Patient",
        "na\u{7}me=1",
        expect![[r#"
        error UnknownParameter { name: "na?me" }
        unknown search parameter 'na?me' for this resource type
    "#]],
    );
}
