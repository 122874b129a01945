//! The person index's `Person` resources as a caller may see them. A Person links every source Patient of a person,
//! and a link to a sealed source's record would say, by existing, what the person keeps from others: so each Person
//! is shown with only the links to records the caller may see, and one with none is not shown at all.

use kmcr_access::Principal;
use kmcr_fhir::ResourceType;
use kmcr_store::StoredResource;
use serde_json::Value;

use crate::{RequestContext, Service, ServiceError};

impl Service {
    /// `stored` (a Person) with only the links the caller may see; `None` when it may see none.
    pub(crate) async fn person_as_seen(
        &self,
        context: &RequestContext,
        mut stored: StoredResource,
    ) -> Result<Option<StoredResource>, ServiceError> {
        let Some(json) = stored.json.as_deref() else { return Ok(Some(stored)) };
        let Ok(mut person) = serde_json::from_str::<Value>(json) else { return Ok(None) };
        let linked: Vec<String> = linked_patient_ids(&person);
        if linked.is_empty() {
            return Ok(None);
        }
        // Decided on the records this Person links, as stored: what is shown is what was decided on.
        let access = self.person_access_of(context, Some(stored.id.to_string()), linked).await?;
        if let Some(links) = person.get_mut("link").and_then(Value::as_array_mut) {
            links.retain(|link| {
                patient_id_of_link(link).is_some_and(|patient_id| access.visible_patient_ids.contains(&patient_id))
            });
            // A link's reason may name the record it was made through; not one the caller may not see.
            for link in links.iter_mut() {
                let Some(extensions) = link.pointer_mut("/extension/0/extension").and_then(Value::as_array_mut) else {
                    continue;
                };
                extensions.retain(|extension| {
                    let through = extension.pointer("/valueReference/reference").and_then(Value::as_str);
                    through.is_none_or(|reference| {
                        let id = reference.trim_start_matches("Patient/");
                        access.visible_patient_ids.iter().any(|visible| visible == id)
                    })
                });
            }
            if links.is_empty() {
                return Ok(None);
            }
        }
        stored.json = Some(person.to_string());
        Ok(Some(stored))
    }

    /// Whether the caller may search Persons without naming a record: only a configured region-wide reader.
    pub(crate) fn may_search_all_persons(context: &RequestContext) -> bool {
        matches!(&context.principal, Principal::System(system) if system.region_wide.is_some())
    }
}

/// The Patient ids a Person links, in order.
pub(crate) fn linked_patient_ids(person: &Value) -> Vec<String> {
    person.get("link").and_then(Value::as_array).into_iter().flatten().filter_map(patient_id_of_link).collect()
}

fn patient_id_of_link(link: &Value) -> Option<String> {
    let reference = link.pointer("/target/reference")?.as_str()?;
    reference.strip_prefix("Patient/").map(str::to_string)
}

/// The Patient ids a Person search names (`link=`, `patient=`), as asked.
pub(crate) fn patients_named_in_person_search(params: &[(String, String)]) -> Vec<String> {
    let mut ids = Vec::new();
    for (name, value) in params {
        let base = name.split(':').next().unwrap_or(name);
        if base != "link" && base != "patient" {
            continue;
        }
        for element in value.split(',') {
            let id = element.rsplit("Patient/").next().unwrap_or(element);
            if !id.is_empty() && !id.contains('/') {
                ids.push(id.to_string());
            }
        }
    }
    ids
}

pub(crate) fn is_person(resource_type: ResourceType) -> bool {
    resource_type == ResourceType::PERSON
}
