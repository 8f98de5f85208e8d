//! Keyword evidence from native code: each rule that searches keywords has
//! an evidence function (see `codegen/evidence.rs`), run for a rule that
//! fired to find the hits behind it. They are compiled when first needed,
//! into a module of their own: most rules never fire on most streams, and
//! compiling them all took as long again as the rules' own code.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use cranelift_codegen::ir::{types, AbiParam};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::JITModule;
use cranelift_module::{Linkage, Module};

use super::{helpers, CompiledPolicySet, Emitter, EvalContext, EvalFn, JitError};
use crate::explain::{searches_keywords, sort_hits, KeywordEvidence};
use crate::layout::Row;
use crate::program::{Program, RuleId};

/// The evidence functions of a compiled set, by rule, compiled on first use.
pub(super) struct LazyEvidence {
    /// By rule: whether it searches keywords (and so has an evidence function).
    searches: Vec<bool>,
    /// By rule: its function once compiled (`None`: compiling it failed, and
    /// its firings carry no evidence).
    functions: Vec<OnceLock<Option<EvidenceFn>>>,
    /// Where they are compiled: created with the first one.
    module: Mutex<Option<EvidenceModule>>,
}

/// One rule's evidence function and, by search site, the text each search
/// in it looks at, as written.
struct EvidenceFn {
    function: EvalFn,
    fields: Box<[String]>,
}

/// The module evidence functions are compiled into, and what their code
/// points at.
struct EvidenceModule {
    module: JITModule,
    helpers: helpers::HelperIds,
    /// Constant data the code points into; kept as long as the code.
    constants: Vec<Box<[u8]>>,
}

impl LazyEvidence {
    pub(super) fn new(program: &Program) -> LazyEvidence {
        LazyEvidence {
            searches: program
                .rules
                .iter()
                .map(|rule| searches_keywords(program, &rule.when))
                .collect(),
            functions: program.rules.iter().map(|_| OnceLock::new()).collect(),
            module: Mutex::new(None),
        }
    }

    /// Drops every function, then frees their code (`&mut self`: no call is
    /// running).
    pub(super) fn free(&mut self) {
        self.functions.clear();
        let module = self.module.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(module) = module {
            // SAFETY: the function pointers into this module were dropped
            // above and `&mut self` guarantees no call is running.
            unsafe { module.module.free_memory() };
        }
    }
}

impl CompiledPolicySet {
    /// The keyword hits behind `rule`'s condition on a row at `now`, reads
    /// of state giving `state` (one value per declaration): what
    /// [`crate::explain::keyword_evidence`] finds with the interpreter,
    /// found by native code (the rule's evidence function, compiled the
    /// first time it is asked for). `None` when the rule searches no
    /// keywords or the row does not fit the layout.
    pub fn evidence(
        &self,
        rule: RuleId,
        row: &Row,
        now: i64,
        state: &[i64],
        context: &mut EvalContext,
    ) -> Option<KeywordEvidence> {
        let record = self.program.rule(rule)?.record;
        if !self.evidence.searches.get(rule.index()).copied().unwrap_or(false) {
            return None;
        }
        // INVARIANT: native code only ever reads a row `validate` accepted.
        if !self.validate(record, row) {
            return None;
        }
        let compiled = self
            .evidence
            .functions
            .get(rule.index())?
            .get_or_init(|| self.compile_evidence(rule).ok())
            .as_ref()?;
        context.state.clear();
        context.state.extend_from_slice(state);
        context.state.resize(self.program.states.len(), 0);
        context.ctx.now = now;
        context.ctx.program = std::sync::Arc::as_ptr(&self.program);
        context.ctx.state = context.state.as_ptr();
        context.ctx.evidence_fields = &*compiled.fields;
        context.ctx.evidence = Some(KeywordEvidence::default());
        let mut error = [0u64; 2];
        // SAFETY: the function was compiled for `record`'s layout and
        // `validate` checked the row; `ctx` points at a live context whose
        // program, state (a word per declaration) and evidence fields (this
        // function's, owned by `self`) were just set; it reads no campaign
        // masks; `out` has the two words it writes on an error.
        unsafe { (compiled.function)(row.bytes().as_ptr(), &mut context.ctx, error.as_mut_ptr()) };
        let mut evidence = context.ctx.evidence.take().unwrap_or_default();
        context.ctx.clear_scratch();
        sort_hits(&mut evidence);
        Some(evidence)
    }

    /// Compiles every evidence function not compiled yet, so that no
    /// decision waits for one (`qlp serve` does so when it loads a set,
    /// before the set takes requests). How many rules have one.
    pub fn compile_evidence_functions(&self) -> usize {
        let lazy = &self.evidence;
        lazy.functions
            .iter()
            .zip(&lazy.searches)
            .enumerate()
            .filter(|(_, (_, searches))| **searches)
            .filter(|(index, (function, _))| {
                function
                    .get_or_init(|| self.compile_evidence(RuleId(*index as u32)).ok())
                    .is_some()
            })
            .count()
    }

    /// How many evidence functions are compiled so far.
    pub fn evidence_functions_compiled(&self) -> usize {
        self.evidence
            .functions
            .iter()
            .filter(|function| function.get().is_some_and(Option::is_some))
            .count()
    }

    /// Compiles `rule`'s evidence function, named `evidence_{rule}`, into
    /// the evidence module (created with the first).
    fn compile_evidence(&self, rule: RuleId) -> Result<EvidenceFn, JitError> {
        let def = self
            .program
            .rule(rule)
            .ok_or_else(|| JitError(String::from("unknown rule")))?;
        let mut guard = self.evidence.module.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            let mut module = super::new_module(super::Tier::Evidence)?;
            let helpers = helpers::declare(&mut module)?;
            *guard = Some(EvidenceModule {
                module,
                helpers,
                constants: Vec::new(),
            });
        }
        let EvidenceModule {
            module,
            helpers,
            constants,
        } = guard
            .as_mut()
            .ok_or_else(|| JitError(String::from("no evidence module")))?;
        let mut signature = module.make_signature();
        for _ in 0..3 {
            signature.params.push(AbiParam::new(types::I64));
        }
        let name = format!("evidence_{}", def.name);
        let id = module
            .declare_function(&name, Linkage::Local, &signature)
            .map_err(|e| JitError(e.to_string()))?;
        // Every call is inlined: nothing is outlined.
        let outlined = HashMap::new();
        let mut emitter = Emitter {
            program: &self.program,
            layout: &self.layout,
            helpers,
            out_layout: self.out_layout,
            outlined: &outlined,
            ctx: module.make_context(),
            builder_ctx: FunctionBuilderContext::new(),
            constants: Vec::new(),
            clif: Vec::new(),
            keep_clif: false,
        };
        let mut fields = Vec::new();
        let sites = Some((def.location.file, &mut fields));
        emitter.define(module, id, name, signature, sites, |codegen| {
            codegen.evidence_function(rule)
        })?;
        constants.append(&mut emitter.constants);
        module.finalize_definitions().map_err(|e| JitError(e.to_string()))?;
        let code = module.get_finalized_function(id);
        // SAFETY: `code` is the finalized function defined above with the
        // signature (i64, i64, i64) in the host calling convention, which is
        // `EvalFn`'s.
        let function = unsafe { std::mem::transmute::<*const u8, EvalFn>(code) };
        Ok(EvidenceFn {
            function,
            fields: fields.into_boxed_slice(),
        })
    }
}
