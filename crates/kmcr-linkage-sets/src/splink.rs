//! Splink's person sets (moj-analytical-services/splink_datasets) in Parquet: one record per row, `cluster` the
//! true person. The historical-figures set carries typos, missing values, nicknames and UK postcodes. Its `first_name`
//! and `surname` are the first and last words of `full_name`; the words between are the middle names.

use std::collections::HashMap;

use kmcr_mpi::{Demographics, Sex};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use crate::{LabelledRecords, LinkageSetError};

pub fn read_splink_parquet(path: &str) -> Result<LabelledRecords, LinkageSetError> {
    let format_error = |message: String| LinkageSetError::Format { path: path.to_string(), line: 0, message };
    let file = std::fs::File::open(path).map_err(|source| LinkageSetError::Io { path: path.to_string(), source })?;
    let reader = SerializedFileReader::new(file).map_err(|error| format_error(error.to_string()))?;
    let rows = reader.get_row_iter(None).map_err(|error| format_error(error.to_string()))?;
    let mut labelled = LabelledRecords::default();
    for row in rows {
        let row = row.map_err(|error| format_error(error.to_string()))?;
        let mut fields: HashMap<&str, String> = HashMap::new();
        for (name, field) in row.get_column_iter() {
            if let Field::Str(text) = field
                && !text.is_empty()
            {
                fields.insert(name.as_str(), text.clone());
            }
        }
        let cluster = fields.get("cluster").cloned().ok_or_else(|| format_error("a row has no cluster".into()))?;
        labelled.records.push(Demographics {
            given_names: given_names(fields.get("first_name"), fields.get("full_name")),
            family_name: fields.get("surname").cloned(),
            birth_date: fields.get("dob").cloned(),
            sex: fields.get("gender").and_then(|gender| Sex::parse(gender)),
            postcode: fields.get("postcode_fake").cloned(),
            locality: fields.get("birth_place").cloned(),
            ..Demographics::default()
        });
        labelled.truth.push(cluster);
    }
    Ok(labelled)
}

/// The first name, then the words of the full name between its first and last (the middle names), as a source with
/// separate given-name fields would hold them.
fn given_names(first_name: Option<&String>, full_name: Option<&String>) -> Vec<String> {
    let Some(first_name) = first_name else { return Vec::new() };
    let words: Vec<&str> = full_name.map_or_else(Vec::new, |full_name| full_name.split_whitespace().collect());
    let middle_names = match words.as_slice() {
        [first, middle @ .., _last] if first == first_name => middle,
        _ => &[],
    };
    std::iter::once(first_name.clone()).chain(middle_names.iter().map(|word| word.to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::given_names;

    #[test]
    fn the_words_between_first_name_and_surname_are_middle_names() {
        let check = |first_name: Option<&str>, full_name: Option<&str>, expected: &[&str]| {
            let (first_name, full_name) = (first_name.map(str::to_string), full_name.map(str::to_string));
            assert_eq!(given_names(first_name.as_ref(), full_name.as_ref()), expected, "{full_name:?}");
        };
        check(Some("henry"), Some("henry alleyne nicholson"), &["henry", "alleyne"]);
        check(Some("henry"), Some("henry nicholson"), &["henry"]);
        check(Some("nessie"), Some("nessie"), &["nessie"]);
        check(Some("tom"), Some("thomas alleyne nicholson"), &["tom"]);
        check(Some("tom"), None, &["tom"]);
        check(None, Some("henry alleyne nicholson"), &[]);
    }
}
