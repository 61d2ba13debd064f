//! Prometheus metrics served at `/metrics`: GraphQL requests and latencies per operation type,
//! sign-ins by outcome, open subscriptions, and (read from the database at each scrape) the
//! emails and webhook deliveries by status, the depth of the queues and the scheduler's due,
//! sent, skipped and late steps.

use db::sea_orm::{DatabaseConnection, DbErr};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// The gateway's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// GraphQL requests by operation type and HTTP status.
    pub requests: IntCounterVec,
    /// GraphQL request latency by operation type.
    pub latency: HistogramVec,
    /// Sign-in attempts by outcome (ok, invalid, locked, unavailable).
    pub logins: IntCounterVec,
    /// Subscriptions currently open.
    pub subscriptions_open: IntGauge,
    /// Live-updates websockets connected now.
    pub websockets: IntGauge,
    /// Emails (notification rows) by status: QUEUED, SENT, FAILED, SUPPRESSED.
    pub emails: IntGaugeVec,
    /// Webhook deliveries by status: PENDING, RETRYING, DELIVERED, FAILED.
    pub webhook_deliveries: IntGaugeVec,
    /// Work waiting: `outbox` (ticket events not yet on the stream), `exports` (export jobs
    /// queued or running), `webhooks` (deliveries waiting for an enabled hook), `digests`
    /// (emails waiting for their recipient's digest).
    pub queue_depth: IntGaugeVec,
    /// Digests by status: QUEUED, SENT, FAILED.
    pub digests: IntGaugeVec,
    /// Digests composed more than two `SCHEDULER_TICK`s after they were due.
    pub digests_late: IntGauge,
    /// The scheduler: items with a step due that no scheduler handled yet, steps sent by
    /// kind, skipped while catching up, and handled late (totals kept in the database).
    scheduler: SchedulerMetrics,
}

/// The scheduler's metrics and the settings its due count is computed with.
#[derive(Clone)]
struct SchedulerMetrics {
    settings: ticket_service::scheduler::Settings,
    due: IntGauge,
    sent: IntGaugeVec,
    skipped: IntGauge,
    late: IntGauge,
}

impl SchedulerMetrics {
    fn new(
        registry: &Registry,
        settings: ticket_service::scheduler::Settings,
    ) -> Result<Self, prometheus::Error> {
        let due = IntGauge::new(
            "scheduler_due",
            "Items with a reminder or escalation due that no scheduler has handled yet",
        )?;
        let sent = IntGaugeVec::new(
            Opts::new(
                "scheduler_sent_total",
                "Reminders and escalations the schedulers sent, by event kind",
            ),
            &["kind"],
        )?;
        let skipped = IntGauge::new(
            "scheduler_skipped_total",
            "Older steps skipped because a later one of the same item was due too (catching up)",
        )?;
        let late = IntGauge::new(
            "scheduler_late_total",
            "Steps sent more than two ticks after they were due",
        )?;
        registry.register(Box::new(due.clone()))?;
        registry.register(Box::new(sent.clone()))?;
        registry.register(Box::new(skipped.clone()))?;
        registry.register(Box::new(late.clone()))?;
        Ok(Self {
            settings,
            due,
            sent,
            skipped,
            late,
        })
    }

