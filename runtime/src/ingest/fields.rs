//! Finding a record's fields by name, fast: the table, the order records
//! usually list them in, and which were seen.

use std::collections::HashMap;

/// Field names to indices. Keys are short and looked up once per field of
/// every record, so they are hashed with FNV-1a rather than SipHash (the
/// names come from the policy, not from records: nothing to flood).
pub(super) type FieldNames = HashMap<Box<[u8]>, usize, std::hash::BuildHasherDefault<Fnv>>;

#[derive(Default)]
pub(super) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = self.0 ^ 0xcbf2_9ce4_8422_2325;
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// A record type's fields sorted by name, and each field's place there.
#[derive(Debug)]
pub(super) struct NameOrder {
    pub(super) fields: Vec<usize>,
    pub(super) rank: Vec<usize>,
}

impl NameOrder {
    pub(super) fn new(record: &qlp_compiler::program::RecordDef) -> NameOrder {
        let mut fields: Vec<usize> = (0..record.fields.len()).collect();
        fields.sort_by(|&a, &b| {
            record
                .fields
                .get(a)
                .map(|f| &f.name)
                .cmp(&record.fields.get(b).map(|f| &f.name))
        });
        let mut rank = vec![0; fields.len()];
        for (place, &field) in fields.iter().enumerate() {
            if let Some(r) = rank.get_mut(field) {
                *r = place;
            }
        }
        NameOrder { fields, rank }
    }
}

/// Which fields of one object were seen: a bit per field, in a register
/// for the usual sizes.
pub(super) enum Seen {
    Small(u64),
    Large(Vec<bool>),
}

impl Seen {
    pub(super) fn new(fields: usize) -> Seen {
        if fields <= 64 {
            Seen::Small(0)
        } else {
            Seen::Large(vec![false; fields])
        }
    }

    /// Marks `index` seen; whether it was already.
    pub(super) fn insert(&mut self, index: usize) -> bool {
        match self {
            Seen::Small(bits) => {
                let bit = 1u64 << (index % 64);
                let was = *bits & bit != 0;
                *bits |= bit;
                was
            }
            Seen::Large(seen) => seen.get_mut(index).map(|s| std::mem::replace(s, true)).unwrap_or(false),
        }
    }

    pub(super) fn contains(&self, index: usize) -> bool {
        match self {
            Seen::Small(bits) => *bits & (1u64 << (index % 64)) != 0,
            Seen::Large(seen) => seen.get(index).copied().unwrap_or(true),
        }
    }
}

/// The keys of a record type in the order a record listed them, each with
/// what decoding its value needs: records of one stream list their keys in
/// one order, so a record is read by walking these steps, one comparison
/// of `"name":` per field, until a key differs (then the field table takes
/// over). Learned from the first record the table read whole, and only a
/// guess: every key is still compared.
#[derive(Debug)]
pub(super) struct Template {
    pub(super) steps: Vec<Step>,
    /// The fields the steps give, a bit each (record types of at most 64
    /// fields have a template).
    pub(super) fields: u64,
    /// The fields the steps leave out that have a default: what a record
    /// that follows the template to its end still needs (the others it
    /// leaves out are optional, absent in a zeroed slot).
    pub(super) defaults: Vec<usize>,
}

/// One field of a [`Template`].
#[derive(Debug)]
pub(super) struct Step {
    /// `"name":`, the key as it comes in a line, quotes and colon included.
    pub(super) token: Box<[u8]>,
    pub(super) index: usize,
    /// The field's bit in [`Template::fields`].
    pub(super) bit: u64,
}

impl Template {
    /// The template of a record that listed `order` (distinct indices into
    /// `fields`); `None` if one is 64 or more, or a field it leaves out must
    /// be given.
    pub(super) fn new(order: &[usize], fields: &[super::FieldPlan]) -> Option<Template> {
        let mut given = 0u64;
        let steps = order
            .iter()
            .map(|&index| {
                let bit = 1u64.checked_shl(u32::try_from(index).ok()?)?;
                given |= bit;
                let name = &fields.get(index)?.name;
                let token = [b"\"", &name[..], b"\":"].concat().into_boxed_slice();
                Some(Step { token, index, bit })
            })
            .collect::<Option<Vec<Step>>>()?;
        let mut defaults = Vec::new();
        let seen = Seen::Small(given);
        for (index, field) in fields.iter().enumerate() {
            if seen.contains(index) {
                continue;
            }
            if field.required() {
                return None;
            }
            if field.default.is_some() {
                defaults.push(index);
            }
        }
        Some(Template {
            steps,
            fields: given,
            defaults,
        })
    }
}
