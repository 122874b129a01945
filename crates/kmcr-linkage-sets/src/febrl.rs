//! FEBRL data sets (Christen): Australian-style records and their duplicates with typing, OCR and phonetic errors.
//! `soc_sec_id` is a national identifier typed by hand, so it is compared like any field, never trusted.

use kmcr_mpi::Demographics;

use crate::csv::{Table, present};
use crate::{LabelledRecords, LinkageSetError};

pub fn read_febrl(path: &str) -> Result<LabelledRecords, LinkageSetError> {
    let table = Table::read(path)?;
    let column = |name: &str| table.column(path, name);
    let (rec_id, given_name, surname) = (column("rec_id")?, column("given_name")?, column("surname")?);
    let (street_number, address_1, suburb) = (column("street_number")?, column("address_1")?, column("suburb")?);
    let (postcode, date_of_birth, soc_sec_id) = (column("postcode")?, column("date_of_birth")?, column("soc_sec_id")?);
    let mut labelled = LabelledRecords::default();
    for (row_idx, row) in table.rows.iter().enumerate() {
        let person = row[rec_id].strip_prefix("rec-").and_then(|rest| rest.split('-').next()).ok_or_else(|| {
            LinkageSetError::Format {
                path: path.to_string(),
                line: row_idx + 2,
                message: format!("rec_id {} is not rec-N-org or rec-N-dup-k", row[rec_id]),
            }
        })?;
        let address_line = [row[street_number].as_str(), row[address_1].as_str()]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        labelled.records.push(Demographics {
            other_identifier: present(&row[soc_sec_id]),
            given_names: present(&row[given_name]).into_iter().collect(),
            family_name: present(&row[surname]),
            birth_date: present(&row[date_of_birth]),
            postcode: present(&row[postcode]),
            address_line: present(&address_line),
            locality: present(&row[suburb]),
            ..Demographics::default()
        });
        labelled.truth.push(person.to_string());
    }
    Ok(labelled)
}
