//! A severe action taken for mentioning a topic word.
//!
//! ## What it does
//! Reports rules whose action is `remove` or stronger and whose condition
//! holds when one keyword test alone holds (it is a keyword test, or one
//! side of an `or`), when that test's keyword set has short topic words
//! (two Han characters or fewer, or a short Latin word, once normalized):
//! `水军`, `赌博`, `刷单`. A keyword test joined by `and` to another
//! condition — an offer, a score, the account's history — is not reported.
//!
//! ## Why is this bad?
//! A mention is not an offence. A comment criticising paid posters says
//! 水军; a news report on a gambling ring says 赌博. A rule that removes
//! content (or suspends its author) because a topic word appears fires on
//! discussion, reporting and complaints as often as on the offence. Offers
//! (`代发`, `接单`), calls to action (`加我`), a classifier score or the
//! account's history tell the offence from the talk about it.
//!
//! ## Example
//! ```qlp
//! keywords paid_poster_words = ["水军", "刷评论"]
//! rule paid_posters(c: Content) {
//!   when: c.text has_any paid_poster_words
//!   then: remove
//! }
//! ```
//!
//! Use instead: require an offer, or review rather than remove.
//! ```qlp
//! keywords paid_poster_words = ["水军", "刷评论"]
//! keywords offer_words = ["接单", "代发", "价格私聊"]
//! rule paid_poster_offer(c: Content) {
//!   when: c.text has_any paid_poster_words and c.text has_any offer_words
//!   then: remove
//! }
//! ```

use qlp_compiler::program::{KeywordSetId, Program, TExpr, TExprKind};
use qlp_grammar::ast::ActionKind;

use super::{LintContext, LintHit};

/// Calls followed into function bodies, at most.
const DEPTH: usize = 8;

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let program = cx.program;
    for rule in &program.rules {
        if rule.severity().is_none_or(|s| s < ActionKind::Remove) {
            continue;
        }
        let mut sets = Vec::new();
        sufficient_sets(program, &rule.when, &mut sets, DEPTH);
        sets.sort_by_key(|s| s.0);
        sets.dedup();
        let short: Vec<String> = sets
            .iter()
            .filter_map(|id| program.keyword_sets.get(id.0 as usize))
            .flat_map(|set| {
                set.matcher
                    .keywords()
                    .iter()
                    .zip(&set.entries)
                    .filter(|(k, _)| is_topic_word(k))
                    .map(|(_, entry)| format!("`{entry}`"))
            })
            .take(4)
            .collect();
        if short.is_empty() {
            continue;
        }
        let severity = rule.severity().map_or("remove", ActionKind::as_str);
        hits.push(
            LintHit::new(
                rule.location.file,
                rule.location.span,
                format!(
                    "rule `{}` can `{severity}` on one keyword match alone, of topic words such as {}: a mention is not an offence",
                    rule.name,
                    short.join(", ")
                ),
            )
            .help(
                "require what makes it an offence — an offer or call to action (another keyword set of phrases), a score, the account's history — or take a lighter action (`review`, `label`)",
            ),
        );
    }
}

/// Whether a normalized keyword is a short topic word.
fn is_topic_word(keyword: &str) -> bool {
    let keyword = keyword.trim();
    let n = keyword.chars().count();
    if keyword.is_ascii() {
        n <= 4
    } else {
        n <= 2
    }
}

/// The keyword sets one match of which makes `expr` true by itself: a
/// keyword test, either side of an `or`, through function calls; a test
/// joined by `and` to anything needs more than the match.
fn sufficient_sets(program: &Program, expr: &TExpr, sets: &mut Vec<KeywordSetId>, depth: usize) {
    match &expr.kind {
        TExprKind::HasAny(_, set) => sets.push(*set),
        TExprKind::Or(a, b) => {
            sufficient_sets(program, a, sets, depth);
            sufficient_sets(program, b, sets, depth);
        }
        TExprKind::Call(id, _) if depth > 0 => {
            if let Some(def) = program.fns.get(id.0 as usize) {
                sufficient_sets(program, &def.body, sets, depth - 1);
            }
        }
        _ => {}
    }
}
