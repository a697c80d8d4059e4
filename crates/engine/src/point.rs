//! Execution points inside user code (preemptions, signal deliveries) and
//! the in-task check replay uses to find them again.
//!
//! A point is an instruction address plus the task's exact state there
//! ([`exact_state`]). Replay must stop at the first execution of that
//! address whose state matches. A hardware breakpoint finds it, but each
//! pass through the address then costs a trap (~28 µs here), and a loop
//! that ran for a whole time slice passes millions of times. So replay
//! patches the address with a jump to a *point check*: a few instructions,
//! in a page mapped next to the code, that compare the registers and stack
//! words with the recorded ones and execute `int3` only on a match, then
//! run the displaced instructions and jump back. A pass then costs a few
//! nanoseconds.
//!
//! The jump takes 5 bytes and may cover several instructions. A branch into
//! the middle of them would run the jump's bytes, so the starts of those
//! later instructions get hardware breakpoints ("guards"); a guard hit
//! removes the patch and the search goes on with a breakpoint at the point.

use iced_x86::code_asm::{
    dword_ptr, edx, ptr, qword_ptr, r10, r11, r12, r13, r14, r15, r8, r9, rax, rbp, rbx, rcx, rdi, rdx, rsi, rsp,
    AsmRegister64,
    CodeAssembler,
};
use iced_x86::{
    BlockEncoderOptions, Code, Decoder, DecoderOptions, FlowControl, Instruction, MemoryOperand, Mnemonic, Register,
};
use scribe_tracee::{Regs, TraceeMemory};

use crate::procfs::Mapping;

/// Stack words an exact state holds (from rsp up).
pub const STACK_WORDS: usize = 8;

/// Stack words a deep state holds: 1 KiB, as much as the deep fingerprint
/// digests. An interpreter's dispatch loop keeps state in locals deeper
/// than the top 64 bytes; with 256 bytes a python3 point still matched
/// thousands of earlier passes.
pub const DEEP_STACK_WORDS: usize = 128;

/// Words of an exact state before the stack words: 16 registers and flags.
const REGISTER_WORDS: usize = 17;

/// The arithmetic flags and DF: what a point compares of rflags (RF, TF
/// and the system flags are the tracer's business).
pub const FLAGS_MASK: u64 = 0xcd5;

/// Bytes of the jump written at the point.
const JUMP_LEN: usize = 5;

/// Words of memory a deep state holds behind each register.
pub const POINTED_WORDS: usize = 4;

/// The registers whose memory a deep state holds, as indexes into
/// [`exact_state`]: every general register but rsp (the stack words cover
/// what it points to).
const POINTER_REGISTERS: [usize; 15] = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15];

/// The memory a register pointed to at a point (part of a deep state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pointed {
    /// The register, as an index into [`exact_state`].
    pub register: usize,
    /// The words from the address it holds up.
    pub words: [u64; POINTED_WORDS],
}

/// [`exact_state`], then the 32 bytes each general register but rsp points
/// to (for those that point to that much mapped memory), then one layout
/// word: the number of stack words in its low byte and, from bit 8, a bit
/// per register of [`POINTER_REGISTERS`] whose words are there. What a
/// point records since trace format 6: an interpreter's dispatch loop can
/// pass a point with every register and stack word equal while the objects
/// they point to differ; comparing those too in the task saves a trap per
/// such pass (python3: thousands per point).
pub fn deep_state(regs: &Regs, mem: &TraceeMemory) -> Vec<u64> {
    let mut state = state_with_stack(regs, mem, DEEP_STACK_WORDS);
    let stack_words = (state.len() - REGISTER_WORDS) as u64;
    let mut mask = 0u64;
    for (bit, &register) in POINTER_REGISTERS.iter().enumerate() {
        let addr = state[register];
        if !crate::machine::PointedReads::CURRENT.reads_behind(addr) {
            continue;
        }
        // Only memory the task itself may read: the check loads it.
        let Some(bytes) = mem.read_as_task(addr, POINTED_WORDS * 8) else { continue };
        mask |= 1 << bit;
        state.extend(bytes.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8-byte chunk"))));
    }
    state.push(stack_words | mask << 8);
    state
}

/// Splits a [`deep_state`] into its [`exact_state`] part and the pointed
/// memory; `None` if the layout word does not describe it.
pub fn split_deep(state: &[u64]) -> Option<(&[u64], Vec<Pointed>)> {
    let (&layout, rest) = state.split_last()?;
    let stack_words = (layout & 0xff) as usize;
    let mask = layout >> 8;
    if stack_words > DEEP_STACK_WORDS || mask >> POINTER_REGISTERS.len() != 0 {
        return None;
    }
    let head_len = REGISTER_WORDS + stack_words;
    if rest.len() != head_len + mask.count_ones() as usize * POINTED_WORDS {
        return None;
    }
    let (head, mut words) = rest.split_at(head_len);
    let mut pointed = Vec::new();
    for (bit, &register) in POINTER_REGISTERS.iter().enumerate() {
        if mask & (1 << bit) != 0 {
            let (these, next) = words.split_at(POINTED_WORDS);
            pointed.push(Pointed { register, words: these.try_into().expect("POINTED_WORDS words") });
            words = next;
        }
    }
    Some((head, pointed))
}

/// What pointed memory will read while a check is installed: where a
/// register points into the patched bytes at `at`, they read as `patch`
/// (the recorded words hold the original code).
pub fn with_patch(pointed: &[Pointed], head: &[u64], at: u64, patch: &[u8]) -> Vec<Pointed> {
    pointed
        .iter()
        .map(|p| {
            let base = head[p.register];
            let mut bytes: Vec<u8> = p.words.iter().flat_map(|w| w.to_le_bytes()).collect();
            for (i, b) in bytes.iter_mut().enumerate() {
                let addr = base.wrapping_add(i as u64);
                if addr >= at && addr < at + patch.len() as u64 {
                    *b = patch[(addr - at) as usize];
                }
            }
            let mut words = [0u64; POINTED_WORDS];
            for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
                *w = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
            }
            Pointed { register: p.register, words }
        })
        .collect()
}

/// The state a point compares, in storage order: rax, rbx, rcx, rdx, rsi,
/// rdi, rbp, rsp, r8-r15, rflags & [`FLAGS_MASK`], then up to
/// [`STACK_WORDS`] words from rsp up (fewer where the stack ends).
pub fn exact_state(regs: &Regs, mem: &TraceeMemory) -> Vec<u64> {
    state_with_stack(regs, mem, STACK_WORDS)
}

/// The current state shaped like `recorded` (an exact state, or the head
/// of a deep one): as many stack words as it holds.
pub fn state_like(regs: &Regs, mem: &TraceeMemory, recorded: &[u64]) -> Vec<u64> {
    state_with_stack(regs, mem, recorded.len().saturating_sub(REGISTER_WORDS))
}

/// [`exact_state`] with up to `stack_words` stack words.
pub fn state_with_stack(regs: &Regs, mem: &TraceeMemory, stack_words: usize) -> Vec<u64> {
    let mut state = vec![
        regs.rax, regs.rbx, regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.rbp, regs.rsp, regs.r8, regs.r9, regs.r10,
        regs.r11, regs.r12, regs.r13, regs.r14, regs.r15, regs.eflags & FLAGS_MASK,
    ];
    let stack = mem.read_partial(regs.rsp, stack_words * 8);
    state.extend(stack.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8-byte chunk"))));
    state
}

/// Where a point check can be patched in: the instructions the jump covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The point's address.
    pub addr: u64,
    /// The original bytes the jump (and its padding) replaces.
    pub original: Vec<u8>,
    /// Starts of the covered instructions after the first: guarded.
    pub guards: Vec<u64>,
    /// The covered instructions, to run from the check's page.
    instructions: Vec<Instruction>,
    /// For a site reached through a short jump ([`compact_site`]): the
    /// dead padding that takes the jump to the check, and its bytes.
    pub via: Option<(u64, Vec<u8>)>,
}

