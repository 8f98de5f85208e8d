//! qlp-runtime: what a platform embeds — the one crate to depend on. Loads
//! policy directories, decodes JSON records straight into the compiled row
//! layout, evaluates them with the JIT, and returns structured decisions.
//! See `docs/embedding.md`.
//!
//! ```no_run
//! use qlp_runtime::{time::Timestamp, Engine};
//!
//! let engine = Engine::load("policies".as_ref())?;
//! let mut evaluator = engine.evaluator("Content");
//! let now: Timestamp = "2022-05-01T12:00:00Z".parse()?;
//! let decision = evaluator.decide(br#"{"id": "1", "kind": "post"}"#, now)?;
//! println!("{}", decision.verdict);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Architecture invariant: only this crate (and the CLI) touches the file
//! system or knows JSON.

#![warn(missing_docs)]

pub mod decision;
pub mod engine;
pub mod fs;
pub mod ingest;
pub mod state;
pub mod time;

pub use decision::{Action, Decision, Verdict};
pub use engine::{Engine, EngineKind, Evaluator, LoadError, PolicySet};
pub use fs::{policy_files, FsLoader, Limits, PolicyTree};
pub use ingest::{IngestError, Problem};
pub use qlp_compiler::program::Selection;
// The compiler's types that appear in this crate's API, so that an
// embedder depends on this crate alone.
pub use qlp_compiler::jit::EvalContext;
pub use qlp_compiler::layout::Row;
pub use qlp_compiler::outcome::Outcome;
pub use qlp_compiler::program::{Program, RecordId};
pub use qlp_compiler::state::{Prepared, StateValues};
pub use qlp_compiler::Value;
pub use qlp_grammar::ast::ActionKind;
pub use qlp_grammar::{Diagnostic, SourceMap};
pub use state::{Batch, EmbeddedStore, MemoryStore, RedisStore, State, StateStore, StoreError};
pub use time::Timestamp;
