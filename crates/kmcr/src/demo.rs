//! The demo: API clients for each synthetic source organisation and a viewer, and a synthetic population loaded
//! through the service layer as each organisation would send it.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use kmcr_access::{Principal, Scope, SystemPrincipal};
use kmcr_fhir::OdsCode;
use kmcr_service::{RequestContext, Service};
use kmcr_synth::{PersonTruth, SourceBundle, SynthConfig};

use crate::config::{RawClient, RawMllpFeed, RawOrganisation, RawSettings};

pub const DEMO_VIEWER_ID: &str = "demo-viewer";
pub const DEMO_VIEWER_SECRET: &str = "demo-viewer-secret-change-me";
/// A data-quality officer for the person index's review queue.
pub const DEMO_DQ_OFFICER_ID: &str = "demo-dq-officer";
pub const DEMO_DQ_OFFICER_SECRET: &str = "demo-dq-officer-secret-change-me";
const DEMO_SEED: u64 = 20_261_124;

/// The file that marks a directory as a demo store.
const DEMO_MARKER: &str = "KMCR-DEMO-STORE";

/// The demo's clients and users have secrets printed in the README, so the demo runs only on an embedded store of its
/// own: never on PostgreSQL, never on a directory that holds a store the demo did not make.
pub fn check_demo_store(database: &str) -> anyhow::Result<()> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        anyhow::bail!("--demo runs only on an embedded store of its own: its sign-ins are public, never on PostgreSQL");
    }
    let directory = Path::new(database);
    let holds_something = std::fs::read_dir(directory).map(|mut entries| entries.next().is_some()).unwrap_or(false);
    if holds_something && !directory.join(DEMO_MARKER).exists() {
        anyhow::bail!(
            "--demo will not open {}: it holds a store the demo did not make, and the demo's sign-ins are public",
            directory.display()
        );
    }
    std::fs::create_dir_all(directory).with_context(|| format!("cannot create {}", directory.display()))?;
    std::fs::write(
        directory.join(DEMO_MARKER),
        "Made by `kmcr serve --demo`: synthetic data only; its sign-ins are public.\n",
    )
    .with_context(|| format!("cannot mark {} as a demo store", directory.display()))?;
    Ok(())
}

/// The synthetic region's organisations as the registry of the sharing agreement, unless configuration names its own.
pub fn add_demo_organisations(settings: &mut RawSettings) {
    if !settings.organisations.is_empty() {
        return;
    }
    for organisation in kmcr_synth::organisations() {
        let kind = match organisation.kind {
            kmcr_synth::OrganisationKind::GpPractice => "gp-practice",
            kmcr_synth::OrganisationKind::AcuteTrust => "acute",
            kmcr_synth::OrganisationKind::MentalHealthTrust => "mental-health",
            kmcr_synth::OrganisationKind::CommunityTrust => "community",
            kmcr_synth::OrganisationKind::AmbulanceTrust => "ambulance",
            kmcr_synth::OrganisationKind::LocalAuthority => "adult-social-care",
            kmcr_synth::OrganisationKind::Hospice => "hospice",
        };
        settings.organisations.push(RawOrganisation {
            ods_code: organisation.ods_code.into(),
            name: organisation.name.into(),
            kind: kind.into(),
            party: true,
            trusted_to_verify_nhs_numbers: None,
            mllp_feeds: demo_mllp_feeds(organisation.ods_code)
                .into_iter()
                .map(|(sending_application, sending_facility)| RawMllpFeed {
                    sending_application,
                    sending_facility: Some(sending_facility),
                    // The demo listens on the loopback address only.
                    allowed_addresses: Vec::new(),
                    // A mental health trust's records are labelled as its FHIR records label themselves.
                    security_labels: match organisation.kind {
                        kmcr_synth::OrganisationKind::MentalHealthTrust => vec!["PSY".into()],
                        _ => Vec::new(),
                    },
                    ..RawMllpFeed::default()
                })
                .collect(),
            notifications: Vec::new(),
            // The demo's endpoints are on this machine: a newcomer subscribes a local receiver.
            notification_endpoints: vec!["http://127.0.0.1:".into(), "http://localhost:".into()],
        });
    }
    // Listens for MLLP on a free port unless one is configured; the port is printed.
    if settings.mllp.listen.is_none() {
        settings.mllp.listen = Some("127.0.0.1:0".into());
    }
}

