//! qlp-grammar: the `.qlp` syntax. Text in, a spanned AST out
//! ([`parse_file`]), and back to canonical text ([`print_file`]).
//!
//! Architecture invariant: this crate does no IO and never panics on any
//! input; every problem is a [`Diagnostic`].

#![warn(missing_docs)]

pub mod ast;
pub mod codes;
pub mod diagnostic;
pub mod format;
pub mod parse;
pub mod print;
mod scan;
pub mod source;
pub mod span;
pub mod time;

pub use diagnostic::{Diagnostic, Replacement, Severity, SourcedDiagnostic};
pub use parse::{parse_expr, parse_file, parse_file_with};
pub use print::{print_expr, print_file};
pub use source::{FileId, SourceMap};
pub use span::Span;
