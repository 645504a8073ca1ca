//! Subject name strategies, as Confluent's serializers define them.

use crate::RegistryError;
use serde::{Deserialize, Serialize};

/// Whether a subject is for a record's key or its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    Key,
    Value,
}

impl SubjectKind {
    fn suffix(self) -> &'static str {
        match self {
            SubjectKind::Key => "key",
            SubjectKind::Value => "value",
        }
    }
}

/// How a serializer names the subject of a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectNameStrategy {
    /// `<topic>-key` / `<topic>-value` (Confluent's `TopicNameStrategy`).
    #[default]
    Topic,
    /// The record's full name (`RecordNameStrategy`).
    Record,
    /// `<topic>-<record full name>` (`TopicRecordNameStrategy`).
    TopicRecord,
}

impl SubjectNameStrategy {
    fn name(self) -> &'static str {
        match self {
            SubjectNameStrategy::Topic => "topic",
            SubjectNameStrategy::Record => "record",
            SubjectNameStrategy::TopicRecord => "topic_record",
        }
    }

    /// The subject for `topic`; `record_name` is the schema's full name
    /// (required by the record strategies, ignored by the topic strategy).
    pub fn subject(
        self,
        topic: &str,
        kind: SubjectKind,
        record_name: Option<&str>,
    ) -> Result<String, RegistryError> {
        let record = || {
            record_name
                .filter(|n| !n.is_empty())
                .ok_or_else(|| RegistryError::DeriveSubject {
                    topic: topic.to_string(),
                    strategy: self.name(),
                    reason: "the schema has no record name (it is not a named type)".to_string(),
                })
        };
        Ok(match self {
            SubjectNameStrategy::Topic => format!("{topic}-{}", kind.suffix()),
            SubjectNameStrategy::Record => record()?.to_string(),
            SubjectNameStrategy::TopicRecord => format!("{topic}-{}", record()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_name_subjects_like_confluent() {
        let t = SubjectNameStrategy::Topic;
        assert_eq!(
            t.subject("orders", SubjectKind::Value, Some("x.Y"))
                .unwrap(),
            "orders-value"
        );
        assert_eq!(
            t.subject("orders", SubjectKind::Key, None).unwrap(),
            "orders-key"
        );
        let r = SubjectNameStrategy::Record;
        assert_eq!(
            r.subject("orders", SubjectKind::Value, Some("com.acme.Order"))
                .unwrap(),
            "com.acme.Order"
        );
        let tr = SubjectNameStrategy::TopicRecord;
        assert_eq!(
            tr.subject("orders", SubjectKind::Key, Some("com.acme.Order"))
                .unwrap(),
            "orders-com.acme.Order"
        );
        let err = r.subject("orders", SubjectKind::Value, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "derive subject name for topic 'orders' with the record strategy: \
             the schema has no record name (it is not a named type)"
        );
    }

    #[test]
    fn strategy_serde_names() {
        let s: SubjectNameStrategy = serde_json::from_str("\"topic_record\"").unwrap();
        assert_eq!(s, SubjectNameStrategy::TopicRecord);
    }
}
