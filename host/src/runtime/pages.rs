//! Transparent huge pages for the memory a decision reads.
//!
//! At national scale a decision reads a few cache lines scattered over
//! tens of megabytes of guest memory (the number set and the window slots
//! of a national list). With 4 KiB pages nearly every one of those reads also misses
//! the TLB, and under virtualisation a TLB miss walks two page tables, the
//! guest's and the hypervisor's. A 2 MiB page covers 512 times as much, so
//! the whole list fits in the TLB. The guest's linear memory is therefore
//! advised `MADV_HUGEPAGE` as soon as it exists, before a list is written
//! into it (see [`crate::guest::GuestRuntime::with_huge_pages`]).
//!
//! The kernel then gives a huge page to each whole 2 MiB block of it that
//! is first touched after it became accessible: the list's big arrays,
//! which the guest allocates (and its memory grows by) in one piece: most
//! of a large list's memory. The rest is not moved over after a load
//! (`MADV_COLLAPSE`): in a VM every fresh huge page is a first touch for
//! the hypervisor, and collapsing makes a swap slower than the TLB misses
//! it saves (`docs/performance.md` has the measurement).
//!
//! This is only advice: the kernel may ignore it (transparent huge pages
//! set to `never`, no free huge page, a process or cgroup that disables
//! them), and may apply it to part of a range and still report an error.
//! Neither the contents nor the validity of any memory ever change, so an
//! error is reported and never fatal. On other systems the functions do
//! nothing.

use std::io;

/// What `madvise` is asked: only the two hints, never an advice that
/// discards or changes memory, so [`madvise`] can be a safe function.
#[cfg(target_os = "linux")]
#[derive(Clone, Copy)]
enum Advice {
    /// `MADV_HUGEPAGE`: back pages faulted in from now on with huge pages.
    HugePage,
    /// `MADV_COLLAPSE`: move what the range holds onto huge pages now.
    Collapse,
}

/// `MADV_COLLAPSE` (Linux 6.1): the value is the kernel's ABI; the `libc`
/// crate defines it for glibc targets only.
#[cfg(target_os = "linux")]
const MADV_COLLAPSE: libc::c_int = 25;

/// Asks the kernel to back `len` bytes from `start` with huge pages as
/// they are faulted in. The range may include reserved, inaccessible
/// pages (a wasm memory's room to grow): they get huge pages once they
/// are made accessible and touched.
#[cfg(target_os = "linux")]
pub fn advise_huge(start: *mut u8, len: usize) -> io::Result<()> {
    madvise(start, len, Advice::HugePage)
}

/// Asks the kernel to back `len` bytes from `start` with huge pages (does
/// nothing on this system).
#[cfg(not(target_os = "linux"))]
pub fn advise_huge(_start: *mut u8, _len: usize) -> io::Result<()> {
    Ok(())
}

