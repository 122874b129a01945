//! The person index on PostgreSQL: applied inside the batch's transaction, read through the pool.

use kmcr_fhir::Instant;
use tokio_postgres::{GenericClient, Row};

use super::execute_cached;
use crate::StoreError;
use crate::identity::{
    self as sql, IdentityWrite, LinkChangeSeen, LinkHistoryEntry, PersonLink, Review, ReviewStatus, StoredModel,
    for_postgres, ordered,
};

pub async fn apply(
    transaction: &deadpool_postgres::Transaction<'_>,
    identity: IdentityWrite,
    now: Instant,
) -> Result<(), StoreError> {
    let now_ms = now.unix_ms;
    let (upsert_link, insert_history) = (for_postgres(sql::UPSERT_LINK), for_postgres(sql::INSERT_HISTORY));
    for change in identity.changes {
        let link = &change.link;
        execute_cached(
            transaction,
            &upsert_link,
            &[
                &link.patient_id,
                &link.person_id,
                &link.patient_version_id,
                &link.reason,
                &link.linked_through,
                &link.score,
                &link.evidence,
                &now_ms,
            ],
        )
        .await?;
        execute_cached(
            transaction,
            &insert_history,
            &[
                &link.patient_id,
                &change.previous_person_id,
                &Some(&link.person_id),
                &link.reason,
                &link.linked_through,
                &link.score,
                &link.evidence,
                &change.actor,
                &now_ms,
            ],
        )
        .await?;
    }
    for unlink in identity.unlinks {
        execute_cached(transaction, &for_postgres(sql::DELETE_LINK), &[&unlink.patient_id]).await?;
        let none_text: Option<&str> = None;
        let none_score: Option<f64> = None;
        execute_cached(
            transaction,
            &insert_history,
            &[
                &unlink.patient_id,
                &Some(&unlink.previous_person_id),
                &none_text,
                &"deleted",
                &none_text,
                &none_score,
                &none_text,
                &unlink.actor,
                &now_ms,
            ],
        )
        .await?;
    }
    let upsert_review = for_postgres(sql::UPSERT_REVIEW);
    for review in identity.reviews {
        let (first, second) = ordered(&review.first_patient_id, &review.second_patient_id);
        execute_cached(transaction, &upsert_review, &[&first, &second, &review.score, &review.evidence, &now_ms])
            .await?;
    }
    let upsert_decision = for_postgres(sql::UPSERT_DECISION);
    for decision in identity.decisions {
        let (first, second) = ordered(&decision.first_patient_id, &decision.second_patient_id);
        execute_cached(
            transaction,
            &upsert_decision,
            &[&first, &second, &decision.status.as_str(), &now_ms, &decision.actor],
        )
        .await?;
    }
    let insert_model = for_postgres(sql::INSERT_MODEL);
    for model in identity.models {
        execute_cached(transaction, &insert_model, &[&model.n_records, &now_ms, &model.model]).await?;
    }
    Ok(())
}

pub async fn latest_model(client: &impl GenericClient) -> Result<Option<StoredModel>, StoreError> {
    let row = client.query_opt(sql::SELECT_LATEST_MODEL, &[]).await?;
    Ok(row.map(|row| StoredModel {
        model_id: row.get(0),
        n_records: row.get(1),
        trained_ms: row.get(2),
        model: row.get(3),
    }))
}

pub async fn person_links(client: &impl GenericClient) -> Result<Vec<PersonLink>, StoreError> {
    let rows = client.query(sql::SELECT_LINKS, &[]).await?;
    Ok(rows.iter().map(row_to_link).collect())
}

pub async fn person_links_of(
    client: &impl GenericClient,
    patient_ids: &[String],
) -> Result<Vec<PersonLink>, StoreError> {
    let sql = sql::SELECT_LINK.replace("patient_id = ?1", "patient_id = ANY($1)");
    let rows = client.query(&sql, &[&patient_ids]).await?;
    Ok(rows.iter().map(row_to_link).collect())
}

fn row_to_link(row: &Row) -> PersonLink {
    PersonLink {
        patient_id: row.get(0),
        person_id: row.get(1),
        patient_version_id: row.get(2),
        reason: row.get(3),
        linked_through: row.get(4),
        score: row.get(5),
        evidence: row.get(6),
    }
}

pub async fn link_changes_after(
    client: &impl GenericClient,
    after_sequence: i64,
    limit: usize,
) -> Result<Vec<LinkChangeSeen>, StoreError> {
    let rows = client.query(&for_postgres(sql::SELECT_LINK_CHANGES_AFTER), &[&after_sequence, &(limit as i64)]).await?;
    Ok(rows
        .iter()
        .map(|row| LinkChangeSeen { sequence: row.get(0), patient_id: row.get(1), recorded_ms: row.get(2) })
        .collect())
}

pub async fn link_sequence_before(client: &impl GenericClient, before_ms: i64) -> Result<i64, StoreError> {
    let row = client.query_opt(&for_postgres(sql::SELECT_SEQUENCE_BEFORE), &[&before_ms]).await?;
    Ok(row.map_or(0, |row| row.get(0)))
}

pub async fn decisions_since(client: &impl GenericClient, since_ms: i64) -> Result<Vec<Review>, StoreError> {
    let rows = client.query(&for_postgres(sql::SELECT_DECISIONS_SINCE), &[&since_ms]).await?;
    rows.iter().map(row_to_review).collect()
}

pub async fn reviews(
    client: &impl GenericClient,
    status: Option<ReviewStatus>,
    after_review_id: i64,
    limit: usize,
) -> Result<Vec<Review>, StoreError> {
    let sql = format!(
        "SELECT {} FROM mpi_review WHERE review_id > $1 AND ($2::text IS NULL OR status = $2) ORDER BY review_id \
         LIMIT $3",
        sql::REVIEW_COLUMNS
    );
    let rows = client.query(&sql, &[&after_review_id, &status.map(|status| status.as_str()), &(limit as i64)]).await?;
    rows.iter().map(row_to_review).collect()
}

pub async fn review(client: &impl GenericClient, review_id: i64) -> Result<Option<Review>, StoreError> {
    let sql = format!("SELECT {} FROM mpi_review WHERE review_id = $1", sql::REVIEW_COLUMNS);
    client.query_opt(&sql, &[&review_id]).await?.as_ref().map(row_to_review).transpose()
}

fn row_to_review(row: &Row) -> Result<Review, StoreError> {
    let status =
        ReviewStatus::parse(row.get(5)).ok_or_else(|| StoreError::Corrupt("a review has an unknown status".into()))?;
    Ok(Review {
        review_id: row.get(0),
        first_patient_id: row.get(1),
        second_patient_id: row.get(2),
        score: row.get(3),
        evidence: row.get(4),
        status,
        created_ms: row.get(6),
        decided_by: row.get(7),
        decided_ms: row.get(8),
    })
}

pub async fn link_history(client: &impl GenericClient, patient_id: &str) -> Result<Vec<LinkHistoryEntry>, StoreError> {
    let rows = client.query(&for_postgres(sql::SELECT_HISTORY), &[&patient_id]).await?;
    Ok(rows
        .iter()
        .map(|row| LinkHistoryEntry {
            sequence: row.get(0),
            patient_id: row.get(1),
            person_id_before: row.get(2),
            person_id_after: row.get(3),
            reason: row.get(4),
            linked_through: row.get(5),
            score: row.get(6),
            evidence: row.get(7),
            actor: row.get(8),
            recorded_ms: row.get(9),
        })
        .collect())
}
