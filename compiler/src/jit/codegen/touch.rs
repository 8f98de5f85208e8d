//! The touch function of a record type: what each state declaration of
//! the type computes from a record (`key:`, `time:`, `when:`, `of:`,
//! `id:`), compiled like conditions, so that keys cost what rules cost.

use cranelift_codegen::ir::{types, InstBuilder, Value};

use super::{flags, Codegen, Result};
use crate::program::{RecordId, StateDef, TExpr};
use crate::state::states_of;

/// Words written per state declaration, in `states_of` order: the error
/// kind (0: none) and span, then `key:` (2 words), `time:`, `when:` (1 when
/// absent), `of:` (2) and `id:` (2), each in its flat form.
pub(in crate::jit) const TOUCH_WORDS: usize = 10;

/// Where each item's flat value starts within a declaration's words.
pub(in crate::jit) const KEY: usize = 2;
pub(in crate::jit) const TIME: usize = 4;
pub(in crate::jit) const WHEN: usize = 5;
pub(in crate::jit) const OF: usize = 6;
pub(in crate::jit) const ID: usize = 8;

impl Codegen<'_, '_> {
    /// Emits the touch function of `record`: `(row, ctx, out)`, `out`
    /// zeroed by the caller, `TOUCH_WORDS` words per declaration.
    pub(in crate::jit) fn touch_function(&mut self, record: RecordId) -> Result<()> {
        let (row, _, out) = self.record_entry()?;
        self.memo_slots(record);
        let defs: Vec<StateDef> = states_of(self.program, record).map(|(_, def)| def.clone()).collect();
        for (slot, def) in defs.iter().enumerate() {
            self.touch(row, out, slot * TOUCH_WORDS, def)?;
        }
        self.b.ins().return_(&[]);
        self.b.seal_all_blocks();
        Ok(())
    }

    /// One declaration's items into `out[base..base + TOUCH_WORDS]`; a
    /// run-time error stores its kind and span instead and goes on with the
    /// next declaration.
    fn touch(&mut self, row: Value, out: Value, base: usize, def: &StateDef) -> Result<()> {
        self.guarded(row, out, (8 * base) as i32, def.n_locals, |codegen| {
            let items: [(Option<&TExpr>, usize); 5] = [
                (Some(&def.key), KEY),
                (Some(&def.time), TIME),
                (def.when.as_ref(), WHEN),
                (def.of.as_ref(), OF),
                (def.id.as_ref(), ID),
            ];
            for (expr, word) in items {
                let Some(expr) = expr else { continue };
                let flat = codegen.expr(expr)?;
                for (i, value) in flat.iter().enumerate() {
                    let offset = (8 * (base + word + i)) as i32;
                    codegen.b.ins().store(flags(), *value, out, offset);
                }
            }
            if def.when.is_none() {
                let one = codegen.b.ins().iconst(types::I64, 1);
                codegen.b.ins().store(flags(), one, out, (8 * (base + WHEN)) as i32);
            }
            Ok(())
        })
    }

    /// Emits `body` over a record (`row` in local slot 0, `n_locals`
    /// slots): a run-time error in it stores its kind and span at `out +
    /// error_at` and skips the rest; both ways go on after it.
    pub(super) fn guarded(
        &mut self,
        row: Value,
        out: Value,
        error_at: i32,
        n_locals: u32,
        body: impl FnOnce(&mut Self) -> Result<()>,
    ) -> Result<()> {
        let next = self.b.create_block();
        let error = self.b.create_block();
        self.b.append_block_param(error, types::I64);
        self.b.append_block_param(error, types::I64);
        self.error_block = Some(error);
        self.env = vec![None; (n_locals as usize).max(1)];
        if let Some(slot) = self.env.first_mut() {
            *slot = Some(vec![row, row]);
        }
        body(self)?;
        self.b.ins().jump(next, &[]);

        self.b.switch_to_block(error);
        let error_params = self.b.block_params(error).to_vec();
        if let (Some(&kind), Some(&span)) = (error_params.first(), error_params.get(1)) {
            self.b.ins().store(flags(), kind, out, error_at);
            self.b.ins().store(flags(), span, out, error_at + 8);
        }
        self.b.ins().jump(next, &[]);

        self.b.switch_to_block(next);
        self.error_block = None;
        Ok(())
    }
}
