//! Raw topic-to-topic copy with `KafkaSource` and `KafkaSink`: the loop a
//! pipeline runs, without decoding. Prints records/s.
//!
//! ```text
//! cargo run --release -p kbridge-sink --example copy -- <bootstrap> produce <topic> <n>
//! cargo run --release -p kbridge-sink --example copy -- <bootstrap> alo <in> <out> <n> [commit-every]
//! cargo run --release -p kbridge-sink --example copy -- <bootstrap> eos <in> <out> <n> [records-per-txn]
//! ```
//! `n` is the number of records to copy (counted, not taken from watermarks).

use std::time::{Duration, Instant};

use kbridge_sink::{Delivery, KafkaSink, OutRecord};
use kbridge_source::{CommitMode, KafkaSource, OffsetTracker, SourceEvent, StartOffsets, Ticket};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| {
        args.get(i)
            .cloned()
            .ok_or("missing argument (see the example's docs)")
    };
    let bootstrap = arg(0)?;
    match arg(1)?.as_str() {
        "produce" => produce(&bootstrap, &arg(2)?, arg(3)?.parse()?),
        "alo" => alo(
            &bootstrap,
            &arg(2)?,
            &arg(3)?,
            arg(4)?.parse()?,
            args.get(5).map_or(Ok(10_000), |s| s.parse())?,
        ),
        "eos" => eos(
            &bootstrap,
            &arg(2)?,
            &arg(3)?,
            arg(4)?.parse()?,
            args.get(5).map_or(Ok(10_000), |s| s.parse())?,
        ),
        other => Err(format!("unknown mode {other}").into()),
    }
}

fn produce(bootstrap: &str, topic: &str, n: u64) -> Res<()> {
    let sink = KafkaSink::builder()
        .bootstrap_servers(bootstrap)
        .topic(topic)
        .build()?;
    let value = vec![b'x'; 189];
    let t = Instant::now();
    let mut reports = Vec::new();
    for i in 0..n {
        let key = format!("user-{:06}", i % 100_000);
        sink.send(OutRecord::new().key(key.as_bytes()).value(&value), i)?;
        if i % 1024 == 0 {
            sink.poll_deliveries(Duration::ZERO, &mut reports);
            reports.clear();
        }
    }
    sink.flush(Duration::from_secs(120))?;
    let (ok, failed) = sink.delivery_counts();
    println!(
        "produced {ok} ({failed} failed) in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn source(bootstrap: &str, input: &str, group: &str) -> Res<KafkaSource> {
    Ok(KafkaSource::builder()
        .bootstrap_servers(bootstrap)
        .group_id(group)
        .topic(input)
        .start_offsets(StartOffsets::Earliest)
        .options([
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "1000"),
            ("max.poll.interval.ms", "10000"),
        ])
        .build()?)
}

fn report(n: u64, started: Option<Instant>) {
    if let Some(t) = started {
        let secs = t.elapsed().as_secs_f64();
        println!(
            "copied {n} records in {secs:.2}s: {:.0} records/s",
            n as f64 / secs
        );
    }
}

/// Completes the tickets of delivered records; a failed delivery stops the copy.
fn serve(tracker: &mut OffsetTracker, reports: &mut Vec<Delivery>) -> Res<()> {
    for d in reports.drain(..) {
        if let Err(f) = d.outcome {
            return Err(f.error.into());
        }
        tracker.complete(Ticket::from_raw(d.token));
    }
    Ok(())
}

