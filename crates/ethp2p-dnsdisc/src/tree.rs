//! The TXT record kinds of an EIP-1459 node tree, parsed and encoded.
//!
//! | kind | text | where |
//! |---|---|---|
//! | root | `enrtree-root:v1 e=<hash> l=<hash> seq=<n> sig=<base64url 65 bytes>` | the tree's domain |
//! | branch | `enrtree-branch:<hash>,<hash>,…` | `<hash>.<domain>` |
//! | link | `enrtree://<base32 compressed key>@<domain>` | `<hash>.<domain>`, link subtree only |
//! | ENR | `enr:<base64url RLP>` | `<hash>.<domain>`, ENR subtree only |
//!
//! Every parser here takes hostile text: lengths are checked before any
//! decoding, nothing panics, and each failure is an [`EntryError`] saying
//! which rule broke. The root signature ([`RootEntry::verify`]) and the
//! subdomain hash ([`parse_entry_checked`]) are checked here too; the order
//! rules of a whole tree (seq, subtrees, loops) live in [`crate::sync`].

use std::fmt;
use std::str::FromStr;

use alloy_primitives::keccak256;
use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use secp256k1::ecdsa::Signature;
use secp256k1::{Message, PublicKey, SecretKey, SECP256K1};

use crate::Enr;

/// Longest TXT record text (all character-strings of one record joined) that
/// is parsed. The spec asks entries to fit a 512-byte UDP answer; an ENR leaf
/// is at most `4 + ceil(300 * 4 / 3) = 404` characters.
pub const MAX_RECORD_LEN: usize = 512;
/// Most children a branch may list. A 512-byte branch of the shortest
/// (20-character) hashes holds 23; geth's builder puts at most 13. The bound
/// keeps the branch parser safe on its own, whatever the record limit.
pub const MAX_BRANCH_WIDTH: usize = 24;
/// Shortest subdomain hash accepted, in bytes (as geth).
pub const MIN_HASH_LEN: usize = 12;
/// Longest subdomain hash accepted, in bytes (a whole keccak256 digest).
pub const MAX_HASH_LEN: usize = 32;
/// Length of the hashes this crate produces (the spec's abbreviated hash).
pub const HASH_LEN: usize = 16;
/// Longest domain name accepted (RFC 1035, without the trailing dot).
pub const MAX_DOMAIN_LEN: usize = 253;
/// Largest encoded ENR (EIP-778).
pub const MAX_ENR_LEN: usize = 300;

const ROOT_PREFIX: &str = "enrtree-root:v1";
const BRANCH_PREFIX: &str = "enrtree-branch:";
const LINK_PREFIX: &str = "enrtree://";
const ENR_PREFIX: &str = "enr:";

/// Why a TXT record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The record is longer than [`MAX_RECORD_LEN`].
    #[error("record of {len} bytes exceeds the {max}-byte limit")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The record starts with none of the four known prefixes.
    #[error("record is not an enrtree entry")]
    UnknownKind,
    /// The root record does not have the required shape; the field names which part.
    #[error("malformed root record: {0}")]
    MalformedRoot(&'static str),
    /// A hash is not base32 of 12 to 32 bytes.
    #[error("invalid subdomain hash")]
    InvalidHash,
    /// A branch lists more than [`MAX_BRANCH_WIDTH`] children.
    #[error("branch of {width} children exceeds the limit of {max}")]
    BranchTooWide {
        /// Children listed.
        width: usize,
        /// The limit.
        max: usize,
    },
    /// A link or URL has no `<key>@<domain>` shape, or the key is not a
    /// compressed secp256k1 point in base32.
    #[error("invalid link public key")]
    InvalidPublicKey,
    /// The domain is empty, too long, or has a label that is not a DNS label.
    #[error("invalid domain name")]
    InvalidDomain,
    /// The `enr:` leaf is not a valid signed "v4" node record.
    #[error("invalid ENR: {0}")]
    InvalidEnr(String),
    /// The root signature is not base64url of 65 bytes.
    #[error("root signature is not 65 bytes of base64url")]
    MalformedSignature,
    /// The root signature does not verify under the tree's public key.
    #[error("root signature does not verify under the tree key")]
    BadSignature,
    /// The record text does not hash to the subdomain it was served at.
    #[error("record does not match its subdomain hash")]
    HashMismatch,
}

