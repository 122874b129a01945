//! Search, `$everything` and history compiled to SQL, once for both backends.
//!
//! A search is a query on `resource` driven by the most selective criterion (`resource_key IN (index lookup)`), with
//! every other criterion checked per candidate by an `EXISTS` probe on the `(resource_key, param_id)` indexes. This
//! keeps a patient-scoped search proportional to that patient's records, not to the size of the store.

use std::collections::HashMap;

use kmcr_fhir::ResourceType;
use kmcr_fhir_search::{Criterion, CriterionValue, Modifier, Prefix, SearchParamType, SearchRequest};

use crate::StoreError;
use crate::cursor::{Cursor, CursorValue};

mod composite;
mod row_filter;
mod value_conditions;

use crate::types::RowFilter;
pub use row_filter::row_filter_condition;

use value_conditions::{date_range_condition, value_condition};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A value bound to a statement parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Int(i64),
    Real(f64),
    Text(String),
    /// A `bigint[]`, bound only for PostgreSQL (see [`SqlBuilder::int_in`]).
    IntList(Vec<i64>),
    TextList(Vec<String>),
}

/// Search parameter ids as stored in `search_param`, keyed by the registry's own strings so that a lookup on the
/// write path allocates nothing.
#[derive(Clone, Default)]
pub struct ParamIds {
    by_type_and_code: HashMap<(&'static str, &'static str), i64>,
}

impl ParamIds {
    /// Records the id of a stored code (a parameter's, or a composite component's); one the registry no longer knows
    /// is ignored.
    pub fn insert(&mut self, resource_type: ResourceType, code: &str, param_id: i64) {
        if let Some(code) = kmcr_fhir_search::SearchParamRegistry::official_r4().stored_code(resource_type, code) {
            self.by_type_and_code.insert((resource_type.as_str(), code), param_id);
        }
    }

    pub fn id(&self, resource_type: ResourceType, code: &str) -> Option<i64> {
        self.by_type_and_code.get(&(resource_type.as_str(), code)).copied()
    }

    /// The ids of the parameters whose index rows hold a parameter's values: its own, or for a union of others (see
    /// `SearchParamRegistry::stored_under`), theirs.
    pub fn search_ids(&self, resource_type: ResourceType, code: &str) -> Option<Vec<i64>> {
        let codes = kmcr_fhir_search::SearchParamRegistry::official_r4().stored_under(resource_type, code);
        if codes.is_empty() {
            return None;
        }
        codes.iter().map(|code| self.id(resource_type, code)).collect()
    }
}

/// The columns every resource query selects, in this order (see `row_to_stored` in each backend).
pub const RESOURCE_COLUMNS: &str = "r.resource_key, r.resource_type, r.resource_id, v.version_id, v.last_updated_ms, \
     v.deleted, v.source_ods_code, v.body, r.sensitivity, (SELECT pk.resource_id FROM resource pk WHERE pk.resource_key \
     = r.patient_key) AS patient_id";

/// How many columns `RESOURCE_COLUMNS` selects; sort values follow them.
pub const N_RESOURCE_COLUMNS: usize = 10;

/// A statement under construction: SQL text plus its bound values, numbered in order.
pub struct SqlBuilder {
    pub dialect: Dialect,
    pub sql: String,
    pub values: Vec<SqlValue>,
}

impl SqlBuilder {
    pub fn new(dialect: Dialect) -> SqlBuilder {
        SqlBuilder { dialect, sql: String::new(), values: Vec::new() }
    }

    /// Adds a bound value and returns its placeholder.
    pub fn bind(&mut self, value: SqlValue) -> String {
        self.values.push(value);
        match self.dialect {
            Dialect::Sqlite => format!("?{}", self.values.len()),
            Dialect::Postgres => format!("${}", self.values.len()),
        }
    }

    pub fn text(&mut self, text: &str) -> String {
        self.bind(SqlValue::Text(text.to_string()))
    }

    pub fn int(&mut self, int: i64) -> String {
        self.bind(SqlValue::Int(int))
    }

