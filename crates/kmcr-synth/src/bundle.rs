//! One source organisation's transaction Bundle for one person: its own Patient (created only if no Patient has its
//! local identifier yet) and its records, each put under an id made from the source and its local identifier, so that
//! sending the Bundle again changes nothing.

use std::rc::Rc;

use crate::codes::{
    NHS_NUMBER_VERIFICATION_STATUS_EXTENSION, NHS_NUMBER_VERIFICATION_STATUS_SYSTEM, SECURITY_LABEL_SYSTEM,
};
use crate::date::as_at_day;
use crate::fhir::{organisation_reference, reference, urn_uuid};
use crate::identity::{NhsNumberStatus, RecordedAddress, RecordedDemographics, SourcePatientRecord, recorded_patient};
use crate::json::Json;
use crate::organisations::Organisation;
use crate::person::{Person, Source};
use crate::records::facts::SourceFact;
use crate::rng::{Rng, stream};

pub(crate) const UK_CORE_PATIENT_PROFILE: &str = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient";

/// Writes one source's Bundle for one person.
pub(crate) struct SourceWriter<'a> {
    pub person: &'a Person,
    pub source: Source,
    pub organisation: &'static Organisation,
    /// The records stream of this person at this source.
    pub rng: Rng,
    full_urls: Rng,
    id_prefix: String,
    n_items: u32,
    entries: Vec<Json>,
    patient_reference: Rc<Json>,
    organisation_reference: Rc<Json>,
    /// A confidentiality label put on every record of this source (mental health records).
    security_label: Option<(&'static str, &'static str)>,
    /// A confidentiality label for the next record only.
    next_label: Option<(&'static str, &'static str)>,
    /// What the records say, noted as they are written, when asked for ([`Self::keep_facts`]).
    facts: Option<Vec<SourceFact>>,
}

