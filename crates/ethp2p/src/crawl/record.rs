//! What the crawl learnt about each node, bounded, and its two output shapes:
//! one JSON line per node, and geth's `devp2p crawl` `nodes.json` set.

use alloy_primitives::keccak256;
use ethp2p_discv4::Enr;
use ethp2p_eth::forkid::ForkId;
use ethp2p_rlpx::{NodeRecord, PeerId};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Most nodes one crawl remembers; nodes learnt beyond it are ignored (and
/// counted). At a few hundred bytes per node (its ENR included) this keeps a
/// crawl under ~100 MB; the public mainnet discv4 network has far fewer
/// reachable nodes.
pub(crate) const MAX_NODES: usize = 100_000;

/// What the RLPx Hello said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HelloInfo {
    /// The client id string.
    pub(crate) client_id: String,
    /// Its capabilities, `name/version`.
    pub(crate) caps: Vec<String>,
}

/// What the eth Status said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusInfo {
    /// The negotiated eth version.
    pub(crate) eth_version: u8,
    /// Its network id.
    pub(crate) network_id: u64,
    /// Its genesis hash, `0x…`.
    pub(crate) genesis: String,
    /// Its head hash (best hash before eth/69, latest block hash from it).
    pub(crate) head: String,
    /// Its head block number (eth/69 and later only).
    pub(crate) head_number: Option<u64>,
}

/// One node of the crawl.
#[derive(Debug, Clone)]
pub(crate) struct CrawledNode {
    /// Its id and endpoint (the verified one once it answered).
    pub(crate) record: NodeRecord,
    /// Its ENR, if it answered the ENRRequest.
    pub(crate) enr: Option<Enr>,
    /// The fork id of the ENR's `eth` entry.
    pub(crate) fork_id: Option<ForkId>,
    /// When the crawl first heard of it (unix seconds).
    pub(crate) first_seen: u64,
    /// When it first and last answered (Pong and ENR, or the RLPx dial).
    pub(crate) first_response: Option<u64>,
    /// See `first_response`.
    pub(crate) last_response: Option<u64>,
    /// When we last tried to reach it.
    pub(crate) last_check: Option<u64>,
    /// Hello, if dialed (`--rlpx`) and it got that far.
    pub(crate) hello: Option<HelloInfo>,
    /// Status, if dialed and it got that far.
    pub(crate) status: Option<StatusInfo>,
    /// What went wrong, if anything.
    pub(crate) error: Option<String>,
}

impl CrawledNode {
    fn new(record: NodeRecord, now: u64) -> Self {
        Self {
            record,
            enr: None,
            fork_id: None,
            first_seen: now,
            first_response: None,
            last_response: None,
            last_check: Some(now),
            hello: None,
            status: None,
            error: None,
        }
    }

    /// Records an answer at `now`.
    pub(crate) fn responded(&mut self, now: u64) {
        self.first_response.get_or_insert(now);
        self.last_response = Some(now);
        self.last_check = Some(now);
    }

    /// The node's line of the crawl output.
    pub(crate) fn to_line(&self) -> Value {
        let r = &self.record;
        let (ip, tcp, udp) = endpoint(r, self.enr.as_ref());
        json!({
            "id": hex::encode(r.id),
            "enode": NodeRecord { address: ip, tcp_port: tcp, udp_port: udp, ..*r }.to_string(),
            "enr": self.enr.as_ref().map(|e| e.to_base64()),
            "seq": self.enr.as_ref().map(|e| e.seq()),
            "ip": ip.to_string(),
            "tcp": tcp,
            "udp": udp,
            "fork_id": self.fork_id.map(|f| json!({ "hash": f.hash.to_string(), "next": f.next })),
            "client_id": self.hello.as_ref().map(|h| h.client_id.clone()),
            "caps": self.hello.as_ref().map(|h| h.caps.clone()),
            "eth_version": self.status.as_ref().map(|s| s.eth_version),
            "network_id": self.status.as_ref().map(|s| s.network_id),
            "genesis": self.status.as_ref().map(|s| s.genesis.clone()),
            "head": self.status.as_ref().map(|s| s.head.clone()),
            "head_number": self.status.as_ref().and_then(|s| s.head_number),
            "first_seen": self.first_seen,
            "last_seen": self.last_response,
            "error": self.error,
        })
    }

