//! The body checker's state: locals, narrowing and what a body may use, saved and restored around each body.

use super::*;

impl<'a> Checker<'a> {
    /// Starts checking a new body; returns what to restore afterwards.
    pub(super) fn enter_body(&mut self, file: FileId, allow_locals: bool, allow_calls: bool) -> SavedBody {
        let saved = SavedBody {
            file: self.file,
            locals: std::mem::take(&mut self.locals),
            n_locals: self.n_locals,
            narrowed: std::mem::take(&mut self.narrowed),
            allow_now: self.allow_now,
            allow_locals: self.allow_locals,
            allow_calls: self.allow_calls,
            current_fn: self.current_fn.take(),
        };
        self.file = file;
        self.n_locals = 0;
        self.allow_now = allow_locals;
        self.allow_locals = allow_locals;
        self.allow_calls = allow_calls;
        saved
    }

    pub(super) fn leave_body(&mut self, saved: SavedBody) {
        self.file = saved.file;
        self.locals = saved.locals;
        self.n_locals = saved.n_locals;
        self.narrowed = saved.narrowed;
        self.allow_now = saved.allow_now;
        self.allow_locals = saved.allow_locals;
        self.allow_calls = saved.allow_calls;
        self.current_fn = saved.current_fn;
    }

    pub(super) fn bind_local(&mut self, name: String, ty: Type) -> u32 {
        let slot = self.n_locals;
        self.n_locals += 1;
        self.locals.push(Local { name, slot, ty });
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
