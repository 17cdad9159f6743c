//! The node's data directory: created private to the user, locked for as long
//! as the node runs, and holding the node key and the persisted static peers.
//!
//! | file                | content                                             |
//! |---------------------|-----------------------------------------------------|
//! | `LOCK`              | empty; an exclusive OS lock on it marks the directory in use |
//! | `nodekey`           | the secp256k1 node key, 64 hex characters (geth's format), mode 0600 |
//! | `static-nodes.json` | a JSON array of `enode://` URLs (geth's old static-nodes format) |
//!
//! The lock is `flock`-style (`File::try_lock`): the OS drops it when the
//! process exits, however it exits, so a crash leaves no stale lock behind.

use ethp2p_rlpx::{NodeRecord, NodeRecordParseError, SecretKey};
use std::{
    fs::{self, File, OpenOptions, TryLockError},
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

/// The lock file's name.
pub(crate) const LOCK_FILE: &str = "LOCK";
/// The node key file's name.
pub(crate) const NODEKEY_FILE: &str = "nodekey";
/// The static peers file's name.
pub(crate) const STATIC_PEERS_FILE: &str = "static-nodes.json";
/// The largest node key file read: 64 hex characters with room for a `0x`
/// prefix and surrounding whitespace.
pub(crate) const MAX_NODEKEY_BYTES: u64 = 1024;
/// The largest static peers file read (some 4000 enode URLs).
pub(crate) const MAX_STATIC_PEERS_BYTES: u64 = 1024 * 1024;

/// Why the data directory, or a file in it, could not be used. Every message
/// names the path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum DataDirError {
    /// The directory could not be created.
    #[error("cannot create data directory {}: {source}", path.display())]
    Create {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// Another process (or another `DataDir` in this one) holds the lock.
    #[error(
        "data directory {} is in use: is another ethp2p node running with --datadir {}?",
        path.display(),
        path.display()
    )]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// Locking failed for another reason (e.g. a file system without locks).
    #[error("cannot lock data directory {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// A file is larger than it can legitimately be.
    #[error("{} is larger than {max} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        max: u64,
    },
    /// The node key file does not hold a key.
    #[error("{}: not a node key: {reason}", path.display())]
    InvalidNodeKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The static peers file is not a JSON array of strings.
    #[error("{}: not a JSON array of enode URLs: {source}", path.display())]
    InvalidStaticPeers {
        /// The file.
        path: PathBuf,
        /// The JSON error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// An entry of the static peers file is not an enode URL.
    #[error("{}: entry {index} ({url:?}): {source}", path.display())]
    InvalidStaticPeer {
        /// The file.
        path: PathBuf,
        /// The entry's position, from 0.
        index: usize,
        /// The entry.
        url: String,
        /// Why it was refused.
        #[source]
        source: NodeRecordParseError,
    },
}

/// An open, locked data directory. The lock is held until this is dropped.
#[derive(Debug)]
#[must_use = "dropping the DataDir releases its lock"]
pub(crate) struct DataDir {
    path: PathBuf,
    /// Holds the lock; closing the file releases it.
    _lock: File,
}

impl DataDir {
    /// Creates `path` if needed (mode 0700 on unix; an existing directory
    /// keeps its mode) and locks it, refusing with [`DataDirError::Locked`]
    /// when another node holds it.
    pub(crate) fn open(path: impl Into<PathBuf>) -> Result<Self, DataDirError> {
        let path = path.into();
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(&path)
            .map_err(|source| DataDirError::Create {
                path: path.clone(),
                source,
            })?;

        let lock_path = path.join(LOCK_FILE);
        let lock_err = |source| DataDirError::Lock {
            path: lock_path.clone(),
            source,
        };
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(lock_err)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(DataDirError::Locked { path }),
            Err(TryLockError::Error(source)) => return Err(lock_err(source)),
        }
        tracing::debug!(datadir = %path.display(), "data directory locked");
        Ok(Self { path, _lock: lock })
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The node key from `nodekey`, created from a fresh random key on first
    /// use.
    pub(crate) fn load_or_create_nodekey(&self) -> Result<SecretKey, DataDirError> {
        self.load_or_create_nodekey_with(ethp2p_rlpx::generate_secret_key)
    }

