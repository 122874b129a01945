//! The attacks that must fail, each through the one service path, on both backends: reading a person's data without
//! a relationship by every route, counts as an oracle, sealed data through includes, earlier versions, Person links
//! and paging links, and writing over another organisation's data.

use kmcr_access::GrantKind;
use kmcr_fhir::{ResourceId, ResourceType};
use kmcr_service::{CreateResult, GrantRequest, RequestContext, ServiceError};
use kmcr_store::{EverythingRequest, HistoryRequest};
use serde_json::json;

use crate::world::*;

fn pairs(query: &str) -> Vec<(String, String)> {
    kmcr_service::references::parse_query(query)
}

fn observation_type() -> ResourceType {
    ResourceType::parse("Observation").unwrap()
}

async fn search(
    world: &World,
    context: &RequestContext,
    type_name: &str,
    query: &str,
) -> Result<Vec<String>, ServiceError> {
    let resource_type = ResourceType::parse(type_name).unwrap();
    let result = world.service.search(context, resource_type, &pairs(query), false, None).await?;
    let mut found = references(&result.outcome.matches);
    found.extend(references(&result.outcome.included).into_iter().map(|reference| format!("include:{reference}")));
    Ok(found)
}

async fn read(world: &World, context: &RequestContext, type_name: &str, id: &str) -> Result<(), ServiceError> {
    let resource_type = ResourceType::parse(type_name).unwrap();
    world.service.read(context, resource_type, &ResourceId::parse(id).unwrap()).await.map(|_| ())
}

async fn declare(
    world: &World,
    context: &RequestContext,
    kind: GrantKind,
    patient_id: &str,
) -> Result<i64, ServiceError> {
    let request = GrantRequest {
        kind,
        patient_id: ResourceId::parse(patient_id).unwrap(),
        reason: "Seen in clinic today for review of medication".into(),
        minutes: 60,
    };
    Ok(world.service.declare(context, request).await?.grant_id)
}

#[tokio::test]
async fn a_user_with_no_relationship_sees_the_banner_and_nothing_clinical() {
    for world in worlds().await {
        let backend = world.backend;
        let stranger = unrelated_doctor();
        read(&world, &stranger, "Patient", "pa-gp").await.unwrap_or_else(|error| panic!("{backend}: banner: {error}"));
        assert!(
            matches!(read(&world, &stranger, "Observation", "obs-gp").await, Err(ServiceError::NotFound)),
            "{backend}: by id"
        );
        assert!(
            matches!(search(&world, &stranger, "Observation", "patient=pa-gp").await, Err(ServiceError::Forbidden(_))),
            "{backend}: by search"
        );
        assert!(
            matches!(everything(&world.service, &stranger, "pa-gp").await, Err(ServiceError::Forbidden(_))),
            "{backend}: $everything"
        );
        assert!(
            matches!(search(&world, &stranger, "Observation", "code=8480-6").await, Err(ServiceError::Forbidden(_))),
            "{backend}: naming no person"
        );
        assert!(
            matches!(
                search(&world, &stranger, "Observation", "subject:Patient.family=Ashdown").await,
                Err(ServiceError::Forbidden(_))
            ),
            "{backend}: chain"
        );
        let revincluded =
            search(&world, &stranger, "Patient", "_id=pa-gp&_revinclude=Observation:subject").await.unwrap();
        assert_eq!(revincluded, ["Patient/pa-gp"], "{backend}: _revinclude brings no clinical data");
        assert!(
            matches!(
                search(&world, &stranger, "Patient", "_has:Observation:patient:code=8480-6").await,
                Err(ServiceError::BadSearch(_))
            ),
            "{backend}: _has"
        );
        let history = HistoryRequest {
            resource_type: Some(observation_type()),
            id: Some(ResourceId::parse("obs-gp").unwrap()),
            since: None,
            count: 10,
            cursor: None,
        };
        assert!(
            matches!(world.service.history(&stranger, history, None).await, Err(ServiceError::NotFound)),
            "{backend}: history"
        );
        let receptionist = receptionist();
        read(&world, &receptionist, "Patient", "pa-gp").await.unwrap();
        assert!(
            matches!(everything(&world.service, &receptionist, "pa-gp").await, Err(ServiceError::Forbidden(_))),
            "{backend}: a receptionist sees the banner only"
        );
    }
}

