//! The Cranelift JIT: compiles each record type's rules and exemptions into
//! one native function over rows (see `layout.rs`).
//!
//! ```text
//! extern "C" fn(row: *const u8, ctx: *mut EvalCtx, out: *mut u64)
//! ```
//!
//! For every rule of the record type, in program order, the function checks
//! the rule's bit in `ctx.active`, evaluates the condition with short-circuit
//! branches, and sets the rule's bit in `out` when it holds. A run-time error
//! jumps to the rule's error block, which records the error's kind and span
//! in `out` and moves on to the next rule. Exemptions follow, the same way.
//! A function called from several places whose body is not tiny is compiled
//! once, as a function of its own (`(ctx, out, params...) -> status`: 0 and
//! its value in `out[1..]`, or an error kind and its span in `out[0]`), and
//! called; other functions are inlined. Compiled code is thus linear in the
//! policy's source. Text, keyword and regex operations call the
//! `extern "C"` helpers in `jit/helpers.rs`, which never unwind.
//!
//! The interpreter is the specification: this module must agree with it on
//! every program and record (see `tests/differential.rs`).
//!
//! Architecture invariant: `unsafe` lives only in this module, each block
//! with a `// SAFETY:` comment.

mod codegen;
mod evidence;
mod helpers;
mod results;

use results::{error_at, OutLayout};

use std::collections::HashMap;
use std::sync::Arc;

use cranelift_codegen::ir::{types, AbiParam, UserFuncName};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module};

use crate::layout::{Layout, Row};
use crate::outcome::{campaign_active, Conditions, Outcome};
use crate::program::{FnId, Program, RecordId, RuleId, StateDef, StateId, TExpr, TExprKind};
use crate::state::{touch_of, KeyPart, Prepared, StateValues, Touch, TouchParts};
use crate::types::Type;

pub use helpers::EvalCtx;

/// How functions are compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileOptions {
    /// A function called from more than one place whose body expands to more
    /// than this many nodes is compiled once, as a function of its own, and
    /// called; others are inlined at each call.
    pub outline_above: u64,
    /// Compile every function on its own, however small or rarely called
    /// (for tests of the outlined path).
    pub outline_every_function: bool,
    /// Keep each function's Cranelift IR as text ([`CompiledPolicySet::clif`],
    /// `qlp compile --emit clif`); printing it costs about a tenth of a
    /// policy set's start-up, so only what shows it asks for it.
    pub keep_clif: bool,
}

impl Default for CompileOptions {
    fn default() -> CompileOptions {
        CompileOptions {
            outline_above: 24,
            outline_every_function: false,
            keep_clif: false,
        }
    }
}

/// The functions compiled on their own: called from more than one place
/// (counting every call site in rules, exemptions and function bodies) and
/// larger than `options.outline_above` expanded. Compiled code is then linear
/// in the size of the source, however functions multiply each other's work.
fn outline_choice(program: &Program, options: CompileOptions) -> Vec<FnId> {
    fn count_calls(expr: &TExpr, calls: &mut [u32]) {
        if let TExprKind::Call(id, _) = &expr.kind {
            if let Some(n) = calls.get_mut(id.index()) {
                *n = n.saturating_add(1);
            }
        }
        for child in expr.children() {
            count_calls(child, calls);
        }
    }
    let mut calls = vec![0u32; program.fns.len()];
    let bodies = program
        .rules
        .iter()
        .map(|r| &r.when)
        .chain(program.exemptions.iter().map(|e| &e.when))
        .chain(program.fns.iter().map(|f| &f.body));
    for body in bodies {
        count_calls(body, &mut calls);
    }
    let sizes = crate::typeck::expanded_fn_sizes(program);
    (0..program.fns.len())
        .filter(|i| {
            options.outline_every_function
                || (calls.get(*i).is_some_and(|n| *n > 1) && sizes.get(*i).is_some_and(|s| *s > options.outline_above))
        })
        .map(|i| FnId(i as u32))
        .collect()
}

/// Why a program could not be compiled to native code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitError(pub String);

impl std::fmt::Display for JitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot compile the policies to native code: {}", self.0)
    }
}

