//! Turning trace events into text for people (profiler, divergence reports).

use scribe_syscalls as sc;
use scribe_trace::{end_reason, resource_kind, signal_origin, Event};

/// How events are printed.
#[derive(Debug, Clone, Copy)]
pub struct FormatOptions {
    /// Print field values without interpretation (numbers, hex), one line each.
    pub raw: bool,
    /// How many bytes of each data buffer to show.
    pub data_prefix: usize,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions { raw: false, data_prefix: 48 }
    }
}

/// Name of a resource type.
pub fn resource_name(kind: u8) -> &'static str {
    match kind {
        resource_kind::INODE => "inode",
        resource_kind::FILE => "file",
        resource_kind::FILES_TABLE => "files table",
        resource_kind::PID => "pid",
        resource_kind::PPID => "ppid",
        resource_kind::FUTEX => "futex",
        resource_kind::IPC => "ipc",
        resource_kind::MMAP => "memory map",
        resource_kind::UNIX_ADDR => "unix address",
        resource_kind::PIPE => "pipe",
        resource_kind::TERMINAL => "terminal",
        _ => "unknown",
    }
}

fn signal(signo: i32) -> String {
    sc::signal_name(signo).map(str::to_string).unwrap_or_else(|| format!("signal {signo}"))
}

/// The human name of a syscall number.
pub fn syscall_name(nr: u32) -> String {
    sc::name(nr).map(str::to_string).unwrap_or_else(|| format!("syscall_{nr}"))
}

fn data_line(what: &str, bytes: &[u8], opts: &FormatOptions) -> String {
    format!("    {what}, size = {}: \"{}\"", bytes.len(), sc::escape_bytes(bytes, opts.data_prefix))
}

/// Formats a syscall as called (without result), e.g. `openat(AT_FDCWD, "/x", O_RDONLY)`.
pub fn format_call(nr: u32, args: &[u64; 6], inputs: &[(u64, &[u8])]) -> String {
    sc::format_call(nr, args, inputs)
}

/// Formats one event as one or more lines (continuation lines are indented).
pub fn format_event(event: &Event, opts: &FormatOptions) -> Vec<String> {
    if opts.raw {
        return vec![format_raw(event)];
    }
    match event {
        Event::Syscall(s) if s.nr == scribe_bufabi::magic::FLUSH => {
            vec![format!("[{}] syscall buffer full: the buffered syscalls above were written out", s.tid)]
        }
        Event::Syscall(s) | Event::Buffered(s) => {
            let inputs: Vec<(u64, &[u8])> = s.inputs.iter().map(|m| (m.addr, m.bytes.as_slice())).collect();
            let mut lines = vec![format!(
                "[{}] {} = {}{}",
                s.tid,
                sc::format_call(s.nr, &s.args, &inputs),
                sc::format_result(s.nr, s.result),
                if matches!(event, Event::Buffered(_)) { " (buffered)" } else { "" }
            )];
            lines.extend(s.outputs.iter().map(|m| data_line("data", &m.bytes, opts)));
            lines
        }
        Event::Exec(e) => vec![format!(
            "[{}] exec {} (initial stack {} bytes at {:#x}, {} files mapped by the kernel)",
            e.tid,
            String::from_utf8_lossy(&e.exe_path),
            e.stack.len(),
            e.rsp,
            e.mapped_files.len()
        )],
        Event::File(f) => vec![format!(
            "file #{} {} size = {} sha256 = {}{}",
            f.id,
            String::from_utf8_lossy(&f.path),
            f.size,
            crate::files::hex(&f.sha256[..8]),
            if f.contents.is_some() { " (content stored)" } else { "" }
        )],
        Event::MapFile(m) => {
            let source = match (m.file_id, &m.data) {
                (Some(id), _) => format!("file #{id} offset {:#x}", m.offset),
                (None, Some(d)) => format!("{} stored bytes", d.len()),
                (None, None) => "nothing".to_string(),
            };
            vec![format!("[{}] map {:#x}-{:#x} from {source}", m.tid, m.addr, m.addr.saturating_add(m.len))]
        }
        Event::Rdtsc(r) => vec![match r.aux {
            Some(aux) => format!("[{}] rdtscp at {:#x} = {:#x}, aux = {aux}", r.tid, r.rip, r.tsc),
            None => format!("[{}] rdtsc at {:#x} = {:#x}", r.tid, r.rip, r.tsc),
        }],
        Event::Random(r) => vec![format!("[{}] rdrand/rdseed at {:#x} = {:#x}", r.tid, r.rip, r.value)],
        Event::Signal(s) => {
            let origin = match s.origin {
                signal_origin::FAULT => "raised by the instruction",
                signal_origin::SYSCALL_EXIT => "delivered at syscall exit",
                signal_origin::POINT => "delivered at that point",
                _ => "delivered asynchronously",
            };
            vec![format!("[{}] signal {} at {:#x}, {origin}", s.tid, signal(s.signo), s.rip)]
        }
        Event::Exit(x) => vec![if x.signal != 0 {
            format!("[{}] killed by {}", x.tid, signal(x.signal))
        } else {
            format!("[{}] exit {}", x.tid, x.code)
        }],
        Event::Regs(r) => {
            let regs: Vec<String> = scribe_tracee::REG_NAMES
                .iter()
                .zip(&r.regs)
                .map(|(name, value)| format!("{name}={value:#x}"))
                .collect();
            vec![format!("    registers: {}", regs.join(" "))]
        }
        Event::Resource(r) => vec![format!(
            "    resource lock, type = {}, id = {:#x}, serial = {}",
            resource_name(r.kind),
            r.id,
            r.serial
        )],
        Event::Bookmark(b) => std::iter::once(format!("[{}] bookmark {}", b.tid, b.id))
            .chain(b.digests.iter().map(|d| format!("    state: {}", state_digest(d))))
            .collect(),
        Event::TaskStart(t) => vec![format!("[{}] runs (process {})", t.tid, t.parent)],
        Event::Join(j) if j.leaves_domain() => vec![format!("[{}] leaves its vfork parent's memory domain (it exec'd)", j.tid)],
        Event::Join(j) => vec![format!("[{}] joins the memory domain of task {} (a shared file mapping)", j.tid, j.domain)],
        Event::Preempt(p) => vec![format!("[{}] preempted at {:#x}, fingerprint {:#018x}", p.tid, p.rip, p.fingerprint)],
        Event::End(e) => {
            let reason = match e.reason {
                end_reason::EXITED => "the program exited",
                end_reason::DETACHED => "the recorder detached",
                end_reason::ERROR => "the recorder stopped on an error",
                _ => "unknown reason",
            };
            let mut line = format!("end of trace: {reason}");
            if !e.message.is_empty() {
                line.push_str(": ");
                line.push_str(&e.message);
            }
            vec![line]
        }
    }
}

