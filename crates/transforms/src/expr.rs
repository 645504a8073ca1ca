//! CEL expressions over records: compiled once when the transforms are
//! built, evaluated per record without copying the record.
//!
//! An expression sees these variables (only the ones it names are looked
//! up, when it evaluates them):
//!
//! | variable | CEL type | what |
//! |---|---|---|
//! | `value` | map (record), or the value's own type | the record value |
//! | `key` | as `value` | the record key (`null` when there is none) |
//! | `headers` | `map(string, string)` | header values as UTF-8 (lossy), `null` for a null header |
//! | `topic` | `string` | the output topic once a route ran, else the source topic |
//! | `partition`, `offset` | `int` | source partition and offset |
//! | `timestamp` | `timestamp` or `null` | the record timestamp (event time after `set_timestamp`) |
//! | `now` | `timestamp` | processing time |
//!
//! Records and maps are lazy views: `value.device.model` reads two fields
//! and allocates two small boxes, whatever the record's size. Field values
//! map to CEL as: `int`/`long` → `int`, `float`/`double`/`decimal` →
//! `double`, `string`/`enum`/`uuid` → `string`, `bytes`/`fixed` → `bytes`,
//! timestamps and `date` → `timestamp` (UTC), `time-*` and `duration` →
//! `duration`, arrays → `list`.

use std::sync::{Arc, OnceLock};

use cel::common::traits::{self, Container, Indexer, Iterable, Sizer, Zeroer};
use cel::common::types::{
    self as ct, CelBool, CelBytes, CelDouble, CelDuration, CelInt, CelList, CelNull, CelString,
    CelTimestamp, CelUInt, Kind,
};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env, ExecutionError, Program};
use chrono::{DateTime, FixedOffset, Utc};
use kbridge_codec::{Fields, Record, Value};
use kbridge_pipeline::PipelineRecord;

/// Variables an expression may use.
pub(crate) const VARIABLES: &[&str] = &[
    "value",
    "key",
    "headers",
    "topic",
    "partition",
    "offset",
    "timestamp",
    "now",
];

/// The CEL environment every expression is compiled against: the standard
/// library plus the strings extension (`lowerAscii`, `replace`, `split`, …).
pub(crate) fn env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    Arc::clone(ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        // the strings extension declares its overloads once; it cannot clash
        // with the standard library
        if env.add_extension(cel::extensions::strings).is_err() {
            env = Env::stdlib();
        }
        Arc::new(env)
    }))
}

/// A compiled expression.
pub(crate) struct Expr {
    source: String,
    program: Program,
    env: Arc<Env>,
    /// The fast path, when the expression has a shape it evaluates.
    fast: Option<crate::fast::Node>,
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Expr").field(&self.source).finish()
    }
}

impl Expr {
    /// Compiles `source`; fails on a syntax error or an unknown variable.
    pub(crate) fn compile(source: &str) -> Result<Expr, String> {
        let env = env();
        let program = env
            .compile(source)
            .map_err(|e| format!("invalid expression `{source}`: {e}"))?;
        let mut unknown = Vec::new();
        free_variables(program.expression(), &mut Vec::new(), &mut unknown);
        if let Some(name) = unknown.first() {
            let hint = crate::spec::closest(name, VARIABLES.iter().copied())
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_else(|| format!("; expressions see {}", crate::spec::one_of(VARIABLES)));
            return Err(format!(
                "expression `{source}` uses unknown variable `{name}`{hint}"
            ));
        }
        Ok(Expr {
            source: source.to_string(),
            fast: crate::fast::compile(program.expression()),
            program,
            env,
        })
    }

    /// The parsed expression.
    #[cfg(test)]
    pub(crate) fn ast(&self) -> &cel::IdedExpr {
        self.program.expression()
    }

    /// The top-level fields of `value` the expression reads, sorted and
    /// without repeats: every use of `value` must be a field selection
    /// (`value.f`, `has(value.f)`). `None` when it uses `value` any other
    /// way (`value`, `value["f"]`, `size(value)`, `value.all(...)`, a
    /// comprehension variable called `value`): it may read the whole value.
    pub(crate) fn value_fields(&self) -> Option<Vec<String>> {
        let mut out = Vec::new();
        value_fields_of(self.program.expression(), &mut out)?;
        out.sort_unstable();
        out.dedup();
        Some(out)
    }

