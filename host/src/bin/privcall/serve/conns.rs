//! The open connections: how many there may be, and which one goes when a
//! new one arrives at the cap.
//!
//! A connection is *idle* when no request of it is being answered: it
//! waits for its next request, or for the rest of a request's headers (a
//! slow client). At the cap, a new connection sheds the idle connection
//! that was active least recently; with none idle, the new one is closed.
//! A client that keeps deciding is always recently active, so a flood of
//! idle or slow connections sheds itself, never the PBX's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::Notify;

/// Every open connection of one daemon.
pub struct Conns {
    inner: Mutex<Inner>,
    max: usize,
    started: Instant,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    open: HashMap<u64, Arc<Conn>>,
    /// Open and not told to close: what the cap counts.
    live: usize,
}

/// One connection's state, shared by its task and its requests.
pub struct Conn {
    /// Milliseconds after the daemon started when a request last began
    /// or ended (or the connection opened).
    last_active_ms: AtomicU64,
    in_flight: AtomicUsize,
    shedding: AtomicBool,
    /// Woken when the connection is to close.
    pub shed: Notify,
}

/// An admitted connection; leaves the registry when dropped.
pub struct Admitted {
    conns: Arc<Conns>,
    id: u64,
    /// Its state.
    pub conn: Arc<Conn>,
}

impl Conns {
    /// A registry that admits at most `max` live connections.
    pub fn new(max: usize) -> Arc<Conns> {
        Arc::new(Conns {
            inner: Mutex::new(Inner::default()),
            max: max.max(1),
            started: Instant::now(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Admits a new connection, shedding the least recently active idle
    /// one at the cap; `None` when at the cap with every connection busy.
    pub fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut inner = self.lock();
        if inner.live >= self.max && !shed_idlest(&mut inner) {
            return None;
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let conn = Arc::new(Conn {
            last_active_ms: AtomicU64::new(self.now_ms()),
            in_flight: AtomicUsize::new(0),
            shedding: AtomicBool::new(false),
            shed: Notify::new(),
        });
        inner.open.insert(id, Arc::clone(&conn));
        inner.live += 1;
        Some(Admitted {
            conns: Arc::clone(self),
            id,
            conn,
        })
    }

    /// Sheds the least recently active idle connection, if any: out of
    /// descriptors, it gives one back.
    pub fn shed_one(&self) -> bool {
        shed_idlest(&mut self.lock())
    }

    /// Connections open now, including those closing.
    pub fn open(&self) -> usize {
        self.lock().open.len()
    }

    /// Tells every connection to close (shutdown).
    pub fn shed_all(&self) {
        let mut inner = self.lock();
        for c in inner.open.values() {
            c.shedding.store(true, Ordering::Relaxed);
            c.shed.notify_one();
        }
        inner.live = 0;
    }
}

/// Tells the least recently active idle connection to close; false when
/// every connection is busy or closing.
fn shed_idlest(inner: &mut Inner) -> bool {
    let victim = inner
        .open
        .values()
        .filter(|c| !c.shedding.load(Ordering::Relaxed) && c.in_flight.load(Ordering::Relaxed) == 0)
        .min_by_key(|c| c.last_active_ms.load(Ordering::Relaxed));
    let Some(victim) = victim else {
        return false;
    };
    victim.shedding.store(true, Ordering::Relaxed);
    victim.shed.notify_one();
    inner.live -= 1;
    true
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut inner = self.conns.lock();
        if inner.open.remove(&self.id).is_some() && !self.conn.shedding.load(Ordering::Relaxed) {
            inner.live -= 1;
        }
    }
}

impl Admitted {
    /// Marks a request as begun; the connection is busy until the
    /// returned guard drops.
    pub fn request(&self) -> InFlight {
        self.conn.in_flight.fetch_add(1, Ordering::Relaxed);
        self.touch();
        InFlight {
            conns: Arc::clone(&self.conns),
            conn: Arc::clone(&self.conn),
        }
    }

    fn touch(&self) {
        self.conn
            .last_active_ms
            .store(self.conns.now_ms(), Ordering::Relaxed);
    }
}

/// A request being answered.
pub struct InFlight {
    conns: Arc<Conns>,
    conn: Arc<Conn>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn
            .last_active_ms
            .store(self.conns.now_ms(), Ordering::Relaxed);
        self.conn.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_least_recently_active_idle_connection_goes() {
        let conns = Conns::new(2);
        let a = conns.admit().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = conns.admit().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        // `a` answers a request: now the most recently active.
        drop(a.request());
        let c = conns.admit().unwrap();
        assert!(
            b.conn.shedding.load(Ordering::Relaxed),
            "b was idle longest"
        );
        assert!(!a.conn.shedding.load(Ordering::Relaxed));
        assert_eq!(conns.open(), 3, "b stays open until its task closes it");
        drop(b);
        assert_eq!(conns.open(), 2);
        // Both busy: a new connection is refused, nobody is shed.
        let _ra = a.request();
        let _rc = c.request();
        assert!(conns.admit().is_none());
        assert!(!a.conn.shedding.load(Ordering::Relaxed));
        assert!(!c.conn.shedding.load(Ordering::Relaxed));
    }
}
