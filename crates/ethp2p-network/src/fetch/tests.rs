//! Every routing and checking rule of the fetch router.

use super::*;
use alloy_primitives::U256;
use alloy_rlp::Encodable;

const MS: Duration = Duration::from_millis(1);

fn pid(n: u8) -> PeerId {
    PeerId::with_last_byte(n)
}

fn caps(range: Option<(u64, u64)>, rtt_ms: u64) -> PeerCapabilities {
    PeerCapabilities {
        eth_version: if range.is_some() {
            EthVersion::Eth69
        } else {
            EthVersion::Eth68
        },
        block_range: range.map(|(earliest, latest)| BlockRange { earliest, latest }),
        rtt: Duration::from_millis(rtt_ms),
    }
}

fn headers(start: u64, limit: u64) -> FetchRequest {
    FetchRequest::Headers(GetBlockHeaders {
        start: BlockHashOrNumber::Number(start),
        limit,
        skip: 0,
        reverse: false,
    })
}

fn bodies(n: usize, range: Option<(u64, u64)>) -> FetchRequest {
    FetchRequest::Bodies {
        hashes: (0..n).map(|i| hash_of(i as u64)).collect(),
        range: range.map(|(earliest, latest)| BlockRange { earliest, latest }),
    }
}

fn hash_of(n: u64) -> B256 {
    B256::from(U256::from(n.wrapping_add(0x1000)))
}

/// A well-linked header `n`.
fn header(n: u64) -> HeaderSummary {
    HeaderSummary {
        number: n,
        hash: hash_of(n),
        parent_hash: hash_of(n.wrapping_sub(1)),
    }
}

fn chain(range: std::ops::RangeInclusive<u64>) -> Vec<HeaderSummary> {
    range.map(header).collect()
}

fn drain(r: &mut FetchRouter) -> Vec<FetchAction> {
    std::iter::from_fn(|| r.poll_action()).collect()
}

fn sent(actions: &[FetchAction]) -> Vec<(RequestId, PeerId)> {
    actions
        .iter()
        .filter_map(|a| match a {
            FetchAction::Send {
                request_id,
                peer_id,
                ..
            } => Some((*request_id, *peer_id)),
            _ => None,
        })
        .collect()
}

fn router() -> FetchRouter {
    FetchRouter::new(FetchConfig::default())
}

// ---- routing ---------------------------------------------------------------

#[test]
fn no_capable_peer_fails_fast() {
    let mut r = router();
    assert_eq!(
        r.submit(headers(1, 1), Priority::Normal),
        Err(FetchError::NoCapablePeer)
    );
    r.add_peer(pid(1), caps(Some((0, 100)), 50));
    assert_eq!(
        r.submit(headers(150, 1), Priority::Normal),
        Err(FetchError::NoCapablePeer)
    );
    // The span counts: 95..=104 is not inside 0..=100.
    assert_eq!(
        r.submit(headers(95, 10), Priority::Normal),
        Err(FetchError::NoCapablePeer)
    );
    assert_eq!(
        r.submit(bodies(2, Some((99, 101))), Priority::Normal),
        Err(FetchError::NoCapablePeer)
    );
    assert!(r.submit(headers(91, 10), Priority::Normal).is_ok());
    // A request by hash has no range requirement.
    let by_hash = FetchRequest::Headers(GetBlockHeaders {
        start: BlockHashOrNumber::Hash(hash_of(500)),
        limit: 1,
        skip: 0,
        reverse: false,
    });
    assert!(r.submit(by_hash, Priority::Normal).is_ok());
}

