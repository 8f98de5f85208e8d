//! Evidence functions: a rule's condition compiled once more, every keyword
//! search in it recording the hits of a search that matched, so that a
//! fired rule's evidence comes from a run of native code over the row
//! rather than from the interpreter over the decoded record. The run is the
//! interpreter's (the same order, the same short-circuits, every function
//! inlined); the differential test checks the evidence both find is equal.

use qlp_grammar::FileId;

use super::*;

/// What an evidence function needs while it is built: the field table it
/// adds its search sites to (shared by every evidence function of a set),
/// and the file of each body being compiled, innermost last.
pub(in crate::jit) struct EvidenceSites<'a> {
    /// By site: the searched text as written (`c.text`).
    pub fields: &'a mut Vec<String>,
    /// The rule's file, then each inlined function's.
    pub files: Vec<FileId>,
}

impl Codegen<'_, '_> {
    /// Emits the evidence function of `rule`: `(row, ctx, out)`, its
    /// condition evaluated with each keyword search adding its hits to the
    /// context; a run-time error writes its kind and span to `out[0..2]` and
    /// ends the run (the searches made before it are still evidence).
    pub(in crate::jit) fn evidence_function(&mut self, rule: RuleId) -> Result<()> {
        let def = self
            .program
            .rule(rule)
            .ok_or_else(|| JitError(String::from("unknown rule")))?;
        let (row, _, out) = self.record_entry()?;
        self.memo_slots(def.record);
        self.guarded(row, out, 0, def.n_locals, |codegen| codegen.expr(&def.when).map(drop))?;
        self.b.ins().return_(&[]);
        self.b.seal_all_blocks();
        Ok(())
    }

    /// A keyword search of set `set` in `text` (the text written at
    /// `text_span`): `plain` in a rule's function, its evidence-recording
    /// twin `recording` in an evidence function.
    pub(super) fn keyword_search(
        &mut self,
        plain: FuncId,
        recording: FuncId,
        set: KeywordSetId,
        text: Flat,
        text_span: Span,
        span: Span,
    ) -> Result<Value> {
        let set = self.b.ins().iconst(types::I64, i64::from(set.0));
        let mut args = vec![self.ctx, set];
        let helper = match self.site(text_span) {
            Some(site) => {
                args.push(self.b.ins().iconst(types::I64, site as i64));
                recording
            }
            None => plain,
        };
        args.extend(text);
        self.call_checked(helper, &args, span)
    }

    /// In an evidence function, the site of the text written at
    /// `text_span` in the body being compiled (added to the table once).
    fn site(&mut self, text_span: Span) -> Option<usize> {
        let program = self.program;
        let sites = self.evidence.as_mut()?;
        let file = sites.files.last().copied().unwrap_or(FileId(0));
        let field = crate::explain::field_at(program, file, text_span);
        Some(match sites.fields.iter().position(|f| *f == field) {
            Some(site) => site,
            None => {
                sites.fields.push(field);
                sites.fields.len() - 1
            }
        })
    }
}
