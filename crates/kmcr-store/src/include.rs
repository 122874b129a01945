//! The rounds of `_include` and `_revinclude` of a search page, independent of the backend that runs them.

use std::collections::HashSet;

use kmcr_fhir::ResourceType;
use kmcr_fhir_search::{Include, SearchRequest};

use crate::query::ParamIds;
use crate::{StoreError, StoredResource};

/// Included resources stop being added past this many for one page, so one page cannot pull in the whole store.
pub const MAX_INCLUDED_PER_PAGE: usize = 5_000;
/// `:iterate` is followed this many times at most.
const MAX_INCLUDE_ROUNDS: usize = 4;

pub struct IncludeStep {
    pub source_keys: Vec<i64>,
    pub param_id: i64,
    pub reverse: bool,
    pub target_type: Option<ResourceType>,
}

pub struct IncludePlan<'a> {
    request: &'a SearchRequest,
    seen_keys: HashSet<i64>,
    /// Resources found in the previous round (the matches at first), as (key, type).
    frontier: Vec<(i64, ResourceType)>,
    next_frontier: Vec<(i64, ResourceType)>,
    pending: Vec<(&'a Include, bool)>,
    round: usize,
    included: Vec<StoredResource>,
}

impl<'a> IncludePlan<'a> {
    pub fn new(request: &'a SearchRequest, matches: &[StoredResource]) -> IncludePlan<'a> {
        let frontier: Vec<(i64, ResourceType)> =
            matches.iter().map(|resource| (resource.resource_key, resource.resource_type)).collect();
        let mut plan = IncludePlan {
            request,
            seen_keys: frontier.iter().map(|(key, _)| *key).collect(),
            frontier,
            next_frontier: Vec::new(),
            pending: Vec::new(),
            round: 0,
            included: Vec::new(),
        };
        plan.fill_pending();
        plan
    }

    fn fill_pending(&mut self) {
        let first_round = self.round == 0;
        let request = self.request;
        self.pending = request
            .includes
            .iter()
            .map(|include| (include, false))
            .chain(request.revincludes.iter().map(|include| (include, true)))
            .filter(|(include, _)| first_round || include.iterate)
            .collect();
    }

    /// The next lookup to run, or `None` when every round is done.
    pub fn next_step(&mut self, params: &ParamIds) -> Result<Option<IncludeStep>, StoreError> {
        loop {
            if self.included.len() >= MAX_INCLUDED_PER_PAGE {
                return Ok(None);
            }
            if let Some((include, reverse)) = self.pending.pop() {
                let source_keys: Vec<i64> = self
                    .frontier
                    .iter()
                    .filter(|(_, resource_type)| reverse || *resource_type == include.source_type)
                    .map(|(key, _)| *key)
                    .collect();
                if source_keys.is_empty() {
                    continue;
                }
                let param_id = params
                    .id(include.source_type, &include.param_code)
                    .ok_or_else(|| StoreError::UnsupportedSearch(format!("cannot include {}", include.param_code)))?;
                let target_type = if reverse { Some(include.source_type) } else { include.target_type };
                return Ok(Some(IncludeStep { source_keys, param_id, reverse, target_type }));
            }
            self.round += 1;
            if self.round >= MAX_INCLUDE_ROUNDS || self.next_frontier.is_empty() {
                return Ok(None);
            }
            self.frontier = std::mem::take(&mut self.next_frontier);
            self.fill_pending();
            if self.pending.is_empty() {
                return Ok(None);
            }
        }
    }

    /// Drops keys already returned.
    pub fn new_keys(&self, keys: Vec<i64>) -> Vec<i64> {
        keys.into_iter().filter(|key| !self.seen_keys.contains(key)).collect()
    }

    pub fn add(&mut self, found: impl IntoIterator<Item = StoredResource>) {
        for resource in found {
            if self.included.len() >= MAX_INCLUDED_PER_PAGE || !self.seen_keys.insert(resource.resource_key) {
                continue;
            }
            self.next_frontier.push((resource.resource_key, resource.resource_type));
            self.included.push(resource);
        }
    }

    pub fn finish(self) -> Vec<StoredResource> {
        self.included
    }
}
