//! Deterministic parallelism: a fixed list of tasks, distributed over threads.
//!
//! The rule that keeps results bitwise identical for 1, 2 or N threads: callers cut
//! their work into tasks whose boundaries depend only on the problem size (never on
//! the thread count), every task writes only its own disjoint output, and no
//! reduction is ever split across tasks. Threads merely decide *who* runs a task,
//! never *what* it computes or in which order it sums.

// ---------------------------------------------------------------- execution context

/// Which inner-loop implementation the GEMM micro-kernels use. It changes the speed, never a
/// result: every variant performs the same IEEE-754 operations per output element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Plain Rust loops; the fused multiply-add is computed in software (`fma_f32`).
    Portable,
    /// 256-bit AVX2 with fused multiply-add.
    Avx2Fma,
    /// 512-bit AVX-512F fused multiply-add.
    Avx512,
}

impl Variant {
    /// The widest variant this CPU supports (runtime detection, no target-cpu flags).
    pub fn detect() -> Variant {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Variant::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                return Variant::Avx2Fma;
            }
        }
        Variant::Portable
    }

    /// Every variant, narrowest first.
    pub const ALL: [Variant; 3] = [Variant::Portable, Variant::Avx2Fma, Variant::Avx512];

    /// The variants this CPU can run, narrowest first (always starts with `Portable`).
    pub fn supported() -> Vec<Variant> {
        Variant::ALL.into_iter().filter(|v| v.is_supported()).collect()
    }

    /// Parses a requested variant: "auto" (or "") is `detect()`, else a name from `name()`.
    /// The error names the accepted values and what this CPU supports.
    pub fn resolve(request: &str) -> Result<Variant, String> {
        let supported = || Variant::supported().iter().map(|v| v.name()).collect::<Vec<_>>().join(", ");
        match request.trim() {
            "" | "auto" => Ok(Variant::detect()),
            name => match Variant::from_name(name) {
                Some(v) if v.is_supported() => Ok(v),
                Some(v) => Err(format!("kernel variant \"{}\" is not supported by this CPU (it supports: {})", v.name(), supported())),
                None => Err(format!("\"{name}\" is not a kernel variant: use auto, portable, avx2_fma or avx512f (this CPU supports: {})", supported())),
            },
        }
    }

    /// The process default: `$NEXA_KERNEL_VARIANT` when set (see `resolve`), else `detect()`.
    /// Only speed depends on it, so it is an operator's knob, like a thread count.
    pub fn from_env() -> Result<Variant, String> {
        match std::env::var(VARIANT_ENV) {
            Ok(v) => Variant::resolve(&v).map_err(|e| format!("{VARIANT_ENV}: {e}")),
            Err(std::env::VarError::NotPresent) => Ok(Variant::detect()),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!("{VARIANT_ENV} is not valid UTF-8")),
        }
    }

    /// Stable name (logs, benchmarks, `NEXA_KERNEL_VARIANT`).
    pub fn name(self) -> &'static str {
        match self {
            Variant::Portable => "portable",
            Variant::Avx2Fma => "avx2_fma",
            Variant::Avx512 => "avx512f",
        }
    }

    /// Inverse of `name`; `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<Variant> {
        match name {
            "portable" => Some(Variant::Portable),
            "avx2_fma" => Some(Variant::Avx2Fma),
            "avx512f" => Some(Variant::Avx512),
            _ => None,
        }
    }

    /// True when the running CPU can execute this variant.
    pub fn is_supported(self) -> bool {
        match self {
            Variant::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Variant::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

/// Environment variable that forces a kernel variant for a process (`auto` = widest).
pub const VARIANT_ENV: &str = "NEXA_KERNEL_VARIANT";

/// Thread count and kernel variant, passed to every math routine.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    pub threads: usize,
    pub variant: Variant,
}

impl Ctx {
    pub fn new(threads: usize, variant: Variant) -> Ctx {
        Ctx { threads: threads.max(1), variant }
    }
}

// ---------------------------------------------------------------- task runner

/// Runs `f` on every task, on up to `threads` threads (the calling thread included).
/// Threads pull the next task from a shared queue, so a thread slowed down by other
/// processes simply takes fewer tasks. Each task owns its data (typically disjoint
/// `&mut` slices) and computes the same bits whichever thread runs it, so the result
/// cannot depend on the schedule.
pub fn threads_run<T: Send, F: Fn(T) + Sync>(threads: usize, tasks: Vec<T>, f: F) {
    let threads = threads.max(1).min(tasks.len().max(1));
    threads_run_with(vec![(); threads], tasks, |_, task| f(task));
}

/// [`threads_run`] with one state per thread: `states.len()` threads (at least one; the calling thread takes the
/// first), each passing its own `&mut S` to `f` for every task it runs; the states come back in order. The states are
/// made by the caller, so a worker's buffers come from the calling thread's pool, not from a thread that ends with
/// the call. A task's result must not depend on which state it got (states are scratch space).
pub fn threads_run_with<S: Send, T: Send, F: Fn(&mut S, T) + Sync>(mut states: Vec<S>, tasks: Vec<T>, f: F) -> Vec<S> {
    assert!(!states.is_empty(), "threads_run_with needs at least one state");
    if states.len() == 1 || tasks.len() <= 1 {
        let s = &mut states[0];
        tasks.into_iter().for_each(|t| f(s, t));
        return states;
    }
    let queue = std::sync::Mutex::new(tasks.into_iter());
    let worker = |s: &mut S| loop {
        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
        match next {
            Some(task) => f(s, task),
            None => break,
        }
    };
    std::thread::scope(|scope| {
        let (own, others) = states.split_first_mut().expect("at least one state");
        for s in others {
            scope.spawn(|| worker(s));
        }
        worker(own);
    });
    states
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_run_with_visits_every_task_once_and_returns_the_states() {
        for threads in 1..5 {
            let mut out = vec![0u32; 37];
            let tasks: Vec<(usize, &mut [u32])> = out.chunks_mut(5).enumerate().collect();
            let states = threads_run_with(vec![0usize; threads], tasks, |runs, (i, chunk)| {
                *runs += 1;
                chunk.iter_mut().for_each(|x| *x += i as u32 + 1);
            });
            let want: Vec<u32> = (0..37).map(|j| (j / 5) as u32 + 1).collect();
            assert_eq!(out, want);
            assert_eq!((states.len(), states.iter().sum::<usize>()), (threads, 8));
        }
    }

    #[test]
    fn threads_run_visits_every_task_once() {
        for threads in 1..5 {
            let mut out = vec![0u32; 37];
            let tasks: Vec<(usize, &mut [u32])> = out.chunks_mut(5).enumerate().collect();
            threads_run(threads, tasks, |(i, chunk)| chunk.iter_mut().for_each(|x| *x += i as u32 + 1));
            let want: Vec<u32> = (0..37).map(|j| (j / 5) as u32 + 1).collect();
            assert_eq!(out, want);
        }
    }

    #[test]
    fn variant_names_round_trip() {
        for v in [Variant::Portable, Variant::Avx2Fma, Variant::Avx512] {
            assert_eq!(Variant::from_name(v.name()), Some(v));
        }
        assert!(Variant::detect().is_supported());
        assert_eq!(Variant::supported()[0], Variant::Portable);
        assert_eq!(Variant::resolve("auto"), Ok(Variant::detect()));
        assert_eq!(Variant::resolve("portable"), Ok(Variant::Portable));
        let e = Variant::resolve("sse9").unwrap_err();
        assert!(e.contains("\"sse9\" is not a kernel variant") && e.contains("avx2_fma"), "{e}");
        for v in Variant::ALL.into_iter().filter(|v| !v.is_supported()) {
            assert!(Variant::resolve(v.name()).unwrap_err().contains("not supported by this CPU"));
        }
    }
}
