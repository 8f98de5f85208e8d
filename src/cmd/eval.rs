//! `qlp eval`: JSONL records in, JSONL decisions out. Streams in batches,
//! evaluates each batch in parallel, keeps input order, reports bad records
//! and goes on, and prints a summary at the end.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use qlp_compiler::program::RecordId;
use qlp_compiler::Value;
use qlp_runtime::{Decision, PolicySet};
use rayon::prelude::*;

use crate::cmd::{load_policies, parse_now, record_type, EngineArg};

/// Records per parallel batch: bounds memory whatever the input size.
const BATCH: usize = 2048;

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The policy directory (or file).
    #[arg(long, short = 'p')]
    pub policies: PathBuf,
    /// JSONL records; `-` or nothing reads standard input.
    pub input: Option<PathBuf>,
    /// Where to write decisions (JSONL); standard output by default.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// The record type of the input (default: the only type rules apply to).
    #[arg(long = "type", short = 't')]
    pub record_type: Option<String>,
    /// The evaluation clock: an RFC 3339 time or a date (default: the current time).
    #[arg(long, conflicts_with = "now_from")]
    pub now: Option<String>,
    /// Evaluate each record at the time in this field of its own (e.g. `created_at`).
    #[arg(long)]
    pub now_from: Option<String>,
    #[arg(long, value_enum, default_value = "jit")]
    pub engine: EngineArg,
    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// One line of output: the input line number, the record's `id`, its decision.
#[derive(serde::Serialize)]
struct OutputLine<'a> {
    line: usize,
    id: Option<&'a str>,
    decision: &'a Decision,
}

/// What happened to one input line.
enum LineResult {
    Decided {
        line: usize,
        json: String,
        decision: Decision,
    },
    Rejected {
        line: usize,
        message: String,
    },
    Blank,
}

#[derive(Default)]
struct Summary {
    records: usize,
    rejected: usize,
    verdicts: BTreeMap<String, usize>,
    rules: BTreeMap<String, usize>,
    campaigns: BTreeMap<String, usize>,
    rule_errors: usize,
}

