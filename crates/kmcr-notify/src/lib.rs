//! Sends the notifications the service layer decides, over HTTP: the I/O edge of subscriptions.
//!
//! One task takes events out of the outbox as soon as a write fires them (`Service::dispatch_events`), and one worker
//! per subscription asks the service what is due (`Service::next_delivery`: a handshake, its undelivered events in
//! order, a heartbeat), sends it, and reports the answer (`Service::delivery_result`). A failing endpoint holds up
//! only its own worker, which waits longer after each failure; at most [`MAX_SENDS_IN_FLIGHT`] requests are in
//! flight at once. Nothing is lost by a crash: undelivered events stay in the store and are sent after a restart (so
//! a receiver may see one again, with the same event number).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kmcr_service::Service;
use kmcr_service::subscriptions::{Delivery, DeliveryResult, NextDelivery};
use tokio::sync::{Notify, Semaphore};

pub const MAX_SENDS_IN_FLIGHT: usize = 256;
/// How long a worker with nothing to do waits, unwoken, before looking again. It is woken when its subscription is
/// given events or changes, so this is a safety net, not a poll: 10,000 workers polling every few seconds kept a
/// PostgreSQL server busy with nothing to send.
const IDLE_LOOK_AGAIN: Duration = Duration::from_secs(120);
/// How often the subscriptions are read again from the store (another node may have made some).
const RELOAD_EVERY: Duration = Duration::from_secs(5);

/// Starts the dispatcher and the workers; they run until the process ends.
pub fn start(service: Service) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(service))
}

async fn run(service: Service) {
    let client = match reqwest::Client::builder().no_proxy().pool_max_idle_per_host(8).build() {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the HTTP client: no notifications will be sent");
            return;
        }
    };
    let senders = Arc::new(Semaphore::new(MAX_SENDS_IN_FLIGHT));
    let mut workers: HashMap<String, Arc<Notify>> = HashMap::new();
    let mut last_reload = tokio::time::Instant::now();
    // Every subscription in force starts with a worker (a handshake or a heartbeat may be due), and those with events
    // left undelivered by the last run are sent them.
    for id in service.subscription_ids() {
        wake(&service, &client, &senders, &mut workers, &id);
    }
    if let Ok(ids) = service.subscriptions_with_undelivered().await {
        for id in ids {
            wake(&service, &client, &senders, &mut workers, &id);
        }
    }
    loop {
        for id in service.take_changed_subscriptions() {
            wake(&service, &client, &senders, &mut workers, &id);
        }
        match service.dispatch_events().await {
            Ok(given) => {
                let busy = !given.is_empty();
                for id in given {
                    wake(&service, &client, &senders, &mut workers, &id);
                }
                if busy {
                    continue;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "dispatching events failed; trying again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        workers.retain(|_, notify| Arc::strong_count(notify) > 1);
        if last_reload.elapsed() > RELOAD_EVERY {
            last_reload = tokio::time::Instant::now();
            if let Err(error) = service.reload_subscriptions().await {
                tracing::warn!(%error, "reading the subscriptions again failed");
            }
        }
        service.events_written(Duration::from_millis(200)).await;
    }
}

/// Wakes the worker of `id`, starting one when it has none.
fn wake(
    service: &Service,
    client: &reqwest::Client,
    senders: &Arc<Semaphore>,
    workers: &mut HashMap<String, Arc<Notify>>,
    id: &str,
) {
    if let Some(notify) = workers.get(id)
        && Arc::strong_count(notify) > 1
    {
        notify.notify_one();
        return;
    }
    let notify = Arc::new(Notify::new());
    workers.insert(id.to_string(), notify.clone());
    tokio::spawn(work(service.clone(), client.clone(), senders.clone(), id.to_string(), notify));
}

/// One subscription's worker: sends what is due, in order, until the subscription is gone.
async fn work(service: Service, client: reqwest::Client, senders: Arc<Semaphore>, id: String, wake: Arc<Notify>) {
    loop {
        match service.next_delivery(&id).await {
            Ok(NextDelivery::Send(delivery)) => {
                let result = {
                    let Ok(_permit) = senders.acquire().await else { return };
                    send(&client, &delivery).await
                };
                match service.delivery_result(&delivery, result).await {
                    Ok(0) => {}
                    Ok(failures) => {
                        let jitter = random_fraction();
                        let wait = service.subscription_retry_policy().delay_ms(failures, jitter);
                        tracing::info!(subscription = %id, failures, wait_ms = wait, "notification failed; waiting");
                        let _ = tokio::time::timeout(Duration::from_millis(wait), wake.notified()).await;
                    }
                    Err(error) => {
                        tracing::warn!(subscription = %id, %error, "recording a delivery failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            Ok(NextDelivery::WaitMs(wait)) => {
                let wait = Duration::from_millis(wait).min(IDLE_LOOK_AGAIN);
                let _ = tokio::time::timeout(wait, wake.notified()).await;
            }
            Ok(NextDelivery::Idle) => {
                let spread = Duration::from_millis((random_fraction() * 30_000.0) as u64);
                let _ = tokio::time::timeout(IDLE_LOOK_AGAIN + spread, wake.notified()).await;
            }
            Ok(NextDelivery::Gone) => return,
            Err(error) => {
                tracing::warn!(subscription = %id, %error, "preparing a notification failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Makes one request; the answer's status, or why there was none (naming no patient: the URL is the subscriber's).
async fn send(client: &reqwest::Client, delivery: &Delivery) -> DeliveryResult {
    let method = if delivery.method == "PUT" { reqwest::Method::PUT } else { reqwest::Method::POST };
    let mut request = client.request(method, &delivery.url).timeout(Duration::from_millis(delivery.timeout_ms));
    for (name, value) in &delivery.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &delivery.body {
        request = request.body(body.clone());
    }
    match request.send().await {
        Ok(response) => DeliveryResult::Answered(response.status().as_u16()),
        Err(error) if error.is_timeout() => DeliveryResult::Failed("the endpoint did not answer in time".into()),
        Err(error) if error.is_connect() => DeliveryResult::Failed("the endpoint refused the connection".into()),
        Err(_) => DeliveryResult::Failed("the request to the endpoint failed".into()),
    }
}

fn random_fraction() -> f64 {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX)
}
