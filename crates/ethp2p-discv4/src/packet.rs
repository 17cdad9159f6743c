//! discv4 packets: the six message types, their signed envelope, and a
//! forward-compatible (EIP-8) decoder.
//!
//! ```text
//! packet      = hash(32) ‖ signature(65) ‖ packet-type(1) ‖ packet-data
//! hash        = keccak256(signature ‖ packet-type ‖ packet-data)
//! signature   = sign(keccak256(packet-type ‖ packet-data))   as r ‖ s ‖ v, v ∈ {0, 1}
//! ```
//!
//! The sender's node id is recovered from the signature. Following EIP-8 the
//! decoder ignores the Ping version, list elements past the known ones and any
//! bytes after the first RLP value of `packet-data`; unknown packet types
//! decode to [`PacketError::UnknownType`], which callers drop silently.
//!
//! The enr-seq slot of Ping and Pong (EIP-868) is optional. When it holds
//! something other than an unsigned integer of at most eight bytes (two of the
//! original EIP-8 vectors put lists there, written before EIP-868 existed) the
//! packet is still accepted and the enr-seq is taken as absent: the value is an
//! extra element an EIP-8 peer may send, and an absent seq only means "no ENR
//! update announced".
//!
//! Every decoder is bounded by the 1280-byte packet limit and returns a typed
//! error on anything malformed; none panics.

use crate::enr::Enr;
use alloy_primitives::{keccak256, B256};
use alloy_rlp::{Encodable, Header};
use bytes::{BufMut, Bytes, BytesMut};
use ethp2p_rlpx::{key::peer_id_from_public_key, NodeRecord, PeerId, SecretKey};
use secp256k1::{
    ecdsa::{RecoverableSignature, RecoveryId},
    Message as SecpMessage, SECP256K1,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The largest packet discv4 sends or accepts.
pub const MAX_PACKET_SIZE: usize = 1280;
/// Bytes before the packet data: hash (32), signature (65), type (1).
pub const HEADER_SIZE: usize = 32 + 65 + 1;
/// The smallest packet accepted: a header with an empty body (geth and reth
/// refuse anything shorter).
pub const MIN_PACKET_SIZE: usize = HEADER_SIZE;
/// Most nodes put in one Neighbours packet: 12 IPv6 entries of 91 bytes keep
/// the packet at 1,205 bytes, under [`MAX_PACKET_SIZE`].
pub const MAX_NEIGHBOURS_PER_PACKET: usize = 12;
/// The Ping version this implementation sends.
pub const PING_VERSION: u64 = 4;

/// Packet type bytes.
const PING: u8 = 0x01;
const PONG: u8 = 0x02;
const FIND_NODE: u8 = 0x03;
const NEIGHBOURS: u8 = 0x04;
const ENR_REQUEST: u8 = 0x05;
const ENR_RESPONSE: u8 = 0x06;

/// Why a datagram is not a usable discv4 packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// Shorter than [`MIN_PACKET_SIZE`].
    #[error("packet of {0} bytes is shorter than the {MIN_PACKET_SIZE}-byte minimum")]
    TooShort(usize),
    /// Longer than [`MAX_PACKET_SIZE`] (received, or what encoding would produce).
    #[error("packet of {0} bytes exceeds the {MAX_PACKET_SIZE}-byte maximum")]
    TooLarge(usize),
    /// The leading hash does not match the rest of the packet.
    #[error("packet hash does not match its contents")]
    HashMismatch,
    /// The signature does not recover to a public key.
    #[error("packet signature does not recover a public key")]
    InvalidSignature,
    /// A packet type this implementation does not know (dropped silently, EIP-8).
    #[error("unknown packet type {0:#04x}")]
    UnknownType(u8),
    /// The packet data is not the RLP the type requires.
    #[error("malformed {kind} packet: {reason}")]
    Malformed {
        /// The packet type being decoded.
        kind: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
}

/// A UDP/TCP endpoint as carried in Ping, Pong and Neighbours: `[ip, udp, tcp]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// IPv4 or IPv6 address (an empty IP field decodes as `0.0.0.0`).
    pub ip: IpAddr,
    /// Discovery (UDP) port.
    pub udp: u16,
    /// RLPx (TCP) port; 0 when unknown.
    pub tcp: u16,
}

impl Endpoint {
    /// The UDP socket address.
    pub fn udp_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.ip, self.udp)
    }
}