    /// The node key from `nodekey`; when there is none, `generate` makes one,
    /// which is written there (created with mode 0600 on unix, never wider)
    /// before it is returned.
    pub(crate) fn load_or_create_nodekey_with(
        &self,
        generate: impl FnOnce() -> SecretKey,
    ) -> Result<SecretKey, DataDirError> {
        let path = self.path.join(NODEKEY_FILE);
        match read_nodekey_file(&path) {
            Err(DataDirError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
            other => return other,
        }
        let key = generate();
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let write_err = |source| DataDirError::Write {
            path: path.clone(),
            source,
        };
        let mut file = options.open(&path).map_err(write_err)?;
        file.write_all(hex::encode(key.secret_bytes()).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(write_err)?;
        tracing::info!(path = %path.display(), "created a new node key");
        Ok(key)
    }

    /// The peers saved in `static-nodes.json`; none when the file is absent.
    pub(crate) fn static_peers(&self) -> Result<Vec<NodeRecord>, DataDirError> {
        let path = self.path.join(STATIC_PEERS_FILE);
        let bytes = match read_bounded(&path, MAX_STATIC_PEERS_BYTES) {
            Err(DataDirError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Ok(Vec::new())
            }
            other => other?,
        };
        let urls: Vec<String> =
            serde_json::from_slice(&bytes).map_err(|source| DataDirError::InvalidStaticPeers {
                path: path.clone(),
                source,
            })?;
        urls.into_iter()
            .enumerate()
            .map(|(index, url)| {
                url.trim()
                    .parse()
                    .map_err(|source| DataDirError::InvalidStaticPeer {
                        path: path.clone(),
                        index,
                        url,
                        source,
                    })
            })
            .collect()
    }

    /// Replaces `static-nodes.json` with `peers`, atomically: the list is
    /// written to a temporary file in the directory, synced, and renamed over
    /// the old one, so a crash leaves either the old list or the new one.
    pub(crate) fn save_static_peers(&self, peers: &[NodeRecord]) -> Result<(), DataDirError> {
        let path = self.path.join(STATIC_PEERS_FILE);
        let tmp = self.path.join(format!("{STATIC_PEERS_FILE}.tmp"));
        let urls: Vec<String> = peers.iter().map(ToString::to_string).collect();
        let mut json = serde_json::to_vec_pretty(&urls).map_err(|e| DataDirError::Write {
            path: path.clone(),
            source: io::Error::other(e),
        })?;
        json.push(b'\n');
        let tmp_err = |source| DataDirError::Write {
            path: tmp.clone(),
            source,
        };
        let mut file = File::create(&tmp).map_err(tmp_err)?;
        file.write_all(&json)
            .and_then(|()| file.sync_all())
            .map_err(tmp_err)?;
        drop(file);
        fs::rename(&tmp, &path).map_err(|source| DataDirError::Write {
            path: path.clone(),
            source,
        })?;
        // Make the rename itself durable.
        #[cfg(unix)]
        File::open(&self.path)
            .and_then(|dir| dir.sync_all())
            .map_err(|source| DataDirError::Write {
                path: self.path.clone(),
                source,
            })?;
        Ok(())
    }
}

/// The node key in the file at `path` (geth's `--nodekey <file>`): 64 hex
/// characters, optionally `0x`-prefixed, surrounding whitespace ignored.
pub(crate) fn read_nodekey_file(path: &Path) -> Result<SecretKey, DataDirError> {
    let bytes = read_bounded(path, MAX_NODEKEY_BYTES)?;
    let invalid = |reason: String| DataDirError::InvalidNodeKey {
        path: path.to_owned(),
        reason,
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid("not text".to_owned()))?;
    crate::cli::parse_key(text).map_err(invalid)
}

/// The whole file at `path`, refused when longer than `max` bytes.
fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, DataDirError> {
    let read_err = |source| DataDirError::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > max {
        return Err(DataDirError::TooLarge {
            path: path.to_owned(),
            max,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_byte_array([byte; 32]).expect("valid key")
    }

    fn record(byte: u8, addr: &str) -> NodeRecord {
        let id = ethp2p_rlpx::key::peer_id_from_secret_key(&key(byte));
        NodeRecord::new(id, addr.parse::<SocketAddr>().expect("addr"))
    }

    #[test]
    fn open_creates_a_private_directory() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("a/b/datadir");
        let dir = DataDir::open(&path).expect("open");
        assert_eq!(dir.path(), path);
        assert!(path.is_dir());
        assert!(path.join(LOCK_FILE).is_file());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        }
        // A file in the way is reported with its path.
        let file = tmp.path().join("plain-file");
        fs::write(&file, b"x").expect("write");
        let e = DataDir::open(&file).expect_err("a file is no directory");
        assert!(matches!(e, DataDirError::Create { .. }), "{e}");
        assert!(e.to_string().contains("plain-file"), "{e}");
    }

    #[test]
    fn second_open_is_refused_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().expect("tmp");
        let first = DataDir::open(tmp.path()).expect("first open");
        let e = DataDir::open(tmp.path()).expect_err("second open");
        assert!(matches!(e, DataDirError::Locked { .. }), "{e}");
        let message = e.to_string();
        assert!(
            message.contains(&format!(
                "is another ethp2p node running with --datadir {}?",
                tmp.path().display()
            )),
            "{message}"
        );
        drop(first);
        let _again = DataDir::open(tmp.path()).expect("open after drop");
    }

    #[test]
    fn nodekey_is_created_once_then_loaded() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = DataDir::open(tmp.path()).expect("open");
        let created = dir.load_or_create_nodekey_with(|| key(7)).expect("create");
        assert_eq!(created, key(7));
        let path = tmp.path().join(NODEKEY_FILE);
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "07".repeat(32),
            "geth's format: 64 hex characters"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        // Loaded, not regenerated.
        let loaded = dir
            .load_or_create_nodekey_with(|| panic!("must not generate"))
            .expect("load");
        assert_eq!(loaded, key(7));
        // The default generator makes a key too.
        let other = tempfile::tempdir().expect("tmp");
        let dir = DataDir::open(other.path()).expect("open");
        let random = dir.load_or_create_nodekey().expect("random");
        assert_eq!(dir.load_or_create_nodekey().expect("again"), random);
    }

