//! Inbound streams handed to the network by something other than its own
//! TCP listener (tests on an in-memory network, other transports).

use ethp2p_session::BoxedTransport;
use std::net::SocketAddr;

/// An inbound connection over any transport.
pub struct IncomingStream {
    /// The stream.
    pub stream: BoxedTransport,
    /// The remote's address.
    pub remote_addr: SocketAddr,
    /// Our side of it, if the transport has addresses.
    pub local_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for IncomingStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingStream")
            .field("remote_addr", &self.remote_addr)
            .finish_non_exhaustive()
    }
}
