//! The embeddable engine: load a policy directory once, evaluate records
//! from many threads without locks, and swap in a new policy set while
//! evaluations run (hot reload).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use qlp_compiler::explain::keyword_evidence;
use qlp_compiler::interp::NoObserver;
use qlp_compiler::jit::{CompiledPolicySet, EvalContext};
use qlp_compiler::layout::{Layout, Row};
use qlp_compiler::outcome::{conditions_with_state, evaluate, undecodable, Outcome};
use qlp_compiler::program::{Program, RecordId, Selection};
use qlp_compiler::state::{Prepared, StateValues};
use qlp_grammar::{Diagnostic, SourceMap};

use crate::decision::{Decision, DecisionWriter, EvidenceReads};
use crate::fs::{Limits, PolicyTree};
use crate::ingest::{IngestError, IngestPlan, Problem};
use crate::state::{Batch, State, StoreError};

/// Policies that could not be loaded: every diagnostic, with the sources to
/// render them.
#[derive(Debug)]
pub struct LoadError {
    /// What went wrong, in one line.
    pub message: String,
    /// The policy sources, to render the diagnostics.
    pub sources: SourceMap,
    /// Every diagnostic, errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
}

/// The most diagnostics a `LoadError` displays (all are in `diagnostics`).
const DISPLAYED_DIAGNOSTICS: usize = 20;

impl fmt::Display for LoadError {
    /// The summary, then each error as `file:line:column: code: message`
    /// (and its help): an embedder that only logs the error still says what
    /// is wrong and where.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        let errors: Vec<&Diagnostic> = self.diagnostics.iter().filter(|d| d.is_error()).collect();
        for diagnostic in errors.iter().take(DISPLAYED_DIAGNOSTICS) {
            write!(
                f,
                "\n  {}: {}: {}",
                self.sources.location(diagnostic.file, diagnostic.span.start),
                diagnostic.code,
                diagnostic.message
            )?;
            if let Some(help) = &diagnostic.help {
                write!(f, " (help: {help})")?;
            }
        }
        if errors.len() > DISPLAYED_DIAGNOSTICS {
            write!(f, "\n  ... and {} more", errors.len() - DISPLAYED_DIAGNOSTICS)?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Which engine evaluates conditions: the compiler's one backend enum.
pub use qlp_compiler::Engine as EngineKind;

/// One checked, immutable policy set, compiled to native code unless it was
/// made for the interpreter alone ([`PolicySet::interpreted`]).
pub struct PolicySet {
    program: Arc<Program>,
    compiled: Option<CompiledPolicySet>,
    plan: IngestPlan,
    /// Per record type: the fields its state declarations read (`None`:
    /// the whole record).
    state_fields: HashMap<RecordId, Option<Vec<bool>>>,
    /// A hash of the policy sources and keyword lists: see [`PolicySet::version`].
    version: String,
    /// Per rule: whether its condition matches keywords (and so a firing
    /// carries keyword evidence) and which fields finding it reads, worked
    /// out once rather than per decision.
    keyword_rules: Vec<EvidenceReads>,
    /// Decisions as JSON, each rule's fixed part rendered once.
    writer: DecisionWriter,
}

impl fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySet")
            .field("rules", &self.program().rules.len())
            .finish_non_exhaustive()
    }
}

impl PolicySet {
    /// Compiles a checked program.
    pub fn new(program: Program) -> Result<PolicySet, LoadError> {
        let program = Arc::new(program);
        let compiled = CompiledPolicySet::compile(program.clone()).map_err(|e| LoadError {
            message: e.to_string(),
            sources: program.sources.clone(),
            diagnostics: Vec::new(),
        })?;
        // The layout native code reads: rows are marked valid for it.
        let plan = IngestPlan::new(&program, compiled.layout().clone());
        // What native code's keyword matching needs is built now, not by
        // the first record that needs it.
        program.build_matchers();
        Ok(PolicySet {
            state_fields: state_fields(&program),
            version: content_hash(&program),
            keyword_rules: crate::decision::keyword_rules(&program),
            writer: DecisionWriter::new(&program),
            program,
            compiled: Some(compiled),
            plan,
        })
    }

