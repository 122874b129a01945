//! A small region on each backend: organisations, two persons with records from several sources, and the principals
//! that read them (users in role profiles, systems), for the access tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use kmcr_access::{
    AccessSettings, ActivitySet, AssuranceLevel, CodeRules, JobRole, Organisation, OrganisationKind,
    OrganisationRegistry, Policy, Principal, RoleProfile, Scope, SystemPrincipal, UserPrincipal,
};
use kmcr_fhir::{Instant, NhsNumber, OdsCode, ResourceId, ResourceType};
use kmcr_service::identity::IdentitySettings;
use kmcr_service::{AccessPolicy, Limits, RequestContext, Service};
use kmcr_store::{ScratchDatabase, Store, StoreOptions};
use serde_json::{Value, json};

pub struct World {
    pub service: Service,
    pub store: Store,
    pub backend: &'static str,
    _database: Option<ScratchDatabase>,
    directory: Option<PathBuf>,
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(directory) = &self.directory {
            let _ = std::fs::remove_dir_all(directory);
        }
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub const GP: &str = "G82001";
pub const ACUTE: &str = "RVV";
pub const MENTAL_HEALTH: &str = "RXY";
pub const SEXUAL_HEALTH: &str = "SHC01";
pub const AMBULANCE: &str = "RYE";
pub const UNRELATED_ACUTE: &str = "RN7";
pub const LEFT: &str = "LEFT1";
pub const COUNCIL: &str = "LA101";
pub const COMMUNITY: &str = "RYCOM";

pub fn policy(policies: Vec<Policy>) -> AccessPolicy {
    let organisation = |code: &str, kind, party| Organisation {
        ods_code: OdsCode::parse(code).unwrap(),
        name: format!("Organisation {code}"),
        kind,
        party_to_agreement: party,
    };
    AccessPolicy {
        registry: OrganisationRegistry::new([
            organisation(GP, OrganisationKind::GpPractice, true),
            organisation(ACUTE, OrganisationKind::Acute, true),
            organisation(MENTAL_HEALTH, OrganisationKind::MentalHealth, true),
            organisation(SEXUAL_HEALTH, OrganisationKind::SensitiveService, true),
            organisation(AMBULANCE, OrganisationKind::Ambulance, true),
            organisation(UNRELATED_ACUTE, OrganisationKind::Acute, true),
            organisation(LEFT, OrganisationKind::Community, false),
            organisation(COUNCIL, OrganisationKind::ChildrensSocialCare, true),
            organisation(COMMUNITY, OrganisationKind::Community, true),
        ]),
        policies,
        settings: AccessSettings::default(),
        code_rules: CodeRules::defaults(),
        paging_key: vec![3; 32],
    }
}

/// A fresh store on each backend (PostgreSQL where `KMCR_TEST_DATABASE_URL` is set; required under CI), with the
/// region's records loaded.
pub async fn worlds() -> Vec<World> {
    worlds_with(IdentitySettings::default()).await
}

/// [`worlds`] with the person index set up as given.
pub async fn worlds_with(identity: IdentitySettings) -> Vec<World> {
    let mut worlds = Vec::new();
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let directory = std::env::temp_dir().join(format!("kmcr-service-test-{}-{n}", std::process::id()));
    let store = Store::open(directory.to_str().unwrap(), &StoreOptions::default()).await.unwrap();
    worlds.push(world(store, "sqlite", None, Some(directory), identity.clone()).await);
    match std::env::var("KMCR_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let database = ScratchDatabase::create(&url, "kmcr_servicetest_", n).await.unwrap();
            let store = Store::open(&database.url, &StoreOptions::default()).await.unwrap();
            worlds.push(world(store, "postgres", Some(database), None, identity).await);
        }
        _ if std::env::var("CI").is_ok() => panic!("CI is set but KMCR_TEST_DATABASE_URL is not"),
        _ => {}
    }
    worlds
}

async fn world(
    store: Store,
    backend: &'static str,
    database: Option<ScratchDatabase>,
    directory: Option<PathBuf>,
    identity: IdentitySettings,
) -> World {
    let service = Service::start(store.clone(), Limits::default(), identity, policy(Vec::new())).await.unwrap();
    let world = World { service, store, backend, _database: database, directory };
    world.load().await;
    world
}

