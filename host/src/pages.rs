//! Transparent huge pages for the memory a decision reads.
//!
//! At national scale a decision reads a few cache lines scattered over
//! about 16 MB of guest memory (the number set and the window slots of a
//! 5M list). With 4 KiB pages nearly every one of those reads also misses
//! the TLB, and under virtualisation a TLB miss walks two page tables, the
//! guest's and the hypervisor's. A 2 MiB page covers 512 times as much, so
//! the whole list fits in the TLB. The guest's linear memory is therefore
//! advised `MADV_HUGEPAGE` as soon as it exists, before a list is written
//! into it (see [`crate::guest::GuestRuntime::with_huge_pages`]).
//!
//! This is only advice: the kernel may ignore it (transparent huge pages
//! set to `never`, no free 2 MiB page), and neither the contents nor the
//! validity of any memory ever change, so a refusal is reported and never
//! fatal. On other systems the functions do nothing.

use std::io;

/// The size of a transparent huge page on x86-64 and most arm64 kernels.
pub const HUGE_PAGE_BYTES: usize = 2 << 20;

/// Asks the kernel to back `len` bytes from `start` with huge pages as
/// they are faulted in. The range may include reserved, inaccessible
/// pages (a wasm memory's room to grow): they get huge pages once they
/// are made accessible and touched.
#[cfg(target_os = "linux")]
pub fn advise_huge(start: *mut u8, len: usize) -> io::Result<()> {
    madvise(start, len, libc::MADV_HUGEPAGE)
}

/// Asks the kernel to back `len` bytes from `start` with huge pages (does
/// nothing on this system).
#[cfg(not(target_os = "linux"))]
pub fn advise_huge(_start: *mut u8, _len: usize) -> io::Result<()> {
    Ok(())
}

/// Moves the process's large anonymous mappings (the allocator's heap and
/// its big blocks, at least `min_bytes` each) onto huge pages now, copying
/// what they hold (`MADV_COLLAPSE`). `privcall bench` calls it so the
/// native baseline reads its list through the same kind of pages as the
/// guest; the host itself never needs it. Returns the bytes of the
/// mappings the kernel collapsed.
#[cfg(target_os = "linux")]
pub fn collapse_anonymous(min_bytes: usize) -> io::Result<u64> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut collapsed = 0u64;
    for line in maps.lines() {
        let Some(region) = Region::parse(line) else {
            continue;
        };
        if !region.anonymous_writable() || region.len() < min_bytes as u64 {
            continue;
        }
        let start = region.start as *mut u8;
        let len = region.len() as usize;
        // The mapping may have gone since the read (another thread freed
        // it): then madvise fails, harmlessly, and it is skipped.
        if madvise(start, len, libc::MADV_HUGEPAGE).is_ok()
            && madvise(start, len, libc::MADV_COLLAPSE).is_ok()
        {
            collapsed += region.len();
        }
    }
    Ok(collapsed)
}

/// Moves large anonymous mappings onto huge pages (does nothing on this
/// system).
#[cfg(not(target_os = "linux"))]
pub fn collapse_anonymous(_min_bytes: usize) -> io::Result<u64> {
    Ok(0)
}

/// Bytes backed by huge pages in the mappings that overlap `len` bytes
/// from `start` (`AnonHugePages` in `/proc/self/smaps`); `None` where the
/// system does not say.
pub fn huge_bytes_in(start: *const u8, len: usize) -> Option<u64> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let (from, to) = (start as u64, start as u64 + len as u64);
    let mut overlaps = false;
    let mut total = 0u64;
    for line in smaps.lines() {
        if let Some(region) = Region::parse(line) {
            overlaps = region.start < to && from < region.end;
        } else if let Some(kib) = line.strip_prefix("AnonHugePages:") {
            if overlaps {
                let kib: u64 = kib.trim().trim_end_matches("kB").trim().parse().ok()?;
                total += kib * 1024;
            }
        }
    }
    Some(total)
}

/// When the kernel backs memory with transparent huge pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Any large enough anonymous memory.
    Always,
    /// Only memory that asked for them (the usual distribution default).
    Madvise,
    /// Never.
    Never,
}

/// The kernel's transparent-huge-page mode; `None` where it does not say
/// (other systems, or a kernel built without them).
pub fn mode() -> Option<Mode> {
    let text = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    [
        ("[always]", Mode::Always),
        ("[madvise]", Mode::Madvise),
        ("[never]", Mode::Never),
    ]
    .into_iter()
    .find_map(|(marker, mode)| text.contains(marker).then_some(mode))
}

