//! Entering and leaving a body (its locals, narrowing and what it may use
//! are one `Body`, replaced whole), binding locals, and type expectations.

use super::*;

impl<'a> Checker<'a> {
    /// Starts checking a new body; returns what to restore afterwards.
    pub(super) fn enter_body(&mut self, file: FileId, allow_now: bool, allow_calls: bool) -> SavedBody {
        let saved = SavedBody {
            file: self.file,
            body: std::mem::replace(&mut self.body, Body::new(allow_now, allow_calls)),
        };
        self.file = file;
        saved
    }

    /// Goes back to the body `enter_body` left.
    pub(super) fn leave_body(&mut self, saved: SavedBody) {
        self.file = saved.file;
        self.body = saved.body;
    }

    pub(super) fn bind_local(&mut self, name: String, ty: Type) -> u32 {
        let slot = self.body.n_locals;
        self.body.n_locals += 1;
        self.body.locals.push(Local { name, slot, ty });
        slot
    }

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
