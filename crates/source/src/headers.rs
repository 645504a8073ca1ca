//! Reading record headers without panicking on untrusted bytes.
//!
//! rdkafka 0.39's `Headers::try_get` turns a header name into `&str` with
//! `unwrap()`, so a record whose header name is not UTF-8 would panic the
//! pipeline. Header names and values come from whoever produced the input
//! topic, so this module reads them through librdkafka's C API and hands
//! the name out as bytes (and lossily as text).
#![allow(unsafe_code)]

use std::borrow::Cow;
use std::ffi::{CStr, c_char, c_void};
use std::marker::PhantomData;
use std::ptr;

use rdkafka::bindings as rd;
use rdkafka::message::BorrowedMessage;
use rdkafka::types::RDKafkaRespErr;

/// One header of a consumed record, borrowed from the consumer's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader<'a> {
    /// The header name as sent (Kafka producers send UTF-8, but nothing enforces it).
    pub key: &'a [u8],
    /// The value; `None` for a null header value.
    pub value: Option<&'a [u8]>,
}

impl<'a> RecordHeader<'a> {
    /// The name as text; invalid UTF-8 is replaced by U+FFFD (copied only then).
    pub fn key_str(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.key)
    }
}

/// Iterator over the headers of a consumed record. Cloning it is cheap
/// (a pointer and a count): keep one per record and clone it to read the
/// headers again.
#[derive(Clone, Debug)]
pub struct RecordHeaders<'a> {
    hdrs: *const rd::rd_kafka_headers_t,
    count: usize,
    next: usize,
    _msg: PhantomData<&'a BorrowedMessage<'a>>,
}

impl<'a> RecordHeaders<'a> {
    pub(crate) fn of(msg: &'a BorrowedMessage<'_>) -> RecordHeaders<'a> {
        let mut hdrs: *mut rd::rd_kafka_headers_t = ptr::null_mut();
        // SAFETY: `msg.ptr()` is the live rd_kafka_message_t that `msg` owns
        // (it outlives `'a`); rd_kafka_message_headers only writes `hdrs`,
        // which stays owned by the message.
        let err = unsafe { rd::rd_kafka_message_headers(msg.ptr(), &mut hdrs) };
        let count = if err == RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR && !hdrs.is_null() {
            // SAFETY: `hdrs` is non-null and owned by the live message.
            unsafe { rd::rd_kafka_header_cnt(hdrs) }
        } else {
            0
        };
        RecordHeaders {
            hdrs,
            count,
            next: 0,
            _msg: PhantomData,
        }
    }

    /// Number of headers (including those already iterated).
    pub fn count(&self) -> usize {
        self.count
    }
}

impl<'a> Iterator for RecordHeaders<'a> {
    type Item = RecordHeader<'a>;

    fn next(&mut self) -> Option<RecordHeader<'a>> {
        if self.next >= self.count || self.hdrs.is_null() {
            return None;
        }
        let idx = self.next;
        self.next += 1;
        let mut name: *const c_char = ptr::null();
        let mut value: *const c_void = ptr::null();
        let mut size: usize = 0;
        // SAFETY: `hdrs` belongs to the message borrowed for `'a`; idx < count.
        let err = unsafe {
            rd::rd_kafka_header_get_all(self.hdrs, idx, &mut name, &mut value, &mut size)
        };
        if err != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR || name.is_null() {
            return None;
        }
        // SAFETY: librdkafka stores header names NUL-terminated and the value
        // as `size` bytes; both live as long as the message (`'a`).
        let key: &'a [u8] = unsafe { CStr::from_ptr(name) }.to_bytes();
        let value: Option<&'a [u8]> = if value.is_null() {
            None
        } else if size == 0 {
            Some(&[])
        } else {
            // SAFETY: see above; `value` is non-null and points at `size` bytes.
            Some(unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) })
        };
        Some(RecordHeader { key, value })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.count.saturating_sub(self.next);
        (0, Some(left))
    }
}
