//! `kmcr subscriptions`: how each subscription's delivery stands, for an operator: its organisation, status (and the
//! error that put it there), events handed to it, notifications sent and failed, and the last delivery. Never its
//! endpoint's headers, nor anything about the people its events concern.

use anyhow::{Context, bail};
use kmcr_fhir::Instant;
use kmcr_store::{Store, StoreOptions};

use crate::config::Config;

pub async fn run(words: &[&str], config: Config) -> anyhow::Result<()> {
    let options = StoreOptions { code_rules: config.access.code_rules.clone(), ..StoreOptions::default() };
    let store = Store::open(&config.database, &options).await.context("cannot open the store")?;
    match words {
        [] | ["status"] => {
            println!("subscription\torganisation\tstatus\tevents\tsent\tfailed\tlast delivered\terror");
            for subscription in store.subscriptions(None).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    subscription.subscription_id,
                    subscription.owner_ods_code,
                    subscription.status,
                    subscription.events_since_start,
                    subscription.n_sent,
                    subscription.n_failed,
                    subscription.last_delivered_ms.map_or("-".to_string(), |ms| Instant::from_unix_ms(ms).to_string()),
                    subscription.error.as_deref().unwrap_or("-"),
                );
            }
            Ok(())
        }
        _ => bail!("kmcr subscriptions takes: status"),
    }
}
