//! `qlp backtest`: the policies measured on labelled records (precision,
//! recall and F1 per rule, per campaign and overall, with examples of their
//! mistakes), and two versions of them compared on the same records.

mod compare;
mod labels;
mod render;
mod report;

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicUsize;

use anyhow::Context;
use qlp_compiler::program::RecordId;
use qlp_runtime::{Decision, PolicySet, State};

use crate::cmd::eval::input::spawn_reader;
use crate::cmd::eval::stream::{Clock, LineResult, Stream};
use crate::cmd::eval::{SelectionArgs, DEFAULT_MAX_RECORD_BYTES};
use crate::cmd::{load_policies_in, record_type};
use compare::{Comparer, Old};
use labels::Labels;
use report::{Builder, Report};

#[derive(clap::Args)]
pub struct BacktestArgs {
    /// The policy directory (or file).
    #[arg(long, short = 'p')]
    pub policies: PathBuf,
    /// JSONL records to evaluate.
    pub input: PathBuf,
    /// Labels: JSON Lines, or CSV when the name ends in `.csv`; an id
    /// column and one or more label columns (1/0, true/false, yes/no; empty:
    /// not labelled).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// What a label column labels: `COLUMN=any` (the record should be
    /// flagged by some rule), `COLUMN=campaign:NAME`, `COLUMN=rule:NAME`
    /// (repeatable). Default: a column `label` is `any`, and columns named
    /// after a campaign or a rule label it.
    #[arg(long = "label", value_name = "COLUMN=TARGET")]
    pub label_columns: Vec<String>,
    /// The labels' id column, matched with the records' `id`.
    #[arg(long, value_name = "COLUMN", default_value = "id")]
    pub label_id: String,
    /// Compare with another version of the policies on the same records:
    /// which decisions change, by verdict and by rule, with examples.
    #[arg(long, value_name = "OLD_DIR")]
    pub baseline: Option<PathBuf>,
    /// The record type of the input (default: the only type rules apply to).
    #[arg(long = "type", short = 't')]
    pub record_type: Option<String>,
    /// When records are evaluated: the name of a `time` field of theirs
    /// (each at its own time), or one time for all (RFC 3339 or a date).
    /// Default: the record type's first required `time` field.
    #[arg(long, value_name = "FIELD|TIME")]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[arg(long, value_parser = crate::cmd::engine_parser(), default_value = "jit")]
    pub engine: qlp_compiler::Engine,
    /// `table` (readable), `json`, or `html` (a self-contained report with
    /// a precision/recall chart per rule).
    #[arg(long, default_value = "table", value_parser = ["table", "json", "html"])]
    pub format: String,
    /// Where to write the report (standard output by default).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Examples of mistakes (and of changes) kept per row.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(0..=1000))]
    pub samples: u16,
    /// The largest record (input line) in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_record_bytes: Option<u64>,
    /// Exit 1 when more than this share (0 to 1) of the lines were rejected.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub max_failed_share: f64,
}