impl std::error::Error for JitError {}

type EvalFn = unsafe extern "C" fn(row: *const u8, ctx: *mut EvalCtx, out: *mut u64);

/// A policy set compiled to native code. Owns the machine code (freed on
/// drop) and the constants it points to; every method is safe.
pub struct CompiledPolicySet {
    program: Arc<Program>,
    layout: Layout,
    /// By record type (its index): its compiled function, when rules or
    /// exemptions apply to it (a vector: looked up once per record).
    functions: Vec<Option<EvalFn>>,
    /// By record type that feeds state: its compiled touch function.
    touch_functions: Vec<Option<EvalFn>>,
    /// The evidence functions of the rules that search keywords, compiled
    /// when first needed.
    evidence: evidence::LazyEvidence,
    out_layout: OutLayout,
    /// The Cranelift IR of each function, for `qlp compile --emit clif`.
    clif: Vec<(String, String)>,
    module: Option<JITModule>,
    /// Constant data (string bytes, list buffers) the code points into.
    _constants: Vec<Box<[u8]>>,
    /// The state values of an evaluation given none (every read errs).
    no_state: StateValues,
    /// This set's number, unique in the process: rows remember being
    /// valid for its layout by it.
    number: u64,
}

/// The number of the next compiled set (see `CompiledPolicySet::number`).
static NEXT_NUMBER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

// SAFETY: after `finalize_definitions` the machine code and the constant
// buffers are immutable; a call only reads them, the row and the program, and
// writes to the caller's own `EvalCtx` and output buffer. The module is only
// touched again in `drop`, which has exclusive access. The evidence module is
// touched only under its lock: compiling an evidence function adds code and
// constants and never moves or changes what was handed out before.
unsafe impl Send for CompiledPolicySet {}
// SAFETY: see `Send`: shared calls never mutate shared state.
unsafe impl Sync for CompiledPolicySet {}

// SAFETY: an `EvalContext` owns every buffer its raw pointers point into
// (output words, campaign masks, state values, scratch), whose heap
// addresses do not change when the context moves; the one pointer it does
// not own is to the program, which its compiled set keeps alive in an `Arc`
// and which is never mutated. Nothing in it is tied to a thread, so a
// context may move to another thread (an evaluator held across an `.await`
// or handed to a worker); it is never shared (`!Sync`), and each
// evaluation takes it by `&mut`.
unsafe impl Send for EvalContext {}

impl Drop for CompiledPolicySet {
    fn drop(&mut self) {
        self.functions.clear();
        self.touch_functions.clear();
        self.evidence.free();
        if let Some(module) = self.module.take() {
            // SAFETY: the function pointers into this module were cleared above
            // and `&mut self` guarantees no call is running.
            unsafe { module.free_memory() };
        }
    }
}

impl std::fmt::Debug for CompiledPolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledPolicySet")
            .field("record_types", &self.functions.iter().flatten().count())
            .finish_non_exhaustive()
    }
}

/// Builds the functions of one module: what every function's code is made
/// from, and the buffers shared between them.
struct Emitter<'a> {
    program: &'a Program,
    layout: &'a Layout,
    helpers: &'a helpers::HelperIds,
    out_layout: OutLayout,
    outlined: &'a HashMap<FnId, FuncId>,
    ctx: cranelift_codegen::Context,
    builder_ctx: FunctionBuilderContext,
    /// Constant data the code points into; kept as long as the code.
    constants: Vec<Box<[u8]>>,
    /// Each function's Cranelift IR, for `qlp compile --emit clif`.
    clif: Vec<(String, String)>,
    /// Whether `clif` is filled ([`CompileOptions::keep_clif`]).
    keep_clif: bool,
}

