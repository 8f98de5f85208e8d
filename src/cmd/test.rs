//! `qlp test`: run the `test` blocks of policies on both engines.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::Workspace;
use qlp_compiler::jit::CompiledPolicySet;
use qlp_compiler::policy_test::{run_tests, run_tests_both, Engine};

use crate::render::{print_diagnostics, Format};

#[derive(clap::Args)]
pub struct TestArgs {
    /// Policy files or directories (searched for `.qlp` files).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The engine whose results are checked against the expectations. With
    /// `jit` the interpreter runs too, and any disagreement fails the test;
    /// `interp` runs the interpreter alone and compiles nothing.
    #[arg(long, value_parser = crate::cmd::engine_parser(), default_value = "jit")]
    pub engine: qlp_compiler::Engine,
    /// Report which rules and which sub-conditions (true and false) the tests exercised.
    #[arg(long)]
    pub coverage: bool,
    /// Fail when condition coverage is below this percentage (implies `--coverage`).
    #[arg(long, value_name = "PERCENT", value_parser = percent)]
    pub min_coverage: Option<f64>,
    /// Succeed when the policies hold no tests (by default that fails: a
    /// CI job that tests nothing should not pass).
    #[arg(long)]
    pub allow_empty: bool,
}

fn percent(text: &str) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("a percentage runs from 0 to 100, not {value}"))
    }
}

pub fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let checked = Workspace::open(&args.paths, None)?.check();
    let Some(program) = checked.program else {
        print_diagnostics(&checked.diagnostics, &checked.sources, Format::Human)?;
        eprintln!("the policies have errors: no test was run");
        return Ok(ExitCode::from(1));
    };
    if program.tests.is_empty() {
        let n_files = checked.sources.files().count();
        if args.allow_empty {
            println!("no tests in {n_files} file(s)");
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("error: no `test` blocks in {n_files} file(s): nothing was tested (pass `--allow-empty` if that is expected)");
        return Ok(ExitCode::from(1));
    }
    // `--engine interp` never compiles: the interpreter alone runs the tests.
    let compiled;
    let interp_program;
    let (program, results) = match args.engine {
        Engine::Jit => {
            compiled = CompiledPolicySet::compile(Arc::new(program))?;
            let results = run_tests_both(&compiled, Engine::Jit);
            (compiled.program().as_ref(), results)
        }
        Engine::Interp => {
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
        for ((rule, fired), branches) in program.rules.iter().zip(&coverage.rules_fired).zip(&coverage.branches) {
            if !fired {
                println!("  rule `{}` never fired", rule.name);
            }
            for branch in branches {
                if let Some(missing) = branch.missing() {
                    println!("  `{}`: `{}` {missing}", rule.name, branch.source);
                }
            }
        }
        for (def, branches) in program.fns.iter().zip(&coverage.fn_branches) {
            for branch in branches {
                if let Some(missing) = branch.missing() {
                    println!("  fn `{}`: `{}` {missing}", def.name, branch.source);
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