    /// The expression as written.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    fn with_result<T>(
        &self,
        record: &PipelineRecord<'_>,
        f: impl FnOnce(&dyn Val) -> Result<T, String>,
    ) -> Result<T, String> {
        let vars = Vars { record };
        let mut ctx = Context::with_env(Arc::clone(&self.env));
        ctx.set_variable_resolver(&vars);
        let result = cel::Value::resolve_val(self.program.expression(), &ctx)
            .map_err(|e| format!("expression `{}` failed: {e}", self.source))?;
        f(&*result)
    }

    /// Evaluates to a boolean (anything else is an error).
    pub(crate) fn eval_bool(&self, record: &PipelineRecord<'_>) -> Result<bool, String> {
        if let Some(Ok(crate::fast::Fv::Bool(b))) = self.fast.as_ref().map(|f| f.eval(record)) {
            return Ok(b);
        }
        self.eval_bool_interpreted(record)
    }

    /// [`Expr::eval_bool`] by the CEL interpreter alone.
    pub(crate) fn eval_bool_interpreted(
        &self,
        record: &PipelineRecord<'_>,
    ) -> Result<bool, String> {
        self.with_result(record, |v| match v.downcast_ref::<CelBool>() {
            Some(b) => Ok(*b.inner()),
            None => Err(format!(
                "expression `{}` returned {}, not a bool",
                self.source,
                v.get_type().name()
            )),
        })
    }

    /// Evaluates to a value (owned: it outlives the evaluation).
    pub(crate) fn eval(&self, record: &PipelineRecord<'_>) -> Result<Value<'static>, String> {
        if let Some(Ok(v)) = self.fast.as_ref().map(|f| f.eval(record)) {
            return Ok(v.into_value());
        }
        self.eval_interpreted(record)
    }

    /// [`Expr::eval`] by the CEL interpreter alone.
    pub(crate) fn eval_interpreted(
        &self,
        record: &PipelineRecord<'_>,
    ) -> Result<Value<'static>, String> {
        self.with_result(record, |v| {
            from_val(v, 0).map_err(|e| format!("expression `{}` {e}", self.source))
        })
    }
}

/// Type names an expression may use as identifiers (`type(x) == int`).
const TYPE_NAMES: &[&str] = &[
    "int",
    "uint",
    "double",
    "bool",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
    "dyn",
];

/// Identifiers that are neither ours, nor bound by a comprehension
/// (`exists(k, ...)`), nor type names.
fn free_variables(e: &cel::IdedExpr, bound: &mut Vec<String>, out: &mut Vec<String>) {
    use cel::common::ast::{EntryExpr, Expr};
    let entry = |x: &EntryExpr, bound: &mut Vec<String>, out: &mut Vec<String>| match x {
        EntryExpr::StructField(f) => free_variables(&f.value, bound, out),
        EntryExpr::MapEntry(m) => {
            free_variables(&m.key, bound, out);
            free_variables(&m.value, bound, out);
        }
    };
    match &e.expr {
        Expr::Ident(name)
            if !name.starts_with('@')
                && !VARIABLES.contains(&name.as_str())
                && !TYPE_NAMES.contains(&name.as_str())
                && !bound.contains(name)
                && !out.contains(name) =>
        {
            out.push(name.clone());
        }
        Expr::Call(call) => {
            if let Some(t) = &call.target {
                free_variables(t, bound, out);
            }
            for a in &call.args {
                free_variables(a, bound, out);
            }
        }
        Expr::Comprehension(c) => {
            free_variables(&c.iter_range, bound, out);
            free_variables(&c.accu_init, bound, out);
            let n = bound.len();
            bound.push(c.iter_var.clone());
            bound.extend(c.iter_var2.clone());
            bound.push(c.accu_var.clone());
            free_variables(&c.loop_cond, bound, out);
            free_variables(&c.loop_step, bound, out);
            free_variables(&c.result, bound, out);
            bound.truncate(n);
        }
        Expr::List(l) => l
            .elements
            .iter()
            .for_each(|x| free_variables(x, bound, out)),
        Expr::Map(m) => m.entries.iter().for_each(|x| entry(&x.expr, bound, out)),
        Expr::Struct(s) => s.entries.iter().for_each(|x| entry(&x.expr, bound, out)),
        Expr::Select(s) => free_variables(&s.operand, bound, out),
        _ => {}
    }
}

