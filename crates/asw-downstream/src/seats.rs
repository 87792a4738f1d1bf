//! The global connection limit ("seats"), with eviction of connections that have not shown
//! they are terminals.
//!
//! A plain semaphore let anyone who could open `max_connections` sockets lock every terminal
//! out for the idle timeout. Here a connection is *new* until it completes a valid exchange
//! (see [`Standing::establish`]) and *established* after. When every seat is taken, a newcomer
//! takes the seat of the oldest new connection that has no request with the core; only when
//! there is none is it refused. Established connections are never evicted: a flood can cost a
//! stranger its seat, never a terminal that signed on or transacted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio_util::sync::CancellationToken;

use crate::handler::ConnectionId;
use crate::metrics;

/// The seats of one listener.
#[derive(Debug)]
pub(crate) struct Seats {
    max: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Seats taken (evicted connections give theirs up at once, before their task ends).
    taken: usize,
    /// The new connections, oldest first (ids grow with accept order).
    new: BTreeMap<ConnectionId, Arc<Standing>>,
}

/// What the listener knows of one seated connection, shared with its reader, writer and
/// responders.
#[derive(Debug)]
pub(crate) struct Standing {
    id: ConnectionId,
    seats: Weak<Seats>,
    established: AtomicBool,
    /// Requests handed to the handler and not finished: such a connection is not evicted,
    /// since its answer could then never be delivered.
    in_core: AtomicUsize,
    /// Set (under the seats' lock) when the seat was given to a newcomer.
    evicted: AtomicBool,
    /// Cancelled on eviction: the connection's task closes the socket.
    evict: CancellationToken,
}

/// One taken seat; dropping it frees the seat (unless it was already given away).
#[derive(Debug)]
pub(crate) struct Seat {
    seats: Arc<Seats>,
    standing: Arc<Standing>,
}

/// A request with the core; dropping it (with the responder) ends it.
#[derive(Debug)]
pub(crate) struct InCore(Arc<Standing>);

impl Seats {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(Seats {
            max,
            inner: Mutex::new(Inner::default()),
        })
    }

    /// A seat for connection `id`: a free one, or the seat of the oldest new connection
    /// without a request at the core (which is told to close). `None` when every seat is
    /// held by established or busy connections.
    pub(crate) fn take(self: &Arc<Self>, id: ConnectionId) -> Option<Seat> {
        let mut inner = self.inner.lock().ok()?;
        if inner.taken >= self.max {
            let victim = inner
                .new
                .iter()
                .find(|(_, s)| s.in_core.load(Ordering::Acquire) == 0)
                .map(|(id, _)| *id)?;
            let standing = inner.new.remove(&victim)?;
            metrics::new_connections(-1.0);
            standing.evicted.store(true, Ordering::Release);
            standing.evict.cancel();
            metrics::shed(metrics::ShedReason::Evicted);
            // Debug, not info: under a flood this happens for every connection, and the
            // counter is what an operator watches.
            tracing::debug!(evicted = %victim, newcomer = %id,
                "connection limit reached: the oldest connection without a valid exchange was closed");
            // Its seat passes to the newcomer: `taken` is unchanged.
        } else {
            inner.taken += 1;
        }
        let standing = Arc::new(Standing {
            id,
            seats: Arc::downgrade(self),
            established: AtomicBool::new(false),
            in_core: AtomicUsize::new(0),
            evicted: AtomicBool::new(false),
            evict: CancellationToken::new(),
        });
        inner.new.insert(id, Arc::clone(&standing));
        metrics::new_connections(1.0);
        Some(Seat {
            seats: Arc::clone(self),
            standing,
        })
    }

    #[cfg(test)]
    fn taken(&self) -> usize {
        self.inner.lock().map(|i| i.taken).unwrap_or(usize::MAX)
    }
}

impl Seat {
    /// The connection's standing, to share with its tasks.
    pub(crate) fn standing(&self) -> &Arc<Standing> {
        &self.standing
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let Ok(mut inner) = self.seats.inner.lock() else {
            return;
        };
        if inner.new.remove(&self.standing.id).is_some() {
            metrics::new_connections(-1.0);
        }
        if !self.standing.evicted.load(Ordering::Acquire) {
            inner.taken = inner.taken.saturating_sub(1);
        }
    }
}

impl Standing {
    /// Records that the connection completed a valid exchange: an answer to a well-formed
    /// request the identity policy admitted was written and flushed. From now on it is never
    /// evicted and the first-message timeout no longer applies.
    pub(crate) fn establish(&self) {
        if self.established.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(seats) = self.seats.upgrade()
            && let Ok(mut inner) = seats.inner.lock()
            && inner.new.remove(&self.id).is_some()
        {
            metrics::new_connections(-1.0);
        }
    }

    /// Whether [`Standing::establish`] was called.
    pub(crate) fn is_established(&self) -> bool {
        self.established.load(Ordering::Acquire)
    }

    /// Resolves when the connection's seat was given to a newcomer.
    pub(crate) async fn evicted(&self) {
        self.evict.cancelled().await;
    }

    /// Marks a request as handed to the core until the returned guard is dropped.
    pub(crate) fn in_core(self: &Arc<Self>) -> InCore {
        self.in_core.fetch_add(1, Ordering::AcqRel);
        InCore(Arc::clone(self))
    }
}

impl Drop for InCore {
    fn drop(&mut self) {
        self.0.in_core.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> ConnectionId {
        ConnectionId(n)
    }

    #[test]
    fn the_oldest_new_connection_gives_its_seat_to_a_newcomer() {
        let seats = Seats::new(2);
        let a = seats.take(id(1)).unwrap();
        let b = seats.take(id(2)).unwrap();
        let c = seats.take(id(3)).unwrap();
        assert!(a.standing().evict.is_cancelled());
        assert!(!b.standing().evict.is_cancelled());
        assert_eq!(seats.taken(), 2);
        drop(a); // the evicted connection's task ends: no seat is freed twice
        assert_eq!(seats.taken(), 2);
        drop((b, c));
        assert_eq!(seats.taken(), 0);
    }

    #[test]
    fn established_and_busy_connections_are_not_evicted() {
        let seats = Seats::new(2);
        let a = seats.take(id(1)).unwrap();
        let b = seats.take(id(2)).unwrap();
        a.standing().establish();
        let busy = b.standing().in_core();
        assert!(seats.take(id(3)).is_none(), "nothing may be evicted");
        drop(busy);
        let c = seats.take(id(4)).unwrap();
        assert!(b.standing().evict.is_cancelled());
        assert!(!a.standing().evict.is_cancelled());
        drop((a, b, c));
        assert_eq!(seats.taken(), 0);
    }

    #[test]
    fn a_refused_newcomer_takes_nothing() {
        let seats = Seats::new(1);
        let a = seats.take(id(1)).unwrap();
        a.standing().establish();
        assert!(seats.take(id(2)).is_none());
        drop(a);
        assert!(seats.take(id(3)).is_some());
    }
}