    /// A set evaluated by the reference interpreter alone: nothing is
    /// compiled to native code (`qlp eval --engine interp`).
    pub fn interpreted(program: Program) -> PolicySet {
        let program = Arc::new(program);
        let plan = IngestPlan::new(&program, Layout::new(&program));
        PolicySet {
            state_fields: state_fields(&program),
            version: content_hash(&program),
            keyword_rules: crate::decision::keyword_rules(&program),
            writer: DecisionWriter::new(&program),
            program,
            compiled: None,
            plan,
        }
    }

    /// Loads, checks and compiles every `.qlp` file under `path`, confined
    /// to its policy root (see [`crate::fs::find_root`]) with the default limits.
    pub fn load(path: &Path) -> Result<PolicySet, LoadError> {
        let tree = PolicyTree::open(&[path.to_path_buf()], Limits::DEFAULT).map_err(|e| LoadError {
            message: format!("cannot read `{}`: {e}", path.display()),
            sources: SourceMap::new(),
            diagnostics: Vec::new(),
        })?;
        PolicySet::load_tree(&tree, path)
    }

    /// Loads, checks and compiles the files of a policy tree; `path` names it in messages.
    pub fn load_tree(tree: &PolicyTree, path: &Path) -> Result<PolicySet, LoadError> {
        PolicySet::load_tree_for(tree, path, EngineKind::Jit)
    }

    /// As [`PolicySet::load_tree`]; with [`EngineKind::Interp`] nothing is
    /// compiled to native code.
    pub fn load_tree_for(tree: &PolicyTree, path: &Path, kind: EngineKind) -> Result<PolicySet, LoadError> {
        PolicySet::load_selected(tree, path, kind, &Selection::default())
    }

    /// As [`PolicySet::load_tree_for`], running only the rules `selection`
    /// names (and every campaign, with `all_active`, whatever the time).
    /// The files' tests are not parsed: a set is loaded to evaluate its
    /// rules, and `qlp test` and `qlp check` are where tests are checked.
    pub fn load_selected(
        tree: &PolicyTree,
        path: &Path,
        kind: EngineKind,
        selection: &Selection,
    ) -> Result<PolicySet, LoadError> {
        let cache = qlp_compiler::cache::CheckCache::without_tests();
        let mut checked = qlp_compiler::check_cached(&tree.files, &tree.loader, &cache);
        if let Some(program) = &mut checked.program {
            program.select(selection).map_err(|message| LoadError {
                message,
                sources: SourceMap::new(),
                diagnostics: Vec::new(),
            })?;
        }
        match checked.program {
            Some(program) if kind == EngineKind::Interp => Ok(PolicySet::interpreted(program)),
            Some(program) => PolicySet::new(program),
            None => {
                let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
                Err(LoadError {
                    message: format!("the policies in `{}` have {errors} error(s)", path.display()),
                    sources: checked.sources,
                    diagnostics: checked.diagnostics,
                })
            }
        }
    }

    /// The policy set's version: 16 hex digits of a hash (FNV-1a, 64 bits)
    /// of every policy file's name and text and every keyword set's entries.
    /// Two sets with the same sources have the same version, on any machine;
    /// decision logs and `qlp serve` name the set that decided by it.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The checked program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The native code, unless the set was made for the interpreter alone.
    pub fn compiled(&self) -> Option<&CompiledPolicySet> {
        self.compiled.as_ref()
    }

    /// The record type called `name`.
    pub fn record_type(&self, name: &str) -> Option<RecordId> {
        self.program().record_by_name(name)
    }

    /// The record types that rules or exemptions apply to.
    pub fn evaluated_record_types(&self) -> Vec<RecordId> {
        let program = self.program();
        let mut types: Vec<RecordId> = program
            .rules
            .iter()
            .map(|r| r.record)
            .chain(program.exemptions.iter().map(|e| e.record))
            .collect();
        types.sort();
        types.dedup();
        types
    }

    /// Decodes one JSON record into a row, reporting every problem of the
    /// record at once; each field the schema does not declare is added to
    /// `warnings`, or with `strict` is a problem (see
    /// [`crate::ingest::IngestPlan::ingest_checked`]).
    pub fn ingest_checked(
        &self,
        record: RecordId,
        json: &[u8],
        strict: bool,
        warnings: &mut Vec<Problem>,
    ) -> Result<Row, IngestError> {
        let row = self
            .plan
            .ingest_checked(&self.program, record, json, strict, warnings)?;
        Ok(self.trusted(record, row))
    }

