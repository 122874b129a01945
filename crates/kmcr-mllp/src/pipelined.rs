//! The frames a sender pipelined, answered together: messages about different patients are kept side by side (so
//! their commits share the store's group commit), messages about one patient (the Patient the mapping names, whichever
//! of the organisation's senders sent them) one after another in the order sent, and the ACKs go back in the order the
//! frames came. A frame that names no patient the listener can read goes on its
//! own; a merge (it names two patients) makes the whole group go one at a time.

use std::collections::BTreeMap;
use std::sync::Arc;

use kmcr_hl7v2::Message;
use kmcr_hl7v2::mllp::FrameError;
use kmcr_service::feeds::{MllpFeed, Peer};

use crate::{Shared, refusal_of_frame};

/// Answers `frames` in order: each an ACK, or the first store failure (then no ACK is sent for any).
pub(crate) async fn answer(
    frames: Vec<Result<Vec<u8>, FrameError>>,
    peer: &Peer,
    shared: &Arc<Shared>,
) -> Result<Vec<String>, kmcr_service::ServiceError> {
    if let [frame] = frames.as_slice() {
        // One frame (a sender that waits for each ACK): nothing to group, so its patient is not read here.
        return Ok(vec![match frame {
            Ok(bytes) => shared.service.receive_hl7_from(&shared.settings.feeds, Some(peer), bytes).await?,
            Err(error) => refusal_of_frame(error),
        }]);
    }
    let mut acks: Vec<Option<String>> = vec![None; frames.len()];
    let mut groups: BTreeMap<String, Vec<(usize, Vec<u8>)>> = BTreeMap::new();
    let mut one_at_a_time = false;
    for (index, frame) in frames.into_iter().enumerate() {
        match frame {
            Err(error) => acks[index] = Some(refusal_of_frame(&error)),
            Ok(bytes) => {
                let key = match patient_key(&bytes, &shared.settings.feeds) {
                    Key::Patient(key) => key,
                    Key::Unknown => format!("frame {index}"),
                    Key::Several => {
                        one_at_a_time = true;
                        String::new()
                    }
                };
                groups.entry(key).or_default().push((index, bytes));
            }
        }
    }
    if one_at_a_time {
        let mut frames: Vec<(usize, Vec<u8>)> = groups.into_values().flatten().collect();
        frames.sort_by_key(|(index, _)| *index);
        for (index, bytes) in frames {
            acks[index] = Some(shared.service.receive_hl7_from(&shared.settings.feeds, Some(peer), &bytes).await?);
        }
    } else {
        let tasks: Vec<_> = groups
            .into_values()
            .map(|group| {
                let (shared, peer) = (shared.clone(), peer.clone());
                tokio::spawn(async move {
                    let mut answered = Vec::with_capacity(group.len());
                    for (index, bytes) in group {
                        let ack = shared.service.receive_hl7_from(&shared.settings.feeds, Some(&peer), &bytes).await?;
                        answered.push((index, ack));
                    }
                    Ok::<_, kmcr_service::ServiceError>(answered)
                })
            })
            .collect();
        let mut failed = None;
        for task in tasks {
            match task.await.map_err(|_| kmcr_service::ServiceError::Unavailable).and_then(|answered| answered) {
                Ok(answered) => answered.into_iter().for_each(|(index, ack)| acks[index] = Some(ack)),
                Err(error) => failed = Some(error),
            }
        }
        if let Some(error) = failed {
            return Err(error);
        }
    }
    Ok(acks.into_iter().map(|ack| ack.expect("every frame answered")).collect())
}

enum Key {
    /// The Patient the message is about, as the mapping names it: the same for every sender of one organisation (its
    /// PAS and its laboratory write the same Patient).
    Patient(String),
    /// No patient can be read (the service will refuse it): it goes on its own.
    Unknown,
    /// It names more than one patient (a merge).
    Several,
}

fn patient_key(bytes: &[u8], feeds: &[MllpFeed]) -> Key {
    let Ok(text) = kmcr_hl7v2::decode(bytes) else { return Key::Unknown };
    let Ok(message) = Message::parse(&text) else { return Key::Unknown };
    if message.segment("MRG").is_some() {
        return Key::Several;
    }
    let header = message.header();
    let (application, facility) = (header.text(3, 1).unwrap_or_default(), header.text(4, 1).unwrap_or_default());
    // The feed as the service finds it; no feed, no write (the service refuses it), so it may go on its own.
    let Some(feed) = feeds.iter().find(|feed| {
        feed.sending_application == application
            && feed.sending_facility.as_deref().is_none_or(|expected| expected == facility)
    }) else {
        return Key::Unknown;
    };
    match kmcr_hl7v2::fhir::patient::patient_update(&message, feed.ods_code.as_str()) {
        Ok(update) => Key::Patient(update.id),
        Err(_) => Key::Unknown,
    }
}
