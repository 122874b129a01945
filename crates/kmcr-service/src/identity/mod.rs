//! One person across every source: the live person index behind the service.
//!
//! Every Patient write is matched here as soon as the store has it: the record is placed with a person (or a new
//! one), the change and its evidence are stored with its history, pairs in the review band are queued, and the
//! Person resources whose membership changed are written again. Placing happens in memory under a lock; the stored
//! changes are written by one task in arrival order, many requests' changes in one transaction, and each request
//! waits until its own are durable. Anything a crash loses between the Patient write and its link is matched again
//! at the next start (`reconcile`).

mod demographics;
mod follow;
mod person;
mod stored_model;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock, Weak};

use kmcr_fhir::{ResourceId, ResourceType};
use kmcr_fhir_search::{SearchParamRegistry, parse_search};
use kmcr_mpi::{
    Demographics, LinkReason, LinkSettings, ManualDecision, ManualDecisions, Model, PersonIndex, PersonMatch,
    Placement, PreparedRecord, Score, Thresholds,
};
use kmcr_store::{
    AfterWrite, IdentityWrite, LinkChange, PageRequest, PersonLink, ReviewPair, ReviewStatus, Store, StoreError,
    TrainedModel, Unlink,
};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

pub use demographics::{NhsNumberVerifiers, demographics_of, replaced_by};
use stored_model::{model_from_json, model_to_json};

/// The organisation the person index writes Person resources as.
pub const PERSON_INDEX_ODS_CODE: &str = "KMCR";
/// The actor recorded for links the matcher makes.
const MATCHER_ACTOR: &str = "kmcr-person-index";

#[derive(Clone, Debug)]
pub struct IdentitySettings {
    pub thresholds: Thresholds,
    /// People the region expects to hold: before there is enough to train on, two random records are taken to be one
    /// person with probability one over this.
    pub expected_population: usize,
    /// Below this many records the built-in model is used; from it, the model is trained on the records at start.
    pub min_records_to_train: usize,
    /// How often the index takes in the links other nodes serving the same database have stored (`follow.rs`).
    pub follow_interval: std::time::Duration,
    /// Sources whose "verified" NHS numbers are believed.
    pub nhs_number_verifiers: NhsNumberVerifiers,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        IdentitySettings {
            thresholds: Thresholds::default(),
            expected_population: 2_000_000,
            min_records_to_train: 1_000,
            follow_interval: std::time::Duration::from_secs(1),
            nhs_number_verifiers: NhsNumberVerifiers::All,
        }
    }
}

pub struct Identity {
    state: RwLock<State>,
    queue: mpsc::UnboundedSender<Pending>,
    settings: IdentitySettings,
    /// How far the index has taken in what other nodes stored.
    follower: tokio::sync::Mutex<follow::Follower>,
    /// Held shared by this node's placements from the moment they change the index until their changes are stored,
    /// and exclusively by the follower while it catches up: otherwise the follower could read the store between a
    /// placement here and its commit, take the store's older link for the newer, and undo the placement.
    local_writes: tokio::sync::RwLock<()>,
    /// Itself, for the task that trains a new model and for the placements the store's writer runs.
    this: Weak<Identity>,
    store: Store,
}

struct State {
    index: PersonIndex,
    decisions: ManualDecisions,
    links: HashMap<String, HeldLink>,
    /// The records the model in use was trained on (0 for the untrained model).
    model_records: usize,
    /// A new model is being trained.
    training: bool,
    nhs_number_verifiers: NhsNumberVerifiers,
}

/// What the index keeps in memory of a record's stored link: what its Person shows and what tells a change. The
/// evidence, field by field, stays in the store (the link history and `mpi_record` hold it): 627 bytes of JSON for each
/// record linked by score in a 10,000-person benchmark store, about 0.6 GB at two million records, memory the operating
/// system's cache of the store needs more.
#[derive(Clone, Debug)]
pub(crate) struct HeldLink {
    pub person_id: Box<str>,
    pub patient_version_id: i64,
    pub reason: LinkReason,
    pub linked_through: Option<Box<str>>,
    pub score: Option<f64>,
}

