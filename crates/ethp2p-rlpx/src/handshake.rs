//! The RLPx auth / ack handshake as sans-IO state machines.
//!
//! The initiator sends `auth`, the recipient answers with `ack`; both then
//! derive the [`Secrets`]. Messages are sent in the EIP-8 format (2-byte size
//! prefix, RLP body, random padding); both EIP-8 and legacy (pre-EIP-8,
//! fixed-size) messages are accepted, with extra list elements and higher
//! version numbers ignored as EIP-8 requires. A legacy auth is answered with a
//! legacy ack, an EIP-8 auth with an EIP-8 ack.

use crate::{
    ecies,
    error::HandshakeError,
    key::{
        ecdh_x, generate_secret_key_with, peer_id_from_public_key, peer_id_from_secret_key,
        public_key, public_key_from_peer_id, with_context, PeerId,
    },
    secrets::{SecretInputs, Secrets},
};
use alloy_primitives::B256;
use alloy_rlp::{Encodable, Header};
use bytes::BytesMut;
use rand::{Rng, RngCore};
use secp256k1::{
    ecdsa::{RecoverableSignature, RecoveryId},
    Message, PublicKey, SecretKey,
};

/// The handshake version we send.
pub const HANDSHAKE_VERSION: u8 = 4;
/// Largest EIP-8 auth or ack body we accept (the 2-byte prefix allows 65535).
pub const MAX_HANDSHAKE_SIZE: usize = 2048;
/// Size of a legacy (pre-EIP-8) auth message.
pub const LEGACY_AUTH_LEN: usize = 307;
/// Size of a legacy (pre-EIP-8) ack message.
pub const LEGACY_ACK_LEN: usize = 210;
const LEGACY_AUTH_PLAIN: usize = 65 + 32 + 64 + 32 + 1;
const LEGACY_ACK_PLAIN: usize = 64 + 32 + 1;

/// A decoded auth message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthMessage {
    /// The initiator's static identity.
    pub initiator_id: PeerId,
    /// The initiator's ephemeral public key, recovered from the signature.
    pub ephemeral_key: PublicKey,
    /// The initiator's nonce.
    pub nonce: B256,
    /// The version the initiator announced.
    pub version: u64,
    /// Whether the message used the legacy format.
    pub legacy: bool,
}

/// A decoded ack message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckMessage {
    /// The recipient's ephemeral public key.
    pub ephemeral_key: PublicKey,
    /// The recipient's nonce.
    pub nonce: B256,
    /// The version the recipient announced.
    pub version: u64,
    /// Whether the message used the legacy format.
    pub legacy: bool,
}

fn random_nonce(rng: &mut dyn RngCore) -> B256 {
    let mut n = B256::ZERO;
    rng.fill_bytes(n.as_mut_slice());
    n
}

/// The randomness one sealed handshake message consumes: the ECIES one-time
/// key and IV, and the EIP-8 padding. Drawn up front, so the sans-IO state
/// machines stay `&self` and a seeded RNG reproduces the bytes exactly.
#[derive(Clone)]
struct SealRandomness {
    ecies_key: SecretKey,
    iv: [u8; 16],
    padding: Vec<u8>,
}

impl SealRandomness {
    fn draw(rng: &mut dyn RngCore) -> Self {
        let ecies_key = generate_secret_key_with(rng);
        let mut iv = [0u8; 16];
        rng.fill_bytes(&mut iv);
        let mut padding = vec![0u8; rng.random_range(100..=250)];
        rng.fill_bytes(&mut padding);
        Self {
            ecies_key,
            iv,
            padding,
        }
    }
}

fn malformed(what: &'static str, reason: impl Into<String>) -> HandshakeError {
    HandshakeError::Malformed {
        what,
        reason: reason.into(),
    }
}

