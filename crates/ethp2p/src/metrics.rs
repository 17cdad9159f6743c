//! Prometheus metrics at `http://<--metrics-addr>/metrics`.
//!
//! The `metrics` facade records into `metrics-exporter-prometheus`'s
//! recorder, and the exporter's own HTTP listener (hyper) serves it: the
//! text format on every path (`/metrics` is the one we print; `/health`
//! answers `OK`), `HEAD` answered with the headers of the `GET` and no
//! body.

use metrics_exporter_prometheus::{ExporterFuture, PrometheusBuilder};
use std::net::SocketAddr;
use tracing::warn;

/// A bound metrics endpoint with its recorder installed.
pub(crate) struct MetricsServer {
    exporter: ExporterFuture,
    /// The bound address.
    pub local_addr: SocketAddr,
}

/// Installs the global recorder and binds `addr`; errors name `--metrics-addr`.
pub(crate) async fn bind(addr: SocketAddr) -> Result<MetricsServer, String> {
    // Bind once ourselves: a taken address gets our one-line error, and
    // port 0 its real port, which the exporter then binds (it takes an
    // address, not a socket).
    let probe = std::net::TcpListener::bind(addr)
        .map_err(|e| format!("--metrics-addr: cannot listen on {addr}: {e}"))?;
    let local_addr = probe
        .local_addr()
        .map_err(|e| format!("--metrics-addr: {addr}: {e}"))?;
    drop(probe);
    let (recorder, exporter) = PrometheusBuilder::new()
        .with_http_listener(local_addr)
        .build()
        .map_err(|e| format!("--metrics-addr: cannot listen on {local_addr}: {e}"))?;
    metrics::set_global_recorder(recorder)
        .map_err(|e| format!("--metrics-addr: cannot install the metrics recorder: {e}"))?;
    describe();
    crate::discovery_metrics::describe();
    Ok(MetricsServer {
        exporter,
        local_addr,
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_gauge!(
        "ethp2p_sessions",
        "Sessions by state (pending, active) and direction"
    );
    describe_counter!(
        "ethp2p_handshake_failures_total",
        "Sessions that failed before becoming active, by reason and direction"
    );
    describe_counter!(
        "ethp2p_messages_total",
        "eth messages by direction and type"
    );
    describe_counter!(
        "ethp2p_message_bytes_total",
        "eth message payload bytes by direction and type"
    );
    describe_counter!("ethp2p_disconnects_total", "Disconnects by reason and side");
    describe_counter!("ethp2p_request_timeouts_total", "Requests that timed out");
    describe_counter!(
        "ethp2p_outgoing_messages_dropped_total",
        "Messages dropped because a session's command queue was full"
    );
    describe_counter!(
        "ethp2p_session_back_pressure_total",
        "Times a session stopped reading because the node was not keeping up"
    );
    describe_gauge!(
        "ethp2p_static_peers",
        "Static peers and bootnodes kept dialed"
    );
    describe_counter!("ethp2p_dials_total", "Outbound dials started");
    describe_gauge!("ethp2p_peers", "Established peers by direction");
    describe_gauge!("ethp2p_info", "Always 1; labels give the version and chain");
}

impl MetricsServer {
    /// Serves until the task is dropped.
    pub(crate) async fn serve(self) {
        if let Err(e) = self.exporter.await {
            warn!(error = ?e, addr = %self.local_addr, "metrics endpoint stopped");
        }
    }
}
