//! `parse(print(ast)) == ast` for generated syntax trees, and printing is a
//! fixed point on its own output.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use qlp_grammar::ast::*;
use qlp_grammar::print::{needs_parens, Position};
use qlp_grammar::time::Written;
use qlp_grammar::{parse_expr, parse_file, print_expr, print_file, FileId, Span};

fn ident_strategy() -> impl Strategy<Value = Ident> + Clone {
    prop_oneof![
        Just("c"),
        Just("author"),
        Just("followers"),
        Just("x_1"),
        Just("内容"),
        Just("赌博词"),
        Just("_tmp"),
        Just("order"),
        Just("index"),
        Just("nothing"),
    ]
    .prop_map(|name| Ident {
        name: name.to_string(),
        span: Span::default(),
    })
}

fn expr(kind: ExprKind) -> Expr {
    Expr {
        kind,
        span: Span::default(),
    }
}

fn leaf_strategy() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (0i64..=i64::MAX).prop_map(|v| expr(ExprKind::Int(v))),
        prop_oneof![
            (0u32..1_000_000).prop_map(|v| f64::from(v) / 64.0),
            (0.0f64..1e300),
            Just(1e-7),
            Just(0.1 + 0.2)
        ]
        .prop_map(|v| expr(ExprKind::Float(v))),
        any::<String>().prop_map(|s| expr(ExprKind::Str(s))),
        "[赌博 \"\\\\\n\t\u{200B}a-z]{0,8}".prop_map(|s| expr(ExprKind::Str(s))),
        any::<bool>().prop_map(|b| expr(ExprKind::Bool(b))),
        // Years 1000 to 9999.
        // Instants, and wall-clock times read in the set's zone.
        (-30_610_224_000_000_000i64..253_402_300_799_000_000, any::<bool>()).prop_map(|(t, local)| expr(
            ExprKind::Time(if local { Written::Local(t) } else { Written::Instant(t) })
        )),
        prop_oneof![
            (0i64..1_000_000_000_000_000),
            (0i64..1000).prop_map(|d| d * 86_400_000_000)
        ]
        .prop_map(|d| expr(ExprKind::Duration(d))),
        Just(expr(ExprKind::Now)),
        ident_strategy().prop_map(|i| expr(ExprKind::Name(i))),
    ]
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    prop_oneof![
        Just(BinaryOp::Or),
        Just(BinaryOp::And),
        Just(BinaryOp::Eq),
        Just(BinaryOp::Ne),
        Just(BinaryOp::Lt),
        Just(BinaryOp::Le),
        Just(BinaryOp::Gt),
        Just(BinaryOp::Ge),
        Just(BinaryOp::In),
        Just(BinaryOp::HasAny),
        Just(BinaryOp::Matches),
        Just(BinaryOp::Coalesce),
        Just(BinaryOp::Add),
        Just(BinaryOp::Sub),
        Just(BinaryOp::Mul),
        Just(BinaryOp::Div),
        Just(BinaryOp::Rem),
    ]
}

fn raw_expr_strategy() -> impl Strategy<Value = Expr> {
    leaf_strategy().prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            (inner.clone(), ident_strategy()).prop_map(|(e, f)| expr(ExprKind::Field(Box::new(e), f))),
            (ident_strategy(), prop::collection::vec(inner.clone(), 0..3))
                .prop_map(|(f, args)| expr(ExprKind::Call(f, args))),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|items| expr(ExprKind::List(items))),
            inner.clone().prop_map(|e| expr(ExprKind::Paren(Box::new(e)))),
            inner
                .clone()
                .prop_map(|e| expr(ExprKind::Unary(UnaryOp::Not, Box::new(e)))),
            inner
                .clone()
                .prop_map(|e| expr(ExprKind::Unary(UnaryOp::Neg, Box::new(e)))),
            (binary_op(), inner.clone(), inner.clone()).prop_map(|(op, a, b)| expr(ExprKind::Binary(
                op,
                Box::new(a),
                Box::new(b)
            ))),
            (inner.clone(), any::<bool>()).prop_map(|(e, negated)| expr(ExprKind::IsSome {
                operand: Box::new(e),
                negated
            })),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(a, b, c)| expr(ExprKind::If(
                Box::new(a),
                Box::new(b),
                Box::new(c)
            ))),
            (ident_strategy(), inner.clone(), inner.clone()).prop_map(|(n, a, b)| expr(ExprKind::Let(
                n,
                Box::new(a),
                Box::new(b)
            ))),
            (
                prop_oneof![
                    Just(QuantifierKind::Any),
                    Just(QuantifierKind::All),
                    Just(QuantifierKind::Count)
                ],
                ident_strategy(),
                inner.clone(),
                inner
            )
                .prop_map(|(kind, var, list, predicate)| expr(ExprKind::Quantifier {
                    kind,
                    var,
                    list: Box::new(list),
                    predicate: Box::new(predicate)
                })),
        ]
    })
}

