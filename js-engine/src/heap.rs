//! The module's allocator: one free list per power-of-two size class, blocks carved from the
//! end of linear memory, no headers and no coalescing.
//!
//! Why this shape: the engine's allocations are small and come and go in the same few sizes
//! (ids, frames to send, the output of each input), so a freed block is soon wanted again at
//! its own size. A size class finds it in constant time however many short ids stay alive
//! (a first-fit list would scan them), and the whole allocator is a few hundred bytes of
//! code where a general-purpose one (talc) was 2.5 KB. The price is memory: a block is up to
//! twice its request, and a block freed in one class never serves another, so the heap is
//! at most the sum of each class's peak; the engine's working set is a few hundred KB.
//!
//! Rust hands `dealloc` the layout it allocated with, so the class of a freed block is known
//! without a header.

/// Bytes in a page of wasm linear memory.
pub(crate) const PAGE: usize = 65_536;
/// The smallest block: a free block holds the next pointer of its list.
const MIN_BLOCK: usize = 8;
/// Blocks are carved at this alignment (or their own size, if smaller); larger alignments
/// are refused. No type of the engine needs more than 8 on wasm32.
const MAX_ALIGN: usize = 16;
/// One list per class: block sizes 2^0 .. 2^(CLASSES-1) (the first three are never used).
const CLASSES: usize = usize::BITS as usize;

/// The allocator's state: the lists' heads and the uncarved rest of memory.
pub(crate) struct Heap {
    /// The first free block of each class (0: none); each free block starts with the address
    /// of the next one.
    free: [usize; CLASSES],
    /// Where the next block is carved, and the end of memory owned by the heap.
    next: usize,
    end: usize,
}

/// Where the heap gets memory: `grow(pages)` adds `pages` pages and returns the address of
/// the first, or `None` when memory cannot grow.
pub(crate) trait Memory {
    /// Adds `pages` pages of fresh memory; returns where they start.
    fn grow(&mut self, pages: usize) -> Option<usize>;
}

impl Heap {
    /// A heap that owns no memory yet.
    pub(crate) const fn new() -> Heap {
        Heap {
            free: [0; CLASSES],
            next: 0,
            end: 0,
        }
    }

    /// A block of at least `size` bytes aligned to `align` (a power of two), or null.
    ///
    /// # Safety
    /// Every address on a free list must be a block of its class that this heap handed out
    /// and got back (what [`Heap::dealloc`]'s contract guarantees), and the memory `grow`
    /// returns must be owned by this heap alone.
    pub(crate) unsafe fn alloc(
        &mut self,
        size: usize,
        align: usize,
        memory: &mut impl Memory,
    ) -> *mut u8 {
        let Some(class) = class_of(size, align) else {
            return core::ptr::null_mut();
        };
        let Some(head) = self.free.get_mut(class) else {
            return core::ptr::null_mut();
        };
        if *head != 0 {
            let block = *head as *mut usize;
            // SAFETY: a free block of this class, at least MIN_BLOCK bytes, aligned for a
            // usize; its first word is the next free block (this function's contract).
            *head = unsafe { block.read() };
            return block.cast();
        }
        self.carve(1 << class, memory)
    }

    /// Takes a fresh block of `block` bytes from the uncarved memory, growing it by the pages
    /// the block lacks.
    fn carve(&mut self, block: usize, memory: &mut impl Memory) -> *mut u8 {
        let align = block.min(MAX_ALIGN);
        // A second grow only when the first one's pages did not follow the heap's (something
        // else grew the memory): the block then starts on the new pages.
        for _ in 0..3 {
            let Some(end) = (self.next.checked_add(align - 1))
                .map(|next| next & !(align - 1))
                .and_then(|start| start.checked_add(block))
            else {
                return core::ptr::null_mut();
            };
            if end <= self.end {
                self.next = end;
                return (end - block) as *mut u8;
            }
            let pages = (end - self.end).div_ceil(PAGE);
            let Some(base) = memory.grow(pages) else {
                return core::ptr::null_mut();
            };
            if base != self.end {
                self.next = base;
            }
            self.end = base.saturating_add(pages.saturating_mul(PAGE));
        }
        core::ptr::null_mut()
    }

    /// Returns a block to its class's list.
    ///
    /// # Safety
    /// `ptr` came from [`Heap::alloc`] (or [`Heap::realloc`]) of this heap with this `size`
    /// and `align`, and is not used again.
    pub(crate) unsafe fn dealloc(&mut self, ptr: *mut u8, size: usize, align: usize) {
        let Some(head) = class_of(size, align).and_then(|class| self.free.get_mut(class)) else {
            return;
        };
        let block = ptr.cast::<usize>();
        // SAFETY: the block is ours again, at least MIN_BLOCK bytes and aligned for a usize.
        unsafe { block.write(*head) };
        *head = block as usize;
    }