impl From<&PersonLink> for HeldLink {
    fn from(link: &PersonLink) -> HeldLink {
        HeldLink {
            person_id: link.person_id.as_str().into(),
            patient_version_id: link.patient_version_id,
            // A reason this build does not know (stored by a newer node) is taken as a link on score.
            reason: LinkReason::from_code(&link.reason).unwrap_or(LinkReason::Score),
            linked_through: link.linked_through.as_deref().map(Box::from),
            score: link.score,
        }
    }
}

/// Changes to store, the persons whose Person resource they change, and who waits for them.
struct Pending {
    identity: IdentityWrite,
    persons: BTreeSet<String>,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// A Patient as written: its id and version, and its JSON unless it was deleted.
pub struct WrittenPatient {
    pub id: String,
    pub version_id: i64,
    pub json: Option<String>,
}

impl WrittenPatient {
    /// The Patients a write changed (not those written unchanged), from its outcomes.
    pub fn of_outcomes(outcomes: &[kmcr_store::WriteOutcome]) -> Vec<WrittenPatient> {
        outcomes
            .iter()
            .filter(|outcome| outcome.resource_type == ResourceType::PATIENT && !outcome.unchanged)
            .map(|outcome| WrittenPatient {
                id: outcome.id.to_string(),
                version_id: outcome.version_id,
                json: if outcome.deleted { None } else { outcome.json.clone() },
            })
            .collect()
    }
}

impl Identity {
    /// Rebuilds the index from the store: stored links, manual decisions, every current Patient's demographics, and
    /// the newest stored model (trained here if there is none). Patients never linked, or changed since they were, are
    /// matched again.
    pub async fn start(store: Store, settings: IdentitySettings) -> Result<Arc<Identity>, StoreError> {
        let started = std::time::Instant::now();
        // What other nodes store from here on is followed; what they stored before is loaded below.
        let follower = follow::Follower::new(&store, follow::now_ms()).await?;
        let links: HashMap<String, HeldLink> = store
            .person_links()
            .await?
            .into_iter()
            .map(|link| {
                let held = HeldLink::from(&link);
                (link.patient_id, held)
            })
            .collect();
        let decisions = load_decisions(&store).await?;
        let patients = load_patients(&store, &links, &settings.nhs_number_verifiers).await?;
        let read_seconds = started.elapsed().as_secs_f64();
        let link_settings = LinkSettings { thresholds: settings.thresholds, ..LinkSettings::default() };
        let demographics: Vec<&Demographics> = patients.iter().map(|patient| &patient.demographics).collect();
        let prepared = kmcr_mpi::prepare_all(&demographics, link_settings.n_threads);
        drop(demographics);
        let (model, model_source, model_records) = match stored_model(&store).await? {
            Some((model, trained_on)) => (model, "stored", trained_on),
            None if prepared.len() >= settings.min_records_to_train => {
                let model = kmcr_mpi::train_prepared(&prepared, &link_settings);
                let trained = TrainedModel { n_records: prepared.len() as i64, model: model_to_json(&model) };
                store
                    .write_with_identity(
                        Vec::new(),
                        IdentityWrite { models: vec![trained], ..Default::default() },
                        None,
                    )
                    .await?;
                (model, "trained", prepared.len())
            }
            None => (Model::untrained(1.0 / settings.expected_population.max(1) as f64), "untrained", 0),
        };
        let model_seconds = started.elapsed().as_secs_f64() - read_seconds;
        let mut index = PersonIndex::new(model, settings.thresholds);
        let n_records = patients.len();
        index.reserve(n_records);
        let mut stale = Vec::new();
        for (patient, prepared) in patients.into_iter().zip(prepared) {
            match (patient.stale_json, links.get(&patient.id)) {
                (Some(json), _) => {
                    stale.push(WrittenPatient { id: patient.id, version_id: patient.version_id, json: Some(json) })
                }
                (None, Some(link)) => index.restore_prepared(&patient.id, prepared, &link.person_id, link.reason),
                (None, None) => unreachable!("a Patient without a link is loaded with its JSON"),
            }
        }
        let index_seconds = started.elapsed().as_secs_f64() - read_seconds - model_seconds;
        tracing::info!(
            n_records,
            n_to_match = stale.len(),
            model_source,
            read_seconds,
            model_seconds,
            index_seconds,
            "person index loaded"
        );
        let (queue, receiver) = mpsc::unbounded_channel();
        let nhs_number_verifiers = settings.nhs_number_verifiers.clone();
        let state = State { index, decisions, links, model_records, training: false, nhs_number_verifiers };
        let follower = tokio::sync::Mutex::new(follower);
        let identity = Arc::new_cyclic(|this| Identity {
            state: RwLock::new(state),
            queue,
            settings,
            follower,
            local_writes: tokio::sync::RwLock::new(()),
            this: this.clone(),
            store: store.clone(),
        });
        tokio::spawn(write_loop(store.clone(), Arc::downgrade(&identity), receiver));
        // An embedded store has one node; PostgreSQL may have several, each following the others.
        if store.backend_name() == "postgres" {
            let follow_interval = identity.settings.follow_interval;
            tokio::spawn(follow::follow_loop(store.clone(), Arc::downgrade(&identity), follow_interval));
        }
        // A stored model trained on half the records or fewer serves until a new one is trained in the background.
        let to_train_on = identity.write_state().records_to_train_on(identity.settings.min_records_to_train);
        if let Some(records) = to_train_on {
            identity.train_in_background(records);
        }
        identity.reconcile(stale).await?;
        Ok(identity)
    }

