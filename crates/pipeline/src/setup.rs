//! [`crate::Pipeline::from_config`]: codecs, schemas, source and sink from
//! kbridge's configuration, with the output schema checked before anything
//! is consumed or any previous instance is fenced.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kbridge_admin::RegistryResolver;
use kbridge_codec::{
    AvroSchema, Codec, JsonStyle, ResolvedSchema, SchemaKind, SchemaResolver, Side, WireFormat,
};
use kbridge_config::{self as cfg, Config, Format, FormatConfig};
use kbridge_metrics::ReadinessCheck;
use kbridge_registry::{SubjectNameStrategy, VersionSelector};
use kbridge_sink::KafkaSinkBuilder;
use kbridge_source::KafkaSourceBuilder;

use crate::builder::{Pipeline, PipelineBuilder};
use crate::codecs::{DerivedEncoders, Encoders, SideCodec};
use crate::error::PipelineError;
use crate::options::{DeadLetter, Guarantee, Limits, OutputTopic, Tolerance, TransactionLimits};
use crate::resolver::{Metered, RegistryMeter};
use crate::transform::Transform;

/// The codec's wire format for a configured format.
pub(crate) fn wire(f: Format) -> WireFormat {
    match f {
        Format::AvroConfluent | Format::JsonSchemaConfluent => WireFormat::ConfluentId,
        Format::AvroConfluentGuid => WireFormat::ConfluentGuid,
        Format::AvroHeader => WireFormat::HeaderId,
        Format::AvroFixedSchema => WireFormat::AvroFixed,
        Format::AvroSingleObject => WireFormat::SingleObject,
        Format::Json => WireFormat::Json,
        Format::String => WireFormat::String,
        Format::Bytes => WireFormat::Bytes,
    }
}

fn strategy(s: cfg::SubjectNameStrategy) -> SubjectNameStrategy {
    match s {
        cfg::SubjectNameStrategy::Topic => SubjectNameStrategy::Topic,
        cfg::SubjectNameStrategy::Record => SubjectNameStrategy::Record,
        cfg::SubjectNameStrategy::TopicRecord => SubjectNameStrategy::TopicRecord,
    }
}