pub fn nhs_number(middle: u32) -> String {
    (0..)
        .find_map(|step| {
            let digits: Vec<u8> = format!("999{:06}", middle + step).bytes().map(|byte| byte - b'0').collect();
            NhsNumber::from_first_nine_digits(digits.try_into().unwrap())
        })
        .unwrap()
        .as_digits()
}

pub fn system(ods_code: &str, scopes: &[&str]) -> RequestContext {
    RequestContext {
        principal: Principal::System(SystemPrincipal {
            client_id: format!("system-{ods_code}"),
            ods_code: OdsCode::parse(ods_code).unwrap(),
            scopes: scopes.iter().map(|scope| Scope::parse(scope).unwrap()).collect(),
            region_wide: None,
        }),
        request_id: "test".into(),
    }
}

/// A user in one role profile: `role` is an SDS job role code, `activities` the B codes granted.
pub fn user(
    user_id: &str,
    ods_code: &str,
    role: &str,
    activities: &[&str],
    assurance: AssuranceLevel,
) -> RequestContext {
    let mut scopes = vec![Scope::parse("user/*.rs").unwrap()];
    if JobRole::parse(role).unwrap().is_information_governance() {
        scopes.push(Scope::parse("user/Consent.cu").unwrap());
    }
    RequestContext {
        principal: Principal::User(UserPrincipal {
            user_id: user_id.into(),
            session_id: format!("{user_id}-session"),
            role_profile: RoleProfile {
                id: format!("{user_id}-{ods_code}-{role}"),
                ods_code: OdsCode::parse(ods_code).unwrap(),
                job_role: JobRole::parse(&format!("S0000:G0000:{role}")).unwrap(),
                activities: ActivitySet::expand(activities.iter().copied()),
            },
            assurance,
            scopes,
        }),
        request_id: "test".into(),
    }
}

pub fn gp_doctor() -> RequestContext {
    user("gp-doctor", GP, "R8000", &["B0360"], AssuranceLevel::Aal3)
}

pub fn unrelated_doctor() -> RequestContext {
    user("unrelated-doctor", UNRELATED_ACUTE, "R8000", &["B0360"], AssuranceLevel::Aal3)
}

pub fn paramedic() -> RequestContext {
    user("paramedic", AMBULANCE, "R8003", &["B0360", "B0168"], AssuranceLevel::Aal3)
}

pub fn receptionist() -> RequestContext {
    user("receptionist", GP, "R8009", &[], AssuranceLevel::Aal2)
}

pub fn sensitive_gp() -> RequestContext {
    user("sensitive-gp", GP, "R8000", &["B0360", "B1611"], AssuranceLevel::Aal3)
}

/// The practice's privacy officer.
pub fn ig_officer() -> RequestContext {
    ig_officer_at(GP)
}

pub fn ig_officer_at(ods_code: &str) -> RequestContext {
    user(&format!("ig-officer-{ods_code}"), ods_code, "R0001", &[], AssuranceLevel::Aal3)
}

fn days_ago(days: i64) -> String {
    Instant::from_unix_ms(Instant::now().unix_ms - days * 24 * 3_600_000).to_string()
}

pub fn patient(nhs: &str, family: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs, "extension": [{
            "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
            "valueCodeableConcept": { "coding": [{
                "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland",
                "code": "01" }] } }] }],
        "name": [{ "family": family, "given": ["Alex"] }],
        "gender": "female",
        "birthDate": "1961-04-02",
        "address": [{ "postalCode": "ME14 2LL" }],
    })
}

pub fn observation(patient_id: &str, system: &str, code: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "code": { "coding": [{ "system": system, "code": code }] },
        "subject": { "reference": format!("Patient/{patient_id}") },
        "effectiveDateTime": days_ago(20),
    })
}

