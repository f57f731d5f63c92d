//! Counters for `/metrics` (Prometheus text format). Plain atomics: the writer and the
//! handlers bump them without locks; the exporter reads a consistent-enough snapshot.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the commit-latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

#[derive(Default)]
pub struct Metrics {
    pub events_accepted: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub events_refused: AtomicU64,
    pub notifications: AtomicU64,
    pub commits: AtomicU64,
    pub deliveries_delivered: AtomicU64,
    pub deliveries_failed: AtomicU64,
    pub deliveries_dead: AtomicU64,
    commit_buckets: [AtomicU64; 13],
    commit_micros_sum: AtomicU64,
    /// On a node of a cluster (DESIGN §5a): its id, set once it registered.
    pub node: std::sync::OnceLock<String>,
    /// Nodes alive at the last heartbeat, this one included.
    pub nodes_live: AtomicU64,
    /// 1 while the listener for other nodes' commits is connected.
    pub listener_up: AtomicU64,
    /// Wake-ups heard from other nodes.
    pub wakeups: AtomicU64,
    /// Deliveries this node released from dead nodes' claims.
    pub claims_released: AtomicU64,
}

impl Metrics {
    pub fn observe_commit(&self, seconds: f64) {
        let i = BUCKETS.iter().position(|b| seconds <= *b).unwrap_or(BUCKETS.len());
        self.commit_buckets[i].fetch_add(1, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.commit_micros_sum.fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// The exposition text; gauges that live elsewhere are passed in.
    pub fn render(&self, connections: usize, outbox_depth: i64, readers_pooled: usize) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            "campanile_deliveries_delivered_total",
            "Outbox deliveries a receiver accepted.",
            get(&self.deliveries_delivered),
        );
        counter(
            "campanile_deliveries_failed_total",
            "Outbox delivery attempts that failed and will be retried.",
            get(&self.deliveries_failed),
        );
        counter("campanile_deliveries_dead_total", "Outbox deliveries given up.", get(&self.deliveries_dead));
        counter(
            "campanile_events_accepted_total",
            "Events accepted and committed.",
            get(&self.events_accepted),
        );
        counter(
            "campanile_events_duplicate_total",
            "Replayed events answered with the first result.",
            get(&self.events_duplicate),
        );
        counter(
            "campanile_events_refused_total",
            "Events refused (invalid, conflict).",
            get(&self.events_refused),
        );
        counter(
            "campanile_notifications_total",
            "Notifications written (one per recipient).",
            get(&self.notifications),
        );
        let _ = writeln!(
            out,
            "# HELP campanile_connections Live websocket connections.\n# TYPE campanile_connections gauge\ncampanile_connections {connections}"
        );
        let _ = writeln!(
            out,
            "# HELP campanile_outbox_depth Deliveries waiting in the outbox.\n# TYPE campanile_outbox_depth gauge\ncampanile_outbox_depth {outbox_depth}"
        );
        let _ = writeln!(
            out,
            "# HELP campanile_commit_seconds Store commit latency.\n# TYPE campanile_commit_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += get(&self.commit_buckets[i]);
            let _ = writeln!(out, "campanile_commit_seconds_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += get(&self.commit_buckets[BUCKETS.len()]);
        let _ = writeln!(out, "campanile_commit_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(out, "campanile_commit_seconds_sum {}", get(&self.commit_micros_sum) as f64 / 1e6);
        let _ = writeln!(out, "campanile_commit_seconds_count {}", get(&self.commits));
        let _ = writeln!(
            out,
            "# HELP campanile_store_readers_pooled Idle reader connections kept for reads.\n# TYPE campanile_store_readers_pooled gauge\ncampanile_store_readers_pooled {readers_pooled}"
        );
        if let Some(node) = self.node.get() {
            let mut gauge = |name: &str, help: &str, kind: &str, v: u64| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
            };
            gauge(
                "campanile_cluster_nodes",
                "Nodes alive on the shared database, this one included.",
                "gauge",
                get(&self.nodes_live),
            );
            gauge(
                "campanile_cluster_listener_up",
                "1 while this node hears other nodes' commits.",
                "gauge",
                get(&self.listener_up),
            );
            gauge(
                "campanile_cluster_wakeups_total",
                "Wake-ups heard from other nodes.",
                "counter",
                get(&self.wakeups),
            );
            gauge(
                "campanile_cluster_claims_released_total",
                "Deliveries this node released from dead nodes' claims.",
                "counter",
                get(&self.claims_released),
            );
            let _ = writeln!(
                out,
                "# HELP campanile_node_info This node of the cluster.\n# TYPE campanile_node_info gauge\ncampanile_node_info{{node=\"{node}\"}} 1"
            );
        }
        out
    }
}
