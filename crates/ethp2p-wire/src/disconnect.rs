//! Disconnect reasons and the Disconnect message.

use alloy_rlp::{Decodable, Encodable, Header};
use std::fmt;

/// Declares [`DisconnectReason`] from one table: variant, wire code, doc, name.
macro_rules! reasons {
    ($($variant:ident = $code:literal, $doc:literal, $name:literal;)*) => {
        /// Why a peer is disconnected (devp2p `rlpx.md`, "Disconnect (0x01)").
        /// Codes outside the spec's table are kept as [`DisconnectReason::Unknown`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DisconnectReason {
            $(#[doc = $doc] $variant,)*
            /// A code the spec does not define.
            Unknown(u8),
        }

        impl DisconnectReason {
            /// Every reason the spec defines.
            pub const ALL: &'static [DisconnectReason] = &[$(DisconnectReason::$variant),*];

            /// The wire code.
            pub const fn code(self) -> u8 {
                match self {
                    $(DisconnectReason::$variant => $code,)*
                    DisconnectReason::Unknown(c) => c,
                }
            }

            /// The reason for a wire code.
            pub const fn from_code(code: u8) -> Self {
                match code {
                    $($code => DisconnectReason::$variant,)*
                    c => DisconnectReason::Unknown(c),
                }
            }

            /// A short snake_case name, for logs and metric labels.
            pub const fn name(self) -> &'static str {
                match self {
                    $(DisconnectReason::$variant => $name,)*
                    DisconnectReason::Unknown(_) => "unknown",
                }
            }
        }
    };
}

reasons! {
    DisconnectRequested = 0x00, "0x00: disconnect requested.", "disconnect_requested";
    TcpSubsystemError = 0x01, "0x01: TCP sub-system error.", "tcp_subsystem_error";
    ProtocolBreach = 0x02, "0x02: breach of protocol, e.g. a malformed message or bad RLP.", "protocol_breach";
    UselessPeer = 0x03, "0x03: useless peer (no shared capability).", "useless_peer";
    TooManyPeers = 0x04, "0x04: too many peers.", "too_many_peers";
    AlreadyConnected = 0x05, "0x05: already connected.", "already_connected";
    IncompatibleP2PProtocolVersion = 0x06, "0x06: incompatible P2P protocol version.", "incompatible_p2p_version";
    NullNodeIdentity = 0x07, "0x07: null node identity received.", "null_node_identity";
    ClientQuitting = 0x08, "0x08: client quitting.", "client_quitting";
    UnexpectedHandshakeIdentity = 0x09, "0x09: unexpected identity in handshake.", "unexpected_identity";
    ConnectedToSelf = 0x0a, "0x0a: identity is the same as this node (connected to self).", "connected_to_self";
    PingTimeout = 0x0b, "0x0b: ping timeout.", "ping_timeout";
    SubprotocolSpecific = 0x10, "0x10: some other reason specific to a subprotocol.", "subprotocol_specific";
}

impl DisconnectReason {
    /// Encodes the Disconnect payload as the spec writes it: `[reason]`.
    pub fn encode_payload(self) -> [u8; 2] {
        let mut out = [0xc1, self.code()];
        if self.code() == 0 {
            // RLP of integer 0 is the empty string.
            out[1] = 0x80;
        }
        out
    }

    /// Decodes a (decompressed) Disconnect payload. Real clients send `[reason]`,
    /// a bare `reason`, `[]` or nothing at all; all are accepted.
    pub fn decode_payload(payload: &[u8]) -> Result<Self, alloy_rlp::Error> {
        if payload.is_empty() {
            return Ok(DisconnectReason::DisconnectRequested);
        }
        let mut buf = payload;
        if buf[0] >= 0xc0 {
            let header = Header::decode(&mut buf)?;
            if !header.list {
                return Err(alloy_rlp::Error::UnexpectedString);
            }
            let mut inner = buf
                .get(..header.payload_length)
                .ok_or(alloy_rlp::Error::InputTooShort)?;
            if inner.is_empty() {
                return Ok(DisconnectReason::DisconnectRequested);
            }
            return Ok(Self::from_code(u8::decode(&mut inner)?));
        }
        // A bare integer; geth also writes 0x00 for "requested".
        if buf == [0x00] {
            return Ok(DisconnectReason::DisconnectRequested);
        }
        Ok(Self::from_code(u8::decode(&mut buf)?))
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:02x})", self.name(), self.code())
    }
}

impl Encodable for DisconnectReason {
    fn encode(&self, out: &mut dyn alloy_rlp::BufMut) {
        out.put_slice(&self.encode_payload())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for &r in DisconnectReason::ALL {
            assert_eq!(DisconnectReason::from_code(r.code()), r);
            assert_eq!(
                DisconnectReason::decode_payload(&r.encode_payload()).unwrap(),
                r
            );
        }
        assert_eq!(
            DisconnectReason::from_code(0x42),
            DisconnectReason::Unknown(0x42)
        );
        assert_eq!(
            DisconnectReason::decode_payload(&[0xc1, 0x42])
                .unwrap()
                .code(),
            0x42
        );
    }

    #[test]
    fn accepts_every_form_clients_send() {
        use DisconnectReason::*;
        assert_eq!(
            DisconnectReason::decode_payload(&[0x08]).unwrap(),
            ClientQuitting
        );
        assert_eq!(
            DisconnectReason::decode_payload(&[0xc1, 0x04]).unwrap(),
            TooManyPeers
        );
        assert_eq!(
            DisconnectReason::decode_payload(&[0xc0]).unwrap(),
            DisconnectRequested
        );
        assert_eq!(
            DisconnectReason::decode_payload(&[]).unwrap(),
            DisconnectRequested
        );
        assert_eq!(
            DisconnectReason::decode_payload(&[0x00]).unwrap(),
            DisconnectRequested
        );
        assert_eq!(
            DisconnectReason::decode_payload(&[0x80]).unwrap(),
            DisconnectRequested
        );
        assert_eq!(
            DisconnectReason::decode_payload(&[0xc1, 0x80]).unwrap(),
            DisconnectRequested
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(DisconnectReason::decode_payload(&[0x82, 0x01, 0x02]).is_err());
        assert!(DisconnectReason::decode_payload(&[0xc5, 0x01]).is_err());
        assert!(DisconnectReason::decode_payload(&[0xb8]).is_err());
    }
}