    #[test]
    fn bad_nodekey_files_are_refused() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = DataDir::open(tmp.path()).expect("open");
        let path = tmp.path().join(NODEKEY_FILE);
        for (content, what) in [
            (b"abcd".to_vec(), "short"),
            ("zz".repeat(32).into_bytes(), "not hex"),
            (b"00".repeat(32), "zero is no key"),
            (vec![0xff; 64], "not text"),
        ] {
            fs::write(&path, &content).expect("write");
            let e = dir
                .load_or_create_nodekey_with(|| panic!("must not replace a bad key"))
                .expect_err(what);
            assert!(
                matches!(e, DataDirError::InvalidNodeKey { .. }),
                "{what}: {e}"
            );
            assert!(e.to_string().contains(NODEKEY_FILE), "{e}");
            assert_eq!(fs::read(&path).expect("read"), content, "left alone");
        }
        fs::write(&path, vec![b' '; MAX_NODEKEY_BYTES as usize + 1]).expect("write");
        assert!(matches!(
            dir.load_or_create_nodekey(),
            Err(DataDirError::TooLarge { .. })
        ));
    }

    #[test]
    fn nodekey_file_for_the_flag() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("my.key");
        // geth writes no newline; a trailing one and a 0x prefix are accepted.
        fs::write(&path, format!("0x{}\n", "11".repeat(32))).expect("write");
        assert_eq!(read_nodekey_file(&path).expect("read"), key(0x11));
        fs::write(&path, "11".repeat(32)).expect("write");
        assert_eq!(read_nodekey_file(&path).expect("read"), key(0x11));
        let e = read_nodekey_file(&tmp.path().join("absent")).expect_err("absent");
        assert!(
            matches!(&e, DataDirError::Read { source, .. } if source.kind() == io::ErrorKind::NotFound),
            "{e}"
        );
    }

    #[test]
    fn static_peers_round_trip() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = DataDir::open(tmp.path()).expect("open");
        assert_eq!(dir.static_peers().expect("absent file"), vec![]);

        let mut v6 = record(3, "[2001:db8::1]:30303");
        v6.udp_port = 30301;
        let peers = vec![
            record(1, "10.0.0.1:30303"),
            record(2, "127.0.0.1:40404"),
            v6,
        ];
        dir.save_static_peers(&peers).expect("save");
        assert_eq!(dir.static_peers().expect("load"), peers);

        // geth's format: a plain JSON array of enode URLs.
        let text = fs::read_to_string(tmp.path().join(STATIC_PEERS_FILE)).expect("read");
        let urls: Vec<String> = serde_json::from_str(&text).expect("json array");
        assert_eq!(urls.len(), 3);
        assert!(
            urls[2].ends_with("@[2001:db8::1]:30303?discport=30301"),
            "{}",
            urls[2]
        );
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(tmp.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(
            !names.iter().any(|n| n.to_string_lossy().ends_with(".tmp")),
            "{names:?}"
        );

        // Replaced, not appended.
        dir.save_static_peers(&peers[..1]).expect("save fewer");
        assert_eq!(dir.static_peers().expect("load"), peers[..1]);
        dir.save_static_peers(&[]).expect("save none");
        assert_eq!(dir.static_peers().expect("load"), vec![]);
    }

    #[test]
    fn save_replaces_a_stale_temporary_file() {
        // A crash between write and rename leaves the temporary file; the old
        // list is still the one read, and the next save goes through.
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = DataDir::open(tmp.path()).expect("open");
        let peers = vec![record(1, "10.0.0.1:30303")];
        dir.save_static_peers(&peers).expect("save");
        let stale = tmp.path().join(format!("{STATIC_PEERS_FILE}.tmp"));
        fs::write(&stale, b"[\"half-writ").expect("stale");
        assert_eq!(dir.static_peers().expect("old list"), peers);
        let newer = vec![record(2, "10.0.0.2:30303")];
        dir.save_static_peers(&newer).expect("save over stale");
        assert_eq!(dir.static_peers().expect("new list"), newer);
        assert!(!stale.exists());
    }

    #[test]
    fn bad_static_peer_files_are_refused() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = DataDir::open(tmp.path()).expect("open");
        let path = tmp.path().join(STATIC_PEERS_FILE);

        fs::write(&path, "{\"not\": \"an array\"}").expect("write");
        assert!(matches!(
            dir.static_peers(),
            Err(DataDirError::InvalidStaticPeers { .. })
        ));

        let good = record(1, "10.0.0.1:30303").to_string();
        fs::write(
            &path,
            format!("[\"{good}\", \"enode://nope@1.2.3.4:30303\"]"),
        )
        .expect("write");
        match dir.static_peers() {
            Err(DataDirError::InvalidStaticPeer { index, url, .. }) => {
                assert_eq!(index, 1);
                assert_eq!(url, "enode://nope@1.2.3.4:30303");
            }
            other => panic!("{other:?}"),
        }

        fs::write(&path, vec![b' '; MAX_STATIC_PEERS_BYTES as usize + 1]).expect("write");
        assert!(matches!(
            dir.static_peers(),
            Err(DataDirError::TooLarge { max, .. }) if max == MAX_STATIC_PEERS_BYTES
        ));
    }
}
