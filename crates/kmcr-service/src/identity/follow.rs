//! Following the other nodes. Several nodes may serve one PostgreSQL database, each with its own person index in
//! memory; each node writes every change of a record's person to the store's link history. A node follows that
//! history: for each change it has not applied, it reads the record's stored link and its Patient and puts the record
//! where the store says, so that its `$everything`, `patient=` searches, `$match` and its own matching see every
//! node's records and links. It reads decisions the same way, so that a decision made on one node sticks on all.
//!
//! The history's sequence is handed out when a change is written, not when it commits, so a change can appear below
//! one already read. Changes are therefore read again for [`SETTLE_MS`] after they were written (each applied once),
//! and only those older than that are taken as settled.
//!
//! What this does not do: two nodes placing records of one new person at the same moment, each before seeing the
//! other's, make two persons (a missed link, never a false one), which stay apart until one record is written again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use kmcr_fhir::{ResourceId, ResourceType};
use kmcr_store::{LinkChangeSeen, PersonLink, Store, StoreError};
use serde_json::Value;

use super::{HeldLink, Identity, demographics_of, record_decision};

/// How long after it was stamped a change may still commit, with room for the nodes' clocks to differ.
const SETTLE_MS: i64 = 30_000;
/// Changes read from the history at a time.
const PAGE: usize = 2_000;

/// How far this node has followed the store.
pub(super) struct Follower {
    /// Every change up to this sequence is applied, and no change below it can still commit.
    settled_through: i64,
    /// Changes after `settled_through` already applied, with when each was written (ms).
    applied: BTreeMap<i64, i64>,
    /// Decisions made from this time (ms) on are read again.
    decisions_from_ms: i64,
}

impl Follower {
    /// Starts from what the store held settled before `started_ms` (the index was loaded after it).
    pub(super) async fn new(store: &Store, started_ms: i64) -> Result<Follower, StoreError> {
        Ok(Follower {
            settled_through: store.link_sequence_before(started_ms - SETTLE_MS).await?,
            applied: BTreeMap::new(),
            decisions_from_ms: started_ms - SETTLE_MS,
        })
    }
}

/// A record whose stored link differs from this node's: where the store puts it, and its Patient's JSON.
struct StoredPlace {
    patient_id: String,
    link: Option<PersonLink>,
    patient_json: Option<String>,
}

impl Identity {
    /// Applies every link and decision other nodes have stored since the last call; returns how many records this
    /// node's index moved, added or took out.
    pub async fn catch_up(&self, store: &Store) -> Result<usize, StoreError> {
        let _no_placement_in_flight = self.local_writes.write().await;
        let mut follower = self.follower.lock().await;
        let started_ms = now_ms();

        let decisions = store.decisions_since(follower.decisions_from_ms).await?;
        if !decisions.is_empty() {
            let mut state = self.write_state();
            for review in &decisions {
                record_decision(&mut state.decisions, review);
            }
        }
        follower.decisions_from_ms = started_ms - SETTLE_MS;

        let mut fresh: Vec<LinkChangeSeen> = Vec::new();
        let mut after = follower.settled_through;
        loop {
            let page = store.link_changes_after(after, PAGE).await?;
            let full = page.len() == PAGE;
            after = page.last().map_or(after, |change| change.sequence);
            fresh.extend(page.into_iter().filter(|change| !follower.applied.contains_key(&change.sequence)));
            if !full {
                break;
            }
        }
        let patient_ids: BTreeSet<String> = fresh.iter().map(|change| change.patient_id.clone()).collect();
        let n_moved = self.apply_stored_places(store, patient_ids.into_iter().collect()).await?;

        follower.applied.extend(fresh.iter().map(|change| (change.sequence, change.recorded_ms)));
        let settled = follower
            .applied
            .iter()
            .filter(|(_, recorded_ms)| **recorded_ms < started_ms - SETTLE_MS)
            .map(|(sequence, _)| *sequence)
            .max();
        if let Some(settled) = settled {
            follower.settled_through = follower.settled_through.max(settled);
            follower.applied = follower.applied.split_off(&(settled + 1));
        }
        if n_moved > 0 {
            tracing::info!(n_moved, "person index followed changes stored by other nodes");
        }
        Ok(n_moved)
    }