    async fn refresh(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let due = ticket_service::read_model::scheduler_due(db, &self.settings).await?;
        self.due.set(i64::try_from(due).unwrap_or(i64::MAX));
        let totals = ticket_service::read_model::scheduler_totals(db).await?;
        self.sent.reset();
        for (kind, n) in totals.sent {
            self.sent
                .with_label_values(&[kind.as_str()])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        self.skipped
            .set(i64::try_from(totals.skipped).unwrap_or(i64::MAX));
        self.late
            .set(i64::try_from(totals.late).unwrap_or(i64::MAX));
        Ok(())
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered; `scheduler` is what the scheduler runs
    /// with (its due count is computed from it).
    pub fn new(scheduler: ticket_service::scheduler::Settings) -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("tessera_gateway".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("graphql_requests_total", "GraphQL requests answered"),
            &["operation", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_duration_seconds",
                "Time to answer a GraphQL request",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ]),
            &["operation"],
        )?;
        let logins = IntCounterVec::new(
            Opts::new("login_attempts_total", "Sign-in attempts by outcome"),
            &["outcome"],
        )?;
        let subscriptions_open = IntGauge::new("subscriptions_open", "Subscriptions open now")?;
        let websockets = IntGauge::new("websockets_open", "Live-updates websockets connected now")?;
        let emails = IntGaugeVec::new(
            Opts::new("emails", "Emails (notification rows) by status"),
            &["status"],
        )?;
        let webhook_deliveries = IntGaugeVec::new(
            Opts::new("webhook_deliveries", "Webhook deliveries by status"),
            &["status"],
        )?;
        let queue_depth = IntGaugeVec::new(
            Opts::new("queue_depth", "Work waiting, by queue"),
            &["queue"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(logins.clone()))?;
        registry.register(Box::new(subscriptions_open.clone()))?;
        registry.register(Box::new(websockets.clone()))?;
        registry.register(Box::new(emails.clone()))?;
        registry.register(Box::new(webhook_deliveries.clone()))?;
        registry.register(Box::new(queue_depth.clone()))?;
        let digests = IntGaugeVec::new(
            Opts::new("digests", "Daily and weekly digests by status"),
            &["status"],
        )?;
        registry.register(Box::new(digests.clone()))?;
        let digests_late = IntGauge::new(
            "digests_late_total",
            "Digests composed more than two ticks after they were due",
        )?;
        registry.register(Box::new(digests_late.clone()))?;
        let scheduler = SchedulerMetrics::new(&registry, scheduler)?;
        Ok(Self {
            scheduler,
            digests,
            digests_late,
            registry,
            requests,
            latency,
            logins,
            subscriptions_open,
            websockets,
            emails,
            webhook_deliveries,
            queue_depth,
        })
    }

    /// Reads the emails and webhook deliveries by status and the queue depths, through the read models of the
    /// services that own them (notify-service, ticket-service, export-service).
    pub async fn refresh(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let emails = notify_service::read_model::email_counts(db).await?;
        self.emails.reset();
        for (status, count) in emails {
            self.emails.with_label_values(&[status.as_str()]).set(count);
        }
        let deliveries = notify_service::read_model::webhook_delivery_counts(db).await?;
        self.webhook_deliveries.reset();
        for (status, count) in deliveries {
            self.webhook_deliveries
                .with_label_values(&[status.as_str()])
                .set(count);
        }
        let webhooks = notify_service::read_model::webhook_backlog(db).await?;
        self.queue_depth
            .with_label_values(&["webhooks"])
            .set(i64::try_from(webhooks).unwrap_or(i64::MAX));
        let outbox = ticket_service::read_model::outbox_backlog(db).await?;
        let exports = export_service::read_model::waiting(db).await?;
        self.queue_depth
            .with_label_values(&["outbox"])
            .set(i64::try_from(outbox).unwrap_or(i64::MAX));
        self.queue_depth
            .with_label_values(&["exports"])
            .set(i64::try_from(exports).unwrap_or(i64::MAX));
        let waiting = notify_service::read_model::digest_backlog(db).await?;
        self.queue_depth
            .with_label_values(&["digests"])
            .set(i64::try_from(waiting).unwrap_or(i64::MAX));
        for (status, count) in notify_service::read_model::digest_counts(db).await? {
            self.digests.with_label_values(&[status]).set(count);
        }
        let late_after = chrono::Duration::from_std(self.scheduler.settings.tick * 2)
            .unwrap_or_else(|_| chrono::Duration::minutes(2));
        let late = notify_service::read_model::digests_late(db, late_after).await?;
        self.digests_late
            .set(i64::try_from(late).unwrap_or(i64::MAX));
        self.scheduler.refresh(db).await
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%err, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
