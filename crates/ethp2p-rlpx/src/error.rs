//! Typed errors of the RLPx layer. Each says which layer and which rule failed.

use std::io;

/// Errors of the ECIES encryption used by the handshake.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EciesError {
    /// The ciphertext is shorter than the fixed ECIES overhead.
    #[error("ECIES message of {0} bytes is shorter than the 113-byte overhead")]
    TooShort(usize),
    /// The ephemeral public key in the message is not a valid curve point.
    #[error("ECIES message carries an invalid ephemeral public key")]
    InvalidPublicKey,
    /// The HMAC over the ciphertext does not match (wrong key or tampering).
    #[error("ECIES message authentication failed")]
    MacMismatch,
}

/// Errors of the auth / ack handshake.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandshakeError {
    /// The message could not be decrypted.
    #[error("handshake decryption failed: {0}")]
    Ecies(#[from] EciesError),
    /// An EIP-8 size prefix announced more than we accept.
    #[error("handshake message of {size} bytes exceeds the {max}-byte limit")]
    MessageTooLarge {
        /// Announced size.
        size: usize,
        /// Our limit.
        max: usize,
    },
    /// The decrypted body is not the RLP structure the spec requires.
    #[error("malformed {what} body: {reason}")]
    Malformed {
        /// `"auth"` or `"ack"`.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A public key in the body is not a valid curve point.
    #[error("{0} carries an invalid public key")]
    InvalidPublicKey(&'static str),
    /// The auth signature does not recover to a valid ephemeral key.
    #[error("auth signature is invalid")]
    InvalidSignature,
    /// The connection ended before the handshake completed.
    #[error("connection closed during the handshake")]
    UnexpectedEof,
}

/// Errors of the frame codec.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The header MAC did not verify: the stream is corrupt or forged.
    #[error("frame header MAC mismatch")]
    HeaderMacMismatch,
    /// The body MAC did not verify.
    #[error("frame body MAC mismatch")]
    BodyMacMismatch,
    /// The header announced a frame larger than the limit.
    #[error("frame of {size} bytes exceeds the {max}-byte limit")]
    FrameTooLarge {
        /// Announced (or attempted) frame size.
        size: usize,
        /// The limit in force.
        max: usize,
    },
}

/// Any error of an RLPx connection.
#[derive(Debug, thiserror::Error)]
pub enum RlpxError {
    /// Socket error.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The ECIES handshake failed.
    #[error("RLPx handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// A frame failed to decode or encode.
    #[error("RLPx frame error: {0}")]
    Frame(#[from] FrameError),
    /// The handshake did not finish within the caller's timeout.
    #[error("RLPx handshake timed out")]
    Timeout,
}

impl RlpxError {
    /// True when the error came from the remote's bytes (as opposed to the socket).
    pub fn is_protocol_error(&self) -> bool {
        matches!(self, RlpxError::Handshake(_) | RlpxError::Frame(_))
    }
}
