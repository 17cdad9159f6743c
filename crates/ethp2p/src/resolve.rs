//! Host names in `enode://` URLs, resolved to an IP as geth does: the first
//! IPv4 address of the name, else its first IPv6 address. The name is looked
//! up once, when the URL is given (flags at start-up, `admin_addPeer` when
//! called); the node then dials the IP.

use ethp2p_rlpx::{EnodeUrl, NodeRecord};
use std::net::{IpAddr, SocketAddr};

/// The address to use among a name's addresses: IPv4 first.
fn pick(addrs: impl Iterator<Item = SocketAddr>) -> Option<IpAddr> {
    let all: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
    all.iter()
        .find(|ip| ip.is_ipv4())
        .or_else(|| all.first())
        .copied()
}

fn failed(name: &str, why: &dyn std::fmt::Display) -> String {
    format!("cannot resolve host {name}: {why}; use an IP address")
}

/// Resolves `url` with the system resolver, blocking (start-up only).
pub(crate) fn resolve_blocking(url: &EnodeUrl) -> Result<NodeRecord, String> {
    let Some(name) = url.host_name() else {
        return url.record().ok_or_else(|| "no host".to_string());
    };
    let addrs = std::net::ToSocketAddrs::to_socket_addrs(&(name, url.tcp_port))
        .map_err(|e| failed(name, &e))?;
    pick(addrs)
        .map(|ip| url.with_ip(ip))
        .ok_or_else(|| failed(name, &"no address"))
}

/// Resolves `url` on the tokio runtime.
pub(crate) async fn resolve(url: &EnodeUrl) -> Result<NodeRecord, String> {
    let Some(name) = url.host_name() else {
        return url.record().ok_or_else(|| "no host".to_string());
    };
    let addrs = tokio::net::lookup_host((name, url.tcp_port))
        .await
        .map_err(|e| failed(name, &e))?;
    pick(addrs)
        .map(|ip| url.with_ip(ip))
        .ok_or_else(|| failed(name, &"no address"))
}

/// Resolves every URL of a flag; the error names the flag.
pub(crate) fn resolve_all(urls: &[EnodeUrl], flag: &str) -> Result<Vec<NodeRecord>, String> {
    urls.iter()
        .map(|u| resolve_blocking(u).map_err(|e| format!("{flag}: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str) -> EnodeUrl {
        let id = ethp2p_rlpx::key::peer_id_from_secret_key(&ethp2p_rlpx::generate_secret_key());
        format!("enode://{}@{host}:30303", hex::encode(id))
            .parse()
            .unwrap()
    }

    #[test]
    fn ipv4_is_preferred() {
        let addrs: Vec<SocketAddr> =
            vec!["[::1]:1".parse().unwrap(), "127.0.0.1:1".parse().unwrap()];
        assert_eq!(pick(addrs.into_iter()), Some("127.0.0.1".parse().unwrap()));
        let v6: Vec<SocketAddr> = vec!["[::1]:1".parse().unwrap()];
        assert_eq!(pick(v6.into_iter()), Some("::1".parse().unwrap()));
        assert_eq!(pick(std::iter::empty()), None);
    }

    #[test]
    fn localhost_resolves_and_ips_pass_through() {
        let r = resolve_blocking(&url("localhost")).unwrap();
        assert!(r.address.is_loopback(), "{r}");
        assert_eq!(r.tcp_port, 30303);
        let r = resolve_blocking(&url("10.1.2.3")).unwrap();
        assert_eq!(r.address, "10.1.2.3".parse::<IpAddr>().unwrap());
    }

    #[tokio::test]
    async fn an_unknown_name_says_how_to_fix_it() {
        // `.invalid` never resolves (RFC 2606).
        let e = resolve(&url("no-such-host.invalid")).await.unwrap_err();
        assert!(
            e.starts_with("cannot resolve host no-such-host.invalid"),
            "{e}"
        );
        assert!(e.ends_with("use an IP address"), "{e}");
        let r = resolve(&url("localhost")).await.unwrap();
        assert!(r.address.is_loopback());
    }
}