/// A subdomain hash: 12 to 32 bytes (the prefix of a keccak256 digest),
/// written as unpadded base32.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryHash {
    bytes: [u8; MAX_HASH_LEN],
    len: u8,
}

impl EntryHash {
    /// The hash under which `text` is published: the first 16 bytes of its keccak256.
    pub fn of_record(text: &str) -> Self {
        let digest = keccak256(text.as_bytes());
        let mut bytes = [0u8; MAX_HASH_LEN];
        bytes[..HASH_LEN].copy_from_slice(&digest[..HASH_LEN]);
        Self {
            bytes,
            len: HASH_LEN as u8,
        }
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Whether `text` is the record this hash names (its keccak256 starts with the hash).
    pub fn matches(&self, text: &str) -> bool {
        keccak256(text.as_bytes()).starts_with(self.as_bytes())
    }
}

impl FromStr for EntryHash {
    type Err = EntryError;

    fn from_str(s: &str) -> Result<Self, EntryError> {
        // 12 bytes take 20 characters, 32 bytes take 52: refuse anything else before decoding.
        if !(20..=52).contains(&s.len()) {
            return Err(EntryError::InvalidHash);
        }
        let decoded = BASE32_NOPAD
            .decode(s.as_bytes())
            .map_err(|_| EntryError::InvalidHash)?;
        if !(MIN_HASH_LEN..=MAX_HASH_LEN).contains(&decoded.len()) {
            return Err(EntryError::InvalidHash);
        }
        let mut bytes = [0u8; MAX_HASH_LEN];
        bytes[..decoded.len()].copy_from_slice(&decoded);
        Ok(Self {
            bytes,
            len: decoded.len() as u8,
        })
    }
}

impl fmt::Display for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&BASE32_NOPAD.encode(self.as_bytes()))
    }
}

impl fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryHash({self})")
    }
}

/// The signed root of a tree.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RootEntry {
    /// Root hash of the ENR subtree.
    pub enr_root: EntryHash,
    /// Root hash of the link subtree.
    pub link_root: EntryHash,
    /// Update sequence number.
    pub seq: u64,
    /// `r ‖ s ‖ v` over keccak256 of [`RootEntry::signed_text`].
    pub signature: [u8; 65],
}

impl RootEntry {
    /// Builds and signs a root (used to publish trees, and by tests).
    pub fn sign(enr_root: EntryHash, link_root: EntryHash, seq: u64, key: &SecretKey) -> Self {
        let mut root = Self {
            enr_root,
            link_root,
            seq,
            signature: [0u8; 65],
        };
        let digest = keccak256(root.signed_text().as_bytes());
        let (recid, rs) = SECP256K1
            .sign_ecdsa_recoverable(Message::from_digest(digest.0), key)
            .serialize_compact();
        root.signature[..64].copy_from_slice(&rs);
        root.signature[64] = i32::from(recid) as u8;
        root
    }

    /// The text the signature covers: the record without ` sig=…`.
    pub fn signed_text(&self) -> String {
        format!(
            "{ROOT_PREFIX} e={} l={} seq={}",
            self.enr_root, self.link_root, self.seq
        )
    }

    /// Checks the signature (`r ‖ s`, low-s) against the tree's public key.
    pub fn verify(&self, key: &PublicKey) -> Result<(), EntryError> {
        let sig =
            Signature::from_compact(&self.signature[..64]).map_err(|_| EntryError::BadSignature)?;
        let digest = keccak256(self.signed_text().as_bytes());
        SECP256K1
            .verify_ecdsa(Message::from_digest(digest.0), &sig, key)
            .map_err(|_| EntryError::BadSignature)
    }