    /// The node's entry of a `nodes.json` set; `None` without an ENR (the
    /// set holds signed records only).
    fn nodes_json_entry(&self) -> Option<Value> {
        let enr = self.enr.as_ref()?;
        let mut v = Map::new();
        v.insert("seq".into(), enr.seq().into());
        v.insert("record".into(), enr.to_base64().into());
        // geth's score counts passed liveness checks; one crawl checks once.
        if self.last_response.is_some() {
            v.insert("score".into(), 1.into());
        }
        for (key, t) in [
            ("firstResponse", self.first_response),
            ("lastResponse", self.last_response),
            ("lastCheck", self.last_check),
        ] {
            if let Some(t) = t {
                v.insert(key.into(), rfc3339(t).into());
            }
        }
        Some(Value::Object(v))
    }
}

/// The endpoint to show: the ENR's IPv4 address and ports when it has them,
/// else the discovery record's.
fn endpoint(r: &NodeRecord, enr: Option<&Enr>) -> (std::net::IpAddr, u16, u16) {
    match enr {
        Some(e) => (
            e.ip4().map(std::net::IpAddr::V4).unwrap_or(r.address),
            e.tcp4().unwrap_or(r.tcp_port),
            e.udp4().unwrap_or(r.udp_port),
        ),
        None => (r.address, r.tcp_port, r.udp_port),
    }
}

/// geth's node id: keccak256 of the 64-byte public key, 64 hex characters.
pub(crate) fn node_id(id: &PeerId) -> String {
    hex::encode(keccak256(id))
}

/// The nodes of a crawl, keyed by id, in the order they were learnt;
/// at most [`MAX_NODES`].
#[derive(Debug, Default)]
pub(crate) struct NodeSet {
    nodes: HashMap<PeerId, CrawledNode>,
    order: Vec<PeerId>,
    /// Nodes not kept because the set was full.
    pub(crate) overflow: u64,
    cap: usize,
}

impl NodeSet {
    /// An empty set holding up to `cap` nodes.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            ..Default::default()
        }
    }

    /// Learns `record` at `now`; whether it was new (and kept).
    pub(crate) fn learn(&mut self, record: NodeRecord, now: u64) -> bool {
        if self.nodes.contains_key(&record.id) {
            return false;
        }
        if self.nodes.len() >= self.cap {
            self.overflow += 1;
            return false;
        }
        self.nodes.insert(record.id, CrawledNode::new(record, now));
        self.order.push(record.id);
        true
    }

    /// Whether the node is known.
    pub(crate) fn contains(&self, id: &PeerId) -> bool {
        self.nodes.contains_key(id)
    }

    /// The node, if known.
    pub(crate) fn get_mut(&mut self, id: &PeerId) -> Option<&mut CrawledNode> {
        self.nodes.get_mut(id)
    }

    /// Number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes in the order they were learnt.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &CrawledNode> {
        self.order.iter().filter_map(|id| self.nodes.get(id))
    }

    /// The set in geth's `nodes.json` shape: an object keyed by node id
    /// (keccak256 of the public key, hex) whose values hold `seq`, `record`
    /// (`enr:…`), `score`, `firstResponse`, `lastResponse` and `lastCheck`
    /// (RFC 3339 UTC). Nodes without an ENR are left out.
    pub(crate) fn nodes_json(&self) -> Value {
        let mut out = Map::new();
        for n in self.iter() {
            if let Some(entry) = n.nodes_json_entry() {
                out.insert(node_id(&n.record.id), entry);
            }
        }
        Value::Object(out)
    }
}

