//! `filter`: keep or drop records by a condition.
//!
//! ```toml
//! [[transforms]]
//! type = "filter"
//! drop = "value.value < 0.0"      # or: keep = "value.metric == 'HEART_RATE'"
//! ```

use kbridge_pipeline::PipelineRecord;

use super::{Fail, Step};
use crate::expr::Expr;
use crate::spec::Spec;

pub(crate) struct Filter {
    condition: Expr,
    keep_when_true: bool,
}

pub(crate) fn build(spec: &mut Spec<'_>) -> Option<Filter> {
    spec.allow(&["keep", "drop"]);
    let which = spec.one_key(&["keep", "drop"])?;
    let condition = spec.expr(which)?;
    Some(Filter {
        condition,
        keep_when_true: which == "keep",
    })
}

impl Step for Filter {
    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        let hit = self.condition.eval_bool(record).map_err(Fail::expr)?;
        Ok(hit == self.keep_when_true)
    }

    fn value_fields(&self) -> Option<Vec<String>> {
        self.condition.value_fields()
    }
}
