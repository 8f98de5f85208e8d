//! The evaluation loop every command that decides a stream shares (`qlp
//! eval`, `qlp backtest`): batches of lines decoded and decided, in
//! parallel for record types without state and in input order through the
//! store for those with it, results handed over in input order.

use std::sync::atomic::AtomicUsize;

use qlp_compiler::outcome::Outcome;
use qlp_compiler::program::RecordId;
use qlp_compiler::state::{Prepared, StateValues};
use qlp_compiler::Value;
use qlp_runtime::{Batch, Decision, EngineKind, PolicySet, Problem, State};
use rayon::prelude::*;

use super::input::{next_batch, take_ready, InputLine, Lines};

/// The time each record is evaluated at.
#[derive(Debug, Clone)]
pub enum Clock {
    /// One time for every record.
    Fixed(i64),
    /// The time in this field of each record (`--now-from created_at`).
    Field(String),
}

/// What happened to one input line.
pub enum LineResult {
    Decided {
        line: usize,
        id: Option<String>,
        /// The output line (without its newline), when the stream writes
        /// them: `{"line":N,"id":"…","decision":{…}}`.
        json: Option<Vec<u8>>,
        decision: Box<Decision>,
        /// The input line, when the stream keeps them.
        input: Option<Vec<u8>>,
        /// Fields the schema does not declare.
        warnings: Vec<Problem>,
        /// The clock it was evaluated at.
        now: i64,
    },
    Rejected {
        line: usize,
        message: String,
    },
    Blank,
}

/// How a stream is decided.
pub struct Stream<'a> {
    pub set: &'a PolicySet,
    pub record: RecordId,
    pub kind: EngineKind,
    pub clock: Clock,
    /// The store, when the record type reads or feeds state.
    pub state: Option<&'a State>,
    /// Lines up to this number were committed by an earlier run (`--resume`).
    pub skip: u64,
    /// Whether decisions are rendered as output lines (`LineResult::Decided::json`).
    pub render: bool,
    /// Whether input lines are handed back with their decisions.
    pub keep_input: bool,
    /// Whether a field the schema does not declare rejects the record
    /// (otherwise it is a warning).
    pub strict: bool,
}

