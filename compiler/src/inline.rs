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

impl InlineGraph {
    /// The graph of `program`'s records.
    pub fn new(program: &Program) -> InlineGraph {
        // The next record `record` holds inline, from its field `from` on.
        let held = |record: usize, from: usize| {
            let fields = program.records.get(record).map_or(&[][..], |r| r.fields.as_slice());
            fields
                .iter()
                .enumerate()
                .skip(from)
                .find_map(|(at, f)| held_inline(&f.ty).map(|inner| (at, inner.index())))
        };
        let components = crate::graph::components(program.records.len(), held);
        InlineGraph {
            order: components.order.into_iter().map(|r| RecordId(r as u32)).collect(),
            component: components.component,
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
