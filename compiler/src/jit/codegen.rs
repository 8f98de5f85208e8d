//! Typed IR to Cranelift IR, one function per record type.
//!
//! Every value is a short list of Cranelift values ("flat" form):
//!
//! | type | flat form |
//! |---|---|
//! | `bool` | `i8` (0/1) |
//! | `int`, `time`, `duration`, enum | `i64` |
//! | `float` | `f64` |
//! | `string` | pointer, byte length |
//! | `[T]` | pointer to the first element, count, base for its string offsets |
//! | record | pointer, base for its string offsets |
//! | `T?` | `i8` presence, then `T`'s flat form (unspecified when absent) |
//!
//! The evaluation order (left to right, short-circuit) is the interpreter's,
//! so both report the same first error.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    types, Block, BlockArg, FuncRef, InstBuilder, MemFlagsData, StackSlot, StackSlotData, StackSlotKind, Value,
};
use cranelift_frontend::FunctionBuilder;
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Module};
use qlp_grammar::ast::QuantifierKind;
use qlp_grammar::Span;

use super::helpers::{HelperIds, CONCAT_PARTS, CTX_ACTIVE_EXEMPTS, CTX_ACTIVE_RULES, CTX_NOW, CTX_STATE};
use super::{JitError, OutLayout};
use crate::layout::{encode_standalone, Layout};
use crate::program::*;
use crate::types::Type;
use crate::value::Value as Const;

mod evidence;
mod expr;
mod ops;
mod touch;

pub(super) use evidence::EvidenceSites;

pub(super) use touch::{ID, KEY, OF, TIME, TOUCH_WORDS, WHEN};

const OVERFLOW: i64 = 1;
const DIVISION_BY_ZERO: i64 = 2;
const OUT_OF_RANGE: i64 = 3;
/// A helper could not compute (see `helpers::FAILED`).
const INTERNAL: i64 = 5;

type Flat = Vec<Value>;
type Result<T> = std::result::Result<T, JitError>;

fn flat_types(ty: &Type) -> Vec<types::Type> {
    match ty {
        Type::Bool => vec![types::I8],
        Type::Int | Type::Time | Type::Duration | Type::Enum(_) | Type::Error => vec![types::I64],
        Type::Float => vec![types::F64],
        Type::String => vec![types::I64, types::I64],
        Type::List(_) => vec![types::I64, types::I64, types::I64],
        Type::Record(_) => vec![types::I64, types::I64],
        Type::Optional(inner) => {
            let mut out = vec![types::I8];
            out.extend(flat_types(inner));
            out
        }
    }
}

/// The signature of an outlined function: `(ctx, out, params...) -> status`,
/// the parameters in flat form.
pub(super) fn outlined_signature(def: &FnDef, signature: &mut cranelift_codegen::ir::Signature) {
    use cranelift_codegen::ir::AbiParam;
    signature.params.push(AbiParam::new(types::I64));
    signature.params.push(AbiParam::new(types::I64));
    for (_, ty) in &def.params {
        signature.params.extend(flat_types(ty).into_iter().map(AbiParam::new));
    }
    signature.returns.push(AbiParam::new(types::I64));
}

/// Whether `expr` searches text (keywords or a regex), directly or in a
/// function it calls: costly next to comparisons of fields.
pub(super) fn searches_text(program: &Program, expr: &TExpr, depth: usize) -> bool {
    if depth > 64 {
        return true;
    }
    let own = match &expr.kind {
        TExprKind::HasAny(..) | TExprKind::Matches(..) | TExprKind::Builtin(Builtin::CountMatches(_), _) => true,
        TExprKind::Call(id, _) => program
            .fns
            .get(id.index())
            .is_none_or(|f| searches_text(program, &f.body, depth + 1)),
        _ => false,
    };
    own || expr
        .children()
        .into_iter()
        .any(|c| searches_text(program, c, depth + 1))
}