pub fn run(args: &BacktestArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.max_failed_share),
        "--max-failed-share must be between 0 and 1, not {}",
        args.max_failed_share
    );
    anyhow::ensure!(
        args.labels.is_some() || args.baseline.is_some(),
        "nothing to measure: give `--labels FILE` to measure the policies, `--baseline OLD_DIR` to compare two versions, or both"
    );
    let workspace = crate::config::Workspace::open(std::slice::from_ref(&args.policies), None)?;
    let selection = args.selection.selection();
    let Some(set) = load_policies_in(&workspace, &args.policies, args.engine, &selection)? else {
        return Ok(ExitCode::from(1));
    };
    let record = record_type(&set, args.record_type.as_deref())?;
    let (clock, as_of) = clock(&set, record, args.as_of.as_deref())?;
    let labels = match &args.labels {
        Some(path) => Some(Labels::read(path, &args.label_id, &args.label_columns, set.program())?),
        None => None,
    };
    let max_record_bytes = args
        .max_record_bytes
        .or(workspace.config.limits.record_bytes)
        .unwrap_or(DEFAULT_MAX_RECORD_BYTES);
    let samples = usize::from(args.samples);
    let empty_report = || Report {
        policies: String::new(),
        records_file: args.input.display().to_string(),
        records: 0,
        rejected: 0,
        unlabelled: 0,
        labels_without_record: 0,
        as_of: as_of.clone(),
        all_active: args.selection.all_active,
        verdicts: Default::default(),
        targets: Vec::new(),
        comparison: None,
    };

    // The baseline first: its decisions are kept, compactly, by line.
    let mut comparer = None;
    let mut baseline_targets = Vec::new();
    if let Some(dir) = &args.baseline {
        let old_workspace = crate::config::Workspace::open(std::slice::from_ref(dir), None)?;
        let lenient = qlp_runtime::Selection {
            lenient: true,
            ..selection.clone()
        };
        let Some(old_set) = load_policies_in(&old_workspace, dir, args.engine, &lenient)? else {
            return Ok(ExitCode::from(1));
        };
        let name = set.program().record(record).map(|r| r.name.clone()).unwrap_or_default();
        let old_record = old_set
            .record_type(&name)
            .with_context(|| format!("the baseline `{}` has no record type `{name}`", dir.display()))?;
        let mut builder = Builder::new(old_set.program(), old_record, labels.as_ref(), samples, empty_report());
        let mut old = HashMap::new();
        decide_file(
            &old_set,
            old_record,
            &clock,
            args,
            max_record_bytes,
            |line, id, decision, input| {
                builder.add(line, id, decision, input);
                old.insert(line, Old::of(decision));
            },
        )?;
        baseline_targets = builder.finish().targets;
        comparer = Some(Comparer::new(
            set.program(),
            record,
            dir.display().to_string(),
            old,
            samples,
        ));
    }

    let mut builder = Builder::new(set.program(), record, labels.as_ref(), samples, empty_report());
    let rejected = decide_file(
        &set,
        record,
        &clock,
        args,
        max_record_bytes,
        |line, id, decision, input| {
            builder.add(line, id, decision, input);
            if let Some(comparer) = &mut comparer {
                comparer.add(line, id, decision, input);
            }
        },
    )?;
    let mut report = builder.finish();
    report.policies = args.policies.display().to_string();
    report.rejected = rejected;
    report.comparison = comparer.map(|c| c.finish(baseline_targets));

    let text = match args.format.as_str() {
        "json" => serde_json::to_string_pretty(&report)? + "\n",
        "html" => render::html(&report),
        _ => render::table(&report),
    };
    match &args.output {
        Some(path) => {
            let mut file = File::create(path).with_context(|| format!("cannot create `{}`", path.display()))?;
            file.write_all(text.as_bytes())?;
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    let total = report.records + report.rejected;
    if rejected > 0 && rejected as f64 > args.max_failed_share * total as f64 {
        eprintln!(
            "error: {rejected} of {total} line(s) were rejected, more than --max-failed-share {}: the figures leave them out",
            args.max_failed_share
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The clock of `--as-of`, and how the report says it.
fn clock(set: &PolicySet, record: RecordId, as_of: Option<&str>) -> anyhow::Result<(Clock, String)> {
    let def = set.program().record(record).context("unknown record type")?;
    let is_time = |name: &str| {
        def.fields
            .iter()
            .any(|f| f.name == name && matches!(f.ty.strip_optional(), qlp_compiler::Type::Time))
    };
    match as_of {
        Some(field) if is_time(field) => Ok((Clock::Field(field.to_string()), format!("each record's `{field}`"))),
        Some(text) => match qlp_grammar::time::parse_time_in(text, &set.program().zone) {
            Ok(now) => Ok((Clock::Fixed(now), text.to_string())),
            Err(error) => anyhow::bail!(
                "`--as-of {text}` is neither a `time` field of `{}` nor a time ({error})",
                def.name
            ),
        },
        None => {
            let field = def
                .fields
                .iter()
                .find(|f| matches!(f.ty, qlp_compiler::Type::Time))
                .with_context(|| {
                    format!(
                        "`{}` has no required `time` field to evaluate each record at: give `--as-of TIME`",
                        def.name
                    )
                })?;
            Ok((
                Clock::Field(field.name.clone()),
                format!("each record's `{}`", field.name),
            ))
        }
    }
}

/// Decides every record of the input file with `set` (state, if the
/// record type keeps any, in memory from empty), handing each decision to
/// `each`; returns how many lines were rejected (each reported on stderr).
fn decide_file(
    set: &PolicySet,
    record: RecordId,
    clock: &Clock,
    args: &BacktestArgs,
    max_record_bytes: u64,
    mut each: impl FnMut(usize, Option<&str>, &Decision, Option<&[u8]>),
) -> anyhow::Result<usize> {
    let file = open(&args.input)?;
    let mut lines = spawn_reader(Box::new(file), max_record_bytes);
    let state = if set.is_stateful(record) {
        Some(State::open("memory")?)
    } else {
        None
    };
    let stream = Stream {
        set,
        record,
        kind: args.engine,
        clock: clock.clone(),
        state: state.as_ref(),
        skip: 0,
        render: false,
        keep_input: true,
        strict: false,
    };
    let mut unknown = crate::cmd::eval::stream::UnknownFields::default();
    let mut rejected = 0;
    let stop = AtomicUsize::new(0);
    stream.run(&mut lines, &stop, |results, _| {
        for result in results {
            match result {
                LineResult::Decided {
                    line,
                    id,
                    decision,
                    input,
                    warnings,
                    ..
                } => {
                    for text in unknown.note(line, &warnings) {
                        eprintln!("{text}");
                    }
                    each(line, id.as_deref(), &decision, input.as_deref());
                }
                LineResult::Rejected { line, message } => {
                    rejected += 1;
                    eprintln!("error: line {line}: {message}");
                }
                LineResult::Blank => {}
            }
        }
        Ok(())
    })?;
    Ok(rejected)
}

fn open(path: &Path) -> anyhow::Result<File> {
    File::open(path).with_context(|| format!("cannot open `{}`", path.display()))
}