#[tokio::test]
async fn the_gp_sees_the_record_without_sealed_items_in_results_totals_or_includes() {
    for world in worlds().await {
        let backend = world.backend;
        let gp = gp_doctor();
        let record = everything(&world.service, &gp, "pa-gp").await.unwrap();
        assert_eq!(
            record,
            [
                "Encounter/enc-rvv",
                "Observation/obs-gp",
                "Observation/obs-hiv",
                "Observation/obs-rvv",
                "Patient/pa-gp",
                "Patient/pa-rvv",
                "Patient/pa-rxy"
            ],
            "{backend}: the PSY condition and the sexual health clinic's records are withheld; its own sealed item is not; person B is not here"
        );
        let request = EverythingRequest {
            patient_ids: vec![ResourceId::parse("pa-gp").unwrap()],
            since: None,
            types: Vec::new(),
            count: 1000,
            cursor: None,
        };
        let page = world.service.everything(&gp, request, None).await.unwrap();
        assert_eq!(page.withheld.len(), 1, "{backend}: the withholding is announced");
        assert!(
            !page.withheld[0].contains("cond-rxy") && !page.withheld[0].contains("58214004"),
            "{backend}: and says nothing of what"
        );
        let count = world
            .service
            .search(&gp, observation_type(), &pairs("patient=pa-gp&_summary=count"), false, None)
            .await
            .unwrap();
        assert_eq!(count.outcome.total, Some(3), "{backend}: the count leaves the sealed source's Observation out");
        let with_subjects =
            search(&world, &gp, "Observation", "patient=pa-gp&_include=Observation:subject").await.unwrap();
        assert!(with_subjects.contains(&"include:Patient/pa-rvv".to_string()), "{backend}: {with_subjects:?}");
        assert!(!with_subjects.iter().any(|found| found.contains("shc")), "{backend}: {with_subjects:?}");
        assert!(
            matches!(read(&world, &gp, "Condition", "cond-rxy").await, Err(ServiceError::Withheld(_))),
            "{backend}"
        );
        assert!(
            matches!(read(&world, &gp, "Observation", "obs-shc").await, Err(ServiceError::Withheld(_))),
            "{backend}"
        );
        let conditions = search(&world, &gp, "Condition", "patient=pa-gp&code=58214004").await.unwrap();
        assert!(conditions.is_empty(), "{backend}: a search for the sealed code finds nothing: {conditions:?}");
    }
}

#[tokio::test]
async fn sealed_items_are_shown_to_b1611_once_the_user_states_why() {
    for world in worlds().await {
        let backend = world.backend;
        let sensitive = sensitive_gp();
        assert!(
            matches!(read(&world, &sensitive, "Condition", "cond-rxy").await, Err(ServiceError::Withheld(_))),
            "{backend}: not before a reason"
        );
        assert!(
            matches!(
                declare(&world, &gp_doctor(), GrantKind::SensitiveAccess, "pa-gp").await,
                Err(ServiceError::Forbidden(_))
            ),
            "{backend}: not without B1611"
        );
        declare(&world, &sensitive, GrantKind::SensitiveAccess, "pa-gp").await.unwrap();
        read(&world, &sensitive, "Condition", "cond-rxy").await.unwrap_or_else(|error| panic!("{backend}: {error}"));
        let record = everything(&world.service, &sensitive, "pa-gp").await.unwrap();
        for sealed in ["Condition/cond-rxy", "Observation/obs-shc", "Patient/pa-shc"] {
            assert!(record.contains(&sealed.to_string()), "{backend}: {sealed} in {record:?}");
        }
        let entries = world.store.audit_entries(0, 10_000).await.unwrap();
        let last = &entries.last().unwrap().record;
        assert_eq!(last.action, "everything");
        assert!(
            last.stated_reason.as_deref().is_some_and(|reason| reason.contains("medication")),
            "{backend}: {last:?}"
        );
    }
}