    pub fn real(&mut self, real: f64) -> String {
        self.bind(SqlValue::Real(real))
    }

    /// `column IN (..)` over `ints`. PostgreSQL gets one array parameter (`column = ANY($n)`), so that the SQL text is
    /// the same whatever the number of values and its prepared statement (and plan) can be kept.
    pub fn int_in(&mut self, column: &str, ints: &[i64]) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let placeholders: Vec<String> = ints.iter().map(|int| self.int(*int)).collect();
                format!("{column} IN ({})", placeholders.join(", "))
            }
            Dialect::Postgres => format!("{column} = ANY({})", self.bind(SqlValue::IntList(ints.to_vec()))),
        }
    }

    /// `column IN (..)` over `texts`, as [`Self::int_in`]: one array parameter on PostgreSQL.
    pub fn text_in(&mut self, column: &str, texts: &[&str]) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let placeholders: Vec<String> = texts.iter().map(|text| self.text(text)).collect();
                format!("{column} IN ({})", placeholders.join(", "))
            }
            Dialect::Postgres => {
                let list = SqlValue::TextList(texts.iter().map(|text| text.to_string()).collect());
                format!("{column} = ANY({})", self.bind(list))
            }
        }
    }

    /// `column IN` a list whose length varies from call to call (a person's records, their keys). The SQL text is
    /// the same whatever the length on both backends, so that each statement is prepared once: on SQLite the list is
    /// bound as one JSON array read by `json_each`, on PostgreSQL as one array. A statement prepared anew for every
    /// length cost a parse and a plan on each request.
    pub fn int_in_list(&mut self, column: &str, ints: &[i64]) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let json = format!("[{}]", ints.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
                format!("{column} IN (SELECT value FROM json_each({}))", self.bind(SqlValue::Text(json)))
            }
            Dialect::Postgres => self.int_in(column, ints),
        }
    }

    /// [`Self::int_in_list`] for texts.
    pub fn text_in_list(&mut self, column: &str, texts: &[&str]) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let json = serde_json::to_string(texts).expect("strings serialise");
                format!("{column} IN (SELECT value FROM json_each({}))", self.bind(SqlValue::Text(json)))
            }
            Dialect::Postgres => self.text_in(column, texts),
        }
    }

    /// `row.param_id` is one of `param_ids`: `=` for one, as most parameters have.
    pub fn param_condition(&mut self, row: &str, param_ids: &[i64]) -> String {
        match param_ids {
            [param_id] => format!("{row}.param_id = {}", self.int(*param_id)),
            _ => self.int_in(&format!("{row}.param_id"), param_ids),
        }
    }

    /// Ends a subquery that PostgreSQL must run as it stands, per outer row, instead of pulling it up into the join
    /// (`OFFSET 0` is its documented fence). An `EXISTS` probe left as a subplan costs one index lookup on the
    /// `(resource_key, param_id)` prefix per candidate, and the planner has fewer joins to order (planning a
    /// patient-scoped search, measured in psql on a loaded machine: 2-13 ms without the fence, 0.7-1.7 ms with it,
    /// 0.02 ms once the plan is kept). The kept plan cannot be driven from a probe: one kept without the fence was
    /// driven from the code (540 ms).
    pub fn subquery_fence(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " OFFSET 0",
        }
    }

    pub fn false_literal(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "0",
            Dialect::Postgres => "false",
        }
    }
}

/// Where the search, compiled, leaves the SQL: `sql` selects `RESOURCE_COLUMNS` plus the sort values, in page order.
pub struct CompiledSearch {
    pub builder: SqlBuilder,
    /// How many sort-value columns follow `RESOURCE_COLUMNS` (the cursor holds these, then the resource key).
    pub n_sort_columns: usize,
}

struct SortColumn {
    expression: String,
    descending: bool,
}

