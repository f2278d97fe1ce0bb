//! [`CountingAllocator`]: the heap bytes a decoder holds, measured per thread, so that an oracle
//! can require them to stay proportional to the input.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    /// Bytes allocated minus bytes freed by this thread (negative when it frees what another
    /// thread allocated).
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The highest `LIVE` since the current measurement started.
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// The system allocator, counting the live heap bytes of each thread.
///
/// Install it as the global allocator of the binary that calls the oracles (each fuzz target,
/// the short run in the test suite); without it, every oracle panics rather than pass with the
/// allocation check silently off:
///
/// ```ignore
/// #[global_allocator]
/// static ALLOC: socketio::fuzzing::CountingAllocator = socketio::fuzzing::CountingAllocator;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

fn add(delta: isize) {
    // `try_with`: the thread-locals are const-initialised and have no destructor, so this never
    // allocates; it fails only during thread teardown, when nobody measures.
    let _ = LIVE.try_with(|live| {
        let now = live.get().wrapping_add(delta);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

/// A size as a signed delta (no allocation exceeds `isize::MAX` bytes).
fn delta(size: usize) -> isize {
    isize::try_from(size).unwrap_or(isize::MAX)
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the `GlobalAlloc`
// contract; the bookkeeping around it only touches thread-local integers and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for `alloc` are passed on as they are.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            add(delta(layout.size()));
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add(delta(layout.size()));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) };
        add(-delta(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the caller guarantees `new_size` is valid for `layout`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            add(delta(new_size).wrapping_sub(delta(layout.size())));
        }
        new
    }
}

/// Runs `f` and returns its result with the most heap bytes it held at once (its peak
/// allocation on this thread above what was live when it started, the returned value included).
///
/// Panics if [`CountingAllocator`] is not the global allocator: the check would be vacuous.
pub(crate) fn measure<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let start = LIVE.with(Cell::get);
    let probe = std::hint::black_box(Vec::<u8>::with_capacity(64));
    assert!(
        LIVE.with(Cell::get) - start >= 64,
        "socketio::fuzzing::CountingAllocator is not the global allocator of this binary"
    );
    drop(probe);
    PEAK.with(|peak| peak.set(start));
    let result = f();
    let peak = PEAK.with(Cell::get) - start;
    (result, usize::try_from(peak).unwrap_or(0))
}

/// [`measure`], then asserts that `f` held at most `per_byte` bytes of heap per input byte plus
/// 4 KiB: a decoder's memory follows what it was given, never what the input claims.
pub(crate) fn bounded<R>(
    what: &str,
    input_len: usize,
    per_byte: usize,
    f: impl FnOnce() -> R,
) -> R {
    let (result, peak) = measure(f);
    let bound = input_len.saturating_mul(per_byte).saturating_add(4096);
    assert!(
        peak <= bound,
        "{what}: {peak} bytes of heap for {input_len} input bytes (bound {bound})"
    );
    result
}
