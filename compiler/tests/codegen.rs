//! Snapshots of the Cranelift IR (`qlp compile --emit clif`) for small
//! policies, one feature each, so that codegen changes are reviewed like
//! any other output. Addresses of constant data change from run to run and
//! are shown as `<address>`.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::sync::Arc;

use qlp_compiler::jit::{CompileOptions, CompiledPolicySet};
use qlp_compiler::MemoryLoader;

fn clif(path: &std::path::Path) -> String {
    let source = std::fs::read_to_string(path).unwrap();
    let loader = MemoryLoader::new().with("p.qlp", source.clone());
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let program = checked
        .program
        .unwrap_or_else(|| panic!("{}: {:?}", path.display(), checked.diagnostics));
    let compiled = CompiledPolicySet::compile_with(
        Arc::new(program),
        CompileOptions {
            keep_clif: true,
            ..CompileOptions::default()
        },
    )
    .unwrap();
    let addresses = regex::Regex::new(r"\b(0x[0-9a-f]{4}(_[0-9a-f]{4}){2,3}|\d{10,})\b").unwrap();
    let ir = addresses.replace_all(&compiled.clif(), "<address>").into_owned();
    format!("----- SOURCE CODE\n{source}\n----- CLIF\n{ir}")
}

#[test]
fn codegen_snapshots() {
    insta::glob!("data/clif/*.qlp", |path| {
        insta::assert_snapshot!(clif(path));
    });
}