impl<'a> SourceWriter<'a> {
    pub(crate) fn new(person: &'a Person, source: Source) -> SourceWriter<'a> {
        let words = [person.seed, person.idx as u64, source.organisation_idx as u64];
        let mut full_urls = Rng::from_words(&[words[0], words[1], words[2], stream::FULL_URLS]);
        let rng = Rng::from_words(&[words[0], words[1], words[2], stream::RECORDS]);
        let record = recorded_patient(person, &source);
        let id_prefix = id_prefix(source.organisation, &record);
        let patient_url = urn_uuid(&mut full_urls);
        let if_none_exist = if_none_exist(&record);
        let mut entries = Vec::with_capacity(64);
        entries.push(object! {
            "fullUrl": patient_url.clone(),
            "resource": patient_resource(person, source.organisation, record),
            "request": object! { "method": "POST", "url": "Patient", "ifNoneExist": if_none_exist },
        });
        SourceWriter {
            person,
            source,
            organisation: source.organisation,
            rng,
            full_urls,
            id_prefix,
            n_items: 0,
            entries,
            patient_reference: Rc::new(reference(&patient_url)),
            organisation_reference: Rc::new(organisation_reference(source.organisation)),
            security_label: None,
            next_label: None,
            facts: None,
        }
    }

    /// Notes what every record written from now on says, for [`Self::take_facts`].
    pub(crate) fn keep_facts(&mut self) {
        self.facts = Some(Vec::new());
    }

    /// Notes a fact, made only when facts are kept.
    pub(crate) fn note(&mut self, fact: impl FnOnce() -> SourceFact) {
        if let Some(facts) = &mut self.facts {
            facts.push(fact());
        }
    }

    /// The facts noted since [`Self::keep_facts`], in the order the records were written.
    pub(crate) fn take_facts(&mut self) -> Vec<SourceFact> {
        self.facts.take().unwrap_or_default()
    }

    /// The number of the record last given an id by [`Self::next_id`].
    pub(crate) fn item_number(&self) -> u32 {
        self.n_items
    }

    /// Labels every record written from now on (v3 ActCode sensitivity, e.g. `PSY`).
    pub(crate) fn label_all(&mut self, code: &'static str, display: &'static str) {
        self.security_label = Some((code, display));
    }

    /// Labels the next record written (v3 ActCode sensitivity, e.g. `SEX`).
    pub(crate) fn label_next(&mut self, code: &'static str, display: &'static str) {
        self.next_label = Some((code, display));
    }

    pub(crate) fn patient(&self) -> Json {
        Json::Shared(Rc::clone(&self.patient_reference))
    }

    pub(crate) fn organisation(&self) -> Json {
        Json::Shared(Rc::clone(&self.organisation_reference))
    }

    /// The id of the next record: `<ods>-<local id>-<n>`, lower case.
    pub(crate) fn next_id(&mut self) -> String {
        self.n_items += 1;
        let mut id = String::with_capacity(self.id_prefix.len() + 4);
        id.push_str(&self.id_prefix);
        crate::date::push_number(&mut id, u64::from(self.n_items));
        id
    }

    /// Adds a record under `id` (from [`Self::next_id`]) and returns its `urn:uuid` for references within the Bundle.
    pub(crate) fn put(&mut self, resource_type: &str, mut resource: Json) -> String {
        if let Some((code, display)) = self.next_label.take().or(self.security_label) {
            let security = object! { "system": SECURITY_LABEL_SYSTEM, "code": code, "display": display };
            resource.set("meta", object! { "security": array![security] });
        }
        let id = resource.get("id").and_then(Json::as_str).expect("a record carries the id it is put under");
        let mut url = String::with_capacity(resource_type.len() + id.len() + 1);
        url.push_str(resource_type);
        url.push('/');
        url.push_str(id);
        let full_url = urn_uuid(&mut self.full_urls);
        self.entries.push(object! {
            "fullUrl": full_url.clone(),
            "resource": resource,
            "request": object! { "method": "PUT", "url": url },
        });
        full_url
    }

    /// A day between `from_day` and `to_day` (both within the person's life and not after the extract).
    pub(crate) fn day_between(&mut self, from_day: i64, to_day: i64) -> i64 {
        let from_day = from_day.max(self.person.birth_day);
        let to_day = to_day.min(as_at_day()).max(from_day);
        self.rng.between(from_day, to_day)
    }

    /// A time in the working day, in minutes after midnight.
    pub(crate) fn working_minute(&mut self) -> u32 {
        self.rng.between(8 * 12, 18 * 12 - 1) as u32 * 5
    }

    /// A moment in the working day of `day`.
    pub(crate) fn at(&mut self, day: i64) -> crate::records::When {
        crate::records::When { day, minute: self.working_minute() }
    }

    pub(crate) fn finish(self) -> Json {
        object! { "resourceType": "Bundle", "type": "transaction", "entry": self.entries }
    }
}

fn id_prefix(organisation: &Organisation, record: &SourcePatientRecord) -> String {
    let mut prefix = String::with_capacity(24);
    prefix.push_str(&organisation.ods_code.to_ascii_lowercase());
    prefix.push('-');
    prefix.push_str(&record.identifier_value.to_ascii_lowercase());
    prefix.push('-');
    prefix
}

fn if_none_exist(record: &SourcePatientRecord) -> String {
    format!("identifier={}|{}", record.identifier_system, record.identifier_value)
}

/// The source's own Patient, from what the source recorded.
fn patient_resource(person: &Person, organisation: &Organisation, record: SourcePatientRecord) -> Json {
    let SourcePatientRecord {
        identifier_system, identifier_value, nhs_number, nhs_number_status, demographics, ..
    } = record;
    let mut identifiers = Vec::with_capacity(2);
    if let Some(nhs_number) = nhs_number {
        let mut identifier = object! { "system": kmcr_fhir::NHS_NUMBER_SYSTEM, "value": nhs_number.as_digits() };
        if nhs_number_status == NhsNumberStatus::Verified {
            let status = object! {
                "url": NHS_NUMBER_VERIFICATION_STATUS_EXTENSION,
                "valueCodeableConcept": object! {
                    "coding": array![object! {
                        "system": NHS_NUMBER_VERIFICATION_STATUS_SYSTEM,
                        "code": "01",
                        "display": "Number present and verified",
                    }],
                },
            };
            identifier = object! {
                "extension": array![status],
                "system": kmcr_fhir::NHS_NUMBER_SYSTEM,
                "value": nhs_number.as_digits(),
            };
        }
        identifiers.push(identifier);
    }
    identifiers.push(object! { "system": identifier_system, "value": identifier_value });
    let RecordedDemographics { title, given_names, family_name, gender, birth_date, address, mobile_phone, home_phone } =
        demographics;
    let mut name = object! { "use": "official", "family": family_name, "given": given_names };
    if let Some(title) = title {
        name.set("prefix", array![title]);
    }
    let mut patient = object! {
        "resourceType": "Patient",
        "meta": object! { "profile": array![UK_CORE_PATIENT_PROFILE] },
        "identifier": identifiers,
        "active": true,
        "name": array![name],
    };
    let mut telecom = Vec::with_capacity(2);
    if let Some(mobile) = mobile_phone {
        telecom.push(object! { "system": "phone", "value": mobile, "use": "mobile" });
    }
    if let Some(home) = home_phone {
        telecom.push(object! { "system": "phone", "value": home, "use": "home" });
    }
    if !telecom.is_empty() {
        patient.set("telecom", telecom);
    }
    patient.set("gender", gender.as_fhir());
    if let Some(birth_date) = birth_date {
        patient.set("birthDate", birth_date.to_fhir());
    }
    let RecordedAddress { lines, city, district, postal_code } = address;
    let mut address = object! { "use": "home", "line": lines, "city": city, "district": district };
    if let Some(postal_code) = postal_code {
        address.set("postalCode", postal_code);
    }
    patient.set("address", array![address]);
    patient.set("generalPractitioner", array![organisation_reference(person.gp_practice)]);
    patient.set("managingOrganization", organisation_reference(organisation));
    patient
}