/// Whether evaluating `expr` can never raise a run-time error (so that
/// computing it once per record, whatever the rule, changes nothing).
pub(super) fn infallible(program: &Program, expr: &TExpr, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    let own = match &expr.kind {
        TExprKind::Arith(op, ..) => matches!(
            op,
            ArithOp::FloatAdd | ArithOp::FloatSub | ArithOp::FloatMul | ArithOp::Concat
        ),
        TExprKind::Neg(_, scalar) => *scalar == Scalar::Float,
        TExprKind::Builtin(builtin, _) => !matches!(builtin, Builtin::ToInt | Builtin::IntAbs),
        TExprKind::Call(id, _) => program
            .fns
            .get(id.index())
            .is_some_and(|f| infallible(program, &f.body, depth + 1)),
        _ => true,
    };
    own && expr.children().into_iter().all(|c| infallible(program, c, depth + 1))
}

fn block_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

pub(super) struct Codegen<'a, 'b> {
    program: &'a Program,
    layout: &'a Layout,
    b: FunctionBuilder<'b>,
    module: &'a mut JITModule,
    helpers: &'a HelperIds,
    constants: &'a mut Vec<Box<[u8]>>,
    out_layout: OutLayout,
    ctx: Value,
    /// The current rule's error block: takes the error kind and span.
    error_block: Option<Block>,
    env: Vec<Option<Flat>>,
    func_refs: HashMap<FuncId, FuncRef>,
    /// The row pointer of the function: a call whose only argument is the
    /// record itself can be memoized.
    row: Value,
    /// The active-rule and active-exemption mask pointers, loaded on entry.
    masks: (Value, Value),
    /// Per function: a stack slot holding a "computed" flag and the flat
    /// result, for infallible functions of the record (computed once per
    /// record however many rules call them).
    memo: HashMap<FnId, StackSlot>,
    /// The bytes of constant strings, by the value holding their pointer:
    /// equality with a short constant is compiled inline.
    const_strings: HashMap<Value, Vec<u8>>,
    /// Functions compiled once, as functions of their own, and called.
    outlined: &'a HashMap<FnId, FuncId>,
    /// In an evidence function: its search sites and the files of the
    /// bodies being compiled.
    evidence: Option<EvidenceSites<'a>>,
}

impl<'a, 'b> Codegen<'a, 'b> {
    #[expect(clippy::too_many_arguments, reason = "everything one function's code is built from")]
    pub(super) fn new(
        program: &'a Program,
        layout: &'a Layout,
        b: FunctionBuilder<'b>,
        module: &'a mut JITModule,
        helpers: &'a HelperIds,
        constants: &'a mut Vec<Box<[u8]>>,
        out_layout: OutLayout,
        outlined: &'a HashMap<FnId, FuncId>,
        evidence: Option<EvidenceSites<'a>>,
    ) -> Codegen<'a, 'b> {
        let ctx = Value::from_u32(0);
        Codegen {
            program,
            layout,
            b,
            module,
            helpers,
            constants,
            out_layout,
            ctx,
            error_block: None,
            env: Vec::new(),
            func_refs: HashMap::new(),
            row: ctx,
            memo: HashMap::new(),
            const_strings: HashMap::new(),
            masks: (ctx, ctx),
            outlined,
            evidence,
        }
    }

    /// Emits an outlined function (see [`outlined_signature`]): its
    /// arguments are bound to its parameters; a run-time error returns its
    /// kind and writes its span to `out[0]`; a value is written to `out[1..]`
    /// and 0 returned.
    pub(super) fn function(&mut self, id: FnId) -> Result<()> {
        let def = self
            .program
            .fns
            .get(id.index())
            .ok_or_else(|| JitError(String::from("unknown function")))?;
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        let params = self.b.block_params(entry).to_vec();
        let (Some(&ctx), Some(&out)) = (params.first(), params.get(1)) else {
            return Err(JitError(String::from("bad signature")));
        };
        self.ctx = ctx;
        let mut rest = params.get(2..).unwrap_or(&[]).iter().copied();
        self.env = vec![None; (def.n_locals as usize).max(1)];
        for (i, (_, ty)) in def.params.iter().enumerate() {
            let value: Flat = flat_types(ty).iter().filter_map(|_| rest.next()).collect();
            self.bind(i as u32, value);
        }
        let error = self.b.create_block();
        self.b.append_block_param(error, types::I64);
        self.b.append_block_param(error, types::I64);
        self.error_block = Some(error);
        let result = self.expr(&def.body)?;
        for (i, value) in result.iter().enumerate() {
            self.b.ins().store(flags(), *value, out, 8 * (1 + i as i32));
        }
        let ok = self.b.ins().iconst(types::I64, 0);
        self.b.ins().return_(&[ok]);

        self.b.switch_to_block(error);
        let error_params = self.b.block_params(error).to_vec();
        let (Some(&kind), Some(&span)) = (error_params.first(), error_params.get(1)) else {
            return Err(JitError(String::from("error block")));
        };
        self.b.ins().store(flags(), span, out, 0);
        self.b.ins().return_(&[kind]);
        self.b.seal_all_blocks();
        Ok(())
    }

