//! Files identified by content: the recorder's table and the replayer's store.
//!
//! A recording names each executed or mapped file once (path, size, mtime,
//! SHA-256) and refers to it by id. Replay reads the content back from the
//! same path after checking the hash, or from the trace when the content was
//! stored (portable traces, deleted files, files modified during recording).

use foldhash::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use scribe_trace::FileRecord;
use sha2::{Digest, Sha256};

use crate::error::{EngineError, Result};
use crate::hashcache::{HashCache, Identity};

/// Files modified this close to (or after) the start of recording may still
/// change before replay, so their content goes into the trace.
const RECENT_NS: i64 = 2_000_000_000;

/// The recorder's table of files already named in the trace.
#[derive(Debug)]
pub struct FileTable {
    by_identity: HashMap<(u64, u64, u64, i64), u32>,
    next_id: u32,
    portable: bool,
    start_time_ns: i64,
    /// Paths whose content always goes into the trace.
    kept: HashSet<Vec<u8>>,
    cache: HashCache,
}

/// Now, in nanoseconds since the epoch (as file times are).
fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// Hashes a whole file, returning its SHA-256 and, when asked, its bytes.
fn hash_file(file: &mut File, keep: bool) -> std::io::Result<([u8; 32], Option<Vec<u8>>)> {
    let mut hasher = Sha256::new();
    let mut kept = keep.then(Vec::new);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Some(k) = kept.as_mut() {
            k.extend_from_slice(&buf[..n]);
        }
    }
    Ok((hasher.finalize().into(), kept))
}

/// The size and SHA-256 of `file` (the hash as [`cached_hash`] finds it).
fn size_and_hash(cache: &mut HashCache, file: &mut File) -> std::io::Result<(u64, [u8; 32])> {
    let meta = file.metadata()?;
    Ok((meta.len(), cached_hash(cache, file, &meta)?))
}

/// The SHA-256 of `file`, which `meta` describes: from `cache` when it
/// knows this version of the file, else read and added to it.
fn cached_hash(cache: &mut HashCache, file: &mut File, meta: &std::fs::Metadata) -> std::io::Result<[u8; 32]> {
    let identity = Identity::of(meta);
    if let Some(sha256) = cache.get(&identity) {
        return Ok(sha256);
    }
    let (sha256, _) = hash_file(file, false)?;
    cache.insert(identity, sha256, now_ns());
    Ok(sha256)
}

impl FileTable {
    /// A table for a recording that started at `start_time_ns`.
    pub fn new(portable: bool, start_time_ns: i64) -> Self {
        FileTable { by_identity: HashMap::default(), next_id: 0, portable, start_time_ns, kept: HashSet::default(), cache: HashCache::disabled() }
    }

    /// Takes known hashes from `cache` and adds new ones to it.
    pub fn use_cache(&mut self, cache: HashCache) {
        self.cache = cache;
    }

    /// Puts the content of the file at `path` (as /proc shows it: absolute,
    /// symbolic links resolved) into the trace whenever it is used, so that
    /// replay does not depend on that file staying as it is. Scribe's own
    /// preload library is kept this way: rebuilding or upgrading Scribe
    /// does not make older traces unreplayable.
    pub fn keep_contents_of(&mut self, path: &[u8]) {
        self.kept.insert(path.to_vec());
    }

    /// The id of a regular file already described, from its metadata.
    fn known(&self, meta: &std::fs::Metadata) -> Option<u32> {
        meta.is_file().then(|| self.by_identity.get(&identity_key(meta)).copied()).flatten()
    }

    /// Identifies the file reachable at `open_path` (a real path or a
    /// /proc/PID/fd/N link) whose name for people is `display_path`.
    ///
    /// Returns its id and, the first time it is seen, the record to write.
    /// Returns `Ok(None)` for files that are not regular. `display_path`
    /// is only asked for a file not seen before.
    pub fn identify(
        &mut self,
        open_path: &Path,
        display_path: impl FnOnce() -> Vec<u8>,
    ) -> std::io::Result<Option<(u32, Option<FileRecord>)>> {
        // One stat for a file already seen: a library's four or five
        // mappings, and every process's libc, are the same file. It used
        // to cost a readlink, an open, a stat and a close each time.
        if let Some(id) = self.known(&std::fs::metadata(open_path)?) {
            return Ok(Some((id, None)));
        }
        let mut file = File::open(open_path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let key = identity_key(&meta);
        if let Some(&id) = self.by_identity.get(&key) {
            return Ok(Some((id, None)));
        }
        let mtime_ns = key.3;
        let display_path = display_path();
        let display_path = display_path.as_slice();
        let unstable = display_path.ends_with(b" (deleted)")
            || display_path.starts_with(b"/memfd:")
            || !display_path.starts_with(b"/")
            || mtime_ns >= self.start_time_ns - RECENT_NS
            || self.kept.contains(display_path);
        let (sha256, contents) = if self.portable || unstable {
            let (sha256, contents) = hash_file(&mut file, true)?;
            self.cache.insert(Identity::of(&meta), sha256, now_ns());
            (sha256, contents)
        } else {
            (cached_hash(&mut self.cache, &mut file, &meta)?, None)
        };
        let id = self.next_id;
        self.next_id += 1;
        self.by_identity.insert(key, id);
        let record = FileRecord { id, path: display_path.to_vec(), size: meta.len(), mtime_ns, sha256, contents };
        Ok(Some((id, Some(record))))
    }
}

/// What tells two versions of a file apart: device, inode, size and
/// modification time (in nanoseconds).
fn identity_key(meta: &std::fs::Metadata) -> (u64, u64, u64, i64) {
    let mtime_ns = meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec());
    (meta.dev(), meta.ino(), meta.len(), mtime_ns)
}