/// Ping (0x01): `[version, from, to, expiration, enr-seq?]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// Protocol version (ignored on receipt).
    pub version: u64,
    /// The sender's endpoint as it believes it to be.
    pub from: Endpoint,
    /// The recipient's endpoint as the sender sees it.
    pub to: Endpoint,
    /// Absolute UNIX time in seconds after which the packet is void.
    pub expiration: u64,
    /// The sender's ENR sequence number (EIP-868), if announced.
    pub enr_seq: Option<u64>,
}

/// Pong (0x02): `[to, ping-hash, expiration, enr-seq?]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    /// The Ping sender's endpoint as seen by the Pong sender.
    pub to: Endpoint,
    /// Hash of the Ping this answers.
    pub ping_hash: B256,
    /// Absolute UNIX time in seconds after which the packet is void.
    pub expiration: u64,
    /// The sender's ENR sequence number (EIP-868), if announced.
    pub enr_seq: Option<u64>,
}

/// FindNode (0x03): `[target, expiration]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindNode {
    /// The public key whose neighbourhood is asked for.
    pub target: PeerId,
    /// Absolute UNIX time in seconds after which the packet is void.
    pub expiration: u64,
}

/// Neighbours (0x04): `[[node, …], expiration]`, node = `[ip, udp, tcp, id]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbours {
    /// The nodes (at most [`MAX_NEIGHBOURS_PER_PACKET`] when we send).
    pub nodes: Vec<NodeRecord>,
    /// Absolute UNIX time in seconds after which the packet is void.
    pub expiration: u64,
}

/// ENRRequest (0x05, EIP-868): `[expiration]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrRequest {
    /// Absolute UNIX time in seconds after which the packet is void.
    pub expiration: u64,
}

/// ENRResponse (0x06, EIP-868): `[request-hash, ENR]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrResponse {
    /// Hash of the whole ENRRequest packet this answers.
    pub request_hash: B256,
    /// The sender's record (its signature already verified by the decoder).
    pub enr: Enr,
}

/// A discv4 message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// 0x01.
    Ping(Ping),
    /// 0x02.
    Pong(Pong),
    /// 0x03.
    FindNode(FindNode),
    /// 0x04.
    Neighbours(Neighbours),
    /// 0x05.
    EnrRequest(EnrRequest),
    /// 0x06.
    EnrResponse(EnrResponse),
}

impl Message {
    /// The packet-type byte.
    pub fn packet_type(&self) -> u8 {
        match self {
            Self::Ping(_) => PING,
            Self::Pong(_) => PONG,
            Self::FindNode(_) => FIND_NODE,
            Self::Neighbours(_) => NEIGHBOURS,
            Self::EnrRequest(_) => ENR_REQUEST,
            Self::EnrResponse(_) => ENR_RESPONSE,
        }
    }

    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        type_name(self.packet_type())
    }

    /// The expiration, for the types that carry one (all but ENRResponse).
    pub fn expiration(&self) -> Option<u64> {
        match self {
            Self::Ping(m) => Some(m.expiration),
            Self::Pong(m) => Some(m.expiration),
            Self::FindNode(m) => Some(m.expiration),
            Self::Neighbours(m) => Some(m.expiration),
            Self::EnrRequest(m) => Some(m.expiration),
            Self::EnrResponse(_) => None,
        }
    }
}

fn type_name(t: u8) -> &'static str {
    match t {
        PING => "Ping",
        PONG => "Pong",
        FIND_NODE => "FindNode",
        NEIGHBOURS => "Neighbours",
        ENR_REQUEST => "ENRRequest",
        ENR_RESPONSE => "ENRResponse",
        _ => "unknown",
    }
}

/// A decoded, signature-checked packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The packet hash (its first 32 bytes).
    pub hash: B256,
    /// The sender, recovered from the signature.
    pub node_id: PeerId,
    /// The message.
    pub message: Message,
}

/// An encoded packet ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct EncodedPacket {
    /// The datagram.
    pub bytes: Bytes,
    /// Its hash (what a Pong or ENRResponse echoes).
    pub hash: B256,
}

/// Whether a packet with this `expiration` is void at `unix_now` (seconds):
/// in the past, or above `i64::MAX` (a "far future" value that is really a
/// negative time in two's complement, as geth's conformance test sends).
pub fn is_expired(expiration: u64, unix_now: u64) -> bool {
    expiration > i64::MAX as u64 || expiration < unix_now
}

