//! Link options for the preloaded library.

use std::process::Command;

/// Whether rustc links this target with lld by default (Rust 1.90 and
/// later on x86_64 Linux), whose options differ from GNU ld's.
fn links_with_lld() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let target = std::env::var("TARGET").unwrap_or_default();
    let Ok(out) = Command::new(rustc).arg("-V").output() else { return false };
    let version = String::from_utf8_lossy(&out.stdout);
    // "rustc 1.95.0 (...)"
    let minor = version.split_whitespace().nth(1).and_then(|v| v.split('.').nth(1)).and_then(|m| m.parse::<u32>().ok());
    target == "x86_64-unknown-linux-gnu" && minor.is_some_and(|m| m >= 90)
}

fn main() {
    // The dynamic loader maps each LOAD segment with its own mmap, and every
    // mmap is a ptrace stop in every recorded process: read-only data goes
    // with the code and the data has no separate read-only-after-relocation
    // part, which keeps the library at two segments instead of four.
    if links_with_lld() {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--no-rosegment");
    } else {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,noseparate-code");
    }
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,norelro");
    println!("cargo:rerun-if-changed=build.rs");
}