/// Takes one complete auth or ack message off the front of `buf`, decrypted.
/// Returns the raw wire bytes, the plaintext, and whether it was legacy.
/// `Ok(None)` means more bytes are needed.
fn take_message(
    buf: &mut BytesMut,
    legacy_len: usize,
    secret: &SecretKey,
) -> Result<Option<(BytesMut, Vec<u8>, bool)>, HandshakeError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    // A legacy message starts with the 0x04 of its uncompressed ephemeral key.
    // An EIP-8 message starting with 0x04 is at least 1026 bytes long, so
    // waiting for `legacy_len` bytes never stalls it.
    if buf[0] == 0x04 {
        if buf.len() < legacy_len {
            return Ok(None);
        }
        let mut copy = buf[..legacy_len].to_vec();
        if let Ok(plain) = ecies::decrypt(secret, &mut copy, &[]) {
            let plain = plain.to_vec();
            return Ok(Some((buf.split_to(legacy_len), plain, true)));
        }
    }
    let size = u16::from_be_bytes([buf[0], buf[1]]) as usize;
    if size > MAX_HANDSHAKE_SIZE {
        return Err(HandshakeError::MessageTooLarge {
            size,
            max: MAX_HANDSHAKE_SIZE,
        });
    }
    if buf.len() < 2 + size {
        return Ok(None);
    }
    let raw = buf.split_to(2 + size);
    let mut body = raw[2..].to_vec();
    let plain = ecies::decrypt(secret, &mut body, &raw[..2])?.to_vec();
    Ok(Some((raw, plain, false)))
}

/// Reads the RLP list header of an EIP-8 body and returns its payload.
fn list_payload<'a>(what: &'static str, mut data: &'a [u8]) -> Result<&'a [u8], HandshakeError> {
    let header = Header::decode(&mut data).map_err(|e| malformed(what, e.to_string()))?;
    if !header.list {
        return Err(malformed(what, "body is not an RLP list"));
    }
    // Bytes after the list are padding.
    Ok(&data[..header.payload_length])
}

fn fixed<const N: usize>(
    what: &'static str,
    field: &str,
    data: &mut &[u8],
) -> Result<[u8; N], HandshakeError> {
    let bytes =
        Header::decode_bytes(data, false).map_err(|e| malformed(what, format!("{field}: {e}")))?;
    bytes.try_into().map_err(|_| {
        malformed(
            what,
            format!("{field} has {} bytes, expected {N}", bytes.len()),
        )
    })
}

fn version(what: &'static str, data: &mut &[u8]) -> Result<u64, HandshakeError> {
    <u64 as alloy_rlp::Decodable>::decode(data)
        .map_err(|e| malformed(what, format!("version: {e}")))
}

fn pubkey_from_id(what: &'static str, id: &[u8; 64]) -> Result<PublicKey, HandshakeError> {
    public_key_from_peer_id(&PeerId::from(*id)).map_err(|_| HandshakeError::InvalidPublicKey(what))
}

fn recover_ephemeral(
    secret: &SecretKey,
    initiator: &PublicKey,
    nonce: &B256,
    sig: &[u8; 65],
) -> Result<PublicKey, HandshakeError> {
    let shared = B256::from(ecdh_x(initiator, secret));
    let msg = Message::from_digest((shared ^ *nonce).0);
    let recid =
        RecoveryId::try_from(sig[64] as i32).map_err(|_| HandshakeError::InvalidSignature)?;
    let sig = RecoverableSignature::from_compact(&sig[..64], recid)
        .map_err(|_| HandshakeError::InvalidSignature)?;
    with_context(|ctx| ctx.recover_ecdsa(msg, &sig)).map_err(|_| HandshakeError::InvalidSignature)
}

/// Decodes an auth message's plaintext (either format) as received by `secret`.
fn parse_auth(
    secret: &SecretKey,
    plain: &[u8],
    legacy: bool,
) -> Result<AuthMessage, HandshakeError> {
    const W: &str = "auth";
    let (sig, id, nonce, version) = if legacy {
        if plain.len() != LEGACY_AUTH_PLAIN {
            return Err(malformed(
                W,
                format!("legacy body of {} bytes", plain.len()),
            ));
        }
        let mut sig = [0u8; 65];
        sig.copy_from_slice(&plain[..65]);
        let mut id = [0u8; 64];
        id.copy_from_slice(&plain[97..161]);
        // The last byte is the obsolete token flag; the legacy format is version 4.
        (
            sig,
            id,
            B256::from_slice(&plain[161..193]),
            u64::from(HANDSHAKE_VERSION),
        )
    } else {
        let mut p = list_payload(W, plain)?;
        let sig = fixed::<65>(W, "signature", &mut p)?;
        let id = fixed::<64>(W, "initiator key", &mut p)?;
        let nonce = B256::from(fixed::<32>(W, "nonce", &mut p)?);
        (sig, id, nonce, version(W, &mut p)?)
    };
    let initiator = pubkey_from_id("auth initiator key", &id)?;
    let ephemeral_key = recover_ephemeral(secret, &initiator, &nonce, &sig)?;
    Ok(AuthMessage {
        initiator_id: PeerId::from(id),
        ephemeral_key,
        nonce,
        version,
        legacy,
    })
}