    /// Resizes a block: the same block while the new size stays in its class, else a new
    /// one with the contents copied.
    ///
    /// # Safety
    /// As [`Heap::dealloc`] for `ptr`, `size` and `align`.
    pub(crate) unsafe fn realloc(
        &mut self,
        ptr: *mut u8,
        size: usize,
        align: usize,
        new_size: usize,
        memory: &mut impl Memory,
    ) -> *mut u8 {
        let class = class_of(size, align);
        if class.is_some() && class == class_of(new_size, align) {
            return ptr;
        }
        // SAFETY: forwarded contracts; the two blocks are distinct, both at least
        // `min(size, new_size)` bytes.
        unsafe {
            let moved = self.alloc(new_size, align, memory);
            if !moved.is_null() {
                core::ptr::copy_nonoverlapping(ptr, moved, size.min(new_size));
                self.dealloc(ptr, size, align);
            }
            moved
        }
    }
}

/// The class (log2 of the block size) of a request, or `None` when no block can serve it.
fn class_of(size: usize, align: usize) -> Option<usize> {
    if align > MAX_ALIGN {
        return None;
    }
    let block = size.max(align).max(MIN_BLOCK).checked_next_power_of_two()?;
    Some(block.trailing_zeros() as usize)
}

/// The global allocator of the wasm module.
#[cfg(target_arch = "wasm32")]
pub(crate) mod global {
    use super::{Heap, Memory, PAGE};
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;

    /// Linear memory 0, grown with `memory.grow`.
    struct Linear;

    impl Memory for Linear {
        fn grow(&mut self, pages: usize) -> Option<usize> {
            let old = core::arch::wasm32::memory_grow(0, pages);
            (old != usize::MAX).then(|| old.saturating_mul(PAGE))
        }
    }

    /// [`Heap`] as the `#[global_allocator]`.
    pub(crate) struct Allocator(UnsafeCell<Heap>);

    impl Allocator {
        pub(crate) const fn new() -> Allocator {
            Allocator(UnsafeCell::new(Heap::new()))
        }

        /// # Safety
        /// No other reference to the heap may be alive: the module has one thread and the
        /// heap never calls back into the allocator.
        #[allow(clippy::mut_from_ref)]
        unsafe fn heap(&self) -> &mut Heap {
            unsafe { &mut *self.0.get() }
        }
    }

    // SAFETY: wasm32-unknown-unknown without the atomics feature has exactly one thread.
    unsafe impl Sync for Allocator {}

