//! Prometheus metrics at `http://<--metrics-addr>/metrics`.
//!
//! The `metrics` facade records into `metrics-exporter-prometheus`'s
//! recorder; a small HTTP/1.1 responder serves its text rendering. Anything
//! but `GET /metrics` gets a 404; requests are bounded in size and time.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::{net::SocketAddr, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tracing::debug;

const MAX_REQUEST_HEAD: usize = 8 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound metrics endpoint with its recorder installed.
pub(crate) struct MetricsServer {
    listener: TcpListener,
    handle: PrometheusHandle,
    /// The bound address.
    pub local_addr: SocketAddr,
}

/// Installs the global recorder and binds `addr`; errors name `--metrics-addr`.
pub(crate) async fn bind(addr: SocketAddr) -> Result<MetricsServer, String> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--metrics-addr: cannot listen on {addr}: {e}"))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| format!("--metrics-addr: {addr}: {e}"))?;
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("--metrics-addr: cannot install the metrics recorder: {e}"))?;
    describe();
    crate::discovery_metrics::describe();
    Ok(MetricsServer {
        listener,
        handle,
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
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    let handle = self.handle.clone();
                    tokio::spawn(async move {
                        if let Err(e) =
                            tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, &handle)).await
                        {
                            debug!(%peer, %e, "metrics request timed out");
                        }
                    });
                }
                Err(e) => {
                    debug!(%e, "metrics accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

async fn answer(mut stream: TcpStream, handle: &PrometheusHandle) {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_REQUEST_HEAD {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                "",
            )
            .await;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") | ("HEAD", "/metrics") => {
            handle.run_upkeep();
            let body = if method == "GET" {
                handle.render()
            } else {
                String::new()
            };
            respond(&mut stream, "200 OK", "text/plain; version=0.0.4", &body).await
        }
        (_, "/metrics") => respond(&mut stream, "405 Method Not Allowed", "text/plain", "").await,
        _ => {
            respond(
                &mut stream,
                "404 Not Found",
                "text/plain",
                "not found; metrics are at /metrics\n",
            )
            .await
        }
    }
}

async fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}