/// Moves the process's large anonymous private mappings (the allocator's
/// heap and its big blocks, at least `min_bytes` each) onto huge pages
/// now, copying what they hold (`MADV_COLLAPSE`). `privcall bench` calls it
/// so the native baseline reads its list through the same kind of pages as
/// the guest; the host itself never needs it. Does nothing where the
/// kernel's huge pages are off ([`available`]), which `MADV_COLLAPSE`
/// would otherwise ignore. Returns the bytes now on huge pages: each
/// mapping's whole huge pages (the kernel leaves a range's unaligned ends
/// alone).
#[cfg(target_os = "linux")]
pub fn collapse_anonymous(min_bytes: usize) -> io::Result<u64> {
    if !available() {
        return Ok(0);
    }
    let page = huge_page_bytes() as u64;
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut collapsed = 0u64;
    for line in maps.lines() {
        let Some(region) = Region::parse(line) else {
            continue;
        };
        if !region.anonymous_private_writable() || region.len() < min_bytes as u64 {
            continue;
        }
        let start = region.start as *mut u8;
        let len = region.len() as usize;
        // The mapping may have gone since the read (another thread freed
        // it): then madvise fails, harmlessly, and it is skipped.
        if madvise(start, len, Advice::HugePage).is_ok()
            && madvise(start, len, Advice::Collapse).is_ok()
        {
            let first = region.start.div_ceil(page) * page;
            let last = region.end / page * page;
            collapsed += last.saturating_sub(first);
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

/// What `/proc/self/smaps` says of the mappings that overlap `len` bytes
/// from `start`; `None` where the system does not say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backing {
    /// Bytes backed by huge pages (`AnonHugePages`).
    pub huge_bytes: u64,
    /// Whether every such mapping carries the huge-page advice (`hg` in
    /// `VmFlags`): what [`advise_huge`] sets, whether or not the kernel
    /// then finds huge pages to give.
    pub advised: bool,
}

/// How the mappings overlapping `len` bytes from `start` are backed
/// ([`Backing`]); `None` where `/proc/self/smaps` cannot be read or no
/// mapping overlaps.
pub fn backing(start: *const u8, len: usize) -> Option<Backing> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let (from, to) = (start as u64, (start as u64).saturating_add(len as u64));
    let mut overlaps = false;
    let mut found: Option<Backing> = None;
    for line in smaps.lines() {
        if let Some(region) = Region::parse(line) {
            overlaps = region.start < to && from < region.end;
            if overlaps && found.is_none() {
                // Advised until a mapping's VmFlags line says otherwise.
                found = Some(Backing {
                    huge_bytes: 0,
                    advised: true,
                });
            }
        } else if !overlaps {
            continue;
        } else if let Some(kib) = line.strip_prefix("AnonHugePages:") {
            let kib: u64 = kib.trim().trim_end_matches("kB").trim().parse().ok()?;
            if let Some(b) = found.as_mut() {
                b.huge_bytes += kib * 1024;
            }
        } else if let Some(flags) = line.strip_prefix("VmFlags:") {
            if let Some(b) = found.as_mut() {
                b.advised &= flags.split_ascii_whitespace().any(|f| f == "hg");
            }
        }
    }
    found
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

/// The size of a transparent huge page: the kernel's own figure, or 2 MiB
/// (x86-64, arm64 with 4 KiB pages) where it does not say.
pub fn huge_page_bytes() -> usize {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(2 << 20)
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

    /// Readable, writable, private, backed by no file: the allocator's
    /// memory (a name given with `PR_SET_VMA` shows as `[anon:...]`).
    fn anonymous_private_writable(&self) -> bool {
        self.perms.starts_with("rw")
            && self.perms.as_bytes().get(3) == Some(&b'p')
            && self.inode == "0"
            && (matches!(self.path, "" | "[heap]") || self.path.starts_with("[anon:"))
    }
}

#[cfg(target_os = "linux")]
#[expect(
    unsafe_code,
    reason = "madvise is a C call; only the two hint advices reach it"
)]
fn madvise(start: *mut u8, len: usize, advice: Advice) -> io::Result<()> {
    let advice = match advice {
        Advice::HugePage => libc::MADV_HUGEPAGE,
        Advice::Collapse => MADV_COLLAPSE,
    };
    // SAFETY: MADV_HUGEPAGE and MADV_COLLAPSE (the only advices `Advice`
    // can name) are hints about how memory is backed: they never change
    // its contents or whether it is mapped (a collapse copies pages and
    // fills untouched ones with the zeros they would read), and the kernel
    // checks the range itself (an unmapped range is an error, not undefined
    // behaviour). madvise needs a page-aligned start: callers pass the
    // starts of mappings, which are.
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
        assert!(r.anonymous_private_writable());
        let heap = Region::parse("55d0c000-55d0e000 rw-p 00000000 00:00 0   [heap]").unwrap();
        assert!(heap.anonymous_private_writable());
        let named = Region::parse("7f00-8f00 rw-p 00000000 00:00 0 [anon:arena]").unwrap();
        assert!(named.anonymous_private_writable());
        let file = Region::parse("7f00-8f00 rw-p 00001000 08:01 1234 /usr/lib/libc.so.6").unwrap();
        assert!(!file.anonymous_private_writable());
        let shared = Region::parse("7f00-8f00 rw-s 00000000 00:01 77 /memfd:x (deleted)").unwrap();
        assert!(!shared.anonymous_private_writable());
        let shared_anon = Region::parse("7f00-8f00 rw-s 00000000 00:00 0").unwrap();
        assert!(!shared_anon.anonymous_private_writable());
        let stack = Region::parse("7ffc000-7ffd000 rw-p 00000000 00:00 0 [stack]").unwrap();
        assert!(!stack.anonymous_private_writable());
        let guard = Region::parse("7f00a0000000-7f01a0000000 ---p 00000000 00:00 0").unwrap();
        assert!(!guard.anonymous_private_writable());
        assert!(Region::parse("AnonHugePages:      2048 kB").is_none());
        assert!(Region::parse("VmFlags: rd wr mr mw me ac sd hg").is_none());
    }

    /// A private anonymous mapping of `len` bytes, unmapped on drop: memory
    /// from the allocator may already be touched, and the advice only
    /// applies to pages faulted in after it.
    struct Mapping {
        at: *mut u8,
        len: usize,
    }

    impl Mapping {
        #[expect(unsafe_code, reason = "mmap is a C call")]
        fn new(len: usize) -> Mapping {
            // SAFETY: a fresh private anonymous mapping that only this
            // value uses, unmapped in `drop`.
            let at = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert_ne!(at, libc::MAP_FAILED);
            Mapping { at: at.cast(), len }
        }
    }

    impl Drop for Mapping {
        #[expect(unsafe_code, reason = "munmap is a C call")]
        fn drop(&mut self) {
            // SAFETY: the mapping made in `new`, no longer used.
            unsafe { libc::munmap(self.at.cast(), self.len) };
        }
    }

    #[test]
    #[expect(
        unsafe_code,
        reason = "the test writes through a raw pointer into its own mapping"
    )]
    fn advised_memory_asks_for_huge_pages_and_gets_them_when_the_kernel_offers_them() {
        let page = huge_page_bytes();
        let len = 8 * page;
        let map = Mapping::new(len + page);
        let start = map.at.wrapping_add(map.at.align_offset(page));
        let advised = advise_huge(start, len);
        // Touch after the advice, as the guest's list is written after it.
        for offset in (0..len).step_by(4096) {
            // SAFETY: within the mapping, which is readable and writable.
            unsafe { start.add(offset).write(1) };
        }
        let b = backing(start, len).expect("smaps is readable on Linux");
        assert!(b.huge_bytes <= (len + page) as u64, "{b:?}");
        assert_eq!(
            backing(std::ptr::null(), 4096),
            None,
            "a mapping at address 0"
        );
        if available() {
            advised.expect("madvise(MADV_HUGEPAGE) on a fresh mapping");
            assert!(b.advised, "the advice is not on the mapping: {b:?}");
            // Whether pages are granted depends on the machine (free
            // memory, cgroup and container settings); where they may be
            // refused, say so with PRIVCALL_TEST_HUGE_PAGES=advice-only.
            if std::env::var("PRIVCALL_TEST_HUGE_PAGES").as_deref() != Ok("advice-only") {
                assert!(b.huge_bytes >= page as u64, "no huge page granted: {b:?}");
            }
        }
    }

    #[test]
    fn memory_without_the_advice_is_not_reported_as_advised() {
        let map = Mapping::new(4 << 20);
        let b = backing(map.at, 4 << 20).expect("smaps is readable on Linux");
        assert!(!b.advised, "{b:?}");
    }
}