    /// Emits the whole function for one record type.
    pub(super) fn record_function(&mut self, record: RecordId) -> Result<()> {
        let (row, ctx, out) = self.record_entry()?;
        let rule_mask = self.b.ins().load(types::I64, flags(), ctx, CTX_ACTIVE_RULES);
        let exempt_mask = self.b.ins().load(types::I64, flags(), ctx, CTX_ACTIVE_EXEMPTS);
        self.masks = (rule_mask, exempt_mask);
        self.memo_slots(record);
        let rules: Vec<(usize, TExpr, u32)> = self
            .program
            .rule_ids()
            .filter(|(_, r)| r.record == record)
            .map(|(id, r)| (id.index(), r.when.clone(), r.n_locals))
            .collect();
        for (index, when, n_locals) in rules {
            let bit_word = index / 64;
            let error_word = self.out_layout.rule_error_word(index);
            self.condition(row, out, CTX_ACTIVE_RULES, index, bit_word, error_word, &when, n_locals)?;
        }
        let exempts: Vec<(usize, TExpr, u32)> = self
            .program
            .exempt_ids()
            .filter(|(_, e)| e.record == record)
            .map(|(id, e)| (id.index(), e.when.clone(), e.n_locals))
            .collect();
        for (index, when, n_locals) in exempts {
            let bit_word = self.out_layout.exempt_bits_word(index);
            let error_word = self.out_layout.exempt_error_word(index);
            self.condition(
                row,
                out,
                CTX_ACTIVE_EXEMPTS,
                index,
                bit_word,
                error_word,
                &when,
                n_locals,
            )?;
        }
        self.b.ins().return_(&[]);
        self.b.seal_all_blocks();
        Ok(())
    }

    /// The entry block of a record type's function `(row, ctx, out)`: its
    /// parameters, `ctx` and `row` set.
    fn record_entry(&mut self) -> Result<(Value, Value, Value)> {
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        let params = self.b.block_params(entry).to_vec();
        let (Some(&row), Some(&ctx), Some(&out)) = (params.first(), params.get(1), params.get(2)) else {
            return Err(JitError(String::from("bad signature")));
        };
        self.ctx = ctx;
        self.row = row;
        Ok((row, ctx, out))
    }