    /// Decodes a JSON record into a row laid out for this set, ignoring
    /// fields the schema does not declare.
    pub fn ingest(&self, record: RecordId, json: &[u8]) -> Result<Row, IngestError> {
        let row = self.plan.ingest(self.program(), record, json)?;
        Ok(self.trusted(record, row))
    }

    /// `row`, just ingested, marked valid for the native code: ingestion
    /// writes every string and list slot inside the row it builds, so the
    /// check native code otherwise makes before reading a row (~700
    /// instructions for a `Content` record) is not made for it.
    fn trusted(&self, record: RecordId, row: Row) -> Row {
        if let Some(compiled) = &self.compiled {
            // SAFETY: `plan` lays rows out by `compiled`'s own layout (see
            // `PolicySet::new`), for the program it was compiled from, and
            // ingestion builds only rows `validate` accepts (see
            // `IngestPlan`; debug builds check each).
            unsafe { compiled.assume_valid(record, &row) };
        }
        row
    }

    /// Evaluates a row with the chosen engine.
    pub fn evaluate(
        &self,
        kind: EngineKind,
        record: RecordId,
        row: &Row,
        now: i64,
        context: &mut EvalContext,
    ) -> Outcome {
        match (kind, &self.compiled) {
            (EngineKind::Jit, Some(compiled)) => compiled.evaluate(record, row, now, context),
            // A set made for the interpreter evaluates every request with it
            // (the JIT agrees with it by construction).
            _ => match row.decode(self.program(), self.plan.layout(), record) {
                Some(value) => evaluate(self.program(), record, &value, now),
                None => Outcome::from_conditions(self.program(), &undecodable(self.program(), record)),
            },
        }
    }

    /// Whether rules on `record` read state, or it feeds state declarations:
    /// its records must then go through a [`crate::State`] in order.
    pub fn is_stateful(&self, record: RecordId) -> bool {
        qlp_compiler::state::states_of(self.program(), record).next().is_some()
    }

    /// A row's touches of state (keys, event time, ...), computed by the
    /// chosen engine: nothing when the record type keeps no state.
    pub fn prepare(&self, kind: EngineKind, record: RecordId, row: &Row, context: &mut EvalContext) -> Prepared {
        if !self.is_stateful(record) {
            return Prepared::default();
        }
        if let (EngineKind::Jit, Some(compiled)) = (kind, &self.compiled) {
            return compiled.prepare(record, row, context).unwrap_or_default();
        }
        // Only the fields the state declarations read are decoded.
        let wanted = self.state_fields.get(&record).and_then(Option::as_deref);
        let value = match wanted {
            Some(wanted) => row.decode_fields(self.program(), self.plan.layout(), record, wanted),
            None => row.decode(self.program(), self.plan.layout(), record),
        };
        match value {
            Some(value) => qlp_compiler::state::prepare(self.program(), record, &value),
            None => Prepared::default(),
        }
    }

    /// Evaluates a row with the chosen engine, reads of state giving `state`.
    pub fn evaluate_with_state(
        &self,
        kind: EngineKind,
        record: RecordId,
        row: &Row,
        now: i64,
        state: &StateValues,
        context: &mut EvalContext,
    ) -> Outcome {
        match (kind, &self.compiled) {
            (EngineKind::Jit, Some(compiled)) => compiled.evaluate_with_state(record, row, now, state, context),
            _ => match row.decode(self.program(), self.plan.layout(), record) {
                Some(value) => Outcome::from_conditions(
                    self.program(),
                    &conditions_with_state(self.program(), record, &value, now, state, &NoObserver),
                ),
                None => Outcome::from_conditions(self.program(), &undecodable(self.program(), record)),
            },
        }
    }

    /// Ingests, evaluates and explains one record.
    pub fn decide(
        &self,
        kind: EngineKind,
        record: RecordId,
        json: &[u8],
        now: i64,
        context: &mut EvalContext,
    ) -> Result<Decision, IngestError> {
        let row = self.ingest(record, json)?;
        let outcome = self.evaluate(kind, record, &row, now, context);
        Ok(self.decision(kind, record, &row, &outcome, now, context))
    }