/// Unix seconds as RFC 3339 UTC (`2006-01-02T15:04:05Z`), as Go writes a
/// `time.Time` in UTC.
pub(crate) fn rfc3339(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01: shift the
/// epoch to 0000-03-01 so leap days end each 400-year era's years.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365, from March 1st
    let mp = (5 * doy + 2) / 153; // 0 = March
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ethp2p_discv4::enr::{LocalEnr, LocalEnrFields};
    use std::net::{IpAddr, Ipv4Addr};

    fn record(n: u8) -> NodeRecord {
        NodeRecord {
            id: PeerId::repeat_byte(n),
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)),
            tcp_port: 30303,
            udp_port: 30301,
        }
    }

    fn signed_enr() -> (Enr, PeerId) {
        let key = ethp2p_rlpx::generate_secret_key();
        let fork_id = ForkId {
            hash: ethp2p_eth::forkid::ForkHash([0xfc, 0x64, 0xec, 0x04]),
            next: 1_150_000,
        };
        let local = LocalEnr::new(
            &key,
            7,
            LocalEnrFields {
                ip: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
                tcp: 30305,
                udp: 30306,
                fork_id: Some(fork_id),
            },
        )
        .unwrap();
        (
            local.record().clone(),
            ethp2p_rlpx::key::peer_id_from_secret_key(&key),
        )
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2000-02-29 (a leap day of a year divisible by 400).
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        // 2100 is not a leap year: Feb 28th is followed by Mar 1st.
        assert_eq!(rfc3339(4_107_456_000), "2100-02-28T00:00:00Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn line_of_a_node_without_answer_has_nulls_and_the_error() {
        let mut set = NodeSet::new(10);
        assert!(set.learn(record(1), 100));
        set.get_mut(&record(1).id).unwrap().error = Some("no pong".into());
        let line = set.iter().next().unwrap().to_line();
        assert_eq!(line["id"], hex::encode(PeerId::repeat_byte(1)));
        assert_eq!(line["ip"], "10.0.0.1");
        assert_eq!(
            (line["tcp"].as_u64(), line["udp"].as_u64()),
            (Some(30303), Some(30301))
        );
        assert_eq!(line["first_seen"], 100);
        for key in [
            "enr",
            "fork_id",
            "client_id",
            "caps",
            "network_id",
            "head",
            "last_seen",
        ] {
            assert!(line[key].is_null(), "{key}: {line}");
        }
        assert_eq!(line["error"], "no pong");
        assert!(line["enode"]
            .as_str()
            .unwrap()
            .ends_with("@10.0.0.1:30303?discport=30301"));
        // No ENR: not in nodes.json.
        assert_eq!(set.nodes_json(), json!({}));
    }

    #[test]
    fn line_and_nodes_json_of_a_node_with_enr_and_status() {
        let (enr, id) = signed_enr();
        let mut set = NodeSet::new(10);
        let r = NodeRecord { id, ..record(2) };
        set.learn(r, 1_700_000_000);
        let n = set.get_mut(&id).unwrap();
        n.fork_id = ethp2p_discv4::enr::eth_fork_id(&enr).unwrap();
        n.enr = Some(enr.clone());
        n.responded(1_700_000_001);
        n.responded(1_700_000_005);
        n.hello = Some(HelloInfo {
            client_id: "Geth/v1".into(),
            caps: vec!["eth/68".into(), "snap/1".into()],
        });
        n.status = Some(StatusInfo {
            eth_version: 69,
            network_id: 1,
            genesis: "0xd4e5".into(),
            head: "0xabcd".into(),
            head_number: Some(42),
        });
        let line = set.iter().next().unwrap().to_line();
        // The ENR's endpoint wins over the discovery record's.
        assert_eq!(line["ip"], "192.0.2.1");
        assert_eq!(
            (line["tcp"].as_u64(), line["udp"].as_u64()),
            (Some(30305), Some(30306))
        );
        assert_eq!(line["enr"], enr.to_base64());
        assert_eq!(line["seq"], 7);
        assert_eq!(
            line["fork_id"],
            json!({ "hash": "0xfc64ec04", "next": 1_150_000 })
        );
        assert_eq!(line["client_id"], "Geth/v1");
        assert_eq!(line["caps"], json!(["eth/68", "snap/1"]));
        assert_eq!(
            (line["network_id"].as_u64(), line["eth_version"].as_u64()),
            (Some(1), Some(69))
        );
        assert_eq!(
            (line["head"].as_str(), line["head_number"].as_u64()),
            (Some("0xabcd"), Some(42))
        );
        assert_eq!(
            (line["first_seen"].as_u64(), line["last_seen"].as_u64()),
            (Some(1_700_000_000), Some(1_700_000_005))
        );
        assert!(line["error"].is_null());

        let set_json = set.nodes_json();
        let key = hex::encode(keccak256(id));
        assert_eq!(set_json.as_object().unwrap().len(), 1);
        let entry = &set_json[&key];
        assert_eq!(entry["record"], enr.to_base64());
        assert_eq!(entry["seq"], 7);
        assert_eq!(entry["score"], 1);
        assert_eq!(entry["firstResponse"], "2023-11-14T22:13:21Z");
        assert_eq!(entry["lastResponse"], "2023-11-14T22:13:25Z");
        assert_eq!(entry["lastCheck"], "2023-11-14T22:13:25Z");
    }

    #[test]
    fn the_set_is_bounded_and_keeps_first_sightings() {
        let mut set = NodeSet::new(2);
        assert!(set.learn(record(1), 1));
        assert!(!set.learn(
            NodeRecord {
                tcp_port: 1,
                ..record(1)
            },
            2
        ));
        assert!(set.learn(record(2), 3));
        assert!(!set.learn(record(3), 4));
        assert_eq!((set.len(), set.overflow), (2, 1));
        let firsts: Vec<u64> = set.iter().map(|n| n.first_seen).collect();
        assert_eq!(firsts, [1, 3]);
        assert_eq!(set.iter().next().unwrap().record.tcp_port, 30303);
    }
}
