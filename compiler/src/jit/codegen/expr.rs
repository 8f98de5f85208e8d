//! Expressions to Cranelift IR: the walk over the typed IR, and calls
//! (inlined, memoized once per record, or to an outlined function).

use super::*;

impl<'a, 'b> Codegen<'a, 'b> {
    pub(super) fn expr(&mut self, e: &TExpr) -> Result<Flat> {
        let span = e.span;
        Ok(match &e.kind {
            TExprKind::Const(value) => self.constant(&e.ty, value)?,
            TExprKind::Now => vec![self.b.ins().load(types::I64, flags(), self.ctx, CTX_NOW)],
            TExprKind::State(id) => {
                // INVARIANT: `ctx.state` holds a word per state declaration
                // (`CompiledPolicySet::run` sets it before every call).
                let values = self.b.ins().load(types::I64, flags(), self.ctx, CTX_STATE);
                let offset = i32::try_from(id.index() * 8).map_err(|_| JitError(String::from("state index")))?;
                let word = self.b.ins().load(types::I64, flags(), values, offset);
                if e.ty == Type::Bool {
                    vec![self.b.ins().icmp_imm_s(IntCC::NotEqual, word, 0)]
                } else {
                    vec![word]
                }
            }
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
                // When neither side can fail, `a and b` is `b and a`: a text
                // search goes last, so that a comparison that settles the
                // answer spares it. (The interpreter keeps the written
                // order; with no error possible, nothing else can differ.)
                // An evidence function keeps it: which searches run is
                // what it finds.
                let program = self.program;
                let (a, b) = if self.evidence.is_none()
                    && searches_text(program, a, 0)
                    && !searches_text(program, b, 0)
                    && infallible(program, a, 0)
                    && infallible(program, b, 0)
                {
                    (b, a)
                } else {
                    (a, b)
                };
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
            TExprKind::Arith(ArithOp::Concat, ..) => self.concat(e, span)?,
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
                let text_span = text.span;
                let text = self.expr(text)?;
                let (plain, recording) = (self.helpers.has_any, self.helpers.has_any_evidence);
                let found = self.keyword_search(plain, recording, *set, text, text_span, e.span)?;
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
    /// (An evidence function inlines every call, so that each search is its own.)
    pub(super) fn call_fn(&mut self, id: FnId, ty: &Type, values: Vec<Flat>) -> Result<Flat> {
        match self.outlined.get(&id) {
            Some(func) if self.evidence.is_none() => self.outlined_call(*func, ty, values),
            _ => self.inline_call(id, values),
        }
    }

    /// Calls an outlined function: its status is checked, and an error
    /// continues at this rule's error block with the callee's kind and span.
    pub(super) fn outlined_call(&mut self, func: FuncId, ty: &Type, values: Vec<Flat>) -> Result<Flat> {
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
    pub(super) fn inline_call(&mut self, id: FnId, values: Vec<Flat>) -> Result<Flat> {
        let def = self
            .program
            .fns
            .get(id.index())
            .ok_or_else(|| JitError(String::from("unknown function")))?;
        let saved = std::mem::replace(&mut self.env, vec![None; (def.n_locals as usize).max(1)]);
        for (i, v) in values.into_iter().enumerate() {
            self.bind(i as u32, v);
        }
        if let Some(sites) = &mut self.evidence {
            sites.files.push(def.location.file);
        }
        let result = self.expr(&def.body);
        if let Some(sites) = &mut self.evidence {
            sites.files.pop();
        }
        self.env = saved;
        result
    }

    /// A call of an infallible function of the record: computed on first
    /// use, then read back from its memo slot.
    pub(super) fn memoized_call(&mut self, id: FnId, slot: StackSlot, ty: &Type, values: Vec<Flat>) -> Result<Flat> {
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

    pub(super) fn bind(&mut self, slot: u32, value: Flat) {
        let slot = slot as usize;
        if self.env.len() <= slot {
            self.env.resize(slot + 1, None);
        }
        if let Some(place) = self.env.get_mut(slot) {
            *place = Some(value);
        }
    }

    /// Makes a `T` an optional `T?` where the context needs one.
    pub(super) fn coerce(&mut self, value: Flat, from: &Type, to: &Type) -> Flat {
        if matches!(to, Type::Optional(_)) && !matches!(from, Type::Optional(_)) {
            let one = self.b.ins().iconst(types::I8, 1);
            let mut out = vec![one];
            out.extend(value);
            out
        } else {
            value
        }
    }
}