/// An objection to the shared record (SNOMED 416409005) by `patient_id`, withholding what `source` sent from everyone
/// (every source when `None`).
pub fn shared_record_objection(patient_id: &str, source: Option<&str>) -> Value {
    let mut provision = json!({ "type": "deny" });
    if let Some(source) = source {
        provision["actor"] = json!([{
            "role": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "CST" }] },
            "reference": { "identifier": { "system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": source } }
        }]);
    }
    json!({
        "resourceType": "Consent",
        "status": "active",
        "scope": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy" }] },
        "category": [{ "coding": [{ "system": "http://snomed.info/sct", "code": "416409005" }] }],
        "patient": { "reference": format!("Patient/{patient_id}") },
        "provision": provision,
    })
}

pub const PERSON_A_NHS: u32 = 400_001;
pub const PERSON_B_NHS: u32 = 400_101;

impl World {
    pub async fn put(&self, context: &RequestContext, id: &str, mut resource: Value) {
        let resource_type = ResourceType::parse(resource["resourceType"].as_str().unwrap()).unwrap();
        resource["id"] = json!(id);
        self.service
            .update(context, resource_type, ResourceId::parse(id).unwrap(), resource, None)
            .await
            .unwrap_or_else(|error| panic!("{}: writing {id}: {error}", self.backend));
    }

    /// Person A: records at the GP, the acute trust (a recent encounter), the mental health trust (a sealed
    /// condition), the sexual health clinic (a sealed source). Person B: the GP only.
    async fn load(&self) {
        let a = nhs_number(PERSON_A_NHS);
        let gp = system(GP, &["system/*.*"]);
        self.put(&gp, "pa-gp", patient(&a, "Ashdown")).await;
        self.put(&gp, "obs-gp", observation("pa-gp", "http://loinc.org", "8480-6")).await;
        self.put(&gp, "obs-hiv", observation("pa-gp", "http://snomed.info/sct", "86406008")).await;
        let acute = system(ACUTE, &["system/*.*"]);
        self.put(&acute, "pa-rvv", patient(&a, "Ashdown")).await;
        let encounter = json!({
            "resourceType": "Encounter", "status": "finished",
            "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER" },
            "subject": { "reference": "Patient/pa-rvv" },
            "period": { "start": days_ago(10), "end": days_ago(9) },
        });
        self.put(&acute, "enc-rvv", encounter).await;
        self.put(&acute, "obs-rvv", observation("pa-rvv", "http://loinc.org", "8867-4")).await;
        let mental_health = system(MENTAL_HEALTH, &["system/*.*"]);
        self.put(&mental_health, "pa-rxy", patient(&a, "Ashdown")).await;
        let condition = json!({
            "resourceType": "Condition",
            "meta": { "security": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY" }] },
            "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "58214004" }] },
            "subject": { "reference": "Patient/pa-rxy" },
        });
        self.put(&mental_health, "cond-rxy", condition).await;
        let clinic = system(SEXUAL_HEALTH, &["system/*.*"]);
        self.put(&clinic, "pa-shc", patient(&a, "Ashdown")).await;
        self.put(&clinic, "obs-shc", observation("pa-shc", "http://loinc.org", "8867-4")).await;
        let b = nhs_number(PERSON_B_NHS);
        self.put(&gp, "pb-gp", patient(&b, "Brenchley")).await;
        self.put(&gp, "obs-b", observation("pb-gp", "http://loinc.org", "8480-6")).await;
    }
}

/// The `Type/id` of each resource.
pub fn references(resources: &[kmcr_store::StoredResource]) -> Vec<String> {
    let mut references: Vec<String> =
        resources.iter().map(|resource| format!("{}/{}", resource.resource_type, resource.id)).collect();
    references.sort();
    references
}

/// The `Type/id` of everything `context` is shown of the record of the person `patient_id` belongs to.
pub async fn everything(
    service: &Service,
    context: &RequestContext,
    patient_id: &str,
) -> Result<Vec<String>, kmcr_service::ServiceError> {
    let request = kmcr_store::EverythingRequest {
        patient_ids: vec![ResourceId::parse(patient_id).unwrap()],
        since: None,
        types: Vec::new(),
        count: 1000,
        cursor: None,
    };
    Ok(references(&service.everything(context, request, None).await?.resources))
}
