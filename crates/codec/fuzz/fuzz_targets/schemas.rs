// Schemas the fuzz targets decode with (shared by `include!`).

pub const HEALTH: &str = include_str!("../../tests/data/health.avsc");
pub const HEALTH_OUT: &str = include_str!("../../tests/data/health_out.avsc");

pub const ALL_TYPES: &str = r#"{"type":"record","name":"All","fields":[
 {"name":"n","type":"null"},{"name":"b","type":"boolean"},{"name":"i","type":"int"},
 {"name":"l","type":"long"},{"name":"f","type":"float"},{"name":"d","type":"double"},
 {"name":"by","type":"bytes"},{"name":"s","type":"string"},
 {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"],"default":"A"}},
 {"name":"fx","type":{"type":"fixed","name":"F4","size":4}},
 {"name":"arr","type":{"type":"array","items":["null","long","string"]}},
 {"name":"nulls","type":{"type":"array","items":"null"}},
 {"name":"m","type":{"type":"map","values":{"type":"array","items":"int"}}},
 {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":20,"scale":4}},
 {"name":"decf","type":{"type":"fixed","name":"D8","size":8,"logicalType":"decimal","precision":18,"scale":2}},
 {"name":"uid","type":{"type":"string","logicalType":"uuid"}},
 {"name":"day","type":{"type":"int","logicalType":"date"}},
 {"name":"tm","type":{"type":"int","logicalType":"time-millis"}},
 {"name":"ts","type":{"type":"long","logicalType":"timestamp-nanos"}},
 {"name":"dur","type":{"type":"fixed","name":"Dur","size":12,"logicalType":"duration"}}]}"#;

pub const LIST: &str = r#"{"type":"record","name":"Node","fields":[
 {"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}"#;

/// Health v2: a removed field (`note`), a new one with a default, a
/// promoted one (`confidence` float → double), an enum with a default.
pub const HEALTH_V2: &str = r#"{"type":"record","name":"HealthEvent","namespace":"bench.health","fields":[
 {"name":"event_id","type":"string"},{"name":"user","type":"string","aliases":["user_id"]},
 {"name":"metric","type":{"type":"enum","name":"MetricType","symbols":["HEART_RATE","SPO2","OTHER"],"default":"OTHER"}},
 {"name":"value","type":"double"},{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"confidence","type":["null","double"],"default":null},
 {"name":"tags","type":{"type":"map","values":"string"}},
 {"name":"region","type":"string","default":"eu"},
 {"name":"device","type":{"type":"record","name":"DeviceInfo","fields":[
   {"name":"device_id","type":"string"},{"name":"battery_pct","type":["null","long"],"default":null}]}}]}"#;
