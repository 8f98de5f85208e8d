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
    /// Run only the tests whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// `human`, `json` (one object per test, then a summary object) or
    /// `junit` (JUnit XML, for CI test reports).
    #[arg(long, default_value = "human", value_parser = ["human", "json", "junit"])]
    pub format: String,
    /// Also write the coverage as lcov (rules as functions, condition
    /// outcomes as branches) to this file (implies `--coverage`).
    #[arg(long, value_name = "FILE")]
    pub lcov: Option<PathBuf>,
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
    let Some(mut program) = checked.program else {
        print_diagnostics(&checked.diagnostics, &checked.sources, Format::Human)?;
        eprintln!("the policies have errors: no test was run");
        return Ok(ExitCode::from(1));
    };
    if let Some(filter) = &args.filter {
        let before = program.tests.len();
        program.tests.retain(|test| test.name.contains(filter.as_str()));
        if program.tests.is_empty() {
            eprintln!("error: no test name contains `{filter}` (of {before} test(s))");
            return Ok(ExitCode::from(1));
        }
    }
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
    let failed = results.iter().filter(|r| !r.passed()).count();
    let place = |result: &qlp_compiler::policy_test::TestResult| {
        let (line, _) = program
            .sources
            .line_col(result.location.file, result.location.span.start);
        (program.sources.name(result.location.file).to_string(), line)
    };
    match args.format.as_str() {
        "json" => {
            for result in &results {
                let (file, line) = place(result);
                let object = serde_json::json!({
                    "name": result.name, "file": file, "line": line,
                    "passed": result.passed(), "failures": result.failures,
                });
                println!("{object}");
            }
            println!(
                "{}",
                serde_json::json!({"passed": results.len() - failed, "failed": failed})
            );
            return Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        "junit" => {
            print!("{}", junit(&results, &place));
            return Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        _ => {}
    }
    for result in &results {
        let (file, line) = place(result);
        if result.passed() {
            println!("ok    {file}:{line}  {}", result.name);
        } else {
            println!("FAIL  {file}:{line}  {}", result.name);
            for failure in &result.failures {
                println!("        {failure}");
            }
        }
    }
    let mut below = false;
    if args.coverage || args.min_coverage.is_some() || args.lcov.is_some() {
        let coverage = qlp_compiler::policy_test::coverage(program);
        if let Some(path) = &args.lcov {
            std::fs::write(path, lcov(program, &coverage))
                .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))?;
        }
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

/// Test results as JUnit XML: one test suite, one test case per test.
fn junit(
    results: &[qlp_compiler::policy_test::TestResult],
    place: &dyn Fn(&qlp_compiler::policy_test::TestResult) -> (String, usize),
) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failed = results.iter().filter(|r| !r.passed()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites tests=\"{}\" failures=\"{failed}\">\n<testsuite name=\"qlp\" tests=\"{}\" failures=\"{failed}\">\n",
        results.len(),
        results.len()
    ));
    for result in results {
        let (file, line) = place(result);
        out.push_str(&format!(
            "  <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{line}\"",
            escape(&result.name),
            escape(&file),
            escape(&file)
        ));
        if result.passed() {
            out.push_str("/>\n");
        } else {
            out.push_str(&format!(
                ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>\n",
                escape(result.failures.first().map_or("failed", String::as_str)),
                escape(&result.failures.join("\n"))
            ));
        }
    }
    out.push_str("</testsuite>\n</testsuites>\n");
    out
}

/// Coverage as lcov: each rule a function (hit when a test fired it) and a
/// line, each condition outcome a branch on the rule's line.
fn lcov(program: &qlp_compiler::Program, coverage: &qlp_compiler::policy_test::Coverage) -> String {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    let mut by_file: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, rule) in program.rules.iter().enumerate() {
        by_file
            .entry(program.sources.name(rule.location.file).to_string())
            .or_default()
            .push(index);
    }
    let mut out = String::new();
    for (file, rules) in by_file {
        let _ = writeln!(out, "TN:qlp\nSF:{file}");
        let (mut hit_fns, mut branches, mut hit_branches) = (0, 0, 0);
        for &index in &rules {
            let Some(rule) = program.rules.get(index) else { continue };
            let line = program.sources.line_col(rule.location.file, rule.location.span.start).0;
            let fired = coverage.rules_fired.get(index).copied().unwrap_or(false);
            hit_fns += usize::from(fired);
            let _ = writeln!(
                out,
                "FN:{line},{}\nFNDA:{},{}",
                rule.name,
                usize::from(fired),
                rule.name
            );
            for (block, branch) in coverage.branches.get(index).into_iter().flatten().enumerate() {
                for (way, taken) in branch.seen.iter().enumerate() {
                    branches += 1;
                    hit_branches += usize::from(*taken);
                    let _ = writeln!(out, "BRDA:{line},{block},{way},{}", usize::from(*taken));
                }
            }
            let _ = writeln!(out, "DA:{line},{}", usize::from(fired));
        }
        let _ = writeln!(
            out,
            "FNF:{}\nFNH:{hit_fns}\nBRF:{branches}\nBRH:{hit_branches}\nLF:{}\nLH:{hit_fns}\nend_of_record",
            rules.len(),
            rules.len()
        );
    }
    out
}
