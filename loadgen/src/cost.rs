//! What a run cost: every process of the system under test, and the generator itself,
//! sampled at a fixed interval: CPU time (each process's CPU-time clock, to the
//! nanosecond) and resident memory (from /proc, through `procfs`). From the samples come
//! the CPU spent over any stretch (read between samples) and peak and mean RSS, per
//! process.

use std::time::{Duration, Instant};

use nix::time::clock_getcpuclockid;
use nix::unistd::Pid;
use procfs::process::Process;

/// One process's CPU time and resident memory at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Since the sampling started.
    pub at: Duration,
    /// User plus system CPU time since the process started.
    pub cpu: Duration,
    pub rss_bytes: u64,
}

/// Reads `pid`'s CPU time and resident memory now; `None` once it is gone.
///
/// The CPU time is the process's CPU-time clock (`clock_getcpuclockid`: every thread,
/// those that ended included), in nanoseconds. /proc's `utime` and `stime` count clock
/// ticks of 10 ms: a turn of the monolith's product page uses about a dozen, so one
/// tick more or less moved its CPU per request by 8% (set 10, BENCHMARKS.md). They
/// stand in only where the clock cannot be read.
pub fn read(pid: i32) -> Option<(Duration, u64)> {
    let stat = Process::new(pid).ok()?.stat().ok()?;
    let clock = clock_getcpuclockid(Pid::from_raw(pid)).and_then(|clock| clock.now());
    let cpu = match clock {
        Ok(cpu) => Duration::from(cpu),
        Err(_) => {
            let ticks = stat.utime + stat.stime;
            Duration::from_secs_f64(ticks as f64 / procfs::ticks_per_second() as f64)
        }
    };
    Some((cpu, stat.rss * procfs::page_size()))
}

/// A process to watch, by the name the report gives it.
#[derive(Debug, Clone)]
pub struct Watched {
    pub name: String,
    pub pid: i32,
}

/// One process's readings over a run.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub readings: Vec<Reading>,
}

impl Series {
    /// CPU time spent between `from` and `to` (since the sampling started), read
    /// between the readings on either side by straight lines: a process's CPU clock
    /// only moves forward, so this is off by at most what it used within one interval
    /// at each end.
    pub fn cpu_between(&self, from: Duration, to: Duration) -> Duration {
        match (self.cpu_at(from), self.cpu_at(to)) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => Duration::ZERO,
        }
    }

    /// The CPU clock at `at`, interpolated; clamped to the first and last readings.
    fn cpu_at(&self, at: Duration) -> Option<Duration> {
        let after = self.readings.iter().position(|r| r.at >= at);
        Some(match after {
            Some(0) => self.readings.first()?.cpu,
            None => self.readings.last()?.cpu,
            Some(i) => {
                let (a, b) = (self.readings[i - 1], self.readings[i]);
                let span = (b.at - a.at).as_secs_f64();
                let share = if span > 0.0 {
                    (at - a.at).as_secs_f64() / span
                } else {
                    1.0
                };
                a.cpu + (b.cpu - a.cpu).mul_f64(share)
            }
        })
    }

    /// Only the readings between `from` and `to`.
    pub fn between(&self, from: Duration, to: Duration) -> Series {
        Series {
            name: self.name.clone(),
            readings: self
                .readings
                .iter()
                .filter(|r| r.at >= from && r.at <= to)
                .copied()
                .collect(),
        }
    }

    pub fn peak_rss_bytes(&self) -> u64 {
        self.readings.iter().map(|r| r.rss_bytes).max().unwrap_or(0)
    }

    pub fn mean_rss_bytes(&self) -> u64 {
        match self.readings.len() as u64 {
            0 => 0,
            n => self.readings.iter().map(|r| r.rss_bytes).sum::<u64>() / n,
        }
    }
}

