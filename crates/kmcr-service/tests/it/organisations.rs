//! An organisation leaving the sharing agreement, on both backends: recorded once, its data leaves every view on every
//! node and its systems are refused; a purge, refused while it is party, then removes what it sent for good, takes its
//! records out of the person index and leaves one audit entry.

use kmcr_fhir::{OdsCode, ResourceId, ResourceType};
use kmcr_service::identity::IdentitySettings;
use kmcr_service::{Limits, Service, ServiceError};

use crate::world::*;

/// Person A's record as their GP sees it through `service`.
async fn gp_view(service: &Service) -> Vec<String> {
    everything(service, &gp_doctor(), "pa-gp").await.unwrap()
}

#[tokio::test]
async fn an_organisation_that_leaves_takes_its_data_out_of_every_view_and_a_purge_removes_it() {
    for world in worlds().await {
        let backend = world.backend;
        let acute = OdsCode::parse(ACUTE).unwrap();
        let other_node =
            Service::start(world.store.clone(), Limits::default(), IdentitySettings::default(), policy(Vec::new()))
                .await
                .unwrap();
        let before = gp_view(&world.service).await;
        for item in ["Encounter/enc-rvv", "Observation/obs-rvv", "Patient/pa-rvv"] {
            assert!(before.contains(&item.to_string()), "{backend}: {item} in {before:?}");
        }

        let refused = world.service.purge_organisation("test-operator", &acute).await;
        assert!(matches!(refused, Err(ServiceError::Conflict(_))), "{backend}: no purge while it is party");

        world.service.record_departure("test-operator", &acute).await.unwrap();
        let after = gp_view(&world.service).await;
        assert!(after.iter().all(|item| !item.ends_with("-rvv")), "{backend}: at once on this node: {after:?}");
        assert!(after.contains(&"Observation/obs-gp".to_string()), "{backend}: the GP's data stays: {after:?}");
        other_node.follow_departures().await.unwrap();
        let elsewhere = gp_view(&other_node).await;
        assert!(elsewhere.iter().all(|item| !item.ends_with("-rvv")), "{backend}: on another node: {elsewhere:?}");
        let its_own = world
            .service
            .read(
                &system(ACUTE, &["system/*.*"]),
                ResourceType::parse("Observation").unwrap(),
                &ResourceId::parse("obs-rvv").unwrap(),
            )
            .await;
        assert!(matches!(its_own, Err(ServiceError::Forbidden(_))), "{backend}: its systems read nothing");

        let report = world.service.purge_organisation("test-operator", &acute).await.unwrap();
        assert_eq!(
            (report.resources, report.versions, report.patients_taken_out_of_the_person_index),
            (3, 3, 1),
            "{backend}"
        );
        for (type_name, id) in [("Patient", "pa-rvv"), ("Encounter", "enc-rvv"), ("Observation", "obs-rvv")] {
            let stored =
                world.store.read(ResourceType::parse(type_name).unwrap(), &ResourceId::parse(id).unwrap()).await;
            assert!(stored.unwrap().is_none(), "{backend}: {type_name}/{id} is gone from the store");
        }
        let links = world.store.person_links().await.unwrap();
        assert!(links.iter().all(|link| link.patient_id != "pa-rvv"), "{backend}: out of the person index");
        assert!(links.iter().any(|link| link.patient_id == "pa-gp"), "{backend}: the GP's record stays linked");
        let again = world.service.purge_organisation("test-operator", &acute).await.unwrap();
        assert_eq!(again.resources, 0, "{backend}: a purge run again finds nothing left");
        let audit = world.store.audit_entries(0, 10_000).await.unwrap();
        let purges: Vec<_> = audit.iter().filter(|entry| entry.record.action == "organisation-purged").collect();
        assert_eq!(purges.len(), 3, "{backend}: the refusal, the purge and the purge run again");
        assert_eq!(purges[0].record.outcome, "denied", "{backend}");
        let purges: Vec<_> = purges.into_iter().filter(|entry| entry.record.outcome == "permitted").collect();
        assert_eq!(purges.len(), 2, "{backend}");
        assert_eq!(purges[0].record.actor_id, "test-operator", "{backend}");
        assert!(
            purges[0].record.reasons[0].contains("purged 3 resources"),
            "{backend}: {:?}",
            purges[0].record.reasons
        );
        assert!(audit.iter().any(|entry| entry.record.action == "organisation-left"), "{backend}");

        assert_eq!(gp_view(&world.service).await, after, "{backend}: the rest of the record is as it was");
    }
}

/// Retention follows the source: an item its source deletes leaves every view at once (the person's record, searches
/// and their counts), while its history stays with the source's own reads.
#[tokio::test]
async fn an_item_its_source_deletes_leaves_every_view() {
    for world in worlds().await {
        let backend = world.backend;
        assert!(gp_view(&world.service).await.contains(&"Observation/obs-gp".to_string()), "{backend}");
        let gp = system(GP, &["system/*.*"]);
        let observation = ResourceType::parse("Observation").unwrap();
        world.service.delete(&gp, observation, ResourceId::parse("obs-gp").unwrap()).await.unwrap();
        let after = gp_view(&world.service).await;
        assert!(!after.contains(&"Observation/obs-gp".to_string()), "{backend}: {after:?}");
        let query = kmcr_service::references::parse_query("subject=Patient/pa-gp&_total=accurate");
        let found = world.service.search(&gp_doctor(), observation, &query, false, None).await.unwrap();
        assert!(found.outcome.matches.iter().all(|item| item.id.as_str() != "obs-gp"), "{backend}");
        assert_eq!(found.outcome.total, Some(found.outcome.matches.len() as u64), "{backend}: the count too");
        let read = world.service.read(&gp_doctor(), observation, &ResourceId::parse("obs-gp").unwrap()).await;
        assert!(matches!(read, Err(ServiceError::Gone | ServiceError::NotFound)), "{backend}");
    }
}
