//! One evaluation context reused across records keeps which rules are
//! active for a span of time (no campaign starts or ends in it): records
//! on either side of every boundary, in time order, backwards and shuffled,
//! get what the interpreter gives them.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::sync::Arc;

use qlp_compiler::jit::CompiledPolicySet;
use qlp_compiler::layout::{Layout, Row};
use qlp_compiler::{MemoryLoader, Value};

const POLICY: &str = r#"
record Post { id: string  n: int }
campaign early { title: "early"  active: 2022-01-01 .. 2022-01-31 }
campaign late { title: "late"  active: 2022-01-15 .. 2022-02-28 }
rule in_early(p: Post) { campaign: early  when: p.n > 0  then: review }
rule in_late(p: Post) { campaign: late  when: p.n > 0  then: limit }
rule always(p: Post) { when: p.n > 5  then: label("big") }
exempt small_late(p: Post) { when: p.n < 3  cancels: campaign late }
"#;

#[test]
fn active_rules_follow_every_campaign_boundary_whatever_the_order() {
    let loader = MemoryLoader::new().with("p.qlp", POLICY.to_string());
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let program = Arc::new(checked.program.unwrap_or_else(|| panic!("{:?}", checked.diagnostics)));
    let compiled = CompiledPolicySet::compile(program.clone()).unwrap();
    let record = qlp_compiler::program::RecordId(program.records.iter().position(|r| r.name == "Post").unwrap() as u32);
    let layout = Layout::new(&program);
    let day = 86_400_000_000i64;
    let jan1 = qlp_grammar::time::parse_time("2022-01-01").unwrap();
    // Both sides of every start and end, and between.
    let mut times: Vec<i64> = [-1, 0, 1, 7, 14, 15, 20, 31, 40, 58, 59, 60, 90]
        .iter()
        .flat_map(|d| [jan1 + d * day - 1, jan1 + d * day])
        .collect();
    let mut orders = vec![times.clone()];
    times.reverse();
    orders.push(times.clone());
    orders.push(
        times
            .iter()
            .copied()
            .enumerate()
            .map(|(i, t)| (i * 7919 % 26, t))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .collect(),
    );
    let mut fired_somewhere = std::collections::BTreeSet::new();
    for order in orders {
        let mut context = compiled.context();
        for (i, now) in order.iter().enumerate() {
            let n = [1, 4, 9][i % 3];
            let value = Value::Record(vec![Value::Str("p".into()), Value::Int(n)].into());
            let row = Row::encode(&program, &layout, record, &value);
            let jit = compiled.evaluate(record, &row, *now, &mut context);
            let spec = qlp_compiler::outcome::evaluate(&program, record, &value, *now);
            assert_eq!(jit, spec, "n = {n} at {}", qlp_grammar::time::format_time(*now));
            fired_somewhere.extend(jit.fired.iter().map(|r| r.index()));
            fired_somewhere.extend(jit.exempted.iter().map(|(r, _)| 100 + r.index()));
        }
    }
    // Every rule fired at some time and the exemption cancelled one.
    assert_eq!(fired_somewhere.len(), 4, "{fired_somewhere:?}");
}
