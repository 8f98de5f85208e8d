//! Building expressions: pest's Pratt parser over the flat list of prefix,
//! primary, postfix and infix pairs, with the tree's depth bounded as it is
//! built.

use super::*;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left)
            | Op::infix(Rule::op_in, Assoc::Left)
            | Op::infix(Rule::op_has_any, Assoc::Left)
            | Op::infix(Rule::op_matches, Assoc::Left)
            | Op::postfix(Rule::op_is_some)
            | Op::postfix(Rule::op_is_none))
        .op(Op::infix(Rule::op_coalesce, Assoc::Left))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left)
            | Op::infix(Rule::op_div, Assoc::Left)
            | Op::infix(Rule::op_rem, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
        .op(Op::postfix(Rule::op_field))
});

impl Builder {
    pub(super) fn expr(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        self.expr_depth(pair).map(|(expr, _)| expr)
    }

    pub(super) fn expr_depth(&mut self, pair: Pair<'_, Rule>) -> Built {
        let span = self.span(&pair);
        let pairs = pair.into_inner();
        let mut run = 0usize;
        for p in pairs.clone() {
            if matches!(p.as_rule(), Rule::op_not | Rule::op_neg) {
                run += 1;
                if run > MAX_EXPR_DEPTH as usize {
                    self.diagnostics.push(too_deep(self.file, span.start as usize, 1));
                    return None;
                }
            } else {
                run = 0;
            }
        }
        let too_deep = std::cell::Cell::new(false);
        let unknown = std::cell::Cell::new(false);
        let built = self.pratt(pairs, &too_deep, &unknown);
        if unknown.get() {
            self.diagnostics.push(
                Diagnostic::error(
                    "qlp::parse_error",
                    self.file,
                    span,
                    "internal error: an operator the parser does not know",
                )
                .with_label("in this expression")
                .with_help("this is a bug in qlp: please report it with the expression"),
            );
            return None;
        }
        if too_deep.get() {
            self.diagnostics.push(
                Diagnostic::error(
                    "qlp::too_deep",
                    self.file,
                    span,
                    format!("expression is nested more than {MAX_EXPR_DEPTH} levels deep"),
                )
                .with_label("this expression")
                .with_help("split the condition into `fn` helpers or `let` bindings"),
            );
            return None;
        }
        built
    }