/// The demo's HL7 v2 sender for a newcomer's own messages: the PAS of its acute trust (MSH-3 `DEMO-PAS`, MSH-4 `RWF`).
pub const DEMO_MLLP_APPLICATION: &str = "DEMO-PAS";
pub const DEMO_MLLP_ODS_CODE: &str = "RWF";

/// The HL7 v2 senders (MSH-3, MSH-4) the demo accepts from an organisation: `DEMO-PAS` at its acute trust, and every
/// system of the synthetic region that sends HL7 v2 (each acute and mental health trust's PAS, each acute trust's
/// laboratory), so that the files of `kmcr synth --hl7v2` can be sent to it as they are.
pub fn demo_mllp_feeds(ods_code: &str) -> Vec<(String, String)> {
    let mut feeds = Vec::new();
    if ods_code == DEMO_MLLP_ODS_CODE {
        feeds.push((DEMO_MLLP_APPLICATION.to_string(), DEMO_MLLP_ODS_CODE.to_string()));
    }
    for sender in kmcr_synth::hl7v2_senders().into_iter().filter(|sender| sender.ods_code == ods_code) {
        feeds.push((sender.sending_application, sender.sending_facility.to_string()));
    }
    feeds
}

fn demo_hash(secret: &str) -> String {
    kmcr_auth::hash_secret(&kmcr_auth::Secret::new(secret)).expect("argon2 hashes any secret").as_phc().to_string()
}

/// A source system that writes for one organisation: the demo's example of a feed.
pub const DEMO_SOURCE_ID: &str = "demo-source-rwf";
pub const DEMO_SOURCE_SECRET: &str = "demo-source-secret-change-me";
/// A public SMART app registered for the demo, and where it may be sent back to.
pub const DEMO_SMART_APP_ID: &str = "demo-smart-app";
pub const DEMO_SMART_REDIRECT_URI: &str = "http://127.0.0.1:9000/callback";
/// Every demo user's password (the demo's sign-ins are public).
pub const DEMO_PASSWORD: &str = "demo-password-change-me";

pub fn add_demo_clients(settings: &mut RawSettings) {
    settings.clients.push(RawClient {
        id: DEMO_VIEWER_ID.into(),
        secret_hash: demo_hash(DEMO_VIEWER_SECRET),
        ods_code: "RWF".into(),
        scopes: vec!["system/*.rs".into()],
        // A named exception, for the README's first example; every read it makes is audited with this reason.
        region_wide_justification: Some("demo: a newcomer's first look across the synthetic region".into()),
        region_wide_secondary_use: false,
        enabled: true,
    });
    settings.clients.push(RawClient {
        id: DEMO_DQ_OFFICER_ID.into(),
        secret_hash: demo_hash(DEMO_DQ_OFFICER_SECRET),
        ods_code: "RWF".into(),
        scopes: vec!["system/Patient.rs".into(), "system/Person.*".into()],
        region_wide_justification: Some("demo: the person index's review queue".into()),
        region_wide_secondary_use: false,
        enabled: true,
    });
    settings.clients.push(RawClient {
        id: DEMO_SOURCE_ID.into(),
        secret_hash: demo_hash(DEMO_SOURCE_SECRET),
        ods_code: "RWF".into(),
        scopes: vec!["system/*.*".into()],
        region_wide_justification: None,
        region_wide_secondary_use: false,
        enabled: true,
    });
    settings.smart_apps.push(crate::auth_config::RawSmartApp {
        client_id: DEMO_SMART_APP_ID.into(),
        name: "Demo SMART app".into(),
        redirect_uris: vec![DEMO_SMART_REDIRECT_URI.into()],
        scopes: vec!["user/*.rs".into()],
        secret_hash: None,
    });
}