    fn parse(text: &str) -> Result<Self, EntryError> {
        // Exactly `enrtree-root:v1 e=H l=H seq=N sig=S`, single spaces, this order.
        let rest = text
            .strip_prefix(ROOT_PREFIX)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or(EntryError::MalformedRoot("prefix"))?;
        let mut fields = rest.split(' ');
        let mut field = |name: &'static str| -> Result<&str, EntryError> {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name))
                .ok_or(EntryError::MalformedRoot(name))
        };
        let enr_root = field("e=")?.parse()?;
        let link_root = field("l=")?.parse()?;
        let seq_text = field("seq=")?;
        // Decimal digits only (no sign, no spaces), and it must fit a u64.
        if seq_text.is_empty() || !seq_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EntryError::MalformedRoot("seq="));
        }
        let seq = seq_text
            .parse::<u64>()
            .map_err(|_| EntryError::MalformedRoot("seq="))?;
        let sig_text = field("sig=")?;
        if fields.next().is_some() {
            return Err(EntryError::MalformedRoot("trailing fields"));
        }
        // 65 bytes are 87 base64 characters without padding.
        if sig_text.len() != 87 {
            return Err(EntryError::MalformedSignature);
        }
        let sig = BASE64URL_NOPAD
            .decode(sig_text.as_bytes())
            .map_err(|_| EntryError::MalformedSignature)?;
        let signature: [u8; 65] = sig
            .as_slice()
            .try_into()
            .map_err(|_| EntryError::MalformedSignature)?;
        Ok(Self {
            enr_root,
            link_root,
            seq,
            signature,
        })
    }
}

impl fmt::Display for RootEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} sig={}",
            self.signed_text(),
            BASE64URL_NOPAD.encode(&self.signature)
        )
    }
}

/// An intermediate node: the hashes of its children.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct BranchEntry {
    /// Child hashes, in record order (at most [`MAX_BRANCH_WIDTH`]).
    pub children: Vec<EntryHash>,
}

impl BranchEntry {
    fn parse(list: &str) -> Result<Self, EntryError> {
        if list.is_empty() {
            return Ok(Self::default());
        }
        let width = list.split(',').count();
        if width > MAX_BRANCH_WIDTH {
            return Err(EntryError::BranchTooWide {
                width,
                max: MAX_BRANCH_WIDTH,
            });
        }
        let children = list
            .split(',')
            .map(EntryHash::from_str)
            .collect::<Result<_, _>>()?;
        Ok(Self { children })
    }
}

impl fmt::Display for BranchEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(BRANCH_PREFIX)?;
        for (i, child) in self.children.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{child}")?;
        }
        Ok(())
    }
}

/// `enrtree://<key>@<domain>`: a tree's address (what users configure) and,
/// inside a link subtree, a pointer to another tree.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct LinkEntry {
    /// The key that signs the tree's root.
    pub public_key: PublicKey,
    /// The tree's domain, without a trailing dot.
    pub domain: String,
}

impl LinkEntry {
    /// A link to the tree at `domain` signed by `public_key`.
    pub fn new(public_key: PublicKey, domain: &str) -> Result<Self, EntryError> {
        Ok(Self {
            public_key,
            domain: check_domain(domain)?,
        })
    }
}

impl FromStr for LinkEntry {
    type Err = EntryError;

    fn from_str(s: &str) -> Result<Self, EntryError> {
        if s.len() > MAX_RECORD_LEN {
            return Err(EntryError::TooLong {
                len: s.len(),
                max: MAX_RECORD_LEN,
            });
        }
        let rest = s.strip_prefix(LINK_PREFIX).ok_or(EntryError::UnknownKind)?;
        let (key, domain) = rest.split_once('@').ok_or(EntryError::InvalidPublicKey)?;
        // A 33-byte compressed key is 53 base32 characters.
        if key.len() != 53 {
            return Err(EntryError::InvalidPublicKey);
        }
        let raw = BASE32_NOPAD
            .decode(key.as_bytes())
            .map_err(|_| EntryError::InvalidPublicKey)?;
        if raw.len() != 33 {
            return Err(EntryError::InvalidPublicKey);
        }
        let public_key = PublicKey::from_slice(&raw).map_err(|_| EntryError::InvalidPublicKey)?;
        Self::new(public_key, domain)
    }
}

