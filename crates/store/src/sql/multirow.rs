//! Multi-row statements: many rows in one round trip.
//!
//! Each statement sent through sqlx is a round trip (on SQLite, a hand-off to the connection's
//! worker thread and back), so a batch that wrote one row per statement spent most of its time
//! in hand-offs rather than in the database. A batch is now written with one statement per table:
//!
//! ```sql
//! INSERT INTO t (a, b) SELECT * FROM (VALUES (?, ?), (?, ?), …) AS v WHERE column1 IS NOT NULL
//! ```
//!
//! The number of rows is rounded up to one of [`SIZES`] with rows of NULLs, which the `WHERE`
//! drops (the first column of every statement here is NOT NULL), so both drivers'
//! prepared-statement caches hold four statements per kind instead of one per batch size.
//! Beyond the largest size a batch takes several statements. Both backends name the columns of
//! `VALUES` `column1`, `column2`, … and insert the rows in order.
//!
//! Parameters are `?` on SQLite: it looks a `$N` name up by walking a list, so binding N of them
//! costs O(N²), which was 5 % of the writer's time at 1 024 parameters. PostgreSQL needs `$N`.
//! A statement of the largest size has at most 512 × 13 = 6 656 parameters, far below both
//! backends' limits (SQLite 32 766, PostgreSQL 65 535).

use std::fmt::Write as _;

use sqlx::query::Query;
use sqlx::{Database, Encode, Type};

/// Rows per statement; a batch is padded up to the next size.
pub(crate) const SIZES: [usize; 4] = [8, 32, 128, 512];

/// The SQL type of a column, for the NULLs of padding rows (PostgreSQL wants every row of a
/// `VALUES` list to agree on each column's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    Text,
    BigInt,
}

/// One statement kind, as text for every size in [`SIZES`] and both parameter styles.
#[derive(Debug)]
pub(crate) struct MultiRow {
    types: &'static [Col],
    anonymous: Vec<String>,
    numbered: Vec<String>,
}

impl MultiRow {
    /// `head` is `INSERT INTO table (columns…)`, `tail` what follows the rows (an `ON CONFLICT`
    /// or `RETURNING` clause, or nothing), `types` the type of each value of a row.
    pub(crate) fn new(head: &str, types: &'static [Col], tail: &str) -> Self {
        let columns = types.len();
        let build = |rows: usize, numbered: bool| {
            let mut sql = String::with_capacity(head.len() + tail.len() + rows * columns * 7 + 64);
            sql.push_str(head);
            sql.push_str(" SELECT * FROM (VALUES ");
            let mut n = 0usize;
            for r in 0..rows {
                sql.push_str(if r == 0 { "(" } else { ", (" });
                for c in 0..columns {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    n += 1;
                    if numbered {
                        // Writing to a String cannot fail.
                        let _ = write!(sql, "${n}");
                    } else {
                        sql.push('?');
                    }
                }
                sql.push(')');
            }
            sql.push_str(") AS v WHERE column1 IS NOT NULL");
            if !tail.is_empty() {
                sql.push(' ');
                sql.push_str(tail);
            }
            sql
        };
        Self {
            types,
            anonymous: SIZES.iter().map(|&rows| build(rows, false)).collect(),
            numbered: SIZES.iter().map(|&rows| build(rows, true)).collect(),
        }
    }

    /// The statement for a chunk of `size` rows (one of [`SIZES`], from [`chunks`]).
    pub(crate) fn sql(&'static self, size: usize, numbered: bool) -> &'static str {
        let k = SIZES
            .iter()
            .position(|&s| s == size)
            .unwrap_or(SIZES.len() - 1);
        let texts = if numbered {
            &self.numbered
        } else {
            &self.anonymous
        };
        texts[k].as_str()
    }

    /// Binds the NULL rows that pad `chunk` up to its statement size.
    pub(crate) fn pad<'q, DB, A>(
        &self,
        mut query: Query<'q, DB, A>,
        chunk: Chunk,
    ) -> Query<'q, DB, A>
    where
        DB: Database<Arguments = A>,
        A: sqlx::IntoArguments<DB>,
        Option<&'static str>: Encode<'static, DB> + Type<DB>,
        Option<i64>: for<'e> Encode<'e, DB> + Type<DB>,
    {
        for _ in chunk.rows..chunk.size {
            for col in self.types {
                query = match col {
                    Col::Text => query.bind(None::<&'static str>),
                    Col::BigInt => query.bind(None::<i64>),
                };
            }
        }
        query
    }
}

/// One statement's share of a batch: rows `start..start + rows`, sent in a statement of `size`
/// rows (the rest is padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub start: usize,
    pub rows: usize,
    pub size: usize,
}

/// Splits `n` rows into statements: full statements of the largest size, then one padded up to
/// the smallest size that holds the rest.
pub(crate) fn chunks(n: usize) -> impl Iterator<Item = Chunk> {
    let largest = SIZES[SIZES.len() - 1];
    let mut start = 0usize;
    std::iter::from_fn(move || {
        let rows = (n - start).min(largest);
        if rows == 0 {
            return None;
        }
        let size = SIZES
            .iter()
            .copied()
            .find(|&s| s >= rows)
            .unwrap_or(largest);
        let chunk = Chunk { start, rows, size };
        start += rows;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_row_once_in_known_sizes() {
        for n in [0usize, 1, 7, 8, 9, 37, 128, 129, 512, 513, 1000, 1024, 1025] {
            let mut next = 0;
            for c in chunks(n) {
                assert_eq!(c.start, next, "n = {n}");
                assert!(SIZES.contains(&c.size) && c.rows <= c.size && c.rows > 0);
                next += c.rows;
            }
            assert_eq!(next, n);
        }
        let c: Vec<_> = chunks(600).collect();
        assert_eq!(
            c,
            vec![
                Chunk {
                    start: 0,
                    rows: 512,
                    size: 512
                },
                Chunk {
                    start: 512,
                    rows: 88,
                    size: 128
                }
            ]
        );
    }

    #[test]
    fn statements_have_one_parameter_per_value() {
        let m = Box::leak(Box::new(MultiRow::new(
            "INSERT INTO t (a, b)",
            &[Col::Text, Col::BigInt],
            "RETURNING a",
        )));
        let sql = m.sql(8, true);
        assert!(sql.starts_with("INSERT INTO t (a, b) SELECT * FROM (VALUES ($1, $2), ($3, $4)"));
        assert!(sql.ends_with("($15, $16)) AS v WHERE column1 IS NOT NULL RETURNING a"));
        let sql = m.sql(32, false);
        assert_eq!(sql.matches('?').count(), 64);
        assert!(!sql.contains('$'));
    }
}