fn paren(e: Expr) -> Expr {
    expr(ExprKind::Paren(Box::new(e)))
}

fn wrap(e: Expr, position: Position) -> Expr {
    if needs_parens(&e, position) {
        paren(e)
    } else {
        e
    }
}

/// Adds the parentheses a tree needs to print as itself, as an author would.
fn parenthesize(e: Expr) -> Expr {
    let kind = match e.kind {
        ExprKind::Field(base, field) => {
            ExprKind::Field(Box::new(wrap(parenthesize(*base), Position::Postfix(9))), field)
        }
        ExprKind::Call(f, args) => ExprKind::Call(f, args.into_iter().map(parenthesize).collect()),
        ExprKind::List(items) => ExprKind::List(items.into_iter().map(parenthesize).collect()),
        ExprKind::Paren(inner) => ExprKind::Paren(Box::new(parenthesize(*inner))),
        ExprKind::Unary(op, operand) => {
            let precedence = if op == UnaryOp::Not {
                NOT_PRECEDENCE
            } else {
                NEG_PRECEDENCE
            };
            ExprKind::Unary(op, Box::new(wrap(parenthesize(*operand), Position::Prefix(precedence))))
        }
        ExprKind::Binary(op, lhs, rhs) => ExprKind::Binary(
            op,
            Box::new(wrap(parenthesize(*lhs), Position::Left(op.precedence()))),
            Box::new(wrap(parenthesize(*rhs), Position::Right(op.precedence()))),
        ),
        ExprKind::IsSome { operand, negated } => ExprKind::IsSome {
            operand: Box::new(wrap(parenthesize(*operand), Position::Postfix(IS_PRECEDENCE))),
            negated,
        },
        ExprKind::If(a, b, c) => ExprKind::If(
            Box::new(parenthesize(*a)),
            Box::new(parenthesize(*b)),
            Box::new(parenthesize(*c)),
        ),
        ExprKind::Let(n, a, b) => ExprKind::Let(n, Box::new(parenthesize(*a)), Box::new(parenthesize(*b))),
        ExprKind::Quantifier {
            kind,
            var,
            list,
            predicate,
        } => ExprKind::Quantifier {
            kind,
            var,
            list: Box::new(parenthesize(*list)),
            predicate: Box::new(parenthesize(*predicate)),
        },
        leaf => leaf,
    };
    Expr { kind, span: e.span }
}

fn expr_strategy() -> impl Strategy<Value = Expr> {
    raw_expr_strategy().prop_map(parenthesize)
}

