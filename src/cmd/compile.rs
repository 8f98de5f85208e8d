//! `qlp compile`: compile policies to native code and show the result.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::Workspace;
use qlp_compiler::jit::{CompileOptions, CompiledPolicySet};

use crate::render::{print_diagnostics, Format};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// The Cranelift IR of each record type's function.
    Clif,
}

#[derive(clap::Args)]
pub struct CompileArgs {
    /// Policy files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value = "clif")]
    pub emit: Emit,
}

pub fn run(args: &CompileArgs) -> anyhow::Result<ExitCode> {
    let checked = Workspace::open(&args.paths, None)?.check();
    let Some(program) = checked.program else {
        print_diagnostics(&checked.diagnostics, &checked.sources, Format::Human)?;
        return Ok(ExitCode::from(1));
    };
    let compiled = CompiledPolicySet::compile_with(
        Arc::new(program),
        CompileOptions {
            keep_clif: true,
            ..CompileOptions::default()
        },
    )?;
    match args.emit {
        Emit::Clif => print!("{}", compiled.clif()),
    }
    Ok(ExitCode::SUCCESS)
}