impl Site {
    /// Where the 5-byte jump to the check is written.
    fn jump_from(&self) -> u64 {
        self.via.as_ref().map_or(self.addr, |(at, _)| *at)
    }

    /// The bytes the patch replaces, with their addresses.
    pub fn originals(&self) -> Vec<(u64, &[u8])> {
        let mut all = vec![(self.addr, self.original.as_slice())];
        all.extend(self.via.as_ref().map(|(at, bytes)| (*at, bytes.as_slice())));
        all
    }
}

/// Why an address cannot take a point check.
fn refuses(instr: &Instruction) -> bool {
    instr.is_invalid()
        || matches!(
            instr.flow_control(),
            // A call would push the check page's address; interrupts and
            // exceptions must fault at their own address.
            FlowControl::Call | FlowControl::IndirectCall | FlowControl::Interrupt | FlowControl::Exception
                | FlowControl::XbeginXabortXend
        )
        || matches!(
            instr.mnemonic(),
            // syscall saves rip in rcx and the seccomp filter looks at it;
            // rdtsc traps (PR_SET_TSC) and replay checks its address, as
            // it does a rewritten RDRAND's (a hlt, see `randinsn`).
            Mnemonic::Syscall | Mnemonic::Sysenter | Mnemonic::Rdtsc | Mnemonic::Rdtscp | Mnemonic::Int1
                | Mnemonic::Int3 | Mnemonic::Int | Mnemonic::Into | Mnemonic::Hlt
        )
}

/// Decodes the instructions at `addr` (`code` holds the bytes from there
/// on) and returns the site a point check would patch, or `None` when the
/// covered instructions cannot run elsewhere or need more than the four
/// guards there are.
pub fn site(code: &[u8], addr: u64) -> Option<Site> {
    let mut decoder = Decoder::with_ip(64, code, addr, DecoderOptions::NONE);
    let mut instructions = Vec::new();
    let mut len = 0;
    while len < JUMP_LEN {
        if !decoder.can_decode() {
            return None;
        }
        let instr = decoder.decode();
        if refuses(&instr) {
            return None;
        }
        len += instr.len();
        let ends_flow =
            matches!(instr.flow_control(), FlowControl::Return | FlowControl::UnconditionalBranch | FlowControl::IndirectBranch);
        if ends_flow && len < JUMP_LEN {
            // What follows a ret or jmp is reached only by branches (often
            // the next function's entry): its guard would be hit at every
            // call (xz's point at the end of a memcmp: 41,000 traps).
            return None;
        }
        instructions.push(instr);
    }
    let guards: Vec<u64> = instructions[1..].iter().map(|i| i.ip()).collect();
    if guards.len() > scribe_tracee::HW_BREAKPOINTS {
        return None;
    }
    Some(Site { addr, original: code[..len].to_vec(), guards, instructions, via: None })
}

/// Bytes of the short jump a compact site starts with.
const SHORT_JUMP_LEN: usize = 2;

/// Bytes of code read after a point to find a compact site: a short
/// jump's reach and the padding's jump.
pub const COMPACT_SCAN: usize = SHORT_JUMP_LEN + 127 + PADDING_ALIGN as usize + 15;

/// A site that covers the instruction at `addr` alone, so that it has no
/// guards: the point gets a 2-byte `jmp rel8` to dead padding after it
/// (`nop` or `int3` right after a `jmp` or `ret`, the alignment compilers
/// put before a branch target, with 5 bytes or more before the next
/// 8-byte boundary), and the padding the 5-byte jump to the check. `None` when the instruction is
/// shorter than the short jump or no such padding is in its reach.
///
/// A branch into a plain site's later instructions (bc's `_bc_simp_mul`
/// enters its loop body at the instruction after a point on every call's
/// first passes) lands on a guard, which traps: the check was removed at
/// each such hit and given up after a few, and every later pass at the
/// point trapped (bc_hang.log: replay did not reach its point in 5
/// minutes). Code reaches padding after a `jmp` or `ret` by no
/// path (branches go to the aligned label after it), so the padding may
/// take the jump.
pub fn compact_site(code: &[u8], addr: u64) -> Option<Site> {
    let mut decoder = Decoder::with_ip(64, code, addr, DecoderOptions::NONE);
    if !decoder.can_decode() {
        return None;
    }
    let first = decoder.decode();
    if refuses(&first) || first.len() < SHORT_JUMP_LEN {
        return None;
    }
    let reach = addr + (SHORT_JUMP_LEN + 127) as u64;
    let mut after_flow_end = false;
    let mut run: Option<(u64, usize)> = None;
    let mut ip = first.next_ip();
    while decoder.can_decode() && ip <= reach + PADDING_ALIGN {
        let instr = decoder.decode();
        if instr.is_invalid() {
            return None;
        }
        let padding = matches!(instr.mnemonic(), Mnemonic::Nop | Mnemonic::Int3);
        run = match run {
            Some((start, len)) if padding => Some((start, len + instr.len())),
            None if padding && after_flow_end => Some((instr.ip(), instr.len())),
            _ => None,
        };
        if let Some((start, len)) = run {
            // Alignment padding before a label: the jump stays below the
            // next 8-byte boundary after the run's start, which must not be
            // one itself (code may begin with a nop: a function's
            // patchable entry at an aligned address after a `ret`).
            let boundary = (start | (PADDING_ALIGN - 1)) + 1;
            if start % PADDING_ALIGN != 0 && start + JUMP_LEN as u64 <= boundary && start + len as u64 >= boundary && start <= reach {
                let at = (start - addr) as usize;
                let bytes = code.get(at..at + JUMP_LEN)?.to_vec();
                let original = code[..first.len()].to_vec();
                return Some(Site { addr, original, guards: Vec::new(), instructions: vec![first], via: Some((start, bytes)) });
            }
        }
        after_flow_end =
            matches!(instr.flow_control(), FlowControl::Return | FlowControl::UnconditionalBranch | FlowControl::IndirectBranch);
        ip = instr.next_ip();
    }
    None
}

/// The alignment of the labels padding runs up to (compilers align loop
/// heads and functions to 8 or 16 bytes).
const PADDING_ALIGN: u64 = 8;

/// Reads the code at `addr` and finds its [`Site`], unless the code lives
/// in memory the program may write (`maps`: the task's mappings).
///
/// A JIT compiles into writable and executable memory (HotSpot's code
/// cache is one `rwx` mapping) and rewrites its code as it runs: patching
/// a jump in there could be read back, overwritten or moved by the
/// program. A `--chaos` recording of a Java thread pool that chose such a
/// point replayed with "no task can reach the next recorded event". Such
/// points are found with the breakpoint alone, as a return address is.
pub fn site_in(mem: &TraceeMemory, maps: &[Mapping], addr: u64) -> Option<Site> {
    let mapping = maps.iter().find(|m| m.start <= addr && addr < m.end)?;
    if !mapping.perms.starts_with("r-x") {
        return None;
    }
    site(&mem.read_partial(addr, 32), addr)
}

/// [`compact_site`] of the code at `addr`, in code the program cannot
/// write (as [`site_in`]).
pub fn compact_site_in(mem: &TraceeMemory, maps: &[Mapping], addr: u64) -> Option<Site> {
    let mapping = maps.iter().find(|m| m.start <= addr && addr < m.end)?;
    if !mapping.perms.starts_with("r-x") {
        return None;
    }
    let len = COMPACT_SCAN.min((mapping.end - addr) as usize);
    compact_site(&mem.read_partial(addr, len), addr)
}