fn item_strategy() -> impl Strategy<Value = Item> {
    let name = ident_strategy();
    let string = "[a-z赌博 ]{0,6}".prop_map(|value| StrLit {
        value,
        span: Span::default(),
    });
    let param = (ident_strategy(), ident_strategy()).prop_map(|(name, ty)| Param {
        name,
        ty: TypeExpr {
            kind: TypeExprKind::Named(ty),
            span: Span::default(),
        },
        span: Span::default(),
    });
    let action = prop_oneof![
        Just(ActionKind::Limit),
        Just(ActionKind::Review),
        Just(ActionKind::Remove),
        Just(ActionKind::Block),
        Just(ActionKind::Ban)
    ]
    .prop_map(|kind| Action {
        kind,
        label: None,
        duration: None,
        tag: None,
        span: Span::default(),
    });
    let tag_action = (ident_strategy(), prop::option::of(1i64..1_000_000)).prop_map(|(tag, hours)| Action {
        kind: ActionKind::Tag,
        label: None,
        duration: hours.map(|h| h * 3_600_000_000),
        tag: Some(tag),
        span: Span::default(),
    });
    let action = prop_oneof![action, tag_action];
    let state_kind = prop_oneof![
        Just(StateKind::Counter),
        Just(StateKind::Distinct),
        Just(StateKind::FirstSeen),
        Just(StateKind::Tag)
    ];
    let state_field = prop_oneof![
        Just("key"),
        Just("of"),
        Just("id"),
        Just("time"),
        Just("window"),
        Just("bucket"),
        Just("ttl"),
        Just("when")
    ];
    let state_item = (state_field, expr_strategy()).prop_map(|(field, value)| StateItem {
        field: Ident {
            name: field.to_string(),
            span: Span::default(),
        },
        value,
        span: Span::default(),
    });
    prop_oneof![
        (name.clone(), expr_strategy()).prop_map(|(name, value)| Item::Const(ConstDecl {
            name,
            ty: None,
            value,
            span: Span::default()
        })),
        (
            name.clone(),
            prop::collection::vec(param.clone(), 0..3),
            ident_strategy(),
            expr_strategy()
        )
            .prop_map(|(name, params, ret, body)| Item::Fn(FnDecl {
                name,
                params,
                ret: TypeExpr {
                    kind: TypeExprKind::Optional(Box::new(TypeExpr {
                        kind: TypeExprKind::List(Box::new(TypeExpr {
                            kind: TypeExprKind::Named(ret),
                            span: Span::default()
                        })),
                        span: Span::default()
                    })),
                    span: Span::default()
                },
                body,
                span: Span::default()
            })),
        (
            name.clone(),
            param.clone(),
            expr_strategy(),
            prop::collection::vec(action, 1..3),
            string.clone(),
            name.clone()
        )
            .prop_map(|(name, param, when, actions, reason, campaign)| Item::Rule(RuleDecl {
                name,
                param,
                items: vec![
                    RuleItem::Campaign(campaign),
                    RuleItem::When(when),
                    RuleItem::Then(actions),
                    RuleItem::Reason(reason)
                ],
                span: Span::default()
            })),
        (state_kind, name.clone(), param, prop::collection::vec(state_item, 0..5)).prop_map(
            |(kind, name, param, items)| Item::State(StateDecl {
                kind,
                name,
                param,
                items,
                span: Span::default()
            })
        ),
        (name.clone(), prop::collection::vec(string.clone(), 0..12)).prop_map(|(name, entries)| {
            Item::Keywords(KeywordsDecl {
                name,
                options: Vec::new(),
                source: KeywordsSource::Inline(entries),
                span: Span::default(),
            })
        }),
        (
            string,
            ident_strategy(),
            expr_strategy(),
            prop::option::of(1u32..10_000)
        )
            .prop_map(|(name, ty, value, count)| Item::Test(TestDecl {
                name,
                items: vec![
                    TestItem::Now(expr(ExprKind::Time(Written::Instant(0)))),
                    TestItem::Given {
                        count,
                        ty,
                        value: RecordValue {
                            fields: vec![(
                                Ident {
                                    name: String::from("x"),
                                    span: Span::default()
                                },
                                // A bare `[..]` in a test value is a list value, not a list expression.
                                Value::Expr(if print_expr(&value).starts_with('[') {
                                    paren(value)
                                } else {
                                    value
                                })
                            )],
                            span: Span::default()
                        }
                    },
                    TestItem::Expect(Expectation::Verdict(Some(ActionKind::Suspend), Span::default())),
                    TestItem::Expect(Expectation::NotFires(vec![Ident {
                        name: String::from("r"),
                        span: Span::default()
                    }])),
                ],
                span: Span::default()
            })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn expressions_round_trip(e in expr_strategy()) {
        let printed = print_expr(&e);
        let parsed = parse_expr(&printed, FileId(0));
        prop_assert!(parsed.is_ok(), "{printed:?} does not parse: {:?}", parsed.err());
        prop_assert_eq!(parsed.ok(), Some(e), "{}", printed);
    }

    #[test]
    fn files_round_trip(items in prop::collection::vec(item_strategy(), 0..6)) {
        let file = File { items };
        let printed = print_file(&file);
        let (parsed, diagnostics) = parse_file(&printed, FileId(0));
        prop_assert!(diagnostics.is_empty(), "{printed}\n{diagnostics:?}");
        prop_assert_eq!(&parsed, &file, "{}", printed);
        prop_assert_eq!(&print_file(&parsed), &printed);
        // Printed text is already in the canonical layout.
        let formatted = qlp_grammar::format::format_source(&printed, FileId(0)).unwrap();
        prop_assert_eq!(formatted, printed);
    }
}
