//! The person index on SQLite: applied inside the writer's transaction, read from the reader pool.

use kmcr_fhir::Instant;
use rusqlite::{Connection, OptionalExtension, Row};

use crate::StoreError;
use crate::identity::{
    self as sql, IdentityWrite, LinkChangeSeen, LinkHistoryEntry, PersonLink, Review, ReviewStatus, StoredModel,
    ordered,
};

pub fn apply(connection: &Connection, identity: IdentityWrite, now: Instant) -> Result<(), StoreError> {
    let now_ms = now.unix_ms;
    for change in identity.changes {
        let link = &change.link;
        connection.prepare_cached(sql::UPSERT_LINK)?.execute((
            &link.patient_id,
            &link.person_id,
            link.patient_version_id,
            &link.reason,
            &link.linked_through,
            link.score,
            &link.evidence,
            now_ms,
        ))?;
        connection.prepare_cached(sql::INSERT_HISTORY)?.execute((
            &link.patient_id,
            &change.previous_person_id,
            Some(&link.person_id),
            &link.reason,
            &link.linked_through,
            link.score,
            &link.evidence,
            &change.actor,
            now_ms,
        ))?;
    }
    for unlink in identity.unlinks {
        connection.prepare_cached(sql::DELETE_LINK)?.execute([&unlink.patient_id])?;
        connection.prepare_cached(sql::INSERT_HISTORY)?.execute((
            &unlink.patient_id,
            Some(&unlink.previous_person_id),
            None::<&str>,
            "deleted",
            None::<&str>,
            None::<f64>,
            None::<&str>,
            &unlink.actor,
            now_ms,
        ))?;
    }
    for review in identity.reviews {
        let (first, second) = ordered(&review.first_patient_id, &review.second_patient_id);
        connection.prepare_cached(sql::UPSERT_REVIEW)?.execute((
            first,
            second,
            review.score,
            &review.evidence,
            now_ms,
        ))?;
    }
    for decision in identity.decisions {
        let (first, second) = ordered(&decision.first_patient_id, &decision.second_patient_id);
        connection.prepare_cached(sql::UPSERT_DECISION)?.execute((
            first,
            second,
            decision.status.as_str(),
            now_ms,
            &decision.actor,
        ))?;
    }
    for model in identity.models {
        connection.prepare_cached(sql::INSERT_MODEL)?.execute((model.n_records, now_ms, &model.model))?;
    }
    Ok(())
}

pub fn latest_model(connection: &Connection) -> Result<Option<StoredModel>, StoreError> {
    let mut statement = connection.prepare_cached(sql::SELECT_LATEST_MODEL)?;
    let model = statement
        .query_row([], |row| {
            Ok(StoredModel {
                model_id: row.get(0)?,
                n_records: row.get(1)?,
                trained_ms: row.get(2)?,
                model: row.get(3)?,
            })
        })
        .optional()?;
    Ok(model)
}

pub fn person_links(connection: &Connection) -> Result<Vec<PersonLink>, StoreError> {
    let mut statement = connection.prepare_cached(sql::SELECT_LINKS)?;
    let rows = statement.query_map([], row_to_link)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn person_links_of(connection: &Connection, patient_ids: &[String]) -> Result<Vec<PersonLink>, StoreError> {
    let mut statement = connection.prepare_cached(sql::SELECT_LINK)?;
    let mut links = Vec::with_capacity(patient_ids.len());
    for patient_id in patient_ids {
        links.extend(statement.query_row([patient_id], row_to_link).optional()?);
    }
    Ok(links)
}

fn row_to_link(row: &Row<'_>) -> rusqlite::Result<PersonLink> {
    Ok(PersonLink {
        patient_id: row.get(0)?,
        person_id: row.get(1)?,
        patient_version_id: row.get(2)?,
        reason: row.get(3)?,
        linked_through: row.get(4)?,
        score: row.get(5)?,
        evidence: row.get(6)?,
    })
}

pub fn link_changes_after(
    connection: &Connection,
    after_sequence: i64,
    limit: usize,
) -> Result<Vec<LinkChangeSeen>, StoreError> {
    let mut statement = connection.prepare_cached(sql::SELECT_LINK_CHANGES_AFTER)?;
    let rows = statement.query_map((after_sequence, limit as i64), |row| {
        Ok(LinkChangeSeen { sequence: row.get(0)?, patient_id: row.get(1)?, recorded_ms: row.get(2)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn link_sequence_before(connection: &Connection, before_ms: i64) -> Result<i64, StoreError> {
    let mut statement = connection.prepare_cached(sql::SELECT_SEQUENCE_BEFORE)?;
    Ok(statement.query_row([before_ms], |row| row.get(0)).optional()?.unwrap_or(0))
}

pub fn decisions_since(connection: &Connection, since_ms: i64) -> Result<Vec<Review>, StoreError> {
    let mut statement = connection.prepare_cached(sql::SELECT_DECISIONS_SINCE)?;
    let rows = statement.query_map([since_ms], row_to_review)?;
    rows.map(|row| row?.ok_or_else(|| StoreError::Corrupt("a review has an unknown status".into()))).collect()
}

pub fn reviews(
    connection: &Connection,
    status: Option<ReviewStatus>,
    after_review_id: i64,
    limit: usize,
) -> Result<Vec<Review>, StoreError> {
    let sql = format!(
        "SELECT {} FROM mpi_review WHERE review_id > ?1 AND (?2 IS NULL OR status = ?2) ORDER BY review_id LIMIT ?3",
        sql::REVIEW_COLUMNS
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows =
        statement.query_map((after_review_id, status.map(|status| status.as_str()), limit as i64), row_to_review)?;
    rows.map(|row| row?.ok_or_else(|| StoreError::Corrupt("a review has an unknown status".into()))).collect()
}

pub fn review(connection: &Connection, review_id: i64) -> Result<Option<Review>, StoreError> {
    let sql = format!("SELECT {} FROM mpi_review WHERE review_id = ?1", sql::REVIEW_COLUMNS);
    let found = connection.prepare_cached(&sql)?.query_row([review_id], row_to_review).optional()?;
    found.map(|review| review.ok_or_else(|| StoreError::Corrupt("a review has an unknown status".into()))).transpose()
}

fn row_to_review(row: &Row<'_>) -> rusqlite::Result<Option<Review>> {
    let status: String = row.get(5)?;
    let Some(status) = ReviewStatus::parse(&status) else { return Ok(None) };
    Ok(Some(Review {
        review_id: row.get(0)?,
        first_patient_id: row.get(1)?,
        second_patient_id: row.get(2)?,
        score: row.get(3)?,
        evidence: row.get(4)?,
        status,
        created_ms: row.get(6)?,
        decided_by: row.get(7)?,
        decided_ms: row.get(8)?,
    }))
}

pub fn link_history(connection: &Connection, patient_id: &str) -> Result<Vec<LinkHistoryEntry>, StoreError> {
    let mut statement = connection.prepare_cached(sql::SELECT_HISTORY)?;
    let rows = statement.query_map([patient_id], |row| {
        Ok(LinkHistoryEntry {
            sequence: row.get(0)?,
            patient_id: row.get(1)?,
            person_id_before: row.get(2)?,
            person_id_after: row.get(3)?,
            reason: row.get(4)?,
            linked_through: row.get(5)?,
            score: row.get(6)?,
            evidence: row.get(7)?,
            actor: row.get(8)?,
            recorded_ms: row.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
