//! The `qlp` command line: check, test, compile, evaluate and explain content policies.

mod alloc;
mod cmd;
mod config;
mod decision_log;
mod render;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Evaluation allocates small, short-lived buffers per record (rows,
/// touches, decisions); mimalloc's thread-local free lists serve them at a
/// fraction of the system allocator's cost.
#[global_allocator]
static ALLOCATOR: alloc::Mimalloc = alloc::Mimalloc;

#[derive(Parser)]
#[command(
    name = "qlp",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("QLP_COMMIT"), ")"),
    about = "Policy-as-code for content-governance campaigns"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check policies; report every error.
    Check(cmd::check::CheckArgs),
    /// Run the `test` blocks of policies on both engines.
    Test(cmd::test::TestArgs),
    /// Compile policies to native code; `--emit clif` prints the Cranelift IR.
    Compile(cmd::compile::CompileArgs),
    /// Evaluate JSONL records: decisions out, a summary at the end.
    Eval(cmd::eval::EvalArgs),
    /// Measure policies on labelled records (precision, recall, F1 per
    /// rule and campaign), and compare two versions on the same records.
    Backtest(cmd::backtest::BacktestArgs),
    /// The records the policies expect: a template, JSON Schema, or a
    /// check that a file of records conforms.
    Schema(cmd::schema::SchemaArgs),
    /// Serve decisions over HTTP: decide, explain, metrics, decision logs,
    /// shadow policies, reload on change.
    Serve(cmd::serve::ServeArgs),
    /// Explain every rule's result on one record.
    Explain(cmd::explain::ExplainArgs),
    /// Measure ingestion and evaluation throughput on a file.
    Bench(cmd::bench::BenchArgs),
    /// Lint policies for CI: human, JSON, SARIF or GitHub output.
    Lint(cmd::lint::LintArgs),
    /// A language server over stdio: diagnostics as you type, hover,
    /// definition, formatting, document symbols (`docs/editors.md`).
    Lsp(cmd::lsp::LspArgs),
    /// Format policies in the canonical layout (`--check` for CI).
    Fmt(cmd::fmt::FmtArgs),
}

fn main() -> ExitCode {
    alloc::configure();
    // Like other Unix tools, stop quietly when the reader of our output goes
    // away (`qlp lint ... | head`), instead of panicking on a broken pipe.
    // SAFETY: sets the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => cmd::check::run(&args),
        Command::Test(args) => cmd::test::run(&args),
        Command::Compile(args) => cmd::compile::run(&args),
        Command::Eval(args) => cmd::eval::run(&args),
        Command::Backtest(args) => cmd::backtest::run(&args),
        Command::Schema(args) => cmd::schema::run(&args),
        Command::Serve(args) => cmd::serve::run(&args),
        Command::Explain(args) => cmd::explain::run(&args),
        Command::Bench(args) => cmd::bench::run(&args),
        Command::Lint(args) => cmd::lint::run(&args),
        Command::Fmt(args) => cmd::fmt::run(&args),
        Command::Lsp(args) => cmd::lsp::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
