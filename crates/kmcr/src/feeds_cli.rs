//! `kmcr feeds`: what each HL7 v2 sender has sent (`status`), the dead letters not yet made good (`dead-letters`: their
//! key, time, sender, MSH-10, type and reason, never the message), and sending one through again after a fix
//! (`replay KEY`, with the configuration's feeds and organisations).

use anyhow::{Context, bail};
use kmcr_fhir::Instant;
use kmcr_service::identity::IdentitySettings;
use kmcr_service::{Limits, Service};
use kmcr_store::{FeedMessageFilter, Store, StoreOptions};

use crate::config::Config;

pub async fn run(words: &[&str], config: Config) -> anyhow::Result<()> {
    let options = StoreOptions { code_rules: config.access.code_rules.clone(), ..StoreOptions::default() };
    let store = Store::open(&config.database, &options).await.context("cannot open the store")?;
    match words {
        ["status"] => {
            println!("sender\torganisation\taccepted\trejected\tunresolved\terror rate\tlast message");
            for feed in store.feed_summary().await? {
                let total = (feed.accepted + feed.rejected).max(1) as f64;
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{:.1}%\t{}",
                    feed.sender,
                    feed.ods_code.as_deref().unwrap_or("-"),
                    feed.accepted,
                    feed.rejected,
                    feed.unresolved,
                    100.0 * feed.rejected as f64 / total,
                    Instant::from_unix_ms(feed.last_received_ms)
                );
            }
            Ok(())
        }
        ["dead-letters"] => {
            println!("key\treceived\tsender\tMSH-10\ttype\tACK\treason");
            for letter in store.filtered_feed_messages(FeedMessageFilter::UnresolvedDeadLetters, 10_000).await? {
                let receipt = letter.receipt;
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    letter.message_key,
                    Instant::from_unix_ms(receipt.received_ms),
                    receipt.sender,
                    receipt.control_id.as_deref().unwrap_or("-"),
                    receipt.message_type.as_deref().unwrap_or("-"),
                    receipt.ack_code,
                    receipt.reason.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        ["replay", key] => {
            let key: i64 = key.parse().context("replay takes a dead letter's key (see kmcr feeds dead-letters)")?;
            let feeds = config.mllp.map(|mllp| mllp.feeds).unwrap_or_default();
            let service = Service::start(store, Limits::default(), IdentitySettings::default(), config.access)
                .await
                .context("cannot start the person index")?;
            let Some(ack) = service.replay_dead_letter(&feeds, key).await? else {
                bail!("there is no dead letter {key}");
            };
            let answer = kmcr_hl7v2::Message::parse(&ack).ok();
            let msa = answer.as_ref().and_then(|ack| ack.segment("MSA"));
            let code = msa.and_then(|msa| msa.text(1, 1)).unwrap_or("?");
            let reason = answer.as_ref().and_then(|ack| ack.segment("ERR")).and_then(|err| err.text(8, 1));
            println!(
                "dead letter {key} sent again: {code}{}",
                reason.map(|reason| format!(" ({reason})")).unwrap_or_default()
            );
            Ok(())
        }
        _ => bail!("kmcr feeds status | dead-letters | replay KEY"),
    }
}
