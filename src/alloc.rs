//! The process's allocator: mimalloc, called as the system allocator is.
//!
//! The `mimalloc` crate's allocator asks for every block through
//! `mi_malloc_aligned`, whose checks cost ~40 instructions more than
//! `mi_malloc` for the alignments `mi_malloc` already gives (measured: ~2%
//! of `qlp eval`'s instructions a record, which allocates ~30 small blocks
//! a record). As std's system allocator does, this one asks for plain
//! blocks when their alignment is one `mi_malloc` guarantees, aligned ones
//! otherwise.
//!
//! mimalloc gives pages it has not used for 10 ms back to the system by
//! default; `qlp eval` frees a batch's blocks and allocates the next
//! batch's a few milliseconds later, and took ~5,000 page faults (pages
//! zeroed again) on 150,000 records where it needs ~600. [`configure`]
//! keeps pages for a second.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The alignment `mi_malloc` gives any block at least this large (on the
/// 64-bit targets we build for; 8 on 32-bit ones).
const MIN_ALIGN: usize = if cfg!(target_pointer_width = "64") { 16 } else { 8 };

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`, v3; the Rust
/// bindings do not name it).
const PURGE_DELAY: std::ffi::c_int = 15;
/// How long a page mimalloc no longer uses is kept before it goes back to
/// the system, in milliseconds.
const PURGE_DELAY_MS: std::ffi::c_long = 1000;

extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// Sets mimalloc's options; call it first thing in `main`.
pub fn configure() {
    // SAFETY: sets a plain integer option; mimalloc reads options at any time.
    unsafe { mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) }
}

/// mimalloc, with plain calls for the alignments it gives anyway.
pub struct Mimalloc;

/// Whether `mi_malloc(size)` returns a block aligned to `align`: mimalloc
/// aligns a block to `MIN_ALIGN`, or, when smaller, to its size's power of two.
fn plain(align: usize, size: usize) -> bool {
    align <= MIN_ALIGN && align <= size
}

// SAFETY: every block comes from mimalloc and goes back to it; a block is
// aligned as its layout asks (`plain` holds, or mimalloc's aligned calls).
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation calls accept any size and alignment.
        unsafe {
            if plain(layout.align(), layout.size()) {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe {
            if plain(layout.align(), layout.size()) {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from mimalloc.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from mimalloc; the new block keeps the alignment.
        unsafe {
            if plain(layout.align(), new_size) {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}