fn parse_ack(plain: &[u8], legacy: bool) -> Result<AckMessage, HandshakeError> {
    const W: &str = "ack";
    let (key, nonce, version) = if legacy {
        if plain.len() != LEGACY_ACK_PLAIN {
            return Err(malformed(
                W,
                format!("legacy body of {} bytes", plain.len()),
            ));
        }
        let mut key = [0u8; 64];
        key.copy_from_slice(&plain[..64]);
        (
            key,
            B256::from_slice(&plain[64..96]),
            u64::from(HANDSHAKE_VERSION),
        )
    } else {
        let mut p = list_payload(W, plain)?;
        let key = fixed::<64>(W, "ephemeral key", &mut p)?;
        let nonce = B256::from(fixed::<32>(W, "nonce", &mut p)?);
        (key, nonce, version(W, &mut p)?)
    };
    Ok(AckMessage {
        ephemeral_key: pubkey_from_id("ack ephemeral key", &key)?,
        nonce,
        version,
        legacy,
    })
}

/// Decrypts and decodes a complete auth message (for tests and tools).
pub fn decode_auth(secret: &SecretKey, wire: &[u8]) -> Result<AuthMessage, HandshakeError> {
    let mut buf = BytesMut::from(wire);
    match take_message(&mut buf, LEGACY_AUTH_LEN, secret)? {
        Some((_, plain, legacy)) => parse_auth(secret, &plain, legacy),
        None => Err(HandshakeError::UnexpectedEof),
    }
}

/// Decrypts and decodes a complete ack message (for tests and tools).
pub fn decode_ack(secret: &SecretKey, wire: &[u8]) -> Result<AckMessage, HandshakeError> {
    let mut buf = BytesMut::from(wire);
    match take_message(&mut buf, LEGACY_ACK_LEN, secret)? {
        Some((_, plain, legacy)) => parse_ack(&plain, legacy),
        None => Err(HandshakeError::UnexpectedEof),
    }
}

/// Seals an EIP-8 body: RLP list + 100..=250 bytes of random padding, size-prefixed.
fn seal_eip8(remote: &PublicKey, mut body: Vec<u8>, r: &SealRandomness) -> Vec<u8> {
    body.extend_from_slice(&r.padding);
    let size = (body.len() + ecies::OVERHEAD) as u16;
    let prefix = size.to_be_bytes();
    let mut out = Vec::with_capacity(2 + size as usize);
    out.extend_from_slice(&prefix);
    ecies::encrypt_with(remote, &r.ecies_key, r.iv, &body, &prefix, &mut out);
    out
}

fn rlp_list(fields: &[&dyn Encodable]) -> Vec<u8> {
    let payload_length = fields.iter().map(|f| f.length()).sum();
    let mut out = Vec::with_capacity(payload_length + 3);
    Header {
        list: true,
        payload_length,
    }
    .encode(&mut out);
    for f in fields {
        f.encode(&mut out);
    }
    out
}

/// The initiator's side: builds auth, then reads ack.
pub struct Initiator {
    remote_id: PeerId,
    ephemeral: SecretKey,
    nonce: B256,
    auth: Vec<u8>,
    secret: SecretKey,
}

impl Initiator {
    /// Starts a handshake to `remote_id` with a fresh ephemeral key and nonce.
    pub fn new(secret: &SecretKey, remote_id: PeerId) -> Result<Self, HandshakeError> {
        Self::with_id(secret, peer_id_from_secret_key(secret), remote_id)
    }

    /// Like [`Initiator::new`], with our own id (the public key of `secret`)
    /// given by a caller that derived it once, saving a point
    /// multiplication per dial. A wrong `local_id` makes the recipient refuse
    /// the auth.
    pub fn with_id(
        secret: &SecretKey,
        local_id: PeerId,
        remote_id: PeerId,
    ) -> Result<Self, HandshakeError> {
        Self::with_rng(secret, local_id, remote_id, &mut rand::rng())
    }

