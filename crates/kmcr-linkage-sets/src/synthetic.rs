//! The synthetic population (`kmcr-synth`) as a linkage set: every source patient record as its source recorded it,
//! errors included, with the person it truly belongs to.

use kmcr_mpi::{Demographics, Sex};
use kmcr_synth::{Gender, NhsNumberStatus, SourcePatientRecord, SynthConfig};

use crate::LabelledRecords;

/// The source records of people `0..n_people` of `seed`, generated on `n_threads` threads.
pub fn synthetic(seed: u64, n_people: usize, n_threads: usize) -> LabelledRecords {
    let config = SynthConfig { seed, n_people };
    let n_threads = n_threads.max(1);
    let chunk_size = n_people.div_ceil(n_threads).max(1);
    let parts: Vec<LabelledRecords> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n_people)
            .step_by(chunk_size)
            .map(|start| {
                let config = &config;
                scope.spawn(move || {
                    let mut part = LabelledRecords::default();
                    for person_idx in start..(start + chunk_size).min(n_people) {
                        for record in kmcr_synth::person_truth(config, person_idx).source_records {
                            part.records.push(demographics(&record));
                            part.truth.push(person_idx.to_string());
                        }
                    }
                    part
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().expect("generation does not panic")).collect()
    });
    let mut labelled = LabelledRecords::default();
    for part in parts {
        labelled.records.extend(part.records);
        labelled.truth.extend(part.truth);
    }
    labelled
}

fn demographics(record: &SourcePatientRecord) -> Demographics {
    let recorded = &record.demographics;
    Demographics {
        nhs_number: record.nhs_number,
        nhs_number_verified: record.nhs_number_status == NhsNumberStatus::Verified,
        other_identifier: None,
        given_names: recorded.given_names.clone(),
        family_name: Some(recorded.family_name.clone()),
        birth_date: recorded.birth_date.map(|date| date.to_fhir()),
        sex: Some(match recorded.gender {
            Gender::Male => Sex::Male,
            Gender::Female => Sex::Female,
        }),
        postcode: recorded.address.postal_code.clone(),
        address_line: recorded.address.lines.first().cloned(),
        locality: Some(recorded.address.city.clone()),
        phones: [&recorded.mobile_phone, &recorded.home_phone].into_iter().flatten().cloned().collect(),
    }
}
