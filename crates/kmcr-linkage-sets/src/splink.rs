//! Splink's person sets (moj-analytical-services/splink_datasets) in Parquet: one record per row, `cluster` the
//! true person. The historical-figures set carries typos, missing values, nicknames and UK postcodes.

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
            given_names: fields.get("first_name").cloned().into_iter().collect(),
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
