//! The graph of records held inline: a record (optional or not) is laid out
//! inside the record holding it, so these edges decide whether a layout
//! settles and in which order record sizes are known.
//!
//! Computed once, in time linear in the fields (Tarjan's strongly connected
//! components, with an explicit stack): a policy tree is untrusted, and a
//! walk per record type made a chain of 8,000 types take 48 s to check.

use crate::program::{Program, RecordId};
use crate::types::Type;

/// The records `program` holds inline, by strongly connected component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineGraph {
    /// Every record, each after every record it holds inline (when there
    /// is no cycle; records of one cycle in no particular order).
    pub order: Vec<RecordId>,
    /// Each record's component: records of one component hold each other.
    component: Vec<usize>,
}

/// The record a field of type `ty` holds inline, if any.
pub fn held_inline(ty: &Type) -> Option<RecordId> {
    match ty.strip_optional() {
        Type::Record(inner) => Some(*inner),
        _ => None,
    }
}

const UNSEEN: usize = usize::MAX;

impl InlineGraph {
    /// The graph of `program`'s records.
    pub fn new(program: &Program) -> InlineGraph {
        let count = program.records.len();
        // The next record `record` holds inline, from its field `from` on.
        let held = |record: usize, from: usize| {
            let fields = program.records.get(record).map_or(&[][..], |r| r.fields.as_slice());
            fields
                .iter()
                .enumerate()
                .skip(from)
                .find_map(|(at, f)| held_inline(&f.ty).map(|inner| (at, inner.index())))
        };
        let mut walk = Walk {
            index: vec![UNSEEN; count],
            low: vec![0; count],
            component: vec![UNSEEN; count],
            on_stack: vec![false; count],
            stack: Vec::new(),
            visits: Vec::new(),
            order: Vec::with_capacity(count),
            next: 0,
            components: 0,
        };
        for root in 0..count {
            if get(&walk.index, root) != UNSEEN {
                continue;
            }
            walk.enter(root);
            while let Some(&(record, from)) = walk.visits.last() {
                match held(record, from) {
                    Some((at, inner)) => {
                        if let Some(visit) = walk.visits.last_mut() {
                            visit.1 = at + 1;
                        }
                        if get(&walk.index, inner) == UNSEEN {
                            walk.enter(inner);
                        } else if walk.on_stack.get(inner) == Some(&true) {
                            let lowest = get(&walk.low, record).min(get(&walk.index, inner));
                            set(&mut walk.low, record, lowest);
                        }
                    }
                    None => walk.leave(record),
                }
            }
        }
        InlineGraph {
            order: walk.order,
            component: walk.component,
        }
    }

    /// The first field through which `record` holds itself inline, if any.
    pub fn self_holding_field(&self, program: &Program, record: RecordId) -> Option<usize> {
        let own = self.component.get(record.index())?;
        let fields = &program.record(record)?.fields;
        fields
            .iter()
            .position(|f| held_inline(&f.ty).is_some_and(|inner| self.component.get(inner.index()) == Some(own)))
    }
}

/// Tarjan's algorithm's state: `index` numbers records in visiting order,
/// `low` is the lowest index a record reaches staying in the component
/// being built, on `stack`.
struct Walk {
    index: Vec<usize>,
    low: Vec<usize>,
    component: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    /// The visits in progress: a record and the next field to look at.
    visits: Vec<(usize, usize)>,
    order: Vec<RecordId>,
    next: usize,
    components: usize,
}

impl Walk {
    fn enter(&mut self, record: usize) {
        set(&mut self.index, record, self.next);
        set(&mut self.low, record, self.next);
        set(&mut self.on_stack, record, true);
        self.next += 1;
        self.stack.push(record);
        self.visits.push((record, 0));
    }

    /// Every record `record` holds has been visited.
    fn leave(&mut self, record: usize) {
        self.visits.pop();
        if let Some(&(parent, _)) = self.visits.last() {
            let lowest = get(&self.low, parent).min(get(&self.low, record));
            set(&mut self.low, parent, lowest);
        }
        if get(&self.low, record) != get(&self.index, record) {
            return;
        }
        // `record` roots a component: its members are on the stack above it.
        while let Some(member) = self.stack.pop() {
            set(&mut self.on_stack, member, false);
            set(&mut self.component, member, self.components);
            self.order.push(RecordId(member as u32));
            if member == record {
                break;
            }
        }
        self.components += 1;
    }
}

fn get(values: &[usize], at: usize) -> usize {
    values.get(at).copied().unwrap_or(0)
}

fn set<T>(values: &mut [T], at: usize, value: T) {
    if let Some(slot) = values.get_mut(at) {
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_program as program;

    #[test]
    fn records_come_after_the_records_they_hold() {
        let program = program("record A { b: B  c: C? }\nrecord B { c: C }\nrecord C { x: int }\nrecord D { xs: [D] }");
        let graph = InlineGraph::new(&program);
        let position = |name: &str| {
            let id = program.records.iter().position(|r| r.name == name).expect("declared");
            graph.order.iter().position(|r| r.index() == id).expect("ordered")
        };
        assert!(position("C") < position("B"));
        assert!(position("B") < position("A"));
        assert_eq!(graph.order.len(), 4);
        // A list is not inline: `D` holds no record.
        for record in 0..program.records.len() {
            assert_eq!(graph.self_holding_field(&program, RecordId(record as u32)), None);
        }
    }
}