/// A demo user: username, who they are, role profile (ODS code, job role, activities), and whether the demo
/// stands them in for a smartcard sign-in (AAL3), which sealed items and break-glass need.
struct DemoUser {
    username: &'static str,
    description: String,
    ods_code: String,
    job_role: &'static str,
    activities: &'static [&'static str],
    smartcard: bool,
}

/// The demo's users, in several role profiles, around the first synthetic person (whose GP practice they work at,
/// where it matters).
fn demo_users() -> Vec<DemoUser> {
    let config = SynthConfig { seed: DEMO_SEED, n_people: 1 };
    let truth = kmcr_synth::person_truth(&config, 0);
    let of_kind = |kind| {
        truth
            .source_records
            .iter()
            .map(|record| record.ods_code.clone())
            .find(|code| kmcr_synth::organisation(code).is_some_and(|organisation| organisation.kind == kind))
    };
    let first_of_kind = |kind| {
        kmcr_synth::organisations()
            .iter()
            .find(|organisation| organisation.kind == kind)
            .map(|organisation| organisation.ods_code.to_string())
            .expect("the synthetic region has one of each kind")
    };
    use kmcr_synth::OrganisationKind as Kind;
    let practice = of_kind(Kind::GpPractice).unwrap_or_else(|| first_of_kind(Kind::GpPractice));
    let acute = of_kind(Kind::AcuteTrust).unwrap_or_else(|| first_of_kind(Kind::AcuteTrust));
    let user = |username, description: String, ods_code: &str, job_role, activities, smartcard| DemoUser {
        username,
        description,
        ods_code: ods_code.to_string(),
        job_role,
        activities,
        smartcard,
    };
    vec![
        user(
            "gp",
            format!("GP at {practice}, the first demo person's practice"),
            &practice,
            "R8000",
            &["B0360"],
            false,
        ),
        user("ed-doctor", format!("emergency department doctor at {acute}"), &acute, "R8000", &["B0360"], false),
        user(
            "paramedic",
            "paramedic (break-glass, B0168)".into(),
            &first_of_kind(Kind::AmbulanceTrust),
            "R8003",
            &["B0360", "B0168"],
            true,
        ),
        user(
            "social-worker",
            "adult social worker (summary view)".into(),
            &first_of_kind(Kind::LocalAuthority),
            "R8014",
            &["B0370"],
            false,
        ),
        user("receptionist", format!("receptionist at {practice} (the banner only)"), &practice, "R8009", &[], false),
        user(
            "ig-officer",
            format!("privacy officer at {practice}, acting as the region's IG function (break-glass review, audit)"),
            &practice,
            "R0001",
            &[],
            false,
        ),
        user(
            "sensitive-gp",
            format!("GP at {practice} with B1611 (sealed items, once a reason is stated)"),
            &practice,
            "R8000",
            &["B0360", "B1611"],
            true,
        ),
        user(
            "emergency-doctor",
            format!("emergency consultant at {acute} with B0168 (break-glass)"),
            &acute,
            "R8000",
            &["B0360", "B0168"],
            true,
        ),
    ]
}

