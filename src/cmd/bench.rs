//! `qlp bench`: throughput of ingestion and of evaluation, separately, on
//! one core.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use qlp_runtime::EngineKind;

use crate::cmd::{load_policies, parse_now, record_type};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The policy directory (or file).
    #[arg(long, short = 'p')]
    pub policies: PathBuf,
    /// JSONL records.
    pub input: PathBuf,
    #[arg(long = "type", short = 't')]
    pub record_type: Option<String>,
    /// The evaluation clock (default: 2022-06-01).
    #[arg(long)]
    pub now: Option<String>,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let Some(set) = load_policies(&args.policies)? else {
        return Ok(ExitCode::from(1));
    };
    let record = record_type(&set, args.record_type.as_deref())?;
    let now = parse_now(args.now.as_deref().unwrap_or("2022-06-01"))?;
    let data = std::fs::read(&args.input).with_context(|| format!("cannot read `{}`", args.input.display()))?;
    let lines: Vec<&[u8]> = data
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    let megabytes = data.len() as f64 / 1e6;

    let started = Instant::now();
    let rows: Vec<_> = lines.iter().filter_map(|l| set.ingest(record, l).ok()).collect();
    let ingest = started.elapsed().as_secs_f64();
    let rejected = lines.len() - rows.len();

    let mut context = set.context();
    let mut fired = 0usize;
    let started = Instant::now();
    for row in &rows {
        fired += set
            .compiled()
            .context("the policies were not compiled")?
            .evaluate_bits(record, row, now, &mut context)
            .iter()
            .map(|w| w.count_ones() as usize)
            .sum::<usize>();
    }
    let jit = started.elapsed().as_secs_f64();

    let started = Instant::now();
    for row in &rows {
        std::hint::black_box(set.evaluate(EngineKind::Interp, record, row, now, &mut context));
    }
    let interp = started.elapsed().as_secs_f64();

    let started = Instant::now();
    for row in &rows {
        let outcome = set.evaluate(EngineKind::Jit, record, row, now, &mut context);
        std::hint::black_box(serde_json::to_string(&set.decision(record, row, &outcome, now)).ok());
    }
    let decide = started.elapsed().as_secs_f64();

    let n = rows.len() as f64;
    let per = |secs: f64| if n > 0.0 { secs / n * 1e9 } else { 0.0 };
    println!(
        "{} records ({megabytes:.1} MB), {rejected} rejected, {fired} rule firings",
        rows.len()
    );
    println!(
        "ingest (JSON -> row):        {:>10.0} records/s  {:>8.1} MB/s  {:>8.0} ns/record",
        n / ingest,
        megabytes / ingest,
        per(ingest)
    );
    println!(
        "evaluate, JIT (rule bits):   {:>10.0} records/s  {:>8.0} ns/record",
        n / jit,
        per(jit)
    );
    println!(
        "evaluate, interpreter:       {:>10.0} records/s  {:>8.0} ns/record",
        n / interp,
        per(interp)
    );
    println!(
        "JIT + decision + JSON out:   {:>10.0} records/s  {:>8.0} ns/record",
        n / decide,
        per(decide)
    );
    Ok(ExitCode::SUCCESS)
}