    /// Ingests, evaluates and explains one record with state: read, evaluate,
    /// write and commit as a batch of one (see [`crate::state`]). Records of
    /// a type that keeps no state go straight to [`PolicySet::decide`].
    pub fn decide_with_state(
        &self,
        kind: EngineKind,
        record: RecordId,
        json: &[u8],
        now: i64,
        state: &State,
        context: &mut EvalContext,
    ) -> Result<Result<Decision, IngestError>, StoreError> {
        if !self.is_stateful(record) {
            return Ok(self.decide(kind, record, json, now, context));
        }
        let row = match self.ingest(record, json) {
            Ok(row) => row,
            Err(e) => return Ok(Err(e)),
        };
        self.decide_row(kind, record, &row, now, state, context).map(Ok)
    }

    /// Evaluates and explains a decoded record: with state (read, evaluate,
    /// write and commit as a batch of one) when its type keeps any.
    pub fn decide_row(
        &self,
        kind: EngineKind,
        record: RecordId,
        row: &Row,
        now: i64,
        state: &State,
        context: &mut EvalContext,
    ) -> Result<Decision, StoreError> {
        if !self.is_stateful(record) {
            let outcome = self.evaluate(kind, record, row, now, context);
            return Ok(self.decision(kind, record, row, &outcome, now, context));
        }
        let prepared = self.prepare(kind, record, row, context);
        let mut batch = Batch::begin(state, self.program(), [&prepared])?;
        let mut values = StateValues::new(self.program());
        batch.read_and_count(self.program(), &prepared, &mut values);
        let outcome = self.evaluate_with_state(kind, record, row, now, &values, context);
        batch.write_tags(self.program(), &prepared, &outcome);
        batch.commit(self.program(), None)?;
        Ok(self.decision_with_state(kind, record, row, &outcome, now, &prepared, &values, context))
    }

    /// Appends `decision` as JSON to `out`: the bytes `serde_json` writes
    /// for it, each rule's fixed part rendered once when the set loaded.
    pub fn write_decision(&self, decision: &Decision, out: &mut Vec<u8>) {
        self.writer.write(decision, out);
    }

    /// A row as a value: whole, or with only the `wanted` top-level fields
    /// (the others absent).
    fn decode(&self, record: RecordId, row: &Row, wanted: Option<&[bool]>) -> Option<qlp_compiler::Value> {
        match wanted {
            Some(wanted) => row.decode_fields(self.program(), self.plan.layout(), record, wanted),
            None => row.decode(self.program(), self.plan.layout(), record),
        }
    }

    /// Compiles every rule's evidence function now rather than when the
    /// rule first fires (a service, so that no decision waits ~1 ms for
    /// one); how many rules have one (none without the JIT).
    pub fn compile_evidence_functions(&self) -> usize {
        self.compiled
            .as_ref()
            .map_or(0, CompiledPolicySet::compile_evidence_functions)
    }

    /// The decision for an outcome evaluated by `kind`: keyword evidence
    /// found by the same engine (see [`PolicySet::decision_with_state`]).
    pub fn decision(
        &self,
        kind: EngineKind,
        record: RecordId,
        row: &Row,
        outcome: &Outcome,
        now: i64,
        context: &mut EvalContext,
    ) -> Decision {
        self.decision_from(kind, record, row, outcome, now, &[], context)
    }

    /// The decision for an outcome evaluated with state: keyword evidence
    /// found with the same state values, and the values each fired rule
    /// read. With the JIT, a fired rule's evidence comes from a run of its
    /// compiled evidence function over the row; with the interpreter, from
    /// its run over the record decoded (once, with only the fields the
    /// fired rules read). The differential test checks the two agree.
    #[expect(clippy::too_many_arguments, reason = "what a decision is explained from")]
    pub fn decision_with_state(
        &self,
        kind: EngineKind,
        record: RecordId,
        row: &Row,
        outcome: &Outcome,
        now: i64,
        prepared: &Prepared,
        values: &StateValues,
        context: &mut EvalContext,
    ) -> Decision {
        self.decision_from(kind, record, row, outcome, now, &values.values, context)
            .with_state(self.program(), outcome, prepared, values)
    }

