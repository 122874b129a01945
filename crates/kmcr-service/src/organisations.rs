//! Organisations leaving the sharing agreement, and the purge of what they sent. A departure is recorded in the store,
//! so it holds on every node whatever a node's configuration says: from the moment it is in force (at once on the
//! node that records it, within [`DEPARTURES_RECHECK_MS`] on the others) the organisation's data is out of every view
//! and its users, systems and feeds are refused, exactly as for an organisation configured `party = false`. A purge,
//! allowed only once it has left, removes that data for good: every version of everything it sent, its index rows,
//! its records in the person index, its HL7 v2 receipts and dead letters and its loads; one audit entry says who
//! purged whom, and how much went.

use std::collections::BTreeSet;
use std::sync::Arc;

use kmcr_audit::AuditRecord;
use kmcr_fhir::{Instant, OdsCode};
use kmcr_store::{Departure, PurgeStep, Receipt};

use crate::identity::WrittenPatient;
use crate::{AccessPolicy, Service, ServiceError};

/// How often `kmcr serve` looks for departures recorded by other nodes or commands.
pub const DEPARTURES_RECHECK_MS: u64 = 1_000;
/// Resources removed per transaction of a purge.
const PURGE_STEP: usize = 5_000;

/// What a purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub resources: u64,
    pub versions: u64,
    pub patients_taken_out_of_the_person_index: u64,
}

impl Service {
    /// Puts in force the departures recorded in the store: the configured policy, with each organisation that has left
    /// no longer party to the agreement. Cheap when nothing changed.
    pub async fn follow_departures(&self) -> Result<(), ServiceError> {
        let departed: BTreeSet<String> =
            self.store.departures().await?.into_iter().map(|departure| departure.ods_code).collect();
        let configured = &self.configured_access;
        let leaving: BTreeSet<String> = configured
            .registry
            .iter()
            .filter(|organisation| organisation.party_to_agreement && departed.contains(organisation.ods_code.as_str()))
            .map(|organisation| organisation.ods_code.to_string())
            .collect();
        let in_force = self.access();
        let already: BTreeSet<String> = configured
            .registry
            .iter()
            .filter(|organisation| {
                organisation.party_to_agreement && !in_force.registry.is_party(&organisation.ods_code)
            })
            .map(|organisation| organisation.ods_code.to_string())
            .collect();
        if leaving == already {
            return Ok(());
        }
        let registry =
            kmcr_access::OrganisationRegistry::new(configured.registry.iter().cloned().map(|mut organisation| {
                if leaving.contains(organisation.ods_code.as_str()) {
                    organisation.party_to_agreement = false;
                }
                organisation
            }));
        let policy = Arc::new(AccessPolicy { registry, ..AccessPolicy::clone(configured) });
        *self.access.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = policy;
        for ods_code in leaving.difference(&already) {
            tracing::warn!(%ods_code, "organisation has left the sharing agreement: its data is out of every view");
        }
        Ok(())
    }

    /// Records that `ods_code` has left the agreement, with an audit entry naming `operator`, and puts it in force
    /// here. Recording it again changes nothing (the first time stands).
    pub async fn record_departure(&self, operator: &str, ods_code: &OdsCode) -> Result<(), ServiceError> {
        let mut record = operator_record(operator, "organisation-left");
        record.query = Some(format!("organisation={ods_code}"));
        record.outcome = "permitted".into();
        let receipt = Receipt::OrganisationLeft {
            ods_code: ods_code.to_string(),
            recorded_by: operator.to_string(),
            left_ms: record.recorded_unix_ms,
        };
        self.store.write_with_receipt(Vec::new(), Some(record), receipt).await?;
        self.follow_departures().await
    }

    /// The organisations recorded as having left.
    pub async fn departures(&self) -> Result<Vec<Departure>, ServiceError> {
        Ok(self.store.departures().await?)
    }

    /// Removes for good what `ods_code` sent, once its departure from the agreement is recorded (and in force on every
    /// node: a purge waits until three rechecks have passed since); refused otherwise. Its Patients are first taken out of the person index (as a source's deletes are), so
    /// every node's persons follow; then its resources go, a step at a time; then one audit entry. A purge cut short
    /// (the process stopped) is finished by running it again.
    pub async fn purge_organisation(&self, operator: &str, ods_code: &OdsCode) -> Result<PurgeReport, ServiceError> {
        let mut record = operator_record(operator, "organisation-purged");
        record.query = Some(format!("organisation={ods_code}"));
        // Only a departure recorded in the store counts (not a configuration that happens to leave it out), and only
        // once every node has put it in force, so that no node is still writing its data while it is purged.
        let departure = self.store.departures().await?.into_iter().find(|left| left.ods_code == ods_code.as_str());
        let Some(departure) = departure else {
            let reason = format!("{ods_code} has not left the sharing agreement: record it (kmcr organisations leave)");
            return Err(self.refuse(&mut record, reason.clone(), ServiceError::Conflict(reason)).await);
        };
        let in_force_everywhere = departure.left_ms + 3 * DEPARTURES_RECHECK_MS as i64;
        let wait_ms = in_force_everywhere - Instant::now().unix_ms;
        if wait_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(wait_ms as u64)).await;
        }
        self.follow_departures().await?;
        let patient_ids = self.store.patient_ids_sent_by(ods_code.as_str()).await?;
        let leaving: Vec<WrittenPatient> =
            patient_ids.iter().map(|id| WrittenPatient { id: id.clone(), version_id: 0, json: None }).collect();
        self.identity.patients_written(leaving).await?;
        let mut report =
            PurgeReport { patients_taken_out_of_the_person_index: patient_ids.len() as u64, ..PurgeReport::default() };
        let mut after_key = 0;
        loop {
            let step = self.store.purge_source(ods_code.as_str(), after_key, PURGE_STEP).await?;
            let PurgeStep { resources, versions, last_key } = step;
            report.resources += resources;
            report.versions += versions;
            after_key = last_key;
            if resources == 0 {
                break;
            }
        }
        record.outcome = "permitted".into();
        record.reasons.push(format!(
            "purged {} resources ({} versions); {} source patient records taken out of the person index",
            report.resources, report.versions, report.patients_taken_out_of_the_person_index
        ));
        // The patients are not listed (an organisation may hold a million): the person index's link history keeps each
        // record taken out, and the purged data named no one else.
        let receipt = Receipt::OrganisationPurged {
            ods_code: ods_code.to_string(),
            purged_ms: Instant::now().unix_ms,
            patient_ids,
        };
        self.store.write_with_receipt(Vec::new(), Some(record), receipt).await?;
        tracing::warn!(%ods_code, resources = report.resources, "organisation's data purged");
        Ok(report)
    }
}

/// An audit record of an operator's command (run on the server, not through the API).
fn operator_record(operator: &str, action: &str) -> AuditRecord {
    let now = Instant::now().unix_ms;
    let mut record = AuditRecord::new("operator", operator, "KMCR", action, &format!("{action}-{now}"));
    record.recorded_unix_ms = now;
    record
}

impl Service {
    /// An organisation's name as the registry knows it, for showing where an item came from.
    pub fn organisation_name(&self, ods_code: &str) -> Option<String> {
        self.access().registry.get_str(ods_code).map(|organisation| organisation.name.clone())
    }
}
