//! Operators, comparisons (with inline equality against short constant
//! strings), `in`, quantifier loops and built-in functions.

use super::*;

impl<'a, 'b> Codegen<'a, 'b> {
    /// A chain of `+` on strings (`a + b + c`, nested to the left), its
    /// operands evaluated left to right and joined by one helper call (per
    /// `CONCAT_PARTS` operands), so that each byte is copied once.
    pub(super) fn concat(&mut self, expr: &TExpr, span: Span) -> Result<Flat> {
        let mut operands = Vec::new();
        let mut at = expr;
        while let TExprKind::Arith(ArithOp::Concat, a, b) = &at.kind {
            operands.push(&**b);
            at = a;
        }
        operands.push(at);
        let mut parts: Vec<Flat> = Vec::with_capacity(operands.len().min(CONCAT_PARTS));
        for operand in operands.into_iter().rev() {
            if parts.len() == CONCAT_PARTS {
                let joined = self.join(&parts, span)?;
                parts.clear();
                parts.push(joined);
            }
            parts.push(self.expr(operand)?);
        }
        self.join(&parts, span)
    }

    /// Joins strings (each a pointer and a length) with one helper call.
    fn join(&mut self, parts: &[Flat], span: Span) -> Result<Flat> {
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            16 * parts.len() as u32,
            3,
        ));
        for (i, part) in parts.iter().enumerate() {
            for (j, word) in part.iter().take(2).enumerate() {
                self.b
                    .ins()
                    .stack_store(types::I64, *word, slot, (16 * i + 8 * j) as i32);
            }
        }
        let address = self.b.ins().stack_addr(types::I64, slot, 0);
        let count = self.b.ins().iconst(types::I64, parts.len() as i64);
        self.call_string(self.helpers.concat, &[self.ctx, address, count], span)
    }

    pub(super) fn arith(&mut self, op: ArithOp, lhs: &Flat, rhs: &Flat, span: Span) -> Result<Flat> {
        use ArithOp::*;
        if op == Concat {
            return self.join(&[lhs.clone(), rhs.clone()], span);
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

    pub(super) fn compare(&mut self, op: CmpOp, scalar: Scalar, lhs: &Flat, rhs: &Flat) -> Result<Value> {
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
    pub(super) fn short_constant(&self, lhs: &Flat, rhs: &Flat) -> Option<(Vec<u8>, Flat)> {
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
    pub(super) fn equals_constant(&mut self, lhs: &Flat, rhs: &Flat) -> Result<Value> {
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
    pub(super) fn bytes_equal(&mut self, guard: Value, at: Value, bytes: &[u8]) -> Result<Value> {
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

    pub(super) fn membership(&mut self, scalar: Scalar, needle: &TExpr, list: &TExpr) -> Result<Value> {
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

    pub(super) fn quantifier(
        &mut self,
        kind: QuantifierKind,
        slot: u32,
        list: &TExpr,
        predicate: &TExpr,
    ) -> Result<Value> {
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

    pub(super) fn builtin(&mut self, builtin: Builtin, args: &[TExpr], span: Span) -> Result<Flat> {
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
            Builtin::Lower | Builtin::Upper | Builtin::Trim | Builtin::Unescape => {
                let op = match builtin {
                    Builtin::Lower => 0,
                    Builtin::Upper => 1,
                    Builtin::Unescape => 3,
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
                let text_span = args.first().map_or(span, |a| a.span);
                let (plain, recording) = (self.helpers.count_matches, self.helpers.count_matches_evidence);
                vec![self.keyword_search(plain, recording, set, first, text_span, span)?]
            }
            Builtin::Fingerprint => {
                let mut call_args = vec![self.ctx];
                call_args.extend(first);
                vec![self.call_checked(self.helpers.fingerprint, &call_args, span)?]
            }
            Builtin::Clock(part, zone) => {
                let part = self.b.ins().iconst(types::I64, part as i64);
                let zone = self.b.ins().iconst(types::I64, zone.map_or(-1, i64::from));
                let mut call_args = vec![self.ctx, part, zone];
                call_args.extend(first);
                vec![self.call_checked(self.helpers.clock, &call_args, span)?]
            }
        })
    }
}
