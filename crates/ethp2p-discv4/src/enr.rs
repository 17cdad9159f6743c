//! Ethereum Node Records (EIP-778) as discv4 uses them (EIP-868): the local
//! record with its `eth` entry, the sequence number that must never go
//! backwards, and reading the `eth` entry of a remote record.
//!
//! Records are handled by the `enr` crate with its k256 backend; the node's
//! secp256k1 key is converted through its 32 secret bytes.

use alloy_rlp::{Decodable, Encodable, Header};
use ethp2p_eth::forkid::{ForkHash, ForkId};
use ethp2p_rlpx::{PeerId, SecretKey};
use std::{
    io,
    net::IpAddr,
    path::{Path, PathBuf},
};

/// The signing key type of records.
pub use ::enr::k256::ecdsa::SigningKey;

/// An Ethereum Node Record with the "v4" (secp256k1) identity scheme.
pub type Enr = ::enr::Enr<SigningKey>;

/// The ENR key of the eth entry.
pub const ETH_ENR_KEY: &[u8] = b"eth";

/// Why a record could not be built or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrError {
    /// The secret key could not be used by the ENR backend.
    #[error("secret key rejected by the ENR backend")]
    InvalidKey,
    /// The record could not be signed or exceeds 300 bytes.
    #[error("ENR build failed: {0}")]
    Build(String),
    /// The `eth` entry is not `[[fork-hash(4), fork-next], ...]`.
    #[error("malformed eth entry: {0}")]
    MalformedEthEntry(&'static str),
}

/// The ENR signing key for a node's secret key.
pub fn signing_key(secret: &SecretKey) -> Result<SigningKey, EnrError> {
    SigningKey::from_slice(&secret.secret_bytes()).map_err(|_| EnrError::InvalidKey)
}

/// The node id (64-byte public key) a record is signed with.
pub fn enr_peer_id(enr: &Enr) -> PeerId {
    use ::enr::EnrPublicKey;
    let raw = enr.public_key().encode_uncompressed();
    let raw = raw.as_ref();
    // k256 gives the 64 bytes without the 0x04 prefix; tolerate either form.
    PeerId::from_slice(&raw[raw.len() - 64..])
}

/// Encodes an `eth` entry value: `[[fork-hash, fork-next]]`.
pub fn encode_eth_entry(fork_id: ForkId) -> Vec<u8> {
    let mut inner = Vec::with_capacity(16);
    fork_id.encode(&mut inner);
    let mut out = Vec::with_capacity(inner.len() + 2);
    Header {
        list: true,
        payload_length: inner.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(&inner);
    out
}

/// Decodes an `eth` entry value (its full RLP): the first fork id of the
/// list; extra elements, inside the fork id or after it, are ignored.
pub fn decode_eth_entry(mut rlp: &[u8]) -> Result<ForkId, EnrError> {
    let bad = EnrError::MalformedEthEntry;
    let outer = Header::decode(&mut rlp).map_err(|_| bad("bad RLP header"))?;
    if !outer.list {
        return Err(bad("entry is not a list"));
    }
    let mut payload = rlp
        .get(..outer.payload_length)
        .ok_or(bad("entry longer than its value"))?;
    let inner = Header::decode(&mut payload).map_err(|_| bad("bad fork id header"))?;
    if !inner.list {
        return Err(bad("fork id is not a list"));
    }
    let mut fields = payload
        .get(..inner.payload_length)
        .ok_or(bad("fork id longer than the entry"))?;
    let hash = <[u8; 4]>::decode(&mut fields).map_err(|_| bad("fork hash is not 4 bytes"))?;
    let next = u64::decode(&mut fields).map_err(|_| bad("fork next is not a u64"))?;
    Ok(ForkId {
        hash: ForkHash(hash),
        next,
    })
}

/// The fork id in a record's `eth` entry: `Ok(None)` when the record has no
/// such entry.
pub fn eth_fork_id(enr: &Enr) -> Result<Option<ForkId>, EnrError> {
    match enr.get_raw_rlp(ETH_ENR_KEY) {
        None => Ok(None),
        Some(raw) => decode_eth_entry(raw).map(Some),
    }
}

/// What the local record announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalEnrFields {
    /// The externally reachable IP (never a bind address like 0.0.0.0).
    pub ip: Option<IpAddr>,
    /// RLPx port.
    pub tcp: u16,
    /// Discovery port.
    pub udp: u16,
    /// The fork id for the `eth` entry (`None`: no entry).
    pub fork_id: Option<ForkId>,
}