/// The demo users as local accounts, every one with [`DEMO_PASSWORD`].
pub fn add_demo_accounts(settings: &mut RawSettings) {
    let password_hash = demo_hash(DEMO_PASSWORD);
    for user in demo_users() {
        settings.accounts.push(crate::auth_config::RawAccount {
            username: user.username.into(),
            password_hash: password_hash.clone(),
            user_id: format!("demo-{}", user.username),
            // The demo stands some users in for a smartcard sign-in; a real local account is AAL1.
            assurance: user.smartcard.then(|| "AAL3".to_string()),
            role_profiles: vec![crate::auth_config::RawRoleProfile {
                id: format!("demo-{}-{}", user.username, user.ods_code),
                ods_code: user.ods_code.clone(),
                job_role: format!("S0000:G0000:{}", user.job_role),
                activities: user.activities.iter().map(|activity| activity.to_string()).collect(),
            }],
        });
        // The demo's privacy officer reviews the whole region's break-glass uses, so that the newcomer sees them.
        if user.username == "ig-officer" && settings.access.regional_information_governance.is_empty() {
            settings.access.regional_information_governance.push(user.ods_code.clone());
        }
    }
    // A locum who works at the GP practice and in the emergency department: two role profiles, one chosen at sign-in.
    let users = demo_users();
    let ods_code_of =
        |username: &str| users.iter().find(|user| user.username == username).map(|user| user.ods_code.clone());
    if let (Some(practice), Some(acute)) = (ods_code_of("gp"), ods_code_of("ed-doctor")) {
        let role = |ods_code: String| crate::auth_config::RawRoleProfile {
            id: format!("demo-{DEMO_LOCUM}-{ods_code}"),
            ods_code,
            job_role: "S0000:G0000:R8000".into(),
            activities: vec!["B0360".into()],
        };
        settings.accounts.push(crate::auth_config::RawAccount {
            username: DEMO_LOCUM.into(),
            password_hash,
            user_id: format!("demo-{DEMO_LOCUM}"),
            assurance: None,
            role_profiles: vec![role(practice), role(acute)],
        });
    }
}

/// The demo user with two role profiles.
pub const DEMO_LOCUM: &str = "locum";

pub fn print_demo_credentials(public_base_url: &str) {
    println!("Demo API clients (OAuth2 client credentials at {public_base_url}/oauth/token):");
    println!("  {DEMO_VIEWER_ID} / {DEMO_VIEWER_SECRET}: reads across the region (a configured, audited exception)");
    println!("  {DEMO_SOURCE_ID} / {DEMO_SOURCE_SECRET}: a source system writing for RWF");
    println!("  {DEMO_DQ_OFFICER_ID} / {DEMO_DQ_OFFICER_SECRET}: the person index's review queue at /mpi/reviews");
    println!(
        "  curl -s -d grant_type=client_credentials -d client_id={DEMO_VIEWER_ID} -d client_secret={DEMO_VIEWER_SECRET} \
         {public_base_url}/oauth/token"
    );
    println!("  then: curl -H 'Authorization: Bearer <access_token>' '{public_base_url}/fhir/Patient?_count=5'");
    println!(
        "Demo HL7 v2 feeds: send messages over MLLP to the MLLP port above (`kmcr feeds send --to HOST:PORT FILE...`, \
         or mllp_send from the Python hl7 package); the senders accepted, MSH-3|MSH-4:"
    );
    println!("  {DEMO_MLLP_APPLICATION}|{DEMO_MLLP_ODS_CODE}: your own ADT, ORU and MDM messages, as RWF's PAS");
    for sender in kmcr_synth::hl7v2_senders() {
        println!(
            "  {}|{}: {} of the synthetic region (`kmcr synth --hl7v2` writes them)",
            sender.sending_application, sender.sending_facility, sender.message_types
        );
    }
    println!(
        "Demo users (password {DEMO_PASSWORD}), signing in to the clinician viewer at {public_base_url}/viewer, or \
         through SMART App Launch at {public_base_url}/oauth/authorize (app {DEMO_SMART_APP_ID}, redirect \
         {DEMO_SMART_REDIRECT_URI}):"
    );
    let users = demo_users();
    for user in &users {
        println!("  {:<17} {}", user.username, user.description);
    }
    let ods_code_of =
        |username: &str| users.iter().find(|user| user.username == username).map(|user| user.ods_code.as_str());
    if let (Some(practice), Some(acute)) = (ods_code_of("gp"), ods_code_of("ed-doctor")) {
        println!(
            "  {DEMO_LOCUM:<17} locum doctor with two role profiles, at {practice} and in the emergency department at \
             {acute} (chooses one at sign-in, switches in one click)"
        );
    }
    println!("Open the clinician viewer: {public_base_url}/viewer");
}

