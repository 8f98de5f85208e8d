//! `qlp check`: parse and type-check, report every problem.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Workspace;

use crate::render::{counts, print_diagnostics, Format};

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Policy files or directories (searched for `.qlp` files).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format: `human` (stderr) or `json` (one object per line on stdout).
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// `jit` (the default) also compiles the policies to native code, as
    /// `eval` would; `interp` stops after type checking.
    #[arg(long, value_parser = crate::cmd::engine_parser(), default_value = "jit")]
    pub engine: qlp_compiler::Engine,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let checked = Workspace::open(&args.paths, None)?.check();
    print_diagnostics(&checked.diagnostics, &checked.sources, args.format)?;
    let (mut errors, warnings) = counts(&checked.diagnostics);
    if let (Some(program), qlp_compiler::Engine::Jit) = (checked.program, args.engine) {
        if let Err(error) = qlp_compiler::jit::CompiledPolicySet::compile(std::sync::Arc::new(program)) {
            eprintln!("error: {error}");
            errors += 1;
        }
    }
    if args.format == Format::Human {
        let n_files = checked.sources.files().count();
        if errors == 0 {
            eprintln!("checked {n_files} file(s): no errors, {warnings} warning(s)");
        } else {
            eprintln!("checked {n_files} file(s): {errors} error(s), {warnings} warning(s)");
        }
    }
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
