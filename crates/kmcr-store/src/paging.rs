//! Cutting query results into a page and its cursor, the same for both backends. Queries fetch one row more than the
//! page holds, to learn whether another page follows without counting.

use crate::cursor::{Cursor, CursorValue};
use crate::{PageRequest, StoreError, StoredResource};

/// Rows as queries return them: the resource, then the sort values after `RESOURCE_COLUMNS`.
pub type Row = (StoredResource, Vec<CursorValue>);

/// A search page: the matches, the cursor of the next page, and the total when this one page holds every match.
pub fn search_page(
    mut rows: Vec<Row>,
    page: &PageRequest,
    total: Option<u64>,
) -> (Vec<StoredResource>, Option<Cursor>, Option<u64>) {
    let has_more = rows.len() > page.count;
    rows.truncate(page.count);
    let next_cursor = if has_more {
        rows.last().map(|(resource, sort_values)| {
            let mut values = sort_values.clone();
            values.push(CursorValue::Int(resource.resource_key));
            Cursor { values }
        })
    } else {
        None
    };
    let total = total.or((page.cursor.is_none() && !has_more).then_some(rows.len() as u64));
    (rows.into_iter().map(|(resource, _)| resource).collect(), next_cursor, total)
}

/// A page of `$everything` or history: the resources, and the cursor built from the last one when more follow.
pub fn simple_page(
    mut rows: Vec<Row>,
    count: usize,
    cursor_of: impl Fn(&StoredResource) -> Cursor,
) -> (Vec<StoredResource>, Option<Cursor>) {
    let next_cursor = if rows.len() > count {
        rows.truncate(count);
        rows.last().map(|(resource, _)| cursor_of(resource))
    } else {
        None
    };
    (rows.into_iter().map(|(resource, _)| resource).collect(), next_cursor)
}

/// The position a history cursor holds: (last updated, resource key, version) of the last entry returned.
pub fn history_position(cursor: Option<&Cursor>) -> Result<Option<(i64, i64, i64)>, StoreError> {
    match cursor.map(|cursor| cursor.values.as_slice()) {
        None => Ok(None),
        Some([CursorValue::Int(updated), CursorValue::Int(key), CursorValue::Int(version)]) => {
            Ok(Some((*updated, *key, *version)))
        }
        Some(_) => Err(StoreError::BadCursor),
    }
}

/// The position an `$everything` cursor holds: the resource key of the last entry returned.
pub fn everything_position(cursor: Option<&Cursor>) -> Result<Option<i64>, StoreError> {
    match cursor.map(|cursor| cursor.values.as_slice()) {
        None => Ok(None),
        Some([CursorValue::Int(key)]) => Ok(Some(*key)),
        Some(_) => Err(StoreError::BadCursor),
    }
}