/// Signs and encodes `message`.
pub fn encode(key: &SecretKey, message: &Message) -> Result<EncodedPacket, PacketError> {
    let mut out = BytesMut::with_capacity(MAX_PACKET_SIZE);
    out.put_bytes(0, 32 + 65);
    out.put_u8(message.packet_type());
    encode_data(message, &mut out);
    seal(key, out)
}

/// Signs `packet_type ‖ data` exactly as given, with no check that `data`
/// is what the type requires: for conformance tools that craft packets a
/// correct node must drop or tolerate (an unknown type, extra list elements).
pub fn encode_raw(
    key: &SecretKey,
    packet_type: u8,
    data: &[u8],
) -> Result<EncodedPacket, PacketError> {
    let mut out = BytesMut::with_capacity(HEADER_SIZE + data.len());
    out.put_bytes(0, 32 + 65);
    out.put_u8(packet_type);
    out.extend_from_slice(data);
    seal(key, out)
}

/// Fills in the signature and hash of `out` (header space, type, data).
fn seal(key: &SecretKey, mut out: BytesMut) -> Result<EncodedPacket, PacketError> {
    if out.len() > MAX_PACKET_SIZE {
        return Err(PacketError::TooLarge(out.len()));
    }
    let signed_hash = keccak256(&out[97..]);
    let (recid, sig) = SECP256K1
        .sign_ecdsa_recoverable(SecpMessage::from_digest(signed_hash.0), key)
        .serialize_compact();
    out[32..96].copy_from_slice(&sig);
    out[96] = i32::from(recid) as u8;
    let hash = keccak256(&out[32..]);
    out[..32].copy_from_slice(hash.as_slice());
    Ok(EncodedPacket {
        bytes: out.freeze(),
        hash,
    })
}

fn encode_data(message: &Message, out: &mut BytesMut) {
    let mut body = Vec::with_capacity(MAX_PACKET_SIZE);
    match message {
        Message::Ping(p) => {
            p.version.encode(&mut body);
            encode_endpoint(&p.from, &mut body);
            encode_endpoint(&p.to, &mut body);
            p.expiration.encode(&mut body);
            if let Some(seq) = p.enr_seq {
                seq.encode(&mut body);
            }
        }
        Message::Pong(p) => {
            encode_endpoint(&p.to, &mut body);
            p.ping_hash.encode(&mut body);
            p.expiration.encode(&mut body);
            if let Some(seq) = p.enr_seq {
                seq.encode(&mut body);
            }
        }
        Message::FindNode(f) => {
            f.target.encode(&mut body);
            f.expiration.encode(&mut body);
        }
        Message::Neighbours(n) => {
            let mut nodes = Vec::with_capacity(n.nodes.len() * 91);
            for node in &n.nodes {
                let mut item = Vec::with_capacity(89);
                encode_ip(node.address, &mut item);
                node.udp_port.encode(&mut item);
                node.tcp_port.encode(&mut item);
                node.id.encode(&mut item);
                put_list(&item, &mut nodes);
            }
            put_list(&nodes, &mut body);
            n.expiration.encode(&mut body);
        }
        Message::EnrRequest(r) => r.expiration.encode(&mut body),
        Message::EnrResponse(r) => {
            r.request_hash.encode(&mut body);
            r.enr.encode(&mut body);
        }
    }
    let mut buf = Vec::with_capacity(body.len() + 3);
    put_list(&body, &mut buf);
    out.extend_from_slice(&buf);
}

fn put_list(payload: &[u8], out: &mut Vec<u8>) {
    Header {
        list: true,
        payload_length: payload.len(),
    }
    .encode(out);
    out.extend_from_slice(payload);
}

fn encode_ip(ip: IpAddr, out: &mut Vec<u8>) {
    match ip {
        IpAddr::V4(v4) => v4.octets().as_slice().encode(out),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets().as_slice().encode(out),
            None => v6.octets().as_slice().encode(out),
        },
    }
}

fn encode_endpoint(e: &Endpoint, out: &mut Vec<u8>) {
    let mut item = Vec::with_capacity(24);
    encode_ip(e.ip, &mut item);
    e.udp.encode(&mut item);
    e.tcp.encode(&mut item);
    put_list(&item, out);
}

