//! `kmcr mpi evaluate`: links a labelled set from scratch and reports precision, recall and F1 against its truth, the
//! pairs compared and the time taken; then indexes the persons found and times `$match`-style searches against them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use kmcr_linkage_sets::LabelledRecords;
use kmcr_mpi::evaluate::{pair_counts, place_one_at_a_time};
use kmcr_mpi::{LinkReason, LinkSettings, PersonIndex, Thresholds, link_all};

pub enum EvaluationSet {
    Febrl(String),
    SplinkParquet(String),
    Synthetic { seed: u64, n_people: usize },
}

pub struct EvaluationOptions {
    pub thresholds: Thresholds,
    /// `$match` searches to time after linking (0: none).
    pub n_match_queries: usize,
    /// Also place the records one at a time, in order, as the live index does when sources send them, and report
    /// precision, recall and F1 of that too.
    pub one_at_a_time: bool,
    /// Where to write each record's true person and the person found, as CSV.
    pub persons_out: Option<PathBuf>,
}

pub fn evaluate(set: EvaluationSet, options: &EvaluationOptions) -> anyhow::Result<()> {
    let thresholds = options.thresholds;
    let n_threads = std::thread::available_parallelism().map_or(1, usize::from);
    let started = Instant::now();
    let (name, labelled) = match &set {
        EvaluationSet::Febrl(path) => (path.clone(), kmcr_linkage_sets::read_febrl(path).context("reading FEBRL")?),
        EvaluationSet::SplinkParquet(path) => {
            (path.clone(), kmcr_linkage_sets::read_splink_parquet(path).context("reading the Parquet set")?)
        }
        EvaluationSet::Synthetic { seed, n_people } => (
            format!("synthetic population, seed {seed}, {n_people} people"),
            kmcr_linkage_sets::synthetic(*seed, *n_people, n_threads),
        ),
    };
    println!("{name}: {} source records, read in {:.1} s", labelled.records.len(), started.elapsed().as_secs_f64());

    let settings = LinkSettings { thresholds, n_threads, ..LinkSettings::default() };
    let started = Instant::now();
    let outcome = link_all(&labelled.records, &settings);
    let seconds = started.elapsed().as_secs_f64();
    let stages: Vec<String> =
        outcome.timings.iter().map(|(stage, duration)| format!("{stage} {:.2} s", duration.as_secs_f64())).collect();
    println!("  linked from scratch in {seconds:.2} s on {n_threads} threads ({})", stages.join(", "));
    println!("  pairs compared: {} (of {} possible)", outcome.n_pairs_compared, possible_pairs(labelled.records.len()));
    let n_true_persons = labelled.truth.iter().collect::<std::collections::HashSet<_>>().len();
    println!("  persons found: {}, true persons: {n_true_persons}", outcome.n_persons);
    print_accuracy(&outcome.person_of_record, &labelled.truth);
    println!(
        "  pairs linked {}, for review {}, kept apart on different NHS numbers {}, joins refused in clustering {} \
         (NHS numbers) and {} (the records across disagree), groups joined on all their records' \
         evidence {}",
        outcome.n_pairs_linked,
        outcome.n_pairs_for_review,
        outcome.n_pairs_apart_on_nhs_number,
        outcome.n_links_refused_in_clustering,
        outcome.n_joins_refused_as_inconsistent,
        outcome.n_joins_on_person_evidence
    );
    if let Some(path) = &options.persons_out {
        write_persons(path, &labelled.truth, &outcome.person_of_record)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if options.one_at_a_time {
        print_placed_one_at_a_time(&labelled, outcome.model.clone(), thresholds);
    }
    if options.n_match_queries > 0 {
        time_match(&labelled, &outcome.person_of_record, outcome.model.clone(), thresholds, options.n_match_queries);
    }
    Ok(())
}

fn print_accuracy(person_of_record: &[u32], truth: &[String]) {
    let counts = pair_counts(person_of_record, truth);
    println!(
        "  precision {:.4}, recall {:.4}, F1 {:.4} ({} false links, {} missed links of {} true pairs)",
        counts.precision(),
        counts.recall(),
        counts.f1(),
        counts.n_false_links(),
        counts.n_missed_links(),
        counts.n_true_pairs
    );
}

/// Places the records one at a time, as the live index does, and prints how accurate that is.
fn print_placed_one_at_a_time(labelled: &LabelledRecords, model: kmcr_mpi::Model, thresholds: Thresholds) {
    let started = Instant::now();
    let person_of_record = place_one_at_a_time(&labelled.records, model, thresholds);
    let n_persons = person_of_record.iter().max().map_or(0, |&person| person as usize + 1);
    println!(
        "  placed one at a time, as the live index does, in {:.1} s: {n_persons} persons",
        started.elapsed().as_secs_f64()
    );
    print_accuracy(&person_of_record, &labelled.truth);
}

/// Indexes every record with the person found, then searches for `n_queries` of them (a record as another source
/// would send it) and prints the latency of each search: the in-memory part of `Patient/$match`.
fn time_match(
    labelled: &LabelledRecords,
    person_of_record: &[u32],
    model: kmcr_mpi::Model,
    thresholds: Thresholds,
    n_queries: usize,
) {
    let started = Instant::now();
    let mut index = PersonIndex::new(model, thresholds);
    for (record_idx, (record, person)) in labelled.records.iter().zip(person_of_record).enumerate() {
        index.restore(&format!("r{record_idx}"), record, &format!("p{person}"), LinkReason::Score);
    }
    println!(
        "  person index: {} records, {} persons, built in {:.1} s",
        index.n_records(),
        index.n_persons(),
        started.elapsed().as_secs_f64()
    );
    let step = (labelled.records.len() / n_queries.max(1)).max(1);
    let mut latencies_us: Vec<f64> = Vec::with_capacity(n_queries);
    let mut n_found = 0;
    for record in labelled.records.iter().step_by(step).take(n_queries) {
        let started = Instant::now();
        let found = index.search(record, 10);
        latencies_us.push(started.elapsed().as_secs_f64() * 1e6);
        n_found += usize::from(!found.is_empty());
    }
    latencies_us.sort_by(f64::total_cmp);
    let percentile = |share: f64| latencies_us[((latencies_us.len() as f64 - 1.0) * share).round() as usize];
    println!(
        "  $match search over {} queries: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs; {} found a person",
        latencies_us.len(),
        percentile(0.5),
        percentile(0.99),
        percentile(1.0),
        n_found
    );
}

/// Each record's position in the set, its true person and the person linking found, as CSV.
fn write_persons(path: &Path, truth: &[String], person_of_record: &[u32]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "record,truth,person")?;
    for (record_idx, (true_person, person)) in truth.iter().zip(person_of_record).enumerate() {
        writeln!(out, "{record_idx},{},{person}", crate::demo::csv_field(true_person))?;
    }
    out.flush()
}

fn possible_pairs(n_records: usize) -> u64 {
    let n = n_records as u64;
    n * n.saturating_sub(1) / 2
}