impl Stream<'_> {
    /// Decides every line `lines` delivers, handing each batch's results,
    /// in input order, with the bytes it read, to `emit`; a batch's state
    /// is committed after `emit` returns.
    pub fn run(
        &self,
        lines: &mut Lines,
        stop: &AtomicUsize,
        mut emit: impl FnMut(Vec<LineResult>, u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let set = self.set;
        let mut context = set.context();
        // State values read, one per record of a batch, reused across batches.
        let mut spare = Vec::new();
        let mut finished = false;
        // INVARIANT: line numbers count every input line, so a resumed run
        // skips exactly the lines the committed batches consumed.
        let unconsumed = |line: &InputLine| line.number as u64 > self.skip;
        // A batch of a stateful type decoded while the one before it was decided.
        let mut prefetched: Option<(Vec<InputLine>, Decoded)> = None;
        while !finished || prefetched.is_some() {
            let (batch, decoded) = match prefetched.take() {
                Some((batch, decoded)) => (batch, Some(decoded)),
                None => {
                    let mut batch = Vec::with_capacity(lines.batch);
                    finished = next_batch(lines, &mut batch, stop);
                    batch.retain(unconsumed);
                    if batch.is_empty() {
                        continue;
                    }
                    json_array_check(&batch)?;
                    let decoded = self.state.is_some().then(|| self.decode_batch(&batch));
                    (batch, decoded)
                }
            };
            let read_bytes: u64 = batch.iter().map(|l| l.bytes as u64).sum();
            let (results, pending) = match (self.state, decoded) {
                (Some(state), Some(decoded)) => {
                    // The records are decided in order on this thread while the
                    // lines already read (never waiting for more) are decoded on
                    // the others: a stream is decided at the speed of its
                    // sequential part.
                    let (decided, next) = std::thread::scope(|scope| {
                        let prefetch = (!finished && self.parallel()).then(|| {
                            scope.spawn(|| {
                                let mut next = Vec::new();
                                let ended = take_ready(lines, &mut next, stop);
                                next.retain(unconsumed);
                                let decoded = self.decode_batch(&next);
                                (ended, next, decoded)
                            })
                        });
                        let decided = self.decide_in_order(decoded, state, &mut context, &mut spare);
                        let next = prefetch.map(|thread| thread.join());
                        (decided, next)
                    });
                    if let Some(next) = next {
                        let (ended, next, decoded) =
                            next.map_err(|_| anyhow::anyhow!("the thread decoding records failed"))?;
                        finished |= ended;
                        if !next.is_empty() {
                            prefetched = Some((next, decoded));
                        }
                    }
                    let (results, pending) = decided?;
                    (results, Some(pending))
                }
                _ => (self.decide_parallel(&batch, &mut context), None),
            };
            // INVARIANT: `results` is in input order (rayon's collect keeps
            // it), so decisions are handed over in the order the records came.
            emit(results, read_bytes)?;
            // INVARIANT: a batch's state is committed after its decisions are
            // written: what was committed has been reported.
            if let Some(pending) = pending {
                pending.commit(set.program(), batch.last().map(|line| line.number as u64))?;
            }
            lines.recycle(batch);
        }
        Ok(())
    }

    /// Computes a decoded line's touches of state (its keys, event times,
    /// filters).
    fn prepare(&self, input: &mut Ingested, context: &mut qlp_compiler::jit::EvalContext) {
        input.prepared = self.set.prepare(self.kind, self.record, &input.row, context);
    }

    /// Decodes a line: a row to evaluate (its touches of state not yet
    /// computed: [`Stream::prepare`]), or why the line is rejected.
    fn ingest_line(&self, input: &InputLine) -> Result<Option<Ingested>, Rejected> {
        let (set, record) = (self.set, self.record);
        let line = input.number;
        let bytes = match &input.text {
            Ok(bytes) => bytes.as_slice(),
            Err(limit) => {
                return Err(Rejected {
                    line,
                    message: format!(
                        "the record is {} bytes, more than the limit of {limit} (`--max-record-bytes`)",
                        input.bytes
                    ),
                })
            }
        };
        // The line ends the record: a newline (or CRLF) is not part of it.
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        // A byte-order mark (editors on Windows write one) starts the file, not the record.
        let bytes = match line {
            1 => super::input::without_bom(bytes),
            _ => bytes,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let mut warnings = Vec::new();
        let row = set
            .ingest_checked(record, bytes, self.strict, &mut warnings)
            .map_err(|error| Rejected {
                line,
                message: error.to_string(),
            })?;
        let now = match &self.clock {
            Clock::Fixed(now) => *now,
            Clock::Field(field) => match set.field(record, &row, field) {
                Some(Value::Time(t)) => t,
                _ => {
                    return Err(Rejected {
                        line,
                        message: format!("`{field}` is missing, so there is no time to evaluate at"),
                    })
                }
            },
        };
        Ok(Some(Ingested {
            line,
            row,
            now,
            prepared: Prepared::default(),
            text: self.keep_input.then(|| bytes.to_vec()),
            warnings,
        }))
    }

    /// Evaluates a decoded line, reads of state giving `state`.
    fn decide(
        &self,
        input: &Ingested,
        state: Option<&StateValues>,
        context: &mut qlp_compiler::jit::EvalContext,
    ) -> (LineResult, Outcome) {
        let (set, record, kind) = (self.set, self.record, self.kind);
        let outcome = match state {
            Some(state) => set.evaluate_with_state(kind, record, &input.row, input.now, state, context),
            None => set.evaluate(kind, record, &input.row, input.now, context),
        };
        (self.explain(input, state, &outcome, context), outcome)
    }

    /// The decision for an evaluated record (evidence, the state values its
    /// fired rules read) and its output line.
    fn explain(
        &self,
        input: &Ingested,
        state: Option<&StateValues>,
        outcome: &Outcome,
        context: &mut qlp_compiler::jit::EvalContext,
    ) -> LineResult {
        let (set, record, kind) = (self.set, self.record, self.kind);
        let (row, now) = (&input.row, input.now);
        let decision = match state {
            Some(state) => set.decision_with_state(kind, record, row, outcome, now, &input.prepared, state, context),
            None => set.decision(kind, record, row, outcome, now, context),
        };
        let id = set.field_str(record, &input.row, "id").map(str::to_string);
        let json = self.render.then(|| {
            // One allocation, sized for an `allow` line and the fired rules.
            let rules = decision.fired.len() + decision.shadow.len();
            let mut json = Vec::with_capacity(128 + 768 * rules);
            json.extend_from_slice(b"{\"line\":");
            qlp_runtime::decision::write_serde(&mut json, &input.line);
            json.extend_from_slice(b",\"id\":");
            match &id {
                Some(id) => qlp_runtime::decision::write_str(&mut json, id),
                None => json.extend_from_slice(b"null"),
            }
            json.extend_from_slice(b",\"decision\":");
            set.write_decision(&decision, &mut json);
            json.push(b'}');
            json
        });
        LineResult::Decided {
            line: input.line,
            id,
            json,
            decision: Box::new(decision),
            input: input.text.clone(),
            warnings: input.warnings.clone(),
            now: input.now,
        }
    }

    /// Decides a batch of records of a type without state, in parallel
    /// (on one core, in order with `context`).
    fn decide_parallel(&self, batch: &[InputLine], context: &mut qlp_compiler::jit::EvalContext) -> Vec<LineResult> {
        let decide = |line: &InputLine, context: &mut qlp_compiler::jit::EvalContext| match self.ingest_line(line) {
            Ok(Some(input)) => self.decide(&input, None, context).0,
            Ok(None) => LineResult::Blank,
            Err(rejected) => rejected.into(),
        };
        if !self.parallel() {
            return batch.iter().map(|line| decide(line, context)).collect();
        }
        batch
            .par_iter()
            .map_init(|| self.set.context(), |context, line| decide(line, context))
            .collect()
    }

    /// A batch's lines decoded, with their keys, event times and filters of
    /// state computed, in parallel.
    fn decode_batch(&self, batch: &[InputLine]) -> Decoded {
        if !self.parallel() {
            // Two passes, as in `decide_in_order`: every line decoded, then
            // every record's touches computed.
            let mut context = self.set.context();
            let mut decoded: Decoded = batch.iter().map(|line| self.ingest_line(line)).collect();
            for input in decoded
                .iter_mut()
                .filter_map(|i| i.as_mut().ok().and_then(Option::as_mut))
            {
                self.prepare(input, &mut context);
            }
            return decoded;
        }
        batch
            .par_iter()
            .map_init(
                || self.set.context(),
                |context, line| {
                    let mut input = self.ingest_line(line)?;
                    if let Some(input) = &mut input {
                        self.prepare(input, context);
                    }
                    Ok(input)
                },
            )
            .collect()
    }

    /// Whether more than one core decides: on one, every stage runs on
    /// the calling thread (no hand-over between threads to pay for).
    fn parallel(&self) -> bool {
        rayon::current_num_threads() > 1
    }

    /// Decides a batch of records that read or feed state, decoded by
    /// [`Stream::decode_batch`]: read, evaluated and written one record at
    /// a time, in input order, through one batch of the store, which the
    /// caller commits once the decisions are written (so a kill loses no
    /// committed count, and at worst repeats one batch's decisions on
    /// `--resume`).
    fn decide_in_order<'s>(
        &self,
        decoded: Decoded,
        state: &'s State,
        context: &mut qlp_compiler::jit::EvalContext,
        spare: &mut Vec<StateValues>,
    ) -> anyhow::Result<(Vec<LineResult>, Batch<'s>)> {
        let program = self.set.program();
        let prepared = decoded
            .iter()
            .filter_map(|i| i.as_ref().ok().and_then(Option::as_ref))
            .map(|i| &i.prepared);
        let mut store = Batch::begin(state, program, prepared)?;
        // Two passes over the batch: every record read, evaluated and
        // written in order, then every decision explained and rendered,
        // so that each pass's code and tables stay in the cache.
        let (set, record, kind) = (self.set, self.record, self.kind);
        let evaluated: Vec<_> = decoded
            .into_iter()
            .map(|item| {
                item.map(|input| {
                    input.map(|input| {
                        let mut values = spare.pop().unwrap_or_default();
                        store.read_and_count(program, &input.prepared, &mut values);
                        let outcome = set.evaluate_with_state(kind, record, &input.row, input.now, &values, context);
                        store.write_tags(program, &input.prepared, &outcome);
                        (input, values, outcome)
                    })
                })
            })
            .collect();
        let results = evaluated
            .into_iter()
            .map(|item| match item {
                Ok(Some((input, values, outcome))) => {
                    let result = self.explain(&input, Some(&values), &outcome, context);
                    spare.push(values);
                    result
                }
                Ok(None) => LineResult::Blank,
                Err(rejected) => rejected.into(),
            })
            .collect();
        Ok((results, store))
    }
}