impl Emitter<'_> {
    /// Defines function `id` with the code `build` emits.
    fn define(
        &mut self,
        module: &mut JITModule,
        id: FuncId,
        name: String,
        signature: cranelift_codegen::ir::Signature,
        evidence: Option<(qlp_grammar::FileId, &mut Vec<String>)>,
        build: impl FnOnce(&mut codegen::Codegen<'_, '_>) -> Result<(), JitError>,
    ) -> Result<(), JitError> {
        self.ctx.func.signature = signature;
        self.ctx.func.name = UserFuncName::user(0, id.as_u32());
        {
            let builder = FunctionBuilder::new(&mut self.ctx.func, &mut self.builder_ctx);
            let mut codegen = codegen::Codegen::new(
                self.program,
                self.layout,
                builder,
                module,
                self.helpers,
                &mut self.constants,
                self.out_layout,
                self.outlined,
                evidence.map(|(file, fields)| codegen::EvidenceSites {
                    fields,
                    files: vec![file],
                }),
            );
            build(&mut codegen)?;
            codegen.finish();
        }
        if self.keep_clif {
            self.clif.push((name, self.ctx.func.display().to_string()));
        }
        module
            .define_function(id, &mut self.ctx)
            .map_err(|e| JitError(format!("{e:?}")))?;
        module.clear_context(&mut self.ctx);
        Ok(())
    }
}

/// How much Cranelift works on a module's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    /// The rules' and touch functions, run on every record: the register
    /// allocator that spills least. Cranelift's optimizer (`opt_level`
    /// `speed`) is off: the code generator already emits what it would
    /// make of these functions (measured with callgrind on the shipped
    /// policies: the same instructions a record, ±0.1%), and it was a
    /// tenth of loading them (24M instructions of 248M).
    Rules,
    /// Evidence functions, run only for a rule that fired and compiled
    /// while records wait: the single-pass register allocator, which
    /// compiles several times faster and runs a little slower.
    Evidence,
}

/// A module for native code: Cranelift's settings for the host and `tier`,
/// the helpers registered.
fn new_module(tier: Tier) -> Result<JITModule, JitError> {
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, name: &str, value: &str| {
        flags.set(name, value).map_err(|e| JitError(e.to_string()))
    };
    set(&mut flags, "opt_level", "none")?;
    let allocator = match tier {
        Tier::Rules => "backtracking",
        Tier::Evidence => "single_pass",
    };
    set(&mut flags, "regalloc_algorithm", allocator)?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    set(&mut flags, "is_pic", "false")?;
    // Cranelift's IR verifier checks the code generator, not the policy:
    // on in debug builds (every test), off in release, where it was
    // ~15% of loading the shipped policies.
    let verify = if cfg!(debug_assertions) { "true" } else { "false" };
    set(&mut flags, "enable_verifier", verify)?;
    let isa = cranelift_native::builder()
        .map_err(|e| JitError(e.to_string()))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| JitError(e.to_string()))?;
    let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
    helpers::register(&mut builder);
    Ok(JITModule::new(builder))
}

impl CompiledPolicySet {
    /// Compiles every record type that has rules or exemptions.
    pub fn compile(program: Arc<Program>) -> Result<CompiledPolicySet, JitError> {
        CompiledPolicySet::compile_with(program, CompileOptions::default())
    }