    /// Matches Patients the store holds but the index has not placed at their current version.
    async fn reconcile(&self, mut patients: Vec<WrittenPatient>) -> Result<(), StoreError> {
        while !patients.is_empty() {
            let rest = patients.split_off(patients.len().min(500));
            self.patients_written(std::mem::replace(&mut patients, rest)).await?;
        }
        Ok(())
    }

    /// Places every Patient just written (or takes a deleted one out) and waits until the changes are stored.
    pub async fn patients_written(&self, patients: Vec<WrittenPatient>) -> Result<(), StoreError> {
        if patients.is_empty() {
            return Ok(());
        }
        if self.store.commits_in_order() {
            // The embedded store's writer places them, in commit order, and stores the changes in the same commit.
            let Some(identity) = self.this.upgrade() else { return Ok(()) };
            let place: AfterWrite = Box::new(move |_| identity.place_now(patients));
            self.store.write_then(Vec::new(), None, None, place).await?;
            self.train_if_due();
            return Ok(());
        }
        let _placing = self.local_writes.read().await;
        let (identity, persons, to_train_on) = {
            let mut state = self.write_state();
            let mut identity = IdentityWrite::default();
            let mut persons = BTreeSet::new();
            for patient in patients {
                state.place_written(patient, &mut identity, &mut persons);
            }
            let to_train_on = state.records_to_train_on(self.settings.min_records_to_train);
            (identity, persons, to_train_on)
        };
        if let Some(records) = to_train_on {
            self.train_in_background(records);
        }
        self.send(identity, persons).await
    }

    /// What [`Store::write_then`] does once a write's operations are applied, on a store that commits in order (the
    /// embedded store's one writer): places the Patients written (not those written unchanged, nor deleted ones, which
    /// are taken out), and returns the changes with the Person writes they need, so that the write's data and its place
    /// in the person index are one commit, and one wait for the disk. `placed` is set once anything was placed: if the
    /// write fails after that, the index is ahead of the store until [`Identity::resync`].
    pub(crate) fn place_after_write(&self, placed: Arc<std::sync::atomic::AtomicBool>) -> Option<AfterWrite> {
        let identity = self.this.upgrade()?;
        Some(Box::new(move |outcomes: &[kmcr_store::WriteOutcome]| {
            let written = WrittenPatient::of_outcomes(outcomes);
            if written.is_empty() {
                return (IdentityWrite::default(), Vec::new());
            }
            placed.store(true, std::sync::atomic::Ordering::SeqCst);
            identity.place_now(written)
        }))
    }

