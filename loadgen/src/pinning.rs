//! Which cores the system under test and the generator get: on a machine with two or
//! more, the generator takes the last one it may run on and the system under test the
//! rest, so neither is the other's noise. The generator pins itself before it starts
//! its threads (they inherit it); the deployment starts every server under `taskset`.

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

use serde::{Deserialize, Serialize};

/// Which cores each side got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cores {
    pub system_under_test: Vec<usize>,
    pub generator: Vec<usize>,
    /// False when there was only one core to share.
    pub pinned: bool,
}

impl Cores {
    /// The cores the run could use, both sides together.
    pub fn count(&self) -> usize {
        let mut all: Vec<usize> = self
            .system_under_test
            .iter()
            .chain(&self.generator)
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        all.len()
    }
}

/// The cores this process may use, as the kernel says.
fn allowed() -> Vec<usize> {
    match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
            .collect(),
        Err(_) => (0..std::thread::available_parallelism().map_or(1, usize::from)).collect(),
    }
}

/// The split of the allowed cores: the last for the generator, the others for the
/// system under test; nothing pinned on a single core.
pub fn split_cores() -> Cores {
    let cores = allowed();
    match cores.split_last() {
        Some((generator, sut)) if !sut.is_empty() => Cores {
            system_under_test: sut.to_vec(),
            generator: vec![*generator],
            pinned: true,
        },
        _ => Cores {
            system_under_test: cores.clone(),
            generator: cores,
            pinned: false,
        },
    }
}

/// `0,1,2,5` as `taskset` reads it.
pub fn list(cores: &[usize]) -> String {
    cores
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Pins the calling thread (and the threads it starts later) to the generator's cores.
pub fn pin_self(cores: &Cores) -> nix::Result<()> {
    if !cores.pinned {
        return Ok(());
    }
    let mut set = CpuSet::new();
    for &core in &cores.generator {
        set.set(core)?;
    }
    sched_setaffinity(Pid::from_raw(0), &set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_and_the_server_get_different_cores() {
        let cores = split_cores();
        if cores.pinned {
            assert!(!cores.system_under_test.contains(&cores.generator[0]));
            assert_eq!(cores.count(), allowed().len());
            assert_eq!(list(&[0, 2, 3]), "0,2,3");
        } else {
            assert_eq!(allowed().len(), 1);
        }
    }
}