    /// [`CompiledPolicySet::compile`] with chosen options (tests outline every
    /// function to check that path against the interpreter).
    pub fn compile_with(program: Arc<Program>, options: CompileOptions) -> Result<CompiledPolicySet, JitError> {
        let mut module = new_module(Tier::Rules)?;
        let layout = Layout::new(&program);
        let out_layout = OutLayout::new(&program);
        let helper_ids = helpers::declare(&mut module)?;

        let mut record_types: Vec<RecordId> = program
            .rules
            .iter()
            .map(|r| r.record)
            .chain(program.exemptions.iter().map(|e| e.record))
            .filter(|r| program.record(*r).is_some())
            .collect();
        record_types.sort();
        record_types.dedup();

        let mut declared: Vec<(RecordId, FuncId)> = Vec::new();

        // Functions worth a body of their own are declared first, so that
        // any function may call them, then defined.
        let mut outlined: HashMap<FnId, FuncId> = HashMap::new();
        for fn_id in outline_choice(&program, options) {
            let Some(def) = program.fns.get(fn_id.index()) else {
                continue;
            };
            let mut signature = module.make_signature();
            codegen::outlined_signature(def, &mut signature);
            let id = module
                .declare_function(&format!("fn_{}", def.name), Linkage::Local, &signature)
                .map_err(|e| JitError(e.to_string()))?;
            outlined.insert(fn_id, id);
        }
        let mut by_id: Vec<(FnId, FuncId)> = outlined.iter().map(|(f, id)| (*f, *id)).collect();
        by_id.sort();
        let mut emitter = Emitter {
            program: &program,
            layout: &layout,
            helpers: &helper_ids,
            out_layout,
            outlined: &outlined,
            ctx: module.make_context(),
            builder_ctx: FunctionBuilderContext::new(),
            constants: Vec::new(),
            clif: Vec::new(),
            keep_clif: options.keep_clif,
        };
        for (fn_id, id) in by_id {
            let Some(def) = program.fns.get(fn_id.index()) else {
                continue;
            };
            let signature = module.declarations().get_function_decl(id).signature.clone();
            emitter.define(
                &mut module,
                id,
                format!("fn_{}", def.name),
                signature,
                None,
                |codegen| codegen.function(fn_id),
            )?;
        }

        // Each record type's function `(row, ctx, out)`, named `{prefix}_{Record}`.
        let define_record = |module: &mut JITModule,
                             emitter: &mut Emitter<'_>,
                             prefix: &str,
                             record: RecordId,
                             build: fn(&mut codegen::Codegen<'_, '_>, RecordId) -> Result<(), JitError>|
         -> Result<FuncId, JitError> {
            let mut signature = module.make_signature();
            for _ in 0..3 {
                signature.params.push(AbiParam::new(types::I64));
            }
            let name = format!("{prefix}_{}", program.record(record).map_or("?", |r| r.name.as_str()));
            let id = module
                .declare_function(&name, Linkage::Local, &signature)
                .map_err(|e| JitError(e.to_string()))?;
            emitter.define(module, id, name, signature, None, |codegen| build(codegen, record))?;
            Ok(id)
        };
        for record in record_types {
            let id = define_record(&mut module, &mut emitter, "eval", record, |codegen, record| {
                codegen.record_function(record)
            })?;
            declared.push((record, id));
        }
        let mut state_records: Vec<RecordId> = program.states.iter().map(|s| s.record).collect();
        state_records.sort();
        state_records.dedup();
        let mut touch_declared: Vec<(RecordId, FuncId)> = Vec::new();
        for record in state_records {
            let id = define_record(&mut module, &mut emitter, "touch", record, |codegen, record| {
                codegen.touch_function(record)
            })?;
            touch_declared.push((record, id));
        }
        let Emitter { constants, clif, .. } = emitter;
        module.finalize_definitions().map_err(|e| JitError(e.to_string()))?;
        let by_record = |declared: &[(RecordId, FuncId)]| {
            let len = declared.iter().map(|(record, _)| record.index() + 1).max().unwrap_or(0);
            vec![None; len]
        };
        let mut functions = by_record(&declared);
        for (record, id) in declared {
            let code = module.get_finalized_function(id);
            // SAFETY: `code` is the finalized function defined above with the
            // signature (i64, i64, i64) in the host calling convention, which is
            // `EvalFn`'s.
            let function = unsafe { std::mem::transmute::<*const u8, EvalFn>(code) };
            if let Some(entry) = functions.get_mut(record.index()) {
                *entry = Some(function);
            }
        }
        let mut touch_functions = by_record(&touch_declared);
        for (record, id) in touch_declared {
            let code = module.get_finalized_function(id);
            // SAFETY: as above: defined with the signature (i64, i64, i64).
            let function = unsafe { std::mem::transmute::<*const u8, EvalFn>(code) };
            if let Some(entry) = touch_functions.get_mut(record.index()) {
                *entry = Some(function);
            }
        }
        Ok(CompiledPolicySet {
            evidence: evidence::LazyEvidence::new(&program),
            no_state: crate::state::without_state(&program),
            program,
            layout,
            functions,
            touch_functions,
            out_layout,
            clif,
            module: Some(module),
            _constants: constants,
            number: NEXT_NUMBER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// Whether `row` fits `record_type`'s layout (see [`crate::layout::validate`]),
    /// checked once per row: its state touches and its evaluation share the answer.
    fn validate(&self, record_type: RecordId, row: &Row) -> bool {
        let token = crate::layout::CheckedFor::new(self.number, record_type);
        row.validate_once(&self.program, &self.layout, record_type, token)
    }

    /// Records that `row`, of `record_type`, fits this set's layout, so
    /// that neither its state touches nor its evaluation check it again:
    /// for rows whose construction guarantees it (ingestion writes every
    /// string and list slot inside the row it builds). Debug builds check
    /// it anyway, so every test that ingests a record checks the guarantee.
    ///
    /// # Safety
    /// `row` was laid out for `record_type` by this set's [`Layout`], and
    /// [`crate::layout::validate`] accepts it: native code reads its slots
    /// without bounds checks.
    pub unsafe fn assume_valid(&self, record_type: RecordId, row: &Row) {
        debug_assert!(crate::layout::validate(&self.program, &self.layout, record_type, row));
        if let Some(token) = crate::layout::CheckedFor::new(self.number, record_type) {
            row.mark_checked(token);
        }
    }

    /// The program it was compiled from.
    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// The row layout its code reads.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The Cranelift IR of every compiled function, as text (empty unless
    /// compiled with [`CompileOptions::keep_clif`]).
    pub fn clif(&self) -> String {
        let mut out = String::new();
        for (name, text) in &self.clif {
            out.push_str(&format!("; {name}\n{text}\n"));
        }
        out
    }

    /// A scratch context for evaluations on one thread; reuse it across records.
    pub fn context(&self) -> EvalContext {
        EvalContext {
            ctx: EvalCtx::new(&self.program),
            out: vec![0; self.out_layout.len()],
            active_rules: vec![0; self.out_layout.rule_words.max(1)],
            active_exempts: vec![0; self.out_layout.exempt_words.max(1)],
            active_for: None,
            state: vec![0; self.program.states.len()],
            touches: Vec::new(),
        }
    }

    /// Evaluates the conditions of every active rule and exemption of
    /// `record_type` on a row. Rules that read state err with `NoState`:
    /// see [`CompiledPolicySet::conditions_with_state`].
    pub fn conditions(&self, record_type: RecordId, row: &Row, now: i64, context: &mut EvalContext) -> Conditions {
        self.conditions_with_state(record_type, row, now, &self.no_state, context)
    }

    /// Evaluates the conditions of every active rule and exemption of
    /// `record_type` on a row, reads of state giving `state`.
    pub fn conditions_with_state(
        &self,
        record_type: RecordId,
        row: &Row,
        now: i64,
        state: &StateValues,
        context: &mut EvalContext,
    ) -> Conditions {
        let run = self.run_with_state(record_type, row, now, state, context);
        let mut conditions = self.conditions_of(run, record_type, context);
        crate::state::apply_errors(&self.program, state, &mut conditions);
        conditions
    }

    /// [`CompiledPolicySet::run`] with reads of state giving `state`.
    fn run_with_state(
        &self,
        record_type: RecordId,
        row: &Row,
        now: i64,
        state: &StateValues,
        context: &mut EvalContext,
    ) -> Run {
        // `run` sizes the words to the program's declarations.
        context.state.clear();
        context.state.extend_from_slice(&state.values);
        self.run(record_type, row, now, context)
    }

    /// Evaluates a row: conditions, then exemptions.
    pub fn evaluate(&self, record_type: RecordId, row: &Row, now: i64, context: &mut EvalContext) -> Outcome {
        self.evaluate_with_state(record_type, row, now, &self.no_state, context)
    }

    /// [`CompiledPolicySet::evaluate`] with reads of state giving `state`.
    pub fn evaluate_with_state(
        &self,
        record_type: RecordId,
        row: &Row,
        now: i64,
        state: &StateValues,
        context: &mut EvalContext,
    ) -> Outcome {
        let run = self.run_with_state(record_type, row, now, state, context);
        if matches!(run, Run::Done) && state.errors.iter().all(Option::is_none) {
            if let Some(outcome) = self.outcome_of_bits(record_type, context) {
                return outcome;
            }
        }
        let mut conditions = self.conditions_of(run, record_type, context);
        crate::state::apply_errors(&self.program, state, &mut conditions);
        Outcome::from_conditions(&self.program, &conditions)
    }

    /// Evaluates and returns only the raw rule bits (no allocation).
    pub fn evaluate_bits<'c>(
        &self,
        record_type: RecordId,
        row: &Row,
        now: i64,
        context: &'c mut EvalContext,
    ) -> &'c [u64] {
        match self.run(record_type, row, now, context) {
            Run::Done => context.out.get(..self.out_layout.rule_words).unwrap_or(&[]),
            Run::NoRules | Run::BadRow => &[],
        }
    }

    /// Runs the compiled function of `record_type` on a row, into `context.out`.
    fn run(&self, record_type: RecordId, row: &Row, now: i64, context: &mut EvalContext) -> Run {
        let Some(function) = self.functions.get(record_type.index()).copied().flatten() else {
            return Run::NoRules;
        };
        // INVARIANT: native code only ever reads a row `validate` accepted.
        if !self.validate(record_type, row) {
            return Run::BadRow;
        }
        context.prepare(&self.program, now);
        context.out.fill(0);
        context.ctx.now = now;
        context.ctx.active_rules = context.active_rules.as_ptr();
        context.ctx.active_exempts = context.active_exempts.as_ptr();
        context.ctx.program = Arc::as_ptr(&self.program);
        context.state.resize(self.program.states.len(), 0);
        context.ctx.state = context.state.as_ptr();
        // SAFETY: the function was compiled for `record_type`'s layout and
        // `validate` checked that every string and list slot of `row` points
        // inside it; `ctx` points at a live `EvalCtx` whose mask and state
        // pointers were just set to buffers of the sizes the code indexes
        // (a state word per declaration); `out` has `out_layout.len()`
        // words, as the code expects.
        unsafe { function(row.bytes().as_ptr(), &mut context.ctx, context.out.as_mut_ptr()) };
        context.ctx.clear_scratch();
        Run::Done
    }

    /// A row's touches of state, computed by native code: what
    /// [`crate::state::prepare`] computes with the interpreter. `None` when
    /// the record type keeps no state or the row does not fit its layout.
    pub fn prepare(&self, record_type: RecordId, row: &Row, context: &mut EvalContext) -> Option<Prepared> {
        use codegen::TOUCH_WORDS;
        let function = self.touch_functions.get(record_type.index()).copied().flatten()?;
        // INVARIANT: native code only ever reads a row `validate` accepted.
        if !self.validate(record_type, row) {
            return None;
        }
        let defs = || crate::state::states_of(&self.program, record_type);
        let count = defs().count();
        context.touches.clear();
        context.touches.resize(count * TOUCH_WORDS, 0);
        context.ctx.program = Arc::as_ptr(&self.program);
        // SAFETY: as in `run`; the touch function reads no masks, state or
        // clock, and writes `TOUCH_WORDS` words per declaration of the type
        // into `touches`, which has exactly that many.
        unsafe { function(row.bytes().as_ptr(), &mut context.ctx, context.touches.as_mut_ptr()) };
        let mut touches = Vec::with_capacity(count);
        for (words, (id, def)) in context.touches.chunks_exact(TOUCH_WORDS).zip(defs()) {
            let touch = match error_at(words, 0) {
                Some(error) => Err(error),
                // SAFETY: the words were just written by the touch function
                // for `row`, and the scratch is cleared only below.
                None => Ok(unsafe { touch_from_words(&self.program, id, def, words) }),
            };
            touches.push((id, touch));
        }
        context.ctx.clear_scratch();
        Some(Prepared { touches })
    }
}

/// What happened when a row was run.
enum Run {
    Done,
    /// No rule or exemption applies to the record type.
    NoRules,
    /// The row does not fit the record type's layout.
    BadRow,
}

/// Per-thread evaluation state: the helpers' scratch space, the output
/// buffer and the active-campaign masks (recomputed when `now` leaves the
/// span they hold for).
pub struct EvalContext {
    ctx: EvalCtx,
    out: Vec<u64>,
    active_rules: Vec<u64>,
    active_exempts: Vec<u64>,
    /// The times the masks hold for, from (inclusive) to (exclusive): no
    /// campaign starts or ends in between.
    active_for: Option<(i64, i64)>,
    /// The state values of the record being evaluated, a word per state
    /// declaration: what `ctx.state` points at.
    state: Vec<i64>,
    /// What the touch function writes.
    touches: Vec<u64>,
}

impl EvalContext {
    /// A context for a program evaluated by the interpreter alone, which
    /// needs none of the native code's scratch.
    pub fn for_interpreter(program: &Program) -> EvalContext {
        EvalContext {
            ctx: EvalCtx::new(program),
            out: Vec::new(),
            active_rules: Vec::new(),
            active_exempts: Vec::new(),
            active_for: None,
            state: Vec::new(),
            touches: Vec::new(),
        }
    }