fn loader_context(source: &SourceBundle) -> anyhow::Result<RequestContext> {
    Ok(RequestContext {
        principal: Principal::System(SystemPrincipal {
            client_id: format!("synthetic-loader-{}", source.source_ods_code),
            ods_code: OdsCode::parse(&source.source_ods_code).context("synthetic ODS codes are valid")?,
            scopes: vec![Scope::parse("system/*.*").expect("a valid scope")],
            region_wide: None,
        }),
        request_id: "demo-load".into(),
    })
}

/// Loads `n_people` synthetic people unless the store already holds patients.
pub async fn load_demo_population(service: &Service, n_people: usize) -> anyhow::Result<()> {
    let organisations = kmcr_synth::organisation_bundles();
    let probe = loader_context(organisations.first().context("the synthetic region has organisations")?)?;
    let existing =
        service.search(&probe, kmcr_fhir::ResourceType::PATIENT, &[("_count".into(), "1".into())], false, None).await?;
    if !existing.outcome.matches.is_empty() {
        println!("The demo store already holds a population; not loading again.");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let mut n_resources = 0usize;
    for source in organisations {
        n_resources += load(service, source).await?;
    }
    let config = SynthConfig { seed: DEMO_SEED, n_people };
    for person_idx in 0..n_people {
        for source in kmcr_synth::person_bundles(&config, person_idx) {
            n_resources += load(service, source).await?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("Loaded {n_people} synthetic people ({n_resources} resources) in {seconds:.1} s.");
    Ok(())
}

async fn load(service: &Service, source: SourceBundle) -> anyhow::Result<usize> {
    let context = loader_context(&source)?;
    let n_entries = source.bundle.get("entry").and_then(|entries| entries.as_array()).map_or(0, Vec::len);
    service
        .bundle(&context, source.bundle)
        .await
        .with_context(|| format!("loading a bundle of {}", source.source_ods_code))?;
    Ok(n_entries)
}

/// What `kmcr synth` writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SynthOutput {
    /// The FHIR Bundles and `truth.csv`.
    Fhir,
    /// The FHIR Bundles, `truth.csv`, and the HL7 v2 messages of the acute and mental health trusts.
    FhirAndHl7v2,
    /// The HL7 v2 messages alone.
    Hl7v2Only,
}

/// `kmcr synth`: one file per source Bundle, named by person and organisation, and `truth.csv` beside them (see
/// [`write_truth_rows`]), so that patient matching over the files can be scored; and, when asked, `hl7v2/<ODS>.hl7`
/// per acute and mental health trust (see [`Hl7v2Files`]). People are made and written one at a time.
pub fn write_synthetic_population(out: &Path, n_people: usize, seed: u64, output: SynthOutput) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let config = SynthConfig { seed, n_people };
    let mut hl7v2_files = match output {
        SynthOutput::Fhir => None,
        SynthOutput::FhirAndHl7v2 | SynthOutput::Hl7v2Only => Some(Hl7v2Files::create(&out.join("hl7v2"))?),
    };
    if output == SynthOutput::Hl7v2Only {
        let mut hl7v2_files = hl7v2_files.expect("made above");
        for person_idx in 0..n_people {
            hl7v2_files.write_person(&config, person_idx)?;
        }
        let n_messages = hl7v2_files.finish()?;
        println!(
            "Wrote the HL7 v2 messages of {n_people} synthetic people ({n_messages} messages) to {}",
            out.join("hl7v2").display()
        );
        return Ok(());
    }
    let write = |name: String, source: &SourceBundle| -> anyhow::Result<()> {
        let path = out.join(name);
        std::fs::write(&path, serde_json::to_vec(&source.bundle)?)
            .with_context(|| format!("cannot write {}", path.display()))
    };
    for source in kmcr_synth::organisation_bundles() {
        write(format!("organisation-{}.json", source.source_ods_code), &source)?;
    }
    let truth_path = out.join("truth.csv");
    let truth_file =
        std::fs::File::create(&truth_path).with_context(|| format!("cannot create {}", truth_path.display()))?;
    let mut truth = std::io::BufWriter::new(truth_file);
    truth.write_all(TRUTH_HEADER.as_bytes())?;
    for person_idx in 0..n_people {
        for source in kmcr_synth::person_bundles(&config, person_idx) {
            write(format!("person-{person_idx:07}-{}.json", source.source_ods_code), &source)?;
        }
        write_truth_rows(&mut truth, &kmcr_synth::person_truth(&config, person_idx))
            .with_context(|| format!("cannot write {}", truth_path.display()))?;
        if let Some(hl7v2_files) = hl7v2_files.as_mut() {
            hl7v2_files.write_person(&config, person_idx)?;
        }
    }
    truth.flush().with_context(|| format!("cannot write {}", truth_path.display()))?;
    match hl7v2_files {
        Some(hl7v2_files) => {
            let n_messages = hl7v2_files.finish()?;
            println!(
                "Wrote {n_people} synthetic people to {}, with truth.csv, and their {n_messages} HL7 v2 messages to {}",
                out.display(),
                out.join("hl7v2").display()
            );
        }
        None => println!("Wrote {n_people} synthetic people to {}, with truth.csv", out.display()),
    }
    Ok(())
}

/// `hl7v2/<ODS>.hl7` for every acute and mental health trust: its messages, person after person and each person's in
/// time order, each message's segments ended by CR and each message followed by LF, written as each person is made.
pub struct Hl7v2Files {
    directory: std::path::PathBuf,
    files: std::collections::BTreeMap<&'static str, std::io::BufWriter<std::fs::File>>,
    n_messages: usize,
}

impl Hl7v2Files {
    pub fn create(directory: &Path) -> anyhow::Result<Hl7v2Files> {
        std::fs::create_dir_all(directory).with_context(|| format!("cannot create {}", directory.display()))?;
        let mut files = std::collections::BTreeMap::new();
        for organisation in
            kmcr_synth::organisations().iter().filter(|organisation| kmcr_synth::sends_hl7v2(organisation.kind))
        {
            let path = directory.join(format!("{}.hl7", organisation.ods_code));
            let file = std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            files.insert(organisation.ods_code, std::io::BufWriter::new(file));
        }
        Ok(Hl7v2Files { directory: directory.to_path_buf(), files, n_messages: 0 })
    }

    pub fn write_person(&mut self, config: &SynthConfig, person_idx: usize) -> anyhow::Result<()> {
        for message in kmcr_synth::person_hl7v2_messages(config, person_idx) {
            let file = self.files.get_mut(message.ods_code).expect("a file for every trust that sends HL7 v2");
            file.write_all(message.text.as_bytes())
                .and_then(|()| file.write_all(b"\n"))
                .with_context(|| format!("cannot write {}/{}.hl7", self.directory.display(), message.ods_code))?;
            self.n_messages += 1;
        }
        Ok(())
    }

    /// Flushes every file; the number of messages written.
    pub fn finish(self) -> anyhow::Result<usize> {
        for (ods_code, mut file) in self.files {
            file.flush().with_context(|| format!("cannot write {}/{ods_code}.hl7", self.directory.display()))?;
        }
        Ok(self.n_messages)
    }
}

const TRUTH_HEADER: &str = "person_idx,nhs_number,ods_code,identifier_system,identifier_value\n";

/// One row of `truth.csv` per source patient record of the person: the person, their true NHS number (even where that
/// source did not record it; empty for the people who have none) and the record's organisation and local identifier,
/// as in its Patient resource.
fn write_truth_rows(out: &mut impl Write, truth: &PersonTruth) -> std::io::Result<()> {
    let nhs_number = truth.nhs_number.map(|number| number.as_digits()).unwrap_or_default();
    for record in &truth.source_records {
        writeln!(
            out,
            "{},{},{},{},{}",
            truth.person_idx,
            nhs_number,
            csv_field(&record.ods_code),
            csv_field(&record.identifier_system),
            csv_field(&record.identifier_value)
        )?;
    }
    Ok(())
}

/// A CSV field (RFC 4180): quoted, with quotes doubled, only when it holds a comma, a quote or a line break.
pub(crate) fn csv_field(value: &str) -> Cow<'_, str> {
    if value.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", value.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_refuses_a_database_it_did_not_make() {
        assert!(check_demo_store("postgres://kmcr@db.example/kmcr").is_err(), "never PostgreSQL");
        let directory = std::env::temp_dir().join(format!("kmcr-demo-refusal-test-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(directory.join("kmcr.db"), b"a real store").unwrap();
        assert!(check_demo_store(directory.to_str().unwrap()).is_err(), "not a store the demo did not make");
        std::fs::remove_dir_all(&directory).unwrap();
        let fresh = std::env::temp_dir().join(format!("kmcr-demo-fresh-test-{}", std::process::id()));
        check_demo_store(fresh.to_str().unwrap()).expect("a new directory is the demo's");
        check_demo_store(fresh.to_str().unwrap()).expect("and stays the demo's");
        std::fs::remove_dir_all(&fresh).unwrap();
    }

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_field("https://fhir.example/Id/mrn"), "https://fhir.example/Id/mrn");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn synth_hl7v2_only_writes_a_file_per_trust_and_nothing_else() {
        let out = std::env::temp_dir().join(format!("kmcr-synth-hl7v2-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        write_synthetic_population(&out, 20, 7, SynthOutput::Hl7v2Only).expect("writes");
        let names = |directory: &Path| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(directory)
                .expect("the directory is readable")
                .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(&out), ["hl7v2"]);
        assert_eq!(names(&out.join("hl7v2")), ["RN7.hl7", "RPA.hl7", "RVV.hl7", "RWF.hl7", "RXY.hl7"]);
        let config = SynthConfig { seed: 7, n_people: 20 };
        let expected: Vec<String> = (0..20)
            .flat_map(|person_idx| kmcr_synth::person_hl7v2_messages(&config, person_idx))
            .map(|m| m.text)
            .collect();
        let mut written = Vec::new();
        for name in names(&out.join("hl7v2")) {
            let text = std::fs::read_to_string(out.join("hl7v2").join(name)).expect("readable");
            assert!(text.is_empty() || text.ends_with("\r\n"), "each message ends with CR, then LF");
            written.extend(text.split_terminator('\n').map(str::to_string));
        }
        assert_eq!(written.len(), expected.len(), "every message once");
        written.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(written, expected);
        std::fs::remove_dir_all(&out).expect("removes the test directory");
    }

    #[test]
    fn synth_writes_a_truth_row_for_every_source_patient_record() {
        let out = std::env::temp_dir().join(format!("kmcr-synth-truth-test-{}", std::process::id()));
        let n_people = 12;
        write_synthetic_population(&out, n_people, 7, SynthOutput::Fhir).expect("writes");
        let truth = std::fs::read_to_string(out.join("truth.csv")).expect("truth.csv is written");
        let mut lines = truth.lines();
        assert_eq!(lines.next(), Some(TRUTH_HEADER.trim_end()));
        let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
        let n_bundle_files = std::fs::read_dir(&out)
            .expect("the directory is readable")
            .filter(|entry| entry.as_ref().expect("an entry").file_name().to_string_lossy().starts_with("person-"))
            .count();
        assert_eq!(rows.len(), n_bundle_files, "one row per source Patient");
        for row in &rows {
            assert_eq!(row.len(), 5);
            let person_idx: usize = row[0].parse().expect("a person index");
            assert!(person_idx < n_people);
            assert!(kmcr_fhir::NhsNumber::parse(row[1]).is_ok());
            let bundle_path = out.join(format!("person-{person_idx:07}-{}.json", row[2]));
            let bundle: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&bundle_path).expect("the row's bundle exists")).expect("JSON");
            let identifiers = &bundle["entry"][0]["resource"]["identifier"];
            let local = identifiers
                .as_array()
                .expect("identifiers")
                .iter()
                .any(|identifier| identifier["system"] == row[3] && identifier["value"] == row[4]);
            assert!(local, "the row names the Patient's own identifier");
        }
        std::fs::remove_dir_all(&out).expect("removes the test directory");
    }
}
