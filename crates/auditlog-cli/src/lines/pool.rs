//! Worker threads that live for a whole run of the line loops, so that each
//! round of batches goes to threads whose heaps are already warm: threads
//! spawned anew per round started with empty heaps, and the kernel zeroed
//! fresh pages for every round's buffers.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::Scope;

/// One thread per worker, each with its own job and result channel, so a
/// round's results come back in the order its jobs went out.
pub(super) struct Pool<J, T> {
    jobs: Vec<Sender<J>>,
    results: Vec<Receiver<T>>,
}

impl<J: Send, T: Send> Pool<J, T> {
    /// Starts `workers` threads (at least one) in `scope`, each running
    /// `work` on the jobs it is sent until the pool is dropped.
    pub(super) fn start<'scope, W>(
        scope: &'scope Scope<'scope, '_>,
        workers: usize,
        work: &'scope W,
    ) -> Self
    where
        J: 'scope,
        T: 'scope,
        W: Fn(J) -> T + Sync,
    {
        let mut jobs = Vec::new();
        let mut results = Vec::new();
        for _ in 0..workers.max(1) {
            let (job_tx, job_rx) = channel::<J>();
            let (result_tx, result_rx) = channel::<T>();
            scope.spawn(move || {
                // Ends when the pool (the job sender) is dropped, or when
                // the pool stopped listening.
                for job in job_rx {
                    if result_tx.send(work(job)).is_err() {
                        return;
                    }
                }
            });
            jobs.push(job_tx);
            results.push(result_rx);
        }
        Pool { jobs, results }
    }

    /// How many jobs one round can hold.
    pub(super) fn workers(&self) -> usize {
        self.jobs.len()
    }

    /// Sends one round of at most [`workers`](Self::workers) jobs, the
    /// first to the first worker and so on; returns how many were sent.
    pub(super) fn submit(&self, round: impl IntoIterator<Item = J>) -> usize {
        let mut sent = 0;
        for (job, worker) in round.into_iter().zip(&self.jobs) {
            worker
                .send(job)
                .expect("a line worker stopped (it panicked)");
            sent += 1;
        }
        sent
    }

    /// The results of the round of `sent` jobs, in the order they were sent.
    pub(super) fn collect(&self, sent: usize) -> Vec<T> {
        self.results[..sent]
            .iter()
            .map(|worker| worker.recv().expect("a line worker panicked"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::thread;

    #[test]
    fn rounds_come_back_in_order_from_the_same_threads() {
        let work = |job: u32| (job * 10, thread::current().id());
        let threads = thread::scope(|scope| {
            let pool = Pool::start(scope, 3, &work);
            let mut threads = HashSet::new();
            for round in 0..50u32 {
                let jobs: Vec<u32> = (0..1 + round % 3).map(|i| round * 3 + i).collect();
                let sent = pool.submit(jobs.clone());
                assert_eq!(sent, jobs.len());
                let results = pool.collect(sent);
                let values: Vec<u32> = results.iter().map(|(v, _)| *v).collect();
                let expected: Vec<u32> = jobs.iter().map(|j| j * 10).collect();
                assert_eq!(values, expected);
                threads.extend(results.into_iter().map(|(_, id)| id));
            }
            threads
        });
        // Fifty rounds ran on the pool's three threads, not on new ones.
        assert_eq!(threads.len(), 3);
        assert!(!threads.contains(&thread::current().id()));
    }

    #[test]
    #[should_panic(expected = "panicked")]
    fn a_panicking_worker_is_reported() {
        let work = |job: u32| {
            assert!(job != 1, "job one fails");
            job
        };
        thread::scope(|scope| {
            let pool = Pool::start(scope, 2, &work);
            let sent = pool.submit([0, 1]);
            pool.collect(sent);
        });
    }
}