/// Collects into `out` the fields `e` selects on `value`; `None` when `e`
/// uses `value` other than by selecting a field of it.
fn value_fields_of(e: &cel::IdedExpr, out: &mut Vec<String>) -> Option<()> {
    use cel::common::ast::{EntryExpr, Expr};
    let is_value = |name: &str| name == "value";
    let entry = |x: &EntryExpr, out: &mut Vec<String>| match x {
        EntryExpr::MapEntry(m) => {
            value_fields_of(&m.key, out)?;
            value_fields_of(&m.value, out)
        }
        EntryExpr::StructField(f) => value_fields_of(&f.value, out),
    };
    match &e.expr {
        Expr::Ident(name) => (!is_value(name)).then_some(()),
        // `value.f` and `has(value.f)` (a select with `test`)
        Expr::Select(s) => match &s.operand.expr {
            Expr::Ident(name) if is_value(name) => {
                out.push(s.field.clone());
                Some(())
            }
            _ => value_fields_of(&s.operand, out),
        },
        Expr::Call(call) => {
            if let Some(t) = &call.target {
                value_fields_of(t, out)?;
            }
            call.args.iter().try_for_each(|a| value_fields_of(a, out))
        }
        Expr::Comprehension(c) => {
            // a variable called `value` would hide the record's: give up
            if is_value(&c.iter_var)
                || c.iter_var2.as_deref().is_some_and(is_value)
                || is_value(&c.accu_var)
            {
                return None;
            }
            [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ]
            .into_iter()
            .try_for_each(|x| value_fields_of(x, out))
        }
        Expr::List(l) => l.elements.iter().try_for_each(|x| value_fields_of(x, out)),
        Expr::Map(m) => m.entries.iter().try_for_each(|x| entry(&x.expr, out)),
        Expr::Struct(s) => {
            if s.type_name == "value" || s.type_name.starts_with("value.") {
                return None;
            }
            s.entries.iter().try_for_each(|x| entry(&x.expr, out))
        }
        Expr::Literal(_) => Some(()),
        // nothing a compiled program holds; unknown means anything
        Expr::Unspecified => None,
    }
}

// ------------------------------------------------------------- variables

struct Vars<'r, 'a> {
    record: &'r PipelineRecord<'a>,
}

impl VariableResolver for Vars<'_, '_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let r = self.record;
        Some(match variable {
            "value" => to_val(&r.value),
            "key" => to_val(&r.key),
            "topic" => CowVal::owned(CelString::from(
                r.topic.as_deref().unwrap_or(r.source.topic),
            )),
            "partition" => CowVal::owned(CelInt::from(i64::from(r.source.partition))),
            "offset" => CowVal::owned(CelInt::from(r.source.offset)),
            "timestamp" => match r.timestamp.and_then(DateTime::from_timestamp_millis) {
                Some(t) => CowVal::owned(CelTimestamp::from(t.fixed_offset())),
                None => CowVal::owned(CelNull),
            },
            "now" => CowVal::owned(CelTimestamp::from(Utc::now().fixed_offset())),
            "headers" => {
                let map: std::collections::HashMap<ct::CelMapKey<'b>, Box<dyn Val + 'b>> = r
                    .headers
                    .iter()
                    .map(|(name, value)| {
                        let v: Box<dyn Val + 'b> = match value {
                            Some(b) => Box::new(CelString::from(String::from_utf8_lossy(b))),
                            None => Box::new(CelNull),
                        };
                        (ct::CelMapKey::from(&**name), v)
                    })
                    .collect();
                CowVal::owned(ct::CelMap::from(map))
            }
            _ => return None,
        })
    }
}

// --------------------------------------------------- values → CEL values

