//! What one Unix user may cost the daemon (issue 15): the number of connections per uid, and
//! how often a refusal of that uid is logged (once per minute per uid and kind, with the
//! count of the ones left out), so a flood of refused requests cannot flood the journal.
//! The limits themselves are documented in `docs/PROTOCOL.md` ("Limits").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A refusal of one kind is logged at most this often per uid.
pub const LOG_EVERY: Duration = Duration::from_secs(60);
/// Uids remembered by the throttle; past this, the oldest windows are forgotten.
const REMEMBERED: usize = 4096;

/// Per (uid, kind): when the current window started, and how many were left out since.
type Windows = HashMap<(u32, &'static str), (Instant, u64)>;

/// Decides which refusals are logged.
#[derive(Default)]
pub struct Throttle {
    slots: Mutex<Windows>,
}

impl Throttle {
    /// `Some(n)` when a refusal of `kind` for `uid` should be logged now, `n` being how many
    /// were left out of the log since the last logged one; `None`: count it, do not log.
    pub fn allow(&self, uid: u32, kind: &'static str) -> Option<u64> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if slots.len() >= REMEMBERED {
            slots.retain(|_, (since, _)| now.duration_since(*since) < LOG_EVERY);
        }
        match slots.get_mut(&(uid, kind)) {
            Some((since, skipped)) if now.duration_since(*since) < LOG_EVERY => {
                *skipped += 1;
                None
            }
            Some(slot) => {
                let skipped = slot.1;
                *slot = (now, 0);
                Some(skipped)
            }
            None => {
                slots.insert((uid, kind), (now, 0));
                Some(0)
            }
        }
    }
}

/// The process's refusal throttle.
pub fn refusals() -> &'static Throttle {
    static T: std::sync::OnceLock<Throttle> = std::sync::OnceLock::new();
    T.get_or_init(Throttle::default)
}

/// Open connections per uid, with a cap.
#[derive(Default)]
pub struct PerUser {
    open: Mutex<HashMap<u32, usize>>,
}

/// One connection counted against its uid; uncounted on drop.
pub struct Slot {
    users: Arc<PerUser>,
    uid: u32,
}

impl PerUser {
    /// Counts a connection of `uid`, or `None` when it already has `cap` open.
    pub fn take(self: &Arc<Self>, uid: u32, cap: usize) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(uid).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Slot {
            users: self.clone(),
            uid,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.users.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.uid) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_window_with_a_count() {
        let t = Throttle::default();
        assert_eq!(t.allow(7, "x"), Some(0));
        assert_eq!(t.allow(7, "x"), None);
        assert_eq!(t.allow(7, "x"), None);
        assert_eq!(t.allow(8, "x"), Some(0));
        assert_eq!(t.allow(7, "y"), Some(0));
        // An expired window logs again, with the count of the ones left out.
        t.slots.lock().unwrap().get_mut(&(7, "x")).unwrap().0 -= LOG_EVERY;
        assert_eq!(t.allow(7, "x"), Some(2));
    }

    #[test]
    fn a_cap_per_uid() {
        let users = Arc::new(PerUser::default());
        let a = users.take(5, 2).unwrap();
        let _b = users.take(5, 2).unwrap();
        assert!(users.take(5, 2).is_none());
        assert!(users.take(6, 2).is_some());
        drop(a);
        assert!(users.take(5, 2).is_some());
    }
}
