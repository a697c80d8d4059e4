//! The initial stack of a freshly executed program: argv, envp and auxv.
//!
//! At the exec stop the recorder copies the stack from `rsp` to the end of
//! the stack mapping, after turning AT_SYSINFO_EHDR into AT_IGNORE so libc
//! does not find the vDSO and makes real (recordable) time syscalls. Replay
//! writes the recorded copy back, which also restores the AT_RANDOM bytes.

const AT_NULL: u64 = 0;
const AT_IGNORE: u64 = 1;
const AT_SYSINFO_EHDR: u64 = 33;

fn word(bytes: &[u8], index: usize) -> Option<u64> {
    let start = index.checked_mul(8)?;
    let slice = bytes.get(start..start.checked_add(8)?)?;
    Some(u64::from_le_bytes(slice.try_into().ok()?))
}

/// Index (in 8-byte words) of the first auxv entry in an initial stack.
pub fn auxv_start(stack: &[u8]) -> Option<usize> {
    let argc = usize::try_from(word(stack, 0)?).ok()?;
    // argc, argv[0..argc], NULL, then envp up to its NULL.
    let mut i = argc.checked_add(2)?;
    while word(stack, i)? != 0 {
        i += 1;
    }
    Some(i + 1)
}

/// The auxv entries (type, value) of an initial stack.
pub fn auxv(stack: &[u8]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let Some(mut i) = auxv_start(stack) else { return out };
    while let (Some(kind), Some(value)) = (word(stack, i), word(stack, i + 1)) {
        if kind == AT_NULL {
            break;
        }
        out.push((kind, value));
        i += 2;
    }
    out
}

/// Hides the vDSO from the program: rewrites the AT_SYSINFO_EHDR entry's type
/// to AT_IGNORE. Returns the byte offset of the patched word, if any.
pub fn hide_vdso(stack: &mut [u8]) -> Option<usize> {
    let mut i = auxv_start(stack)?;
    loop {
        let kind = word(stack, i)?;
        if kind == AT_NULL {
            return None;
        }
        if kind == AT_SYSINFO_EHDR {
            let at = i * 8;
            stack[at..at + 8].copy_from_slice(&AT_IGNORE.to_le_bytes());
            return Some(at);
        }
        i += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(words: &[u64]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn hides_vdso_entry_only() {
        // argc=1, argv0, NULL, env0, NULL, AT_PAGESZ, AT_SYSINFO_EHDR, AT_NULL
        let mut s = stack(&[1, 0x1000, 0, 0x2000, 0, 6, 4096, 33, 0x7fff0000, 0, 0]);
        assert_eq!(auxv_start(&s), Some(5));
        assert_eq!(hide_vdso(&mut s), Some(7 * 8));
        assert_eq!(auxv(&s), vec![(6, 4096), (AT_IGNORE, 0x7fff0000)]);
        assert_eq!(hide_vdso(&mut s), None);
    }

    #[test]
    fn malformed_stacks_do_not_panic() {
        assert_eq!(auxv_start(&[]), None);
        assert_eq!(auxv_start(&stack(&[u64::MAX])), None);
        assert_eq!(hide_vdso(&mut stack(&[3, 1, 2])), None);
        assert!(auxv(&stack(&[0, 0, 0, 33])).is_empty() || auxv(&stack(&[0, 0, 0, 33])).len() <= 1);
    }
}