/// Compiles the match query of a search page.
pub fn compile_search(
    dialect: Dialect,
    params: &ParamIds,
    request: &SearchRequest,
    filter: &RowFilter,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<CompiledSearch, StoreError> {
    let mut builder = SqlBuilder::new(dialect);
    let where_clause = match_conditions(&mut builder, params, request, filter)?;
    let sort_columns = sort_columns(&mut builder, params, request)?;
    let mut select = format!("SELECT {RESOURCE_COLUMNS}");
    for column in &sort_columns {
        select.push_str(&format!(", {}", column.expression));
    }
    let mut conditions = where_clause;
    if let Some(cursor) = cursor {
        conditions.push(keyset_condition(&mut builder, &sort_columns, cursor)?);
    }
    let order: Vec<String> = sort_columns
        .iter()
        .map(|column| format!("{} {}", column.expression, if column.descending { "DESC" } else { "ASC" }))
        .chain(std::iter::once("r.resource_key ASC".to_string()))
        .collect();
    let limit_placeholder = builder.int(limit as i64);
    builder.sql = format!(
        "{select} FROM resource r JOIN resource_version v ON v.resource_key = r.resource_key AND v.version_id = \
         r.version_id WHERE {} ORDER BY {} LIMIT {limit_placeholder}",
        conditions.join(" AND "),
        order.join(", ")
    );
    Ok(CompiledSearch { builder, n_sort_columns: sort_columns.len() })
}

/// Compiles `SELECT COUNT(*)` of every match.
pub fn compile_count(
    dialect: Dialect,
    params: &ParamIds,
    request: &SearchRequest,
    filter: &RowFilter,
) -> Result<SqlBuilder, StoreError> {
    let mut builder = SqlBuilder::new(dialect);
    let conditions = match_conditions(&mut builder, params, request, filter)?;
    builder.sql = format!("SELECT COUNT(*) FROM resource r WHERE {}", conditions.join(" AND "));
    Ok(builder)
}

fn match_conditions(
    builder: &mut SqlBuilder,
    params: &ParamIds,
    request: &SearchRequest,
    filter: &RowFilter,
) -> Result<Vec<String>, StoreError> {
    let resource_type = request.resource_type;
    let driver_idx = choose_driver(&request.criteria);
    // With a driving criterion the keys come from its index. SQLite has no statistics to see that, and would scan every
    // resource of the type instead; a unary `+` stops it using the type index for this term.
    let type_column = match (driver_idx, builder.dialect) {
        (Some(_), Dialect::Sqlite) => "+r.resource_type",
        _ => "r.resource_type",
    };
    let mut conditions = vec![
        format!("{type_column} = {}", builder.text(resource_type.as_str())),
        "r.version_id > 0".to_string(),
        format!("r.deleted = {}", builder.false_literal()),
    ];
    for (criterion_idx, criterion) in request.criteria.iter().enumerate() {
        let drive = Some(criterion_idx) == driver_idx;
        conditions.push(criterion_condition(
            builder,
            params,
            filter,
            resource_type,
            criterion,
            "r.resource_key",
            drive,
        )?);
    }
    conditions.extend(row_filter_condition(builder, "r", filter));
    Ok(conditions)
}

/// Picks the criterion most likely to select few rows, to drive the query from its index.
fn choose_driver(criteria: &[Criterion]) -> Option<usize> {
    criteria
        .iter()
        .enumerate()
        .filter_map(|(criterion_idx, criterion)| driver_rank(criterion).map(|rank| (rank, criterion_idx)))
        .min()
        .map(|(_, criterion_idx)| criterion_idx)
}

fn driver_rank(criterion: &Criterion) -> Option<u8> {
    let several_values = criterion.values.len() > 1 && criterion.chain.is_none();
    if is_resource_column(&criterion.param_code) || several_values && same_type_references(criterion).is_none() {
        return None;
    }
    if let Some(Modifier::Missing(_) | Modifier::Not | Modifier::Text | Modifier::Contains) = criterion.modifier {
        return None;
    }
    if criterion.chain.is_some() {
        return Some(2);
    }
    value_rank(criterion.values.first()?)
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// How selective an index lookup by one value is likely to be, most selective first. A composite value is looked up
/// by its first component.
fn value_rank(value: &CriterionValue) -> Option<u8> {
    match value {
        CriterionValue::Reference { target_id: Some(_), .. } => Some(0),
        CriterionValue::Token { code: Some(_), .. } => Some(1),
        // A day (a birth date): few rows, fewer than a name's prefix, which a common surname shares with thousands. On
        // 100,000 people, `family=smith&birthdate=1960-05-01` driven from the name took 51 ms at p95.
        CriterionValue::Date { prefix: Prefix::Eq, low_ms, high_ms } if high_ms.saturating_sub(*low_ms) < DAY_MS => {
            Some(2)
        }
        CriterionValue::String(_) | CriterionValue::Uri(_) => Some(3),
        CriterionValue::Date { .. } | CriterionValue::Quantity { .. } | CriterionValue::Number { .. } => Some(4),
        CriterionValue::Composite(components) => value_rank(components.first()?),
        CriterionValue::Reference { .. } | CriterionValue::Token { .. } => None,
    }
}

/// The type and ids when every value of a reference criterion names a resource of one type (`Patient/a,Patient/b`).
fn same_type_references(criterion: &Criterion) -> Option<(&str, Vec<&str>)> {
    if criterion.param_type != SearchParamType::Reference || !matches!(criterion.modifier, None | Some(Modifier::Type))
    {
        return None;
    }
    let mut target_type = None;
    let mut ids = Vec::with_capacity(criterion.values.len());
    for value in &criterion.values {
        let CriterionValue::Reference { target_type: Some(value_type), target_id: Some(id), .. } = value else {
            return None;
        };
        if target_type.is_some_and(|known| known != value_type.as_str()) {
            return None;
        }
        target_type = Some(value_type.as_str());
        ids.push(id.as_str());
    }
    Some((target_type?, ids))
}

fn is_resource_column(param_code: &str) -> bool {
    matches!(param_code, "_id" | "_lastUpdated")
}

/// One criterion as an SQL condition on `key_expression` (the resource key column of the row being tested).
fn criterion_condition(
    builder: &mut SqlBuilder,
    params: &ParamIds,
    filter: &RowFilter,
    resource_type: ResourceType,
    criterion: &Criterion,
    key_expression: &str,
    drive: bool,
) -> Result<String, StoreError> {
    let table_alias = match key_expression {
        "r.resource_key" => "r",
        _ => "r2",
    };
    match criterion.param_code.as_str() {
        "_id" => return id_condition(builder, criterion, table_alias),
        "_lastUpdated" => return last_updated_condition(builder, criterion, table_alias),
        _ => {}
    }
    if criterion.param_type == SearchParamType::Composite {
        return composite::composite_condition(builder, params, resource_type, criterion, key_expression, drive);
    }
    let param_ids = params
        .search_ids(resource_type, &criterion.param_code)
        .ok_or_else(|| StoreError::UnsupportedSearch(format!("no index for parameter {}", criterion.param_code)))?;
    let table = index_table(criterion.param_type)?;
    let param_condition = builder.param_condition("i", &param_ids);
    if let Some(Modifier::Missing(missing)) = criterion.modifier {
        let fence = builder.subquery_fence();
        let exists = format!(
            "EXISTS (SELECT 1 FROM {table} i WHERE i.resource_key = {key_expression} AND {param_condition}{fence})"
        );
        return Ok(if missing { format!("NOT {exists}") } else { exists });
    }
    let value_condition = match &criterion.chain {
        Some(chain) => {
            // The chained criterion drives its own lookup where it can (`subject:Patient.identifier=..` finds the
            // Patients by the identifier index), rather than testing every resource of the target type.
            let inner_drives = driver_rank(&chain.criterion).is_some();
            let inner = criterion_condition(
                builder,
                params,
                filter,
                chain.target_type,
                &chain.criterion,
                "r2.resource_key",
                inner_drives,
            )?;
            let type_column = match (inner_drives, builder.dialect) {
                (true, Dialect::Sqlite) => "+r2.resource_type",
                _ => "r2.resource_type",
            };
            let target_type = builder.text(chain.target_type.as_str());
            // A chained criterion reads its targets' data: only targets the caller may see can make it true, so a
            // chain cannot probe withheld data (`subject:Patient.birthdate=lt1980` with no right to that Patient).
            let visible =
                row_filter_condition(builder, "r2", filter).map_or(String::new(), |visible| format!(" AND {visible}"));
            format!(
                "i.target_key IN (SELECT r2.resource_key FROM resource r2 WHERE {type_column} = {target_type} AND \
                 r2.version_id > 0 AND r2.deleted = {} AND {inner}{visible})",
                builder.false_literal()
            )
        }
        None => {
            // A bare id names a resource of any of the parameter's target types; naming them lets the lookup use
            // the (resource_type, resource_id) index instead of scanning every resource.
            let targets = kmcr_fhir_search::SearchParamRegistry::official_r4()
                .get(resource_type, &criterion.param_code)
                .map_or(&[][..], |param| param.targets);
            match same_type_references(criterion) {
                // Several references to one type (a person's linked Patients): one IN list the index can drive.
                Some((target_type, target_ids)) if target_ids.len() > 1 => {
                    let target_type = builder.text(target_type);
                    let ids = builder.text_in("t.resource_id", &target_ids);
                    format!(
                        "i.target_key IN (SELECT t.resource_key FROM resource t WHERE t.resource_type = {target_type} \
                         AND {ids})"
                    )
                }
                _ => {
                    let alternatives = criterion
                        .values
                        .iter()
                        .map(|value| value_condition(builder, "i", criterion.modifier, value, targets))
                        .collect::<Result<Vec<_>, _>>()?;
                    if alternatives.is_empty() {
                        return Err(StoreError::UnsupportedSearch(format!("no value for {}", criterion.param_code)));
                    }
                    format!("({})", alternatives.join(" OR "))
                }
            }
        }
    };
    let negate = criterion.modifier == Some(Modifier::Not);
    if drive && !negate {
        let epochs = match table {
            "idx_reference" => String::new(),
            _ => format!("{} AND ", epochs_condition(builder.dialect)),
        };
        return Ok(format!(
            "{key_expression} IN (SELECT i.resource_key FROM {table} i WHERE {epochs}{param_condition} \
             AND {value_condition})"
        ));
    }
    let fence = builder.subquery_fence();
    let exists = format!(
        "EXISTS (SELECT 1 FROM {table} i WHERE i.resource_key = {key_expression} AND {param_condition} \
         AND {value_condition}{fence})"
    );
    Ok(if negate { format!("NOT {exists}") } else { exists })
}

/// Every epoch of resource keys (`resource_key >> 20`) there is, as the leading term of a value index lookup: the value
/// indexes are led by the epoch (schema migration 4), so a lookup by value is one seek per epoch.
fn epochs_condition(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "(i.resource_key >> 20) IN (WITH RECURSIVE epoch(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM epoch WHERE \
             n < (SELECT MAX(resource_key) >> 20 FROM resource)) SELECT n FROM epoch)"
        }
        Dialect::Postgres => {
            "(i.resource_key >> 20) = ANY (ARRAY(SELECT generate_series(0, (SELECT MAX(resource_key) FROM resource) >> \
             20)))"
        }
    }
}