    // SAFETY: blocks are distinct, at least the requested size and aligned (see `Heap`); the
    // contracts of `Heap`'s methods are the ones `GlobalAlloc` puts on its callers.
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            unsafe {
                self.heap()
                    .alloc(layout.size(), layout.align(), &mut Linear)
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { self.heap().dealloc(ptr, layout.size(), layout.align()) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            unsafe {
                self.heap()
                    .realloc(ptr, layout.size(), layout.align(), new_size, &mut Linear)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Pages that are not contiguous, one per grow, up to a limit.
    struct Buffer {
        pages: Vec<Box<[u8; PAGE]>>,
        limit: usize,
        grows: usize,
    }

    impl Buffer {
        fn new(limit: usize) -> Buffer {
            Buffer {
                pages: Vec::new(),
                limit,
                grows: 0,
            }
        }
    }

    /// Pages handed out one after the other from one reservation, as `memory.grow` does.
    struct Contiguous {
        _reservation: Vec<u8>,
        next: usize,
        end: usize,
        grows: usize,
        limit_pages: usize,
        used_pages: usize,
    }

    impl Contiguous {
        fn new(limit_pages: usize) -> Contiguous {
            let mut reservation = vec![0u8; (limit_pages + 1) * PAGE];
            let start = (reservation.as_mut_ptr() as usize).next_multiple_of(PAGE);
            let end = reservation.as_ptr() as usize + reservation.len();
            Contiguous {
                _reservation: reservation,
                next: start,
                end,
                grows: 0,
                limit_pages,
                used_pages: 0,
            }
        }
    }

    impl Memory for Contiguous {
        fn grow(&mut self, pages: usize) -> Option<usize> {
            if self.used_pages + pages > self.limit_pages || self.next + pages * PAGE > self.end {
                return None;
            }
            let base = self.next;
            self.next += pages * PAGE;
            self.used_pages += pages;
            self.grows += 1;
            Some(base)
        }
    }

    impl Memory for Buffer {
        fn grow(&mut self, pages: usize) -> Option<usize> {
            if pages != 1 || self.pages.len() >= self.limit {
                return None;
            }
            self.grows += 1;
            self.pages.push(Box::new([0; PAGE]));
            self.pages.last().map(|page| page.as_ptr() as usize)
        }
    }

    /// A tiny deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn classes() {
        assert_eq!(class_of(0, 1), Some(3));
        assert_eq!(class_of(1, 1), Some(3));
        assert_eq!(class_of(8, 8), Some(3));
        assert_eq!(class_of(9, 1), Some(4));
        assert_eq!(class_of(3, 16), Some(4));
        assert_eq!(class_of(1000, 4), Some(10));
        assert_eq!(class_of(1024, 4), Some(10));
        assert_eq!(class_of(1025, 4), Some(11));
        assert_eq!(class_of(8, 32), None);
        assert_eq!(class_of(usize::MAX, 1), None);
    }

    #[test]
    fn blocks_are_aligned_distinct_and_reused() {
        let mut memory = Contiguous::new(64);
        let mut heap = Heap::new();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut live: Vec<(usize, usize, usize, u8)> = Vec::new();
        for round in 0..20_000u32 {
            if live.len() < 500 && rng.next() % 3 != 0 {
                let size = match rng.next() % 10 {
                    0 => (rng.next() % 5_000) as usize,
                    _ => (rng.next() % 40) as usize,
                };
                let align = 1 << (rng.next() % 5);
                let ptr = unsafe { heap.alloc(size, align, &mut memory) };
                assert!(!ptr.is_null(), "round {round}: {size} bytes");
                assert_eq!(ptr as usize % align, 0, "aligned");
                let fill = (round % 251) as u8;
                unsafe { core::ptr::write_bytes(ptr, fill, size) };
                live.push((ptr as usize, size, align, fill));
            } else if !live.is_empty() {
                let at = (rng.next() % live.len() as u64) as usize;
                let (ptr, size, align, fill) = live.swap_remove(at);
                let bytes = unsafe { core::slice::from_raw_parts(ptr as *const u8, size) };
                assert!(
                    bytes.iter().all(|b| *b == fill),
                    "a live block was overwritten"
                );
                unsafe { heap.dealloc(ptr as *mut u8, size, align) };
            }
        }
        // Every live block still holds what was written into it.
        for (ptr, size, _, fill) in &live {
            let bytes = unsafe { core::slice::from_raw_parts(*ptr as *const u8, *size) };
            assert!(bytes.iter().all(|b| b == fill));
        }
        // A steady churn reuses freed blocks: far fewer pages than were ever allocated.
        assert!(memory.used_pages <= 16, "{} pages", memory.used_pages);
    }

    #[test]
    fn churn_at_one_size_stops_growing() {
        let mut memory = Contiguous::new(8);
        let mut heap = Heap::new();
        let mut after_first = 0;
        for round in 0..100_000 {
            let a = unsafe { heap.alloc(100, 1, &mut memory) };
            let b = unsafe { heap.alloc(30_000, 8, &mut memory) };
            assert!(!a.is_null() && !b.is_null());
            unsafe {
                heap.dealloc(b, 30_000, 8);
                heap.dealloc(a, 100, 1);
            }
            if round == 0 {
                after_first = memory.grows;
            }
        }
        assert_eq!(memory.grows, after_first);
    }

    #[test]
    fn realloc_keeps_the_block_within_its_class_and_copies_across() {
        let mut memory = Contiguous::new(8);
        let mut heap = Heap::new();
        unsafe {
            let ptr = heap.alloc(20, 1, &mut memory);
            core::ptr::copy_nonoverlapping(b"0123456789abcdefghij".as_ptr(), ptr, 20);
            assert_eq!(heap.realloc(ptr, 20, 1, 32, &mut memory), ptr);
            let moved = heap.realloc(ptr, 32, 1, 33, &mut memory);
            assert_ne!(moved, ptr);
            assert_eq!(
                core::slice::from_raw_parts(moved, 20),
                b"0123456789abcdefghij"
            );
            let shrunk = heap.realloc(moved, 33, 1, 5, &mut memory);
            assert_eq!(core::slice::from_raw_parts(shrunk, 5), b"01234");
            // The 32-byte block freed by the move serves the next request of its class.
            assert_eq!(heap.alloc(17, 1, &mut memory), ptr);
        }
    }

    #[test]
    fn exhausted_memory_gives_null_not_a_bad_block() {
        let mut memory = Buffer::new(2);
        let mut heap = Heap::new();
        // Larger than a page: this memory grows one page at a time and refuses more.
        assert!(unsafe { heap.alloc(PAGE * 2, 8, &mut memory) }.is_null());
        let mut count = 0;
        while !unsafe { heap.alloc(4_000, 8, &mut memory) }.is_null() {
            count += 1;
            assert!(count < 1_000);
        }
        // 4,096-byte blocks, 16 to a page, on two pages that are not contiguous.
        assert_eq!((count, memory.grows), (32, 2));
        assert!(unsafe { heap.alloc(16, 32, &mut memory) }.is_null());
    }
}