    /// Places `patients` now and returns the index's changes with the writes of the Person resources they change, as
    /// the index holds them now.
    fn place_now(&self, patients: Vec<WrittenPatient>) -> (IdentityWrite, Vec<kmcr_store::WriteOp>) {
        let mut state = self.write_state();
        let mut identity = IdentityWrite::default();
        let mut persons = BTreeSet::new();
        for patient in patients {
            state.place_written(patient, &mut identity, &mut persons);
        }
        let ops = persons.iter().map(|person_id| person::person_op(person_id, state.person_json(person_id))).collect();
        (identity, ops)
    }

    /// Places these Patients again as the store holds them (taking out those it does not): after a write that placed
    /// them failed, so that the index is not ahead of the store.
    pub(crate) async fn resync(&self, patient_ids: &[ResourceId]) -> Result<(), StoreError> {
        let mut patients = Vec::with_capacity(patient_ids.len());
        for id in patient_ids {
            let stored = self.store.read(ResourceType::PATIENT, id).await?;
            patients.push(WrittenPatient {
                id: id.to_string(),
                version_id: stored.as_ref().map_or(0, |stored| stored.version_id),
                json: stored.filter(|stored| !stored.deleted).and_then(|stored| stored.json),
            });
        }
        self.patients_written(patients).await
    }

    /// Starts training a new model once the index holds twice the records its model was trained on.
    pub(crate) fn train_if_due(&self) {
        let to_train_on = self.write_state().records_to_train_on(self.settings.min_records_to_train);
        if let Some(records) = to_train_on {
            self.train_in_background(records);
        }
    }

    /// Trains a model on `records` away from the lock and the request, stores it, then scores every later placement
    /// and search with it. Links already made stay as they are.
    fn train_in_background(&self, records: Vec<Arc<PreparedRecord>>) {
        let Some(identity) = self.this.upgrade() else { return };
        // One thread: retraining runs beside live traffic, and on a small machine taking every core for it slowed
        // ingest (MLLP messages waited behind the comparisons of a million random pairs).
        let link_settings =
            LinkSettings { thresholds: self.settings.thresholds, n_threads: 1, ..LinkSettings::default() };
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let n_records = records.len();
            let trained = tokio::task::spawn_blocking(move || kmcr_mpi::train_prepared(&records, &link_settings)).await;
            let trained = match trained {
                Ok(model) => {
                    let model_json = model_to_json(&model);
                    let models = vec![TrainedModel { n_records: n_records as i64, model: model_json }];
                    let stored = identity.send(IdentityWrite { models, ..IdentityWrite::default() }, BTreeSet::new());
                    stored.await.map(|()| model)
                }
                Err(error) => Err(StoreError::Unavailable(format!("training stopped: {error}"))),
            };
            let mut state = identity.write_state();
            state.training = false;
            // On failure too: the next attempt waits until the records have doubled again, rather than every write.
            state.model_records = n_records;
            match trained {
                Ok(model) => {
                    state.index.set_model(model);
                    let seconds = started.elapsed().as_secs_f64();
                    tracing::info!(n_records, seconds, "person index trained a new model");
                }
                Err(error) => tracing::error!(%error, n_records, "person index could not train a new model"),
            }
        });
    }

    /// The index to read: searches and reads of persons run side by side, and wait only for a write.
    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn send(&self, identity: IdentityWrite, persons: BTreeSet<String>) -> Result<(), StoreError> {
        let (reply, done) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the person index writer has stopped".into());
        self.queue.send(Pending { identity, persons, reply }).map_err(|_| stopped())?;
        done.await.map_err(|_| stopped())?
    }

    /// The Patient ids of the person `patient_id` belongs to (itself alone when the index does not know it).
    pub fn linked_patients(&self, patient_id: &str) -> Vec<String> {
        let state = self.read_state();
        match state.index.person_of(patient_id) {
            Some(person_id) => state.index.members(person_id).into_iter().map(str::to_string).collect(),
            None => vec![patient_id.to_string()],
        }
    }

    pub fn person_of(&self, patient_id: &str) -> Option<String> {
        let state = self.read_state();
        state.index.person_of(patient_id).map(str::to_string)
    }

    /// Persons who may be the one a Patient resource describes, for `$match`.
    pub fn search(&self, patient: &Value, count: usize) -> Vec<PersonMatch> {
        let demographics = demographics_of(patient, &NhsNumberVerifiers::All);
        let state = self.read_state();
        state.index.search(&demographics, count)
    }

    /// Records a person's decision about a pair and re-matches both records so that it takes effect at once.
    pub async fn decide(
        &self,
        store: &Store,
        first_patient_id: &str,
        second_patient_id: &str,
        decision: ManualDecision,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut written = Vec::new();
        for id in [first_patient_id, second_patient_id] {
            let Ok(id) = ResourceId::parse(id) else { continue };
            if let Some(stored) = store.read(ResourceType::PATIENT, &id).await?
                && !stored.deleted
            {
                written.push(WrittenPatient { id: id.to_string(), version_id: stored.version_id, json: stored.json });
            }
        }
        let _placing = self.local_writes.read().await;
        let (identity, persons) = {
            let mut state = self.write_state();
            state.decisions.record(first_patient_id, second_patient_id, decision);
            let mut identity = IdentityWrite::default();
            identity.decisions.push(kmcr_store::ReviewDecision {
                first_patient_id: first_patient_id.to_string(),
                second_patient_id: second_patient_id.to_string(),
                status: match decision {
                    ManualDecision::Link => ReviewStatus::Linked,
                    ManualDecision::KeepApart => ReviewStatus::KeptApart,
                },
                actor: actor.to_string(),
            });
            let mut persons = BTreeSet::new();
            for patient in written {
                state.place_written(patient, &mut identity, &mut persons);
            }
            (identity, persons)
        };
        self.send(identity, persons).await
    }

    fn person_json(&self, person_id: &str) -> Option<Value> {
        self.read_state().person_json(person_id)
    }
}