    /// Like [`Initiator::with_id`], drawing the ephemeral key, nonce, ECIES
    /// key, IV and padding from `rng`: a seeded RNG gives the same auth bytes.
    pub fn with_rng(
        secret: &SecretKey,
        local_id: PeerId,
        remote_id: PeerId,
        rng: &mut dyn RngCore,
    ) -> Result<Self, HandshakeError> {
        let ephemeral = generate_secret_key_with(rng);
        let nonce = random_nonce(rng);
        let seal = SealRandomness::draw(rng);
        Self::build(secret, local_id, remote_id, ephemeral, nonce, &seal)
    }

    /// Starts a handshake with a given ephemeral key and nonce (tests, vectors).
    pub fn with_ephemeral(
        secret: &SecretKey,
        remote_id: PeerId,
        ephemeral: SecretKey,
        nonce: B256,
    ) -> Result<Self, HandshakeError> {
        let seal = SealRandomness::draw(&mut rand::rng());
        Self::build(
            secret,
            peer_id_from_secret_key(secret),
            remote_id,
            ephemeral,
            nonce,
            &seal,
        )
    }

    fn build(
        secret: &SecretKey,
        id: PeerId,
        remote_id: PeerId,
        ephemeral: SecretKey,
        nonce: B256,
        seal: &SealRandomness,
    ) -> Result<Self, HandshakeError> {
        let remote = public_key_from_peer_id(&remote_id)
            .map_err(|_| HandshakeError::InvalidPublicKey("remote id"))?;
        let shared = B256::from(ecdh_x(&remote, secret));
        let msg = Message::from_digest((shared ^ nonce).0);
        let (recid, compact) =
            with_context(|ctx| ctx.sign_ecdsa_recoverable(msg, &ephemeral)).serialize_compact();
        let mut sig = [0u8; 65];
        sig[..64].copy_from_slice(&compact);
        sig[64] = i32::from(recid) as u8;
        let body = rlp_list(&[&&sig[..], &id, &nonce, &HANDSHAKE_VERSION]);
        let auth = seal_eip8(&remote, body, seal);
        Ok(Self {
            remote_id,
            ephemeral,
            nonce,
            auth,
            secret: *secret,
        })
    }

    /// The auth message to send, exactly as it must cross the wire.
    pub fn auth_message(&self) -> &[u8] {
        &self.auth
    }

    /// Feeds received bytes. Returns the secrets once a whole ack has arrived;
    /// bytes after the ack (early frames) stay in `buf`.
    pub fn read_ack(&self, buf: &mut BytesMut) -> Result<Option<Secrets>, HandshakeError> {
        let Some((raw, plain, legacy)) = take_message(buf, LEGACY_ACK_LEN, &self.secret)? else {
            return Ok(None);
        };
        let ack = parse_ack(&plain, legacy)?;
        Ok(Some(Secrets::derive(SecretInputs {
            remote_id: self.remote_id,
            ephemeral_shared: ecdh_x(&ack.ephemeral_key, &self.ephemeral),
            initiator_nonce: &self.nonce,
            recipient_nonce: &ack.nonce,
            auth: &self.auth,
            ack: &raw,
            we_are_initiator: true,
        })))
    }
}

/// The recipient's side: reads auth, then answers with ack.
pub struct Recipient {
    secret: SecretKey,
    ephemeral: SecretKey,
    nonce: B256,
    seal: SealRandomness,
}

impl Recipient {
    /// Waits for an auth with a fresh ephemeral key and nonce.
    pub fn new(secret: &SecretKey) -> Self {
        Self::with_rng(secret, &mut rand::rng())
    }

    /// Like [`Recipient::new`], drawing every random value of the ack from
    /// `rng`: a seeded RNG gives the same ack bytes.
    pub fn with_rng(secret: &SecretKey, rng: &mut dyn RngCore) -> Self {
        let ephemeral = generate_secret_key_with(rng);
        let nonce = random_nonce(rng);
        Self {
            secret: *secret,
            ephemeral,
            nonce,
            seal: SealRandomness::draw(rng),
        }
    }

    /// Waits for an auth with a given ephemeral key and nonce (tests, vectors).
    pub fn with_ephemeral(secret: &SecretKey, ephemeral: SecretKey, nonce: B256) -> Self {
        Self {
            secret: *secret,
            ephemeral,
            nonce,
            seal: SealRandomness::draw(&mut rand::rng()),
        }
    }

