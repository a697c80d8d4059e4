//! Reading facts about tasks and the machine from /proc.

use scribe_trace::Tid;

/// One line of /proc/PID/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Permission letters, e.g. "r-xp".
    pub perms: String,
    /// Offset in the file.
    pub offset: u64,
    /// Inode number (0 for anonymous memory).
    pub inode: u64,
    /// Path or pseudo-name (`[stack]`), empty for anonymous memory.
    pub path: String,
}

/// Parses /proc/PID/maps text; malformed lines are skipped.
pub fn parse_maps(text: &str) -> Vec<Mapping> {
    text.lines().filter_map(parse_map_line).collect()
}

fn parse_map_line(line: &str) -> Option<Mapping> {
    let mut fields = line.splitn(6, ' ');
    let range = fields.next()?;
    let perms = fields.next()?.to_string();
    let offset = u64::from_str_radix(fields.next()?, 16).ok()?;
    let _dev = fields.next()?;
    let inode = fields.next()?.parse().ok()?;
    let path = fields.next().unwrap_or("").trim_start().to_string();
    let (start, end) = range.split_once('-')?;
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        perms,
        offset,
        inode,
        path,
    })
}

/// The current mappings of a task.
pub fn maps(tid: Tid) -> std::io::Result<Vec<Mapping>> {
    Ok(parse_maps(&std::fs::read_to_string(format!("/proc/{tid}/maps"))?))
}

/// The thread-group (process) id of a task, from /proc/TID/status.
pub fn tgid(tid: Tid) -> Option<Tid> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse().ok())
}

/// How many seccomp filters task `tid` has (the `Seccomp_filters:` line
/// of /proc/TID/status); `None` once it is gone.
pub fn seccomp_filters(tid: Tid) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Seccomp_filters:")).and_then(|v| v.trim().parse().ok())
}

/// The scheduler state letter of a task (`R` running, `S` sleeping, `t`
/// stopped by ptrace...), from /proc/TID/stat; `None` once it is gone.
pub fn task_state(tid: Tid) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{tid}/stat")).ok()?;
    parse_stat_state(&stat)
}

/// The signals process `pid` ignores (the `SigIgn:` mask of
/// /proc/PID/status: bit N-1 for signal N).
pub fn ignored_signals(pid: Tid) -> Option<u64> {
    status_mask(pid, "SigIgn:")
}

/// A hexadecimal mask line of /proc/PID/status.
fn status_mask(pid: Tid, label: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(label)).and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// The signals process `pid` has a handler for (the `SigCgt:` mask of
/// /proc/PID/status: bit N-1 for signal N).
pub fn caught_signals(pid: Tid) -> Option<u64> {
    status_mask(pid, "SigCgt:")
}

/// The file position of descriptor `fd` of task `tid` (the `pos:` line of
/// /proc/TID/fdinfo/FD).
pub fn fd_position(tid: Tid, fd: u64) -> Option<u64> {
    let info = std::fs::read_to_string(format!("/proc/{tid}/fdinfo/{fd}")).ok()?;
    info.lines().find_map(|l| l.strip_prefix("pos:")).and_then(|v| v.trim().parse().ok())
}

/// Where the process's brk heap starts (`start_brk`, field 47 of
/// /proc/TID/stat); `None` once it is gone.
pub fn start_brk(tid: Tid) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{tid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    // The fields after the command name start with the third, the state.
    rest.split_whitespace().nth(47 - 3)?.parse().ok()
}

/// The state field of a /proc/TID/stat line: the first letter after the
/// command name, which is in parentheses and may itself contain ") ".
fn parse_stat_state(stat: &str) -> Option<char> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.trim_start().chars().next()
}

/// The CPU model name of this machine.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// The running kernel's release string.
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// The device and inode numbers of the file `path` names for task `tid`
/// (relative to its descriptor `dirfd`, or its working directory for
/// `AT_FDCWD`; absolute paths from its root), following a final symbolic
/// link if `follow`; `None` if there is no such file.
pub fn inode_of(tid: Tid, dirfd: i64, path: &[u8], follow: bool) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    const AT_FDCWD: i64 = -100;
    if path.is_empty() {
        return None;
    }
    let start = match (path.first(), dirfd) {
        (Some(b'/'), _) => format!("/proc/{tid}/root"),
        (_, AT_FDCWD) => format!("/proc/{tid}/cwd/"),
        (_, fd) if fd >= 0 => format!("/proc/{tid}/fd/{fd}/"),
        _ => return None,
    };
    let full = [start.as_bytes(), path].concat();
    let full = std::path::Path::new(std::ffi::OsStr::from_bytes(&full));
    let meta = if follow { std::fs::metadata(full) } else { std::fs::symlink_metadata(full) };
    meta.ok().map(|m| (m.dev(), m.ino()))
}

/// Device and inode of what descriptor `fd` of task `tid` refers to.
pub fn fd_inode(tid: Tid, fd: u64) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{tid}/fd/{fd}")).ok().map(|m| (m.dev(), m.ino()))
}

/// Where descriptor `fd` of task `tid` points (the /proc/TID/fd link, such
/// as a path or `pipe:[1234]`), or `None` when it is not open.
pub fn fd_target(tid: Tid, fd: u64) -> Option<String> {
    std::fs::read_link(format!("/proc/{tid}/fd/{fd}")).ok().map(|p| p.to_string_lossy().into_owned())
}

/// The inode of a pipe from its /proc fd link (`pipe:[1234]`).
pub fn pipe_inode(target: &str) -> Option<u64> {
    target.strip_prefix("pipe:[")?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_state_of_a_stat_line() {
        assert_eq!(parse_stat_state("42 (a) b) S 1 2 3"), Some('S'));
        assert_eq!(parse_stat_state("42 (sleep) t 1"), Some('t'));
        assert_eq!(parse_stat_state("garbage"), None);
    }

    #[test]
    fn parses_maps_lines() {
        let text = "555555554000-555555556000 r--p 00000000 fe:01 1234                       /usr/bin/cat\n\
                    7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n\
                    7ffff7fc1000-7ffff7fc5000 r--p 00000000 00:00 0 \n\
                    garbage\n";
        let maps = parse_maps(text);
        assert_eq!(maps.len(), 3);
        assert_eq!(maps[0].path, "/usr/bin/cat");
        assert_eq!(maps[0].inode, 1234);
        assert_eq!(maps[1].path, "[stack]");
        assert_eq!(maps[1].end, 0x7ffffffff000);
        assert_eq!(maps[2].path, "");
    }
}
