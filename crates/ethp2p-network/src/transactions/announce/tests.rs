use bytes::Bytes;
use ethp2p_eth::message::{NewPooledTransactionHashes68, NewPooledTransactionHashes72};

use super::*;

fn h(i: u64) -> B256 {
    B256::left_padding_from(&i.to_be_bytes())
}

fn eth68(types: &[u8], sizes: &[u64], hashes: &[B256]) -> NewPooledTransactionHashes {
    NewPooledTransactionHashes::Eth68(NewPooledTransactionHashes68 {
        types: Bytes::copy_from_slice(types),
        sizes: sizes.to_vec(),
        hashes: hashes.to_vec(),
    })
}

fn eth72(
    types: &[u8],
    sizes: &[u64],
    hashes: &[B256],
    cell_mask: Option<CellMask>,
) -> NewPooledTransactionHashes {
    NewPooledTransactionHashes::Eth72(NewPooledTransactionHashes72 {
        types: Bytes::copy_from_slice(types),
        sizes: sizes.to_vec(),
        hashes: hashes.to_vec(),
        cell_mask,
    })
}

fn check(message: &NewPooledTransactionHashes, version: EthVersion) -> AnnouncementVerdict {
    check_announcement(
        message,
        version,
        UnknownTypePolicy::Relaxed,
        &DecodeLimits::default(),
    )
}

#[test]
fn eth66_and_67_take_bare_hashes() {
    let message = NewPooledTransactionHashes::Eth66(vec![h(1), h(2)]);
    for version in [EthVersion::Eth66, EthVersion::Eth67] {
        let verdict = check(&message, version);
        assert_eq!(verdict.bad, None);
        assert_eq!(
            verdict.accepted,
            vec![
                AnnouncedTx {
                    hash: h(1),
                    meta: None
                },
                AnnouncedTx {
                    hash: h(2),
                    meta: None
                }
            ]
        );
    }
}

#[test]
fn each_version_range_requires_its_own_shape() {
    let bare = NewPooledTransactionHashes::Eth66(vec![h(1)]);
    let typed = eth68(&[2], &[100], &[h(1)]);
    let masked = eth72(&[2], &[100], &[h(1)], None);
    for version in EthVersion::ALL {
        let v = version.as_u8();
        for (message, ok) in [
            (&bare, v < 68),
            (&typed, (68..72).contains(&v)),
            (&masked, v >= 72),
        ] {
            let verdict = check(message, version);
            if ok {
                assert_eq!(verdict.bad, None, "{version:?}");
                assert_eq!(verdict.accepted.len(), 1);
            } else {
                assert_eq!(verdict.bad, Some(BadAnnouncement::WrongShape(version)));
                assert!(verdict.accepted.is_empty());
            }
        }
    }
}

#[test]
fn eth68_keeps_types_and_sizes() {
    let verdict = check(
        &eth68(&[0, 3], &[110, 131_500], &[h(1), h(2)]),
        EthVersion::Eth69,
    );
    assert_eq!(verdict.bad, None);
    assert_eq!(
        verdict.accepted[1].meta,
        Some(AnnouncedMeta {
            ty: 3,
            size: 131_500
        })
    );
    assert_eq!(
        verdict.accepted[0].meta,
        Some(AnnouncedMeta { ty: 0, size: 110 })
    );
}

#[test]
fn mismatched_lengths_reject_the_whole_announcement() {
    // Built directly: the eth decoder would refuse it before.
    for (types, sizes) in [(&[2u8, 2][..], &[1u64][..]), (&[2u8][..], &[1u64, 1][..])] {
        let verdict = check(&eth68(types, sizes, &[h(1)]), EthVersion::Eth68);
        assert!(matches!(
            verdict.bad,
            Some(BadAnnouncement::LengthMismatch { hashes: 1, .. })
        ));
        assert!(verdict.accepted.is_empty());
    }
}