fn utc(ts: Option<DateTime<Utc>>) -> Box<dyn Val + 'static> {
    match ts {
        Some(t) => Box::new(CelTimestamp::from(t.fixed_offset())),
        None => Box::new(CelNull),
    }
}

/// A value as a CEL value, borrowing strings and bytes.
fn boxed<'v>(v: &'v Value<'v>) -> Box<dyn Val + 'v> {
    match v {
        Value::Null => Box::new(CelNull),
        Value::Boolean(b) => Box::new(CelBool::from(*b)),
        Value::Int(i) => Box::new(CelInt::from(i64::from(*i))),
        Value::Long(i) => Box::new(CelInt::from(*i)),
        Value::Float(f) => Box::new(CelDouble::from(f64::from(*f))),
        Value::Double(f) => Box::new(CelDouble::from(*f)),
        Value::String(s) | Value::Enum(_, s) => Box::new(CelString::from(&**s)),
        Value::Bytes(b) | Value::Fixed(b) => Box::new(CelBytes::from(&**b)),
        Value::Decimal(d) => Box::new(CelDouble::from(
            d.to_string().parse::<f64>().unwrap_or(f64::NAN),
        )),
        Value::Uuid(u) => Box::new(CelString::from(u.to_string())),
        Value::Date(d) => utc(DateTime::from_timestamp(i64::from(*d) * 86_400, 0)),
        Value::TimeMillis(ms) => Box::new(CelDuration::from(chrono::Duration::milliseconds(
            i64::from(*ms),
        ))),
        Value::TimeMicros(us) => Box::new(CelDuration::from(chrono::Duration::microseconds(*us))),
        Value::TimestampMillis(ms) | Value::LocalTimestampMillis(ms) => {
            utc(DateTime::from_timestamp_millis(*ms))
        }
        Value::TimestampMicros(us) | Value::LocalTimestampMicros(us) => {
            utc(DateTime::from_timestamp_micros(*us))
        }
        Value::TimestampNanos(ns) | Value::LocalTimestampNanos(ns) => {
            utc(Some(DateTime::from_timestamp_nanos(*ns)))
        }
        Value::Duration(d) => Box::new(CelDuration::from(
            chrono::Duration::days(i64::from(d.months) * 30 + i64::from(d.days))
                + chrono::Duration::milliseconds(i64::from(d.millis)),
        )),
        Value::Array(items) => Box::new(CelList::from(
            items.iter().map(|i| boxed(i)).collect::<Vec<_>>(),
        )),
        Value::Record(Record { fields, .. }) | Value::Map(fields) => {
            Box::new(FieldsView::new(fields))
        }
    }
}

fn to_val<'b>(v: &'b Value<'b>) -> CowVal<'b, 'b> {
    CowVal::Owned(boxed(v))
}

/// A record or map seen as a CEL `map(string, dyn)`, field by field on
/// access.
#[derive(Debug)]
struct FieldsView<'v> {
    fields: &'v Fields<'v>,
    keys: OnceLock<Vec<CelString<'v>>>,
}

impl<'v> FieldsView<'v> {
    fn new(fields: &'v Fields<'v>) -> Self {
        FieldsView {
            fields,
            keys: OnceLock::new(),
        }
    }

    fn key(idx: &dyn Val) -> Result<&str, ExecutionError> {
        idx.downcast_ref::<CelString>()
            .map(CelString::inner)
            .ok_or_else(|| ExecutionError::UnexpectedType {
                got: idx.get_type().name().to_owned(),
                want: "string".to_owned(),
            })
    }
}

impl<'v> Val for FieldsView<'v> {
    fn get_type(&self) -> &ct::Type {
        &ct::MAP_TYPE
    }