/// The bytes written at the site: a jump to `code_at` padded with int3
/// (for a compact site, a short jump to its padding).
pub fn jump_bytes(site: &Site, code_at: u64) -> Option<Vec<u8>> {
    let mut bytes = match &site.via {
        Some((at, _)) => {
            let rel = i8::try_from(*at as i64 - (site.addr as i64 + SHORT_JUMP_LEN as i64)).ok()?;
            vec![0xeb, rel as u8]
        }
        None => long_jump(site.addr, code_at)?,
    };
    bytes.resize(site.original.len(), 0xcc);
    Some(bytes)
}

/// A 5-byte `jmp` at `from` to `to`.
fn long_jump(from: u64, to: u64) -> Option<Vec<u8>> {
    let rel = i32::try_from(to as i64 - (from as i64 + JUMP_LEN as i64)).ok()?;
    let mut bytes = vec![0xe9];
    bytes.extend_from_slice(&rel.to_le_bytes());
    Some(bytes)
}

/// Every patch a check for `site` at `code_at` writes: the site's jump
/// and, for a compact site, its padding's jump to the check.
pub fn patches(site: &Site, code_at: u64) -> Option<Vec<(u64, Vec<u8>)>> {
    let mut all = vec![(site.addr, jump_bytes(site, code_at)?)];
    if let Some((at, _)) = &site.via {
        all.push((*at, long_jump(*at, code_at)?));
    }
    Some(all)
}

/// A point check assembled for one page.
#[derive(Debug, Clone)]
pub struct Check {
    /// The code to write at the page.
    pub code: Vec<u8>,
    /// Where the task stops after the `int3` of a match.
    pub hit: u64,
    /// Where a pass that does not match goes on (rcx and rdx restored): a
    /// pointed word that faults (its memory not mapped yet on an earlier
    /// pass) is a miss too.
    pub miss: u64,
}

/// The registers in the order the check compares them: those that loops
/// usually change first, so a pass that does not match leaves early. The
/// number is the register's index in [`exact_state`].
const COMPARE_ORDER: [(usize, AsmRegister64); 14] = [
    (2, rcx),
    (3, rdx),
    (4, rsi),
    (5, rdi),
    (8, r8),
    (9, r9),
    (10, r10),
    (11, r11),
    (1, rbx),
    (6, rbp),
    (12, r12),
    (13, r13),
    (14, r14),
    (15, r15),
];

/// The register of general-register word `index` of a state (not rsp).
fn register_of(index: usize) -> AsmRegister64 {
    match index {
        0 => rax,
        i => COMPARE_ORDER.iter().find(|&&(n, _)| n == i).map(|&(_, r)| r).expect("a register word"),
    }
}

/// The word of a state that differs between `now` and `target` (two
/// states of one instruction), in the order the check compares registers,
/// then the stack words, then rsp: what the check's fast path looks at.
pub fn progress_word(now: &[u64], target: &[u64]) -> Option<usize> {
    let differs = |i: usize| now.get(i).zip(target.get(i)).is_some_and(|(a, b)| a != b);
    std::iter::once(0)
        .chain(COMPARE_ORDER.iter().map(|&(i, _)| i))
        .chain(REGISTER_WORDS..target.len())
        .chain(std::iter::once(7))
        .find(|&i| differs(i))
}

/// Assembles the check for `state` (from [`exact_state`]) at `page`: it
/// runs with the program's registers, compares, and resumes the program at
/// the instruction after the site.
///
/// The check writes neither the program's stack nor its flags: a push below
/// the red zone would change stack memory the program may later read as an
/// uninitialized local (found with python3: its replay went another way),
/// and a flag save needs the stack. So rcx and rdx are parked in the
/// scratch page after the code (see [`CHECK_LEN`]) and every word is
/// compared with `lea` (rcx = word - expected) and `jrcxz`, neither of which
/// touches the flags. The flags themselves are left to the replayer's final
/// fingerprint comparison. With `fast` (a word index from
/// [`progress_word`]), that word is compared first. The `pointed` words
/// (from [`split_deep`]) are compared last, once every register equals the
/// recorded one, so the addresses read are those that were readable then.
pub fn assemble(
    site: &Site,
    page: u64,
    state: &[u64],
    pointed: &[Pointed],
    fast: Option<usize>,
    counter: Option<Counter>,
) -> Option<Check> {
    if state.len() < REGISTER_WORDS || state.len() > REGISTER_WORDS + DEEP_STACK_WORDS {
        return None;
    }
    if fast.is_some_and(|i| i >= state.len() || i == FLAGS_WORD) {
        return None;
    }
    // A fast word in a general register (not rsp) whose expected value
    // fits a 32-bit displacement (a loop counter) is compared first on its
    // own, before anything is parked.
    let prefilter = fast.filter(|&i| i < FLAGS_WORD && i != 7).and_then(|i| {
        let expected = i32::try_from(state[i] as i64).ok().filter(|&e| e != i32::MIN)?;
        Some((i, expected))
    });
    let scratch = scratch_for(page);
    if pointed.iter().any(|p| p.register >= REGISTER_WORDS || p.register == 7 || p.register >= state.len()) {
        return None;
    }
    let build = || -> Result<(CodeAssembler, iced_x86::code_asm::CodeLabel, iced_x86::code_asm::CodeLabel), iced_x86::IcedError> {
        let mut a = CodeAssembler::new(64)?;
        let mut miss = a.create_label();
        let mut body = a.create_label();
        let mut hit = a.create_label();
        // rip-relative moves to and from the scratch page (iced keeps the
        // absolute target of a RIP-based operand and re-encodes it).
        let slot = |n: i64| MemoryOperand::with_base_displ(Register::RIP, scratch as i64 + 8 * n);
        let store = |a: &mut CodeAssembler, n: i64, reg: Register| {
            a.add_instruction(Instruction::with2(Code::Mov_rm64_r64, slot(n), reg)?)
        };
        let load = |a: &mut CodeAssembler, reg: Register, n: i64| {
            a.add_instruction(Instruction::with2(Code::Mov_r64_rm64, reg, slot(n))?)
        };
        if let Some((index, expected)) = prefilter {
            // A loop's pass costs only this: the progress register swapped
            // into rcx, compared and swapped back, with no memory touched
            // (a 190-million-pass spin loop replayed in 0.19 s, against
            // 0.36 s with rcx and rdx parked in the scratch page first).
            let mut maybe = a.create_label();
            let reg = (index != 2).then(|| register_of(index));
            if let Some(reg) = reg {
                a.xchg(rcx, reg)?;
            }
            a.lea(rcx, ptr(rcx - expected))?;
            a.jrcxz(maybe)?;
            a.lea(rcx, ptr(rcx + expected))?;
            if let Some(reg) = reg {
                a.xchg(rcx, reg)?;
            }
            a.jmp(body)?;
            a.set_label(&mut maybe)?;
            a.lea(rcx, ptr(rcx + expected))?;
            if let Some(reg) = reg {
                a.xchg(rcx, reg)?;
            }
        }
        store(&mut a, 0, Register::RCX)?;
        store(&mut a, 1, Register::RDX)?;
        // rcx = rdx - expected, with no flag written; on to `miss` unless 0.
        let compare_rdx = |a: &mut CodeAssembler, expected: u64| -> Result<(), iced_x86::IcedError> {
            a.mov(rcx, expected.wrapping_neg())?;
            a.lea(rcx, ptr(rcx + rdx))?;
            let mut equal = a.create_label();
            a.jrcxz(equal)?;
            a.jmp(miss)?;
            a.set_label(&mut equal)
        };
        if let Some(counter) = counter {
            // First: it tells the passes of a loop apart when nothing else does.
            a.mov(edx, dword_ptr(counter.addr))?;
            compare_rdx(&mut a, u64::from(counter.value))?;
        }
        let order = fast
            .into_iter()
            .chain(std::iter::once(0))
            .chain(COMPARE_ORDER.iter().map(|&(i, _)| i))
            .chain(REGISTER_WORDS..state.len())
            .chain(std::iter::once(7));
        // rdx = general register `index` (the parked ones from the scratch page).
        let register_to_rdx = |a: &mut CodeAssembler, index: usize| match index {
            2 => load(a, Register::RDX, 0),
            3 => load(a, Register::RDX, 1),
            7 => a.mov(rdx, rsp),
            i => a.mov(rdx, register_of(i)),
        };
        let mut done = [false; REGISTER_WORDS + DEEP_STACK_WORDS];
        for index in order {
            if std::mem::replace(&mut done[index], true) {
                continue;
            }
            match index {
                i if i >= REGISTER_WORDS => a.mov(rdx, qword_ptr(rsp + (8 * (i - REGISTER_WORDS)) as i32))?,
                i => register_to_rdx(&mut a, i)?,
            }
            compare_rdx(&mut a, state[index])?;
        }
        for p in pointed {
            for (k, &expected) in p.words.iter().enumerate() {
                // rdx = the register, then the word it points to.
                register_to_rdx(&mut a, p.register)?;
                a.mov(rdx, qword_ptr(rdx + (8 * k) as i32))?;
                compare_rdx(&mut a, expected)?;
            }
        }
        load(&mut a, Register::RCX, 0)?;
        load(&mut a, Register::RDX, 1)?;
        a.int3()?;
        a.set_label(&mut hit)?;
        a.jmp(body)?;
        a.set_label(&mut miss)?;
        load(&mut a, Register::RCX, 0)?;
        load(&mut a, Register::RDX, 1)?;
        a.set_label(&mut body)?;
        for instr in &site.instructions {
            a.add_instruction(*instr)?;
        }
        a.jmp(site.addr + site.original.len() as u64)?;
        Ok((a, hit, miss))
    };
    let (mut a, hit, miss) = build().ok()?;
    let result = a.assemble_options(page, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS).ok()?;
    let hit = result.label_ip(&hit).ok()?;
    let miss = result.label_ip(&miss).ok()?;
    let code = result.inner.code_buffer;
    (code.len() <= CODE_LEN as usize).then_some(Check { code, hit, miss })
}

