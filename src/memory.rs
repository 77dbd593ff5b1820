//! Asking the kernel to back large buffers with huge pages.
//!
//! Reading a 100 MB dump into fresh memory costs one page fault per 4 KiB page (25,000 of
//! them), more than the copy itself; with transparent huge pages in `madvise` mode (the
//! default on many distributions) a hint makes that one fault per 2 MiB.

/// Hints that the allocated capacity of `buffer` is worth backing with huge pages. Only a
/// hint: on kernels or systems without transparent huge pages it does nothing.
pub fn advise_huge_pages<T>(buffer: &Vec<T>) {
    const HUGE_PAGE: usize = 2 << 20;
    let start = buffer.as_ptr() as usize;
    let end = start + buffer.capacity() * size_of::<T>();
    let aligned_start = start.next_multiple_of(HUGE_PAGE);
    let aligned_end = end - end % HUGE_PAGE;
    if aligned_end <= aligned_start {
        return;
    }
    // SAFETY: madvise with MADV_HUGEPAGE only changes how the kernel backs pages of this
    // range, which lies inside an allocation we own; it never changes their contents, and
    // an error (EINVAL on kernels without THP) is harmless and ignored.
    unsafe {
        libc::madvise(
            aligned_start as *mut libc::c_void,
            aligned_end - aligned_start,
            libc::MADV_HUGEPAGE,
        );
    }
}