#[test]
fn routes_to_a_peer_whose_range_covers_the_request() {
    let mut r = router();
    r.add_peer(pid(1), caps(Some((0, 100)), 10));
    r.add_peer(pid(2), caps(Some((0, 1000)), 90));
    r.submit(headers(500, 1), Priority::Normal).unwrap();
    r.submit(bodies(1, Some((20, 20))), Priority::Normal)
        .unwrap();
    let s = sent(&drain(&mut r));
    assert_eq!(s[0].1, pid(2), "only peer 2 serves block 500");
    assert_eq!(s[1].1, pid(1), "both serve 20: the faster one");
    // A peer without a range (eth/68) serves anything.
    r.add_peer(pid(3), caps(None, 200));
    r.submit(headers(5000, 1), Priority::Normal).unwrap();
    assert_eq!(sent(&drain(&mut r))[0].1, pid(3));
}

#[test]
fn reverse_and_skipping_header_requests_span_the_right_blocks() {
    let req = FetchRequest::Headers(GetBlockHeaders {
        start: BlockHashOrNumber::Number(100),
        limit: 5,
        skip: 2,
        reverse: true,
    });
    assert_eq!(
        req.required_range(),
        Some(BlockRange {
            earliest: 88,
            latest: 100
        })
    );
    let huge = FetchRequest::Headers(GetBlockHeaders {
        start: BlockHashOrNumber::Number(10),
        limit: u64::MAX,
        skip: u64::MAX,
        reverse: true,
    });
    assert_eq!(
        huge.required_range(),
        Some(BlockRange {
            earliest: 0,
            latest: 10
        })
    );
    assert_eq!(headers(7, 0).required_range(), None);
}

#[test]
fn fewer_recent_bad_answers_beat_a_lower_rtt() {
    let mut r = router();
    r.add_peer(pid(1), caps(None, 10));
    r.add_peer(pid(2), caps(None, 80));
    r.report_bad_data(pid(1), ReputationChangeKind::BadBlock);
    assert_eq!(
        drain(&mut r),
        vec![FetchAction::Reputation {
            peer_id: pid(1),
            change: ReputationChangeKind::BadBlock
        }]
    );
    r.submit(headers(1, 1), Priority::Normal).unwrap();
    assert_eq!(sent(&drain(&mut r))[0].1, pid(2));
    // With equal records the lower RTT wins.
    r.add_peer(pid(3), caps(None, 5));
    r.add_peer(pid(4), caps(None, 4));
    r.submit(headers(1, 1), Priority::Normal).unwrap();
    assert_eq!(sent(&drain(&mut r))[0].1, pid(4));
    r.set_rtt(pid(3), MS);
    r.submit(headers(1, 1), Priority::Normal).unwrap();
    assert_eq!(sent(&drain(&mut r))[0].1, pid(3));
}

#[test]
fn one_request_in_flight_per_peer_and_kind() {
    let mut r = router();
    r.add_peer(pid(1), caps(None, 10));
    let a = r.submit(headers(1, 1), Priority::Normal).unwrap();
    let b = r.submit(headers(2, 1), Priority::Normal).unwrap();
    let c = r.submit(bodies(1, None), Priority::Normal).unwrap();
    assert_eq!(sent(&drain(&mut r)), vec![(a, pid(1)), (c, pid(1))]);
    assert_eq!((r.queued(), r.in_flight()), (1, 2));
    assert_eq!(
        r.on_response(a, &FetchResponse::Headers(chain(1..=1))),
        Ok(ResponseVerdict::Valid)
    );
    assert_eq!(sent(&drain(&mut r)), vec![(b, pid(1))]);
}

#[test]
fn high_priority_jumps_the_queue() {
    let mut r = router();
    r.add_peer(pid(1), caps(None, 10));
    let first = r.submit(headers(1, 1), Priority::Normal).unwrap();
    let a = r.submit(headers(2, 1), Priority::Normal).unwrap();
    let b = r.submit(headers(3, 1), Priority::Normal).unwrap();
    let c = r.submit(headers(4, 1), Priority::High).unwrap();
    drain(&mut r);
    let mut order = Vec::new();
    let mut current = first;
    for n in 0..3 {
        let start = [1, 4, 2][n];
        r.on_response(current, &FetchResponse::Headers(chain(start..=start)))
            .unwrap();
        current = sent(&drain(&mut r))[0].0;
        order.push(current);
    }
    assert_eq!(order, vec![c, a, b]);
}

