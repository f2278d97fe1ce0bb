//! What the soak measures of a process, from `/proc`: resident memory and open file
//! descriptors.

use std::io;

/// Resident set size of process `pid` (`self` for this one), in KiB (`VmRSS` of
/// `/proc/<pid>/status`).
pub fn rss_kib(pid: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS line"))
}

/// Open file descriptors of process `pid` (entries of `/proc/<pid>/fd`).
pub fn fds(pid: &str) -> io::Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}
