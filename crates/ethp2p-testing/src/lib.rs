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
//!
//! # Example
//!
//! Deterministic keys, and a connection over the in-memory network:
//!
//! ```rust
//! use ethp2p_testing::{keys::secret_key, memnet::MemoryNetwork};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! assert_eq!(secret_key(7), secret_key(7));
//! assert_ne!(secret_key(7), secret_key(8));
//!
//! let net = MemoryNetwork::new(64 * 1024);
//! let mut listener = net.listen("10.0.0.1:30303".parse().unwrap());
//! let from = "10.0.0.2:40000".parse().unwrap();
//! let mut client = net.connect(from, listener.local_addr())?;
//! client.write_all(b"ping").await?;
//! let mut server = listener.accept().await.expect("a connection");
//! assert_eq!(server.remote_addr, from);
//! let mut buf = [0u8; 4];
//! server.stream.read_exact(&mut buf).await?;
//! assert_eq!(&buf, b"ping");
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod attacker;
pub mod fd_limit;
pub mod jspeer;
pub mod keys;
pub mod memnet;
pub mod sim;
pub mod tcp;