/// A file that starts a JSON array is not JSON Lines: said once, before
/// every physical line of a pretty-printed array is reported on its own.
fn json_array_check(batch: &[InputLine]) -> anyhow::Result<()> {
    let Some(first) = batch.first().filter(|line| line.number == 1) else {
        return Ok(());
    };
    let Ok(bytes) = &first.text else { return Ok(()) };
    let bytes = super::input::without_bom(bytes);
    if bytes.trim_ascii_start().starts_with(b"[") {
        anyhow::bail!(
            "line 1: the input is a JSON array, but qlp reads JSON Lines: one record (a JSON object) per line; convert it with `jq -c '.[]' FILE`"
        );
    }
    Ok(())
}

/// A line read and decoded, ready to evaluate.
struct Ingested {
    line: usize,
    row: qlp_compiler::layout::Row,
    now: i64,
    /// Its touches of state (empty when the record type keeps none).
    prepared: Prepared,
    /// The line, when the stream keeps them.
    text: Option<Vec<u8>>,
    warnings: Vec<Problem>,
}

/// A line that could not be decided, and why.
struct Rejected {
    line: usize,
    message: String,
}

impl From<Rejected> for LineResult {
    fn from(rejected: Rejected) -> LineResult {
        LineResult::Rejected {
            line: rejected.line,
            message: rejected.message,
        }
    }
}

