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

use super::helpers::{HelperIds, CTX_ACTIVE_EXEMPTS, CTX_ACTIVE_RULES, CTX_NOW};
use super::{JitError, OutLayout};
use crate::layout::{encode_standalone, Layout};
use crate::program::*;
use crate::types::Type;
use crate::value::Value as Const;

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

/// Whether evaluating `expr` can never raise a run-time error (so that
/// computing it once per record, whatever the rule, changes nothing).
fn infallible(program: &Program, expr: &TExpr, depth: usize) -> bool {
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
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        let params = self.b.block_params(entry).to_vec();
        let (Some(&row), Some(&ctx), Some(&out)) = (params.first(), params.get(1), params.get(2)) else {
            return Err(JitError(String::from("bad signature")));
        };
        self.ctx = ctx;
        self.row = row;
        let rule_mask = self.b.ins().load(types::I64, flags(), ctx, CTX_ACTIVE_RULES);
        let exempt_mask = self.b.ins().load(types::I64, flags(), ctx, CTX_ACTIVE_EXEMPTS);
        self.masks = (rule_mask, exempt_mask);
        // Memo slots for infallible one-parameter functions of this record type,
        // their flags cleared on entry.
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

    fn expr(&mut self, e: &TExpr) -> Result<Flat> {
        let span = e.span;
        Ok(match &e.kind {
            TExprKind::Const(value) => self.constant(&e.ty, value)?,
            TExprKind::Now => vec![self.b.ins().load(types::I64, flags(), self.ctx, CTX_NOW)],
            TExprKind::Local(slot) => self
                .env
                .get(*slot as usize)
                .cloned()
                .flatten()
                .ok_or_else(|| JitError(format!("unbound local {slot}")))?,
            TExprKind::Field(base, index) => {
                let Type::Record(record) = base.ty else {
                    return Err(JitError(String::from("field of a non-record")));
                };
                let value = self.expr(base)?;
                let (Some(&ptr), Some(&row_base)) = (value.first(), value.get(1)) else {
                    return Err(JitError(String::from("bad record value")));
                };
                let offset = self.layout.field_offset(record, *index);
                let address = self.b.ins().iadd_imm_s(ptr, i64::from(offset));
                self.load(&e.ty, address, row_base)
            }
            TExprKind::Unwrap(inner) => self.expr(inner)?.into_iter().skip(1).collect(),
            TExprKind::Not(inner) => {
                let v = self.expr(inner)?;
                let v = self.bool_of(&v)?;
                vec![self.b.ins().icmp_imm_s(IntCC::Equal, v, 0)]
            }
            TExprKind::Neg(inner, scalar) => {
                let v = self.expr(inner)?;
                let v = self.bool_of(&v)?;
                if *scalar == Scalar::Float {
                    vec![self.b.ins().fneg(v)]
                } else {
                    let is_min = self.b.ins().icmp_imm_s(IntCC::Equal, v, i64::MIN);
                    self.fail_if(is_min, OVERFLOW, span)?;
                    vec![self.b.ins().ineg(v)]
                }
            }
            TExprKind::And(a, b) | TExprKind::Or(a, b) => {
                let is_and = matches!(e.kind, TExprKind::And(..));
                let lhs = self.expr(a)?;
                let lhs = self.bool_of(&lhs)?;
                let rhs_block = self.b.create_block();
                let join = self.b.create_block();
                self.b.append_block_param(join, types::I8);
                if is_and {
                    self.b.ins().brif(lhs, rhs_block, &[], join, &[BlockArg::Value(lhs)]);
                } else {
                    self.b.ins().brif(lhs, join, &[BlockArg::Value(lhs)], rhs_block, &[]);
                }
                self.b.switch_to_block(rhs_block);
                let rhs = self.expr(b)?;
                let rhs = self.bool_of(&rhs)?;
                self.b.ins().jump(join, &[BlockArg::Value(rhs)]);
                self.b.switch_to_block(join);
                self.b.block_params(join).to_vec()
            }
            TExprKind::Arith(op, a, b) => {
                let lhs = self.expr(a)?;
                let rhs = self.expr(b)?;
                self.arith(*op, &lhs, &rhs, span)?
            }
            TExprKind::Compare(op, scalar, a, b) => {
                let lhs = self.expr(a)?;
                let rhs = self.expr(b)?;
                vec![self.compare(*op, *scalar, &lhs, &rhs)?]
            }
            TExprKind::Coalesce(a, b) if !matches!(a.ty, Type::Optional(_)) => {
                // Never missing (the checker warns): the default is never evaluated.
                let lhs = self.expr(a)?;
                self.coerce(lhs, &a.ty, &e.ty)
            }
            TExprKind::Coalesce(a, b) => {
                let lhs = self.expr(a)?;
                let present = self.bool_of(&lhs)?;
                let result_types = flat_types(&e.ty);
                let result_optional = matches!(e.ty, Type::Optional(_));
                let join = self.b.create_block();
                for t in &result_types {
                    self.b.append_block_param(join, *t);
                }
                let some = self.b.create_block();
                let none = self.b.create_block();
                self.b.ins().brif(present, some, &[], none, &[]);
                self.b.switch_to_block(some);
                let mut value: Flat = lhs.iter().skip(1).copied().collect();
                if result_optional {
                    let one = self.b.ins().iconst(types::I8, 1);
                    value.insert(0, one);
                }
                self.b.ins().jump(join, &block_args(&value));
                self.b.switch_to_block(none);
                let rhs = self.expr(b)?;
                let rhs = self.coerce(rhs, &b.ty, &e.ty);
                self.b.ins().jump(join, &block_args(&rhs));
                self.b.switch_to_block(join);
                self.b.block_params(join).to_vec()
            }
            TExprKind::IsSome(inner, negated) => {
                let v = self.expr(inner)?;
                let present = if matches!(inner.ty, Type::Optional(_)) {
                    self.bool_of(&v)?
                } else {
                    self.b.ins().iconst(types::I8, 1)
                };
                if *negated {
                    vec![self.b.ins().icmp_imm_s(IntCC::Equal, present, 0)]
                } else {
                    vec![present]
                }
            }
            TExprKind::In(scalar, needle, list) => vec![self.membership(*scalar, needle, list)?],
            TExprKind::HasAny(text, set) => {
                let text = self.expr(text)?;
                let set = self.b.ins().iconst(types::I64, i64::from(set.0));
                let mut args = vec![self.ctx, set];
                args.extend(text);
                let found = self.call_checked(self.helpers.has_any, &args, e.span)?;
                vec![self.b.ins().icmp_imm_s(IntCC::NotEqual, found, 0)]
            }
            TExprKind::InSet(needle, set) => {
                let needle = self.expr(needle)?;
                let set_id = self.b.ins().iconst(types::I64, i64::from(set.0));
                let mut args = vec![self.ctx, set_id];
                let helper = match self.program.const_sets.get(set.index()) {
                    Some(crate::program::ConstSet::Strings(_)) => {
                        args.extend(needle);
                        self.helpers.in_strings
                    }
                    Some(crate::program::ConstSet::Words(_)) => {
                        let word = *needle
                            .first()
                            .ok_or_else(|| JitError(String::from("`in` without a value")))?;
                        // Bools are one byte; every other word is already 64 bits.
                        let word = if self.b.func.dfg.value_type(word) == types::I8 {
                            self.b.ins().uextend(types::I64, word)
                        } else {
                            word
                        };
                        args.push(word);
                        self.helpers.in_words
                    }
                    None => return Err(JitError(String::from("unknown constant set"))),
                };
                let found = self.call_checked(helper, &args, e.span)?;
                vec![self.b.ins().icmp_imm_s(IntCC::NotEqual, found, 0)]
            }
            TExprKind::Matches(text, regex) => {
                let text = self.expr(text)?;
                let regex = self.b.ins().iconst(types::I64, i64::from(regex.0));
                let mut args = vec![self.ctx, regex];
                args.extend(text);
                let found = self.call_checked(self.helpers.regex, &args, e.span)?;
                vec![self.b.ins().icmp_imm_s(IntCC::NotEqual, found, 0)]
            }
            TExprKind::If(cond, then, otherwise) => {
                let c = self.expr(cond)?;
                let c = self.bool_of(&c)?;
                let join = self.b.create_block();
                for t in flat_types(&e.ty) {
                    self.b.append_block_param(join, t);
                }
                let then_block = self.b.create_block();
                let else_block = self.b.create_block();
                self.b.ins().brif(c, then_block, &[], else_block, &[]);
                self.b.switch_to_block(then_block);
                let v = self.expr(then)?;
                let v = self.coerce(v, &then.ty, &e.ty);
                self.b.ins().jump(join, &block_args(&v));
                self.b.switch_to_block(else_block);
                let v = self.expr(otherwise)?;
                let v = self.coerce(v, &otherwise.ty, &e.ty);
                self.b.ins().jump(join, &block_args(&v));
                self.b.switch_to_block(join);
                self.b.block_params(join).to_vec()
            }
            TExprKind::Let(slot, value, body) => {
                let v = self.expr(value)?;
                self.bind(*slot, v);
                self.expr(body)?
            }
            TExprKind::Call(id, args) => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.expr(arg)?);
                }
                let memo = match (self.memo.get(id), values.as_slice()) {
                    (Some(slot), [arg]) if arg.first() == Some(&self.row) && arg.get(1) == Some(&self.row) => {
                        Some(*slot)
                    }
                    _ => None,
                };
                match memo {
                    Some(slot) => self.memoized_call(*id, slot, &e.ty, values)?,
                    None => self.call_fn(*id, &e.ty, values)?,
                }
            }
            TExprKind::Builtin(builtin, args) => self.builtin(*builtin, args, span)?,
            TExprKind::Quantifier(kind, slot, list, predicate) => {
                vec![self.quantifier(*kind, *slot, list, predicate)?]
            }
            TExprKind::List(items) => {
                let Type::List(element) = &e.ty else {
                    return Err(JitError(String::from("list of a non-list type")));
                };
                let stride = self.layout.size_of(element);
                let size = (stride * items.len() as u32).max(8);
                let slot = self
                    .b
                    .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 3));
                let address = self.b.ins().stack_addr(types::I64, slot, 0);
                for (i, item) in items.iter().enumerate() {
                    let v = self.expr(item)?;
                    let at = self.b.ins().iadd_imm_s(address, i64::from(stride) * i as i64);
                    self.store(element, &v, at);
                }
                let count = self.b.ins().iconst(types::I64, items.len() as i64);
                let zero = self.b.ins().iconst(types::I64, 0);
                vec![address, count, zero]
            }
        })
    }

    /// A call of a program function: to its outlined code, or inlined.
    fn call_fn(&mut self, id: FnId, ty: &Type, values: Vec<Flat>) -> Result<Flat> {
        match self.outlined.get(&id) {
            Some(func) => self.outlined_call(*func, ty, values),
            None => self.inline_call(id, values),
        }
    }

    /// Calls an outlined function: its status is checked, and an error
    /// continues at this rule's error block with the callee's kind and span.
    fn outlined_call(&mut self, func: FuncId, ty: &Type, values: Vec<Flat>) -> Result<Flat> {
        let result_types = flat_types(ty);
        let size = 8 * (1 + result_types.len() as u32);
        let slot = self
            .b
            .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 3));
        let out = self.b.ins().stack_addr(types::I64, slot, 0);
        let mut args = vec![self.ctx, out];
        args.extend(values.into_iter().flatten());
        let status = self.call_value(func, &args)?;
        let error = self
            .error_block
            .ok_or_else(|| JitError(String::from("call outside a rule")))?;
        let cont = self.b.create_block();
        let span = self.b.ins().stack_load(types::I64, types::I64, slot, 0);
        self.b
            .ins()
            .brif(status, error, &block_args(&[status, span]), cont, &[]);
        self.b.switch_to_block(cont);
        Ok(result_types
            .iter()
            .enumerate()
            .map(|(i, t)| self.b.ins().stack_load(types::I64, *t, slot, 8 * (1 + i as i32)))
            .collect())
    }

    /// Inlines a call: binds the arguments and compiles the body.
    fn inline_call(&mut self, id: FnId, values: Vec<Flat>) -> Result<Flat> {
        let def = self
            .program
            .fns
            .get(id.index())
            .ok_or_else(|| JitError(String::from("unknown function")))?;
        let saved = std::mem::replace(&mut self.env, vec![None; (def.n_locals as usize).max(1)]);
        for (i, v) in values.into_iter().enumerate() {
            self.bind(i as u32, v);
        }
        let result = self.expr(&def.body);
        self.env = saved;
        result
    }

    /// A call of an infallible function of the record: computed on first
    /// use, then read back from its memo slot.
    fn memoized_call(&mut self, id: FnId, slot: StackSlot, ty: &Type, values: Vec<Flat>) -> Result<Flat> {
        let result_types = flat_types(ty);
        let hit = self.b.create_block();
        let miss = self.b.create_block();
        let join = self.b.create_block();
        for t in &result_types {
            self.b.append_block_param(join, *t);
        }
        let flag = self.b.ins().stack_load(types::I64, types::I64, slot, 0);
        self.b.ins().brif(flag, hit, &[], miss, &[]);

        self.b.switch_to_block(miss);
        let computed = self.call_fn(id, ty, values)?;
        for (i, value) in computed.iter().enumerate() {
            self.b.ins().stack_store(types::I64, *value, slot, 8 * (1 + i as i32));
        }
        let one = self.b.ins().iconst(types::I64, 1);
        self.b.ins().stack_store(types::I64, one, slot, 0);
        self.b.ins().jump(join, &block_args(&computed));

        self.b.switch_to_block(hit);
        let loaded: Vec<Value> = result_types
            .iter()
            .enumerate()
            .map(|(i, t)| self.b.ins().stack_load(types::I64, *t, slot, 8 * (1 + i as i32)))
            .collect();
        self.b.ins().jump(join, &block_args(&loaded));

        self.b.switch_to_block(join);
        Ok(self.b.block_params(join).to_vec())
    }

    fn bind(&mut self, slot: u32, value: Flat) {
        let slot = slot as usize;
        if self.env.len() <= slot {
            self.env.resize(slot + 1, None);
        }
        if let Some(place) = self.env.get_mut(slot) {
            *place = Some(value);
        }
    }

    /// Makes a `T` an optional `T?` where the context needs one.
    fn coerce(&mut self, value: Flat, from: &Type, to: &Type) -> Flat {
        if matches!(to, Type::Optional(_)) && !matches!(from, Type::Optional(_)) {
            let one = self.b.ins().iconst(types::I8, 1);
            let mut out = vec![one];
            out.extend(value);
            out
        } else {
            value
        }
    }

    fn arith(&mut self, op: ArithOp, lhs: &Flat, rhs: &Flat, span: Span) -> Result<Flat> {
        use ArithOp::*;
        if op == Concat {
            let mut args = vec![self.ctx];
            args.extend(lhs.iter().copied());
            args.extend(rhs.iter().copied());
            return self.call_string(self.helpers.concat, &args, span);
        }
        let (Some(&a), Some(&b)) = (lhs.first(), rhs.first()) else {
            return Err(JitError(String::from("missing operand")));
        };
        Ok(vec![match op {
            IntAdd | TimeAddDuration | DurationAdd => {
                let (sum, overflow) = self.b.ins().sadd_overflow(a, b);
                self.fail_if(overflow, OVERFLOW, span)?;
                sum
            }
            IntSub | TimeSubDuration | TimeSubTime | DurationSub => {
                let (difference, overflow) = self.b.ins().ssub_overflow(a, b);
                self.fail_if(overflow, OVERFLOW, span)?;
                difference
            }
            IntMul | DurationMulInt => {
                let (product, overflow) = self.b.ins().smul_overflow(a, b);
                self.fail_if(overflow, OVERFLOW, span)?;
                product
            }
            IntDiv | IntRem | DurationDivInt => {
                let zero = self.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
                self.fail_if(zero, DIVISION_BY_ZERO, span)?;
                let a_min = self.b.ins().icmp_imm_s(IntCC::Equal, a, i64::MIN);
                let b_minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
                let overflow = self.b.ins().band(a_min, b_minus_one);
                self.fail_if(overflow, OVERFLOW, span)?;
                if op == IntRem {
                    self.b.ins().srem(a, b)
                } else {
                    self.b.ins().sdiv(a, b)
                }
            }
            FloatAdd => self.b.ins().fadd(a, b),
            FloatSub => self.b.ins().fsub(a, b),
            FloatMul => self.b.ins().fmul(a, b),
            FloatDiv | FloatRem => {
                let zero = self.b.ins().f64const(0.0);
                let is_zero = self.b.ins().fcmp(FloatCC::Equal, b, zero);
                self.fail_if(is_zero, DIVISION_BY_ZERO, span)?;
                if op == FloatDiv {
                    self.b.ins().fdiv(a, b)
                } else {
                    self.call_value(self.helpers.fmod, &[a, b])?
                }
            }
            Concat => return Err(JitError(String::from("unreachable concat"))),
        }])
    }

    fn compare(&mut self, op: CmpOp, scalar: Scalar, lhs: &Flat, rhs: &Flat) -> Result<Value> {
        let int_cc = match op {
            CmpOp::Eq => IntCC::Equal,
            CmpOp::Ne => IntCC::NotEqual,
            CmpOp::Lt => IntCC::SignedLessThan,
            CmpOp::Le => IntCC::SignedLessThanOrEqual,
            CmpOp::Gt => IntCC::SignedGreaterThan,
            CmpOp::Ge => IntCC::SignedGreaterThanOrEqual,
        };
        let (Some(&a), Some(&b)) = (lhs.first(), rhs.first()) else {
            return Err(JitError(String::from("missing operand")));
        };
        Ok(match scalar {
            Scalar::Float => {
                let cc = match op {
                    CmpOp::Eq => FloatCC::Equal,
                    CmpOp::Ne => FloatCC::NotEqual,
                    CmpOp::Lt => FloatCC::LessThan,
                    CmpOp::Le => FloatCC::LessThanOrEqual,
                    CmpOp::Gt => FloatCC::GreaterThan,
                    CmpOp::Ge => FloatCC::GreaterThanOrEqual,
                };
                self.b.ins().fcmp(cc, a, b)
            }
            Scalar::String if matches!(op, CmpOp::Eq | CmpOp::Ne) && self.short_constant(lhs, rhs).is_some() => {
                let equal = self.equals_constant(lhs, rhs)?;
                if op == CmpOp::Eq {
                    equal
                } else {
                    self.b.ins().icmp_imm_s(IntCC::Equal, equal, 0)
                }
            }
            Scalar::String => {
                let mut args = lhs.clone();
                args.extend(rhs.iter().copied());
                let ordering = self.call_value(self.helpers.str_cmp, &args)?;
                self.b.ins().icmp_imm_s(int_cc, ordering, 0)
            }
            _ => self.b.ins().icmp(int_cc, a, b),
        })
    }

    /// The bytes of whichever operand is a constant string of at most 16 bytes.
    fn short_constant(&self, lhs: &Flat, rhs: &Flat) -> Option<(Vec<u8>, Flat)> {
        for (constant, other) in [(rhs, lhs), (lhs, rhs)] {
            if let Some(bytes) = constant.first().and_then(|p| self.const_strings.get(p)) {
                if bytes.len() <= 16 {
                    return Some((bytes.clone(), other.clone()));
                }
            }
        }
        None
    }

    /// `text == "short constant"` without a call: compare the lengths, then
    /// the bytes in 8/4/2/1-byte loads (only after the lengths matched, so
    /// every load is inside the string).
    fn equals_constant(&mut self, lhs: &Flat, rhs: &Flat) -> Result<Value> {
        let (bytes, other) = self
            .short_constant(lhs, rhs)
            .ok_or_else(|| JitError(String::from("not a short constant")))?;
        let (Some(&ptr), Some(&len)) = (other.first(), other.get(1)) else {
            return Err(JitError(String::from("bad string value")));
        };
        let same_length = self.b.ins().icmp_imm_s(IntCC::Equal, len, bytes.len() as i64);
        self.bytes_equal(same_length, ptr, &bytes)
    }

    /// Whether `guard` holds and the bytes at `at` are `bytes`; the bytes are
    /// read (in 8/4/2/1-byte loads) only when `guard` holds, which must
    /// mean they are inside the string.
    fn bytes_equal(&mut self, guard: Value, at: Value, bytes: &[u8]) -> Result<Value> {
        let join = self.b.create_block();
        self.b.append_block_param(join, types::I8);
        let compare = self.b.create_block();
        let no = self.b.ins().iconst(types::I8, 0);
        self.b.ins().brif(guard, compare, &[], join, &[BlockArg::Value(no)]);
        self.b.switch_to_block(compare);
        let mut all = self.b.ins().iconst(types::I8, 1);
        let mut offset = 0usize;
        while offset < bytes.len() {
            let width = [8usize, 4, 2, 1]
                .into_iter()
                .find(|w| offset + w <= bytes.len())
                .unwrap_or(1);
            let chunk = bytes.get(offset..offset + width).unwrap_or(&[]);
            let mut word = [0u8; 8];
            if let Some(target) = word.get_mut(..chunk.len()) {
                target.copy_from_slice(chunk);
            }
            let ty = match width {
                8 => types::I64,
                4 => types::I32,
                2 => types::I16,
                _ => types::I8,
            };
            let loaded = self.b.ins().load(ty, flags(), at, offset as i32);
            let expected = i64::from_le_bytes(word);
            let expected = match width {
                8 => expected,
                4 => i64::from(expected as u32 as i32),
                2 => i64::from(expected as u16 as i16),
                _ => i64::from(expected as u8 as i8),
            };
            let same = self.b.ins().icmp_imm_s(IntCC::Equal, loaded, expected);
            all = self.b.ins().band(all, same);
            offset += width;
        }
        self.b.ins().jump(join, &[BlockArg::Value(all)]);
        self.b.switch_to_block(join);
        self.b
            .block_params(join)
            .first()
            .copied()
            .ok_or_else(|| JitError(String::from("join")))
    }

    fn membership(&mut self, scalar: Scalar, needle: &TExpr, list: &TExpr) -> Result<Value> {
        let needle_value = self.expr(needle)?;
        let join = self.b.create_block();
        self.b.append_block_param(join, types::I8);
        let yes = self.b.ins().iconst(types::I8, 1);
        if let TExprKind::List(items) = &list.kind {
            for item in items {
                let v = self.expr(item)?;
                let equal = self.compare(CmpOp::Eq, scalar, &needle_value, &v)?;
                let next = self.b.create_block();
                let one = self.b.ins().iconst(types::I8, 1);
                self.b.ins().brif(equal, join, &[BlockArg::Value(one)], next, &[]);
                self.b.switch_to_block(next);
            }
            let no = self.b.ins().iconst(types::I8, 0);
            self.b.ins().jump(join, &[BlockArg::Value(no)]);
            let _ = yes;
        } else {
            let Type::List(element) = &list.ty else {
                return Err(JitError(String::from("`in` over a non-list")));
            };
            let element = (**element).clone();
            let list_value = self.expr(list)?;
            let (Some(&ptr), Some(&count), Some(&base)) = (list_value.first(), list_value.get(1), list_value.get(2))
            else {
                return Err(JitError(String::from("bad list value")));
            };
            let stride = i64::from(self.layout.size_of(&element));
            let header = self.b.create_block();
            self.b.append_block_param(header, types::I64);
            let body = self.b.create_block();
            let zero = self.b.ins().iconst(types::I64, 0);
            self.b.ins().jump(header, &[BlockArg::Value(zero)]);
            self.b.switch_to_block(header);
            let i = *self
                .b
                .block_params(header)
                .first()
                .ok_or_else(|| JitError(String::from("loop")))?;
            let done = self.b.ins().icmp(IntCC::SignedGreaterThanOrEqual, i, count);
            let no = self.b.ins().iconst(types::I8, 0);
            self.b.ins().brif(done, join, &[BlockArg::Value(no)], body, &[]);
            self.b.switch_to_block(body);
            let offset = self.b.ins().imul_imm_s(i, stride);
            let address = self.b.ins().iadd(ptr, offset);
            let item = self.load(&element, address, base);
            let equal = self.compare(CmpOp::Eq, scalar, &needle_value, &item)?;
            let next_i = self.b.ins().iadd_imm_s(i, 1);
            let one = self.b.ins().iconst(types::I8, 1);
            self.b
                .ins()
                .brif(equal, join, &[BlockArg::Value(one)], header, &[BlockArg::Value(next_i)]);
        }
        self.b.switch_to_block(join);
        self.b
            .block_params(join)
            .first()
            .copied()
            .ok_or_else(|| JitError(String::from("join")))
    }

    fn quantifier(&mut self, kind: QuantifierKind, slot: u32, list: &TExpr, predicate: &TExpr) -> Result<Value> {
        let Type::List(element) = &list.ty else {
            return Err(JitError(String::from("quantifier over a non-list")));
        };
        let element = (**element).clone();
        let list_value = self.expr(list)?;
        let (Some(&ptr), Some(&count), Some(&base)) = (list_value.first(), list_value.get(1), list_value.get(2)) else {
            return Err(JitError(String::from("bad list value")));
        };
        let stride = i64::from(self.layout.size_of(&element));
        let result_type = if kind == QuantifierKind::Count {
            types::I64
        } else {
            types::I8
        };
        let join = self.b.create_block();
        self.b.append_block_param(join, result_type);
        let header = self.b.create_block();
        self.b.append_block_param(header, types::I64);
        self.b.append_block_param(header, types::I64);
        let body = self.b.create_block();
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b
            .ins()
            .jump(header, &[BlockArg::Value(zero), BlockArg::Value(zero)]);

        self.b.switch_to_block(header);
        let params = self.b.block_params(header).to_vec();
        let (Some(&i), Some(&counted)) = (params.first(), params.get(1)) else {
            return Err(JitError(String::from("loop")));
        };
        let done = self.b.ins().icmp(IntCC::SignedGreaterThanOrEqual, i, count);
        let exhausted = match kind {
            QuantifierKind::Any => self.b.ins().iconst(types::I8, 0),
            QuantifierKind::All => self.b.ins().iconst(types::I8, 1),
            QuantifierKind::Count => counted,
        };
        self.b.ins().brif(done, join, &[BlockArg::Value(exhausted)], body, &[]);

        self.b.switch_to_block(body);
        let offset = self.b.ins().imul_imm_s(i, stride);
        let address = self.b.ins().iadd(ptr, offset);
        let item = self.load(&element, address, base);
        self.bind(slot, item);
        let holds = self.expr(predicate)?;
        let holds = self.bool_of(&holds)?;
        let next_i = self.b.ins().iadd_imm_s(i, 1);
        match kind {
            QuantifierKind::Any => {
                let one = self.b.ins().iconst(types::I8, 1);
                self.b.ins().brif(
                    holds,
                    join,
                    &[BlockArg::Value(one)],
                    header,
                    &[BlockArg::Value(next_i), BlockArg::Value(counted)],
                );
            }
            QuantifierKind::All => {
                let zero = self.b.ins().iconst(types::I8, 0);
                self.b.ins().brif(
                    holds,
                    header,
                    &[BlockArg::Value(next_i), BlockArg::Value(counted)],
                    join,
                    &[BlockArg::Value(zero)],
                );
            }
            QuantifierKind::Count => {
                let increment = self.b.ins().uextend(types::I64, holds);
                let next_count = self.b.ins().iadd(counted, increment);
                self.b
                    .ins()
                    .jump(header, &[BlockArg::Value(next_i), BlockArg::Value(next_count)]);
            }
        }
        self.b.switch_to_block(join);
        self.b
            .block_params(join)
            .first()
            .copied()
            .ok_or_else(|| JitError(String::from("join")))
    }

    fn builtin(&mut self, builtin: Builtin, args: &[TExpr], span: Span) -> Result<Flat> {
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            values.push(self.expr(arg)?);
        }
        let first = values.first().cloned().unwrap_or_default();
        let second = values.get(1).cloned().unwrap_or_default();
        let a = first.first().copied();
        Ok(match builtin {
            Builtin::StrLen => vec![self.call_value(self.helpers.str_len, &first)?],
            Builtin::ListLen => vec![*first.get(1).ok_or_else(|| JitError(String::from("list")))?],
            Builtin::Lower | Builtin::Upper | Builtin::Trim => {
                let op = match builtin {
                    Builtin::Lower => 0,
                    Builtin::Upper => 1,
                    _ => 2,
                };
                let op = self.b.ins().iconst(types::I64, op);
                let mut call_args = vec![self.ctx, op];
                call_args.extend(first);
                self.call_string(self.helpers.str_map, &call_args, span)?
            }
            Builtin::StartsWith | Builtin::EndsWith
                if second
                    .first()
                    .and_then(|p| self.const_strings.get(p))
                    .is_some_and(|b| b.len() <= 16) =>
            {
                let bytes = second
                    .first()
                    .and_then(|p| self.const_strings.get(p))
                    .cloned()
                    .unwrap_or_default();
                let (Some(&ptr), Some(&len)) = (first.first(), first.get(1)) else {
                    return Err(JitError(String::from("bad string value")));
                };
                let long_enough = self
                    .b
                    .ins()
                    .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, len, bytes.len() as i64);
                let at = if builtin == Builtin::StartsWith {
                    ptr
                } else {
                    let start = self.b.ins().iadd(ptr, len);
                    self.b.ins().iadd_imm_s(start, -(bytes.len() as i64))
                };
                vec![self.bytes_equal(long_enough, at, &bytes)?]
            }
            Builtin::Contains | Builtin::StartsWith | Builtin::EndsWith => {
                let op = match builtin {
                    Builtin::Contains => 0,
                    Builtin::StartsWith => 1,
                    _ => 2,
                };
                let op = self.b.ins().iconst(types::I64, op);
                let mut call_args = vec![op];
                call_args.extend(first);
                call_args.extend(second);
                let found = self.call_checked(self.helpers.str_test, &call_args, span)?;
                vec![self.b.ins().icmp_imm_s(IntCC::NotEqual, found, 0)]
            }
            Builtin::ToFloat => {
                let a = a.ok_or_else(|| JitError(String::from("arg")))?;
                vec![self.b.ins().fcvt_from_sint(types::F64, a)]
            }
            Builtin::ToInt => {
                let a = a.ok_or_else(|| JitError(String::from("arg")))?;
                let nan = self.b.ins().fcmp(FloatCC::Unordered, a, a);
                let limit = self.b.ins().f64const(9_223_372_036_854_775_808.0);
                let too_big = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, a, limit);
                let low = self.b.ins().f64const(-9_223_372_036_854_775_808.0);
                let too_small = self.b.ins().fcmp(FloatCC::LessThan, a, low);
                let bad = self.b.ins().bor(nan, too_big);
                let bad = self.b.ins().bor(bad, too_small);
                self.fail_if(bad, OUT_OF_RANGE, span)?;
                vec![self.b.ins().fcvt_to_sint_sat(types::I64, a)]
            }
            Builtin::IntAbs => {
                let a = a.ok_or_else(|| JitError(String::from("arg")))?;
                let is_min = self.b.ins().icmp_imm_s(IntCC::Equal, a, i64::MIN);
                self.fail_if(is_min, OVERFLOW, span)?;
                vec![self.b.ins().iabs(a)]
            }
            Builtin::FloatAbs => {
                let a = a.ok_or_else(|| JitError(String::from("arg")))?;
                vec![self.b.ins().fabs(a)]
            }
            Builtin::Min(scalar) | Builtin::Max(scalar) => {
                let op = if matches!(builtin, Builtin::Min(_)) {
                    CmpOp::Le
                } else {
                    CmpOp::Ge
                };
                let take_first = self.compare(op, scalar, &first, &second)?;
                first
                    .iter()
                    .zip(&second)
                    .map(|(x, y)| self.b.ins().select(take_first, *x, *y))
                    .collect()
            }
            Builtin::CountMatches(set) => {
                let set = self.b.ins().iconst(types::I64, i64::from(set.0));
                let mut call_args = vec![self.ctx, set];
                call_args.extend(first);
                vec![self.call_checked(self.helpers.count_matches, &call_args, span)?]
            }
        })
    }
}