    fn prepare(&mut self, program: &Program, now: i64) {
        if self.active_for.is_some_and(|(from, to)| from <= now && now < to) {
            return;
        }
        self.active_rules.fill(0);
        self.active_exempts.fill(0);
        for (id, rule) in program.rule_ids() {
            if program.rule_active(rule, now) {
                set_bit(&mut self.active_rules, id.index());
            }
        }
        for (id, exempt) in program.exempt_ids() {
            if campaign_active(program, exempt.campaign, now) {
                set_bit(&mut self.active_exempts, id.index());
            }
        }
        // Records come in time order: the masks hold until the next time a
        // campaign starts or ends.
        let (mut from, mut to) = (i64::MIN, i64::MAX);
        for (start, end) in program.campaigns.iter().filter_map(|c| c.active) {
            for change in [start, end] {
                if change <= now {
                    from = from.max(change);
                } else {
                    to = to.min(change);
                }
            }
        }
        self.active_for = Some((from, to));
    }
}

fn set_bit(words: &mut [u64], index: usize) {
    if let Some(word) = words.get_mut(index / 64) {
        *word |= 1 << (index % 64);
    }
}

/// The rules whose bits are set in `bits`.
pub fn rules_in(bits: &[u64]) -> impl Iterator<Item = RuleId> + '_ {
    results::set_bits(bits.iter().copied()).map(|i| RuleId(i as u32))
}

