//! The benchmark data: health-telemetry records in the Confluent wire
//! format, kept in the baselines' frames file format (repeated
//! `[u32 BE key length][key][u32 BE value length][value]`, written by
//! `gen.py --dump`), and the few fields the auditor reads back.

use anyhow::{Context, Result, bail};
use std::ops::Range;
use std::path::Path;

/// A frames file in memory.
#[derive(Debug)]
pub struct Frames {
    data: Vec<u8>,
    records: Vec<(Range<usize>, Range<usize>)>,
}

impl Frames {
    pub fn read(path: &Path) -> Result<Frames> {
        let data = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
        Frames::parse(data).with_context(|| format!("{} is not a frames file", path.display()))
    }

    pub fn parse(data: Vec<u8>) -> Result<Frames> {
        let mut records = Vec::new();
        let mut at = 0;
        let field = |at: &mut usize| -> Result<Range<usize>> {
            let len = data
                .get(*at..*at + 4)
                .context("truncated length")?
                .try_into()
                .map(u32::from_be_bytes)?;
            let start = *at + 4;
            let end = start + len as usize;
            if end > data.len() {
                bail!("a frame at byte {at} runs past the end");
            }
            *at = end;
            Ok(start..end)
        };
        while at < data.len() {
            let k = field(&mut at)?;
            let v = field(&mut at)?;
            records.push((k, v));
        }
        Ok(Frames { data, records })
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Key and value of record `i`.
    pub fn get(&self, i: usize) -> (&[u8], &[u8]) {
        let (k, v) = &self.records[i];
        (&self.data[k.clone()], &self.data[v.clone()])
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Key + value bytes of all records.
    pub fn bytes(&self) -> u64 {
        self.records
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum()
    }
}

/// The leading fields of a health event (`health.avsc`, and every output
/// schema of the bench's transforms, which keep the first eight fields in
/// place): enough to audit records by `seq`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head<'a> {
    /// Schema id of the Confluent header.
    pub schema_id: u32,
    pub value: f64,
    pub unit: &'a [u8],
    pub seq: i64,
}

/// Reads the Confluent header and the fields up to `seq`: event_id,
/// user_id, session_id (strings), metric (enum), value (double), unit
/// (string), ts (long), seq (long). `None` when the bytes are not such a
/// record.
pub fn head(framed: &[u8]) -> Option<Head<'_>> {
    if framed.first() != Some(&0) {
        return None;
    }
    let schema_id = u32::from_be_bytes(framed.get(1..5)?.try_into().ok()?);
    let mut r = Reader {
        buf: framed.get(5..)?,
    };
    for _ in 0..3 {
        r.string()?;
    }
    r.long()?;
    let value = f64::from_le_bytes(r.take(8)?.try_into().ok()?);
    let unit = r.string()?;
    r.long()?;
    let seq = r.long()?;
    Some(Head {
        schema_id,
        value,
        unit,
        seq,
    })
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.buf.get(..n)?, self.buf.get(n..)?);
        self.buf = b;
        Some(a)
    }

    /// Avro long: zig-zag varint.
    fn long(&mut self) -> Option<i64> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self.take(1)?.first()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some((n >> 1) as i64 ^ -((n & 1) as i64));
            }
        }
        None
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.long()?).ok()?;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(out: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        loop {
            let b = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn string(out: &mut Vec<u8>, s: &str) {
        long(out, s.len() as i64);
        out.extend_from_slice(s.as_bytes());
    }

    fn event(seq: i64, value: f64, unit: &str) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0, 7];
        string(&mut v, "3f1e-uuid");
        string(&mut v, "user-000042");
        string(&mut v, "sess-000042-00001");
        long(&mut v, 4);
        v.extend_from_slice(&value.to_le_bytes());
        string(&mut v, unit);
        long(&mut v, 1_767_225_600_000);
        long(&mut v, seq);
        string(&mut v, "wearable"); // the rest is not read
        v
    }

    #[test]
    fn head_reads_the_fields_up_to_seq() {
        let e = event(123_456_789, -1.0, "bpm");
        let h = head(&e).unwrap();
        assert_eq!(
            h,
            Head {
                schema_id: 7,
                value: -1.0,
                unit: b"bpm",
                seq: 123_456_789
            }
        );
        assert_eq!(head(&event(0, 36.6, "celsius")).unwrap().seq, 0);
    }

    #[test]
    fn head_rejects_what_is_not_a_framed_event() {
        let e = event(5, 1.0, "kg");
        assert_eq!(head(&e[..e.len() - 10]), None, "truncated inside seq");
        assert_eq!(head(b"\x7fjunk"), None);
        assert_eq!(head(&[0, 0, 0]), None);
        assert_eq!(head(&[0, 0, 0, 0, 1, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn frames_round_trip_and_reject_truncation() {
        let mut data = Vec::new();
        for (k, v) in [(&b"user-1"[..], &b"abc"[..]), (b"", b"xyz12")] {
            data.extend_from_slice(&(k.len() as u32).to_be_bytes());
            data.extend_from_slice(k);
            data.extend_from_slice(&(v.len() as u32).to_be_bytes());
            data.extend_from_slice(v);
        }
        let f = Frames::parse(data.clone()).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f.get(0), (&b"user-1"[..], &b"abc"[..]));
        assert_eq!(f.get(1), (&b""[..], &b"xyz12"[..]));
        assert_eq!(f.bytes(), 6 + 3 + 5);
        data.pop();
        assert!(Frames::parse(data).is_err());
    }
}
