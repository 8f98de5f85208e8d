//! `qlp eval`: JSONL records in, JSONL decisions out. Streams in batches,
//! evaluates each batch in parallel, keeps input order, reports bad records
//! and goes on, and prints a summary at the end.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use qlp_runtime::{Decision, State};
use signal_hook::consts::{SIGINT, SIGTERM};

use crate::cmd::{load_policies_in, parse_now, record_type};

pub(crate) mod input;
pub(crate) mod stream;

use input::spawn_reader;
use stream::{Clock, LineResult, Stream, UnknownFields};
/// The largest record (one input line), unless `--max-record-bytes` or
/// `[limits] record_bytes` in `qlp.toml` says otherwise.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 4 << 20;

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
    #[arg(long, value_parser = crate::cmd::engine_parser(), default_value = "jit")]
    pub engine: qlp_compiler::Engine,
    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// The largest record (input line) in bytes; longer lines are rejected
    /// with their line number (default 4 MiB, or `[limits] record_bytes`).
    #[arg(long, value_name = "BYTES")]
    pub max_record_bytes: Option<u64>,
    /// Exit 1 when more than this share (0 to 1) of the records were
    /// rejected or undecided (a rule hit a run-time error).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub max_failed_share: f64,
    /// Where counters, distinct counts, first-seen records and tags are
    /// kept across records: `memory` (gone when the run ends), the path of
    /// a store file on this machine (durable, committed per batch), or
    /// `redis://host:port[/db]` (shared by many machines).
    #[arg(long, value_name = "STORE", default_value = "memory")]
    pub state: String,
    /// Skip the input records a previous run on the same `--state` store
    /// already committed (after a crash or a kill, give it the same input).
    #[arg(long, requires = "state")]
    pub resume: bool,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Reject records with fields the schema does not declare (by default
    /// each such field is a warning, once per field, and ignored).
    #[arg(long)]
    pub strict: bool,
    /// Also append every decision to this JSONL log, as `qlp serve` does:
    /// decision id, times, policy version, record id, the decision.
    #[arg(long, value_name = "FILE")]
    pub decision_log: Option<PathBuf>,
    /// Rotate the decision log past this size: the file becomes `FILE.1`.
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20, value_parser = clap::value_parser!(u64).range(4096..))]
    pub decision_log_max_bytes: u64,
    /// Also write the summary (counts per verdict, rule and campaign) as
    /// JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

/// `--campaign`, `--rule`, `--all-active`: which rules run, and when.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SelectionArgs {
    /// Run only the rules of this campaign (repeatable; with `--rule`, both).
    #[arg(long = "campaign", value_name = "NAME")]
    pub campaigns: Vec<String>,
    /// Run only this rule (repeatable).
    #[arg(long = "rule", value_name = "NAME")]
    pub rules: Vec<String>,
    /// Evaluate every campaign as active, whatever the time: replaying
    /// records from before or after a campaign's period.
    #[arg(long)]
    pub all_active: bool,
}

impl SelectionArgs {
    pub fn selection(&self) -> qlp_runtime::Selection {
        qlp_runtime::Selection {
            campaigns: self.campaigns.clone(),
            rules: self.rules.clone(),
            all_active: self.all_active,
            lenient: false,
        }
    }
}

/// What a run decided, in total: printed at the end, and written as JSON
/// with `--summary-json`.
#[derive(Default, serde::Serialize)]
pub struct Summary {
    records: usize,
    rejected: usize,
    verdicts: BTreeMap<String, usize>,
    rules: BTreeMap<String, usize>,
    campaigns: BTreeMap<String, usize>,
    /// Rules in shadow that would have fired.
    shadow_rules: BTreeMap<String, usize>,
    rule_errors: usize,
    /// Records on which some rule could not decide.
    undecided: usize,
}

