//! An import whose declarations the importing file never uses.
//!
//! ## What it does
//! Reports `import "..."` lines when no name declared in the imported file,
//! or in the files it imports, is used by the importing file.
//!
//! ## Why is this bad?
//! Unused imports make a file look like it depends on more than it does,
//! and keep stale files alive in a policy set.
//!
//! ## Example
//! ```qlp
//! import "../schema.qlp"
//! import "../lists.qlp"   // nothing from it is used
//! ```
//!
//! Use instead: remove the import.

use std::collections::HashSet;

use qlp_grammar::ast::Item;
use qlp_grammar::{FileId, Span};

use super::{names_used, Fix, LintContext, LintHit};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let program = cx.program;
    let paths: Vec<String> = program.sources.files().map(|(_, f)| f.name.clone()).collect();
    for (index, ast) in program.files.iter().enumerate() {
        let file = FileId(index as u32);
        let used: HashSet<String> = names_used(ast).into_iter().collect();
        let base = std::path::Path::new(paths.get(index).map_or("", String::as_str))
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_default();
        for item in &ast.items {
            let Item::Import(import) = item else { continue };
            let target = qlp_compiler::load::clean_path(&base.join(&import.path.value));
            let Some(target) = paths.iter().position(|p| std::path::Path::new(p) == target) else {
                continue;
            };
            // Declarations of the imported file and everything it imports.
            let mut seen = vec![target];
            let mut stack = vec![target];
            let mut declared: HashSet<String> = HashSet::new();
            while let Some(f) = stack.pop() {
                let Some(imported) = program.files.get(f) else { continue };
                for item in &imported.items {
                    if let Some(name) = item.name() {
                        declared.insert(name.name.clone());
                    }
                    if let Item::Import(inner) = item {
                        let inner_base = std::path::Path::new(paths.get(f).map_or("", String::as_str))
                            .parent()
                            .map(|p| p.to_path_buf())
                            .unwrap_or_default();
                        let inner_target = qlp_compiler::load::clean_path(&inner_base.join(&inner.path.value));
                        if let Some(next) = paths.iter().position(|p| std::path::Path::new(p) == inner_target) {
                            if !seen.contains(&next) {
                                seen.push(next);
                                stack.push(next);
                            }
                        }
                    }
                }
            }
            if declared.is_disjoint(&used) {
                let text = program.sources.get(file).map_or("", |f| f.text.as_str());
                let mut end = import.span.end as usize;
                if text.get(end..end + 1) == Some("\n") {
                    end += 1;
                }
                hits.push(
                    LintHit::new(
                        file,
                        import.span,
                        format!("nothing from `{}` is used", import.path.value),
                    )
                    .help("remove the import")
                    .fix(Fix {
                        file,
                        span: Span::new(import.span.start as usize, end),
                        replacement: String::new(),
                    }),
                );
            }
        }
    }
}
