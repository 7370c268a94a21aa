//! The process's resident memory, from Linux's `/proc/self`.

/// A `kB` field of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Resident bytes now.
pub fn current() -> Option<u64> {
    status_kib("VmRSS:").map(|k| k * 1024)
}

/// The most resident bytes since start or the last [`reset_peak`].
pub fn peak() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

/// Restarts the peak from the current size (`clear_refs` value 5).
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
