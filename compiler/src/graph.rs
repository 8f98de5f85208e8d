//! Strongly connected components of a graph given by its edges, in time
//! linear in them (Tarjan's algorithm, with an explicit stack): graphs
//! built from a policy tree (records held inline, files imported) are
//! untrusted, and a walk per node made chains of thousands quadratic or
//! worse.

/// The components of a graph of `count` nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Components {
    /// Every node, each after every node it reaches (nodes of one
    /// component together, in no particular order).
    pub order: Vec<usize>,
    /// Each node's component, numbered in the order they complete: a
    /// component's number is above those of every component it reaches.
    pub component: Vec<usize>,
    /// How many components there are.
    pub count: usize,
}

const UNSEEN: usize = usize::MAX;

/// The components of the graph whose edges `next(node, from)` gives one at
/// a time: the first edge of `node` at position `from` or later, as the
/// position it was found at and the node it leads to.
pub fn components(count: usize, next: impl Fn(usize, usize) -> Option<(usize, usize)>) -> Components {
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
        while let Some(&(node, from)) = walk.visits.last() {
            match next(node, from) {
                Some((at, to)) => {
                    if let Some(visit) = walk.visits.last_mut() {
                        visit.1 = at + 1;
                    }
                    if get(&walk.index, to) == UNSEEN {
                        walk.enter(to);
                    } else if walk.on_stack.get(to) == Some(&true) {
                        let lowest = get(&walk.low, node).min(get(&walk.index, to));
                        set(&mut walk.low, node, lowest);
                    }
                }
                None => walk.leave(node),
            }
        }
    }
    Components {
        order: walk.order,
        component: walk.component,
        count: walk.components,
    }
}

/// Tarjan's algorithm's state: `index` numbers nodes in visiting order,
/// `low` is the lowest index a node reaches staying in the component being
/// built, on `stack`.
struct Walk {
    index: Vec<usize>,
    low: Vec<usize>,
    component: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    /// The visits in progress: a node and the next edge to look at.
    visits: Vec<(usize, usize)>,
    order: Vec<usize>,
    next: usize,
    components: usize,
}

impl Walk {
    fn enter(&mut self, node: usize) {
        set(&mut self.index, node, self.next);
        set(&mut self.low, node, self.next);
        set(&mut self.on_stack, node, true);
        self.next += 1;
        self.stack.push(node);
        self.visits.push((node, 0));
    }

    /// Every edge of `node` has been followed.
    fn leave(&mut self, node: usize) {
        self.visits.pop();
        if let Some(&(parent, _)) = self.visits.last() {
            let lowest = get(&self.low, parent).min(get(&self.low, node));
            set(&mut self.low, parent, lowest);
        }
        if get(&self.low, node) != get(&self.index, node) {
            return;
        }
        // `node` roots a component: its members are on the stack above it.
        while let Some(member) = self.stack.pop() {
            set(&mut self.on_stack, member, false);
            set(&mut self.component, member, self.components);
            self.order.push(member);
            if member == node {
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
