//! IncrementalAlterConfigs (KIP-339) through librdkafka's C API.
//!
//! rdkafka 0.39 wraps only the legacy AlterConfigs request, which replaces
//! a topic's whole config set, is deprecated by KIP-339 and is not answered
//! by tansu. librdkafka has the incremental request; this module calls it
//! on the admin client's handle, with a private result queue.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char};
use std::ptr;
use std::time::{Duration, Instant};

use rdkafka::admin::AdminClient;
use rdkafka::bindings as rd;
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaRespErr;

/// One change to a topic config.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op<'a> {
    Set(&'a str, &'a str),
    Delete(&'a str),
}

fn cstring(s: &str, what: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("{what} {s:?} contains a NUL byte"))
}

/// librdkafka's text, or `fallback` for a null pointer.
///
/// # Safety
/// `p` is null or a NUL-terminated string that lives for this call.
unsafe fn text(p: *const c_char, fallback: &str) -> String {
    if p.is_null() {
        fallback.to_owned()
    } else {
        // SAFETY: non-null and NUL-terminated per the caller's contract.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// Owns the C objects of one request and frees them in every case.
struct Request {
    resource: *mut rd::rd_kafka_ConfigResource_t,
    options: *mut rd::rd_kafka_AdminOptions_t,
    queue: *mut rd::rd_kafka_queue_t,
    event: *mut rd::rd_kafka_event_t,
}

impl Drop for Request {
    fn drop(&mut self) {
        // SAFETY: each pointer is null or was created by librdkafka for this
        // request and is destroyed exactly once, here.
        unsafe {
            if !self.event.is_null() {
                rd::rd_kafka_event_destroy(self.event);
            }
            if !self.queue.is_null() {
                rd::rd_kafka_queue_destroy(self.queue);
            }
            if !self.options.is_null() {
                rd::rd_kafka_AdminOptions_destroy(self.options);
            }
            if !self.resource.is_null() {
                rd::rd_kafka_ConfigResource_destroy(self.resource);
            }
        }
    }
}

/// Applies `ops` to `topic` with one IncrementalAlterConfigs request;
/// `Err` carries the broker's or librdkafka's reason. Blocks the calling
/// thread until the answer or `timeout`.
pub(crate) fn alter_topic(
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
    ops: &[Op<'_>],
    timeout: Duration,
) -> Result<(), String> {
    let name = cstring(topic, "topic")?;
    let rk = admin.inner().native_ptr();
    let mut req = Request {
        resource: ptr::null_mut(),
        options: ptr::null_mut(),
        queue: ptr::null_mut(),
        event: ptr::null_mut(),
    };
    // SAFETY: `name` is a valid C string for the call; librdkafka copies it.
    req.resource = unsafe {
        rd::rd_kafka_ConfigResource_new(
            rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
            name.as_ptr(),
        )
    };
    if req.resource.is_null() {
        return Err("librdkafka could not create the config resource".into());
    }
    for op in ops {
        let (key, kind, value) = match *op {
            Op::Set(k, v) => (
                k,
                rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET,
                Some(cstring(v, "config value")?),
            ),
            Op::Delete(k) => (
                k,
                rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE,
                None,
            ),
        };
        let key = cstring(key, "config name")?;
        // SAFETY: the resource is live; the strings are valid for the call
        // and copied by librdkafka.
        let err = unsafe {
            rd::rd_kafka_ConfigResource_add_incremental_config(
                req.resource,
                key.as_ptr(),
                kind,
                value.as_ref().map_or(ptr::null(), |v| v.as_ptr()),
            )
        };
        if !err.is_null() {
            // SAFETY: `err` is a live rd_kafka_error_t we own; freed once.
            let reason = unsafe {
                let r = text(rd::rd_kafka_error_string(err), "invalid config change");
                rd::rd_kafka_error_destroy(err);
                r
            };
            return Err(reason);
        }
    }
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let mut errstr = [0 as c_char; 512];
    // SAFETY: `rk` is the admin client's live handle (borrowed for the call);
    // `errstr` is a writable buffer of the given size.
    unsafe {
        req.options = rd::rd_kafka_AdminOptions_new(
            rk,
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
        );
        if !req.options.is_null() {
            rd::rd_kafka_AdminOptions_set_request_timeout(
                req.options,
                ms,
                errstr.as_mut_ptr(),
                errstr.len(),
            );
        }
        req.queue = rd::rd_kafka_queue_new(rk);
    }
    if req.options.is_null() || req.queue.is_null() {
        return Err("librdkafka could not set up the request".into());
    }
    let mut resources = [req.resource];
    // SAFETY: the resource array, options and queue are live; librdkafka
    // copies the resources and answers on `queue`.
    unsafe {
        rd::rd_kafka_IncrementalAlterConfigs(
            rk,
            resources.as_mut_ptr(),
            resources.len(),
            req.options,
            req.queue,
        );
    }
    let deadline = Instant::now() + timeout + Duration::from_secs(1);
    while req.event.is_null() {
        if Instant::now() > deadline {
            return Err(format!("no answer within {timeout:?}"));
        }
        // SAFETY: the queue is live.
        req.event = unsafe { rd::rd_kafka_queue_poll(req.queue, 100) };
    }
    // SAFETY: `event` is the live result event; the strings and result
    // objects it hands out live as long as it does (until `req` drops).
    unsafe {
        let err = rd::rd_kafka_event_error(req.event);
        if err != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(text(
                rd::rd_kafka_event_error_string(req.event),
                "request failed",
            ));
        }
        let result = rd::rd_kafka_event_IncrementalAlterConfigs_result(req.event);
        if result.is_null() {
            return Err("unexpected answer from librdkafka".into());
        }
        let mut n = 0usize;
        let answered = rd::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut n);
        if answered.is_null() || n == 0 {
            return Err("the broker returned no result".into());
        }
        for i in 0..n {
            let r = *answered.add(i);
            if rd::rd_kafka_ConfigResource_error(r) != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
                return Err(text(
                    rd::rd_kafka_ConfigResource_error_string(r),
                    "the broker refused the change",
                ));
            }
        }
    }
    Ok(())
}