/// Whether the kernel hands out huge pages to memory that asks for them.
pub fn available() -> bool {
    matches!(mode(), Some(Mode::Always | Mode::Madvise))
}

/// One line of `/proc/self/maps` (or a header line of `smaps`).
struct Region<'a> {
    start: u64,
    end: u64,
    perms: &'a str,
    inode: &'a str,
    path: &'a str,
}

impl<'a> Region<'a> {
    /// `start-end perms offset dev inode [path]`; `None` for any other line.
    fn parse(line: &'a str) -> Option<Region<'a>> {
        let mut fields = line.split_ascii_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let perms = fields.next()?;
        let (_offset, _dev, inode) = (fields.next()?, fields.next()?, fields.next()?);
        Some(Region {
            start: u64::from_str_radix(start, 16).ok()?,
            end: u64::from_str_radix(end, 16).ok()?,
            perms,
            inode,
            path: fields.next().unwrap_or(""),
        })
    }

    fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Private, writable, backed by no file: the allocator's memory.
    fn anonymous_writable(&self) -> bool {
        self.perms.starts_with("rw") && self.inode == "0" && matches!(self.path, "" | "[heap]")
    }
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn madvise(start: *mut u8, len: usize, advice: libc::c_int) -> io::Result<()> {
    // SAFETY: MADV_HUGEPAGE and MADV_COLLAPSE are hints about how memory
    // is backed; they never change its contents or whether it is mapped,
    // and the kernel checks the range itself (an unmapped range is an
    // error, not undefined behaviour). madvise needs a page-aligned start:
    // callers pass the starts of mappings, which are.
    let rc = unsafe { libc::madvise(start.cast(), len, advice) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn reads_maps_lines() {
        let r = Region::parse("7f00a0000000-7f00a0400000 rw-p 00000000 00:00 0 ").unwrap();
        assert_eq!(r.len(), 4 << 20);
        assert!(r.anonymous_writable());
        let heap = Region::parse("55d0c000-55d0e000 rw-p 00000000 00:00 0   [heap]").unwrap();
        assert!(heap.anonymous_writable());
        let file = Region::parse("7f00-8f00 rw-p 00001000 08:01 1234 /usr/lib/libc.so.6").unwrap();
        assert!(!file.anonymous_writable());
        let stack = Region::parse("7ffc000-7ffd000 rw-p 00000000 00:00 0 [stack]").unwrap();
        assert!(!stack.anonymous_writable());
        let guard = Region::parse("7f00a0000000-7f01a0000000 ---p 00000000 00:00 0").unwrap();
        assert!(!guard.anonymous_writable());
        assert!(Region::parse("AnonHugePages:      2048 kB").is_none());
        assert!(Region::parse("VmFlags: rd wr mr mw me ac sd hg").is_none());
    }

    #[test]
    #[allow(unsafe_code)]
    fn advised_memory_is_backed_by_huge_pages_when_the_kernel_offers_them() {
        // A mapping of its own: memory from the allocator may already be
        // touched (the advice only applies to pages faulted in after it).
        let len = 8 * HUGE_PAGE_BYTES;
        let room = len + HUGE_PAGE_BYTES;
        // SAFETY: a fresh private anonymous mapping, unmapped below; only
        // this test uses it.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                room,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED);
        let map = map.cast::<u8>();
        let start = map.wrapping_add(map.align_offset(HUGE_PAGE_BYTES));
        let advised = advise_huge(start, len);
        // Touch after the advice, as the guest's list is written after it.
        for page in (0..len).step_by(4096) {
            // SAFETY: within the mapping, which is readable and writable.
            unsafe { start.add(page).write(1) };
        }
        let huge = huge_bytes_in(start, len).expect("smaps is readable on Linux");
        let outside = huge_bytes_in(std::ptr::null(), 4096);
        // SAFETY: the mapping made above, no longer used.
        unsafe { libc::munmap(map.cast(), room) };
        if available() && advised.is_ok() {
            assert!(
                huge >= HUGE_PAGE_BYTES as u64,
                "{huge} of {len} advised bytes"
            );
        }
        assert!(huge <= room as u64, "{huge} bytes counted for {room}");
        assert_eq!(outside, Some(0), "huge pages counted at address 0");
    }
}