    /// Memo slots for infallible one-parameter functions of `record`, their
    /// flags cleared on entry.
    fn memo_slots(&mut self, record: RecordId) {
        let memoizable: Vec<(FnId, u32)> = self
            .program
            .fns
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                matches!(f.params.as_slice(), [(_, Type::Record(r))] if *r == record)
                    && infallible(self.program, &f.body, 0)
            })
            .map(|(i, f)| (FnId(i as u32), 8 * (1 + flat_types(&f.ret).len() as u32)))
            .collect();
        for (id, size) in memoizable {
            let slot = self
                .b
                .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 3));
            let zero = self.b.ins().iconst(types::I64, 0);
            self.b.ins().stack_store(types::I64, zero, slot, 0);
            self.memo.insert(id, slot);
        }
    }

    /// Finishes the function after `record_function`.
    pub(super) fn finish(self) {
        let config = self.module.target_config();
        self.b.finalize(config);
    }

    /// One rule or exemption: skip if inactive, else evaluate and record.
    #[expect(clippy::too_many_arguments, reason = "the pieces of one output slot")]
    fn condition(
        &mut self,
        row: Value,
        out: Value,
        mask_offset: i32,
        index: usize,
        bit_word: usize,
        error_word: usize,
        when: &TExpr,
        n_locals: u32,
    ) -> Result<()> {
        let next = self.b.create_block();
        let evaluate = self.b.create_block();
        let fire = self.b.create_block();
        let error = self.b.create_block();
        self.b.append_block_param(error, types::I64);
        self.b.append_block_param(error, types::I64);

        // Skip rules whose campaign is not active.
        let mask = if mask_offset == CTX_ACTIVE_RULES {
            self.masks.0
        } else {
            self.masks.1
        };
        let word = self.b.ins().load(types::I64, flags(), mask, (index / 64 * 8) as i32);
        let bit = self.b.ins().band_imm_u(word, 1i64 << (index % 64));
        self.b.ins().brif(bit, evaluate, &[], next, &[]);

        self.b.switch_to_block(evaluate);
        self.error_block = Some(error);
        self.env = vec![None; (n_locals as usize).max(1)];
        if let Some(slot) = self.env.first_mut() {
            *slot = Some(vec![row, row]);
        }
        let holds = self.expr(when)?;
        let holds = *holds.first().ok_or_else(|| JitError(String::from("empty condition")))?;
        self.b.ins().brif(holds, fire, &[], next, &[]);

        self.b.switch_to_block(fire);
        let address = (bit_word * 8) as i32;
        let current = self.b.ins().load(types::I64, flags(), out, address);
        let updated = self.b.ins().bor_imm_u(current, 1i64 << (index % 64));
        self.b.ins().store(flags(), updated, out, address);
        self.b.ins().jump(next, &[]);

        self.b.switch_to_block(error);
        let error_params = self.b.block_params(error).to_vec();
        if let (Some(&kind), Some(&span)) = (error_params.first(), error_params.get(1)) {
            self.b.ins().store(flags(), kind, out, (error_word * 8) as i32);
            self.b.ins().store(flags(), span, out, (error_word * 8 + 8) as i32);
        }
        self.b.ins().jump(next, &[]);

        self.b.switch_to_block(next);
        self.error_block = None;
        Ok(())
    }

    /// Jumps to the error block with `kind` at `span` when `failed` is set.
    fn fail_if(&mut self, failed: Value, kind: i64, span: Span) -> Result<()> {
        let error = self
            .error_block
            .ok_or_else(|| JitError(String::from("error outside a rule")))?;
        let cont = self.b.create_block();
        let kind = self.b.ins().iconst(types::I64, kind);
        let span = self
            .b
            .ins()
            .iconst(types::I64, ((u64::from(span.start) << 32) | u64::from(span.end)) as i64);
        self.b.ins().brif(failed, error, &block_args(&[kind, span]), cont, &[]);
        self.b.switch_to_block(cont);
        Ok(())
    }

    fn helper(&mut self, id: FuncId) -> FuncRef {
        if let Some(r) = self.func_refs.get(&id) {
            return *r;
        }
        let r = self.module.declare_func_in_func(id, self.b.func);
        self.func_refs.insert(id, r);
        r
    }

    fn call(&mut self, id: FuncId, args: &[Value]) -> Option<Value> {
        let f = self.helper(id);
        let call = self.b.ins().call(f, args);
        self.b.inst_results(call).first().copied()
    }

    fn call_value(&mut self, id: FuncId, args: &[Value]) -> Result<Value> {
        self.call(id, args)
            .ok_or_else(|| JitError(String::from("helper returned nothing")))
    }

    /// Calls a guarded helper; its failure is this rule's error at `span`.
    fn call_checked(&mut self, id: FuncId, args: &[Value], span: Span) -> Result<Value> {
        let value = self.call_value(id, args)?;
        let failed = self.b.ins().icmp_imm_s(IntCC::Equal, value, super::helpers::FAILED);
        self.fail_if(failed, INTERNAL, span)?;
        Ok(value)
    }

    /// Calls a helper that writes a string to a two-word stack slot; its
    /// failure is this rule's error at `span`, and the slot is then not read.
    fn call_string(&mut self, id: FuncId, args: &[Value], span: Span) -> Result<Flat> {
        let slot = self
            .b
            .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 16, 3));
        let out = self.b.ins().stack_addr(types::I64, slot, 0);
        let mut all = args.to_vec();
        all.push(out);
        self.call_checked(id, &all, span)?;
        let ptr = self.b.ins().stack_load(types::I64, types::I64, slot, 0);
        let len = self.b.ins().stack_load(types::I64, types::I64, slot, 8);
        Ok(vec![ptr, len])
    }

    /// Reads a slot of type `ty` at `address`; strings and lists in it are
    /// offsets from `base`.
    fn load(&mut self, ty: &Type, address: Value, base: Value) -> Flat {
        match ty {
            Type::Bool => {
                let word = self.b.ins().load(types::I64, flags(), address, 0);
                vec![self.b.ins().icmp_imm_s(IntCC::NotEqual, word, 0)]
            }
            Type::Float => vec![self.b.ins().load(types::F64, flags(), address, 0)],
            Type::String => {
                let offset = self.b.ins().load(types::I64, flags(), address, 0);
                let len = self.b.ins().load(types::I64, flags(), address, 8);
                vec![self.b.ins().iadd(base, offset), len]
            }
            Type::List(_) => {
                let offset = self.b.ins().load(types::I64, flags(), address, 0);
                let count = self.b.ins().load(types::I64, flags(), address, 8);
                vec![self.b.ins().iadd(base, offset), count, base]
            }
            Type::Record(_) => vec![address, base],
            Type::Optional(inner) => {
                let word = self.b.ins().load(types::I64, flags(), address, 0);
                let present = self.b.ins().icmp_imm_s(IntCC::NotEqual, word, 0);
                let inner_address = self.b.ins().iadd_imm_s(address, 8);
                let mut out = vec![present];
                out.extend(self.load(inner, inner_address, base));
                out
            }
            _ => vec![self.b.ins().load(types::I64, flags(), address, 0)],
        }
    }

    /// Writes a flat value of a list-literal element type (no records or
    /// lists) to `address`, with string offsets from base 0.
    fn store(&mut self, ty: &Type, values: &[Value], address: Value) {
        match (ty, values) {
            (Type::Bool, [v]) => {
                let word = self.b.ins().uextend(types::I64, *v);
                self.b.ins().store(flags(), word, address, 0);
            }
            (Type::String, [ptr, len]) => {
                self.b.ins().store(flags(), *ptr, address, 0);
                self.b.ins().store(flags(), *len, address, 8);
            }
            (Type::Optional(inner), [present, rest @ ..]) => {
                let word = self.b.ins().uextend(types::I64, *present);
                self.b.ins().store(flags(), word, address, 0);
                let inner_address = self.b.ins().iadd_imm_s(address, 8);
                self.store(inner, rest, inner_address);
            }
            (_, [v]) => {
                self.b.ins().store(flags(), *v, address, 0);
            }
            _ => {}
        }
    }

    /// A constant of any type, laid out in a buffer the compiled set keeps.
    fn constant(&mut self, ty: &Type, value: &Const) -> Result<Flat> {
        Ok(match (ty, value) {
            (Type::Bool, Const::Bool(b)) => vec![self.b.ins().iconst(types::I8, i64::from(*b))],
            (_, Const::Int(v) | Const::Time(v) | Const::Duration(v)) => vec![self.b.ins().iconst(types::I64, *v)],
            (_, Const::Enum(v)) => vec![self.b.ins().iconst(types::I64, i64::from(*v))],
            (_, Const::Float(v)) => vec![self.b.ins().f64const(*v)],
            _ => {
                let bytes = encode_standalone(self.program, self.layout, ty, value).into_boxed_slice();
                let address = bytes.as_ptr() as i64;
                self.constants.push(bytes);
                let base = self.b.ins().iconst(types::I64, address);
                let flat = self.load(ty, base, base);
                if let (Type::String, Const::Str(text), Some(ptr)) = (ty, value, flat.first()) {
                    self.const_strings.insert(*ptr, text.as_bytes().to_vec());
                }
                flat
            }
        })
    }

    fn bool_of(&self, flat: &Flat) -> Result<Value> {
        flat.first()
            .copied()
            .ok_or_else(|| JitError(String::from("missing value")))
    }
}