    #[expect(clippy::too_many_arguments, reason = "what a decision is explained from")]
    fn decision_from(
        &self,
        kind: EngineKind,
        record: RecordId,
        row: &Row,
        outcome: &Outcome,
        now: i64,
        state: &[i64],
        context: &mut EvalContext,
    ) -> Decision {
        let program = self.program();
        let native = match kind {
            EngineKind::Jit => self.compiled.as_ref(),
            EngineKind::Interp => None,
        };
        // The record, decoded once if the interpreter is asked for evidence.
        let mut value: Option<Option<qlp_compiler::Value>> = None;
        Decision::new(program, outcome, &self.keyword_rules, |id, rule| {
            // Native code finds it, unless its evidence function could not
            // be compiled: the interpreter then does, as it defines it.
            if let Some(found) = native.and_then(|compiled| compiled.evidence(id, row, now, state, context)) {
                return found;
            }
            let value = value.get_or_insert_with(|| {
                let wanted = crate::decision::evidence_fields(outcome, &self.keyword_rules);
                self.decode(record, row, wanted.as_deref())
            });
            value
                .as_ref()
                .map(|v| keyword_evidence(program, rule.location.file, &rule.when, rule.n_locals, v, now, state))
                .unwrap_or_default()
        })
    }

    /// A top-level field of a row, by name: the record's `id` and its `time`
    /// fields are always decoded, other fields only if a rule reads them.
    pub fn field(&self, record: RecordId, row: &Row, name: &str) -> Option<qlp_compiler::Value> {
        let (ty, offset) = self.field_slot(record, name)?;
        qlp_compiler::layout::decode_slot(self.program(), self.layout(), ty, row, offset)
    }

    /// The text of string field `name` of `row`, borrowed from it (no
    /// decoding); `None` when the record has no such string field.
    pub fn field_str<'r>(&self, record: RecordId, row: &'r Row, name: &str) -> Option<&'r str> {
        let (ty, offset) = self.field_slot(record, name)?;
        (*ty == qlp_compiler::Type::String)
            .then(|| qlp_compiler::layout::str_slot(row, offset))
            .flatten()
    }

    /// The type of top-level field `name` and its slot's offset in a row.
    fn field_slot(&self, record: RecordId, name: &str) -> Option<(&qlp_compiler::Type, usize)> {
        let def = self.program().record(record)?;
        let index = def.field_index(name)?;
        let ty = &def.fields.get(index)?.ty;
        Some((ty, self.layout().field_offset(record, index as u32) as usize))
    }

    /// A fresh per-thread evaluation context.
    pub fn context(&self) -> EvalContext {
        match &self.compiled {
            Some(compiled) => compiled.context(),
            None => EvalContext::for_interpreter(&self.program),
        }
    }

    /// The row layout records are decoded into.
    pub fn layout(&self) -> &Layout {
        self.plan.layout()
    }
}

/// See [`PolicySet::version`].
fn content_hash(program: &Program) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &byte in bytes.iter().chain(&[0xff]) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    let mut files: Vec<(&str, &str)> = program
        .sources
        .files()
        .map(|(_, f)| (f.name.as_str(), f.text.as_str()))
        .collect();
    files.sort();
    for (name, text) in files {
        eat(name.as_bytes());
        eat(text.as_bytes());
    }
    for set in &program.keyword_sets {
        eat(set.name.as_bytes());
        for entry in &set.entries {
            eat(entry.as_bytes());
        }
    }
    format!("{hash:016x}")
}

/// For each record type with state declarations, the fields they read.
fn state_fields(program: &Program) -> HashMap<RecordId, Option<Vec<bool>>> {
    program
        .states
        .iter()
        .map(|s| s.record)
        .map(|record| (record, qlp_compiler::state::fields_read(program, record)))
        .collect()
}

