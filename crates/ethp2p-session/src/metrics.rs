//! Metric names recorded through the `metrics` facade.

use metrics::{counter, gauge};

pub(crate) fn sessions(state: &'static str, direction: &'static str, value: u32) {
    gauge!("ethp2p_sessions", "state" => state, "direction" => direction).set(value as f64);
}

pub(crate) fn handshake_failure(reason: &'static str, direction: &'static str) {
    counter!("ethp2p_handshake_failures_total", "reason" => reason, "direction" => direction)
        .increment(1);
}

pub(crate) fn message(dir: &'static str, kind: &'static str, bytes: usize) {
    counter!("ethp2p_messages_total", "dir" => dir, "type" => kind).increment(1);
    counter!("ethp2p_message_bytes_total", "dir" => dir, "type" => kind).increment(bytes as u64);
}

pub(crate) fn request_timeout() {
    counter!("ethp2p_request_timeouts_total").increment(1);
}

pub(crate) fn disconnect(reason: &'static str, side: &'static str) {
    counter!("ethp2p_disconnects_total", "reason" => reason, "side" => side).increment(1);
}

pub(crate) fn dropped_outgoing() {
    counter!("ethp2p_outgoing_messages_dropped_total").increment(1);
}

pub(crate) fn back_pressure() {
    counter!("ethp2p_session_back_pressure_total").increment(1);
}

pub(crate) fn goodbye(reason: &'static str) {
    counter!("ethp2p_inbound_goodbyes_total", "reason" => reason).increment(1);
}
