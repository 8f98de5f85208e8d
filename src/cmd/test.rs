//! `qlp test`: run the `test` blocks of policies on both engines.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::Workspace;
use qlp_compiler::jit::CompiledPolicySet;
use qlp_compiler::policy_test::{run_tests, run_tests_both, Engine};

use crate::cmd::EngineArg;
use crate::render::{print_diagnostics, Format};

#[derive(clap::Args)]
pub struct TestArgs {
    /// Policy files or directories (searched for `.qlp` files).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The engine whose results are checked against the expectations. With
    /// `jit` the interpreter runs too, and any disagreement fails the test;
    /// `interp` runs the interpreter alone and compiles nothing.
    #[arg(long, value_enum, default_value = "jit")]
    pub engine: EngineArg,
    /// Report which rules and which sub-conditions (true and false) the tests exercised.
    #[arg(long)]
    pub coverage: bool,
    /// Fail when condition coverage is below this percentage (implies `--coverage`).
    #[arg(long, value_name = "PERCENT")]
    pub min_coverage: Option<f64>,
}

pub fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let checked = Workspace::open(&args.paths, None)?.check();
    let Some(program) = checked.program else {
        print_diagnostics(&checked.diagnostics, &checked.sources, Format::Human)?;
        eprintln!("the policies have errors: no test was run");
        return Ok(ExitCode::from(1));
    };
    // `--engine interp` never compiles: the interpreter alone runs the tests.
    let compiled;
    let interp_program;
    let (program, results) = match args.engine {
        EngineArg::Jit => {
            compiled = CompiledPolicySet::compile(Arc::new(program))?;
            let results = run_tests_both(&compiled, Engine::Jit);
            (compiled.program().as_ref(), results)
        }
        EngineArg::Interp => {
            let results = run_tests(&program);
            interp_program = program;
            (&interp_program, results)
        }
    };
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
    let mut below = false;
    if args.coverage || args.min_coverage.is_some() {
        let coverage = qlp_compiler::policy_test::coverage(program);
        let fired = coverage.rules_fired.iter().filter(|f| **f).count();
        let (covered, total) = coverage.branch_counts();
        println!(
            "coverage: {fired}/{} rules fired in a test ({:.1}%), {covered}/{total} condition outcomes ({:.1}%)",
            coverage.rules_fired.len(),
            coverage.rule_percent(),
            coverage.branch_percent()
        );
        for ((rule, fired), conditions) in program
            .rules
            .iter()
            .zip(&coverage.rules_fired)
            .zip(&coverage.conditions)
        {
            if !fired {
                println!("  rule `{}` never fired", rule.name);
            }
            for (source, seen_true, seen_false) in conditions {
                match (seen_true, seen_false) {
                    (true, true) => {}
                    (false, false) => println!("  `{}`: `{source}` never evaluated", rule.name),
                    (false, true) => println!("  `{}`: `{source}` never true", rule.name),
                    (true, false) => println!("  `{}`: `{source}` never false", rule.name),
                }
            }
        }
        if let Some(minimum) = args.min_coverage {
            if coverage.branch_percent() < minimum {
                println!(
                    "condition coverage {:.1}% is below {minimum}%",
                    coverage.branch_percent()
                );
                below = true;
            }
        }
    }
    println!("{} passed, {failed} failed", results.len() - failed);
    Ok(if failed == 0 && !below {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