#[test]
fn empty_announcement_is_bad() {
    for (message, version) in [
        (NewPooledTransactionHashes::Eth66(vec![]), EthVersion::Eth67),
        (eth68(&[], &[], &[]), EthVersion::Eth68),
        (eth72(&[], &[], &[], None), EthVersion::Eth72),
    ] {
        assert_eq!(check(&message, version).bad, Some(BadAnnouncement::Empty));
    }
}

#[test]
fn duplicates_are_flagged_and_kept_once() {
    let verdict = check(
        &eth68(&[2, 2, 2], &[100, 100, 100], &[h(1), h(2), h(1)]),
        EthVersion::Eth68,
    );
    assert_eq!(verdict.bad, Some(BadAnnouncement::Duplicate(h(1))));
    let hashes: Vec<_> = verdict.accepted.iter().map(|a| a.hash).collect();
    assert_eq!(hashes, vec![h(1), h(2)]);
}

#[test]
fn unknown_types_follow_the_policy() {
    let message = eth68(&[2, 0x7e], &[100, 100], &[h(1), h(2)]);
    let relaxed = check(&message, EthVersion::Eth68);
    assert_eq!(relaxed.bad, None);
    assert_eq!(relaxed.unknown_types, 1);
    assert_eq!(relaxed.accepted.len(), 1);

    let strict = check_announcement(
        &message,
        EthVersion::Eth68,
        UnknownTypePolicy::Strict,
        &DecodeLimits::default(),
    );
    assert_eq!(strict.bad, Some(BadAnnouncement::UnknownType(0x7e)));
    assert_eq!(strict.accepted.len(), 1);
    assert_eq!(strict.accepted[0].hash, h(1));
}

#[test]
fn oversized_entries_are_never_fetched() {
    let limits = DecodeLimits::default();
    let message = eth68(
        &[2, 2, 3],
        &[
            limits.max_tx_size as u64 + 1,
            limits.max_tx_size as u64,
            limits.max_tx_size as u64 + 1,
        ],
        &[h(1), h(2), h(3)],
    );
    let verdict = check(&message, EthVersion::Eth68);
    assert_eq!(verdict.bad, None);
    assert_eq!(verdict.oversized, 1);
    let hashes: Vec<_> = verdict.accepted.iter().map(|a| a.hash).collect();
    // A blob transaction has the larger bound.
    assert_eq!(hashes, vec![h(2), h(3)]);
}

#[test]
fn eth72_cell_mask_rules() {
    // Blob announced without mask.
    let verdict = check(&eth72(&[3], &[1000], &[h(1)], None), EthVersion::Eth72);
    assert_eq!(verdict.bad, Some(BadAnnouncement::MissingCellMask));
    assert!(verdict.accepted.is_empty());
    // Mask with no blob announced.
    let mask = CellMask::from_indices([1, 5]);
    let verdict = check(
        &eth72(&[2], &[1000], &[h(1)], Some(mask)),
        EthVersion::Eth72,
    );
    assert_eq!(verdict.bad, Some(BadAnnouncement::UnexpectedCellMask));
    // geth writes an all-zero mask when it announces no blob transaction.
    let verdict = check(
        &eth72(&[2], &[1000], &[h(1)], Some(CellMask::EMPTY)),
        EthVersion::Eth72,
    );
    assert_eq!(verdict.bad, None);
    // Blob with mask: kept, mask passed on.
    let verdict = check(
        &eth72(&[3, 2], &[1000, 100], &[h(1), h(2)], Some(mask)),
        EthVersion::Eth72,
    );
    assert_eq!(verdict.bad, None);
    assert_eq!(verdict.cell_mask, Some(mask));
    assert_eq!(verdict.accepted.len(), 2);
}

#[test]
fn at_most_4096_entries_are_kept() {
    let hashes: Vec<B256> = (0..MAX_ANNOUNCED_PER_PEER as u64 + 10).map(h).collect();
    let verdict = check(
        &NewPooledTransactionHashes::Eth66(hashes.clone()),
        EthVersion::Eth67,
    );
    assert_eq!(verdict.accepted.len(), MAX_ANNOUNCED_PER_PEER);
    assert_eq!(verdict.truncated, 10);
    assert_eq!(verdict.accepted[4095].hash, hashes[4095]);
}
