//! TXT lookups: the [`TxtResolver`] trait the driver calls, and its
//! implementation on `hickory-resolver`.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;

use crate::sync::{LookupError, MAX_TXT_RECORDS};

/// Resolves the TXT records of a name.
#[async_trait]
pub trait TxtResolver: Send + Sync + 'static {
    /// The TXT records at `name` (a fully qualified name without the trailing
    /// dot), one string per record with its character-strings joined.
    /// Implementations should return at most [`MAX_TXT_RECORDS`] records and
    /// may drop records that are not UTF-8; the sync core refuses records
    /// longer than [`MAX_RECORD_LEN`](crate::tree::MAX_RECORD_LEN) itself.
    async fn lookup_txt(&self, name: &str) -> Result<Vec<String>, LookupError>;
}

/// [`TxtResolver`] on hickory's stub resolver.
#[derive(Clone)]
pub struct HickoryResolver {
    inner: TokioResolver,
}

impl std::fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HickoryResolver").finish_non_exhaustive()
    }
}

/// Per-attempt timeout hickory uses (the sync core has its own overall one).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

impl HickoryResolver {
    /// Uses the system's resolver configuration (`/etc/resolv.conf` on Unix).
    pub fn system() -> Result<Self, LookupError> {
        let mut builder = TokioResolver::builder_tokio()
            .map_err(|e| LookupError::Failed(format!("system resolver configuration: {e}")))?;
        builder.options_mut().timeout = ATTEMPT_TIMEOUT;
        let inner = builder
            .build()
            .map_err(|e| LookupError::Failed(e.to_string()))?;
        Ok(Self { inner })
    }

    /// Sends every query to the DNS server at `server` (UDP, TCP when truncated).
    pub fn with_server(server: SocketAddr) -> Result<Self, LookupError> {
        let mut udp = ConnectionConfig::udp();
        udp.port = server.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = server.port();
        let ns = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
        let config = ResolverConfig::from_name_servers(vec![ns]);
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        builder.options_mut().timeout = ATTEMPT_TIMEOUT;
        let inner = builder
            .build()
            .map_err(|e| LookupError::Failed(e.to_string()))?;
        Ok(Self { inner })
    }
}

#[async_trait]
impl TxtResolver for HickoryResolver {
    async fn lookup_txt(&self, name: &str) -> Result<Vec<String>, LookupError> {
        // A trailing dot makes the name absolute: no search-domain attempts.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let lookup = self.inner.txt_lookup(fqdn).await.map_err(|e| {
            if e.is_no_records_found() || e.is_nx_domain() {
                LookupError::NotFound
            } else {
                LookupError::Failed(e.to_string())
            }
        })?;
        let mut out = Vec::new();
        for record in lookup.answers() {
            if out.len() == MAX_TXT_RECORDS {
                break;
            }
            let RData::TXT(txt) = &record.data else {
                continue;
            };
            // A record can be no longer than its DNS message (64 KiB); the core
            // refuses any over MAX_RECORD_LEN before hashing it.
            let len: usize = txt.txt_data.iter().map(|s| s.len()).sum();
            let mut joined = Vec::with_capacity(len);
            for s in txt.txt_data.iter() {
                joined.extend_from_slice(s);
            }
            if let Ok(text) = String::from_utf8(joined) {
                out.push(text);
            }
        }
        if out.is_empty() {
            return Err(LookupError::NotFound);
        }
        Ok(out)
    }
}
