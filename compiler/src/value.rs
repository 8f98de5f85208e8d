//! Run-time values of the reference interpreter and of test records.

use std::sync::Arc;

/// A value. Types are static, so a value carries no type of its own: an
/// optional is either [`Value::Absent`] or the inner value itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An optional that is missing.
    Absent,
    /// A `bool`.
    Bool(bool),
    /// An `int`.
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `string`.
    Str(Arc<str>),
    /// Microseconds since the Unix epoch.
    Time(i64),
    /// Microseconds.
    Duration(i64),
    /// Index of the variant in its enum.
    Enum(u32),
    /// A list.
    List(Arc<[Value]>),
    /// Field values in declaration order.
    Record(Arc<[Value]>),
}

impl Value {
    /// A string value.
    pub fn str(text: &str) -> Value {
        Value::Str(Arc::from(text))
    }

    /// Whether it is a missing optional.
    pub fn is_absent(&self) -> bool {
        matches!(self, Value::Absent)
    }
}