/// A 32-bit word of memory at a fixed address that a point's check
/// compares too: the syscall buffer's count of bytes used, which is how
/// far the task got through the buffered calls before the point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Its address (below 2 GiB: an absolute 32-bit operand).
    pub addr: u64,
    /// What it holds at the point.
    pub value: u32,
}

/// Size of a page.
pub const PAGE: u64 = 4096;

/// Room for a check's code: two pages (a deep state's 128 stack words
/// and 60 pointed words take about 6 KiB of compares).
pub const CODE_LEN: u64 = 2 * PAGE;

/// What a check maps: room for its code from anywhere in the first page
/// (see [`place`]) and, after it, a page of scratch memory where it parks
/// two registers (mapped read-write-execute in one go; the code never
/// writes its own pages).
pub const CHECK_LEN: u64 = CODE_LEN + 2 * PAGE;

/// The scratch page of a check whose code starts at `code_at`.
pub fn scratch_for(code_at: u64) -> u64 {
    (code_at & !(PAGE - 1)) + CODE_LEN + PAGE
}

/// Index of the flags in an exact state.
const FLAGS_WORD: usize = 16;

/// Room left free above the highest program break the task reaches before
/// its point (see [`growth_zones`]): the break is page-rounded by the
/// kernel, and malloc asks for it a little at a time.
const HEAP_MARGIN: u64 = 1 << 20;

/// Room left free below the end of the stack for it to grow when its size
/// limit is unknown or larger.
const STACK_ROOM: u64 = 64 << 20;

/// The kernel's gap kept between a growing stack and the mapping below it
/// (stack_guard_gap: 256 pages).
const STACK_GUARD_GAP: u64 = 256 * PAGE;

/// What a task's address space becomes before it reaches its point: the
/// anonymous mappings and program breaks of the buffered calls it makes
/// until then, which replay makes for real (mmap at the recorded address).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upcoming {
    /// Ranges the calls map.
    pub mappings: Vec<(u64, u64)>,
    /// The highest program break they set.
    pub brk: Option<u64>,
}

/// Where the program's memory will grow while a check is in place, which
/// the check's pages must stay out of. Replay maps the program's mappings
/// at their recorded addresses with MAP_FIXED and makes its brk for real,
/// so pages there were overwritten (a check in libc's malloc that never
/// matched again) or made the brk fail (cc1's malloc then took another
/// way).
///
/// A check lives from its install to the point, and a point comes right
/// after the batch of buffered calls the task was given with it: the task
/// makes no other call meanwhile, and the other tasks of its process wait.
/// So what grows is known (`upcoming`): the brk heap up to the highest
/// break, the batch's mappings, and the stack, which grows by faults, down
/// to its size limit (`stack_limit`, bytes) and the kernel's guard gap.
/// Zones as wide as the heap's next GiB and the mmap area's next 2 GiB
/// left code in a library, or in memory the program mapped, no page 96
/// MiB away for a guard on the jump's top byte: its guards took hardware
/// breakpoints (`mapped_loop.c` replayed in twice the time).
pub fn growth_zones(maps: &[Mapping], start_brk: Option<u64>, stack_limit: Option<u64>, upcoming: &Upcoming) -> Vec<(u64, u64)> {
    let mut zones = upcoming.mappings.clone();
    if let Some(start) = start_brk {
        let heap = maps.iter().filter(|m| m.path == "[heap]").map(|m| m.end);
        let top = heap.chain(upcoming.brk).fold(start, u64::max);
        zones.push((start, top.saturating_add(PAGE - 1).saturating_add(HEAP_MARGIN) & !(PAGE - 1)));
    }
    if let Some(stack) = maps.iter().find(|m| m.path == "[stack]") {
        let room = stack_limit.map(|limit| limit.saturating_add(STACK_GUARD_GAP)).filter(|&room| room < STACK_ROOM).unwrap_or(STACK_ROOM);
        zones.push((stack.end.saturating_sub(room), stack.end));
    }
    zones
}

/// How far a rel32 jump reaches, with room for the page itself.
const REACH: u64 = (1 << 31) - 2 * PAGE;

/// Lowest address the kernel lets a program map by default (mmap_min_addr).
const LOWEST: u64 = 0x10000;

/// Highest user address (one past) on x86-64 with 4-level paging.
const HIGHEST: u64 = 0x7fff_ffff_f000;

/// Opcodes that fault at once in 64-bit mode whatever follows them:
/// int3 (SIGTRAP after it) and instructions invalid there (SIGILL at
/// them). Sorted.
pub const TRAPPING_BYTES: [u8; 21] = [
    0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x60, 0x61, 0x82, 0x9a, 0xcc, 0xce, 0xd4, 0xd5,
    0xd6, 0xea,
];

/// Where a check goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Start of its mapping ([`CHECK_LEN`] bytes).
    pub page: u64,
    /// Where its code starts: the jump's target.
    pub code_at: u64,
    /// The guards a hardware breakpoint must watch: none when the jump's
    /// own bytes trap at every guard inside it.
    pub hw_guards: Vec<u64>,
}

