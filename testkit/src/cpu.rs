//! CPU time, read from `/proc` (Linux), for benchmarks that report CPU per request beside
//! their rates: on a shared two-core machine a rate alone says little.

use std::time::Duration;

/// The CPU time all threads of process `pid` have used so far (the scheduler's own
/// nanosecond count in `/proc/<pid>/task/*/schedstat`); zero where that cannot be read.
pub fn process(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// This process's CPU time so far.
pub fn this_process() -> Duration {
    process(std::process::id())
}

/// The CPU time used so far by the PostgreSQL backends connected to `database` (each
/// backend's process title names its database: `postgres: <user> <database> <client> …`).
/// A backend that ended since the last reading takes its time with it, so read before
/// closing the pool (or compare backend by backend: `postgres_backend_times`).
pub fn postgres_backends(database: &str) -> Duration {
    postgres_backend_times(database).values().sum()
}

/// The CPU time so far of each PostgreSQL backend connected to `database`, by process id.
pub fn postgres_backend_times(database: &str) -> std::collections::HashMap<u32, Duration> {
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Default::default();
    };
    let needle = format!(" {database} ");
    processes
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                let title = String::from_utf8_lossy(&cmdline);
                title.starts_with("postgres: ") && title.contains(&needle)
            })
        })
        .map(|pid| (pid, process(pid)))
        .collect()
}

/// The CPU time the whole machine has spent so far outside idle, less the user time of niced
/// processes (`/proc/stat`, in the kernel's fixed 1/100 s ticks): every process of a
/// benchmark together, and of a niced build in the background only its time in the kernel
/// (the kernel does not count that apart). Zero where that cannot be read.
pub fn machine_busy() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return Duration::ZERO;
    };
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    // user, nice, system, idle, iowait, irq, softirq, ...
    let busy = match ticks.as_slice() {
        [user, _nice, system, _idle, _iowait, irq, softirq, ..] => user + system + irq + softirq,
        _ => 0,
    };
    Duration::from_millis(busy * 10)
}
