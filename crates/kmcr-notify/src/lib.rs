//! Sends the notifications the service layer decides, over HTTP: the I/O edge of subscriptions.
//!
//! One task takes events out of the outbox as soon as a write fires them (`Service::dispatch_events`), and one worker
//! per subscription asks the service what is due (`Service::next_delivery`: a handshake, its undelivered events in
//! order, a heartbeat), sends it, and reports the answer (`Service::delivery_result`). A failing endpoint holds up
//! only its own worker, which waits longer after each failure; at most [`MAX_SENDS_IN_FLIGHT`] requests are in
//! flight at once. Nothing is lost by a crash: undelivered events stay in the store and are sent after a restart (so
//! a receiver may see one again, with the same event number). One node of a deployment sends at a time: it holds the
//! store's notification leadership (a PostgreSQL advisory lock on a session of its own), and another takes over within
//! seconds of losing it; the others only write events.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kmcr_service::Service;
use kmcr_service::subscriptions::{Delivery, DeliveryResult, NextDelivery};
use tokio::sync::{Notify, Semaphore};

pub const MAX_SENDS_IN_FLIGHT: usize = 256;
/// How long a worker with nothing to do waits, unwoken, before looking again. It is woken when its subscription is
/// given events or changes, so this is a safety net, not a poll: 10,000 workers polling every few seconds kept a
/// PostgreSQL server busy with nothing to send.
const IDLE_LOOK_AGAIN: Duration = Duration::from_secs(120);

/// Starts the dispatcher and the workers; they run until the process ends.
pub fn start(service: Service) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(service))
}

/// How often a node that does not send notifications asks again, and the sender checks that it still may.
const LEADERSHIP_LOOK_AGAIN: Duration = Duration::from_secs(5);

/// One node of a deployment sends notifications at a time (several on one PostgreSQL would each send every one): this
/// node waits for the right, sends while it holds it, and waits again if it loses it.
async fn run(service: Service) {
    // Redirects are not followed: a notification goes to the endpoint registered, nowhere it points to.
    let client = match reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(8)
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the HTTP client: no notifications will be sent");
            return;
        }
    };
    loop {
        match service.lead_notifications().await {
            Ok(Some(leadership)) => {
                tracing::info!("this node sends the notifications");
                lead(&service, &client, &leadership).await;
                tracing::warn!("this node lost the right to send notifications; waiting to take it again");
            }
            // Another node sends; this one keeps its subscriptions current, so that its writes fire what classic
            // subscriptions made elsewhere watch.
            Ok(None) => {
                if let Err(error) = service.reload_subscriptions().await {
                    tracing::warn!(%error, "reading the subscriptions again failed");
                }
            }
            Err(error) => tracing::warn!(%error, "cannot ask for the right to send notifications; trying again"),
        }
        tokio::time::sleep(LEADERSHIP_LOOK_AGAIN).await;
    }
}

/// Sends notifications while `leadership` holds: dispatches the outbox and runs a worker per subscription.
async fn lead(service: &Service, client: &reqwest::Client, leadership: &kmcr_store::Leadership) {
    let active = Arc::new(AtomicBool::new(true));
    let senders = Arc::new(Semaphore::new(MAX_SENDS_IN_FLIGHT));
    let mut workers: HashMap<String, Arc<Notify>> = HashMap::new();
    let mut last_reload = tokio::time::Instant::now();
    let crew = Crew { service, client, senders: &senders, active: &active };
    if let Err(error) = service.reload_subscriptions().await {
        tracing::warn!(%error, "reading the subscriptions failed");
    }
    // Every subscription in force starts with a worker (a handshake or a heartbeat may be due), and those with events
    // left undelivered (by this node's last run, or another node's) are sent them.
    for id in service.subscription_ids() {
        crew.wake(&mut workers, &id);
    }
    if let Ok(ids) = service.subscriptions_with_undelivered().await {
        for id in ids {
            crew.wake(&mut workers, &id);
        }
    }
    loop {
        for id in service.take_changed_subscriptions() {
            crew.wake(&mut workers, &id);
        }
        match service.dispatch_events().await {
            Ok(given) => {
                let busy = !given.is_empty();
                for id in given {
                    crew.wake(&mut workers, &id);
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
        if last_reload.elapsed() > LEADERSHIP_LOOK_AGAIN {
            last_reload = tokio::time::Instant::now();
            if !leadership.still_held().await {
                active.store(false, Ordering::SeqCst);
                for notify in workers.values() {
                    notify.notify_one();
                }
                return;
            }
            if let Err(error) = service.reload_subscriptions().await {
                tracing::warn!(%error, "reading the subscriptions again failed");
            }
        }
        service.events_written(Duration::from_millis(200)).await;
    }
}

/// What the workers of one leadership share.
struct Crew<'a> {
    service: &'a Service,
    client: &'a reqwest::Client,
    senders: &'a Arc<Semaphore>,
    /// False once the leadership is lost: every worker stops.
    active: &'a Arc<AtomicBool>,
}

impl Crew<'_> {
    /// Wakes the worker of `id`, starting one when it has none.
    fn wake(&self, workers: &mut HashMap<String, Arc<Notify>>, id: &str) {
        if let Some(notify) = workers.get(id)
            && Arc::strong_count(notify) > 1
        {
            notify.notify_one();
            return;
        }
        let notify = Arc::new(Notify::new());
        workers.insert(id.to_string(), notify.clone());
        let worker = work(
            self.service.clone(),
            self.client.clone(),
            self.senders.clone(),
            self.active.clone(),
            id.to_string(),
            notify,
        );
        tokio::spawn(worker);
    }
}

/// One subscription's worker: sends what is due, in order, until the subscription is gone.
async fn work(
    service: Service,
    client: reqwest::Client,
    senders: Arc<Semaphore>,
    active: Arc<AtomicBool>,
    id: String,
    wake: Arc<Notify>,
) {
    while active.load(Ordering::SeqCst) {
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
                        // Not cut short by new events: a dead endpoint is tried at the back-off's pace, not theirs.
                        tokio::time::sleep(Duration::from_millis(wait)).await;
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
