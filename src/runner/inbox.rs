//! A worker's requests, and which of its threads runs which next.
//!
//! Files written for dbtest share the worker's threads; a unittest or pytest-style file runs
//! alone in the process (`FileTask::exclusive`): it waits for the files running, and files
//! after it wait for it. Requests start in the order they came. A thread that finishes a
//! file takes the next request itself when it may start: a run of exclusive files goes on
//! one thread, with no hand-over to another thread (a wake-up and a context switch per file,
//! a quarter of a millisecond each on a busy machine) between them.
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// What the inbox needs to know of a request.
pub trait Exclusive {
    /// Runs alone in the process.
    fn exclusive(&self) -> bool;
}

struct State<R> {
    waiting: VecDeque<R>,
    /// No more requests will come.
    closed: bool,
    /// Shared files running now.
    shared: usize,
    /// An exclusive file is running now.
    alone: bool,
}

impl<R: Exclusive> State<R> {
    /// The first waiting request, taken if it may start now.
    fn take(&mut self) -> Option<R> {
        let first = self.waiting.front()?;
        let start = if first.exclusive() {
            !self.alone && self.shared == 0
        } else {
            !self.alone
        };
        if !start {
            return None;
        }
        let r = self.waiting.pop_front()?;
        if r.exclusive() {
            self.alone = true;
        } else {
            self.shared += 1;
        }
        Some(r)
    }
}

pub struct Inbox<R> {
    state: Mutex<State<R>>,
    changed: Condvar,
}

impl<R: Exclusive> Default for Inbox<R> {
    fn default() -> Self {
        Inbox {
            state: Mutex::new(State {
                waiting: VecDeque::new(),
                closed: false,
                shared: 0,
                alone: false,
            }),
            changed: Condvar::new(),
        }
    }
}

impl<R: Exclusive> Inbox<R> {
    fn lock(&self) -> MutexGuard<'_, State<R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn push(&self, r: R) {
        self.lock().waiting.push_back(r);
        self.changed.notify_one();
    }

    /// Requests not started yet.
    pub fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }

    /// No more requests: threads return once the waiting ones are done.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// The next request this thread runs (after `finished`, if it ran one: whether that was
    /// exclusive), waiting until one may start; None when the inbox is closed and empty.
    pub fn next(&self, finished: Option<bool>) -> Option<R> {
        let mut s = self.lock();
        match finished {
            Some(true) => s.alone = false,
            Some(false) => s.shared = s.shared.saturating_sub(1),
            None => {}
        }
        loop {
            if let Some(r) = s.take() {
                // Another thread may start the one after it alongside (shared files).
                if !r.exclusive() && s.waiting.front().is_some_and(|n| !n.exclusive()) {
                    self.changed.notify_one();
                }
                return Some(r);
            }
            if s.closed && s.waiting.is_empty() {
                // Others may be waiting for the same end.
                self.changed.notify_all();
                return None;
            }
            // The first request waits for files running now: the thread that finishes the
            // last of them takes it.
            s = self.changed.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[derive(Debug)]
    struct Req(usize, bool);

    impl Exclusive for Req {
        fn exclusive(&self) -> bool {
            self.1
        }
    }

    #[test]
    fn exclusive_files_never_overlap_anything_and_shared_ones_overlap_each_other() {
        let inbox: Arc<Inbox<Req>> = Arc::new(Inbox::default());
        let running = Arc::new(AtomicUsize::new(0));
        let alone = Arc::new(AtomicUsize::new(0));
        let max_shared = Arc::new(AtomicUsize::new(0));
        // Spawned before the requests arrive (collected, not iterated lazily at the join).
        #[allow(clippy::needless_collect)]
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (inbox, running, alone, max_shared) = (
                    inbox.clone(),
                    running.clone(),
                    alone.clone(),
                    max_shared.clone(),
                );
                std::thread::spawn(move || {
                    let mut done = Vec::new();
                    let mut finished = None;
                    while let Some(Req(i, ex)) = inbox.next(finished) {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        if ex {
                            assert_eq!(now, 1, "exclusive {i} overlapped another file");
                            alone.fetch_add(1, Ordering::SeqCst);
                        } else {
                            assert_eq!(alone.load(Ordering::SeqCst) % 2, 0);
                            max_shared.fetch_max(now, Ordering::SeqCst);
                        }
                        std::thread::sleep(Duration::from_millis(2));
                        if ex {
                            alone.fetch_add(1, Ordering::SeqCst);
                        }
                        running.fetch_sub(1, Ordering::SeqCst);
                        done.push(i);
                        finished = Some(ex);
                    }
                    done
                })
            })
            .collect();
        for i in 0..40 {
            inbox.push(Req(i, i % 5 == 0 || (10..16).contains(&i)));
        }
        inbox.close();
        let mut all: Vec<usize> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..40).collect::<Vec<_>>());
        assert!(
            max_shared.load(Ordering::SeqCst) > 1,
            "shared files never overlapped"
        );
    }

    #[test]
    fn waiting_counts_the_requests_not_started() {
        let inbox: Inbox<Req> = Inbox::default();
        assert_eq!(inbox.waiting(), 0);
        for i in 0..3 {
            inbox.push(Req(i, false));
        }
        assert_eq!(inbox.waiting(), 3);
        let first = inbox.next(None).unwrap();
        assert_eq!((first.0, inbox.waiting()), (0, 2));
        inbox.next(Some(false)).unwrap();
        inbox.next(Some(false)).unwrap();
        assert_eq!(inbox.waiting(), 0);
    }

    #[test]
    fn a_run_of_exclusive_files_stays_on_the_thread_that_started_it() {
        let inbox: Inbox<Req> = Inbox::default();
        for i in 0..5 {
            inbox.push(Req(i, true));
        }
        inbox.close();
        let mut finished = None;
        let mut got = Vec::new();
        while let Some(Req(i, ex)) = inbox.next(finished) {
            got.push(i);
            finished = Some(ex);
        }
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
    }
}