impl State {
    /// The Person resource of `person_id` as the index holds it now; `None` once it has no records.
    fn person_json(&self, person_id: &str) -> Option<Value> {
        let members = self.index.members(person_id);
        if members.is_empty() {
            return None;
        }
        let links: Vec<(&str, Option<&HeldLink>)> =
            members.iter().map(|member| (*member, self.links.get(*member))).collect();
        Some(person::person_resource(person_id, &links))
    }

    /// The records to train a new model on, once the index holds enough to train on and twice the records its model
    /// was trained on, unless a model is being trained already.
    fn records_to_train_on(&mut self, min_records_to_train: usize) -> Option<Vec<Arc<PreparedRecord>>> {
        let n_records = self.index.n_records();
        if self.training || n_records < min_records_to_train || n_records < self.model_records.saturating_mul(2) {
            return None;
        }
        self.training = true;
        Some(self.index.records_for_training())
    }

    fn place_written(&mut self, patient: WrittenPatient, identity: &mut IdentityWrite, persons: &mut BTreeSet<String>) {
        let Some(json) = patient.json.as_deref() else {
            if let Some(previous) = self.index.forget(&patient.id) {
                persons.insert(previous.clone());
                self.links.remove(&patient.id);
                identity.unlinks.push(Unlink {
                    patient_id: patient.id,
                    previous_person_id: previous,
                    actor: MATCHER_ACTOR.into(),
                });
            }
            return;
        };
        let Ok(resource) = serde_json::from_str::<Value>(json) else { return };
        let demographics = demographics_of(&resource, &self.nhs_number_verifiers);
        let merged = replaced_by(&resource)
            .filter(|survivor| *survivor != patient.id)
            .and_then(|survivor| self.index.merge_into(&patient.id, &demographics, &survivor));
        let placement = match merged {
            Some(placement) => placement,
            None => self.index.place(&patient.id, &demographics, &self.decisions, new_person_id),
        };
        persons.insert(placement.person_id.clone());
        if let Some(previous) = &placement.previous_person_id {
            persons.insert(previous.clone());
        }
        for (other, score) in &placement.reviews {
            identity.reviews.push(ReviewPair {
                first_patient_id: patient.id.clone(),
                second_patient_id: other.clone(),
                score: score.match_probability,
                evidence: evidence_json(score).to_string(),
            });
        }
        let link = link_of(&patient.id, patient.version_id, &placement);
        let unchanged = self.links.get(&patient.id).is_some_and(|current| {
            *current.person_id == link.person_id && current.patient_version_id == link.patient_version_id
        });
        if !unchanged {
            identity.changes.push(LinkChange {
                link: link.clone(),
                previous_person_id: placement.previous_person_id.clone(),
                actor: MATCHER_ACTOR.into(),
            });
        }
        let held = HeldLink::from(&link);
        self.links.insert(patient.id, held);
        // Persons this record linked with its own were joined: their records moved, linked through it (into the
        // record's person, or another the record then split from).
        for moved in placement.joined {
            let (through, score) = moved.through;
            let link = PersonLink {
                patient_id: moved.record_id,
                person_id: moved.person_id,
                patient_version_id: 0,
                reason: LinkReason::PersonJoin.code().to_string(),
                linked_through: Some(through),
                score: Some(score.match_probability),
                evidence: Some(evidence_json(&score).to_string()),
            };
            self.record_move(link, moved.previous_person_id, identity, persons);
        }
        // Records of its person that, linked again alone, were another person's: each group moved to a new person.
        for split in placement.split {
            let link = PersonLink {
                patient_id: split.record_id,
                person_id: split.person_id,
                patient_version_id: 0,
                reason: LinkReason::PersonSplit.code().to_string(),
                linked_through: None,
                score: None,
                evidence: None,
            };
            self.record_move(link, split.previous_person_id, identity, persons);
        }
    }