fn index_table(param_type: SearchParamType) -> Result<&'static str, StoreError> {
    Ok(match param_type {
        SearchParamType::Token => "idx_token",
        SearchParamType::String => "idx_string",
        SearchParamType::Date => "idx_date",
        SearchParamType::Reference => "idx_reference",
        SearchParamType::Quantity => "idx_quantity",
        SearchParamType::Number => "idx_number",
        SearchParamType::Uri => "idx_uri",
        SearchParamType::Composite | SearchParamType::Special => {
            return Err(StoreError::UnsupportedSearch("composite and special parameters".into()));
        }
    })
}

fn id_condition(builder: &mut SqlBuilder, criterion: &Criterion, alias: &str) -> Result<String, StoreError> {
    let ids = criterion
        .values
        .iter()
        .map(|value| match value {
            CriterionValue::Token { code: Some(code), .. } => Ok(builder.text(code)),
            CriterionValue::String(text) => Ok(builder.text(text)),
            _ => Err(StoreError::UnsupportedSearch("_id takes ids".into())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let condition = format!("{alias}.resource_id IN ({})", ids.join(", "));
    Ok(if criterion.modifier == Some(Modifier::Not) { format!("NOT {condition}") } else { condition })
}

fn last_updated_condition(builder: &mut SqlBuilder, criterion: &Criterion, alias: &str) -> Result<String, StoreError> {
    let column = format!("{alias}.last_updated_ms");
    let alternatives = criterion
        .values
        .iter()
        .map(|value| match value {
            CriterionValue::Date { prefix, low_ms, high_ms } => {
                Ok(date_range_condition(builder, &column, &column, *prefix, *low_ms, *high_ms))
            }
            _ => Err(StoreError::UnsupportedSearch("_lastUpdated takes dates".into())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(format!("({})", alternatives.join(" OR ")))
}

/// The ORDER BY columns of `_sort`, each a value per resource (the least of its index values).
fn sort_columns(
    builder: &mut SqlBuilder,
    params: &ParamIds,
    request: &SearchRequest,
) -> Result<Vec<SortColumn>, StoreError> {
    let mut columns = Vec::new();
    for sort_key in &request.sort {
        let expression = match sort_key.param_code.as_str() {
            "_id" => "r.resource_id".to_string(),
            "_lastUpdated" => "r.last_updated_ms".to_string(),
            code => {
                let param_ids = params
                    .search_ids(request.resource_type, code)
                    .ok_or_else(|| StoreError::UnsupportedSearch(format!("cannot sort by {code}")))?;
                let param_condition = builder.param_condition("s", &param_ids);
                let (table, column, fallback) = sort_source(request, code)?;
                let aggregate = if sort_key.descending { "MAX" } else { "MIN" };
                format!(
                    "COALESCE((SELECT {aggregate}(s.{column}) FROM {table} s WHERE s.resource_key = r.resource_key \
                     AND {param_condition}), {fallback})"
                )
            }
        };
        columns.push(SortColumn { expression, descending: sort_key.descending });
    }
    Ok(columns)
}

fn sort_source(request: &SearchRequest, code: &str) -> Result<(&'static str, &'static str, &'static str), StoreError> {
    let registry = kmcr_fhir_search::SearchParamRegistry::official_r4();
    let param = registry
        .get(request.resource_type, code)
        .ok_or_else(|| StoreError::UnsupportedSearch(format!("cannot sort by {code}")))?;
    // Resources without a value sort last in ascending order, as most servers do.
    Ok(match param.param_type {
        SearchParamType::Date => ("idx_date", "low_ms", "9223372036854775807"),
        SearchParamType::String => ("idx_string", "normalized", "'\u{10FFFF}'"),
        SearchParamType::Token => ("idx_token", "code", "'\u{10FFFF}'"),
        SearchParamType::Quantity => ("idx_quantity", "value", "1e308"),
        SearchParamType::Number => ("idx_number", "value", "1e308"),
        SearchParamType::Uri => ("idx_uri", "uri", "'\u{10FFFF}'"),
        _ => return Err(StoreError::UnsupportedSearch(format!("cannot sort by {code}"))),
    })
}

/// Rows strictly after the cursor in (sort columns..., resource key) order.
fn keyset_condition(builder: &mut SqlBuilder, columns: &[SortColumn], cursor: &Cursor) -> Result<String, StoreError> {
    if cursor.values.len() != columns.len() + 1 {
        return Err(StoreError::BadCursor);
    }
    let mut alternatives = Vec::new();
    for position in 0..=columns.len() {
        let mut parts = Vec::new();
        for (column, value) in columns.iter().zip(&cursor.values).take(position) {
            parts.push(format!("{} = {}", column.expression, bind_cursor_value(builder, value)));
        }
        let (expression, descending) = match columns.get(position) {
            Some(column) => (column.expression.as_str(), column.descending),
            None => ("r.resource_key", false),
        };
        let comparison = if descending { "<" } else { ">" };
        parts.push(format!("{expression} {comparison} {}", bind_cursor_value(builder, &cursor.values[position])));
        alternatives.push(format!("({})", parts.join(" AND ")));
    }
    Ok(format!("({})", alternatives.join(" OR ")))
}

fn bind_cursor_value(builder: &mut SqlBuilder, value: &CursorValue) -> String {
    match value {
        CursorValue::Int(int) => builder.int(*int),
        CursorValue::Real(real) => builder.real(*real),
        CursorValue::Text(text) => builder.text(text),
    }
}

/// `$everything`: the resources of the patients' compartments and what they reference that belongs to no patient.
pub fn compile_everything(
    dialect: Dialect,
    filter: &RowFilter,
    patient_keys: &[i64],
    since_ms: Option<i64>,
    types: &[ResourceType],
    after_key: Option<i64>,
    limit: usize,
) -> SqlBuilder {
    let mut builder = SqlBuilder::new(dialect);
    let resources_of_patients = builder.int_in("p.patient_key", patient_keys);
    let references_of_patients = builder.int_in("x.patient_key", patient_keys);
    let mut conditions = vec!["r.version_id > 0".to_string(), format!("r.deleted = {}", builder.false_literal())];
    if let Some(since_ms) = since_ms {
        conditions.push(format!("r.last_updated_ms >= {}", builder.int(since_ms)));
    }
    if !types.is_empty() {
        let types: Vec<String> = types.iter().map(|resource_type| builder.text(resource_type.as_str())).collect();
        conditions.push(format!("r.resource_type IN ({})", types.join(", ")));
    }
    if let Some(after_key) = after_key {
        conditions.push(format!("r.resource_key > {}", builder.int(after_key)));
    }
    conditions.extend(row_filter_condition(&mut builder, "r", filter));
    let limit = builder.int(limit as i64);
    // The keys are gathered first (a materialised CTE), so that no planner walks the whole resource table in key order
    // looking for the few rows of one person, as PostgreSQL did for `ORDER BY resource_key LIMIT n` with an OR.
    let person_keys = format!(
        "WITH person_keys AS MATERIALIZED (SELECT p.resource_key FROM resource p WHERE {resources_of_patients} \
         UNION SELECT x.target_key FROM idx_reference x WHERE {references_of_patients} AND x.target_key IS NOT NULL)"
    );
    let conditions = conditions.join(" AND ");
    builder.sql = match dialect {
        Dialect::Sqlite => format!(
            "{person_keys} SELECT {RESOURCE_COLUMNS} FROM person_keys k JOIN resource r ON r.resource_key = \
             k.resource_key JOIN resource_version v ON v.resource_key = r.resource_key AND v.version_id = r.version_id \
             WHERE {conditions} ORDER BY r.resource_key LIMIT {limit}"
        ),
        // Each key's row is fetched by a fenced lateral subquery, so that the plan kept for the statement is a lookup
        // per key whatever the number of keys. Without the fence the kept plan merged the keys with a walk of the
        // whole resource table in key order: cheap for the first person loaded, 50 ms for the last.
        Dialect::Postgres => format!(
            "{person_keys} SELECT c.* FROM person_keys k CROSS JOIN LATERAL (SELECT {RESOURCE_COLUMNS} FROM resource r \
             JOIN resource_version v ON v.resource_key = r.resource_key AND v.version_id = r.version_id WHERE \
             r.resource_key = k.resource_key AND {conditions} OFFSET 0) c ORDER BY c.resource_key LIMIT {limit}"
        ),
    };
    builder
}

/// History, newest first: of one resource, one type or everything. The cursor is (last updated, key, version).
pub fn compile_history(
    dialect: Dialect,
    filter: &RowFilter,
    resource_type: Option<ResourceType>,
    id: Option<&str>,
    since_ms: Option<i64>,
    cursor: Option<(i64, i64, i64)>,
    limit: usize,
) -> SqlBuilder {
    let mut builder = SqlBuilder::new(dialect);
    // A version written while the resource belonged to another patient is not served: the decision is taken on the
    // resource as it stands, and that version is another person's data.
    let mut conditions =
        vec!["r.version_id > 0".to_string(), "(v.patient_key IS NULL OR v.patient_key = r.patient_key)".to_string()];
    if let Some(resource_type) = resource_type {
        conditions.push(format!("r.resource_type = {}", builder.text(resource_type.as_str())));
    }
    if let Some(id) = id {
        conditions.push(format!("r.resource_id = {}", builder.text(id)));
    }
    if let Some(since_ms) = since_ms {
        conditions.push(format!("v.last_updated_ms >= {}", builder.int(since_ms)));
    }
    if let Some((updated_ms, key, version)) = cursor {
        let (updated_a, updated_b, updated_c) =
            (builder.int(updated_ms), builder.int(updated_ms), builder.int(updated_ms));
        let (key_b, key_c) = (builder.int(key), builder.int(key));
        let version = builder.int(version);
        conditions.push(format!(
            "(v.last_updated_ms < {updated_a} OR (v.last_updated_ms = {updated_b} AND v.resource_key < {key_b}) OR \
             (v.last_updated_ms = {updated_c} AND v.resource_key = {key_c} AND v.version_id < {version}))"
        ));
    }
    conditions.extend(row_filter_condition(&mut builder, "r", filter));
    let limit = builder.int(limit as i64);
    builder.sql = format!(
        "SELECT {RESOURCE_COLUMNS} FROM resource_version v JOIN resource r ON r.resource_key = v.resource_key WHERE {} \
         ORDER BY v.last_updated_ms DESC, v.resource_key DESC, v.version_id DESC LIMIT {limit}",
        conditions.join(" AND ")
    );
    builder
}

/// Keys of resources referenced from `source_keys` through `param_id` (`_include`), or, with `reverse`, of resources
/// referring to them (`_revinclude`).
pub fn compile_include(dialect: Dialect, source_keys: &[i64], param_id: i64, reverse: bool) -> SqlBuilder {
    let mut builder = SqlBuilder::new(dialect);
    let param = builder.int(param_id);
    let (select, filter) = if reverse { ("resource_key", "target_key") } else { ("target_key", "resource_key") };
    let keys = builder.int_in(&format!("i.{filter}"), source_keys);
    builder.sql = format!(
        "SELECT DISTINCT i.{select} FROM idx_reference i WHERE i.param_id = {param} AND {keys} AND i.{select} IS NOT \
         NULL"
    );
    builder
}

/// The current versions of the resources with these keys.
pub fn compile_by_keys(
    dialect: Dialect,
    filter: &RowFilter,
    keys: &[i64],
    target_type: Option<ResourceType>,
) -> SqlBuilder {
    let mut builder = SqlBuilder::new(dialect);
    let keys = builder.int_in("r.resource_key", keys);
    let mut sql = format!(
        "SELECT {RESOURCE_COLUMNS} FROM resource r JOIN resource_version v ON v.resource_key = r.resource_key AND \
         v.version_id = r.version_id WHERE {keys} AND r.version_id > 0 AND r.deleted = {}",
        builder.false_literal()
    );
    if let Some(target_type) = target_type {
        sql.push_str(&format!(" AND r.resource_type = {}", builder.text(target_type.as_str())));
    }
    if let Some(visible) = row_filter_condition(&mut builder, "r", filter) {
        sql.push_str(&format!(" AND {visible}"));
    }
    builder.sql = sql;
    builder
}
