//! `qlp bench`: what each stage of `qlp eval` costs per record, on one
//! core, over several passes (minimum and median), so that a change can be
//! told from noise and the stage to work on is named. The stages take
//! turns within each pass, so that a machine that slows down for a while
//! slows every stage alike and the ratios between them hold; the parsers
//! alone (no qlp code) are measured the same way, as the limit ingestion
//! is compared with. Loading the policies, paid once per process, is timed
//! once and reported with what it adds to a run of the file's records.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use qlp_compiler::layout::Row;
use qlp_compiler::outcome::Outcome;
use qlp_compiler::state::{Prepared, StateValues};
use qlp_compiler::Value;
use qlp_runtime::{Batch, EngineKind, PolicySet, State};

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
    #[arg(long, conflicts_with = "now_from")]
    pub now: Option<String>,
    /// Evaluate each record at the time in this field (as `qlp eval --now-from`).
    #[arg(long)]
    pub now_from: Option<String>,
    /// Passes over the records per stage; the minimum and the median are reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub passes: u32,
}

/// The seconds each pass of one stage took.
struct Stage {
    name: &'static str,
    passes: Vec<f64>,
}

impl Stage {
    fn min(&self) -> f64 {
        self.passes.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn median(&self) -> f64 {
        let mut sorted = self.passes.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
    }
}

/// A stage to time: its name and one pass over the records.
type Pass<'a> = (&'static str, Box<dyn FnMut() + 'a>);

/// Runs every stage once per pass, in turn, timing each.
fn measure(passes: u32, mut stages: Vec<Pass<'_>>) -> Vec<Stage> {
    let mut times = vec![Vec::new(); stages.len()];
    for _ in 0..passes {
        for ((_, pass), times) in stages.iter_mut().zip(&mut times) {
            let started = Instant::now();
            pass();
            times.push(started.elapsed().as_secs_f64());
        }
    }
    stages
        .iter()
        .zip(times)
        .map(|((name, _), passes)| Stage { name, passes })
        .collect()
}

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    // Paid once per process, and only by its first load: the tables
    // normalization builds on first use are built here.
    let started = Instant::now();
    let Some(set) = load_policies(&args.policies)? else {
        return Ok(ExitCode::from(1));
    };
    let load = started.elapsed().as_secs_f64();
    let record = record_type(&set, args.record_type.as_deref())?;
    let fixed_now = parse_now(args.now.as_deref().unwrap_or("2022-06-01"), &set)?;
    let data = std::fs::read(&args.input).with_context(|| format!("cannot read `{}`", args.input.display()))?;
    let lines: Vec<&[u8]> = data
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    let rows: Vec<Row> = lines.iter().filter_map(|l| set.ingest(record, l).ok()).collect();
    let rejected = lines.len() - rows.len();
    let nows: Vec<i64> = match &args.now_from {
        Some(field) => rows
            .iter()
            .map(|row| match set.field(record, row, field) {
                Some(Value::Time(t)) => Ok(t),
                _ => anyhow::bail!("`--now-from {field}`: a record has no time in `{field}`"),
            })
            .collect::<anyhow::Result<_>>()?,
        None => vec![fixed_now; rows.len()],
    };
    let passes = args.passes;
    let mut context = set.context();
    let compiled = set.compiled().context("the policies were not compiled")?;
    let stateful = set.is_stateful(record);
    let prepared: Vec<Prepared> = rows
        .iter()
        .map(|row| set.prepare(EngineKind::Jit, record, row, &mut context))
        .collect();
    // Outcomes with state, in input order: what the state stage writes.
    let (values, outcomes) = stateful_run(&set, record, &rows, &nows, &prepared, &mut context)?;