impl fmt::Display for LinkEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{LINK_PREFIX}{}@{}",
            BASE32_NOPAD.encode(&self.public_key.serialize()),
            self.domain
        )
    }
}

/// A DNS name of at most 253 characters in labels of 1 to 63 letters, digits,
/// `-` or `_`; one trailing dot is dropped. Returned as given otherwise.
fn check_domain(domain: &str) -> Result<String, EntryError> {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    if d.is_empty() || d.len() > MAX_DOMAIN_LEN {
        return Err(EntryError::InvalidDomain);
    }
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !d.split('.').all(label_ok) {
        return Err(EntryError::InvalidDomain);
    }
    Ok(d.to_owned())
}

/// One TXT record of a tree.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Entry {
    /// `enrtree-root:v1 …` (signature not yet checked).
    Root(RootEntry),
    /// `enrtree-branch:…`.
    Branch(BranchEntry),
    /// `enrtree://…`.
    Link(LinkEntry),
    /// `enr:…`, signature checked by the `enr` crate.
    Enr(Box<Enr>),
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Root(r) => r.fmt(f),
            Entry::Branch(b) => b.fmt(f),
            Entry::Link(l) => l.fmt(f),
            Entry::Enr(e) => f.write_str(&e.to_base64()),
        }
    }
}

/// Parses one TXT record (its character-strings already joined). The root's
/// signature is not checked here: see [`RootEntry::verify`].
pub fn parse_entry(text: &str) -> Result<Entry, EntryError> {
    if text.len() > MAX_RECORD_LEN {
        return Err(EntryError::TooLong {
            len: text.len(),
            max: MAX_RECORD_LEN,
        });
    }
    if text.starts_with(ROOT_PREFIX) {
        RootEntry::parse(text).map(Entry::Root)
    } else if let Some(list) = text.strip_prefix(BRANCH_PREFIX) {
        BranchEntry::parse(list).map(Entry::Branch)
    } else if text.starts_with(LINK_PREFIX) {
        text.parse().map(Entry::Link)
    } else if let Some(b64) = text.strip_prefix(ENR_PREFIX) {
        parse_enr(b64).map(|e| Entry::Enr(Box::new(e)))
    } else {
        Err(EntryError::UnknownKind)
    }
}

/// Parses a record served at `hash.<domain>`, first checking that it hashes to `hash`.
pub fn parse_entry_checked(text: &str, hash: &EntryHash) -> Result<Entry, EntryError> {
    if text.len() > MAX_RECORD_LEN {
        return Err(EntryError::TooLong {
            len: text.len(),
            max: MAX_RECORD_LEN,
        });
    }
    if !hash.matches(text) {
        return Err(EntryError::HashMismatch);
    }
    parse_entry(text)
}

fn parse_enr(b64: &str) -> Result<Enr, EntryError> {
    // Bound the base64 before decoding it: 300 bytes are 400 characters.
    if b64.len() > MAX_ENR_LEN.div_ceil(3) * 4 {
        return Err(EntryError::InvalidEnr("longer than 300 bytes".into()));
    }
    let raw = BASE64URL_NOPAD
        .decode(b64.as_bytes())
        .map_err(|_| EntryError::InvalidEnr("not base64url".into()))?;
    let mut slice = raw.as_slice();
    let enr = <Enr as alloy_rlp::Decodable>::decode(&mut slice)
        .map_err(|e| EntryError::InvalidEnr(e.to_string()))?;
    if !slice.is_empty() {
        return Err(EntryError::InvalidEnr("trailing bytes".into()));
    }
    Ok(enr)
}

#[cfg(test)]
mod tests;