    /// A record that a placement moved (not the record placed): its held link follows, the change is stored at the
    /// version it was last placed at, and both persons' Person resources are written again.
    fn record_move(
        &mut self,
        mut link: PersonLink,
        previous_person_id: String,
        identity: &mut IdentityWrite,
        persons: &mut BTreeSet<String>,
    ) {
        let Some(current) = self.links.get_mut(&link.patient_id) else { return };
        link.patient_version_id = current.patient_version_id;
        *current = HeldLink::from(&link);
        persons.insert(link.person_id.clone());
        persons.insert(previous_person_id.clone());
        identity.changes.push(LinkChange {
            link,
            previous_person_id: Some(previous_person_id),
            actor: MATCHER_ACTOR.into(),
        });
    }
}

fn link_of(patient_id: &str, version_id: i64, placement: &Placement) -> PersonLink {
    let score = placement.linked_through.as_ref().map(|(_, score)| score);
    PersonLink {
        patient_id: patient_id.to_string(),
        person_id: placement.person_id.clone(),
        patient_version_id: version_id,
        reason: placement.reason.code().to_string(),
        linked_through: placement.linked_through.as_ref().map(|(record, _)| record.clone()),
        score: score.map(|score| score.match_probability),
        evidence: score.map(|score| evidence_json(score).to_string()),
    }
}

/// The evidence of a score, field by field: what each field's level was and what it weighed (log2 odds).
pub fn evidence_json(score: &Score) -> Value {
    let fields: Vec<Value> = score
        .evidence
        .iter()
        .map(|evidence| {
            json!({
                "field": evidence.field_name(),
                "level": evidence.level_name(),
                "weight": (evidence.weight * 100.0).round() / 100.0,
            })
        })
        .collect();
    json!({
        "matchWeight": (score.match_weight * 100.0).round() / 100.0,
        "matchProbability": score.match_probability,
        "fields": fields,
    })
}

fn new_person_id() -> String {
    crate::new_resource_id().to_string()
}

async fn load_decisions(store: &Store) -> Result<ManualDecisions, StoreError> {
    let mut decisions = ManualDecisions::default();
    let mut after = 0;
    loop {
        let page = store.reviews(None, after, 1_000).await?;
        let Some(last) = page.last() else { break };
        after = last.review_id;
        for review in &page {
            record_decision(&mut decisions, review);
        }
    }
    Ok(decisions)
}