#[tokio::test]
async fn break_glass_opens_the_record_for_b0168_and_goes_to_ig_review() {
    for world in worlds().await {
        let backend = world.backend;
        let paramedic = paramedic();
        assert!(
            matches!(everything(&world.service, &paramedic, "pa-gp").await, Err(ServiceError::Forbidden(_))),
            "{backend}"
        );
        assert!(
            matches!(
                declare(&world, &receptionist(), GrantKind::BreakGlass, "pa-gp").await,
                Err(ServiceError::Forbidden(_))
            ),
            "{backend}: not without B0168"
        );
        let grant_id = declare(&world, &paramedic, GrantKind::BreakGlass, "pa-gp").await.unwrap();
        let record = everything(&world.service, &paramedic, "pa-gp").await.unwrap();
        assert!(record.contains(&"Observation/obs-gp".to_string()), "{backend}: {record:?}");
        let entries = world.store.audit_entries(0, 10_000).await.unwrap();
        let last = &entries.last().unwrap().record;
        assert_eq!(last.purpose_of_use.as_deref(), Some("ETREAT"), "{backend}: {last:?}");
        assert!(last.reasons.iter().any(|reason| reason == "basis: break-glass"), "{backend}: {last:?}");
        assert!(
            matches!(
                world.service.break_glass_uses(&gp_doctor(), Some("open"), 0, 10).await,
                Err(ServiceError::Forbidden(_))
            ),
            "{backend}: IG only"
        );
        // The practice's privacy officer reviews the practice's people, not the ambulance service's.
        let practice_queue = world.service.break_glass_uses(&ig_officer(), Some("open"), 0, 10).await.unwrap();
        assert!(practice_queue.is_empty(), "{backend}: another organisation's IG");
        assert!(
            matches!(
                world.service.review_break_glass(&ig_officer(), grant_id, "appropriate", "not mine").await,
                Err(ServiceError::Conflict(_))
            ),
            "{backend}: another organisation's use cannot be reviewed"
        );
        let ambulance_ig = ig_officer_at(AMBULANCE);
        let queue = world.service.break_glass_uses(&ambulance_ig, Some("open"), 0, 10).await.unwrap();
        assert_eq!(queue.iter().map(|grant| grant.grant_id).collect::<Vec<_>>(), [grant_id], "{backend}");
        let reviewed = world
            .service
            .review_break_glass(&ambulance_ig, grant_id, "appropriate", "cardiac arrest at home")
            .await
            .unwrap();
        assert_eq!(reviewed.review_outcome.as_deref(), Some("appropriate"));
        assert!(
            world.service.break_glass_uses(&ambulance_ig, Some("open"), 0, 10).await.unwrap().is_empty(),
            "{backend}"
        );
        assert!(
            matches!(
                world.service.review_break_glass(&ambulance_ig, grant_id, "appropriate", "again").await,
                Err(ServiceError::Conflict(_))
            ),
            "{backend}: reviewed once"
        );
        // Who accessed the person: the practice's IG sees its own people's reads only, the ambulance's IG theirs.
        let subject = kmcr_store::AuditQuery::Subject("Patient/pa-gp".into());
        for (officer, organisation) in [(ig_officer(), GP), (ambulance_ig, AMBULANCE)] {
            let page = world.service.audit_trail(&officer, subject.clone(), 0, 1000).await.unwrap();
            assert!(!page.entries.is_empty(), "{backend}: {organisation}");
            assert!(
                page.entries.iter().all(|entry| entry.record.actor_ods_code == organisation),
                "{backend}: {organisation} sees only its own organisation's accesses"
            );
        }
    }
}

#[tokio::test]
async fn a_declared_relationship_holds_only_in_the_role_profile_it_was_made_in() {
    for world in worlds().await {
        let backend = world.backend;
        let stranger = unrelated_doctor();
        declare(&world, &stranger, GrantKind::DeclaredRelationship, "pa-rvv").await.unwrap();
        let record =
            everything(&world.service, &stranger, "pa-gp").await.unwrap_or_else(|error| panic!("{backend}: {error}"));
        assert!(record.contains(&"Observation/obs-gp".to_string()), "{backend}: the grant holds for the whole person");
        let same_user_other_role =
            user("unrelated-doctor", UNRELATED_ACUTE, "R8001", &["B0360"], kmcr_access::AssuranceLevel::Aal3);
        assert!(
            matches!(everything(&world.service, &same_user_other_role, "pa-gp").await, Err(ServiceError::Forbidden(_))),
            "{backend}"
        );
        assert!(everything(&world.service, &stranger, "pb-gp").await.is_err(), "{backend}: nor for another person");
    }
}

