//! The body checker: types one body's expressions, owning its locals,
//! narrowing and what it may use; everything program-wide it reaches
//! through the [`Checker`] it borrows.

use std::ops::{Deref, DerefMut};

use super::*;

/// Checks one body — a rule's condition, a function, a constant, a test
/// value. Created by [`Checker::in_body`]; dropped with the body.
pub(super) struct BodyChecker<'c, 'a> {
    cx: &'c mut Checker<'a>,
    pub(super) locals: Vec<Local>,
    pub(super) n_locals: u32,
    /// Optional paths proven present where the expression being checked is.
    pub(super) narrowed: Vec<PathKey>,
    /// Whether `now` may be read (not in constants and functions).
    pub(super) allow_now: bool,
    /// Whether functions may be called (not in constants).
    pub(super) allow_calls: bool,
    /// The function whose body this is, for the call graph.
    pub(super) current_fn: Option<FnId>,
    /// In a rule's or exemption's condition: the record type evaluated,
    /// whose state declarations it may read.
    pub(super) state_record: Option<RecordId>,
}

/// What a body may use.
#[derive(Clone, Copy)]
pub(super) struct BodyKind {
    pub allow_now: bool,
    pub allow_calls: bool,
}

impl BodyKind {
    /// Rules, exemptions and functions: `now` and calls allowed.
    pub const CODE: BodyKind = BodyKind {
        allow_now: true,
        allow_calls: true,
    };
    /// A state declaration's items: calls, but no `now` (state follows the
    /// records' own times).
    pub const STATE: BodyKind = BodyKind {
        allow_now: false,
        allow_calls: true,
    };
    /// Constants and test values: computed once, from constants only.
    pub const CONSTANT: BodyKind = BodyKind {
        allow_now: false,
        allow_calls: false,
    };
}

impl<'a> Checker<'a> {
    /// Checks a body of `file` with `check`; diagnostics go to this checker.
    pub(super) fn in_body<R>(
        &mut self,
        file: FileId,
        kind: BodyKind,
        check: impl FnOnce(&mut BodyChecker<'_, 'a>) -> R,
    ) -> R {
        let outer = std::mem::replace(&mut self.file, file);
        let mut body = BodyChecker {
            cx: self,
            locals: Vec::new(),
            n_locals: 0,
            narrowed: Vec::new(),
            allow_now: kind.allow_now,
            allow_calls: kind.allow_calls,
            current_fn: None,
            state_record: None,
        };
        let result = check(&mut body);
        self.file = outer;
        result
    }
}

impl<'a> Deref for BodyChecker<'_, 'a> {
    type Target = Checker<'a>;

    fn deref(&self) -> &Checker<'a> {
        self.cx
    }
}

impl DerefMut for BodyChecker<'_, '_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.cx
    }
}

impl BodyChecker<'_, '_> {
    pub(super) fn bind_local(&mut self, name: String, ty: Type) -> u32 {
        let slot = self.n_locals;
        self.n_locals += 1;
        self.locals.push(Local { name, slot, ty });
        slot
    }

    /// Reports a name that did not resolve, suggesting this body's locals
    /// among the candidates.
    pub(super) fn unresolved(&mut self, lookup: Lookup, name: &ast::Ident, kinds: &[DeclKind], what: &str) {
        let locals: Vec<String> = self.locals.iter().map(|l| l.name.clone()).collect();
        self.cx.unresolved_among(lookup, name, kinds, what, &locals);
    }

    /// Checks `expr` where a value of type `expected` is needed: the typed
    /// expression, with a mismatch reported.
    pub(super) fn expr_of(&mut self, expr: &ast::Expr, expected: &Type) -> (TExpr, bool) {
        let checked = self.expr(expr, Some(expected));
        let ok = self.expect_type(&checked, expected);
        (checked, ok)
    }
}

impl Checker<'_> {
    /// Reports a type mismatch; returns whether the types agree.
    pub(super) fn expect_type(&mut self, expr: &TExpr, expected: &Type) -> bool {
        if expr.ty.agrees(expected) {
            return true;
        }
        let found = self.ty_name(&expr.ty);
        let wanted = self.ty_name(expected);
        let help = if let Type::Optional(inner) = &expr.ty {
            if inner.agrees(expected) {
                Some(String::from(
                    "this value may be missing: give a default with `?? value`, or check `is some` first",
                ))
            } else {
                None
            }
        } else if *expected == Type::Int && expr.ty == Type::String && !matches!(expr.kind, TExprKind::Const(_)) {
            Some(String::from("use `len(..)` to get a string's length"))
        } else {
            None
        };
        let diagnostic = self
            .error(
                "qlp::type_mismatch",
                expr.span,
                format!("expected `{wanted}`, found `{found}`"),
            )
            .set_label(format!("this is `{found}`"));
        diagnostic.help = help;
        false
    }
}