#[test]
fn a_busy_capable_peer_queues_and_requests_are_bounded() {
    let mut r = FetchRouter::new(FetchConfig {
        max_requests: 4,
        ..FetchConfig::default()
    });
    r.add_peer(pid(1), caps(None, 10));
    r.submit(headers(1, 1), Priority::Normal).unwrap();
    r.submit(headers(2, 1), Priority::Normal).unwrap();
    r.submit(headers(3, 1), Priority::High).unwrap();
    assert_eq!((r.in_flight(), r.queued()), (1, 2));
    // Another kind goes straight out while there is room.
    assert!(r.submit(bodies(1, None), Priority::Normal).is_ok());
    assert_eq!(r.in_flight(), 2);
    assert_eq!(
        r.submit(headers(4, 1), Priority::High),
        Err(FetchError::TooManyRequests)
    );
    let receipts = FetchRequest::Receipts {
        hashes: vec![],
        range: None,
    };
    assert_eq!(
        r.submit(receipts, Priority::Normal),
        Err(FetchError::TooManyRequests)
    );
}

#[test]
fn a_queued_request_waits_for_a_peer_that_can_serve_it() {
    let mut r = router();
    r.add_peer(pid(1), caps(Some((0, 100)), 10));
    r.add_peer(pid(2), caps(Some((0, 50)), 10));
    let busy = r.submit(headers(90, 1), Priority::Normal).unwrap();
    let waiting = r.submit(headers(80, 1), Priority::Normal).unwrap();
    let easy = r.submit(headers(10, 1), Priority::Normal).unwrap();
    // Peer 2 cannot serve 80, but it takes the request behind it.
    assert_eq!(sent(&drain(&mut r)), vec![(busy, pid(1)), (easy, pid(2))]);
    r.on_response(easy, &FetchResponse::Headers(chain(10..=10)))
        .unwrap();
    assert!(sent(&drain(&mut r)).is_empty());
    // A range update makes peer 2 capable.
    r.set_block_range(
        pid(2),
        Some(BlockRange {
            earliest: 0,
            latest: 200,
        }),
    );
    assert_eq!(sent(&drain(&mut r)), vec![(waiting, pid(2))]);
}

// ---- answers ---------------------------------------------------------------

#[test]
fn a_rule_breaking_answer_costs_reputation_and_is_retried_elsewhere() {
    let mut r = router();
    r.add_peer(pid(1), caps(None, 10));
    r.add_peer(pid(2), caps(None, 20));
    let id = r.submit(headers(5, 2), Priority::Normal).unwrap();
    assert_eq!(sent(&drain(&mut r)), vec![(id, pid(1))]);
    let too_many = FetchResponse::Headers(chain(5..=7));
    assert_eq!(
        r.on_response(id, &too_many),
        Ok(ResponseVerdict::Invalid(ResponseError::TooManyItems {
            got: 3,
            max: 2
        }))
    );
    assert_eq!(
        drain(&mut r),
        vec![
            FetchAction::Reputation {
                peer_id: pid(1),
                change: ReputationChangeKind::BadMessage
            },
            FetchAction::Send {
                request_id: id,
                peer_id: pid(2),
                request: headers(5, 2)
            }
        ]
    );
    assert_eq!(r.recent_bad(&pid(1)), Some(1));
    assert_eq!(
        r.on_response(id, &FetchResponse::Headers(chain(5..=6))),
        Ok(ResponseVerdict::Valid)
    );
    assert_eq!(r.recent_bad(&pid(2)), Some(0));
    assert_eq!(
        r.on_response(id, &FetchResponse::Headers(vec![])),
        Err(FetchError::UnknownRequest)
    );
}

