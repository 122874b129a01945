//! Parameters whose values are exactly those of other parameters of the same type together, such as Observation's
//! `combo-code` (`Observation.code | Observation.component.code`: the values of `code` and `component-code`). Their
//! values are not indexed a second time; a search by one looks in the index rows of the others.

use std::collections::BTreeSet;

/// A parameter as far as unions are concerned: the parts of its expression, and a key that parameters must share to
/// stand for one another (their type; for composites, also their components).
pub(crate) struct UnionCandidate<'a, K> {
    pub parts: BTreeSet<&'a str>,
    pub key: K,
}

/// For each candidate, the candidates whose parts together are exactly its parts, or `None`. Only candidates that are
/// not unions themselves are used, so that every value is indexed under some parameter.
pub(crate) fn find_unions<K: PartialEq>(candidates: &[UnionCandidate<'_, K>]) -> Vec<Option<Vec<usize>>> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|candidate_idx| candidates[*candidate_idx].parts.len());
    let mut unions: Vec<Option<Vec<usize>>> = vec![None; candidates.len()];
    for union_idx in order {
        let union = &candidates[union_idx];
        if union.parts.len() < 2 {
            continue;
        }
        let mut subsets: Vec<usize> = (0..candidates.len())
            .filter(|subset_idx| {
                let subset = &candidates[*subset_idx];
                *subset_idx != union_idx
                    && unions[*subset_idx].is_none()
                    && subset.key == union.key
                    && subset.parts.len() < union.parts.len()
                    && subset.parts.is_subset(&union.parts)
            })
            .collect();
        subsets.sort_by_key(|subset_idx| std::cmp::Reverse(candidates[*subset_idx].parts.len()));
        let mut covered = BTreeSet::new();
        let mut chosen = Vec::new();
        for subset_idx in subsets {
            let parts = &candidates[subset_idx].parts;
            if !parts.is_subset(&covered) {
                covered.extend(parts.iter().copied());
                chosen.push(subset_idx);
            }
        }
        if covered == union.parts {
            unions[union_idx] = Some(chosen);
        }
    }
    unions
}

/// The distinct top-level `|` parts of an expression (see [`crate::fhirpath::split_union`]).
pub(crate) fn union_parts(expression: &str) -> BTreeSet<&str> {
    crate::fhirpath::split_union(expression).into_iter().collect()
}
