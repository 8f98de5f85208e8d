//! `qlp test`: run the `test` blocks of policies.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use qlp_compiler::policy_test::run_tests;
use qlp_runtime::{policy_files, FsLoader};

use crate::render::{print_diagnostics, Format};

#[derive(clap::Args)]
pub struct TestArgs {
    /// Policy files or directories (searched for `.qlp` files).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let files = policy_files(&args.paths).context("cannot list the policy files")?;
    let checked = qlp_compiler::check(&files, &FsLoader);
    let Some(program) = checked.program else {
        print_diagnostics(&checked.diagnostics, &checked.sources, Format::Human)?;
        eprintln!("the policies have errors: no test was run");
        return Ok(ExitCode::from(1));
    };
    let results = run_tests(&program);
    let mut failed = 0;
    for result in &results {
        let (line, _) = program
            .sources
            .line_col(result.location.file, result.location.span.start);
        let place = format!("{}:{line}", program.sources.name(result.location.file));
        if result.passed() {
            println!("ok    {place}  {}", result.name);
        } else {
            failed += 1;
            println!("FAIL  {place}  {}", result.name);
            for failure in &result.failures {
                println!("        {failure}");
            }
        }
    }
    println!("{} passed, {failed} failed", results.len() - failed);
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