/// Where to put the check for `site`, as close as possible, in a free range
/// outside `avoid` (see [`growth_zones`]).
///
/// A branch into the site's later instructions would run the middle of
/// the jump. Watching those addresses with hardware breakpoints costs
/// more than the trap: with a breakpoint armed in the page of a loop, the
/// loop ran about 4 times slower on this machine (a check's pass: 0.19 s
/// against 0.83 s for 190 million). So the jump's target is chosen so that
/// each byte of its offset a guard falls on is one of [`TRAPPING_BYTES`]:
/// such a branch faults right there, and replay knows it for a guard's
/// hit (the site's later instructions all start inside the jump: it
/// covers instructions until it has 5 bytes). Only when no
/// such target is free (a guard on the offset's top byte asks for one 96
/// MiB away or more) do the guards inside the jump get breakpoints.
pub fn place(site: &Site, maps: &[Mapping], avoid: &[(u64, u64)]) -> Option<Placement> {
    let gaps = free_gaps(maps, avoid);
    let inside: Vec<u64> = site.guards.iter().copied().filter(|&g| g < site.addr + JUMP_LEN as u64).collect();
    let mut constrained = [false; 4];
    for &g in &inside {
        constrained[(g - site.addr - 1) as usize] = true;
    }
    let base = (site.jump_from() + JUMP_LEN as u64) as i64;
    let reach = REACH as i64;
    let mut best: Option<i64> = None;
    for &(lo, hi) in &gaps {
        // Code from anywhere in a page the mapping may start at.
        let first = (lo as i64 - base).max(-reach);
        let last = ((hi + PAGE - 1) as i64 - base).min(reach);
        if first > last {
            continue;
        }
        let mut consider = |rel: i64| {
            if (first..=last).contains(&rel) && best.is_none_or(|b| rel.abs() < b.abs()) {
                best = Some(rel);
            }
        };
        if last >= 0 {
            if let Some(rel) = smallest_at_least(first.max(0) as u32, constrained) {
                consider(i64::from(rel));
            }
        }
        if first < 0 {
            if let Some(rel) = largest_at_most(last.min(-1) as i32 as u32, constrained) {
                consider(i64::from(rel as i32));
            }
        }
    }
    if let Some(rel) = best {
        let code_at = (base + rel) as u64;
        return Some(Placement { page: code_at & !(PAGE - 1), code_at, hw_guards: Vec::new() });
    }
    let page = nearest_page(&gaps, site.addr)?;
    Some(Placement { page, code_at: page, hw_guards: inside })
}

/// Whether byte `digit` may be byte `index` of a jump's offset.
fn digit_allowed(constrained: [bool; 4], index: usize, digit: u8) -> bool {
    !constrained[index] || TRAPPING_BYTES.contains(&digit)
}

/// The smallest value at least `value` whose constrained bytes are
/// [`TRAPPING_BYTES`].
fn smallest_at_least(value: u32, constrained: [bool; 4]) -> Option<u32> {
    let bytes = value.to_le_bytes();
    // The highest byte that is not allowed; with none, the value itself.
    let Some(low) = (0..4).rev().find(|&i| !digit_allowed(constrained, i, bytes[i])) else { return Some(value) };
    // Raise the lowest byte at or above it that can be raised; the bytes
    // below take their smallest allowed value.
    (low..4).find_map(|at| {
        let raised = (u16::from(bytes[at]) + 1..=255).map(|d| d as u8).find(|&d| digit_allowed(constrained, at, d))?;
        let mut out = bytes;
        out[at] = raised;
        for (i, byte) in out.iter_mut().enumerate().take(at) {
            *byte = if constrained[i] { TRAPPING_BYTES[0] } else { 0 };
        }
        Some(u32::from_le_bytes(out))
    })
}

/// The largest value at most `value` whose constrained bytes are
/// [`TRAPPING_BYTES`].
fn largest_at_most(value: u32, constrained: [bool; 4]) -> Option<u32> {
    let bytes = value.to_le_bytes();
    let Some(low) = (0..4).rev().find(|&i| !digit_allowed(constrained, i, bytes[i])) else { return Some(value) };
    (low..4).find_map(|at| {
        let lowered = (0..bytes[at]).rev().find(|&d| digit_allowed(constrained, at, d))?;
        let mut out = bytes;
        out[at] = lowered;
        for (i, byte) in out.iter_mut().enumerate().take(at) {
            *byte = if constrained[i] { TRAPPING_BYTES[TRAPPING_BYTES.len() - 1] } else { 0xff };
        }
        Some(u32::from_le_bytes(out))
    })
}

/// The free ranges a check's mapping may start in: `(lo, hi)`, both
/// page-aligned, with a free page on each side so the kernel does not
/// merge it with a neighbour, and outside the `avoid` ranges.
fn free_gaps(maps: &[Mapping], avoid: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut bounds: Vec<(u64, u64)> = maps.iter().map(|m| (m.start, m.end)).chain(avoid.iter().copied()).collect();
    bounds.sort_unstable();
    let mut gaps = Vec::new();
    let mut prev_end = LOWEST;
    for &(start, end) in bounds.iter().chain(std::iter::once(&(HIGHEST, HIGHEST))) {
        if start >= prev_end + CHECK_LEN + 2 * PAGE {
            gaps.push((prev_end + PAGE, start - PAGE - CHECK_LEN));
        }
        prev_end = prev_end.max(end);
    }
    gaps
}

/// The mapping start in `gaps` nearest `addr`, within a rel32 jump.
fn nearest_page(gaps: &[(u64, u64)], addr: u64) -> Option<u64> {
    gaps.iter()
        .flat_map(|&(lo, hi)| [lo, hi, (addr & !(PAGE - 1)).clamp(lo, hi)])
        .filter(|&p| p.abs_diff(addr) < REACH)
        .min_by_key(|&p| p.abs_diff(addr))
}

