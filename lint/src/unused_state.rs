//! A state declaration that no rule reads.
//!
//! ## What it does
//! Reports `counter`, `distinct`, `first_seen` and `tag` declarations that no
//! rule's or exemption's condition reads.
//!
//! ## Why is this bad?
//! State is kept for every record of its type: an unread counter costs a
//! store read and write per record, and memory per key, and decides
//! nothing. A tag that rules write but none reads marks accounts for nothing.
//!
//! ## Example
//! ```qlp
//! counter posts_by_author(c: Content) { key: c.author.id  time: c.created_at  window: 1h  bucket: 1m }
//! ```
//!
//! Use instead: read it in a rule, or delete it.
//! ```qlp
//! rule posting_burst(c: Content) { when: posts_by_author(c) > 30 then: review }
//! ```

use super::{item_deletion, LintContext, LintHit};
use qlp_compiler::program::{StateId, StateKind};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let program = cx.program;
    let read: std::collections::HashSet<StateId> = program
        .rules
        .iter()
        .flat_map(|r| r.reads.iter())
        .chain(program.exemptions.iter().flat_map(|e| e.reads.iter()))
        .copied()
        .collect();
    for (index, def) in program.states.iter().enumerate() {
        if read.contains(&StateId(index as u32)) {
            continue;
        }
        let hit = LintHit::new(
            def.location.file,
            def.location.span,
            format!("{} `{}` is never read", def.kind.as_str(), def.name),
        )
        .help("read it in a rule's `when:`, or remove it: it is kept for every record");
        // A tag is written by rules' `tag(..)` actions: deleting it alone
        // would break them.
        hits.push(if def.kind == StateKind::Tag {
            hit
        } else {
            hit.fix(item_deletion(program, def.location.file, def.location.span))
        });
    }
}