#[tokio::test]
async fn an_earlier_version_of_a_sealed_item_is_sealed_too() {
    for world in worlds().await {
        let backend = world.backend;
        let acute = system(ACUTE, &["system/*.*"]);
        let mut labelled = observation("pa-rvv", "http://loinc.org", "8867-4");
        labelled["meta"] =
            json!({ "security": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY" }] });
        world.put(&acute, "obs-rvv", labelled).await;
        let gp = gp_doctor();
        let first = world.service.vread(&gp, observation_type(), &ResourceId::parse("obs-rvv").unwrap(), 1).await;
        assert!(
            matches!(first, Err(ServiceError::Withheld(_))),
            "{backend}: {:?}",
            first.map(|stored| stored.version_id)
        );
        let history = HistoryRequest {
            resource_type: Some(observation_type()),
            id: Some(ResourceId::parse("obs-rvv").unwrap()),
            since: None,
            count: 10,
            cursor: None,
        };
        assert!(matches!(world.service.history(&gp, history, None).await, Err(ServiceError::Withheld(_))), "{backend}");
        let history =
            HistoryRequest { resource_type: Some(observation_type()), id: None, since: None, count: 100, cursor: None };
        assert!(
            matches!(world.service.history(&gp, history, None).await, Err(ServiceError::Forbidden(_))),
            "{backend}: type history names no person"
        );
    }
}

#[tokio::test]
async fn a_paging_link_made_for_one_user_is_refused_to_another() {
    for world in worlds().await {
        let backend = world.backend;
        let gp = gp_doctor();
        let first =
            world.service.search(&gp, observation_type(), &pairs("patient=pa-gp&_count=1"), false, None).await.unwrap();
        let link = first.next_cursor.expect("a next page");
        let second = world
            .service
            .search(&gp, observation_type(), &pairs("patient=pa-gp&_count=1"), false, Some(&link))
            .await
            .unwrap();
        assert_eq!(second.outcome.matches.len(), 1, "{backend}");
        let other = world
            .service
            .search(&sensitive_gp(), observation_type(), &pairs("patient=pa-gp&_count=1"), false, Some(&link))
            .await;
        assert!(matches!(other, Err(ServiceError::ForeignCursor)), "{backend}");
        let mut altered = link.clone();
        altered.insert(0, 'A');
        let altered = world
            .service
            .search(&gp, observation_type(), &pairs("patient=pa-gp&_count=1"), false, Some(&altered))
            .await;
        assert!(matches!(altered, Err(ServiceError::ForeignCursor)), "{backend}");
    }
}

#[tokio::test]
async fn a_person_shows_only_links_to_records_the_caller_may_see() {
    for world in worlds().await {
        let backend = world.backend;
        let gp = gp_doctor();
        let result =
            world.service.search(&gp, ResourceType::PERSON, &pairs("link=Patient/pa-gp"), false, None).await.unwrap();
        assert_eq!(result.outcome.matches.len(), 1, "{backend}");
        let person: serde_json::Value =
            serde_json::from_str(result.outcome.matches[0].json.as_deref().unwrap()).unwrap();
        let links: Vec<&str> = person["link"]
            .as_array()
            .unwrap()
            .iter()
            .map(|link| link["target"]["reference"].as_str().unwrap())
            .collect();
        assert!(links.contains(&"Patient/pa-rvv"), "{backend}: {links:?}");
        assert!(!links.contains(&"Patient/pa-shc"), "{backend}: the sealed source is not revealed: {links:?}");
        let probe = world
            .service
            .search(&unrelated_doctor(), ResourceType::PERSON, &pairs("link=Patient/pa-shc"), false, None)
            .await;
        assert!(matches!(probe, Err(ServiceError::NotFound)), "{backend}");
        let all = world.service.search(&gp, ResourceType::PERSON, &[], false, None).await;
        assert!(matches!(all, Err(ServiceError::Forbidden(_))), "{backend}");
        let person_id = ResourceId::parse(result.outcome.matches[0].id.as_str()).unwrap();
        let read = world.service.read(&gp, ResourceType::PERSON, &person_id).await.unwrap();
        assert!(!read.json.unwrap().contains("pa-shc"), "{backend}");
    }
}

#[tokio::test]
async fn a_source_cannot_change_or_delete_another_organisations_data_and_the_refusal_is_audited() {
    for world in worlds().await {
        let backend = world.backend;
        let acute = system(ACUTE, &["system/*.*"]);
        let mut changed = observation("pa-gp", "http://loinc.org", "8480-6");
        changed["id"] = json!("obs-gp");
        let update =
            world.service.update(&acute, observation_type(), ResourceId::parse("obs-gp").unwrap(), changed, None).await;
        assert!(matches!(update, Err(ServiceError::Forbidden(_))), "{backend}");
        let entries = world.store.audit_entries(0, 10_000).await.unwrap();
        let last = &entries.last().unwrap().record;
        assert_eq!((last.action.as_str(), last.outcome.as_str()), ("update", "denied"), "{backend}: {last:?}");
        let delete = world.service.delete(&acute, observation_type(), ResourceId::parse("obs-gp").unwrap()).await;
        assert!(matches!(delete, Err(ServiceError::Forbidden(_))), "{backend}");
        let entries = world.store.audit_entries(0, 10_000).await.unwrap();
        assert_eq!(entries.last().unwrap().record.action, "delete", "{backend}");
        read(&world, &gp_doctor(), "Observation", "obs-gp").await.unwrap();
    }
}

#[tokio::test]
async fn a_system_reads_what_it_sent_and_beyond_that_only_as_its_organisation_may() {
    for world in worlds().await {
        let backend = world.backend;
        let unrelated = system(UNRELATED_ACUTE, &["system/*.rs"]);
        assert!(search(&world, &unrelated, "Observation", "patient=pa-gp").await.unwrap().is_empty(), "{backend}");
        assert!(
            matches!(everything(&world.service, &unrelated, "pa-gp").await, Err(ServiceError::NotFound)),
            "{backend}: as if the id did not exist"
        );
        assert!(search(&world, &unrelated, "Patient", "family=Ashdown").await.unwrap().is_empty(), "{backend}");
        let acute = system(ACUTE, &["system/*.rs"]);
        let found = search(&world, &acute, "Observation", "patient=pa-gp").await.unwrap();
        assert_eq!(
            found,
            ["Observation/obs-gp", "Observation/obs-rvv"],
            "{backend}: a recent encounter relates RVV; sealed items stay sealed"
        );
        let own = search(&world, &acute, "Observation", "code=8867-4").await.unwrap();
        assert_eq!(own, ["Observation/obs-rvv"], "{backend}: naming no person, only what RVV sent");
        let observations_only = system(ACUTE, &["system/Observation.rs"]);
        let chain =
            search(&world, &observations_only, "Observation", "patient=pa-gp&subject:Patient.family=Ashdown").await;
        assert!(matches!(chain, Err(ServiceError::Forbidden(_))), "{backend}: a chain reads Patients");
    }
}

#[tokio::test]
async fn if_none_exist_finds_only_what_the_caller_may_see_and_returns_no_body_to_a_write_only_source() {
    for world in worlds().await {
        let backend = world.backend;
        let write_only = system(GP, &["system/Observation.c"]);
        let condition = pairs("_id=obs-gp");
        let result = world
            .service
            .create(&write_only, observation_type(), observation("pa-gp", "http://loinc.org", "1-8"), Some(&condition))
            .await
            .unwrap();
        assert!(matches!(result, CreateResult::Exists { readable: false, .. }), "{backend}");
        let other_source = system(ACUTE, &["system/Observation.c"]);
        let result = world
            .service
            .create(
                &other_source,
                observation_type(),
                observation("pa-rvv", "http://loinc.org", "1-8"),
                Some(&condition),
            )
            .await
            .unwrap();
        assert!(matches!(result, CreateResult::Created(_)), "{backend}: the GP's item is not RVV's to find");
    }
}

#[tokio::test]
async fn an_objection_withholds_the_sources_it_names_and_says_so() {
    for world in worlds().await {
        let backend = world.backend;
        let consent = shared_record_objection("pa-gp", Some(ACUTE));
        world.put(&ig_officer(), "objection-1", consent).await;
        let request = EverythingRequest {
            patient_ids: vec![ResourceId::parse("pa-gp").unwrap()],
            since: None,
            types: Vec::new(),
            count: 1000,
            cursor: None,
        };
        let page = world.service.everything(&gp_doctor(), request, None).await.unwrap();
        let record = references(&page.resources);
        assert!(!record.iter().any(|reference| reference.ends_with("-rvv")), "{backend}: {record:?}");
        assert!(record.contains(&"Observation/obs-gp".to_string()), "{backend}");
        assert!(page.withheld[0].contains("objection-shared-record"), "{backend}: {:?}", page.withheld);
        let acute = system(ACUTE, &["system/*.rs"]);
        let own = search(&world, &acute, "Observation", "patient=pa-gp").await.unwrap();
        assert!(own.contains(&"Observation/obs-rvv".to_string()), "{backend}: RVV still reads what it sent: {own:?}");
    }
}

#[tokio::test]
async fn every_read_is_audited_with_who_whom_why_and_the_decision() {
    for world in worlds().await {
        let backend = world.backend;
        everything(&world.service, &gp_doctor(), "pa-gp").await.unwrap();
        let entries = world.store.audit_entries(0, 10_000).await.unwrap();
        let last = &entries.last().unwrap().record;
        assert_eq!(
            (last.actor_kind.as_str(), last.actor_id.as_str(), last.actor_ods_code.as_str()),
            ("user", "gp-doctor", GP),
            "{backend}"
        );
        assert_eq!(last.job_role_code.as_deref(), Some("R8000"));
        assert!(last.role_profile_id.is_some());
        assert_eq!(last.purpose_of_use.as_deref(), Some("TREAT"));
        assert_eq!(last.persons.len(), 1, "{backend}: {last:?}");
        for patient in ["Patient/pa-gp", "Patient/pa-rvv", "Patient/pa-rxy"] {
            assert!(last.patients.contains(&patient.to_string()), "{backend}: {patient} in {:?}", last.patients);
        }
        assert_eq!(last.outcome, "permitted-withheld");
        assert!(last.n_withheld >= 3, "{backend}: {last:?}");
        assert!(last.reasons.iter().any(|reason| reason == "basis: registered-practice"), "{backend}: {last:?}");
        let _ = everything(&world.service, &unrelated_doctor(), "pa-gp").await;
        let entries = world.store.audit_entries(0, 10_000).await.unwrap();
        let refused = &entries.last().unwrap().record;
        assert_eq!(
            (refused.outcome.as_str(), refused.persons.len()),
            ("denied", 1),
            "{backend}: a refusal names whom too"
        );
    }
}

#[tokio::test]
async fn an_include_with_no_target_type_brings_nothing_the_scopes_do_not_cover() {
    for world in worlds().await {
        let backend = world.backend;
        let observations_only = system(ACUTE, &["system/Observation.rs"]);
        let found = search(&world, &observations_only, "Observation", "patient=pa-gp&_include=Observation:subject")
            .await
            .unwrap();
        assert!(found.iter().all(|reference| !reference.starts_with("include:")), "{backend}: {found:?}");
        assert!(found.contains(&"Observation/obs-rvv".to_string()), "{backend}: {found:?}");
    }
}

#[tokio::test]
async fn a_conditional_update_finds_only_the_callers_own_records_so_it_is_no_oracle() {
    for world in worlds().await {
        let backend = world.backend;
        let condition = pairs(&format!("identifier=https://fhir.nhs.uk/Id/nhs-number|{}", nhs_number(PERSON_A_NHS)));
        // Four sources hold a Patient with this NHS number; RVV's condition sees only its own, and updates it.
        let acute = system(ACUTE, &["system/*.*"]);
        let outcome = world
            .service
            .conditional_update(
                &acute,
                ResourceType::PATIENT,
                &condition,
                patient(&nhs_number(PERSON_A_NHS), "Ashdown"),
            )
            .await
            .unwrap_or_else(|error| panic!("{backend}: {error}"));
        assert_eq!((outcome.id.as_str(), outcome.version_id), ("pa-rvv", 2), "{backend}");
        // An organisation with no such record creates its own: it learns nothing of the others'.
        let unrelated = system(UNRELATED_ACUTE, &["system/*.*"]);
        let outcome = world
            .service
            .conditional_update(
                &unrelated,
                ResourceType::PATIENT,
                &condition,
                patient(&nhs_number(PERSON_A_NHS), "Ashdown"),
            )
            .await
            .unwrap_or_else(|error| panic!("{backend}: {error}"));
        assert!(outcome.created, "{backend}");
        let entries = world.store.audit_entries(0, 10_000).await.unwrap();
        let last = &entries.last().unwrap().record;
        assert!(
            last.query.as_deref().is_some_and(|query| query.starts_with("Patient?identifier=")),
            "{backend}: the lookup is audited: {last:?}"
        );
    }
}

/// Found by a search that names no person, a source's record of someone who objected to that source sharing is not
/// returned, and such searches give no count that would include it.
#[tokio::test]
async fn an_objection_naming_a_source_hides_its_record_of_the_person_from_searches_too() {
    for world in worlds().await {
        let backend = world.backend;
        let consent = shared_record_objection("pa-gp", Some(MENTAL_HEALTH));
        world.put(&ig_officer(), "objection-rxy", consent).await;
        let found = search(&world, &gp_doctor(), "Patient", "family=Ashdown").await.unwrap();
        assert!(found.contains(&"Patient/pa-gp".to_string()), "{backend}: {found:?}");
        assert!(!found.contains(&"Patient/pa-rxy".to_string()), "{backend}: {found:?}");
        let count = search(&world, &gp_doctor(), "Patient", "family=Ashdown&_summary=count").await;
        assert!(matches!(count, Err(ServiceError::Forbidden(_))), "{backend}");
        let history = HistoryRequest { resource_type: None, id: None, since: None, count: 100, cursor: None };
        let viewer = system(ACUTE, &["system/*.rs"]);
        assert!(
            matches!(world.service.history(&viewer, history, None).await, Err(ServiceError::Forbidden(_))),
            "{backend}: no whole-system history"
        );
    }
}

/// Patient data naming no known patient (an identifier-only subject) is its sender's alone.
#[tokio::test]
async fn patient_data_naming_no_known_patient_is_its_senders_alone() {
    for world in worlds().await {
        let backend = world.backend;
        let mut orphan = observation("pa-gp", "http://loinc.org", "2093-3");
        orphan["subject"] = json!({ "identifier": { "system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number(PERSON_A_NHS) } });
        world.put(&system(ACUTE, &["system/*.*"]), "obs-orphan", orphan).await;
        assert!(
            matches!(read(&world, &gp_doctor(), "Observation", "obs-orphan").await, Err(ServiceError::NotFound)),
            "{backend}"
        );
        let elsewhere = system(UNRELATED_ACUTE, &["system/*.rs"]);
        assert!(search(&world, &elsewhere, "Observation", "code=2093-3").await.unwrap().is_empty(), "{backend}");
        let sender = system(ACUTE, &["system/*.rs"]);
        assert_eq!(
            search(&world, &sender, "Observation", "code=2093-3").await.unwrap(),
            ["Observation/obs-orphan"],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn a_role_that_views_no_records_declares_no_relationship_and_refusals_name_no_sender() {
    for world in worlds().await {
        let backend = world.backend;
        assert!(
            matches!(
                declare(&world, &receptionist(), GrantKind::DeclaredRelationship, "pa-gp").await,
                Err(ServiceError::Forbidden(_))
            ),
            "{backend}"
        );
        let grant_id = declare(&world, &unrelated_doctor(), GrantKind::DeclaredRelationship, "pa-gp").await.unwrap();
        let queue = world.service.break_glass_uses(&ig_officer_at(UNRELATED_ACUTE), Some("open"), 0, 10).await.unwrap();
        assert!(
            queue.iter().any(|grant| grant.grant_id == grant_id && grant.kind == "declared-relationship"),
            "{backend}: declared relationships are reviewed too"
        );
        let delete = world
            .service
            .delete(&system(ACUTE, &["system/*.*"]), observation_type(), ResourceId::parse("obs-shc").unwrap())
            .await;
        match delete {
            Err(ServiceError::Forbidden(reason)) => assert!(!reason.contains(SEXUAL_HEALTH), "{backend}: {reason}"),
            other => panic!("{backend}: {other:?}"),
        }
        let feed = system(ACUTE, &["system/*.*", "system/Person.*"]);
        assert!(
            matches!(world.service.reviews(&feed, None, 0, 10).await, Err(ServiceError::Forbidden(_))),
            "{backend}: a feed reads no review queue"
        );
    }
}

/// An objection withholds others' data, so only those who may record one do: a GP type 1 objection by a GP practice
/// (for its own data), an objection to the shared record by an information governance officer.
#[tokio::test]
async fn only_those_who_may_record_an_objection_can_write_one() {
    for world in worlds().await {
        let backend = world.backend;
        let shared_record = shared_record_objection("pa-rvv", None);
        let mut forged = shared_record.clone();
        forged["id"] = json!("forged");
        let by_feed = world
            .service
            .update(
                &system(ACUTE, &["system/*.*"]),
                ResourceType::parse("Consent").unwrap(),
                ResourceId::parse("forged").unwrap(),
                forged,
                None,
            )
            .await;
        assert!(matches!(by_feed, Err(ServiceError::Forbidden(_))), "{backend}: a feed does not decide objections");
        let mut type_1 = shared_record.clone();
        type_1["category"] = json!([{ "coding": [{ "system": "http://read.info/readv2", "code": "9Nu0" }] }]);
        type_1["id"] = json!("type-1");
        let by_hospital = world
            .service
            .update(
                &system(ACUTE, &["system/*.*"]),
                ResourceType::parse("Consent").unwrap(),
                ResourceId::parse("type-1").unwrap(),
                type_1.clone(),
                None,
            )
            .await;
        assert!(matches!(by_hospital, Err(ServiceError::Forbidden(_))), "{backend}: type 1 is a GP practice's");
        type_1["patient"] = json!({ "reference": "Patient/pa-gp" });
        world.put(&system(GP, &["system/*.*"]), "type-1", type_1).await;
        world.put(&ig_officer(), "decided", shared_record).await;
    }
}

/// A source's merge (`link` `replaced-by`) links its record to another at the highest assurance, so it may name only
/// a record the same source sent.
#[tokio::test]
async fn a_merge_may_name_only_a_record_of_the_same_source() {
    for world in worlds().await {
        let backend = world.backend;
        let mut merged = patient(&nhs_number(PERSON_B_NHS), "Brenchley");
        merged["id"] = json!("pb-rvv");
        merged["link"] = json!([{ "type": "replaced-by", "other": { "reference": "Patient/pa-gp" } }]);
        let attempt = world
            .service
            .update(
                &system(ACUTE, &["system/*.*"]),
                ResourceType::PATIENT,
                ResourceId::parse("pb-rvv").unwrap(),
                merged,
                None,
            )
            .await;
        assert!(
            matches!(attempt, Err(ServiceError::Unprocessable(_))),
            "{backend}: {:?}",
            attempt.map(|outcome| outcome.id)
        );
    }
}

/// The person of a source Patient, as the person index stored it.
async fn person_of(world: &World, patient_id: &str) -> String {
    let links = world.store.person_links_of(&[patient_id.to_string()]).await.unwrap();
    links.into_iter().next().unwrap_or_else(|| panic!("{}: {patient_id} has no person", world.backend)).person_id
}

/// A source that does not trace NHS numbers against the national spine claims a verified one, with someone else's
/// demographics: believed, it would attach its record to that person at the highest assurance. Only the sources
/// configured as verifiers are believed.
#[tokio::test]
async fn a_source_not_trusted_to_verify_cannot_join_a_person_by_claiming_a_verified_nhs_number() {
    let mut identity = kmcr_service::identity::IdentitySettings::default();
    identity.nhs_number_verifiers =
        kmcr_service::identity::NhsNumberVerifiers::Only([GP.to_string(), ACUTE.to_string()].into());
    for world in worlds_with(identity).await {
        let backend = world.backend;
        let stranger = |nhs: &str| {
            let mut record = patient(nhs, "Zennor");
            record["name"][0]["given"] = json!(["Morwenna"]);
            record["gender"] = json!("male");
            record["birthDate"] = json!("2003-11-30");
            record["address"] = json!([{ "postalCode": "TR19 7AA" }]);
            record
        };
        let a = nhs_number(PERSON_A_NHS);
        world.put(&system(UNRELATED_ACUTE, &["system/*.*"]), "claim-rn7", stranger(&a)).await;
        assert_ne!(
            person_of(&world, "claim-rn7").await,
            person_of(&world, "pa-gp").await,
            "{backend}: an untrusted verification must not join the person"
        );
        // The same claim from a source that traces NHS numbers is believed: the rule, not the data, decides.
        world.put(&system(GP, &["system/*.*"]), "claim-gp", stranger(&a)).await;
        assert_eq!(person_of(&world, "claim-gp").await, person_of(&world, "pa-gp").await, "{backend}");
    }
}