type Decoded = Vec<Result<Option<Ingested>, Rejected>>;

/// Fields records carry that the schema does not declare: each path is
/// reported the first time it is seen, and counted for the summary (a
/// misspelled optional field would otherwise pass silently as absent).
#[derive(Default)]
pub struct UnknownFields {
    /// Path (list indices as `[]`) → records, and the message of the first.
    seen: std::collections::BTreeMap<String, (usize, String)>,
    /// Records with a path beyond the ones tracked.
    untracked: usize,
}

/// Distinct unknown paths tracked (the rest are counted together).
const TRACKED_PATHS: usize = 100;

impl UnknownFields {
    /// Notes a record's warnings; returns the lines to print now (paths
    /// not seen before).
    pub fn note(&mut self, line: usize, warnings: &[Problem]) -> Vec<String> {
        let mut print = Vec::new();
        for warning in warnings {
            let key = generic_path(&warning.path);
            let tracked = self.seen.len();
            match self.seen.get_mut(&key) {
                Some((records, _)) => *records += 1,
                None if tracked < TRACKED_PATHS => {
                    print.push(format!(
                        "warning: line {line}: {warning}; it is ignored (`--strict` rejects such records)"
                    ));
                    self.seen.insert(key, (1, warning.to_string()));
                }
                None => self.untracked += 1,
            }
        }
        print
    }

    /// The summary's line, when there were unknown fields.
    pub fn summary(&self) -> Option<String> {
        if self.seen.is_empty() {
            return None;
        }
        let mut paths: Vec<String> = self
            .seen
            .iter()
            .map(|(path, (records, _))| format!("{path} ({records})"))
            .collect();
        if self.untracked > 0 {
            paths.push(format!("{} more", self.untracked));
        }
        Some(format!("unknown fields, ignored: {}", paths.join(", ")))
    }
}

/// `others[3].nom` → `others[].nom`: one entry per field, whatever the element.
fn generic_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            c if !in_index => out.push(c),
            _ => {}
        }
    }
    out
}