fn read_schema(path: &Path) -> Result<Arc<ResolvedSchema>, PipelineError> {
    let err = |reason: String| PipelineError::SchemaFile {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    ResolvedSchema::avro(&text)
        .map(Arc::new)
        .map_err(|e| err(e.to_string()))
}

fn compile(s: &Arc<ResolvedSchema>, what: &str) -> Result<AvroSchema, PipelineError> {
    AvroSchema::compile(Arc::clone(s)).map_err(|e| PipelineError::SchemaMismatch {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}

/// Whether a configuration reads or writes schemas through a schema
/// registry (then [`crate::PipelineBuilder::registry`] is needed).
pub fn needs_registry(config: &Config) -> bool {
    [&config.codec.key, &config.codec.value]
        .iter()
        .any(|c| c.format.uses_registry() || c.output().uses_registry() || c.version.is_some())
}

/// This host's name (`HOSTNAME`, else the kernel's), the default instance
/// of the transactional id and of the metrics' `service.instance.id`.
pub fn default_instance() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kbridge".to_owned())
}

/// Decoder and encoders of one side.
fn side(
    side: Side,
    fc: &FormatConfig,
    resolver: Option<&Arc<dyn SchemaResolver>>,
    registry: Option<&Arc<RegistryResolver>>,
    derive: bool,
) -> Result<SideCodec, PipelineError> {
    let label = match side {
        Side::Key => "key",
        Side::Value => "value",
    };
    let config_err = |m: String| PipelineError::configure(format!("codec.{label}: {m}"));
    let (read, write) = (wire(fc.format), wire(fc.output()));
    if (fc.format.uses_registry() || fc.output().uses_registry()) && resolver.is_none() {
        return Err(config_err(format!(
            "format {} needs a schema registry (schema_registry.url)",
            if fc.format.uses_registry() {
                fc.format
            } else {
                fc.output()
            }
        )));
    }
    let schema_file = fc.schema_file.as_deref().map(read_schema).transpose()?;
    let reader = fc
        .reader_schema_file
        .as_deref()
        .map(read_schema)
        .transpose()?;
    let mut dec = Codec::builder(side).read(read).write(WireFormat::Bytes);
    if let Some(r) = resolver {
        dec = dec.resolver(Arc::clone(r));
    }
    if let Some(r) = &reader {
        dec = dec.reader_schema(Arc::clone(r));
    }
    match (&schema_file, read) {
        (Some(s), WireFormat::AvroFixed) => dec = dec.fixed_schema(Arc::clone(s)),
        (Some(s), WireFormat::SingleObject) => dec = dec.known_schema(Arc::clone(s)),
        (None, WireFormat::AvroFixed) => {
            return Err(config_err(
                "format avro-fixed-schema needs schema_file".to_owned(),
            ));
        }
        _ => {}
    }
    let decoder = dec.build().map_err(|source| PipelineError::BuildCodec {
        side: label,
        source: Box::new(source),
    })?;
    let pinned = match (&fc.subject, fc.version) {
        (Some(subject), Some(version)) => {
            let reg = registry.ok_or_else(|| {
                config_err("a pinned subject version needs a schema registry".to_owned())
            })?;
            let selector = match version {
                cfg::SchemaVersion::Latest => VersionSelector::Latest,
                cfg::SchemaVersion::Number(n) => VersionSelector::Number(n),
            };
            let found = reg
                .block_on(reg.client().version(subject, selector, false))
                .map_err(|source| PipelineError::Registry {
                    what: format!(
                        "read version {version} of subject {subject:?} (codec.{label}.subject, codec.{label}.version)"
                    ),
                    source: Box::new(source),
                })?;
            let schema = reg.schema_by_id(found.id).map_err(|e| {
                config_err(format!(
                    "schema id {} of subject {subject:?}: {e}",
                    found.id
                ))
            })?;
            Some(schema)
        }
        (None, Some(_)) => {
            return Err(config_err(
                "version needs subject (the subject whose version to pin)".to_owned(),
            ));
        }
        // the input carries no schema: the schema file is the output's
        _ if !fc.format.is_avro() && fc.format != Format::JsonSchemaConfluent => {
            schema_file.clone()
        }
        _ => None,
    };
    if fc.output() == Format::JsonSchemaConfluent
        && !pinned
            .as_ref()
            .is_some_and(|p| matches!(p.kind(), SchemaKind::Json))
    {
        return Err(config_err(
            "output format json-schema-confluent needs a pinned JSON schema (subject and version)"
                .to_owned(),
        ));
    }
    let component: Cow<'static, str> = Cow::Owned(format!("kbridge.codec.{}", fc.format));
    Ok(SideCodec {
        side,
        decoder: Arc::new(decoder),
        encoders: Encoders::Derived(Box::new(DerivedEncoders {
            side,
            write,
            json_style: JsonStyle::Natural,
            resolver: resolver.cloned(),
            registry: registry.cloned(),
            strategy: strategy(fc.subject_name_strategy),
            subject: fc.subject.clone(),
            pinned,
            auto_register: fc.auto_register,
            derive,
            component: component.clone(),
        })),
        component,
    })
}

/// Checks, before anything is consumed, that the transforms' output
/// schema fits the output schema for every input schema known now (a
/// reader or fixed schema file, or the latest version of each source
/// topic's `<topic>-value` subject), and looks up or registers it under
/// its subject when the output topic is known.
fn check_schemas(
    config: &Config,
    value: &SideCodec,
    transforms: &[Box<dyn Transform>],
    registry: Option<&Arc<RegistryResolver>>,
    output: &OutputTopic,
) -> Result<(), PipelineError> {
    let Encoders::Derived(d) = &value.encoders else {
        return Ok(());
    };
    let fc = &config.codec.value;
    let mut inputs: Vec<(String, Option<&str>, Option<AvroSchema>)> = Vec::new();
    if let Some(path) = &fc.reader_schema_file {
        let s = read_schema(path)?;
        let what = format!("reader schema {}", path.display());
        inputs.push((what.clone(), None, Some(compile(&s, &what)?)));
    } else if fc.format == Format::AvroFixedSchema {
        if let Some(path) = &fc.schema_file {
            let s = read_schema(path)?;
            let what = format!("schema file {}", path.display());
            inputs.push((what.clone(), None, Some(compile(&s, &what)?)));
        }
    } else if fc.format.is_avro() && fc.format.uses_registry() {
        if let Some(reg) = registry {
            for topic in &config.source.topics {
                let subject = format!("{topic}-value");
                match reg.block_on(reg.client().latest(&subject)) {
                    Ok(found) => {
                        let what = format!(
                            "input subject {subject:?} version {} (id {})",
                            found.version, found.id
                        );
                        let s = reg.schema_by_id(found.id).map_err(|e| {
                            PipelineError::SchemaMismatch {
                                what: what.clone(),
                                reason: e.to_string(),
                            }
                        })?;
                        inputs.push((what.clone(), Some(topic), Some(compile(&s, &what)?)));
                    }
                    // nothing written yet: checked when the first record comes
                    Err(e) if e.is_not_found() => {}
                    Err(source) => {
                        return Err(PipelineError::Registry {
                            what: format!("read the latest version of input subject {subject:?}"),
                            source: Box::new(source),
                        });
                    }
                }
            }
        }
    } else if !fc.format.is_avro() {
        inputs.push((format!("{} input (no schema)", fc.format), None, None));
    }
    for (what, topic, input) in &inputs {
        d.output_schema(input.as_ref(), transforms)
            .map_err(|f| PipelineError::SchemaMismatch {
                what: what.clone(),
                reason: f.message(),
            })?;
        let out = match (output, topic) {
            (OutputTopic::Fixed(t), _) => Some(t.clone()),
            (OutputTopic::Template(t), Some(src)) => Some(t.replace("{topic}", src)),
            _ => None,
        };
        if let Some(out) = out {
            d.build(&out, input.as_ref(), transforms).map_err(|f| {
                PipelineError::SchemaMismatch {
                    what: format!("{what} → output topic {out:?}"),
                    reason: f.message(),
                }
            })?;
        }
    }
    Ok(())
}

/// Builds everything from the configuration, then [`PipelineBuilder::assemble`].
pub(crate) fn build(mut b: PipelineBuilder, config: &Config) -> Result<Pipeline, PipelineError> {
    let metrics = b.metrics.clone();
    let registry = match b.registry.take() {
        Some(client) => {
            let urls = client.urls().join(", ");
            let r = RegistryResolver::new(client).map_err(|e| {
                PipelineError::configure(format!("start the schema registry client: {e}"))
            })?;
            let flag = metrics
                .readiness()
                .require(ReadinessCheck::RegistryReachable);
            r.block_on(r.client().check_reachable())
                .map_err(|source| PipelineError::Registry {
                    what: format!("reach the schema registry at {urls}"),
                    source: Box::new(source),
                })?;
            flag.set_ready();
            Some(Arc::new(r))
        }
        None => None,
    };
    let meter = registry
        .as_ref()
        .map(|_| RegistryMeter::new(metrics.registry()));
    let resolver: Option<Arc<dyn SchemaResolver>> =
        registry.as_ref().zip(meter.as_ref()).map(|(r, m)| {
            let inner: Arc<dyn SchemaResolver> = Arc::clone(r) as Arc<dyn SchemaResolver>;
            Arc::new(Metered::new(inner, m.clone())) as Arc<dyn SchemaResolver>
        });
    b.registry_meter = meter;
    let key = side(
        Side::Key,
        &config.codec.key,
        resolver.as_ref(),
        registry.as_ref(),
        false,
    )?;
    let value = side(
        Side::Value,
        &config.codec.value,
        resolver.as_ref(),
        registry.as_ref(),
        true,
    )?;
    let output = match &config.sink.topic {
        Some(t) => OutputTopic::from_template(t),
        None => OutputTopic::Routed,
    };
    check_schemas(config, &value, &b.transforms, registry.as_ref(), &output)?;

    let dl = &config.dead_letter;
    b.dead_letter = DeadLetter {
        enabled: dl.enabled,
        topic: dl.topic.clone(),
        tolerance: match dl.tolerance {
            cfg::Tolerance::All => Tolerance::All,
            _ => Tolerance::None,
        },
        context_headers: dl.context_headers,
    };
    let s = &config.sink;
    b.guarantee = Some(match s.delivery_guarantee {
        cfg::DeliveryGuarantee::ExactlyOnce => Guarantee::ExactlyOnce,
        _ => Guarantee::AtLeastOnce,
    });
    b.transactions = TransactionLimits {
        max_records: s.transaction_max_records,
        max_duration: s.transaction_max_duration,
    };
    b.limits = Limits {
        max_in_flight_records: usize::try_from(s.max_in_flight_records).unwrap_or(usize::MAX),
        max_in_flight_bytes: s.max_in_flight_bytes,
    };
    b.shutdown_timeout = config.shutdown_timeout;

    let source = KafkaSourceBuilder::from_config(config)
        .and_then(KafkaSourceBuilder::build)
        .map_err(|source| PipelineError::BuildSource {
            source: Box::new(source),
        })?;
    let instance = b.instance.take().unwrap_or_else(default_instance);
    let mut sink = KafkaSinkBuilder::from_config(config, &instance)
        .map_err(|source| PipelineError::BuildSink {
            source: Box::new(source),
        })?
        .operation_timeout(
            config
                .shutdown_timeout
                .clamp(Duration::from_secs(5), Duration::from_secs(60)),
        );
    if !config
        .producer
        .librdkafka
        .iter()
        .any(|(k, _)| k == "queue.buffering.max.kbytes")
    {
        // exactly-once has no success reports to count bytes with: the
        // producer queue caps them (librdkafka counts until the report)
        let kib = s.max_in_flight_bytes.div_ceil(1024).clamp(1, 2_147_483_647);
        sink = sink.option("queue.buffering.max.kbytes", kib.to_string());
    }
    let sink = sink.build().map_err(|source| PipelineError::BuildSink {
        source: Box::new(source),
    })?;
    b.assemble(source, sink, key, value, output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configured_format_has_a_wire_format() {
        assert_eq!(wire(Format::AvroConfluent), WireFormat::ConfluentId);
        assert_eq!(wire(Format::JsonSchemaConfluent), WireFormat::ConfluentId);
        assert_eq!(wire(Format::AvroHeader), WireFormat::HeaderId);
        assert_eq!(wire(Format::AvroFixedSchema), WireFormat::AvroFixed);
        assert_eq!(wire(Format::Bytes), WireFormat::Bytes);
    }

    #[test]
    fn registry_formats_without_a_registry_are_refused() {
        let fc = FormatConfig::default();
        let e = side(Side::Value, &fc, None, None, true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid pipeline configuration: codec.value: format avro-confluent needs a schema registry (schema_registry.url)"
        );
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn avro_output_from_json_needs_a_pinned_schema() {
        let mut config = Config::default();
        config.codec.value.format = Format::Json;
        config.codec.value.output_format = Some(Format::AvroSingleObject);
        config.sink.topic = Some("out".into());
        let value = side(Side::Value, &config.codec.value, None, None, true).unwrap();
        let e = check_schemas(
            &config,
            &value,
            &[],
            None,
            &OutputTopic::Fixed("out".into()),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().starts_with(
                "output schema check for json input (no schema): the input has no schema"
            ),
            "{e}"
        );
    }
}