/// The engine a service embeds. `Send + Sync`: share it (in an `Arc` or a
/// static) and give each thread an [`Evaluator`].
///
/// ```
/// use qlp_runtime::{Engine, Timestamp, Verdict};
///
/// let engine = Engine::load("../policies".as_ref())?;
/// let mut evaluator = engine.evaluator("Content");
/// let record = r#"{"id": "c1", "kind": "livestream", "text": "一起网赌", "created_at": "2022-06-01T20:00:00",
///     "author": {"id": "a1", "kind": "personal", "created_at": "2021-01-01", "followers": 10}}"#;
/// let now: Timestamp = "2022-06-01T20:00:00+08:00".parse()?;
/// let decision = evaluator.decide(record.as_bytes(), now)?;
/// assert_eq!(decision.verdict, Verdict::Remove);
/// assert_eq!(decision.fired[0].rule, "live_gambling");
/// assert_eq!(decision.fired[0].actions[0].to_string(), "remove");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Engine {
    current: ArcSwap<PolicySet>,
    /// Where rules that read state keep it; evaluators share it.
    state: Arc<State>,
}

impl Engine {
    /// An engine serving `set`.
    pub fn new(set: PolicySet) -> Engine {
        Engine {
            current: ArcSwap::from_pointee(set),
            state: Arc::new(State::memory()),
        }
    }

    /// Keeps state in `state` (an embedded file, Redis) instead of memory.
    pub fn with_state(mut self, state: State) -> Engine {
        self.state = Arc::new(state);
        self
    }

    /// Where state is kept.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Loads the policies under `path`.
    pub fn load(path: &Path) -> Result<Engine, LoadError> {
        PolicySet::load(path).map(Engine::new)
    }

    /// The policy set in use now. Evaluations hold their own reference, so a
    /// swap never changes a policy set under a running evaluation; an old set
    /// (and its machine code) is freed when its last user drops it.
    pub fn policies(&self) -> Arc<PolicySet> {
        self.current.load_full()
    }

    /// Replaces the policy set; evaluations already running finish on the old one.
    pub fn swap(&self, set: PolicySet) {
        self.current.store(Arc::new(set));
    }

    /// Loads `path` and swaps it in; on errors the current set stays.
    pub fn reload(&self, path: &Path) -> Result<(), LoadError> {
        self.swap(PolicySet::load(path)?);
        Ok(())
    }

    /// A per-thread evaluator for records of type `record_type`.
    pub fn evaluator(&self, record_type: &str) -> Evaluator<'_> {
        let set = self.policies();
        let record = set.record_type(record_type);
        let context = set.context();
        Evaluator {
            engine: self,
            record_type: record_type.to_string(),
            set,
            record,
            context,
            kind: EngineKind::Jit,
        }
    }
}

/// Evaluates records on one thread, picking up swapped-in policy sets
/// between records.
pub struct Evaluator<'e> {
    engine: &'e Engine,
    record_type: String,
    set: Arc<PolicySet>,
    record: Option<RecordId>,
    context: EvalContext,
    kind: EngineKind,
}

impl Evaluator<'_> {
    /// Evaluates with `kind` (the JIT by default).
    pub fn with_kind(mut self, kind: EngineKind) -> Self {
        self.kind = kind;
        self
    }

    /// Decides one JSON record at `now` (a [`crate::Timestamp`], or
    /// microseconds since the Unix epoch).
    /// Every decision comes wholly from one policy set. Rules that read
    /// state read the engine's store, and the record's writes are committed
    /// before this returns: evaluators on many threads share one store and
    /// never lose an increment. A store that fails is reported as an
    /// [`IngestError`] naming it.
    pub fn decide(&mut self, json: &[u8], now: impl Into<crate::Timestamp>) -> Result<Decision, IngestError> {
        let now = now.into().micros();
        let current = self.engine.policies();
        if !Arc::ptr_eq(&current, &self.set) {
            self.record = current.record_type(&self.record_type);
            self.context = current.context();
            self.set = current;
        }
        let Some(record) = self.record else {
            return Err(IngestError::new(
                "",
                format!("the policies have no record type `{}`", self.record_type),
            ));
        };
        let state = &self.engine.state;
        match self
            .set
            .decide_with_state(self.kind, record, json, now, state, &mut self.context)
        {
            Ok(result) => result,
            Err(store) => Err(IngestError::new("", store.to_string())),
        }
    }

    /// The policy set the last decision came from.
    pub fn policies(&self) -> &Arc<PolicySet> {
        &self.set
    }
}
