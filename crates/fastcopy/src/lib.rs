//! `memcpy` for the shipped x86_64 musl binaries. musl's copies a byte at a time up to an
//! aligned destination, then runs `rep movsq`, then copies the tail a byte at a time: a slow
//! start that every small copy pays, and an order costs a dozen small copies (its fields, its
//! JSON, its record). This one copies small sizes with a few unaligned 8-byte moves and leaves
//! large ones to `rep movsb` (fast on every x86_64 since Ivy Bridge).
//!
//! The crate is `no_builtins`, so the compiler never turns its loops back into calls to
//! `memcpy`. The symbol (`__wrap_memcpy`, for the linker's `--wrap=memcpy`) exists only on
//! x86_64 with musl; [`copy`] is the same code under a name the tests can call anywhere.

#![no_std]
#![no_builtins]

use core::ptr::{read_unaligned, write_unaligned};

/// Copies `n` bytes from `src` to `dest`, as `memcpy` does.
///
/// # Safety
/// `src` must be valid for reads and `dest` for writes of `n` bytes, and the two ranges must
/// not overlap.
#[inline(always)]
pub unsafe fn copy(dest: *mut u8, src: *const u8, n: usize) {
    unsafe {
        if n < 8 {
            if n >= 4 {
                let head = read_unaligned(src as *const u32);
                let tail = read_unaligned(src.add(n - 4) as *const u32);
                write_unaligned(dest as *mut u32, head);
                write_unaligned(dest.add(n - 4) as *mut u32, tail);
            } else {
                for i in 0..n {
                    *dest.add(i) = *src.add(i);
                }
            }
            return;
        }
        if n <= 16 {
            let head = read_unaligned(src as *const u64);
            let tail = read_unaligned(src.add(n - 8) as *const u64);
            write_unaligned(dest as *mut u64, head);
            write_unaligned(dest.add(n - 8) as *mut u64, tail);
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if n >= LARGE {
            core::arch::asm!(
                "rep movsb",
                inout("rcx") n => _,
                inout("rdi") dest => _,
                inout("rsi") src => _,
                options(nostack, preserves_flags)
            );
            return;
        }
        // 16-byte steps, then the last 16 bytes, which may overlap the steps' end.
        let mut at = 0;
        while at + 16 < n {
            let a = read_unaligned(src.add(at) as *const u64);
            let b = read_unaligned(src.add(at + 8) as *const u64);
            write_unaligned(dest.add(at) as *mut u64, a);
            write_unaligned(dest.add(at + 8) as *mut u64, b);
            at += 16;
        }
        let a = read_unaligned(src.add(n - 16) as *const u64);
        let b = read_unaligned(src.add(n - 8) as *const u64);
        write_unaligned(dest.add(n - 16) as *mut u64, a);
        write_unaligned(dest.add(n - 8) as *mut u64, b);
    }
}

/// From this size on, `rep movsb` beats the 16-byte loop.
const LARGE: usize = 512;

/// The C library's `memcpy`, replaced in the static x86_64 musl build: linked with
/// `--wrap=memcpy`, every call to `memcpy` (the compiler's, the C library's own) comes here.
/// musl's stays in the binary, unused: its archive is linked whole.
///
/// # Safety
/// As [`copy`].
#[cfg(all(target_arch = "x86_64", target_env = "musl"))]
#[no_mangle]
pub unsafe extern "C" fn __wrap_memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    unsafe { copy(dest, src, n) };
    dest
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn every_size_and_alignment_copies_exactly_its_bytes() {
        let src: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in (0..700).chain([1023, 1024, 1025, 2047, 2900]) {
            for from in 0..9 {
                for to in 0..9 {
                    if from + n > src.len() {
                        continue;
                    }
                    let mut dest = std::vec![0xAAu8; n + 32];
                    unsafe {
                        super::copy(dest.as_mut_ptr().add(to + 8), src.as_ptr().add(from), n)
                    };
                    assert_eq!(
                        &dest[to + 8..to + 8 + n],
                        &src[from..from + n],
                        "n {n} from {from} to {to}"
                    );
                    assert!(dest[..to + 8].iter().all(|&b| b == 0xAA), "n {n}: before");
                    assert!(
                        dest[to + 8 + n..].iter().all(|&b| b == 0xAA),
                        "n {n}: after"
                    );
                }
            }
        }
    }
}
