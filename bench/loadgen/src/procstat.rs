//! The watched server's memory and CPU, read from `/proc`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// `/proc/PID/stat` counts CPU time in USER_HZ ticks, which Linux fixes at
/// 100 per second for user space whatever the kernel's own HZ.
const TICKS_PER_SEC: f64 = 100.0;

#[derive(Debug, Clone, Default)]
pub struct Watch {
    pids: Vec<u32>,
}

impl Watch {
    pub fn new(pids: &[u32]) -> Self {
        Self {
            pids: pids.to_vec(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pids.is_empty()
    }

    /// CPU seconds (user + system) used so far by the watched processes.
    pub fn cpu_secs(&self) -> f64 {
        let ticks: u64 = self.pids.iter().map(|&p| ticks(p).unwrap_or(0)).sum();
        ticks as f64 / TICKS_PER_SEC
    }

    /// A `/proc/PID/status` field in kB, summed over the watched processes.
    pub fn status_kb(&self, field: &str) -> u64 {
        self.pids
            .iter()
            .map(|&p| status_kb(p, field).unwrap_or(0))
            .sum()
    }

    /// Samples VmRSS every 100 ms until the returned flag is set; the
    /// returned cell holds the largest sum seen.
    pub fn sample_rss(&self) -> (Arc<AtomicBool>, Arc<AtomicU64>) {
        let stop = Arc::new(AtomicBool::new(false));
        let max = Arc::new(AtomicU64::new(0));
        let (watch, stop2, max2) = (self.clone(), stop.clone(), max.clone());
        tokio::spawn(async move {
            while !stop2.load(Ordering::Relaxed) {
                max2.fetch_max(watch.status_kb("VmRSS"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        (stop, max)
    }
}

fn ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields are counted after its ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15; `after` starts at field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}
