//! What a scored pair means: link, send to a person for review, or keep apart. Rules that no score overrides come
//! first: two different valid NHS numbers are never linked automatically, the same verified number always is, and
//! twins (same birth date and surname, different first names) are never linked automatically.

use crate::compare::{Comparison, FORENAME_DIFFERENT, MISSING, SURNAME_CLOSE};
use crate::model::Score;
use crate::record::PreparedRecord;

/// Configured match probabilities: at or above `link`, link; at or above `review`, queue for review.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub link: f64,
    pub review: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { link: 0.99, review: 0.5 }
    }
}

/// The FHIR match grade (`http://hl7.org/fhir/match-grade`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord, Hash)]
pub enum MatchGrade {
    Certain,
    Probable,
    Possible,
    CertainlyNot,
}

impl MatchGrade {
    pub fn code(&self) -> &'static str {
        match self {
            MatchGrade::Certain => "certain",
            MatchGrade::Probable => "probable",
            MatchGrade::Possible => "possible",
            MatchGrade::CertainlyNot => "certainly-not",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PairDecision {
    /// The same verified NHS number.
    LinkOnVerifiedNhsNumber,
    /// A match probability at or above the link threshold.
    LinkOnScore,
    Review,
    /// Different valid NHS numbers: whatever the demographics say.
    ApartOnNhsNumber,
    Apart,
}

impl PairDecision {
    pub fn links(&self) -> bool {
        matches!(self, PairDecision::LinkOnVerifiedNhsNumber | PairDecision::LinkOnScore)
    }

    pub fn grade(&self) -> MatchGrade {
        match self {
            PairDecision::LinkOnVerifiedNhsNumber => MatchGrade::Certain,
            PairDecision::LinkOnScore => MatchGrade::Probable,
            PairDecision::Review => MatchGrade::Possible,
            PairDecision::ApartOnNhsNumber | PairDecision::Apart => MatchGrade::CertainlyNot,
        }
    }
}

pub fn decide(
    first: &PreparedRecord,
    second: &PreparedRecord,
    comparison: &Comparison,
    score: &Score,
    thresholds: &Thresholds,
) -> PairDecision {
    if first.nhs_numbers_conflict(second) {
        return PairDecision::ApartOnNhsNumber;
    }
    if first.same_verified_nhs_number(second) {
        return PairDecision::LinkOnVerifiedNhsNumber;
    }
    let probability = score.match_probability;
    if probability >= thresholds.link && !possible_twins(comparison) {
        PairDecision::LinkOnScore
    } else if probability >= thresholds.review {
        PairDecision::Review
    } else {
        PairDecision::Apart
    }
}

/// Same birth date and surname, first names that are not forms of one another, and no shared identifier: twins look
/// like this. A shared address or phone does not tell them apart, so no score may link them.
pub fn possible_twins(comparison: &Comparison) -> bool {
    let identifier_agrees = comparison[0] == 0;
    let forename_different = comparison[1] == FORENAME_DIFFERENT;
    let same_birth_date = comparison[3] == 0;
    let surname_agrees = comparison[2] != MISSING && comparison[2] <= SURNAME_CLOSE;
    !identifier_agrees && forename_different && same_birth_date && surname_agrees
}
