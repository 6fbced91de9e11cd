//! Terminal input on its own thread, handed over a channel, so the event
//! loop can take every waiting event at once (a paste, a held key) and
//! handle them as one batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossterm::event::{self, Event};
use tokio::sync::mpsc;

/// How often the reader looks whether it should stop.
const POLL: Duration = Duration::from_millis(100);

pub struct InputThread {
    rx: mpsc::UnboundedReceiver<std::io::Result<Event>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl InputThread {
    pub fn spawn() -> InputThread {
        let (tx, rx) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("cutover-input".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    let ev = match event::poll(POLL) {
                        Ok(false) => continue,
                        Ok(true) => event::read(),
                        // A signal (stop, resize) interrupted the wait.
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => Err(e),
                    };
                    let failed = ev.is_err();
                    if tx.send(ev).is_err() || failed {
                        return;
                    }
                }
            })
            .ok();
        InputThread { rx, stop, thread }
    }

    /// The next event; `None` when the reader has ended.
    pub async fn recv(&mut self) -> Option<std::io::Result<Event>> {
        self.rx.recv().await
    }

    /// Every event already waiting, without waiting for more.
    pub fn drain(&mut self) -> impl Iterator<Item = std::io::Result<Event>> + '_ {
        std::iter::from_fn(|| self.rx.try_recv().ok())
    }
}

impl Drop for InputThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