    /// Builds an expression with the Pratt parser. A tree deeper than
    /// [`MAX_EXPR_DEPTH`] is abandoned as soon as it gets there (and
    /// `too_deep` set), so that no deep tree is ever built or dropped.
    pub(super) fn pratt(
        &mut self,
        pairs: Pairs<'_, Rule>,
        too_deep: &std::cell::Cell<bool>,
        unknown: &std::cell::Cell<bool>,
    ) -> Built {
        // The closures below all need `self`; pest's API takes them together,
        // so they share it through a cell.
        let this = std::cell::RefCell::new(self);
        let built = PRATT
            .map_primary(|pair| this.borrow_mut().primary(pair))
            .map_prefix(|op, operand| {
                let (operand, depth) = operand?;
                let b = this.borrow();
                let span = b.span(&op).to(operand.span);
                let op = if op.as_rule() == Rule::op_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                Some((
                    Expr {
                        kind: ExprKind::Unary(op, Box::new(operand)),
                        span,
                    },
                    depth + 1,
                ))
                .filter(|(_, depth)| limit(*depth, too_deep))
            })
            .map_postfix(|operand, op| {
                let (operand, depth) = operand?;
                let b = this.borrow();
                let span = operand.span.to(b.span(&op));
                let kind = match op.as_rule() {
                    Rule::op_is_some => ExprKind::IsSome {
                        operand: Box::new(operand),
                        negated: false,
                    },
                    Rule::op_is_none => ExprKind::IsSome {
                        operand: Box::new(operand),
                        negated: true,
                    },
                    _ => {
                        let name = b.ident(op.into_inner().next().expect("field name"));
                        ExprKind::Field(Box::new(operand), name)
                    }
                };
                Some((Expr { kind, span }, depth + 1)).filter(|(_, depth)| limit(*depth, too_deep))
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, lhs_depth) = lhs?;
                let (rhs, rhs_depth) = rhs?;
                let op = match op.as_rule() {
                    Rule::op_or => BinaryOp::Or,
                    Rule::op_and => BinaryOp::And,
                    Rule::op_eq => BinaryOp::Eq,
                    Rule::op_ne => BinaryOp::Ne,
                    Rule::op_lt => BinaryOp::Lt,
                    Rule::op_le => BinaryOp::Le,
                    Rule::op_gt => BinaryOp::Gt,
                    Rule::op_ge => BinaryOp::Ge,
                    Rule::op_in => BinaryOp::In,
                    Rule::op_has_any => BinaryOp::HasAny,
                    Rule::op_matches => BinaryOp::Matches,
                    Rule::op_coalesce => BinaryOp::Coalesce,
                    Rule::op_add => BinaryOp::Add,
                    Rule::op_sub => BinaryOp::Sub,
                    Rule::op_mul => BinaryOp::Mul,
                    Rule::op_div => BinaryOp::Div,
                    Rule::op_rem => BinaryOp::Rem,
                    // INVARIANT: the grammar's infix rules are the ones above;
                    // anything else abandons the expression with a diagnostic.
                    _ => {
                        unknown.set(true);
                        return None;
                    }
                };
                let span = lhs.span.to(rhs.span);
                Some((
                    Expr {
                        kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                        span,
                    },
                    lhs_depth.max(rhs_depth) + 1,
                ))
                .filter(|(_, depth)| limit(*depth, too_deep))
            })
            .parse(pairs);
        built
    }

    pub(super) fn primary(&mut self, pair: Pair<'_, Rule>) -> Built {
        let span = self.span(&pair);
        let leaf = |kind| Some((Expr { kind, span }, 1));
        match pair.as_rule() {
            Rule::int => {
                let digits: String = pair.as_str().chars().filter(|c| *c != '_').collect();
                match digits.parse::<i64>() {
                    Ok(value) => leaf(ExprKind::Int(value)),
                    Err(_) => {
                        self.error("qlp::number_out_of_range", span, "integer literal is out of range")
                            .help = Some(String::from("integers are 64-bit: at most 9223372036854775807"));
                        None
                    }
                }
            }
            Rule::float => match pair.as_str().parse::<f64>() {
                Ok(value) if value.is_finite() => leaf(ExprKind::Float(value)),
                _ => {
                    self.error("qlp::number_out_of_range", span, "float literal is out of range")
                        .help = Some(String::from("floats are 64-bit: at most about 1.8e308"));
                    None
                }
            },
            Rule::time => self.time_lit(pair).and_then(|t| leaf(ExprKind::Time(t.value))),
            Rule::duration => self.duration(&pair).and_then(|d| leaf(ExprKind::Duration(d))),
            Rule::string => self.string(pair).and_then(|s| leaf(ExprKind::Str(s.value))),
            Rule::bool => leaf(ExprKind::Bool(pair.as_str().trim() == "true")),
            Rule::now => leaf(ExprKind::Now),
            Rule::ident => leaf(ExprKind::Name(self.ident(pair))),
            Rule::paren => {
                let (inner, depth) = self.expr_depth(pair.into_inner().next().expect("paren body"))?;
                Some((
                    Expr {
                        kind: ExprKind::Paren(Box::new(inner)),
                        span,
                    },
                    depth + 1,
                ))
            }
            Rule::list_expr => {
                let mut items = Vec::new();
                let mut depth = 0;
                for p in pair.into_inner() {
                    let (item, d) = self.expr_depth(p)?;
                    depth = depth.max(d);
                    items.push(item);
                }
                Some((
                    Expr {
                        kind: ExprKind::List(items),
                        span,
                    },
                    depth + 1,
                ))
            }
            Rule::call => {
                let mut parts = pair.into_inner();
                let name = self.ident(parts.next().expect("callee"));
                let mut args = Vec::new();
                let mut depth = 0;
                for p in parts {
                    let (arg, d) = self.expr_depth(p)?;
                    depth = depth.max(d);
                    args.push(arg);
                }
                Some((
                    Expr {
                        kind: ExprKind::Call(name, args),
                        span,
                    },
                    depth + 1,
                ))
            }
            Rule::if_expr => {
                let mut parts = pair.into_inner().filter(|p| p.as_rule() == Rule::expr);
                let (cond, d1) = self.expr_depth(parts.next().expect("if condition"))?;
                let (then, d2) = self.expr_depth(parts.next().expect("then branch"))?;
                let (otherwise, d3) = self.expr_depth(parts.next().expect("else branch"))?;
                Some((
                    Expr {
                        kind: ExprKind::If(Box::new(cond), Box::new(then), Box::new(otherwise)),
                        span,
                    },
                    d1.max(d2).max(d3) + 1,
                ))
            }
            Rule::let_expr => {
                let mut parts = pair.into_inner();
                skip_keyword(&mut parts);
                let name = self.ident(parts.next().expect("let name"));
                let (value, d1) = self.expr_depth(parts.next().expect("let value"))?;
                let (body, d2) = self.expr_depth(parts.next().expect("let body"))?;
                Some((
                    Expr {
                        kind: ExprKind::Let(name, Box::new(value), Box::new(body)),
                        span,
                    },
                    d1.max(d2) + 1,
                ))
            }
            Rule::quantifier => {
                let mut parts = pair.into_inner();
                let word = parts.next().expect("quantifier kind");
                let kind = match word.as_str().trim() {
                    "any" => QuantifierKind::Any,
                    "all" => QuantifierKind::All,
                    "count" => QuantifierKind::Count,
                    // INVARIANT: the grammar's quantifiers are the three above.
                    other => {
                        let span = self.span(&word);
                        self.error(
                            "qlp::parse_error",
                            span,
                            format!("internal error: unknown quantifier `{other}`"),
                        );
                        return None;
                    }
                };
                let var = self.ident(parts.next().expect("quantifier variable"));
                skip_keyword(&mut parts);
                let (list, d1) = self.expr_depth(parts.next().expect("quantifier list"))?;
                let (predicate, d2) = self.expr_depth(parts.next().expect("quantifier predicate"))?;
                Some((
                    Expr {
                        kind: ExprKind::Quantifier {
                            kind,
                            var,
                            list: Box::new(list),
                            predicate: Box::new(predicate),
                        },
                        span,
                    },
                    d1.max(d2) + 1,
                ))
            }
            _ => self.expr_depth(pair),
        }
    }
}

/// Whether `depth` is within [`MAX_EXPR_DEPTH`]; records it in `too_deep` if not.
fn limit(depth: u32, too_deep: &std::cell::Cell<bool>) -> bool {
    if depth > MAX_EXPR_DEPTH {
        too_deep.set(true);
        false
    } else {
        true
    }
}