pub fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.max_failed_share),
        "--max-failed-share must be between 0 and 1, not {}",
        args.max_failed_share
    );
    let workspace = crate::config::Workspace::open(std::slice::from_ref(&args.policies), None)?;
    let Some(set) = load_policies_in(&workspace, &args.policies, args.engine, &args.selection.selection())? else {
        return Ok(ExitCode::from(1));
    };
    let max_record_bytes = args
        .max_record_bytes
        .or(workspace.config.limits.record_bytes)
        .unwrap_or(DEFAULT_MAX_RECORD_BYTES);
    let record = record_type(&set, args.record_type.as_deref())?;
    let fixed_now = match (&args.now, &args.now_from) {
        (Some(text), _) => Some(parse_now(text, &set)?),
        (None, Some(_)) => None,
        (None, None) => Some(qlp_runtime::Timestamp::now().micros()),
    };
    if let Some(now) = fixed_now {
        warn_if_no_campaign_is_active(&set, record, now, args.now.is_none());
    }
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

    let (reader, total_bytes, input_id): (Box<dyn Read + Send>, Option<u64>, Option<FileId>) = match &args.input {
        Some(path) if path.as_os_str() != "-" => {
            let file = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
            let metadata = file.metadata().ok();
            let size = metadata.as_ref().map(|m| m.len());
            (Box::new(file), size, metadata.as_ref().map(FileId::of))
        }
        _ => (Box::new(std::io::stdin()), None, stdin_id()),
    };
    // A store file is a database: never the input or the output.
    let store_path = (args.state != "memory" && !args.state.contains("://")).then(|| PathBuf::from(&args.state));
    if let Some(store) = &store_path {
        let store_id = std::fs::metadata(store).ok().map(|m| FileId::of(&m));
        let output_id = args
            .output
            .as_ref()
            .and_then(|o| std::fs::metadata(o).ok())
            .map(|m| FileId::of(&m));
        let clash = (store_id.is_some() && (store_id == input_id || store_id == output_id))
            || args.output.as_deref() == Some(store.as_path());
        anyhow::ensure!(
            !clash,
            "`--state {}` is the input or the output file: the state store needs a file of its own",
            store.display()
        );
    }
    let writer: Box<dyn Write> = match &args.output {
        Some(path) => {
            // Opening for writing truncates: never do that to the input.
            if let (Some(input), Ok(output)) = (input_id, std::fs::metadata(path)) {
                anyhow::ensure!(
                    input != FileId::of(&output),
                    "`-o {}` is the input file: writing decisions there would destroy the records before they are read",
                    path.display()
                );
            }
            Box::new(File::create(path).with_context(|| format!("cannot create `{}`", path.display()))?)
        }
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

    // The first SIGINT or SIGTERM stops reading and finishes what was read;
    // a second one exits at once.
    let stop = Arc::new(AtomicUsize::new(0));
    let stopping = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        let exit_code = 128 + signal as u32;
        signal_hook::flag::register_conditional_shutdown(signal, exit_code as i32, stopping.clone())
            .and_then(|_| signal_hook::flag::register(signal, stopping.clone()))
            .and_then(|_| signal_hook::flag::register_usize(signal, stop.clone(), signal as usize))
            .context("cannot install the signal handler")?;
    }
    let mut lines = spawn_reader(reader, max_record_bytes);

    let kind = args.engine;
    // Records that read or feed state go through the store in input order.
    let state = if set.is_stateful(record) {
        Some(State::open(&args.state)?)
    } else {
        if args.state != "memory" && !args.quiet {
            eprintln!(
                "warning: the policies keep no state for this record type: `--state {}` is not used",
                args.state
            );
        }
        None
    };
    // Batches are large only where each costs a commit.
    if state.as_ref().is_none_or(State::is_memory) {
        lines.batch = input::CACHED_BATCH;
    }
    let skip = match (&state, args.resume) {
        (Some(state), true) => state.store().cursor()?.unwrap_or(0),
        (None, true) => anyhow::bail!("`--resume` needs policies that keep state for this record type"),
        _ => 0,
    };
    let started = Instant::now();
    let mut summary = Summary::default();
    let clock = match (fixed_now, &args.now_from) {
        (Some(now), _) => Clock::Fixed(now),
        (None, Some(field)) => Clock::Field(field.clone()),
        (None, None) => Clock::Fixed(0),
    };
    let stream = Stream {
        set: &set,
        record,
        kind,
        clock,
        state: state.as_ref(),
        skip,
        render: true,
        keep_input: false,
        strict: args.strict,
    };
    let mut unknown = UnknownFields::default();
    let log = match &args.decision_log {
        Some(path) => Some(crate::decision_log::DecisionLog::open(
            path,
            args.decision_log_max_bytes,
            Default::default(),
        )?),
        None => None,
    };
    let ids = crate::decision_log::DecisionIds::new();
    let record_name = set.program().record(record).map(|r| r.name.clone()).unwrap_or_default();
    stream.run(&mut lines, &stop, |results, read_bytes| {
        for result in results {
            match result {
                LineResult::Decided {
                    line,
                    id,
                    json,
                    decision,
                    warnings,
                    now,
                    ..
                } => {
                    if let Some(log) = &log {
                        let entry = serde_json::json!({
                            "decision_id": ids.next(),
                            "logged_at": qlp_grammar::time::format_time(qlp_runtime::Timestamp::now().micros()),
                            "now": qlp_grammar::time::format_time(now),
                            "policy_version": set.version(),
                            "record_type": record_name,
                            "line": line,
                            "id": id,
                            "decision": &decision,
                        });
                        log.write(entry.to_string());
                    }
                    for text in unknown.note(line, &warnings) {
                        match &progress {
                            Some(bar) => bar.println(text),
                            None => eprintln!("{text}"),
                        }
                    }
                    writer.write_all(&json.unwrap_or_default())?;
                    writer.write_all(b"\n")?;
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
        // A live feed gets its decisions now, not when a buffer fills.
        writer.flush()?;
        if let Some(bar) = &progress {
            bar.inc(read_bytes);
            bar.set_message(format!("{} records", summary.records));
        }
        Ok(())
    })?;
    writer.flush()?;
    if let Some(log) = &log {
        log.flush();
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let signal = stop.load(Ordering::SeqCst);
    if let Some(path) = &args.summary_json {
        let json = serde_json::to_vec_pretty(&summary)?;
        std::fs::write(path, json).with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    if !args.quiet {
        summary.print(started.elapsed().as_secs_f64());
        match state.as_ref().map(|s| s.store().size()) {
            Some(Some((keys, bytes))) => eprintln!(
                "state:      {keys} key(s), {} KiB ({})",
                bytes.div_ceil(1024),
                args.state
            ),
            Some(None) => eprintln!("state:      kept in {}", args.state),
            None => {}
        }
        if let Some(line) = unknown.summary() {
            eprintln!("{line}");
        }
        if signal != 0 {
            eprintln!("stopped by a signal: the records read so far were decided and written");
        }
    }
    if signal != 0 {
        return Ok(ExitCode::from(128u8.saturating_add(signal as u8)));
    }
    let failed = summary.rejected + summary.undecided;
    let total = summary.records + summary.rejected;
    if failed > 0 && failed as f64 > args.max_failed_share * total as f64 {
        if !args.quiet {
            eprintln!(
                "error: {failed} of {total} record(s) were rejected or undecided, more than --max-failed-share {}",
                args.max_failed_share
            );
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The device and inode of a file, to tell whether two paths are one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    device: u64,
    inode: u64,
}

impl FileId {
    fn of(metadata: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            device: metadata.dev(),
            inode: metadata.ino(),
        }
    }
}

/// Standard input's file, when it is one (`qlp eval < in.jsonl -o in.jsonl`).
fn stdin_id() -> Option<FileId> {
    use std::os::fd::AsFd;
    let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    let metadata = File::from(fd).metadata().ok()?;
    metadata.is_file().then(|| FileId::of(&metadata))
}

/// A clock at which none of the record type's campaigns is active decides
/// every record `allow` (the 2021 and 2022 campaigns are over): said loudly.
fn warn_if_no_campaign_is_active(
    set: &qlp_runtime::PolicySet,
    record: qlp_compiler::program::RecordId,
    now: i64,
    wall_clock: bool,
) {
    let program = set.program();
    let rules: Vec<_> = program
        .rules
        .iter()
        .filter(|r| r.record == record && r.selected)
        .collect();
    let with_campaign = rules.iter().filter(|r| r.campaign.is_some()).count();
    if with_campaign == 0
        || rules
            .iter()
            .any(|r| r.campaign.is_some() && program.rule_active(r, now))
    {
        return;
    }
    let clock = if wall_clock {
        "the current time: no `--now` or `--now-from` was given"
    } else {
        "the `--now` given"
    };
    eprintln!(
        "warning: no campaign is active at {}, {clock}; the {with_campaign} rule(s) of campaigns will not fire; give `--now TIME` inside a campaign's period, `--now-from FIELD` to use each record's own time, or `--all-active`",
        qlp_grammar::time::format_time(now)
    );
}

impl Summary {
    fn add(&mut self, decision: &Decision) {
        self.records += 1;
        count(&mut self.verdicts, decision.verdict.as_str());
        for fired in &decision.fired {
            count(&mut self.rules, &fired.rule);
            if let Some(campaign) = &fired.campaign {
                count(&mut self.campaigns, campaign);
            }
        }
        for shadow in &decision.shadow {
            count(&mut self.shadow_rules, &shadow.rule);
        }
        self.rule_errors += decision.errors.len();
        self.undecided += usize::from(decision.undecided);
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
        if !self.shadow_rules.is_empty() {
            let _ = writeln!(
                err,
                "in shadow:  {} (not in the verdicts)",
                top(&self.shadow_rules, usize::MAX)
            );
        }
        let _ = writeln!(
            err,
            "errors:     {} rule error(s); {} record(s) undecided",
            self.rule_errors, self.undecided
        );
        let rate = if seconds > 0.0 {
            self.records as f64 / seconds
        } else {
            0.0
        };
        let _ = writeln!(err, "throughput: {rate:.0} records/s ({seconds:.3} s)");
    }
}

/// Adds one to `name`'s count, allocating its key only the first time.
fn count(counts: &mut BTreeMap<String, usize>, name: &str) {
    match counts.get_mut(name) {
        Some(count) => *count += 1,
        None => {
            counts.insert(name.to_string(), 1);
        }
    }
}