/// Decodes and authenticates a datagram.
pub fn decode(datagram: &[u8]) -> Result<Packet, PacketError> {
    if datagram.len() < MIN_PACKET_SIZE {
        return Err(PacketError::TooShort(datagram.len()));
    }
    if datagram.len() > MAX_PACKET_SIZE {
        return Err(PacketError::TooLarge(datagram.len()));
    }
    let hash = keccak256(&datagram[32..]);
    if hash.as_slice() != &datagram[..32] {
        return Err(PacketError::HashMismatch);
    }
    let packet_type = datagram[97];
    if !(PING..=ENR_RESPONSE).contains(&packet_type) {
        return Err(PacketError::UnknownType(packet_type));
    }
    let signed_hash = keccak256(&datagram[97..]);
    let recid =
        RecoveryId::try_from(i32::from(datagram[96])).map_err(|_| PacketError::InvalidSignature)?;
    let sig = RecoverableSignature::from_compact(&datagram[32..96], recid)
        .map_err(|_| PacketError::InvalidSignature)?;
    let public = SECP256K1
        .recover_ecdsa(SecpMessage::from_digest(signed_hash.0), &sig)
        .map_err(|_| PacketError::InvalidSignature)?;
    let node_id = peer_id_from_public_key(&public);
    let message = decode_data(packet_type, &datagram[98..])?;
    Ok(Packet {
        hash,
        node_id,
        message,
    })
}

/// Decodes the packet data of a known type (no envelope).
pub fn decode_data(packet_type: u8, data: &[u8]) -> Result<Message, PacketError> {
    let kind = type_name(packet_type);
    let mk = |reason: &'static str| PacketError::Malformed { kind, reason };
    let mut buf = data;
    // Anything after the first RLP value is ignored (EIP-8).
    let mut list = Reader::new(kind, take_list(kind, &mut buf)?);
    let message = match packet_type {
        PING => {
            let version = list.uint_lenient()?;
            let from = list.endpoint()?;
            let to = list.endpoint()?;
            let expiration = list.uint()?;
            let enr_seq = list.optional_seq();
            Message::Ping(Ping {
                version,
                from,
                to,
                expiration,
                enr_seq,
            })
        }
        PONG => {
            let to = list.endpoint()?;
            let ping_hash = list.hash()?;
            let expiration = list.uint()?;
            let enr_seq = list.optional_seq();
            Message::Pong(Pong {
                to,
                ping_hash,
                expiration,
                enr_seq,
            })
        }
        FIND_NODE => {
            let target = list.node_id()?;
            let expiration = list.uint()?;
            Message::FindNode(FindNode { target, expiration })
        }
        NEIGHBOURS => {
            let mut nodes_list = Reader::new(kind, list.list()?);
            let mut nodes = Vec::new();
            while !nodes_list.is_empty() {
                let mut node = Reader::new(kind, nodes_list.list()?);
                let address = node.ip()?;
                let udp_port = node.port()?;
                let tcp_port = node.port()?;
                let id = node.node_id()?;
                nodes.push(NodeRecord {
                    id,
                    address,
                    tcp_port,
                    udp_port,
                });
            }
            let expiration = list.uint()?;
            Message::Neighbours(Neighbours { nodes, expiration })
        }
        ENR_REQUEST => Message::EnrRequest(EnrRequest {
            expiration: list.uint()?,
        }),
        ENR_RESPONSE => {
            let request_hash = list.hash()?;
            let raw = list.raw_item()?;
            // Decode from a slice holding exactly the record: the crate's size
            // check applies to the whole remaining buffer.
            let mut record = raw;
            let enr = <Enr as alloy_rlp::Decodable>::decode(&mut record)
                .map_err(|_| mk("invalid ENR"))?;
            Message::EnrResponse(EnrResponse { request_hash, enr })
        }
        other => return Err(PacketError::UnknownType(other)),
    };
    Ok(message)
}

fn take_list<'a>(kind: &'static str, buf: &mut &'a [u8]) -> Result<&'a [u8], PacketError> {
    let header = Header::decode(buf).map_err(|_| PacketError::Malformed {
        kind,
        reason: "bad RLP header",
    })?;
    if !header.list {
        return Err(PacketError::Malformed {
            kind,
            reason: "expected a list",
        });
    }
    let payload = buf
        .get(..header.payload_length)
        .ok_or(PacketError::Malformed {
            kind,
            reason: "list longer than the packet",
        })?;
    *buf = &buf[header.payload_length..];
    Ok(payload)
}