#[test]
fn an_empty_answer_is_likely_bad_but_free() {
    let mut r = router();
    r.add_peer(pid(1), caps(None, 10));
    r.add_peer(pid(2), caps(None, 20));
    let id = r.submit(bodies(3, None), Priority::Normal).unwrap();
    drain(&mut r);
    assert_eq!(
        r.on_response(id, &FetchResponse::Bodies { count: 0 }),
        Ok(ResponseVerdict::Empty)
    );
    let actions = drain(&mut r);
    assert!(!actions
        .iter()
        .any(|a| matches!(a, FetchAction::Reputation { .. })));
    assert_eq!(sent(&actions), vec![(id, pid(2))]);
    assert_eq!(r.recent_bad(&pid(1)), Some(1));
    // Fewer than requested is a valid partial answer.
    assert_eq!(
        r.on_response(id, &FetchResponse::Bodies { count: 2 }),
        Ok(ResponseVerdict::Valid)
    );
}

#[test]
fn retries_end_after_max_attempts() {
    let mut r = FetchRouter::new(FetchConfig {
        max_attempts: 2,
        ..FetchConfig::default()
    });
    r.add_peer(pid(1), caps(None, 10));
    let id = r
        .submit(
            FetchRequest::Receipts {
                hashes: vec![hash_of(1)],
                range: None,
            },
            Priority::Normal,
        )
        .unwrap();
    drain(&mut r);
    // A single peer: the retry goes back to it, as no other is idle.
    r.on_response(id, &FetchResponse::Receipts { count: 2 })
        .unwrap();
    assert_eq!(sent(&drain(&mut r)), vec![(id, pid(1))]);
    r.on_response(id, &FetchResponse::Receipts { count: 0 })
        .unwrap();
    assert!(drain(&mut r).contains(&FetchAction::Failed {
        request_id: id,
        error: FetchError::AttemptsExhausted
    }));
    assert_eq!(r.in_flight() + r.queued(), 0);
}

#[test]
fn timeouts_cost_reputation_and_closed_connections_do_not() {
    let mut r = router();
    r.add_peer(pid(1), caps(None, 10));
    r.add_peer(pid(2), caps(None, 20));
    let id = r.submit(headers(1, 1), Priority::Normal).unwrap();
    drain(&mut r);
    r.on_request_failed(id, RequestFailure::Timeout).unwrap();
    assert_eq!(
        drain(&mut r),
        vec![
            FetchAction::Reputation {
                peer_id: pid(1),
                change: ReputationChangeKind::Timeout
            },
            FetchAction::Send {
                request_id: id,
                peer_id: pid(2),
                request: headers(1, 1)
            }
        ]
    );
    assert_eq!(r.recent_bad(&pid(1)), Some(1));
    r.on_request_failed(id, RequestFailure::ConnectionClosed)
        .unwrap();
    let actions = drain(&mut r);
    assert!(!actions
        .iter()
        .any(|a| matches!(a, FetchAction::Reputation { .. })));
    assert_eq!(r.recent_bad(&pid(2)), Some(0));
    assert_eq!(sent(&actions).len(), 1, "third attempt");
}

#[test]
fn an_answer_of_the_wrong_kind_is_invalid() {
    let mut r = router();
    r.add_peer(pid(1), caps(None, 10));
    let id = r.submit(headers(1, 1), Priority::Normal).unwrap();
    assert_eq!(
        r.on_response(id, &FetchResponse::Bodies { count: 1 }),
        Ok(ResponseVerdict::Invalid(ResponseError::WrongKind))
    );
}

#[test]
fn bad_history_forgets_old_outcomes() {
    let mut r = router();
    r.add_peer(pid(1), caps(None, 10));
    r.report_bad_data(pid(1), ReputationChangeKind::BadMessage);
    for n in 0..BAD_HISTORY as u64 {
        let id = r.submit(headers(n, 1), Priority::Normal).unwrap();
        let want = if n + 1 < u64::from(BAD_HISTORY) { 1 } else { 0 };
        r.on_response(id, &FetchResponse::Headers(chain(n..=n)))
            .unwrap();
        assert_eq!(
            r.recent_bad(&pid(1)),
            Some(want),
            "after {} good answers",
            n + 1
        );
    }
}