    /// Puts each record where the store now says it is, where that differs from this node's index.
    async fn apply_stored_places(&self, store: &Store, patient_ids: Vec<String>) -> Result<usize, StoreError> {
        if patient_ids.is_empty() {
            return Ok(0);
        }
        let stored: HashMap<String, PersonLink> = store
            .person_links_of(&patient_ids)
            .await?
            .into_iter()
            .map(|link| (link.patient_id.clone(), link))
            .collect();
        let differing: Vec<(String, Option<PersonLink>)> = {
            let state = self.read_state();
            patient_ids
                .into_iter()
                .filter_map(|patient_id| {
                    let link = stored.get(&patient_id).cloned();
                    let same = match (state.links.get(&patient_id), &link) {
                        (Some(ours), Some(theirs)) => same_place(ours, theirs),
                        (None, None) => true,
                        _ => false,
                    };
                    (!same).then_some((patient_id, link))
                })
                .collect()
        };
        let mut places = Vec::with_capacity(differing.len());
        for (patient_id, link) in differing {
            let patient_json = match (&link, ResourceId::parse(&patient_id)) {
                (Some(_), Ok(id)) => store.read(ResourceType::PATIENT, &id).await?.and_then(|stored| stored.json),
                _ => None,
            };
            places.push(StoredPlace { patient_id, link, patient_json });
        }

        let (n_moved, persons, to_train_on) = {
            let mut state = self.write_state();
            let mut n_moved = 0;
            // The persons whose membership changed here, to check their stored Person against.
            let mut persons = BTreeSet::new();
            for StoredPlace { patient_id, link, patient_json } in places {
                let previous = state.index.person_of(&patient_id).map(str::to_string);
                match (link, patient_json) {
                    (None, _) => {
                        if state.index.forget(&patient_id).is_some() {
                            state.links.remove(&patient_id);
                            n_moved += 1;
                        }
                    }
                    (Some(link), Some(json)) => {
                        // This node placed a newer version meanwhile: its own write will follow.
                        let ours_newer = state
                            .links
                            .get(&patient_id)
                            .is_some_and(|ours| ours.patient_version_id > link.patient_version_id);
                        let Ok(resource) = serde_json::from_str::<Value>(&json) else { continue };
                        if ours_newer {
                            continue;
                        }
                        let held = HeldLink::from(&link);
                        let demographics = demographics_of(&resource, &self.settings.nhs_number_verifiers);
                        state.index.restore(&patient_id, &demographics, &link.person_id, held.reason);
                        persons.insert(link.person_id);
                        state.links.insert(patient_id, held);
                        n_moved += 1;
                    }
                    // Linked but its Patient gone: the node that deleted it is taking it out.
                    (Some(_), None) => continue,
                }
                persons.extend(previous);
            }
            (n_moved, persons, state.records_to_train_on(self.settings.min_records_to_train))
        };
        if let Some(records) = to_train_on {
            self.train_in_background(records);
        }
        self.rewrite_stale_persons(store, persons).await?;
        Ok(n_moved)
    }

    /// Writes again each Person whose stored `link` list differs from this node's, now that it has caught up: a node
    /// that wrote a Person just before another's change reached it left that change out.
    async fn rewrite_stale_persons(&self, store: &Store, persons: BTreeSet<String>) -> Result<(), StoreError> {
        let mut stale = BTreeSet::new();
        for person_id in persons {
            let Ok(id) = ResourceId::parse(&person_id) else { continue };
            let stored = store.read(ResourceType::PERSON, &id).await?.and_then(|stored| stored.json);
            let stored = stored.and_then(|json| serde_json::from_str::<Value>(&json).ok());
            if links_of(stored.as_ref()) != links_of(self.person_json(&person_id).as_ref()) {
                stale.insert(person_id);
            }
        }
        if stale.is_empty() {
            return Ok(());
        }
        self.send(kmcr_store::IdentityWrite::default(), stale).await
    }
}

/// A Person's links in a fixed order (nodes may list members in different orders); none for no Person.
fn links_of(person: Option<&Value>) -> Vec<String> {
    let mut links: Vec<String> =
        person.and_then(|person| person["link"].as_array()).into_iter().flatten().map(Value::to_string).collect();
    links.sort_unstable();
    links
}

fn same_place(ours: &HeldLink, theirs: &PersonLink) -> bool {
    *ours.person_id == theirs.person_id && ours.patient_version_id == theirs.patient_version_id
}

/// Follows the store every `interval` while the index is in use.
pub(super) async fn follow_loop(store: Store, identity: std::sync::Weak<Identity>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(identity) = identity.upgrade() else { return };
        if let Err(error) = identity.catch_up(&store).await {
            tracing::warn!(%error, "the person index could not follow changes stored by other nodes");
        }
    }
}

pub(super) fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