    /// Feeds received bytes. Once a whole auth has arrived, returns the ack to
    /// send and the secrets. Bytes after the auth stay in `buf`.
    pub fn read_auth(
        &self,
        buf: &mut BytesMut,
    ) -> Result<Option<(Vec<u8>, Secrets)>, HandshakeError> {
        let Some((raw, plain, legacy)) = take_message(buf, LEGACY_AUTH_LEN, &self.secret)? else {
            return Ok(None);
        };
        let auth = parse_auth(&self.secret, &plain, legacy)?;
        let remote = pubkey_from_id("auth initiator key", &auth.initiator_id.0)?;
        // Not through `peer_id_from_secret_key`: a one-time key must not
        // evict the cached id of our static key.
        let eph_id = peer_id_from_public_key(&public_key(&self.ephemeral));
        let ack = if legacy {
            let mut body = Vec::with_capacity(LEGACY_ACK_PLAIN);
            body.extend_from_slice(eph_id.as_slice());
            body.extend_from_slice(self.nonce.as_slice());
            body.push(0);
            let mut out = Vec::with_capacity(LEGACY_ACK_LEN);
            let (key, iv) = (&self.seal.ecies_key, self.seal.iv);
            ecies::encrypt_with(&remote, key, iv, &body, &[], &mut out);
            out
        } else {
            seal_eip8(
                &remote,
                rlp_list(&[&eph_id, &self.nonce, &HANDSHAKE_VERSION]),
                &self.seal,
            )
        };
        let secrets = Secrets::derive(SecretInputs {
            remote_id: auth.initiator_id,
            ephemeral_shared: ecdh_x(&auth.ephemeral_key, &self.ephemeral),
            initiator_nonce: &auth.nonce,
            recipient_nonce: &self.nonce,
            auth: &raw,
            ack: &ack,
            we_are_initiator: false,
        });
        Ok(Some((ack, secrets)))
    }
}

/// Builds a legacy (pre-EIP-8) auth message, as old clients sent it. Only for
/// tests of our acceptance of that format; we never send it.
#[cfg(feature = "test-utils")]
pub fn legacy_auth_for_tests(
    secret: &SecretKey,
    remote_id: PeerId,
    ephemeral: &SecretKey,
    nonce: B256,
) -> Result<Vec<u8>, HandshakeError> {
    let remote = public_key_from_peer_id(&remote_id)
        .map_err(|_| HandshakeError::InvalidPublicKey("remote id"))?;
    let shared = B256::from(ecdh_x(&remote, secret));
    let msg = Message::from_digest((shared ^ nonce).0);
    let (recid, compact) =
        with_context(|ctx| ctx.sign_ecdsa_recoverable(msg, ephemeral)).serialize_compact();
    let eph_pub = with_context(|ctx| PublicKey::from_secret_key(ctx, ephemeral));
    let mut body = Vec::with_capacity(LEGACY_AUTH_PLAIN);
    body.extend_from_slice(&compact);
    body.push(i32::from(recid) as u8);
    body.extend_from_slice(
        alloy_primitives::keccak256(peer_id_from_public_key(&eph_pub)).as_slice(),
    );
    body.extend_from_slice(peer_id_from_secret_key(secret).as_slice());
    body.extend_from_slice(nonce.as_slice());
    body.push(0);
    let mut out = Vec::with_capacity(LEGACY_AUTH_LEN);
    ecies::encrypt(&remote, &body, &[], &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{generate_secret_key, peer_id_from_secret_key};
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn seeded_handshake_is_reproducible() {
        let (a, b) = (generate_secret_key(), generate_secret_key());
        let (a_id, b_id) = (peer_id_from_secret_key(&a), peer_id_from_secret_key(&b));
        let run = |seed: u64| {
            let mut rng = StdRng::seed_from_u64(seed);
            let init = Initiator::with_rng(&a, a_id, b_id, &mut rng).unwrap();
            let rec = Recipient::with_rng(&b, &mut rng);
            let mut buf = BytesMut::from(init.auth_message());
            let (ack, rsec) = rec.read_auth(&mut buf).unwrap().unwrap();
            let mut abuf = BytesMut::from(&ack[..]);
            let isec = init.read_ack(&mut abuf).unwrap().unwrap();
            assert_eq!(isec.aes, rsec.aes);
            (init.auth_message().to_vec(), ack, isec.aes)
        };
        let first = run(7);
        assert_eq!(first, run(7), "one seed, one transcript");
        assert_ne!(first.0, run(8).0, "another seed, other bytes");
    }
}
