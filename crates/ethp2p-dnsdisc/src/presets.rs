//! The public node lists of the Ethereum chains.
//!
//! The Ethereum Foundation publishes one tree per chain at
//! `all.<chain>.ethdisco.net`, all signed by one key (the trees geth uses).

use crate::tree::LinkEntry;

/// The key signing every `*.ethdisco.net` tree, base32 of the compressed point.
pub const ETHDISCO_KEY: &str = "AKA3AM6LPBYEUDMVNU3BSVQJ5AD45Y7YPOHJLEF6W26QOE4VTUDPE";

/// Chains with a public tree, by the names [`chain_tree`] accepts.
pub const CHAINS: [&str; 4] = ["mainnet", "sepolia", "holesky", "hoodi"];

/// The `enrtree://` URL of a chain's public tree (`mainnet`, `sepolia`,
/// `holesky`, `hoodi`; case-insensitive), or `None` for other names.
pub fn chain_tree_url(chain: &str) -> Option<String> {
    let chain = CHAINS.into_iter().find(|c| c.eq_ignore_ascii_case(chain))?;
    Some(format!("enrtree://{ETHDISCO_KEY}@all.{chain}.ethdisco.net"))
}

/// The parsed [`chain_tree_url`].
pub fn chain_tree(chain: &str) -> Option<LinkEntry> {
    chain_tree_url(chain)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chain_has_a_valid_url() {
        for chain in CHAINS {
            let link = chain_tree(chain).expect("preset parses");
            assert_eq!(link.domain, format!("all.{chain}.ethdisco.net"));
            assert_eq!(link.to_string(), chain_tree_url(chain).unwrap());
        }
        assert_eq!(
            chain_tree("Mainnet").unwrap().domain,
            "all.mainnet.ethdisco.net"
        );
        assert!(chain_tree("goerli").is_none());
        assert!(chain_tree("").is_none());
    }

    #[test]
    fn all_presets_share_one_key() {
        let keys: Vec<_> = CHAINS
            .iter()
            .map(|c| chain_tree(c).unwrap().public_key)
            .collect();
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
    }
}
