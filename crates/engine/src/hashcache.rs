//! A per-user cache of files' SHA-256, so that every recording and replay
//! does not hash the same executables and libraries again (python3's
//! start hashed 12 MB, 7% of its recording's samples).
//!
//! An entry is keyed by what changes whenever the content does: device,
//! inode, size, mtime and ctime (which no program can set back). A file
//! changed less than [`SETTLE_NS`] before it was hashed is not cached,
//! because two writes within one tick of the kernel's coarse clock leave
//! the same ctime. The cache is a text file of one line per entry,
//! appended to; lines that do not parse are ignored.

use foldhash::HashMap;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// How long a file must have stayed unchanged before its hash is cached.
pub const SETTLE_NS: i64 = 2_000_000_000;

/// The cache file read at most (bigger ones are started afresh).
const MAX_CACHE_LEN: u64 = 16 << 20;

/// What identifies one version of a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

fn ns(secs: i64, nsecs: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsecs)
}

impl Identity {
    /// The identity of the file `meta` describes.
    pub fn of(meta: &Metadata) -> Self {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// Known hashes, and where new ones are appended.
#[derive(Debug, Default)]
pub struct HashCache {
    file: Option<PathBuf>,
    known: HashMap<Identity, [u8; 32]>,
}

impl HashCache {
    /// A cache that remembers nothing.
    pub fn disabled() -> Self {
        HashCache::default()
    }

    /// The user's cache: `$SCRIBE_HASH_CACHE` (empty to turn it off), else
    /// `$XDG_CACHE_HOME/scribe/file-hashes`, else
    /// `$HOME/.cache/scribe/file-hashes`.
    pub fn for_user() -> Self {
        let path = match std::env::var_os("SCRIBE_HASH_CACHE") {
            Some(p) if p.is_empty() => return HashCache::disabled(),
            Some(p) => PathBuf::from(p),
            None => match std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
                Some(dir) => PathBuf::from(dir).join("scribe/file-hashes"),
                None => match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
                    Some(home) => PathBuf::from(home).join(".cache/scribe/file-hashes"),
                    None => return HashCache::disabled(),
                },
            },
        };
        HashCache::at(&path)
    }

    /// The cache kept in the file at `path` (created when first written).
    pub fn at(path: &Path) -> Self {
        let mut text = String::new();
        if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_CACHE_LEN) {
            // Entries appended past the part read would never be found.
            let _ = std::fs::remove_file(path);
        } else if let Ok(file) = File::open(path) {
            // A cache file that is not text counts as empty.
            let _ = file.take(MAX_CACHE_LEN).read_to_string(&mut text);
        }
        HashCache { file: Some(path.to_path_buf()), known: parse(&text) }
    }

    /// The cached hash of this version of a file.
    pub fn get(&self, identity: &Identity) -> Option<[u8; 32]> {
        self.known.get(identity).copied()
    }

    /// Remembers a hash just computed, unless the file changed too recently
    /// (at `now_ns`) to be sure that a later change would show. Failing to
    /// write the cache file only costs a hash next time.
    pub fn insert(&mut self, identity: Identity, sha256: [u8; 32], now_ns: i64) {
        if identity.ctime_ns > now_ns.saturating_sub(SETTLE_NS) || identity.mtime_ns > now_ns.saturating_sub(SETTLE_NS) {
            return;
        }
        if self.known.insert(identity, sha256) == Some(sha256) {
            return;
        }
        let Some(path) = &self.file else { return };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let line = format!(
            "{} {} {} {} {} {}\n",
            identity.dev,
            identity.ino,
            identity.size,
            identity.mtime_ns,
            identity.ctime_ns,
            crate::files::hex(&sha256)
        );
        // One write per line with O_APPEND: lines of concurrent Scribes
        // do not mix.
        let opened = OpenOptions::new().create(true).append(true).mode(0o600).open(path);
        if let Ok(mut file) = opened {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

/// The entries of a cache file; lines that do not parse are skipped.
fn parse(text: &str) -> HashMap<Identity, [u8; 32]> {
    let mut known = HashMap::default();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let [dev, ino, size, mtime, ctime, sha] = fields[..] else { continue };
        let (Ok(dev), Ok(ino), Ok(size), Ok(mtime_ns), Ok(ctime_ns)) = (dev.parse(), ino.parse(), size.parse(), mtime.parse(), ctime.parse())
        else {
            continue;
        };
        let Some(sha256) = unhex(sha) else { continue };
        known.insert(Identity { dev, ino, size, mtime_ns, ctime_ns }, sha256);
    }
    known
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(ctime_ns: i64) -> Identity {
        Identity { dev: 2049, ino: 77, size: 5, mtime_ns: ctime_ns, ctime_ns }
    }

    #[test]
    fn entries_survive_in_the_file_and_bad_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/file-hashes");
        let now = 100 * SETTLE_NS;
        let mut cache = HashCache::at(&path);
        cache.insert(identity(SETTLE_NS), [7; 32], now);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("garbage line\n1 2 3 4 5 zz\n\u{0}\n");
        std::fs::write(&path, text).unwrap();
        let again = HashCache::at(&path);
        assert_eq!(again.get(&identity(SETTLE_NS)), Some([7; 32]));
        assert_eq!(again.known.len(), 1);
        // Another version of the file (a later ctime) is not known.
        assert_eq!(again.get(&identity(SETTLE_NS + 1)), None);
    }

    #[test]
    fn files_changed_just_before_hashing_are_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file-hashes");
        let now = 100 * SETTLE_NS;
        let mut cache = HashCache::at(&path);
        cache.insert(identity(now - SETTLE_NS / 2), [1; 32], now);
        assert_eq!(cache.get(&identity(now - SETTLE_NS / 2)), None);
        assert!(!path.exists());
    }

    #[test]
    fn a_disabled_cache_remembers_in_memory_only() {
        let mut cache = HashCache::disabled();
        cache.insert(identity(1), [3; 32], 100 * SETTLE_NS);
        assert_eq!(cache.get(&identity(1)), Some([3; 32]));
    }
}
