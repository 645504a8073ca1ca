//! At-least-once bookkeeping of records sent and not yet acknowledged: a
//! slab whose index rides as the sink's delivery token, so a report finds
//! its source position, its offset-tracker ticket, its size and timestamp
//! without a map lookup or an allocation per record.

use kbridge_source::Ticket;

/// What a sent record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An output of the transforms.
    Output,
    /// A dead-letter record (stage label of the failure).
    DeadLetter(&'static str),
}

/// One record in flight.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sent {
    pub(crate) ticket: Ticket,
    /// Partition slot and offset of the source record.
    pub(crate) part: u32,
    pub(crate) offset: i64,
    /// Output topic index.
    pub(crate) topic: u32,
    pub(crate) bytes: u32,
    /// Source record timestamp (end-to-end latency).
    pub(crate) timestamp: Option<i64>,
    pub(crate) kind: Kind,
}

/// The slab.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    slots: Vec<Option<Sent>>,
    free: Vec<u32>,
    len: usize,
    bytes: u64,
}

impl InFlight {
    /// Stores `s` and returns its token.
    #[inline]
    pub(crate) fn insert(&mut self, s: Sent) -> u64 {
        self.len += 1;
        self.bytes += u64::from(s.bytes);
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(s);
                u64::from(i)
            }
            None => {
                self.slots.push(Some(s));
                (self.slots.len() - 1) as u64
            }
        }
    }

    /// Takes the record of a delivery report; `None` for an unknown token.
    #[inline]
    pub(crate) fn remove(&mut self, token: u64) -> Option<Sent> {
        let i = usize::try_from(token).ok()?;
        let s = self.slots.get_mut(i)?.take()?;
        self.free.push(i as u32);
        self.len -= 1;
        self.bytes -= u64::from(s.bytes);
        Some(s)
    }

    /// Records in flight.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Key + value bytes in flight.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(offset: i64, bytes: u32) -> Sent {
        Sent {
            ticket: Ticket::from_raw(offset as u64),
            part: 0,
            offset,
            topic: 0,
            bytes,
            timestamp: None,
            kind: Kind::Output,
        }
    }

    #[test]
    fn tokens_find_their_record_once_and_slots_are_reused() {
        let mut f = InFlight::default();
        let a = f.insert(sent(10, 100));
        let b = f.insert(sent(11, 50));
        assert_eq!((f.len(), f.bytes()), (2, 150));
        assert_eq!(f.remove(a).map(|s| s.offset), Some(10));
        assert!(f.remove(a).is_none(), "a token is served once");
        assert!(f.remove(99).is_none());
        let c = f.insert(sent(12, 1));
        assert_eq!(c, a, "the freed slot is reused");
        assert_eq!(f.remove(b).map(|s| s.offset), Some(11));
        assert_eq!((f.len(), f.bytes()), (1, 1));
    }
}
