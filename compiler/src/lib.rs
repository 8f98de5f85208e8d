//! qlp-compiler: from parsed `.qlp` files to a checked, typed [`Program`],
//! and the reference interpreter that defines what a program means.
//!
//! Architecture invariants: the compiler does no IO (files come through a
//! [`SourceLoader`]) and never panics on any input; the interpreter is the
//! specification that every other engine must agree with.

#![warn(missing_docs)]

pub mod builtins;
pub mod cache;
pub mod explain;
mod graph;
pub mod inline;
pub mod interp;
pub mod jit;
pub mod layout;
pub mod load;
pub mod outcome;
pub mod pattern;
pub mod policy_test;
pub mod program;
pub mod resolve;
pub mod state;
pub mod typeck;

/// Text normalization and keyword matching, from the `qlp-text` crate (which
/// knows nothing of the language).
pub use qlp_text as text;
pub mod types;
pub mod value;

use std::path::PathBuf;

use qlp_grammar::{Diagnostic, SourceMap};

pub use cache::CheckCache;
pub use load::{MemoryLoader, SourceLoader};
pub use program::Program;
pub use typeck::MAX_KEYWORD_MEMORY;
pub use types::Type;
pub use value::Value;

/// What evaluates conditions: the one backend choice every layer (tests,
/// the runtime, the CLI's `--engine`) shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Native code from the Cranelift JIT (the default).
    #[default]
    Jit,
    /// The reference interpreter (the specification).
    Interp,
}

impl Engine {
    /// `jit` or `interp`, as `--engine` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Jit => "jit",
            Engine::Interp => "interp",
        }
    }
}

/// The result of checking a set of policy files.
pub struct Checked {
    /// The source files, to render the diagnostics.
    pub sources: SourceMap,
    /// Every error and warning, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// The program, when there were no errors.
    pub program: Option<Program>,
}

impl Checked {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Loads, parses and type-checks `roots` and everything they import.
pub fn check(roots: &[PathBuf], loader: &dyn SourceLoader) -> Checked {
    check_cached(roots, loader, &CheckCache::new())
}

/// [`check`], reusing the parses and keyword automata of the check before
/// that used `cache` (an editor's keystroke re-parses one file).
pub fn check_cached(roots: &[PathBuf], loader: &dyn SourceLoader, cache: &CheckCache) -> Checked {
    cache.begin();
    let mut diagnostics = Vec::new();
    let files = load::load_cached(roots, loader, &mut diagnostics, cache);
    let scope = resolve::Scope::collect(&files, &mut diagnostics);
    let mut checker = typeck::Checker::new(&scope, &files, cache, loader.keyword_memory());
    checker.check_all();
    cache.end();
    diagnostics.append(&mut checker.diagnostics);
    let mut program = checker.program;
    diagnostics.sort_by_key(|d| (d.file, d.span.start));
    let sources = files.sources.clone();
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    let program = (!has_errors).then(|| {
        program.sources = files.sources;
        program.files = files.asts;
        program
    });
    Checked {
        sources,
        diagnostics,
        program,
    }
}

/// The program of one policy file, `source`, for unit tests.
#[cfg(test)]
pub(crate) fn test_program(source: &str) -> Program {
    let loader = MemoryLoader::new().with("p.qlp", source);
    let checked = check(&[PathBuf::from("p.qlp")], &loader);
    checked.program.expect("the source checks")
}