// ---- peers leaving, cancellation -------------------------------------------

#[test]
fn a_leaving_peer_hands_its_requests_on_or_fails_them() {
    let mut r = router();
    r.add_peer(pid(1), caps(Some((0, 1000)), 10));
    r.add_peer(pid(2), caps(Some((0, 100)), 20));
    let low = r.submit(headers(50, 1), Priority::Normal).unwrap();
    let high = r.submit(headers(500, 1), Priority::Normal).unwrap();
    let queued_high = r.submit(headers(600, 1), Priority::Normal).unwrap();
    assert_eq!(sent(&drain(&mut r)), vec![(low, pid(1))]);
    // Peer 2 cannot serve 500; both 500 and 600 wait for peer 1.
    assert_eq!(r.queued(), 2);
    r.remove_peer(pid(1));
    let actions = drain(&mut r);
    assert_eq!(sent(&actions), vec![(low, pid(2))]);
    assert!(actions.contains(&FetchAction::Failed {
        request_id: high,
        error: FetchError::NoCapablePeer
    }));
    assert!(actions.contains(&FetchAction::Failed {
        request_id: queued_high,
        error: FetchError::NoCapablePeer
    }));
    assert_eq!((r.queued(), r.in_flight()), (0, 1));
}

#[test]
fn cancelled_requests_are_dropped() {
    let mut r = router();
    r.add_peer(pid(1), caps(None, 10));
    let a = r.submit(headers(1, 1), Priority::Normal).unwrap();
    let b = r.submit(headers(2, 1), Priority::Normal).unwrap();
    drain(&mut r);
    r.cancel(b);
    assert_eq!(r.queued(), 0);
    r.cancel(a);
    // The in-flight one keeps the peer busy until its answer, then nothing is retried.
    let c = r.submit(headers(3, 1), Priority::Normal).unwrap();
    assert!(sent(&drain(&mut r)).is_empty());
    r.on_response(a, &FetchResponse::Headers(vec![])).unwrap();
    assert_eq!(sent(&drain(&mut r)), vec![(c, pid(1))]);
}

// ---- structural checks -----------------------------------------------------

#[test]
fn header_checks_follow_start_stride_and_links() {
    let fwd = GetBlockHeaders {
        start: BlockHashOrNumber::Number(10),
        limit: 3,
        skip: 0,
        reverse: false,
    };
    assert_eq!(check_headers(&fwd, &chain(10..=12)), ResponseVerdict::Valid);
    assert_eq!(check_headers(&fwd, &chain(10..=11)), ResponseVerdict::Valid);
    assert_eq!(check_headers(&fwd, &[]), ResponseVerdict::Empty);
    assert_eq!(
        check_headers(&fwd, &chain(11..=13)),
        ResponseVerdict::Invalid(ResponseError::WrongStart)
    );
    let mut broken = chain(10..=12);
    broken[2].parent_hash = B256::ZERO;
    assert_eq!(
        check_headers(&fwd, &broken),
        ResponseVerdict::Invalid(ResponseError::BrokenLink { index: 2 })
    );
    let gap = vec![header(10), header(12)];
    assert_eq!(
        check_headers(&fwd, &gap),
        ResponseVerdict::Invalid(ResponseError::WrongNumber { index: 1 })
    );
    // Reverse: each header is the parent of the one before it.
    let rev = GetBlockHeaders {
        reverse: true,
        ..fwd
    };
    let down: Vec<_> = chain(8..=10).into_iter().rev().collect();
    assert_eq!(check_headers(&rev, &down), ResponseVerdict::Valid);
    let mut down_broken = down.clone();
    down_broken[0].parent_hash = B256::ZERO;
    assert_eq!(
        check_headers(&rev, &down_broken),
        ResponseVerdict::Invalid(ResponseError::BrokenLink { index: 1 })
    );
    // Skipping: numbers follow the stride; links cannot be checked.
    let skip = GetBlockHeaders { skip: 4, ..fwd };
    let strided = vec![header(10), header(15), header(20)];
    assert_eq!(check_headers(&skip, &strided), ResponseVerdict::Valid);
    // By hash: the first header must have that hash.
    let by_hash = GetBlockHeaders {
        start: BlockHashOrNumber::Hash(hash_of(10)),
        ..fwd
    };
    assert_eq!(
        check_headers(&by_hash, &chain(10..=12)),
        ResponseVerdict::Valid
    );
    assert_eq!(
        check_headers(&by_hash, &chain(9..=11)),
        ResponseVerdict::Invalid(ResponseError::WrongStart)
    );
    // Limit 0: an empty answer is right.
    assert_eq!(
        check_headers(&GetBlockHeaders { limit: 0, ..fwd }, &[]),
        ResponseVerdict::Valid
    );
}

