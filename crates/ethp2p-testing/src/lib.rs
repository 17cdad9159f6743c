//! Test support for the ethp2p crates (dev-only, never published).
//!
//! - [`keys`]: secret keys from a seed.
//! - [`memnet`]: an in-memory network: listeners keyed by socket address and
//!   a [`Dialer`](ethp2p_session::Dialer) that connects to them over
//!   `tokio::io::duplex` pipes, so whole sessions run on a paused clock.
//! - [`sim`]: session-manager nodes on that network, driven by their own
//!   tasks, recording one event trace that replays exactly from a seed.
//! - [`attacker`]: a raw peer built from the lower layers (RLPx, Hello,
//!   Status by hand) over any stream, for hostile tests.
//! - [`tcp`]: loopback-TCP nodes and the `wait_for!` helper, for the
//!   end-to-end tests that keep real sockets.
//! - [`fd_limit`]: raising the open-file limit for tests with many sockets.
//! - [`jspeer`]: installs the pinned `@ethereumjs/devp2p` packages and
//!   drives the independent JS peer through JSON lines.

#![warn(missing_docs)]

pub mod attacker;
pub mod fd_limit;
pub mod jspeer;
pub mod keys;
pub mod memnet;
pub mod sim;
pub mod tcp;
