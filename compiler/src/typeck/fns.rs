//! Functions: signatures, then bodies, then the call graph (no recursion).

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn declare_fns(&mut self) {
        for &(file, index) in self.scope.declarations(DeclKind::Fn) {
            let Some(Item::Fn(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let mut params: Vec<(String, Type)> = Vec::new();
            // Names seen, hashed: a declaration of many is checked in linear time.
            let mut names = HashSet::new();
            for param in &decl.params {
                let ty = self.resolve_type(&param.ty);
                if !names.insert(param.name.name.as_str()) {
                    self.error(
                        "qlp::duplicate_param",
                        param.name.span,
                        format!("parameter `{}` is declared twice", param.name.name),
                    )
                    .label = String::from("declared again here");
                }
                params.push((param.name.name.clone(), ty));
            }
            let ret = self.resolve_type(&decl.ret);
            self.program.fns.push(FnDef {
                name: decl.name.name.clone(),
                params,
                ret,
                body: TExpr {
                    kind: TExprKind::Const(Value::Absent),
                    ty: Type::Error,
                    span: decl.body.span,
                },
                n_locals: 0,
                location: Location { file, span: decl.span },
            });
        }
    }

    pub(super) fn check_fn_bodies(&mut self) {
        let declarations = self.scope.declarations(DeclKind::Fn);
        for (fn_index, &(file, index)) in declarations.iter().enumerate() {
            let Some(Item::Fn(decl)) = self.item(file, index) else {
                continue;
            };
            let Some(def) = self.program.fns.get(fn_index) else {
                continue;
            };
            let params = def.params.clone();
            let ret = def.ret.clone();
            let (body, n_locals) = self.in_body(file, BodyKind::CODE, |body| {
                body.current_fn = Some(FnId(fn_index as u32));
                for (name, ty) in params {
                    body.bind_local(name, ty);
                }
                (body.expr_of(&decl.body, &ret).0, body.n_locals)
            });
            if let Some(def) = self.program.fns.get_mut(fn_index) {
                def.body = body;
                def.n_locals = n_locals;
            }
        }
    }

    /// Functions may not call themselves, directly or not, and call chains are bounded.
    pub(super) fn check_call_graph(&mut self) {
        let n = self.program.fns.len();
        let mut callees: Vec<Vec<(usize, FileId, Span)>> = vec![Vec::new(); n];
        for (caller, callee, file, span) in &self.calls {
            if let Some(list) = callees.get_mut(caller.index()) {
                list.push((callee.index(), *file, *span));
            }
        }
        // Longest chain below each function; `None` while on the stack (a cycle).
        let mut depth: Vec<Option<Option<usize>>> = vec![None; n];
        let mut reported = vec![false; n];
        for start in 0..n {
            if depth.get(start).is_some_and(Option::is_some) {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            if let Some(d) = depth.get_mut(start) {
                *d = Some(None);
            }
            while let Some(&(f, edge)) = stack.last() {
                let next = callees.get(f).and_then(|c| c.get(edge)).copied();
                match next {
                    Some((g, file, span)) => {
                        if let Some(top) = stack.last_mut() {
                            top.1 += 1;
                        }
                        match depth.get(g).copied().flatten() {
                            None => {
                                if let Some(d) = depth.get_mut(g) {
                                    *d = Some(None);
                                }
                                stack.push((g, 0));
                            }
                            Some(None) => {
                                if !reported.get(f).copied().unwrap_or(true) {
                                    if let Some(r) = reported.get_mut(f) {
                                        *r = true;
                                    }
                                    let name = self.program.fns.get(g).map(|d| d.name.clone()).unwrap_or_default();
                                    self.file = file;
                                    self.error(
                                        "qlp::recursion",
                                        span,
                                        format!("function `{name}` calls itself, directly or through other functions"),
                                    )
                                    .set_label("recursive call")
                                    .help = Some(String::from(
                                        "qlp functions cannot recurse, so that every rule finishes in linear time",
                                    ));
                                }
                            }
                            Some(Some(_)) => {}
                        }
                    }
                    None => {
                        stack.pop();
                        let below = callees
                            .get(f)
                            .into_iter()
                            .flatten()
                            .filter_map(|(g, _, _)| depth.get(*g).copied().flatten().flatten())
                            .max()
                            .map_or(0, |d| d + 1);
                        if let Some(d) = depth.get_mut(f) {
                            *d = Some(Some(below));
                        }
                        if below > MAX_CHAIN && !reported.get(f).copied().unwrap_or(true) {
                            if let Some(r) = reported.get_mut(f) {
                                *r = true;
                            }
                            let (file, span, name) = self
                                .program
                                .fns
                                .get(f)
                                .map(|d| (d.location.file, d.location.span, d.name.clone()))
                                .unwrap_or_default();
                            self.file = file;
                            self.error(
                                "qlp::chain_too_long",
                                span,
                                format!("function `{name}` calls a chain of more than {MAX_CHAIN} functions"),
                            )
                            .help = Some(String::from("flatten the helpers"));
                        }
                    }
                }
            }
        }
    }
}