/// The replayer's view of the files a trace names.
#[derive(Debug, Default)]
pub struct FileStore {
    records: HashMap<u32, FileRecord>,
    verified: HashSet<u32>,
    open: HashMap<u32, File>,
    cache: HashCache,
    /// Copies of recorded files executed instead of the ones on disk.
    stand_ins: HashMap<u32, PathBuf>,
}

fn display(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

impl FileStore {
    /// Takes known hashes from `cache` (a file whose identity it knows with
    /// the recorded hash is not read to check it) and adds new ones.
    pub fn use_cache(&mut self, cache: HashCache) {
        self.cache = cache;
    }

    /// Remembers a file record read from the trace.
    pub fn add(&mut self, record: FileRecord) {
        self.records.insert(record.id, record);
    }

    /// The record of file `id`.
    pub fn record(&self, id: u32) -> Result<&FileRecord> {
        self.records
            .get(&id)
            .ok_or_else(|| EngineError::File(format!("the trace refers to file #{id}, which it never described")))
    }

    /// Checks that the file on disk still has the recorded content.
    ///
    /// Files whose content is stored in the trace always pass; the on-disk
    /// copy is not consulted for them.
    pub fn verify(&mut self, id: u32) -> Result<()> {
        if self.verified.contains(&id) {
            return Ok(());
        }
        let record = self.record(id)?;
        if record.contents.is_none() {
            let path = PathBuf::from(std::ffi::OsStr::from_bytes(&record.path));
            let mut file = File::open(&path).map_err(|e| {
                EngineError::File(format!("cannot open {} for replay: {e} (record with --portable to keep file contents in the trace)", path.display()))
            })?;
            let (len, sha256) = size_and_hash(&mut self.cache, &mut file).map_err(|e| EngineError::io(format!("reading {}", path.display()), e))?;
            let record = self.record(id)?;
            if len != record.size || sha256 != record.sha256 {
                return Err(EngineError::File(format!(
                    "{} changed since it was recorded (recorded {} bytes, sha256 {}; now {} bytes, sha256 {}); replay needs the recorded content: restore the file or record with --portable",
                    path.display(),
                    record.size,
                    hex(&record.sha256),
                    len,
                    hex(&sha256)
                )));
            }
            self.open.insert(id, file);
        }
        self.verified.insert(id);
        Ok(())
    }

    /// The path of file `id` when replay uses the file on disk (checked to
    /// have the recorded content); `None` when the trace holds the content.
    pub fn on_disk_path(&mut self, id: u32) -> Result<Option<&[u8]>> {
        self.verify(id)?;
        let record = self.record(id)?;
        Ok(record.contents.is_none().then_some(record.path.as_slice()))
    }

    /// A copy of file `id`'s recorded content to execute instead of the
    /// file on disk, when the trace holds that content and the file on
    /// disk is gone or differs (a program rebuilt since, or a trace made
    /// with `--portable` replayed elsewhere): the kernel maps what an exec
    /// names, not what the trace holds. Written once under `dir`, with the
    /// file's own name (the kernel names the process after it). `None`
    /// when the file on disk is the recorded one, or the trace does not
    /// hold the content (`verify` then says what differs).
    pub fn exec_stand_in(&mut self, id: u32, dir: &Path) -> Result<Option<PathBuf>> {
        if let Some(copy) = self.stand_ins.get(&id) {
            return Ok(Some(copy.clone()));
        }
        let record = self.record(id)?;
        if record.contents.is_none() {
            return Ok(None);
        }
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(&record.path));
        let (size, sha256) = (record.size, record.sha256);
        let on_disk = File::open(&path).and_then(|mut file| size_and_hash(&mut self.cache, &mut file));
        if on_disk.is_ok_and(|found| found == (size, sha256)) {
            return Ok(None);
        }
        let contents = self.record(id)?.contents.as_deref().unwrap_or_default();
        let name = path.file_name().unwrap_or(std::ffi::OsStr::new("program"));
        let copy_dir = dir.join(id.to_string());
        let copy = copy_dir.join(name);
        let write = || -> std::io::Result<()> {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::create_dir_all(&copy_dir)?;
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o755).open(&copy)?;
            std::io::Write::write_all(&mut file, contents)
        };
        write().map_err(|e| EngineError::io(format!("writing the recorded content of {} to {}", path.display(), copy.display()), e))?;
        self.stand_ins.insert(id, copy.clone());
        Ok(Some(copy))
    }

    /// Reads up to `len` bytes of file `id` at `offset` (short at end of file).
    pub fn read(&mut self, id: u32, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.verify(id)?;
        let record = self.record(id)?;
        let end = offset.saturating_add(len).min(record.size);
        if offset >= end {
            return Ok(Vec::new());
        }
        if let Some(contents) = &record.contents {
            let (start, end) = (offset as usize, end as usize);
            return contents
                .get(start..end)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| EngineError::File(format!("stored content of {} is shorter than recorded", display(&record.path))));
        }
        let path = display(&record.path);
        let file = self.open.get(&id).ok_or_else(|| EngineError::File(format!("{path} is not open")))?;
        let mut buf = vec![0u8; (end - offset) as usize];
        file.read_exact_at(&mut buf, offset).map_err(|e| EngineError::io(format!("reading {path}"), e))?;
        Ok(buf)
    }
}

