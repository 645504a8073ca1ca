//! Helpers the mock-cluster tests share.
#![allow(dead_code)] // each test file uses a part

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kbridge_pipeline::{Pipeline, PipelineError, Summary};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::{ClientConfig, TopicPartitionList};

pub type Mock = MockCluster<'static, DefaultProducerContext>;

/// Runs the pipeline on its own thread until it ends; fails the test if it
/// takes longer than `limit`.
pub fn run_to_end(p: Pipeline, limit: Duration) -> Result<Summary, PipelineError> {
    let stop = p.shutdown_handle();
    let handle = p.spawn().unwrap();
    let deadline = Instant::now() + limit;
    while !handle.is_finished() {
        assert!(Instant::now() < deadline, "pipeline did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stop);
    handle.join().expect("pipeline thread")
}

/// Offsets `group` committed for partitions `0..partitions` of `topic`.
pub fn committed(mock: &Mock, group: &str, topic: &str, partitions: i32) -> BTreeMap<i32, i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .set("group.id", group)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    c.committed_offsets(tpl, Duration::from_secs(10))
        .unwrap()
        .elements()
        .iter()
        .filter_map(|e| e.offset().to_raw().map(|o| (e.partition(), o)))
        .collect()
}