/// The address of a `syscall` instruction in the vDSO, for running a
/// system call inside the task.
pub fn syscall_instruction(maps: &[Mapping], mem: &TraceeMemory) -> Option<u64> {
    let vdso = maps.iter().find(|m| m.path == "[vdso]")?;
    let code = mem.read_partial(vdso.start, (vdso.end - vdso.start) as usize);
    code.windows(2).position(|w| w == [0x0f, 0x05]).map(|i| vdso.start + i as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_covers_whole_instructions_and_guards_the_later_ones() {
        // add rdx,1 (4 bytes); mov eax,[rip+0x100] (6); test eax,eax; je
        let code = [0x48, 0x83, 0xc2, 0x01, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00, 0x85, 0xc0];
        let s = site(&code, 0x401000).expect("patchable");
        assert_eq!(s.original.len(), 10);
        assert_eq!(s.guards, vec![0x401004]);
        let jump = jump_bytes(&s, 0x402000).unwrap();
        assert_eq!(jump[0], 0xe9);
        assert_eq!(i32::from_le_bytes(jump[1..5].try_into().unwrap()), 0x402000 - 0x401005);
        assert!(jump[5..].iter().all(|&b| b == 0xcc));
    }

    /// bc's `_bc_simp_mul` at its point (offset 0xbc4a, `sub rdx, rax`) up
    /// to the padding after the `jmp` that enters the loop body at the
    /// next instruction (0xbcc0: `jmp 0xbc4d`; 0xbcc2: a 6-byte nop).
    const BC_LOOP: [u8; 126] = [
        0x48, 0x29, 0xc2, 0x44, 0x89, 0xd0, 0x4c, 0x01, 0xf2, 0xf7, 0xd8, 0x41, 0x39, 0xc5, 0x48, 0x8b, 0x44, 0x24, 0x10,
        0x49, 0x0f, 0x4f, 0xc2, 0x4c, 0x01, 0xc0, 0x4c, 0x39, 0xca, 0x72, 0x24, 0x49, 0x39, 0xc0, 0x73, 0x07, 0xeb, 0x1d,
        0x4c, 0x39, 0xca, 0x72, 0x18, 0x0f, 0xb6, 0x0a, 0x0f, 0xb6, 0x38, 0x48, 0x83, 0xc0, 0x01, 0x48, 0x83, 0xea, 0x01,
        0x0f, 0xaf, 0xcf, 0x01, 0xce, 0x49, 0x39, 0xc0, 0x73, 0xe3, 0x89, 0xf0, 0x49, 0x0f, 0xaf, 0xc7, 0x48, 0xc1, 0xe8,
        0x23, 0x8d, 0x14, 0x80, 0x01, 0xd2, 0x29, 0xd6, 0x43, 0x88, 0x34, 0x14, 0x89, 0xc6, 0x49, 0x83, 0xea, 0x01, 0x4c,
        0x3b, 0x54, 0x24, 0x08, 0x74, 0x19, 0x4c, 0x8b, 0x4d, 0x20, 0x41, 0x83, 0xfb, 0xff, 0x7d, 0x87, 0x48, 0x89, 0xda,
        0x41, 0x83, 0xc3, 0x01, 0xeb, 0x8b, 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,
    ];

    #[test]
    fn a_compact_site_jumps_short_to_padding_after_a_jmp_and_has_no_guards() {
        let at = 0x5555_5555_fc4a;
        // The plain site covers the next instruction, a branch target.
        assert_eq!(site(&BC_LOOP, at).expect("patchable").guards, vec![at + 3]);
        let s = compact_site(&BC_LOOP, at).expect("padding in reach");
        assert!(s.guards.is_empty());
        assert_eq!(s.original, BC_LOOP[..3]);
        assert_eq!(s.via, Some((at + 0x78, BC_LOOP[0x78..0x7d].to_vec())));
        let code_at = at + 0x10_0000;
        let patches = patches(&s, code_at).expect("in reach");
        assert_eq!(patches[0], (at, vec![0xeb, 0x76, 0xcc]));
        let (from, jump) = &patches[1];
        assert_eq!(*from, at + 0x78);
        assert_eq!(jump[0], 0xe9);
        assert_eq!(i64::from(i32::from_le_bytes(jump[1..5].try_into().unwrap())), (code_at - (from + 5)) as i64);
        let placement = place(&s, &[mapping(at & !0xfff, (at & !0xfff) + 0x2000, "/usr/bin/bc")], &[]).expect("free");
        assert!(placement.hw_guards.is_empty());
        let check = assemble(&s, placement.code_at, &[0; 17], &[], None, None).expect("assembles");
        assert!(check.code.len() > 3);
        // Without the padding (cut short), or from a 1-byte instruction, none.
        assert_eq!(compact_site(&BC_LOOP[..0x7a], at), None);
        assert_eq!(compact_site(&[0x90, 0xc3, 0x90, 0x90, 0x90, 0x90, 0x90], at), None);
        // Padding right after a ret, up to the next 8-byte boundary.
        let at = 0x5555_5555_0000;
        let s = compact_site(&[0x48, 0x01, 0xd0, 0xc3, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0x48], at + 0x0e).expect("int3 padding");
        assert_eq!(s.via.map(|(v, _)| v), Some(at + 0x12));
        // Not when fewer than 5 padding bytes are left before the boundary
        // (a ret ending 4 bytes before it), nor when the padding starts at
        // one (a function may begin with a nop there).
        assert_eq!(compact_site(&[0x48, 0x01, 0xd0, 0x90, 0xc3, 0xcc, 0xcc, 0xcc, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90], at + 0x10), None);
        assert_eq!(compact_site(&[0x48, 0x01, 0xd0, 0x90, 0x90, 0x90, 0x90, 0xc3, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x48], at + 0x10), None);
    }

    #[test]
    fn a_site_ends_at_a_ret_or_jmp() {
        // sub eax,ecx; ret; nop; then the next function's vmovdqu
        assert!(site(&[0x29, 0xc8, 0xc3, 0x90, 0x62, 0xe1, 0xfe, 0x28, 0x6f, 0x0e], 0x401000).is_none());
        // mov eax,ecx; jmp short; nop...
        assert!(site(&[0x89, 0xc8, 0xeb, 0x10, 0x90, 0x90, 0x90, 0x90], 0x401000).is_none());
        // A jmp that completes the 5 bytes is fine.
        let s = site(&[0x48, 0x83, 0xc2, 0x01, 0xeb, 0xfa, 0x90, 0x90], 0x401000).unwrap();
        assert_eq!(s.original.len(), 6);
    }

    #[test]
    fn calls_syscalls_and_tsc_reads_are_refused() {
        assert!(site(&[0xe8, 0, 0, 0, 0, 0x90], 0x1000).is_none(), "call rel32");
        assert!(site(&[0x90, 0x0f, 0x05, 0x90, 0x90, 0x90], 0x1000).is_none(), "syscall");
        assert!(site(&[0x0f, 0x31, 0x90, 0x90, 0x90, 0x90], 0x1000).is_none(), "rdtsc");
        assert!(site(&[0xf4, 0x90, 0x90, 0x90, 0x90, 0x90], 0x1000).is_none(), "hlt, as a rewritten rdrand starts");
        assert!(site(&[0x90, 0x90], 0x1000).is_none(), "too short to decode 5 bytes");
        // Five one-byte instructions: four guards, as many as there are.
        assert_eq!(site(&[0x90; 8], 0x1000).unwrap().guards.len(), 4);
    }

    #[test]
    fn check_relocates_a_loop_branch_and_returns_after_the_site() {
        // add rdx,1; jmp back to 0x401000 (eb fa)
        let code = [0x48, 0x83, 0xc2, 0x01, 0xeb, 0xfa, 0x90, 0x90];
        let s = site(&code, 0x401000).unwrap();
        assert_eq!(s.original.len(), 6);
        let state: Vec<u64> = (0..25).collect();
        let check = assemble(&s, 0x402000, &state, &[], None, None).expect("assembles");
        assert!(check.hit > 0x402000 && check.hit < 0x402000 + check.code.len() as u64);
        // The byte before the hit address is int3. (int1 would do too, but
        // under some hypervisors its trap leaves rip on the instruction.)
        assert_eq!(check.code[(check.hit - 0x402000 - 1) as usize], 0xcc);
        let decoded: Vec<Instruction> =
            Decoder::with_ip(64, &check.code, 0x402000, DecoderOptions::NONE).into_iter().collect();
        // The relocated short jump now reaches its original target.
        assert!(decoded.iter().any(|i| i.is_jmp_short_or_near() && i.near_branch_target() == 0x401000));
        // The last instruction returns to just after the site.
        let last = decoded.last().unwrap();
        assert_eq!(last.near_branch_target(), 0x401006);
    }

    #[test]
    fn progress_word_prefers_registers_then_stack_then_rsp() {
        let target: Vec<u64> = (0..25).collect();
        let mut now = target.clone();
        assert_eq!(progress_word(&now, &target), None);
        now[20] += 1;
        assert_eq!(progress_word(&now, &target), Some(20));
        now[7] += 1;
        assert_eq!(progress_word(&now, &target), Some(20), "stack before rsp");
        now[12] += 1;
        assert_eq!(progress_word(&now, &target), Some(12));
        now[3] += 1;
        assert_eq!(progress_word(&now, &target), Some(3));
    }

    #[test]
    fn fast_path_assembles_for_every_kind_of_word() {
        let code = [0x48, 0x83, 0xc2, 0x01, 0xeb, 0xfa, 0x90, 0x90];
        let s = site(&code, 0x401000).unwrap();
        let state: Vec<u64> = (0..25).map(|i| i * 0x1111).collect();
        for fast in [0, 1, 2, 3, 7, 9, 15, 17, 24] {
            let check = assemble(&s, 0x402000, &state, &[], Some(fast), None).unwrap_or_else(|| panic!("word {fast}"));
            let decoded: Vec<Instruction> =
                Decoder::with_ip(64, &check.code, 0x402000, DecoderOptions::NONE).into_iter().collect();
            assert!(decoded.iter().any(|i| i.mnemonic() == Mnemonic::Jrcxz), "word {fast}");
            assert_eq!(check.code[(check.hit - 0x402000 - 1) as usize], 0xcc);
        }
        assert!(assemble(&s, 0x402000, &state, &[], Some(16), None).is_none(), "flags are not a fast word");
        // Nothing below rsp is written, and no flag-writing instruction runs
        // before the displaced ones.
        let check = assemble(&s, 0x402000, &state, &[], Some(3), None).unwrap();
        let decoded: Vec<Instruction> =
            Decoder::with_ip(64, &check.code, 0x402000, DecoderOptions::NONE).into_iter().collect();
        for i in &decoded {
            assert!(!matches!(i.mnemonic(), Mnemonic::Push | Mnemonic::Pushfq | Mnemonic::Cmp | Mnemonic::And), "{i:?}");
        }
        // rcx and rdx are parked in the scratch page, rip-relative.
        let parked = decoded.iter().filter(|i| i.is_ip_rel_memory_operand() && i.ip_rel_memory_address() == scratch_for(0x402000));
        assert!(parked.count() >= 3);
        assert!(assemble(&s, 0x402000, &state, &[], Some(25), None).is_none());
    }

    fn mapping(start: u64, end: u64, path: &str) -> Mapping {
        Mapping { start, end, perms: "r-xp".into(), offset: 0, inode: 0, path: path.into() }
    }

    #[test]
    fn trapping_bytes_fault_whatever_follows() {
        for &b in &TRAPPING_BYTES {
            for next in [0x90u8, 0x00, 0x48, 0xff] {
                let code = [b, next, next, next, next, next, next, next];
                let instr = Decoder::with_ip(64, &code, 0x1000, DecoderOptions::NONE).decode();
                assert!(instr.is_invalid() || instr.mnemonic() == Mnemonic::Int3, "{b:#x} then {next:#x}: {instr:?}");
            }
        }
        assert!(TRAPPING_BYTES.windows(2).all(|w| w[0] < w[1]), "sorted");
    }

    #[test]
    fn offsets_with_trapping_bytes_are_the_nearest_ones() {
        let brute_up = |v: u32, c: [bool; 4]| (v..=u32::MAX).find(|x| (0..4).all(|i| digit_allowed(c, i, x.to_le_bytes()[i])));
        let brute_down = |v: u32, c: [bool; 4]| (0..=v).rev().find(|x| (0..4).all(|i| digit_allowed(c, i, x.to_le_bytes()[i])));
        let mut seed = 0x1234_5678_u32;
        for _ in 0..300 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            for c in [[true, false, false, false], [false, true, false, false], [true, true, false, false], [false; 4]] {
                assert_eq!(smallest_at_least(seed, c), brute_up(seed, c), "{seed:#x} {c:?}");
                assert_eq!(largest_at_most(seed, c), brute_down(seed, c), "{seed:#x} {c:?}");
            }
        }
        let top = [false, false, false, true];
        assert_eq!(smallest_at_least(0x0000_1234, top), Some(0x0600_0000));
        assert_eq!(largest_at_most(0xffff_ff00, top), Some(0xeaff_ffff));
        assert_eq!(smallest_at_least(0xeb00_0000, top), None);
        assert_eq!(largest_at_most(0x0500_0000, top), None);
    }

    #[test]
    fn a_check_is_placed_so_that_a_branch_into_the_jump_traps() {
        // test edx,edx; je -14; xchg [rip+..], rax: guards inside the jump
        // at offsets 2 and 4 (a spin loop's exit test).
        let code = [0x85, 0xd2, 0x74, 0xf2, 0x48, 0x87, 0x05, 0xc3, 0x2d, 0x00, 0x00];
        let program = 0x5555_5555_5272;
        let s = site(&code, program).unwrap();
        assert_eq!(s.guards, vec![program + 2, program + 4]);
        let layout = [
            mapping(0x5555_5555_4000, 0x5555_5555_9000, "/bin/prog"),
            mapping(0x7fff_f7c0_0000, 0x7fff_f7e0_0000, "/lib/libc.so.6"),
            mapping(0x7fff_fffd_e000, 0x7fff_ffff_f000, "[stack]"),
        ];
        let zones = growth_zones(&layout, Some(0x5555_5555_9000), None, &Upcoming::default());
        let gaps = free_gaps(&layout, &zones);
        let placed = place(&s, &layout, &zones).expect("room below the program");
        assert!(placed.hw_guards.is_empty());
        let jump = jump_bytes(&s, placed.code_at).unwrap();
        assert!(TRAPPING_BYTES.contains(&jump[2]) && TRAPPING_BYTES.contains(&jump[4]), "{jump:x?}");
        assert!(jump[5..].iter().all(|&b| b == 0xcc));
        assert_eq!(placed.page, placed.code_at & !(PAGE - 1));
        assert!(gaps.iter().any(|&(lo, hi)| (lo..=hi).contains(&placed.page)), "{:#x}", placed.page);
        assert!(scratch_for(placed.code_at) + PAGE <= placed.page + CHECK_LEN);
        // A guard on the offset's top byte asks for 96 MiB or more: for a
        // library, 336 MiB below it, where the kernel puts mmaps but the
        // batch maps nothing.
        let library = 0x7fff_f7d0_0000 + 0x272;
        let s = site(&code, library).unwrap();
        let traps = |placed: &Placement| {
            let jump = jump_bytes(&s, placed.code_at).unwrap();
            placed.hw_guards.is_empty() && TRAPPING_BYTES.contains(&jump[2]) && TRAPPING_BYTES.contains(&jump[4])
        };
        let placed = place(&s, &layout, &zones).expect("a page below the libraries");
        assert!(traps(&placed) && placed.page < 0x7fff_f7c0_0000, "{placed:x?}");
        // Where the batch maps that area, and the stack's room is unknown
        // (64 MiB), there is too little room above: the guards inside the
        // jump get breakpoints.
        let mapped = Upcoming { mappings: vec![(0x7ffe_0000_0000, 0x7fff_f7c0_0000)], brk: None };
        let zones = growth_zones(&layout, Some(0x5555_5555_9000), None, &mapped);
        let placed = place(&s, &layout, &zones).expect("a page above the libraries");
        assert_eq!(placed.hw_guards, vec![library + 2, library + 4]);
        assert_eq!(placed.code_at, placed.page);
        // With the usual 8 MiB limit the stack needs 9 MiB: room enough.
        let limited = growth_zones(&layout, Some(0x5555_5555_9000), Some(8 << 20), &mapped);
        let placed = place(&s, &layout, &limited).expect("a page between the libraries and the stack");
        assert!(traps(&placed), "{placed:x?}");
        assert!(placed.page > 0x7fff_f7e0_0000 && placed.page + CHECK_LEN <= 0x7fff_ffff_f000 - (9 << 20), "{:#x}", placed.page);
        // Without a guard on the top byte, a library's site is covered too.
        let code = [0x48, 0x83, 0xc2, 0x01, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00];
        let s = site(&code, library).unwrap();
        assert_eq!(s.guards, vec![library + 4]);
        let code = [0x85, 0xc0, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00];
        let s = site(&code, library).unwrap();
        assert_eq!(s.guards, vec![library + 2]);
        let placed = place(&s, &layout, &zones).unwrap();
        assert!(placed.hw_guards.is_empty());
        assert!(TRAPPING_BYTES.contains(&jump_bytes(&s, placed.code_at).unwrap()[2]));
        assert!(placed.page >= 0x7fff_f7e0_0000 + PAGE && placed.page + CHECK_LEN <= 0x7fff_ffff_f000 - STACK_ROOM);
    }

    #[test]
    fn free_page_is_near_and_apart_from_neighbours() {
        let map = |start: u64, end: u64| Mapping {
            start,
            end,
            perms: "r-xp".into(),
            offset: 0,
            inode: 0,
            path: String::new(),
        };
        let free_page_near = |maps: &[Mapping], avoid: &[(u64, u64)], addr| nearest_page(&free_gaps(maps, avoid), addr);
        let maps = [map(0x5555_5555_4000, 0x5555_5555_9000), map(0x7fff_f7c0_0000, 0x7fff_f7e0_0000)];
        let page = free_page_near(&maps, &[], 0x5555_5555_5000).unwrap();
        assert!(page.abs_diff(0x5555_5555_5000) < REACH);
        assert!(page + CHECK_LEN + PAGE <= 0x5555_5555_4000 || page >= 0x5555_5555_9000 + PAGE);
        // Not where the heap grows before the point (its break and the
        // batch's, a margin above), nor where the batch maps memory, nor in
        // the stack's room.
        let mut layout = maps.to_vec();
        layout.push(Mapping { path: "[stack]".into(), ..map(0x7fff_fffd_e000, 0x7fff_ffff_f000) });
        layout.push(Mapping { path: "[heap]".into(), ..map(0x5555_5555_9000, 0x5555_5557_a000) });
        let below_libc = (0x7fff_f7a0_0000, 0x7fff_f7c0_0000);
        let upcoming = Upcoming { mappings: vec![below_libc], brk: Some(0x5555_5560_0123) };
        let zones = growth_zones(&layout, Some(0x5555_5555_9000), None, &upcoming);
        assert!(zones.contains(&(0x5555_5555_9000, 0x5555_5570_1000)), "{zones:x?}");
        assert!(zones.contains(&below_libc), "{zones:x?}");
        let page = free_page_near(&layout, &zones, 0x5555_5555_8000).unwrap();
        assert!(page + CHECK_LEN + PAGE <= 0x5555_5555_4000, "{page:#x}");
        let page = free_page_near(&layout, &zones, 0x5555_5568_0000).unwrap();
        assert!(page >= 0x5555_5570_1000 + PAGE, "{page:#x}");
        let page = free_page_near(&layout, &zones, 0x7fff_f7c0_1000).unwrap();
        assert!(page >= 0x7fff_f7e0_0000 + PAGE && page + CHECK_LEN <= 0x7fff_ffff_f000 - STACK_ROOM, "{page:#x}");
        // Without a heap mapping or a batch, the heap's room is the margin.
        let zones = growth_zones(&maps, Some(0x5555_5555_9000), None, &Upcoming::default());
        assert_eq!(zones, vec![(0x5555_5555_9000, 0x5555_5565_9000)]);
        // Nothing within reach: a page far from every gap.
        let full = [map(LOWEST, HIGHEST)];
        assert_eq!(free_page_near(&full, &[], 0x5555_5555_5000), None);
    }

    #[test]
    fn a_deep_state_splits_into_registers_stack_and_pointed_memory() {
        let mut state: Vec<u64> = (0..17 + 8).collect();
        // rbx (bit 1) and r9 (index 9, bit 8) point to memory.
        state.extend([10, 11, 12, 13, 90, 91, 92, 93]);
        state.push(8 | (1 << 1 | 1 << 8) << 8);
        let (head, pointed) = split_deep(&state).expect("valid layout");
        assert_eq!(head.len(), 25);
        assert_eq!(pointed, vec![Pointed { register: 1, words: [10, 11, 12, 13] }, Pointed { register: 9, words: [90, 91, 92, 93] }]);
        // A layout word that does not match the length is refused.
        let mut bad = state.clone();
        bad.remove(20);
        assert!(split_deep(&bad).is_none());
        assert!(split_deep(&[]).is_none());
        // Where a register points into the patched code, the check expects the patch.
        let head: Vec<u64> = (0..25).map(|i| if i == 1 { 0x401000 } else { 0 }).collect();
        let original = [Pointed { register: 1, words: [0x1111_1111_1111_1111, 2, 3, 4] }];
        let patched = with_patch(&original, &head, 0x401002, &[0xe9, 0xaa]);
        assert_eq!(patched[0].words[0], 0x1111_1111_aae9_1111);
        assert_eq!(&patched[0].words[1..], &[2, 3, 4]);
    }

    #[test]
    fn a_check_compares_pointed_words_after_the_registers() {
        let code = [0x48, 0x83, 0xc2, 0x01, 0xeb, 0xfa, 0x90, 0x90];
        let s = site(&code, 0x401000).unwrap();
        let state: Vec<u64> = (0..25).map(|i| i * 0x1111).collect();
        let pointed = [Pointed { register: 3, words: [1, 2, 3, 4] }, Pointed { register: 12, words: [5, 6, 7, 8] }];
        let plain = assemble(&s, 0x402000, &state, &[], None, None).unwrap();
        let check = assemble(&s, 0x402000, &state, &pointed, None, None).unwrap();
        assert!(check.code.len() > plain.code.len());
        assert!(check.miss > check.hit && check.miss < 0x402000 + check.code.len() as u64);
        let decoded: Vec<Instruction> =
            Decoder::with_ip(64, &check.code, 0x402000, DecoderOptions::NONE).into_iter().collect();
        // Eight loads through rdx, at offsets 0, 8, 16, 24.
        let loads = decoded
            .iter()
            .filter(|i| i.mnemonic() == Mnemonic::Mov && i.memory_base() == Register::RDX && i.op0_register() == Register::RDX)
            .count();
        assert_eq!(loads, 8);
        // rsp holds no pointed words (the stack words cover it).
        assert!(assemble(&s, 0x402000, &state, &[Pointed { register: 7, words: [0; 4] }], None, None).is_none());
    }

    #[test]
    fn a_counter_register_is_compared_before_anything_is_parked() {
        let code = [0x48, 0x83, 0xc2, 0x01, 0xeb, 0xfa, 0x90, 0x90];
        let s = site(&code, 0x401000).unwrap();
        let mut state: Vec<u64> = (0..25).map(|i| i * 0x1111).collect();
        state[0] = 192_219_225;
        let decode = |state: &[u64], fast| -> Vec<Instruction> {
            let check = assemble(&s, 0x402000, state, &[], Some(fast), None).unwrap();
            Decoder::with_ip(64, &check.code, 0x402000, DecoderOptions::NONE).into_iter().collect()
        };
        // rax: swapped into rcx, compared, swapped back; no memory touched.
        let code = decode(&state, 0);
        let mnemonics: Vec<Mnemonic> = code[..6].iter().map(|i| i.mnemonic()).collect();
        assert_eq!(mnemonics, [Mnemonic::Xchg, Mnemonic::Lea, Mnemonic::Jrcxz, Mnemonic::Lea, Mnemonic::Xchg, Mnemonic::Jmp]);
        assert_eq!(code[1].memory_displacement64() as i64, -192_219_225);
        assert!(code[..6].iter().all(|i| !i.is_ip_rel_memory_operand()));
        // rcx itself needs no swap.
        state[2] = 7;
        assert_eq!(decode(&state, 2)[0].mnemonic(), Mnemonic::Lea);
        // A value a displacement cannot hold (a pointer), or rsp: parked first.
        state[0] = 0x7fff_f7d0_0000;
        assert!(decode(&state, 0)[0].is_ip_rel_memory_operand());
        assert!(decode(&state, 7)[0].is_ip_rel_memory_operand());
    }

    #[test]
    fn a_check_compares_the_counter_first() {
        let code = [0x48, 0x83, 0xc2, 0x01, 0xeb, 0xfa, 0x90, 0x90];
        let s = site(&code, 0x401000).unwrap();
        let state: Vec<u64> = (0..25).map(|i| i * 0x1111).collect();
        let counter = Counter { addr: 0x7000_1008, value: 6728 };
        let check = assemble(&s, 0x402000, &state, &[], None, Some(counter)).unwrap();
        let decoded: Vec<Instruction> =
            Decoder::with_ip(64, &check.code, 0x402000, DecoderOptions::NONE).into_iter().collect();
        // After parking rcx and rdx: edx = the counter, then rcx = -6728.
        let load = decoded.iter().position(|i| i.op0_register() == Register::EDX).expect("the counter's load");
        assert_eq!(load, 2);
        assert_eq!(decoded[load].memory_displacement64(), 0x7000_1008);
        assert_eq!(decoded[load].memory_base(), Register::None);
        assert_eq!(decoded[load + 1].immediate(1), 6728u64.wrapping_neg());
    }
}