/// The local node's record: rebuilt and re-signed with a higher sequence
/// number whenever one of its fields changes.
#[derive(Debug, Clone)]
pub struct LocalEnr {
    key: SigningKey,
    fields: LocalEnrFields,
    record: Enr,
}

impl LocalEnr {
    /// Builds the record with sequence number `seq` (see [`initial_seq`]).
    pub fn new(secret: &SecretKey, seq: u64, fields: LocalEnrFields) -> Result<Self, EnrError> {
        let key = signing_key(secret)?;
        let record = build(&key, seq, &fields)?;
        Ok(Self {
            key,
            fields,
            record,
        })
    }

    /// The current signed record.
    pub fn record(&self) -> &Enr {
        &self.record
    }

    /// Its sequence number.
    pub fn seq(&self) -> u64 {
        self.record.seq()
    }

    /// The announced fields.
    pub fn fields(&self) -> &LocalEnrFields {
        &self.fields
    }

    /// Replaces the fields; re-signs with seq + 1 when they differ. Returns
    /// whether the record changed.
    pub fn update(&mut self, fields: LocalEnrFields) -> Result<bool, EnrError> {
        if fields == self.fields {
            return Ok(false);
        }
        let record = build(&self.key, self.seq().saturating_add(1), &fields)?;
        self.record = record;
        self.fields = fields;
        Ok(true)
    }

    /// Sets the `eth` entry's fork id (re-signing when it changes).
    pub fn set_fork_id(&mut self, fork_id: ForkId) -> Result<bool, EnrError> {
        self.update(LocalEnrFields {
            fork_id: Some(fork_id),
            ..self.fields
        })
    }
}

fn build(key: &SigningKey, seq: u64, f: &LocalEnrFields) -> Result<Enr, EnrError> {
    let mut b = ::enr::Enr::builder();
    b.seq(seq);
    if let Some(ip) = f.ip {
        b.ip(ip);
    }
    match f.ip {
        Some(IpAddr::V6(_)) => {
            b.tcp6(f.tcp);
            b.udp6(f.udp);
        }
        _ => {
            b.tcp4(f.tcp);
            b.udp4(f.udp);
        }
    }
    if let Some(fork_id) = f.fork_id {
        b.add_value_rlp(ETH_ENR_KEY, encode_eth_entry(fork_id).into());
    }
    b.build(key).map_err(|e| EnrError::Build(e.to_string()))
}

/// The sequence number to start from: a millisecond UNIX timestamp (as geth
/// does), but always above the last one used, so a clock set back never
/// makes the record go backwards.
pub fn initial_seq(stored: Option<u64>, unix_millis: u64) -> u64 {
    match stored {
        Some(s) => unix_millis.max(s.saturating_add(1)),
        None => unix_millis,
    }
}

/// Where the local record's sequence number is kept between runs.
pub trait SeqStore: Send {
    /// The last stored sequence number, if any.
    fn load(&mut self) -> io::Result<Option<u64>>;
    /// Stores `seq`.
    fn store(&mut self, seq: u64) -> io::Result<()>;
}

/// A [`SeqStore`] in one small file holding the decimal number.
#[derive(Debug, Clone)]
pub struct SeqFile {
    path: PathBuf,
}

impl SeqFile {
    /// The file name used inside a data directory.
    pub const FILE_NAME: &'static str = "discv4-enr-seq";

    /// The store at `<dir>/discv4-enr-seq`.
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        Self {
            path: dir.as_ref().join(Self::FILE_NAME),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl SeqStore for SeqFile {
    fn load(&mut self) -> io::Result<Option<u64>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => text.trim().parse::<u64>().map(Some).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", self.path.display()),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn store(&mut self, seq: u64) -> io::Result<()> {
        // Write a sibling file and rename it over the old one, so a crash
        // never leaves a truncated number.
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, format!("{seq}\n"))?;
        std::fs::rename(&tmp, &self.path)
    }
}

/// Reads the stored seq from `store`, picks the starting seq with
/// [`initial_seq`] and stores it back before returning it.
pub fn next_seq(store: &mut dyn SeqStore, unix_millis: u64) -> io::Result<u64> {
    let seq = initial_seq(store.load()?, unix_millis);
    store.store(seq)?;
    Ok(seq)
}

#[cfg(test)]
mod tests;
