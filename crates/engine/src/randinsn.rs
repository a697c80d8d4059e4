//! RDRAND and RDSEED: random numbers without a syscall.
//!
//! libstdc++'s `std::random_device` reads them (the usual way to seed a
//! C++ program's generator), and replay cannot make the CPU return the
//! recorded value. Without CPUID faulting the program cannot be told the
//! CPU lacks them, and unlike rdtsc they cannot be made to trap. So the
//! instructions are rewritten where they live: when a library known to
//! use them (libstdc++, libgcrypt, libcrypto) is mapped executable, in
//! recording and replay alike, each one's `0f` opcode byte becomes `f4`
//! (hlt), which faults in
//! user mode. The fault is a stop: recording runs the real instruction and
//! keeps the value (`Event::Random`), replay gives the recorded one. The
//! rewritten instruction describes itself (its prefixes, register and kind
//! stay), so a task that runs one after a detach or going live gets a
//! fresh value the same way, and forks and threads need nothing.
//!
//! Other code that uses these instructions (a program built with
//! `-mrdrnd`, libstdc++ linked statically) is not rewritten: its values
//! are not recorded and its replay diverges.

use foldhash::{HashMap, HashSet};

use iced_x86::{Code, Decoder, DecoderOptions};
use scribe_trace::MapRecord;
use scribe_tracee::{Regs, TraceeMemory};

/// `hlt`: the byte that replaces an instruction's `0f`.
const PATCHED_OPCODE: u8 = 0xf4;

/// One rewritten (or rewritable) RDRAND or RDSEED with a register operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomInstruction {
    /// RDSEED rather than RDRAND.
    pub seed: bool,
    /// Operand size in bytes: 2, 4 or 8.
    pub width: u8,
    /// The destination register's number (0 = rax ... 15 = r15).
    pub register: u8,
    /// Length of the whole instruction, prefixes included.
    pub len: u8,
}

/// Parses `[66] [REX] <opcode> c7 modrm` at the start of `bytes`, where
/// `opcode` is the instruction's `0f` or the `f4` that replaced it.
fn parse(bytes: &[u8], opcode: u8) -> Option<RandomInstruction> {
    let mut i = 0;
    let mut width = 4;
    if bytes.first() == Some(&0x66) {
        width = 2;
        i += 1;
    }
    let mut rex = 0u8;
    if let Some(&b) = bytes.get(i).filter(|b| (0x40..=0x4f).contains(*b)) {
        rex = b;
        i += 1;
    }
    if bytes.get(i) != Some(&opcode) || bytes.get(i + 1) != Some(&0xc7) {
        return None;
    }
    let modrm = *bytes.get(i + 2)?;
    let reg_field = (modrm >> 3) & 7;
    if modrm >> 6 != 3 || !(reg_field == 6 || reg_field == 7) {
        return None;
    }
    if rex & 0x08 != 0 {
        width = 8;
    }
    Some(RandomInstruction {
        seed: reg_field == 7,
        width,
        register: (modrm & 7) | ((rex & 1) << 3),
        len: (i + 3) as u8,
    })
}

/// The rewritten instruction at `rip`, if the task stopped at one.
pub fn patched_at(mem: &TraceeMemory, rip: u64) -> Option<RandomInstruction> {
    parse(&mem.read_partial(rip, 5), PATCHED_OPCODE)
}

/// The libraries known to read RDRAND or RDSEED: libstdc++
/// (`std::random_device`), libgcrypt (its RNG mixes them in: gpg) and
/// OpenSSL's libcrypto (when told to seed from the CPU).
const RANDOM_LIBRARIES: [&[u8]; 3] = [b"libstdc++.so", b"libgcrypt.so", b"libcrypto.so"];

/// Whether a file mapped executable gets its RDRAND and RDSEED rewritten,
/// from its path: one of [`RANDOM_LIBRARIES`]. Finding the instructions
/// costs reading the code; in a library whose code holds tables, bytes
/// that only look like one would be rewritten, silently changing the data.
pub fn rewrites_file(path: &[u8]) -> bool {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    RANDOM_LIBRARIES.iter().any(|library| name.starts_with(library))
}

