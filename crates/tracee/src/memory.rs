//! Reading and writing a tracee's memory through /proc/PID/mem.
//!
//! /proc/PID/mem follows the tracee's page tables with FOLL_FORCE, so a
//! ptrace-attached tracer can write into read-only mappings (needed to fill
//! replayed file mappings) without changing their protection.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;

use crate::{Result, Tid, TraceeError};

/// An open handle on one address space. Reopen it after execve: the old
/// handle keeps referring to the discarded address space.
#[derive(Debug)]
pub struct TraceeMemory {
    tid: Tid,
    file: File,
}

impl TraceeMemory {
    /// Opens the address space of `tid` for reading and writing.
    pub fn open(tid: Tid) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/proc/{tid}/mem"))
            .map_err(|source| TraceeError::Sys { tid, op: "open /proc/PID/mem", source })?;
        Ok(TraceeMemory { tid, file })
    }

    /// The task this handle was opened for.
    pub fn tid(&self) -> Tid {
        self.tid
    }

    /// Whether the bytes at `addr` are `expected`, read `scratch.len()`
    /// bytes at a time into `scratch` (no buffer of the whole length is
    /// made: replay compares up to 1 MiB of syscall buffer per batch);
    /// fails if any byte is unmapped.
    pub fn holds(&self, addr: u64, expected: &[u8], scratch: &mut [u8]) -> Result<bool> {
        let step = scratch.len().max(1);
        for (i, want) in expected.chunks(step).enumerate() {
            let got = &mut scratch[..want.len()];
            self.file
                .read_exact_at(got, addr + (i * step) as u64)
                .map_err(|source| TraceeError::Sys { tid: self.tid, op: "read tracee memory", source })?;
            if got != want {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads exactly `len` bytes at `addr`; fails if any byte is unmapped.
    pub fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.file
            .read_exact_at(&mut buf, addr)
            .map_err(|source| TraceeError::Sys { tid: self.tid, op: "read tracee memory", source })?;
        Ok(buf)
    }

    /// Reads exactly `len` bytes at `addr` as the task itself could: `None`
    /// if any byte is unmapped or not readable by it (a guard page, which
    /// [`read`](Self::read) reads through /proc with the tracer's force).
    pub fn read_as_task(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let bytes = self.read_partial_as_task(addr, len);
        (bytes.len() == len).then_some(bytes)
    }

    /// Reads up to `len` bytes at `addr` as the task itself could, stopping
    /// at the first byte it could not read. Unlike a read through /proc,
    /// which the kernel serves by growing a stack mapping down to an
    /// address just below it, this leaves the address space as it is.
    pub fn read_partial_as_task(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        let local = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: len };
        let remote = libc::iovec { iov_base: addr as *mut libc::c_void, iov_len: len };
        // SAFETY: `local` describes `buf`, which lives and is writable for
        // the call; the remote range is only read, by the kernel, with the
        // task's own permissions.
        let n = unsafe { libc::process_vm_readv(self.tid, &local, 1, &remote, 1, 0) };
        buf.truncate(usize::try_from(n).unwrap_or(0));
        buf
    }

    /// Reads up to `len` bytes at `addr`, stopping at the first unmapped byte.
    pub fn read_partial(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        let mut done = 0;
        while done < len {
            match self.file.read_at(&mut buf[done..], addr + done as u64) {
                Ok(0) | Err(_) => break,
                Ok(n) => done += n,
            }
        }
        buf.truncate(done);
        buf
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    pub fn read_cstr(&self, addr: u64, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() < max {
            // Read page by page so a string that ends just before an unmapped
            // page is still found.
            let page_left = 4096 - (at % 4096) as usize;
            let chunk = self.read_partial(at, page_left.min(max - out.len()));
            if chunk.is_empty() {
                break;
            }
            if let Some(nul) = chunk.iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..nul]);
                return out;
            }
            at += chunk.len() as u64;
            out.extend_from_slice(&chunk);
        }
        out
    }

    /// Reads a little-endian u64 at `addr`.
    pub fn read_u64(&self, addr: u64) -> Result<u64> {
        let b = self.read(addr, 8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("read returned 8 bytes")))
    }

    /// Writes all of `bytes` at `addr`, even into read-only mappings.
    pub fn write(&self, addr: u64, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all_at(bytes, addr)
            .map_err(|source| TraceeError::Sys { tid: self.tid, op: "write tracee memory", source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_as_the_task_respects_protections_that_proc_mem_forces_through() {
        const PAGE: usize = 4096;
        // SAFETY: a fresh private anonymous mapping of two pages, used only
        // through the handle below and unmapped at the end.
        let base = unsafe {
            libc::mmap(std::ptr::null_mut(), 2 * PAGE, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
        };
        assert_ne!(base, libc::MAP_FAILED);
        let addr = base as u64;
        let mem = TraceeMemory::open(std::process::id() as Tid).unwrap();
        mem.write(addr, &[7u8; 32]).unwrap();
        mem.write(addr + PAGE as u64, &[9u8; 32]).unwrap();
        // SAFETY: the second page of the mapping made above.
        assert_eq!(unsafe { libc::mprotect(base.cast::<u8>().add(PAGE).cast(), PAGE, libc::PROT_NONE) }, 0);
        assert_eq!(mem.read_as_task(addr, 32), Some(vec![7u8; 32]));
        assert_eq!(mem.read_as_task(addr + PAGE as u64, 32), None, "a PROT_NONE page (a guard page)");
        assert_eq!(mem.read_as_task(addr + PAGE as u64 - 8, 16), None, "half readable");
        assert_eq!(mem.read(addr + PAGE as u64, 32).unwrap(), vec![9u8; 32], "/proc/PID/mem reads it anyway");
        // SAFETY: the mapping made above, no longer used.
        assert_eq!(unsafe { libc::munmap(base, 2 * PAGE) }, 0);
    }

    /// The main thread's stack mapping of this process: start and end.
    fn stack_mapping() -> (u64, u64) {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let line = maps.lines().find(|l| l.ends_with("[stack]")).expect("a [stack] mapping");
        let (range, _) = line.split_once(' ').unwrap();
        let (start, end) = range.split_once('-').unwrap();
        (u64::from_str_radix(start, 16).unwrap(), u64::from_str_radix(end, 16).unwrap())
    }

    #[test]
    fn reading_as_the_task_below_the_stack_leaves_the_stack_mapping_as_it_is() {
        let mem = TraceeMemory::open(std::process::id() as Tid).unwrap();
        let (start, end) = stack_mapping();
        // In the gap below the stack, where the main thread's stack would
        // grow: a read through /proc grows the mapping down to it.
        let below = start - (512 << 10);
        assert_eq!(mem.read_partial_as_task(below, 32), Vec::<u8>::new(), "not mapped for the task");
        assert_eq!(stack_mapping(), (start, end), "the stack mapping grew");
        // Readable memory is read up to where the task's view ends.
        let top = mem.read_partial_as_task(end - 16, 32);
        assert_eq!(top.len(), 16, "the last 16 bytes of the stack, then nothing");
        assert_eq!(top, mem.read_partial(end - 16, 32));
    }

    #[test]
    fn comparing_memory_in_steps_finds_a_difference_in_any_step() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let mem = TraceeMemory::open(std::process::id() as Tid).unwrap();
        let addr = data.as_ptr() as u64;
        let mut scratch = [0u8; 1024];
        assert!(mem.holds(addr, &data, &mut scratch).unwrap());
        assert!(mem.holds(addr, &[], &mut scratch).unwrap());
        for at in [0, 1023, 1024, 9_999] {
            let mut other = data.clone();
            other[at] ^= 1;
            assert!(!mem.holds(addr, &other, &mut scratch).unwrap(), "a difference at {at}");
        }
        assert!(mem.holds(0, &[1], &mut scratch).is_err(), "address 0 is not mapped");
    }
}
