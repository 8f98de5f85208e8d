//! The types of the qlp language.

use std::fmt;

use crate::program::{EnumId, Program, RecordId};

/// A type of the language.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// `bool`.
    Bool,
    /// `int` (i64).
    Int,
    /// `float` (f64).
    Float,
    /// `string` (UTF-8).
    String,
    /// `time`, an instant.
    Time,
    /// `duration`.
    Duration,
    /// A user enum.
    Enum(EnumId),
    /// A record type.
    Record(RecordId),
    /// `[T]`.
    List(Box<Type>),
    /// `T?`.
    Optional(Box<Type>),
    /// The type of an expression that already has an error reported; it
    /// agrees with every other type so that one mistake is reported once.
    Error,
}

impl Type {
    /// Whether it is the error type (an expression that did not check).
    pub fn is_error(&self) -> bool {
        matches!(self, Type::Error)
    }

    /// `T?` (unchanged if already optional).
    pub fn optional(self) -> Type {
        match self {
            Type::Optional(_) | Type::Error => self,
            other => Type::Optional(Box::new(other)),
        }
    }

    /// The type inside an optional, or the type itself.
    pub fn strip_optional(&self) -> &Type {
        match self {
            Type::Optional(inner) => inner,
            other => other,
        }
    }

    /// Whether values of this type can be compared with `==`.
    pub fn is_equatable(&self) -> bool {
        matches!(
            self,
            Type::Bool
                | Type::Int
                | Type::Float
                | Type::String
                | Type::Time
                | Type::Duration
                | Type::Enum(_)
                | Type::Error
        )
    }

    /// Whether values of this type can be ordered with `<`.
    pub fn is_ordered(&self) -> bool {
        matches!(
            self,
            Type::Int | Type::Float | Type::String | Type::Time | Type::Duration | Type::Error
        )
    }

    /// Compatible: equal, or either side is an error.
    pub fn agrees(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::Error, _) | (_, Type::Error) => true,
            (Type::List(a), Type::List(b)) | (Type::Optional(a), Type::Optional(b)) => a.agrees(b),
            (a, b) => a == b,
        }
    }

    /// The type as a policy author writes it.
    pub fn display<'a>(&'a self, program: &'a Program) -> TypeDisplay<'a> {
        TypeDisplay { ty: self, program }
    }
}

/// A type as the user writes it: `int`, `Account`, `[string]`, `int?`.
pub struct TypeDisplay<'a> {
    ty: &'a Type,
    program: &'a Program,
}

impl fmt::Display for TypeDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ty {
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::String => f.write_str("string"),
            Type::Time => f.write_str("time"),
            Type::Duration => f.write_str("duration"),
            Type::Enum(id) => f.write_str(self.program.enum_def(*id).map_or("?", |e| e.name.as_str())),
            Type::Record(id) => f.write_str(self.program.record(*id).map_or("?", |r| r.name.as_str())),
            Type::List(element) => write!(f, "[{}]", element.display(self.program)),
            Type::Optional(inner) => write!(f, "{}?", inner.display(self.program)),
            Type::Error => f.write_str("{unknown}"),
        }
    }
}