/// Takes in what a person decided about a stored review pair (nothing while it is open).
fn record_decision(decisions: &mut ManualDecisions, review: &kmcr_store::Review) {
    let decision = match review.status {
        ReviewStatus::Linked => ManualDecision::Link,
        ReviewStatus::KeptApart => ManualDecision::KeepApart,
        ReviewStatus::Open => return,
    };
    decisions.record(&review.first_patient_id, &review.second_patient_id, decision);
}

/// The newest stored model and the records it was trained on, unless it is not one this build can use.
async fn stored_model(store: &Store) -> Result<Option<(Model, usize)>, StoreError> {
    let Some(stored) = store.latest_model().await? else { return Ok(None) };
    Ok(model_from_json(&stored.model).map(|model| (model, usize::try_from(stored.n_records).unwrap_or(0))))
}

/// A current Patient as loaded at start; its JSON is kept only when it must be matched again.
struct LoadedPatient {
    id: String,
    version_id: i64,
    demographics: Demographics,
    stale_json: Option<String>,
}

async fn load_patients(
    store: &Store,
    links: &HashMap<String, HeldLink>,
    verifiers: &NhsNumberVerifiers,
) -> Result<Vec<LoadedPatient>, StoreError> {
    let request = parse_search(SearchParamRegistry::official_r4(), ResourceType::PATIENT, &[], false, 1_000)
        .map_err(|error| StoreError::UnsupportedSearch(error.to_string()))?;
    let request = Arc::new(request);
    let fetch = |cursor| {
        let (store, request) = (store.clone(), request.clone());
        tokio::spawn(async move {
            let page = PageRequest { count: 1_000, cursor, want_total: false };
            store.search(&request, &page, &kmcr_store::RowFilter::Unrestricted).await
        })
    };
    let mut patients = Vec::new();
    let mut next_page = Some(fetch(None));
    while let Some(page) = next_page.take() {
        let outcome =
            page.await.map_err(|error| StoreError::Unavailable(format!("reading Patients failed: {error}")))??;
        // The store reads the next page while this one is parsed.
        next_page = outcome.next_cursor.map(|cursor| fetch(Some(cursor)));
        for stored in outcome.matches {
            let Some(json) = stored.json else { continue };
            let Ok(resource) = serde_json::from_str::<Value>(&json) else { continue };
            let id = stored.id.to_string();
            let linked = links.get(&id).is_some_and(|link| link.patient_version_id == stored.version_id);
            let stale_json = (!linked).then_some(json);
            patients.push(LoadedPatient {
                id,
                version_id: stored.version_id,
                demographics: demographics_of(&resource, verifiers),
                stale_json,
            });
        }
    }
    Ok(patients)
}

/// Writes queued changes in arrival order, everything waiting in one transaction with the Person resources they
/// change, then answers each waiting request.
async fn write_loop(store: Store, identity: std::sync::Weak<Identity>, mut receiver: mpsc::UnboundedReceiver<Pending>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while let Ok(next) = receiver.try_recv() {
            batch.push(next);
        }
        let Some(identity) = identity.upgrade() else { return };
        let mut merged = IdentityWrite::default();
        let mut persons = BTreeSet::new();
        let mut replies = Vec::with_capacity(batch.len());
        for pending in batch {
            merged.append(pending.identity);
            persons.extend(pending.persons);
            replies.push(pending.reply);
        }
        // The Person resources are made as the index holds them when the transaction writes them: on the embedded
        // store, in the writer's commit order, so that one made earlier never overwrites one made later.
        let place: AfterWrite = Box::new(move |_| {
            let state = identity.read_state();
            let ops = persons.iter().map(|person_id| person::person_op(person_id, state.person_json(person_id)));
            (merged, ops.collect())
        });
        let result = store.write_then(Vec::new(), None, None, place).await.map(|_| ());
        if let Err(error) = &result {
            tracing::error!(%error, "the person index could not store its changes");
        }
        for reply in replies {
            let _ = reply.send(result.clone());
        }
    }
}