/// A declaration's touch from the words its touch function wrote.
///
/// # Safety
/// `words` are the declaration's words as its touch function wrote them,
/// without an error, and the strings they point at (into the row, the
/// constants or the scratch space) are alive: the row is, and the
/// context's scratch has not been cleared since.
unsafe fn touch_from_words(program: &Program, id: StateId, def: &StateDef, words: &[u64]) -> Touch {
    use codegen::{ID, KEY, OF, TIME, WHEN};
    let word = |at: usize| words.get(at).copied().unwrap_or(0);
    let text = |at: usize, expr: Option<&TExpr>| {
        // SAFETY: a string item's words are a pointer and a length of live
        // bytes (guaranteed by the caller).
        let read = || unsafe { helpers::text(word(at) as *const u8, word(at + 1)) };
        expr.is_some_and(|e| e.ty == Type::String).then(read)
    };
    let (key, of, record_id) = (
        text(KEY, Some(&def.key)),
        text(OF, def.of.as_ref()),
        text(ID, def.id.as_ref()),
    );
    let parts = TouchParts {
        key: key_part(&key, word(KEY), &def.key),
        time: word(TIME) as i64,
        counts: word(WHEN) & 0xff != 0,
        of: def.of.as_ref().map(|e| key_part(&of, word(OF), e)),
        id: def.id.as_ref().map(|e| key_part(&record_id, word(ID), e)),
    };
    touch_of(program, id, def, &parts)
}

/// A key, `of:` or `id:` item: its text when it is a string, else its word.
fn key_part<'t>(text: &'t Option<std::borrow::Cow<'_, str>>, word: u64, expr: &TExpr) -> KeyPart<'t> {
    match (text, &expr.ty) {
        (Some(text), _) => KeyPart::Str(text),
        (None, Type::Enum(_)) => KeyPart::Enum(word as u32),
        (None, _) => KeyPart::Int(word as i64),
    }
}