/// Whether decoders started at a few earlier offsets land on `start` with
/// an RDRAND or RDSEED there. x86 code resynchronises within a few
/// instructions, so bytes that only look like one (inside another
/// instruction's immediate, say) are passed over from some start; a start
/// inside an instruction that decodes to nothing valid says nothing.
fn decodes_as_random(code: &[u8], start: usize) -> bool {
    const BACK: [usize; 6] = [64, 40, 24, 15, 8, 0];
    let mut starts: Vec<usize> = BACK.iter().map(|&back| start.saturating_sub(back)).collect();
    starts.dedup();
    let end = (start + 16).min(code.len());
    let mut landed = false;
    for from in starts {
        let mut decoder = Decoder::with_ip(64, &code[from..end], from as u64, DecoderOptions::NONE);
        while decoder.can_decode() {
            let instruction = decoder.decode();
            if instruction.is_invalid() {
                break;
            }
            let at = instruction.ip() as usize;
            if at > start {
                return false;
            }
            if at == start {
                let random = matches!(
                    instruction.code(),
                    Code::Rdrand_r16 | Code::Rdrand_r32 | Code::Rdrand_r64 | Code::Rdseed_r16 | Code::Rdseed_r32 | Code::Rdseed_r64
                );
                if !random {
                    return false;
                }
                landed = true;
                break;
            }
        }
    }
    landed
}

/// Offsets in `code` of the `0f` byte of each RDRAND and RDSEED with a
/// register operand.
pub fn find(code: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut i = 1;
    while let Some(pos) = code[i..].iter().position(|&b| b == 0xc7) {
        let c7 = i + pos;
        i = c7 + 1;
        if code[c7 - 1] != 0x0f {
            continue;
        }
        let opcode = c7 - 1;
        // The instruction may start at a 66 and/or REX prefix, or those
        // bytes may end the instruction before: decoding tells. (An f3
        // before it makes RDPID, which decodes as such and is left.)
        let start = (opcode.saturating_sub(2)..=opcode)
            .filter(|&start| parse(&code[start..], 0x0f).is_some_and(|p| start + usize::from(p.len) == opcode + 3))
            .find(|&start| decodes_as_random(code, start));
        if start.is_some() {
            found.push(opcode);
            i = opcode + 3;
        }
    }
    found
}

/// Rewrites the instructions at `offsets` (from [`find`]) of the code
/// mapped at `start`.
fn rewrite_at(mem: &TraceeMemory, start: u64, offsets: &[usize]) -> scribe_tracee::Result<()> {
    for &offset in offsets {
        mem.write(start + offset as u64, &[PATCHED_OPCODE])?;
    }
    Ok(())
}

/// `PROT_EXEC`.
const PROT_EXEC: u32 = 4;
/// The sharing type bits of mmap's flags, and `MAP_PRIVATE`.
const MAP_TYPE: u32 = 0x0f;
const MAP_PRIVATE: u32 = 0x02;

/// What a recorder or replayer remembers of the rewriting: which files it
/// applies to, and where their instructions are in each range mapped.
#[derive(Debug, Default)]
pub struct Rewriter {
    files: HashSet<u32>,
    sites: HashMap<(u32, u64, u64), Vec<usize>>,
}

impl Rewriter {
    /// Notes the name of file `id` (the recorder, as it describes it).
    pub fn note_file(&mut self, id: u32, path: &[u8]) {
        if rewrites_file(path) {
            self.files.insert(id);
        }
    }

    /// Whether file `id` was noted as one to rewrite.
    pub fn rewrites(&self, id: u32) -> bool {
        self.files.contains(&id)
    }

    /// After `map` was made: rewrites the instructions of an executable
    /// mapping of a file `rewrite` says to (the range is read once per
    /// file and offset); how many.
    pub fn after_mapping(&mut self, mem: &TraceeMemory, map: &MapRecord, rewrite: bool) -> scribe_tracee::Result<usize> {
        // Only a private mapping: a write to a shared one would reach the file.
        let private = map.flags & MAP_TYPE == MAP_PRIVATE;
        let Some(id) = map.file_id.filter(|_| rewrite && private && map.prot & PROT_EXEC != 0) else { return Ok(0) };
        let offsets = self.sites.entry((id, map.offset, map.len)).or_insert_with(|| find(&mem.read_partial(map.addr, map.len as usize)));
        rewrite_at(mem, map.addr, offsets)?;
        Ok(offsets.len())
    }
}

/// Sets the registers as if `instruction` had run and returned `value`
/// (with CF set: a value is there).
pub fn apply(regs: &mut Regs, instruction: RandomInstruction, value: u64) {
    let register = register_mut(regs, instruction.register);
    *register = match instruction.width {
        8 => value,
        4 => value & 0xffff_ffff,
        _ => (*register & !0xffff) | (value & 0xffff),
    };
    const CF: u64 = 0x1;
    const PF: u64 = 0x4;
    const AF: u64 = 0x10;
    const ZF: u64 = 0x40;
    const SF: u64 = 0x80;
    const OF: u64 = 0x800;
    regs.eflags = (regs.eflags & !(PF | AF | ZF | SF | OF)) | CF;
    regs.rip += u64::from(instruction.len);
}

