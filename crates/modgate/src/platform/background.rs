//! Work no client waits for yet (a zip made ahead) done at a lower CPU priority than the
//! answers clients wait for.
//!
//! A task marks itself with [`scope`]; its blocking work goes through [`run_blocking`],
//! which runs it on tokio's blocking pool, or, inside a background scope, on a few threads
//! of their own at nice 10 (Unix; elsewhere at normal priority). A thread cannot take its
//! priority back without privileges, so they are threads apart from tokio's, started on
//! first use and kept. When the machine has idle CPU they run as fast as any; when clients
//! wait (a cold graph's git clones on two cores), the clients' work goes first. A client
//! that asks for a zip being made ahead waits for that work as it is.

use std::future::Future;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};

tokio::task_local! {
    static BACKGROUND: ();
}

/// Runs `f` as background work: [`run_blocking`] inside it uses the low-priority threads.
pub async fn scope<F: Future>(f: F) -> F::Output {
    BACKGROUND.scope((), f).await
}

/// Whether the current task runs inside [`scope`].
pub fn is_background() -> bool {
    BACKGROUND.try_with(|_| ()).is_ok()
}

/// A blocking job that did not finish: it panicked, or its runtime shut down.
#[derive(Debug, thiserror::Error)]
#[error("the blocking task did not finish: {0}")]
pub struct TaskError(String);

type Job = Box<dyn FnOnce() + Send>;

fn pool() -> &'static Sender<Job> {
    static POOL: OnceLock<Sender<Job>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..n {
            let rx = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("modgate-background-{i}"))
                .spawn(move || work(&rx));
        }
        tx
    })
}

fn work(rx: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(unix)]
fn lower_priority() {
    // On Linux this is the calling thread's nice value.
    if let Err(e) = rustix::process::setpriority_process(None, 10) {
        tracing::debug!(error = %e, "background threads keep their priority");
    }
}

#[cfg(not(unix))]
fn lower_priority() {}

/// Runs `f` where blocking is allowed: on the low-priority threads inside [`scope`], else
/// on tokio's blocking pool.
pub async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TaskError> {
    if !is_background() {
        return tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| TaskError(e.to_string()));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(out);
    });
    if pool().send(job).is_err() {
        return Err(TaskError("the background threads are gone".into()));
    }
    match rx.await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(TaskError("it panicked".into())),
        Err(_) => Err(TaskError("the background threads are gone".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn background_work_runs_on_its_own_lower_priority_threads() {
        fn name() -> String {
            std::thread::current().name().unwrap_or("").to_string()
        }
        let plain = run_blocking(name).await.unwrap();
        assert!(!plain.starts_with("modgate-background"), "{plain}");
        assert!(!is_background());
        let (inside, nice) = scope(async move {
            assert!(is_background());
            run_blocking(|| (name(), nice())).await.unwrap()
        })
        .await;
        assert!(inside.starts_with("modgate-background-"), "{inside}");
        #[cfg(unix)]
        assert!(nice >= 10, "nice {nice}");
        let _ = nice;
        let panicked = scope(run_blocking(|| panic!("boom"))).await;
        assert!(matches!(panicked, Err::<(), _>(TaskError(_))));
        // The threads survive a job's panic.
        assert_eq!(scope(run_blocking(|| 7)).await.unwrap(), 7);
    }

    /// The calling thread's nice value.
    fn nice() -> i32 {
        #[cfg(unix)]
        {
            rustix::process::getpriority_process(None).unwrap_or(-100)
        }
        #[cfg(not(unix))]
        {
            0
        }
    }
}