/// At-least-once: a ticket per record rides as the delivery token; offsets
/// are committed from the tracker, only up to delivered records.
fn alo(bootstrap: &str, input: &str, output: &str, n: u64, commit_every: u64) -> Res<()> {
    let group = format!("copy-alo-{output}");
    let src = source(bootstrap, input, &group)?;
    let sink = KafkaSink::builder()
        .bootstrap_servers(bootstrap)
        .topic(output)
        .build()?;
    let mut tracker = OffsetTracker::new();
    let mut reports = Vec::new();
    let (mut copied, mut since_commit) = (0u64, 0u64);
    let mut started = None;
    while copied < n {
        match src.poll(Duration::from_millis(100))? {
            Some(SourceEvent::Record(r)) => {
                started.get_or_insert_with(Instant::now);
                let t = tracker.track(r.topic(), r.partition(), r.offset());
                let mut out = OutRecord::new();
                if let Some(k) = r.key() {
                    out = out.key(k);
                }
                if let Some(v) = r.value() {
                    out = out.value(v);
                }
                sink.send(out, t.to_raw())?;
                copied += 1;
                since_commit += 1;
                if copied % 256 == 0 {
                    sink.poll_deliveries(Duration::ZERO, &mut reports);
                    serve(&mut tracker, &mut reports)?;
                }
            }
            Some(SourceEvent::Revoked(rv)) => {
                // Finish the in-flight work of the revoked partitions, commit
                // what is durable, forget them; the next poll releases them.
                sink.flush(Duration::from_secs(60))?;
                sink.take_deliveries(&mut reports);
                serve(&mut tracker, &mut reports)?;
                if !rv.lost {
                    src.commit(&tracker.committable_for(&rv.partitions), CommitMode::Sync)?;
                }
                tracker.release(&rv.partitions);
            }
            _ => {}
        }
        if since_commit >= commit_every
            && let Some(tpl) = tracker.take_committable()
        {
            src.commit(&tpl, CommitMode::Async)?;
            since_commit = 0;
        }
    }
    sink.flush(Duration::from_secs(120))?;
    sink.take_deliveries(&mut reports);
    serve(&mut tracker, &mut reports)?;
    if let Some(tpl) = tracker.take_committable() {
        src.commit(&tpl, CommitMode::Sync)?;
    }
    report(copied, started);
    Ok(())
}

/// Exactly-once: transactions of `per_txn` records with the consumed
/// offsets inside; abort + rewind on an abortable error.
fn eos(bootstrap: &str, input: &str, output: &str, n: u64, per_txn: u64) -> Res<()> {
    let group = format!("copy-eos-{output}");
    let src = source(bootstrap, input, &group)?;
    let sink = KafkaSink::builder()
        .bootstrap_servers(bootstrap)
        .topic(output)
        .exactly_once("copy", output)
        .build()?;
    let (mut committed, mut in_txn) = (0u64, 0u64);
    let mut open = false;
    let mut started = None;
    while committed < n {
        let ev = src.poll(Duration::from_millis(100))?;
        match &ev {
            Some(SourceEvent::Record(r)) => {
                started.get_or_insert_with(Instant::now);
                if !open {
                    sink.begin_transaction()?;
                    open = true;
                }
                let mut out = OutRecord::new();
                if let Some(k) = r.key() {
                    out = out.key(k);
                }
                if let Some(v) = r.value() {
                    out = out.value(v);
                }
                sink.send(out, 0)?;
                in_txn += 1;
                if in_txn % 1024 == 0 {
                    sink.poll_deliveries(Duration::ZERO, &mut Vec::new());
                }
            }
            Some(SourceEvent::Revoked(_)) if open => {
                // Commit (or abort) before the partitions are released.
                sink.commit_with_offsets(&src.pending_offsets(), &src.group_metadata()?)?;
                src.mark_committed();
                committed += in_txn;
                in_txn = 0;
                open = false;
            }
            _ => {}
        }
        if open && (in_txn >= per_txn || committed + in_txn >= n || ev.is_none()) {
            match sink.commit_with_offsets(&src.pending_offsets(), &src.group_metadata()?) {
                Ok(()) => {
                    src.mark_committed();
                    committed += in_txn;
                }
                Err(e) if e.is_abortable() => {
                    sink.abort_transaction()?;
                    src.rewind()?;
                }
                Err(e) => return Err(e.into()),
            }
            in_txn = 0;
            open = false;
        }
    }
    report(committed, started);
    Ok(())
}
