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

#![warn(missing_docs)]

pub mod attacker;
pub mod keys;
pub mod memnet;
pub mod sim;