/// Samples a set of processes on a thread of its own (reading /proc blocks, and the
/// generator's runtime has better things to do) until [`stop`](Self::stop).
#[derive(Debug)]
pub struct Sampler {
    thread: std::thread::JoinHandle<Vec<Series>>,
    stop: std::sync::mpsc::Sender<()>,
    /// Readings' `at` counts from here.
    pub started: Instant,
}

impl Sampler {
    /// Starts sampling `processes` every `every` (a reading at once, then each tick).
    pub fn start(processes: Vec<Watched>, every: Duration) -> Self {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            let mut series: Vec<Series> = processes
                .iter()
                .map(|p| Series {
                    name: p.name.clone(),
                    readings: Vec::new(),
                })
                .collect();
            let mut next = started;
            let mut stopping = false;
            loop {
                for (process, series) in processes.iter().zip(&mut series) {
                    if let Some((cpu, rss_bytes)) = read(process.pid) {
                        series.readings.push(Reading {
                            at: started.elapsed(),
                            cpu,
                            rss_bytes,
                        });
                    }
                }
                if stopping {
                    return series;
                }
                next += every;
                let wait = next.saturating_duration_since(Instant::now());
                // Told to stop (or the sampler dropped): one last reading, then done.
                stopping = !matches!(
                    stopped.recv_timeout(wait),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                );
            }
        });
        Self {
            thread,
            stop,
            started,
        }
    }

    /// Takes a last reading of each process and returns every series.
    pub async fn stop(self) -> Vec<Series> {
        let _ = self.stop.send(());
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join().unwrap_or_default())
            .await
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_busy_process_shows_its_cpu_and_memory() {
        let _alone = crate::TIMING_TESTS.lock().await;
        let me = std::process::id() as i32;
        let started = Instant::now();
        let sampler = Sampler::start(
            vec![Watched {
                name: "loadgen test".to_owned(),
                pid: me,
            }],
            Duration::from_millis(100),
        );
        // Half a second of CPU, busy: counted in CPU, not wall time, so that a machine
        // busy with other work only makes it take longer.
        let spin = std::thread::spawn(|| {
            let used = || read(std::process::id() as i32).unwrap().0;
            let until = used() + Duration::from_millis(500);
            let mut n = 0u64;
            while used() < until {
                for _ in 0..10_000 {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            n
        });
        spin.join().unwrap();
        let spun = started.elapsed();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let series = sampler.stop().await;
        let mine = &series[0];
        assert!(mine.readings.len() >= 5, "{}", mine.readings.len());
        let end = mine.readings.last().unwrap().at;
        let all = mine.cpu_between(Duration::ZERO, end);
        assert!(all >= Duration::from_millis(400), "{all:?}");
        assert!(mine.peak_rss_bytes() > 1_000_000);
        assert!(mine.mean_rss_bytes() <= mine.peak_rss_bytes());
        // The busy half second, and nothing of the idle 150 ms after it.
        let idle = mine.cpu_between(end - Duration::from_millis(100), end);
        assert!(idle < Duration::from_millis(60), "{idle:?}");
        let busy = mine.cpu_between(Duration::ZERO, spun);
        assert!(busy >= Duration::from_millis(350), "{busy:?} in {spun:?}");
        assert_eq!(
            mine.between(Duration::ZERO, end).readings.len(),
            mine.readings.len()
        );
    }

    #[test]
    fn cpu_time_is_read_finer_than_the_kernel_s_ticks() {
        let me = std::process::id() as i32;
        let tick = Duration::from_secs(1) / procfs::ticks_per_second() as u32;
        let readings: Vec<Duration> = (0..3)
            .map(|_| {
                let mut n = 0u64;
                for _ in 0..100_000 {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
                read(me).unwrap().0
            })
            .collect();
        // Counted in ticks, every reading would be a whole number of them.
        assert!(
            readings
                .iter()
                .any(|cpu| cpu.as_nanos() % tick.as_nanos() != 0),
            "{readings:?} are whole ticks of {tick:?}"
        );
    }

    #[test]
    fn a_process_that_is_gone_reads_as_none() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert_eq!(read(pid), None);
    }
}