    fn cel_type() -> &'static ct::Type {
        &ct::MAP_TYPE
    }

    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }

    fn as_indexer<'b, 'w>(&'b self) -> Option<&'b (dyn Indexer + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_iterable<'b, 'w>(&'b self) -> Option<&'b (dyn Iterable + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        Some(self)
    }

    fn as_zeroer(&self) -> Option<&dyn Zeroer> {
        Some(self)
    }

    fn equals(&self, other: &dyn Val) -> bool {
        // same size, and every field equal to the other map's entry
        let (Some(sizer), Some(indexer)) = (other.as_sizer(), other.as_indexer()) else {
            return false;
        };
        if other.get_type().kind() != Kind::Map || *sizer.size().inner() != self.fields.len() as i64
        {
            return false;
        }
        self.fields.iter().all(|f| {
            let k = CelString::from(&*f.name);
            indexer.get(&k).is_ok_and(|ov| boxed(&f.value).equals(&*ov))
        })
    }

    fn clone_as_boxed<'w>(&self) -> Box<dyn Val + 'w>
    where
        Self: 'w,
    {
        Box::new(FieldsView::new(self.fields))
    }
}

impl Container for FieldsView<'_> {
    fn contains(&self, key: &dyn Val) -> Result<bool, ExecutionError> {
        Ok(self.fields.get(Self::key(key)?).is_some())
    }
}

impl<'v> Indexer for FieldsView<'v> {
    fn get<'b, 'w>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        let name = Self::key(idx)?;
        match self.fields.get(name) {
            Some(v) => Ok(CowVal::Owned(boxed(v))),
            None => Err(ExecutionError::no_such_key(name)),
        }
    }

    fn steal<'w>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'w>, ExecutionError>
    where
        Self: 'w,
    {
        self.get(idx).map(CowVal::into_owned)
    }
}

struct KeyIter<'b, 'v>(std::slice::Iter<'b, CelString<'v>>);

impl<'b, 'v: 'w, 'w> traits::Iterator<'b, 'w> for KeyIter<'b, 'v> {
    fn next(&mut self) -> Option<&'b (dyn Val + 'w)> {
        self.0.next().map(|k| k as &dyn Val)
    }
}

impl<'v> Iterable for FieldsView<'v> {
    fn iter<'b, 'w>(&'b self) -> Box<dyn traits::Iterator<'b, 'w> + 'b>
    where
        Self: 'w,
    {
        let keys = self.keys.get_or_init(|| {
            self.fields
                .iter()
                .map(|f| CelString::from(&*f.name))
                .collect()
        });
        Box::new(KeyIter(keys.iter()))
    }
}

impl Sizer for FieldsView<'_> {
    fn size(&self) -> CelInt {
        CelInt::from(self.fields.len() as i64)
    }
}

impl Zeroer for FieldsView<'_> {
    fn is_zero_value(&self) -> bool {
        self.fields.is_empty()
    }
}

// --------------------------------------------------- CEL values → values

/// Converts an expression's result to a value the encoder understands.
/// Records and maps come back as unnamed records (fields in order for
/// records, in no particular order for CEL map literals).
pub(crate) fn from_val(v: &dyn Val, depth: usize) -> Result<Value<'static>, String> {
    if depth > 64 {
        return Err("returned a value nested too deeply".to_string());
    }
    if let Some(b) = v.downcast_ref::<CelBool>() {
        return Ok(Value::Boolean(*b.inner()));
    }
    if let Some(i) = v.downcast_ref::<CelInt>() {
        return Ok(Value::Long(*i.inner()));
    }
    if let Some(u) = v.downcast_ref::<CelUInt>() {
        return i64::try_from(*u.inner())
            .map(Value::Long)
            .map_err(|_| format!("returned {} which does not fit a long", u.inner()));
    }
    if let Some(d) = v.downcast_ref::<CelDouble>() {
        return Ok(Value::Double(*d.inner()));
    }
    if let Some(s) = v.downcast_ref::<CelString>() {
        return Ok(Value::String(s.inner().to_string().into()));
    }
    if let Some(b) = v.downcast_ref::<CelBytes>() {
        return Ok(Value::Bytes(b.inner().to_vec().into()));
    }
    if v.downcast_ref::<CelNull>().is_some() {
        return Ok(Value::Null);
    }
    if let Some(t) = v.downcast_ref::<CelTimestamp>() {
        return Ok(timestamp_value(t.inner()));
    }
    if let Some(d) = v.downcast_ref::<CelDuration>() {
        return Ok(Value::Long(d.inner().num_milliseconds()));
    }
    match v.get_type().kind() {
        Kind::List => {
            let it = v
                .as_iterable()
                .ok_or_else(|| "returned a list that cannot be read".to_string())?;
            let mut items = Vec::new();
            let mut iter = it.iter();
            while let Some(item) = iter.next() {
                items.push(from_val(item, depth + 1)?);
            }
            Ok(Value::Array(items))
        }
        Kind::Map => {
            let (Some(it), Some(ix)) = (v.as_iterable(), v.as_indexer()) else {
                return Err("returned a map that cannot be read".to_string());
            };
            let mut fields = Fields::new();
            let mut iter = it.iter();
            while let Some(k) = iter.next() {
                let name = match k.downcast_ref::<CelString>() {
                    Some(s) => s.inner().to_string(),
                    None => {
                        return Err(format!(
                            "returned a map with a {} key (record fields need string keys)",
                            k.get_type().name()
                        ));
                    }
                };
                let item = ix.get(k).map_err(|e| e.to_string())?;
                fields.push(name, from_val(&*item, depth + 1)?);
            }
            Ok(Value::Record(Record { name: None, fields }))
        }
        _ => Err(format!(
            "returned a value of type {} that has no record equivalent",
            v.get_type().name()
        )),
    }
}