#[test]
fn count_checks_bound_bodies_and_receipts() {
    assert_eq!(check_count(3, 3), ResponseVerdict::Valid);
    assert_eq!(check_count(3, 1), ResponseVerdict::Valid);
    assert_eq!(check_count(3, 0), ResponseVerdict::Empty);
    assert_eq!(check_count(0, 0), ResponseVerdict::Valid);
    assert_eq!(
        check_count(3, 4),
        ResponseVerdict::Invalid(ResponseError::TooManyItems { got: 4, max: 3 })
    );
}

/// A header encoded field by field, as every fork lays out its first nine.
fn encode_header(parent: B256, number: u64, extra_fields: usize) -> Vec<u8> {
    let mut payload = Vec::new();
    parent.encode(&mut payload);
    B256::repeat_byte(1).encode(&mut payload); // ommers
    alloy_primitives::Address::repeat_byte(2).encode(&mut payload); // coinbase
    for b in 3..6u8 {
        B256::repeat_byte(b).encode(&mut payload); // state, tx, receipt roots
    }
    alloy_primitives::Bytes::from(vec![0u8; 256]).encode(&mut payload); // bloom
    U256::from(17u64).encode(&mut payload); // difficulty
    number.encode(&mut payload);
    for i in 0..extra_fields {
        (i as u64).encode(&mut payload);
    }
    let mut out = Vec::new();
    alloy_rlp::Header {
        list: true,
        payload_length: payload.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(&payload);
    out
}

#[test]
fn header_summary_reads_parent_number_and_hash() {
    let raw = encode_header(B256::repeat_byte(0xab), 1_234_567, 7);
    let s = HeaderSummary::from_rlp(&raw).unwrap();
    assert_eq!(s.parent_hash, B256::repeat_byte(0xab));
    assert_eq!(s.number, 1_234_567);
    assert_eq!(s.hash, alloy_primitives::keccak256(&raw));
    let mut trailing = raw.clone();
    trailing.push(0);
    assert_eq!(
        HeaderSummary::from_rlp(&trailing),
        Err(HeaderDecodeError::TrailingBytes(1))
    );
    for cut in [0, 1, 40, raw.len() - 1] {
        assert!(
            HeaderSummary::from_rlp(&raw[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    assert!(
        HeaderSummary::from_rlp(&[0x83, 1, 2, 3]).is_err(),
        "a string is no header"
    );
}

// ---- measurement -------------------------------------------------------------

/// Routing decisions per second with 50 peers and 1,000 requests outstanding
/// (at most 150 in flight, one per peer and kind; the rest queued). Each step
/// answers the oldest request in flight (which routes a queued one to the
/// freed peer) and submits a new one. Prints one JSON line.
///
/// `cargo test -p ethp2p-network --lib routing_throughput -- --ignored --nocapture`
#[test]
#[ignore = "measurement; prints JSON"]
fn routing_throughput() {
    use rand::{rngs::StdRng, Rng, SeedableRng};
    const PEERS: u8 = 50;
    const OUTSTANDING: usize = 1000;
    const STEPS: usize = 100_000;
    let mut rng = StdRng::seed_from_u64(42);
    let mut r = FetchRouter::new(FetchConfig {
        max_requests: 2 * OUTSTANDING,
        max_attempts: 3,
    });
    for n in 0..PEERS {
        let latest = rng.random_range(900_000..1_000_000);
        let earliest = if n % 5 == 0 { 500_000 } else { 0 };
        r.add_peer(
            pid(n),
            caps(Some((earliest, latest)), rng.random_range(20..400)),
        );
    }
    let new_request = |rng: &mut StdRng| -> FetchRequest {
        let block = rng.random_range(0..900_000u64);
        match rng.random_range(0..3u8) {
            0 => headers(block, 1),
            1 => bodies(1, Some((block, block))),
            _ => FetchRequest::Receipts {
                hashes: vec![hash_of(block)],
                range: Some(BlockRange {
                    earliest: block,
                    latest: block,
                }),
            },
        }
    };
    // The valid answer to each request, kept by the test.
    let mut answers = std::collections::HashMap::new();
    let answer_for = |req: &FetchRequest| match req {
        FetchRequest::Headers(h) => match h.start {
            BlockHashOrNumber::Number(n) => FetchResponse::Headers(vec![header(n)]),
            BlockHashOrNumber::Hash(_) => FetchResponse::Headers(vec![]),
        },
        FetchRequest::Bodies { .. } => FetchResponse::Bodies { count: 1 },
        _ => FetchResponse::Receipts { count: 1 },
    };
    let mut in_flight = VecDeque::new();
    let collect = |r: &mut FetchRouter, in_flight: &mut VecDeque<RequestId>| {
        let mut n = 0;
        while let Some(a) = r.poll_action() {
            if let FetchAction::Send { request_id, .. } = a {
                in_flight.push_back(request_id);
                n += 1;
            }
        }
        n
    };
    for _ in 0..OUTSTANDING {
        let req = new_request(&mut rng);
        let priority = if rng.random_range(0..10u8) == 0 {
            Priority::High
        } else {
            Priority::Normal
        };
        let answer = answer_for(&req);
        let id = r.submit(req, priority).unwrap();
        answers.insert(id, answer);
    }
    collect(&mut r, &mut in_flight);
    let in_flight_start = r.in_flight();
    let mut routed = 0usize;
    let started = std::time::Instant::now();
    for _ in 0..STEPS {
        let id = in_flight.pop_front().expect("requests in flight");
        let answer = answers.remove(&id).expect("answer kept");
        assert_eq!(r.on_response(id, &answer), Ok(ResponseVerdict::Valid));
        let req = new_request(&mut rng);
        let answer = answer_for(&req);
        let id = r.submit(req, Priority::Normal).unwrap();
        answers.insert(id, answer);
        routed += collect(&mut r, &mut in_flight);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "measurement": "fetch_routing",
            "peers": PEERS,
            "outstanding": OUTSTANDING,
            "in_flight": in_flight_start,
            "queued_end": r.queued(),
            "steps": STEPS,
            "routing_decisions": routed,
            "seconds": secs,
            "decisions_per_sec": routed as f64 / secs,
            "steps_per_sec": STEPS as f64 / secs,
        })
    );
}

// ---- random driving: slots, queue and requests stay in step --------------------

fn assert_router_consistent(r: &FetchRouter) {
    let queued: Vec<RequestId> = r.high.iter().chain(r.normal.iter()).copied().collect();
    for id in &queued {
        let e = r.requests.get(id).expect("queued request exists");
        assert!(e.peer.is_none(), "queued and in flight");
        // The routing invariant: nothing waits while an idle peer could serve it.
        assert!(
            r.best_idle_peer(&e.request, &[]).is_none(),
            "{id:?} waits beside an idle capable peer"
        );
    }
    let mut sorted = queued.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), queued.len(), "queued twice");
    for (id, e) in &r.requests {
        match e.peer {
            Some(p) => {
                let slot = r.peers.get(&p).expect("in flight on a known peer");
                assert_eq!(slot.in_flight[e.request.kind().index()], Some(*id));
            }
            None => assert!(queued.contains(id), "{id:?} neither queued nor in flight"),
        }
    }
    for (p, slot) in &r.peers {
        for id in slot.in_flight.iter().flatten() {
            assert_eq!(r.requests.get(id).and_then(|e| e.peer), Some(*p));
        }
    }
    assert!(r.requests.len() <= r.config.max_requests);
    // The idle counts that let a submission skip the peer scan.
    for kind in RequestKind::ALL {
        let idle = r
            .peers
            .values()
            .filter(|p| p.in_flight[kind.index()].is_none())
            .count();
        assert_eq!(r.idle[kind.index()], idle, "{kind:?} idle count");
    }
}

/// Random peers joining and leaving, range updates, submissions, answers
/// (good, empty, invalid), failures and cancellations.
#[test]
fn routing_state_stays_consistent_under_random_events() {
    use rand::{rngs::StdRng, Rng, SeedableRng};
    for seed in 0..20u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut r = FetchRouter::new(FetchConfig {
            max_requests: 16,
            max_attempts: 3,
        });
        let mut sent_ids: Vec<RequestId> = Vec::new();
        let (mut sends, mut fails) = (0, 0);
        for _ in 0..3000 {
            let n: u8 = rng.random_range(0..8);
            match rng.random_range(0..10u8) {
                0 => {
                    let latest = rng.random_range(0..200);
                    let range = (rng.random_range(0..3u8) > 0).then_some((latest / 2, latest));
                    r.add_peer(pid(n), caps(range, rng.random_range(1..100)));
                }
                1 => r.remove_peer(pid(n)),
                2 => {
                    let latest = rng.random_range(0..200);
                    r.set_block_range(
                        pid(n),
                        Some(BlockRange {
                            earliest: 0,
                            latest,
                        }),
                    );
                }
                3 | 4 => {
                    let block = rng.random_range(0..200);
                    let req = match rng.random_range(0..3u8) {
                        0 => headers(block, rng.random_range(0..4)),
                        1 => bodies(rng.random_range(0..3), Some((block, block))),
                        _ => FetchRequest::Receipts {
                            hashes: vec![hash_of(block)],
                            range: None,
                        },
                    };
                    let priority = if rng.random_range(0..2u8) == 0 {
                        Priority::High
                    } else {
                        Priority::Normal
                    };
                    let _ = r.submit(req, priority);
                }
                5 | 6 if !sent_ids.is_empty() => {
                    let id = sent_ids.swap_remove(rng.random_range(0..sent_ids.len()));
                    let answer = match rng.random_range(0..4u8) {
                        0 => FetchResponse::Headers(vec![]),
                        1 => FetchResponse::Bodies { count: 1 },
                        2 => FetchResponse::Receipts { count: 5 },
                        _ => FetchResponse::Headers(chain(1..=2)),
                    };
                    let _ = r.on_response(id, &answer);
                }
                7 if !sent_ids.is_empty() => {
                    let id = sent_ids.swap_remove(rng.random_range(0..sent_ids.len()));
                    let f = if rng.random_range(0..2u8) == 0 {
                        RequestFailure::Timeout
                    } else {
                        RequestFailure::ConnectionClosed
                    };
                    let _ = r.on_request_failed(id, f);
                }
                8 => {
                    let id = RequestId(rng.random_range(0..r.next_id.max(1)));
                    r.cancel(id);
                }
                _ => r.report_bad_data(pid(n), ReputationChangeKind::BadMessage),
            }
            while let Some(a) = r.poll_action() {
                match a {
                    FetchAction::Send { request_id, .. } => {
                        sent_ids.push(request_id);
                        sends += 1;
                    }
                    FetchAction::Failed { .. } => fails += 1,
                    _ => {}
                }
            }
            assert_router_consistent(&r);
        }
        assert!(sends > 200 && fails > 10, "{sends} {fails}");
    }
}