    let (mut key_context, mut jit_context, mut decision_context) = (set.context(), set.context(), set.context());
    let mut read = StateValues::default();
    let mut runs: Vec<Pass<'_>> = Vec::new();
    runs.push((
        "ingest (JSON -> row)",
        Box::new(|| {
            for line in &lines {
                std::hint::black_box(set.ingest(record, line).ok());
            }
        }),
    ));
    if stateful {
        runs.push((
            "state keys (JIT)",
            Box::new(|| {
                for row in &rows {
                    std::hint::black_box(set.prepare(EngineKind::Jit, record, row, &mut key_context));
                }
            }),
        ));
        runs.push((
            "state read + write (memory)",
            Box::new(|| {
                let state = State::memory();
                let committed = Batch::begin(&state, set.program(), &prepared).and_then(|mut batch| {
                    for (p, outcome) in prepared.iter().zip(&outcomes) {
                        batch.read_and_count(set.program(), p, &mut read);
                        batch.write_tags(set.program(), p, outcome);
                    }
                    batch.commit(set.program(), None)
                });
                std::hint::black_box(committed.is_ok());
            }),
        ));
    }
    runs.push((
        "evaluate, JIT",
        Box::new(|| {
            for ((row, now), values) in rows.iter().zip(&nows).zip(&values) {
                std::hint::black_box(compiled.conditions_with_state(record, row, *now, values, &mut jit_context));
            }
        }),
    ));
    runs.push((
        "evaluate, interpreter",
        Box::new(|| {
            for ((row, now), values) in rows.iter().zip(&nows).zip(&values) {
                std::hint::black_box(set.evaluate_with_state(
                    EngineKind::Interp,
                    record,
                    row,
                    *now,
                    values,
                    &mut context,
                ));
            }
        }),
    ));
    runs.push((
        "decision + JSON out",
        Box::new(|| {
            let mut json = Vec::with_capacity(256);
            for (((row, now), (outcome, values)), p) in
                rows.iter().zip(&nows).zip(outcomes.iter().zip(&values)).zip(&prepared)
            {
                let decision = set.decision_with_state(
                    EngineKind::Jit,
                    record,
                    row,
                    outcome,
                    *now,
                    p,
                    values,
                    &mut decision_context,
                );
                json.clear();
                set.write_decision(&decision, &mut json);
                std::hint::black_box(&json);
            }
        }),
    ));
    // The limits: the same lines parsed by the parsers alone, no qlp code.
    runs.push((
        LIMIT_SONIC,
        Box::new(|| {
            for line in &lines {
                std::hint::black_box(sonic_rs::from_slice::<sonic_rs::Value>(line).is_ok());
            }
        }),
    ));
    runs.push((
        "limit: parse, serde_json Value",
        Box::new(|| {
            for line in &lines {
                std::hint::black_box(serde_json::from_slice::<serde_json::Value>(line).is_ok());
            }
        }),
    ));
    let stages = measure(passes, runs);

    let n = rows.len() as f64;
    let fired: usize = outcomes.iter().map(|o| o.fired.len()).sum();
    println!(
        "{} records ({:.1} MB, {:.0} bytes each), {rejected} rejected, {fired} rule firings; {passes} passes per stage",
        rows.len(),
        data.len() as f64 / 1e6,
        data.len() as f64 / lines.len().max(1) as f64
    );
    println!(
        "{:<30} {:>12} {:>12} {:>14}",
        "stage", "min ns/rec", "median", "records/s"
    );
    let per = |secs: f64| if n > 0.0 { secs / n * 1e9 } else { 0.0 };
    let mut pipeline = 0.0;
    for stage in &stages {
        println!(
            "{:<30} {:>12.0} {:>12.0} {:>14.0}",
            stage.name,
            per(stage.min()),
            per(stage.median()),
            n / stage.min()
        );
        if stage.name != "evaluate, interpreter" && !stage.name.starts_with("limit") {
            pipeline += stage.min();
        }
    }
    println!(
        "{:<30} {:>12.0} {:>12} {:>14.0}",
        "eval on one core (sum, JIT)",
        per(pipeline),
        "",
        n / pipeline
    );
    let min_of = |name: &str| stages.iter().find(|s| s.name == name).map(Stage::min);
    let with_load = load + pipeline;
    println!(
        "load policies (parse, check, compile): {:.1} ms, once per process; one core with it, {} records: {:.0} records/s",
        load * 1e3,
        rows.len(),
        if with_load > 0.0 { n / with_load } else { 0.0 }
    );
    if let (Some(ingest), Some(limit)) = (min_of("ingest (JSON -> row)"), min_of(LIMIT_SONIC)) {
        println!(
            "ingest / sonic-rs parse: {:.2}x; one-core pipeline / sonic-rs parse: {:.2}x",
            ingest / limit,
            pipeline / limit
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The parse that ingestion is measured against.
const LIMIT_SONIC: &str = "limit: parse, sonic-rs Value";

/// Each row's state values and outcome when the rows are evaluated in
/// order with a fresh memory store (the values of a record type that keeps
/// no state are empty).
fn stateful_run(
    set: &PolicySet,
    record: qlp_compiler::program::RecordId,
    rows: &[Row],
    nows: &[i64],
    prepared: &[Prepared],
    context: &mut qlp_compiler::jit::EvalContext,
) -> anyhow::Result<(Vec<StateValues>, Vec<Outcome>)> {
    let state = State::memory();
    let mut batch = Batch::begin(&state, set.program(), prepared)?;
    let mut values = Vec::with_capacity(rows.len());
    let mut outcomes = Vec::with_capacity(rows.len());
    for ((row, now), p) in rows.iter().zip(nows).zip(prepared) {
        let read = batch.read(set.program(), p);
        let outcome = set.evaluate_with_state(EngineKind::Jit, record, row, *now, &read, context);
        batch.write(set.program(), p, &outcome);
        values.push(read);
        outcomes.push(outcome);
    }
    Ok((values, outcomes))
}
