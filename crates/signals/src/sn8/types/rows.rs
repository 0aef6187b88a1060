//! The shapes a row of `/miner-positions` may take, read so that no row is lost: an object, a
//! JSON-encoded string holding the object (the older override file writes positions, and
//! sometimes whole miners, that way), or anything else, which is kept as an empty
//! [`RowOrigin::Unreadable`] position so the ranking counts it by reason. The whole `positions`
//! list may itself be one JSON-encoded string; its rows are read the same way.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::super::lenient::Lenient;
use super::{MinerPositions, Position, RowOrigin};

/// One element of a miner's `positions` list, in any of its shapes.
pub(super) struct PositionRow(pub(super) Position);

impl PositionRow {
    fn unreadable() -> Self {
        Self(Position {
            origin: RowOrigin::Unreadable,
            ..Position::default()
        })
    }

    fn from_json_text(text: &str) -> Self {
        let clean = super::super::lenient::sanitize_non_finite(text.as_bytes());
        match serde_json::from_slice::<Lenient<Position>>(&clean) {
            Ok(Lenient(Some(mut p))) => {
                p.origin = RowOrigin::JsonString;
                Self(p)
            }
            _ => Self::unreadable(),
        }
    }
}

impl<'de> Deserialize<'de> for PositionRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PositionRow;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a position object or a JSON-encoded position")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PositionRow, A::Error> {
                Position::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(PositionRow)
            }
            fn visit_str<E>(self, v: &str) -> Result<PositionRow, E> {
                Ok(PositionRow::from_json_text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PositionRow, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(PositionRow::unreadable())
            }
            fn visit_bool<E>(self, _: bool) -> Result<PositionRow, E> {
                Ok(PositionRow::unreadable())
            }
            fn visit_i64<E>(self, _: i64) -> Result<PositionRow, E> {
                Ok(PositionRow::unreadable())
            }
            fn visit_u64<E>(self, _: u64) -> Result<PositionRow, E> {
                Ok(PositionRow::unreadable())
            }
            fn visit_f64<E>(self, _: f64) -> Result<PositionRow, E> {
                Ok(PositionRow::unreadable())
            }
            fn visit_unit<E>(self) -> Result<PositionRow, E> {
                Ok(PositionRow::unreadable())
            }
            fn visit_none<E>(self) -> Result<PositionRow, E> {
                Ok(PositionRow::unreadable())
            }
        }
        d.deserialize_any(V)
    }
}

/// A miner's entry: an object, or a JSON-encoded string holding one (older override files).
pub(super) struct MinerRow(pub(super) Option<MinerPositions>);

impl<'de> Deserialize<'de> for MinerRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MinerRow;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a miner object or a JSON-encoded one")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MinerRow, A::Error> {
                MinerPositions::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|m| MinerRow(Some(m)))
            }
            fn visit_str<E>(self, v: &str) -> Result<MinerRow, E> {
                let clean = super::super::lenient::sanitize_non_finite(v.as_bytes());
                Ok(MinerRow(
                    serde_json::from_slice::<Lenient<MinerPositions>>(&clean)
                        .ok()
                        .and_then(|l| l.0),
                ))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MinerRow, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MinerRow(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<MinerRow, E> {
                Ok(MinerRow(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<MinerRow, E> {
                Ok(MinerRow(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<MinerRow, E> {
                Ok(MinerRow(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<MinerRow, E> {
                Ok(MinerRow(None))
            }
            fn visit_unit<E>(self) -> Result<MinerRow, E> {
                Ok(MinerRow(None))
            }
            fn visit_none<E>(self) -> Result<MinerRow, E> {
                Ok(MinerRow(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A miner's `positions`: a list of rows, or one JSON-encoded string holding the list.
pub(super) struct PositionList(pub(super) Vec<Position>);

impl<'de> Deserialize<'de> for PositionList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PositionList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of positions or a JSON-encoded one")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PositionList, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(PositionRow(p)) = seq.next_element::<PositionRow>()? {
                    out.push(p);
                }
                Ok(PositionList(out))
            }
            fn visit_str<E>(self, v: &str) -> Result<PositionList, E> {
                let clean = super::super::lenient::sanitize_non_finite(v.as_bytes());
                let mut de = serde_json::Deserializer::from_slice(&clean);
                Ok(match PositionList::deserialize(&mut de) {
                    Ok(PositionList(mut rows)) if de.end().is_ok() => {
                        for p in &mut rows {
                            if p.origin == RowOrigin::Object {
                                p.origin = RowOrigin::JsonString;
                            }
                        }
                        PositionList(rows)
                    }
                    _ => PositionList(vec![PositionRow::unreadable().0]),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PositionList, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(PositionList(vec![PositionRow::unreadable().0]))
            }
            fn visit_bool<E>(self, _: bool) -> Result<PositionList, E> {
                Ok(PositionList(vec![PositionRow::unreadable().0]))
            }
            fn visit_i64<E>(self, _: i64) -> Result<PositionList, E> {
                Ok(PositionList(vec![PositionRow::unreadable().0]))
            }
            fn visit_u64<E>(self, _: u64) -> Result<PositionList, E> {
                Ok(PositionList(vec![PositionRow::unreadable().0]))
            }
            fn visit_f64<E>(self, _: f64) -> Result<PositionList, E> {
                Ok(PositionList(vec![PositionRow::unreadable().0]))
            }
            fn visit_unit<E>(self) -> Result<PositionList, E> {
                Ok(PositionList(Vec::new()))
            }
            fn visit_none<E>(self) -> Result<PositionList, E> {
                Ok(PositionList(Vec::new()))
            }
        }
        d.deserialize_any(V)
    }
}