/// Lowercase hexadecimal of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn table_names_each_file_once_and_store_detects_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        std::fs::write(&path, b"hello world").unwrap();
        // A start time far in the future makes the file count as old, so its
        // content is not embedded and replay must read it from disk.
        let mut table = FileTable::new(false, i64::MAX / 2);
        let (id, record) = table.identify(&path, || path.as_os_str().as_bytes().to_vec()).unwrap().unwrap();
        let record = record.expect("first sighting yields a record");
        assert!(record.contents.is_none());
        assert_eq!(table.identify(&path, || b"x".to_vec()).unwrap().unwrap(), (id, None));

        let mut store = FileStore::default();
        store.add(record.clone());
        assert_eq!(store.read(id, 6, 100).unwrap(), b"world");

        let mut store = FileStore::default();
        store.add(record);
        std::fs::File::create(&path).unwrap().write_all(b"HELLO world").unwrap();
        let err = store.verify(id).unwrap_err().to_string();
        assert!(err.contains("data.bin") && err.contains("changed"), "{err}");
    }

    #[test]
    fn cached_hashes_spare_reading_but_never_hide_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.so");
        std::fs::write(&path, b"hello world").unwrap();
        let mut table = FileTable::new(false, i64::MAX / 2);
        let (id, record) = table.identify(&path, || path.as_os_str().as_bytes().to_vec()).unwrap().unwrap();
        let record = record.unwrap();
        // The file counts as settled ten seconds from now.
        let later = now_ns() + 10_000_000_000;
        let cache_path = dir.path().join("file-hashes");
        let identity = Identity::of(&std::fs::metadata(&path).unwrap());
        HashCache::at(&cache_path).insert(identity, record.sha256, later);

        // A table finds the hash in the cache: here a wrong one proves it.
        let mut cached = HashCache::disabled();
        cached.insert(identity, [9; 32], later);
        let mut table = FileTable::new(false, i64::MAX / 2);
        table.use_cache(cached);
        let (_, seen) = table.identify(&path, || b"/lib.so".to_vec()).unwrap().unwrap();
        assert_eq!(seen.unwrap().sha256, [9; 32]);

        let mut store = FileStore::default();
        store.use_cache(HashCache::at(&cache_path));
        store.add(record.clone());
        store.verify(id).unwrap();

        // Same size, other content: the ctime moved, so the cache misses.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"HELLO world").unwrap();
        let mut store = FileStore::default();
        store.use_cache(HashCache::at(&cache_path));
        store.add(record);
        let err = store.verify(id).unwrap_err().to_string();
        assert!(err.contains("changed"), "{err}");
    }

    #[test]
    fn recent_and_portable_files_keep_their_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.txt");
        std::fs::write(&path, b"abc").unwrap();
        let mut table = FileTable::new(true, i64::MAX / 2);
        let (_, record) = table.identify(&path, || b"/new.txt".to_vec()).unwrap().unwrap();
        assert_eq!(record.unwrap().contents.as_deref(), Some(&b"abc"[..]));
        // Not portable, an old file: kept only when asked for by path.
        let mut table = FileTable::new(false, i64::MAX / 2);
        let (_, record) = table.identify(&path, || b"/old.txt".to_vec()).unwrap().unwrap();
        assert_eq!(record.unwrap().contents, None);
        let mut table = FileTable::new(false, i64::MAX / 2);
        table.keep_contents_of(b"/old.txt");
        let (_, record) = table.identify(&path, || b"/old.txt".to_vec()).unwrap().unwrap();
        assert_eq!(record.unwrap().contents.as_deref(), Some(&b"abc"[..]));
    }
}
