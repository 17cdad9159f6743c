//! Building a tree's TXT records from node records and links: what a list
//! operator publishes, and what the tests serve.

use std::collections::BTreeMap;

use secp256k1::SecretKey;

use crate::tree::{BranchEntry, EntryHash, LinkEntry, RootEntry};
use crate::Enr;

/// Children per branch the builder uses (geth's builder uses 13, which keeps a
/// branch of 26-character hashes under 370 bytes).
pub const BRANCH_WIDTH: usize = 13;

/// A signed tree: its root and every other record by subdomain label.
#[derive(Debug, Clone)]
pub struct Zone {
    /// The signed root (served at the tree's domain).
    pub root: RootEntry,
    /// `label → TXT text`, served at `<label>.<domain>`.
    pub records: BTreeMap<String, String>,
}

impl Zone {
    /// Builds and signs the tree of `enrs` and `links`.
    pub fn build(enrs: &[Enr], links: &[LinkEntry], seq: u64, key: &SecretKey) -> Self {
        let enrs = enrs.iter().map(|e| e.to_base64()).collect::<Vec<_>>();
        let links = links.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        Self::from_leaves(&enrs, &links, seq, key, BRANCH_WIDTH)
    }

    /// Builds and signs a tree from leaf texts taken as given (tests use this
    /// to publish records a real builder would not). `width` is clamped to 1..=24.
    pub fn from_leaves(
        enr_leaves: &[String],
        link_leaves: &[String],
        seq: u64,
        key: &SecretKey,
        width: usize,
    ) -> Self {
        let mut records = BTreeMap::new();
        let width = width.clamp(1, crate::tree::MAX_BRANCH_WIDTH);
        let enr_root = subtree(enr_leaves, width, &mut records);
        let link_root = subtree(link_leaves, width, &mut records);
        Self {
            root: RootEntry::sign(enr_root, link_root, seq, key),
            records,
        }
    }

    /// The TXT text at `label` (a subdomain hash), if the tree has one.
    pub fn get(&self, label: &str) -> Option<&str> {
        self.records.get(label).map(String::as_str)
    }
}

/// Adds the leaves and the branches above them; returns the subtree's root hash.
fn subtree(leaves: &[String], width: usize, records: &mut BTreeMap<String, String>) -> EntryHash {
    let mut level: Vec<EntryHash> = leaves
        .iter()
        .map(|text| add(records, text.clone()))
        .collect();
    loop {
        let branches: Vec<EntryHash> = level
            .chunks(width)
            .map(|children| {
                let branch = BranchEntry {
                    children: children.to_vec(),
                };
                add(records, branch.to_string())
            })
            .collect();
        match branches.as_slice() {
            [] => return add(records, BranchEntry::default().to_string()),
            [only] => return *only,
            _ => level = branches,
        }
    }
}

fn add(records: &mut BTreeMap<String, String>, text: String) -> EntryHash {
    let hash = EntryHash::of_record(&text);
    records.insert(hash.to_string(), text);
    hash
}
