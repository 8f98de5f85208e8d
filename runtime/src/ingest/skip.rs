//! Skipping a value the schema has no place for.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// How deep a skipped value may nest on the fast path; a deeper one sends
/// the record to `serde_json`, which has a limit of its own and says so.
const DEPTH: u32 = 24;

/// A value read and dropped on the fast path, like `serde::de::IgnoredAny`
/// but with a bound on its nesting: sonic-rs skips an ignored value by a
/// recursion of its own that has none, and a hostile record nested 100,000
/// deep would overflow the stack.
pub(super) struct Skip(pub(super) u32);

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.0 > DEPTH {
            return Err(de::Error::custom("nested too deep"));
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        Skip(self.0 + 1).deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip(self.0 + 1))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip(self.0 + 1))?.is_some() {
            map.next_value_seed(Skip(self.0 + 1))?;
        }
        Ok(())
    }
}

/// Reads and drops the next element of `seq`: by the parser's own skip on
/// `serde_json`, by [`Skip`] on the fast path.
pub(super) fn element<'de, A: SeqAccess<'de>>(seq: &mut A, fast: bool) -> Result<bool, A::Error> {
    if fast {
        seq.next_element_seed(Skip(1)).map(|e| e.is_some())
    } else {
        seq.next_element::<de::IgnoredAny>().map(|e| e.is_some())
    }
}

/// Reads and drops the next value of `map`, as [`element`] does.
pub(super) fn value<'de, A: MapAccess<'de>>(map: &mut A, fast: bool) -> Result<(), A::Error> {
    if fast {
        map.next_value_seed(Skip(1))
    } else {
        map.next_value::<de::IgnoredAny>().map(drop)
    }
}

/// Reads and drops the next entry of `map`, as [`element`] does.
pub(super) fn entry<'de, A: MapAccess<'de>>(map: &mut A, fast: bool) -> Result<bool, A::Error> {
    if fast {
        if map.next_key_seed(Skip(1))?.is_none() {
            return Ok(false);
        }
        map.next_value_seed(Skip(1))?;
        Ok(true)
    } else {
        map.next_entry::<de::IgnoredAny, de::IgnoredAny>().map(|e| e.is_some())
    }
}