/// A CEL timestamp as `timestamp-millis`, or `timestamp-micros` when it has
/// sub-millisecond digits.
fn timestamp_value(t: &DateTime<FixedOffset>) -> Value<'static> {
    let micros = t.timestamp_micros();
    if micros % 1000 == 0 {
        Value::TimestampMillis(t.timestamp_millis())
    } else {
        Value::TimestampMicros(micros)
    }
}

#[cfg(test)]
mod tests {
    use super::Expr;

    fn fields(source: &str) -> Option<Vec<String>> {
        Expr::compile(source)
            .unwrap_or_else(|e| panic!("{e}"))
            .value_fields()
    }

    #[test]
    fn field_selections_on_value_name_their_fields() {
        let cases: &[(&str, &[&str])] = &[
            ("value.value < 0.0", &["value"]),
            ("value.unit.upperAscii()", &["unit"]),
            (
                "has(value.email) && value.device.model == 'X2'",
                &["device", "email"],
            ),
            ("has(value.device.battery)", &["device"]),
            ("value.b || value.a && value.b", &["a", "b"]),
            ("value.tags['app'] == '5.2'", &["tags"]),
            ("value.value.value > 0.0", &["value"]),
            ("size(value.s) == 3 && value.s.matches('^a')", &["s"]),
            ("value.readings.all(r, r > 0.0)", &["readings"]),
            (
                "value.readings.exists(x, x == value.value)",
                &["readings", "value"],
            ),
            ("[value.a, 1].size() == 2", &["a"]),
            ("{'k': value.b}.k == 1", &["b"]),
            ("value.n == null ? value.m : 'x'", &["m", "n"]),
            // other variables, and `value` as a field of them, read nothing
            ("key.value == 1", &[]),
            (
                "topic == 't' && partition == 1 && offset == 2 && headers['h'] == 'v'",
                &[],
            ),
            ("timestamp != null && now > timestamp", &[]),
            ("[1, 2].exists(v, v > 1)", &[]),
        ];
        for (source, want) in cases {
            let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            assert_eq!(fields(source), Some(want), "{source}");
        }
    }

    #[test]
    fn any_other_use_of_value_may_read_all_of_it() {
        for source in [
            "value != null",
            "value['x'] == 1",
            "value.a == 1 && value['b'] == 2",
            "size(value) > 3",
            "value.size() > 3",
            "value.all(k, k != '')",
            "value.exists(k, k == 'a')",
            "value.map(k, k).size() > 0",
            "value.filter(k, k != 'a').size() > 0",
            "'a' in value",
            "dyn(value).a == 1",
            "type(value) == map",
            "{'v': value}.v.a == 1",
            "[value][0].a == 1",
            "has(value.a) ? value : null",
            // a comprehension variable called `value` hides the record's
            "[1, 2].exists(value, value > 1)",
            "[value.a].all(value, value > 1)",
        ] {
            assert_eq!(fields(source), None, "{source}");
        }
    }
}