fn bytes_summary(bytes: &[u8]) -> String {
    format!("{}:{}", bytes.len(), sc::escape_bytes(bytes, 16))
}

fn format_raw(event: &Event) -> String {
    let name = event.kind_name();
    match event {
        Event::Syscall(s) | Event::Buffered(s) => format!(
            "{name} tid={} nr={} args=[{}] result={} outputs=[{}] inputs=[{}] regs_digest={:?}",
            s.tid,
            s.nr,
            s.args.iter().map(|a| format!("{a:#x}")).collect::<Vec<_>>().join(","),
            s.result,
            s.outputs.iter().map(|m| format!("{:#x}+{}", m.addr, m.bytes.len())).collect::<Vec<_>>().join(","),
            s.inputs.iter().map(|m| format!("{:#x}+{}", m.addr, m.bytes.len())).collect::<Vec<_>>().join(","),
            s.regs_digest
        ),
        Event::Exec(e) => format!(
            "{name} tid={} exe={} rsp={:#x} stack_len={} files={:?}",
            e.tid,
            String::from_utf8_lossy(&e.exe_path),
            e.rsp,
            e.stack.len(),
            e.mapped_files
        ),
        Event::File(f) => format!(
            "{name} id={} path={} size={} mtime_ns={} sha256={} contents={:?}",
            f.id,
            String::from_utf8_lossy(&f.path),
            f.size,
            f.mtime_ns,
            crate::files::hex(&f.sha256),
            f.contents.as_ref().map(Vec::len)
        ),
        Event::MapFile(m) => format!(
            "{name} tid={} addr={:#x} len={:#x} prot={:#x} flags={:#x} offset={:#x} file_id={:?} data={:?}",
            m.tid,
            m.addr,
            m.len,
            m.prot,
            m.flags,
            m.offset,
            m.file_id,
            m.data.as_deref().map(bytes_summary)
        ),
        Event::Rdtsc(r) => format!("{name} tid={} rip={:#x} tsc={} aux={:?}", r.tid, r.rip, r.tsc, r.aux),
        Event::Random(r) => format!("{name} tid={} rip={:#x} value={:#x}", r.tid, r.rip, r.value),
        Event::Signal(s) => format!(
            "{name} tid={} signo={} origin={} rip={:#x} siginfo={}",
            s.tid,
            s.signo,
            s.origin,
            s.rip,
            crate::files::hex(&s.siginfo[..s.siginfo.len().min(16)])
        ),
        Event::Exit(x) => format!("{name} tid={} code={} signal={}", x.tid, x.code, x.signal),
        Event::Regs(r) => format!("{name} tid={} regs={:x?}", r.tid, r.regs),
        Event::Resource(r) => format!("{name} tid={} kind={} id={:#x} serial={}", r.tid, r.kind, r.id, r.serial),
        Event::Bookmark(b) => format!(
            "{name} id={} tid={} digests=[{}]",
            b.id,
            b.tid,
            b.digests.iter().map(|d| format!("{}:{:#x}:{:#x}", d.pid, d.memory, d.registers)).collect::<Vec<_>>().join(",")
        ),
        Event::TaskStart(t) => format!("{name} tid={} parent={}", t.tid, t.parent),
        Event::Join(j) => format!("{name} tid={} domain={}", j.tid, j.domain),
        Event::Preempt(p) => format!("{name} tid={} rip={:#x} fingerprint={:#x}", p.tid, p.rip, p.fingerprint),
        Event::End(e) => format!("{name} reason={} message={:?}", e.reason, e.message),
    }
}

/// One process's state digest at a bookmark, as the profiler and replay
/// print it: `process P memory 0x... registers 0x...`.
pub fn state_digest(d: &scribe_trace::StateDigest) -> String {
    format!("process {} memory {:#018x} registers {:#018x}", d.pid, d.memory, d.registers)
}
