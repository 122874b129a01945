//! `kmcr organisations`: the organisations configured and those recorded as having left the agreement; recording a
//! departure; purging what an organisation that left had sent. Run by an operator on a server: each change is
//! audited with the operator's name (`$USER`).

use anyhow::{Context, bail};
use kmcr_fhir::{Instant, OdsCode};
use kmcr_service::{Limits, Service};
use kmcr_store::{Store, StoreOptions};

use crate::config::Config;

pub async fn run(words: &[&str], config: Config) -> anyhow::Result<()> {
    let options = StoreOptions { code_rules: config.access.code_rules.clone(), ..StoreOptions::default() };
    let store = Store::open(&config.database, &options).await.context("cannot open the store")?;
    let registry = config.access.registry.clone();
    let service = Service::start(store, Limits::default(), config.identity.clone(), config.access)
        .await
        .context("cannot start the person index")?;
    let operator = format!("operator:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
    let ods_code = |text: &str| OdsCode::parse(text).map_err(|error| anyhow::anyhow!("{text}: {error}"));
    match words {
        ["list"] => {
            let departures = service.departures().await?;
            println!("organisation\tkind\tname\tparty\tleft\tpurged");
            for organisation in registry.iter() {
                let departure = departures.iter().find(|left| left.ods_code == organisation.ods_code.as_str());
                let when = |ms: Option<i64>| ms.map(|ms| Instant::from_unix_ms(ms).to_string()).unwrap_or("-".into());
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    organisation.ods_code,
                    organisation.kind.as_str(),
                    organisation.name,
                    if organisation.party_to_agreement && departure.is_none() { "yes" } else { "no" },
                    when(departure.map(|left| left.left_ms)),
                    when(departure.and_then(|left| left.purged_ms))
                );
            }
            Ok(())
        }
        ["leave", code] => {
            let code = ods_code(code)?;
            if registry.get(&code).is_none() {
                bail!("{code} is not a configured organisation");
            }
            service.record_departure(&operator, &code).await?;
            println!("{code} has left the sharing agreement: its data is out of every view within a second");
            Ok(())
        }
        ["purge", code] => {
            let code = ods_code(code)?;
            let report = service.purge_organisation(&operator, &code).await?;
            println!(
                "{code}: purged {} resources ({} versions); {} source patient records taken out of the person index",
                report.resources, report.versions, report.patients_taken_out_of_the_person_index
            );
            Ok(())
        }
        _ => bail!("kmcr organisations list | leave ODS | purge ODS"),
    }
}