/// The general-purpose register numbered `n` as the instruction set
/// numbers them.
fn register_mut(regs: &mut Regs, n: u8) -> &mut u64 {
    match n {
        0 => &mut regs.rax,
        1 => &mut regs.rcx,
        2 => &mut regs.rdx,
        3 => &mut regs.rbx,
        4 => &mut regs.rsp,
        5 => &mut regs.rbp,
        6 => &mut regs.rsi,
        7 => &mut regs.rdi,
        8 => &mut regs.r8,
        9 => &mut regs.r9,
        10 => &mut regs.r10,
        11 => &mut regs.r11,
        12 => &mut regs.r12,
        13 => &mut regs.r13,
        14 => &mut regs.r14,
        _ => &mut regs.r15,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_are_found_at_their_boundaries_and_not_inside_others() {
        let code: Vec<u8> = [
            &[0x48, 0x83, 0xec, 0x18][..],        // sub rsp, 0x18
            &[0x0f, 0xc7, 0xf0],                  // rdrand eax
            &[0x89, 0x01],                        // mov [rcx], eax
            &[0x48, 0x0f, 0xc7, 0xf9],            // rdseed rcx
            &[0x66, 0x41, 0x0f, 0xc7, 0xf3],      // rdrand r11w
            &[0xf3, 0x0f, 0xc7, 0xf8],            // rdpid rax: not random
            &[0xb8, 0x0f, 0xc7, 0xf0, 0x00],      // mov eax, 0xf0c70f: not one either
            &[0x0f, 0xc7, 0x0e],                  // cmpxchg8b [rsi]: a memory form
            &[0x6a, 0x41],                        // push 0x41: a byte that looks like REX
            &[0x0f, 0xc7, 0xf2],                  // rdrand edx
            &[0xc3],                              // ret
        ]
        .concat();
        assert_eq!(find(&code), vec![4, 10, 15, 32]);
        let at = |offset: usize| {
            let mut patched = code[offset..].to_vec();
            let opcode = patched.iter().position(|&b| b == 0x0f).unwrap();
            patched[opcode] = PATCHED_OPCODE;
            parse(&patched, PATCHED_OPCODE).unwrap()
        };
        assert_eq!(at(4), RandomInstruction { seed: false, width: 4, register: 0, len: 3 });
        assert_eq!(at(9), RandomInstruction { seed: true, width: 8, register: 1, len: 4 });
        assert_eq!(at(13), RandomInstruction { seed: false, width: 2, register: 11, len: 5 });
    }

    #[test]
    fn a_value_lands_in_its_register_with_the_carry_set() {
        let mut regs = zeroed_regs();
        regs.r11 = 0x1111_2222_3333_4444;
        regs.eflags = 0x8c4; // OF, SF, ZF, PF set; CF clear
        regs.rip = 0x1000;
        apply(&mut regs, RandomInstruction { seed: false, width: 2, register: 11, len: 5 }, 0xabcd_ef01);
        assert_eq!((regs.r11, regs.eflags, regs.rip), (0x1111_2222_3333_ef01, 0x1, 0x1005));
        apply(&mut regs, RandomInstruction { seed: true, width: 4, register: 11, len: 4 }, 0xffff_ffff_8000_0001);
        assert_eq!(regs.r11, 0x8000_0001);
        apply(&mut regs, RandomInstruction { seed: false, width: 8, register: 0, len: 4 }, u64::MAX);
        assert_eq!(regs.rax, u64::MAX);
    }

    fn zeroed_regs() -> Regs {
        Regs {
            r15: 0, r14: 0, r13: 0, r12: 0, rbp: 0, rbx: 0, r11: 0, r10: 0, r9: 0, r8: 0, rax: 0, rcx: 0, rdx: 0, rsi: 0,
            rdi: 0, orig_rax: 0, rip: 0, cs: 0, eflags: 0, rsp: 0, ss: 0, fs_base: 0, gs_base: 0, ds: 0, es: 0, fs: 0, gs: 0,
        }
    }

    #[test]
    fn only_libraries_known_to_use_them_are_rewritten() {
        assert!(rewrites_file(b"/usr/lib/x86_64-linux-gnu/libstdc++.so.6"));
        assert!(rewrites_file(b"/opt/gcc/lib64/libstdc++.so.6.0.30"));
        assert!(rewrites_file(b"/usr/lib/x86_64-linux-gnu/libgcrypt.so.20"));
        assert!(!rewrites_file(b"/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(!rewrites_file(b"/home/me/libstdc++-helper/prog"));
    }
}