/// Reads the elements of one RLP list, leniently where EIP-8 asks for it.
struct Reader<'a> {
    kind: &'static str,
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(kind: &'static str, buf: &'a [u8]) -> Self {
        Self { kind, buf }
    }

    fn err(&self, reason: &'static str) -> PacketError {
        PacketError::Malformed {
            kind: self.kind,
            reason,
        }
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next item: (is list, payload, raw bytes including the header).
    fn item(&mut self) -> Result<(bool, &'a [u8], &'a [u8]), PacketError> {
        if self.buf.is_empty() {
            return Err(self.err("missing list element"));
        }
        let start = self.buf;
        let mut cursor = self.buf;
        let header = Header::decode(&mut cursor).map_err(|_| self.err("bad RLP header"))?;
        let payload = cursor
            .get(..header.payload_length)
            .ok_or_else(|| self.err("element longer than its list"))?;
        let consumed = start.len() - cursor.len() + header.payload_length;
        self.buf = &start[consumed..];
        Ok((header.list, payload, &start[..consumed]))
    }

    fn raw_item(&mut self) -> Result<&'a [u8], PacketError> {
        Ok(self.item()?.2)
    }

    fn list(&mut self) -> Result<&'a [u8], PacketError> {
        match self.item()? {
            (true, payload, _) => Ok(payload),
            _ => Err(self.err("expected a list")),
        }
    }

    fn bytes(&mut self) -> Result<&'a [u8], PacketError> {
        match self.item()? {
            (false, payload, _) => Ok(payload),
            _ => Err(self.err("expected a byte string")),
        }
    }

    /// An unsigned integer of at most 8 bytes; leading zeros are tolerated
    /// (some implementations write fixed-width timestamps and ports).
    fn uint(&mut self) -> Result<u64, PacketError> {
        let b = self.bytes()?;
        be_u64(b).ok_or_else(|| self.err("integer longer than 8 bytes"))
    }

    /// The Ping version: any value is accepted and ignored; a non-integer
    /// reads as 0.
    fn uint_lenient(&mut self) -> Result<u64, PacketError> {
        let (list, payload, _) = self.item()?;
        Ok(if list {
            0
        } else {
            be_u64(payload).unwrap_or(0)
        })
    }

    /// The optional EIP-868 enr-seq: absent, or not an integer → `None`.
    fn optional_seq(&mut self) -> Option<u64> {
        if self.buf.is_empty() {
            return None;
        }
        match self.item() {
            Ok((false, payload, _)) => be_u64(payload),
            _ => None,
        }
    }

    fn port(&mut self) -> Result<u16, PacketError> {
        let v = self.uint()?;
        u16::try_from(v).map_err(|_| self.err("port above 65535"))
    }

    fn ip(&mut self) -> Result<IpAddr, PacketError> {
        let b = self.bytes()?;
        match b.len() {
            0 => Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            4 => Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
            16 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(b);
                let v6 = Ipv6Addr::from(o);
                Ok(match v6.to_ipv4_mapped() {
                    Some(v4) => IpAddr::V4(v4),
                    None => IpAddr::V6(v6),
                })
            }
            _ => Err(self.err("IP address is not 4 or 16 bytes")),
        }
    }

    fn endpoint(&mut self) -> Result<Endpoint, PacketError> {
        let mut inner = Reader::new(self.kind, self.list()?);
        let ip = inner.ip()?;
        let udp = inner.port()?;
        let tcp = inner.port()?;
        Ok(Endpoint { ip, udp, tcp })
    }

    fn hash(&mut self) -> Result<B256, PacketError> {
        let b = self.bytes()?;
        if b.len() != 32 {
            return Err(self.err("hash is not 32 bytes"));
        }
        Ok(B256::from_slice(b))
    }

    fn node_id(&mut self) -> Result<PeerId, PacketError> {
        let b = self.bytes()?;
        if b.len() != 64 {
            return Err(self.err("node id is not 64 bytes"));
        }
        Ok(PeerId::from_slice(b))
    }
}

fn be_u64(b: &[u8]) -> Option<u64> {
    if b.len() > 8 {
        return None;
    }
    Some(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
}

#[cfg(test)]
mod tests;