pub fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let Some(set) = load_policies(&args.policies)? else {
        return Ok(ExitCode::from(1));
    };
    let record = record_type(&set, args.record_type.as_deref())?;
    let fixed_now = match (&args.now, &args.now_from) {
        (Some(text), _) => Some(parse_now(text)?),
        (None, Some(_)) => None,
        (None, None) => Some(system_now()),
    };
    if let Some(field) = &args.now_from {
        let def = set.program().record(record).context("unknown record type")?;
        let ok = def
            .fields
            .iter()
            .any(|f| f.name == *field && matches!(f.ty.strip_optional(), qlp_compiler::Type::Time));
        anyhow::ensure!(
            ok,
            "`--now-from {field}`: the record type has no `time` field `{field}`"
        );
    }

    let (reader, total_bytes): (Box<dyn Read + Send>, Option<u64>) = match &args.input {
        None => (Box::new(std::io::stdin()), None),
        Some(path) if path.as_os_str() == "-" => (Box::new(std::io::stdin()), None),
        Some(path) => {
            let file = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
            let size = file.metadata().ok().map(|m| m.len());
            (Box::new(file), size)
        }
    };
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let writer: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(File::create(path).with_context(|| format!("cannot create `{}`", path.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut writer = BufWriter::with_capacity(1 << 16, writer);

    let progress = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = match total_bytes {
            Some(total) => indicatif::ProgressBar::new(total),
            None => indicatif::ProgressBar::new_spinner(),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {bytes_per_sec} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });

    let kind = args.engine.into();
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut line_number = 0usize;
    let mut batch: Vec<(usize, Vec<u8>)> = Vec::with_capacity(BATCH);
    loop {
        batch.clear();
        let mut read_bytes = 0u64;
        while batch.len() < BATCH {
            let mut line = Vec::new();
            let n = reader.read_until(b'\n', &mut line).context("cannot read the input")?;
            if n == 0 {
                break;
            }
            read_bytes += n as u64;
            line_number += 1;
            batch.push((line_number, line));
        }
        if batch.is_empty() {
            break;
        }
        let results: Vec<LineResult> = batch
            .par_iter()
            .map_init(
                || set.context(),
                |context, (line, bytes)| decide_line(&set, record, kind, *line, bytes, fixed_now, args, context),
            )
            .collect();
        for result in results {
            match result {
                LineResult::Decided { line, json, decision } => {
                    writer.write_all(json.as_bytes())?;
                    writer.write_all(b"\n")?;
                    let _ = line;
                    summary.add(&decision);
                }
                LineResult::Rejected { line, message } => {
                    summary.rejected += 1;
                    let text = format!("error: line {line}: {message}");
                    match &progress {
                        Some(bar) => bar.println(text),
                        None => eprintln!("{text}"),
                    }
                }
                LineResult::Blank => {}
            }
        }
        if let Some(bar) = &progress {
            bar.inc(read_bytes);
            bar.set_message(format!("{} records", summary.records));
        }
    }
    writer.flush()?;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    if !args.quiet {
        summary.print(started.elapsed().as_secs_f64());
    }
    Ok(ExitCode::SUCCESS)
}

#[expect(clippy::too_many_arguments, reason = "one line's whole context")]
fn decide_line(
    set: &PolicySet,
    record: RecordId,
    kind: qlp_runtime::EngineKind,
    line: usize,
    bytes: &[u8],
    fixed_now: Option<i64>,
    args: &EvalArgs,
    context: &mut qlp_compiler::jit::EvalContext,
) -> LineResult {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return LineResult::Blank;
    }
    let row = match set.ingest(record, bytes) {
        Ok(row) => row,
        Err(error) => {
            return LineResult::Rejected {
                line,
                message: error.to_string(),
            }
        }
    };
    let now = match (fixed_now, &args.now_from) {
        (Some(now), _) => now,
        (None, Some(field)) => match set.field(record, &row, field) {
            Some(Value::Time(t)) => t,
            _ => {
                return LineResult::Rejected {
                    line,
                    message: format!("`{field}` is missing, so there is no time to evaluate at"),
                }
            }
        },
        (None, None) => 0,
    };
    let outcome = set.evaluate(kind, record, &row, now, context);
    let decision = set.decision(record, &row, &outcome, now);
    let id = match set.field(record, &row, "id") {
        Some(Value::Str(id)) => Some(id.to_string()),
        _ => None,
    };
    let json = serde_json::to_string(&OutputLine {
        line,
        id: id.as_deref(),
        decision: &decision,
    })
    .unwrap_or_default();
    LineResult::Decided { line, json, decision }
}

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

impl Summary {
    fn add(&mut self, decision: &Decision) {
        self.records += 1;
        *self.verdicts.entry(decision.verdict.clone()).or_default() += 1;
        for fired in &decision.fired {
            *self.rules.entry(fired.rule.clone()).or_default() += 1;
            if let Some(campaign) = &fired.campaign {
                *self.campaigns.entry(campaign.clone()).or_default() += 1;
            }
        }
        self.rule_errors += decision.errors.len();
    }

    fn print(&self, seconds: f64) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "records:    {} evaluated, {} rejected",
            self.records, self.rejected
        );
        let order = ["allow", "label", "limit", "review", "remove", "block", "suspend", "ban"];
        let verdicts: Vec<String> = order
            .iter()
            .filter_map(|v| self.verdicts.get(*v).map(|n| format!("{v} {n}")))
            .collect();
        let _ = writeln!(err, "verdicts:   {}", verdicts.join(", "));
        let top = |counts: &BTreeMap<String, usize>, n: usize| {
            let mut sorted: Vec<(&String, &usize)> = counts.iter().collect();
            sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            sorted
                .into_iter()
                .take(n)
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(err, "top rules:  {}", top(&self.rules, 10));
        let _ = writeln!(err, "campaigns:  {}", top(&self.campaigns, usize::MAX));
        let _ = writeln!(err, "errors:     {} rule error(s)", self.rule_errors);
        let rate = if seconds > 0.0 {
            self.records as f64 / seconds
        } else {
            0.0
        };
        let _ = writeln!(err, "throughput: {rate:.0} records/s ({seconds:.3} s)");
    }
}
