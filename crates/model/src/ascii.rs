//! ASCII strings that clone without allocating: the storage behind the id newtypes of
//! [`crate::ids`].
//!
//! Ids are cloned into every plan, target, blend and order leg the core builds each cycle
//! (thousands per cycle). Two shapes:
//! - [`Ascii`]: a fixed-capacity inline buffer, for client order ids (≤ 32 bytes, one per order
//!   leg, almost all 27–32 bytes long);
//! - [`SmallStr`]: up to 22 bytes inline (symbols, account and source names, plan ids in
//!   practice), longer strings behind an `Arc<str>`. It is 24 bytes, the size of the `String` it
//!   replaced, so no type holding an id grew.
//!
//! A clone is then a copy of 24–33 bytes, or one reference count for a long name. The id types
//! validate their characters before storing them, so the content is always ASCII.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Up to `N` (≤ 255) ASCII bytes, zero-padded so that derived equality compares content only.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ascii<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> Ascii<N> {
    /// `None` when `s` is longer than `N` or not ASCII.
    pub(crate) fn new(s: &[u8]) -> Option<Self> {
        Self::new_mapped(s, |b| b)
    }

    /// Stores `map` of each byte of `s` (for case folding without an intermediate `String`);
    /// `None` when the result would be longer than `N` or not ASCII.
    pub(crate) fn new_mapped(s: &[u8], map: impl Fn(u8) -> u8) -> Option<Self> {
        let len = u8::try_from(s.len())
            .ok()
            .filter(|l| usize::from(*l) <= N)?;
        let mut bytes = [0u8; N];
        // Branch-free: one check at the end instead of one per byte.
        let mut ascii = true;
        for (slot, b) in bytes.iter_mut().zip(s) {
            let m = map(*b);
            ascii &= m.is_ascii();
            *slot = m;
        }
        ascii.then_some(Self { len, bytes })
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        // `len ≤ N` by construction; `get` keeps even a broken invariant from panicking.
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    pub(crate) fn as_str(&self) -> &str {
        // Always ASCII (checked in `new_mapped`), hence always UTF-8; the check is a few
        // nanoseconds on strings this short.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

/// Bytes held inline by [`SmallStr`]: with its length byte and the enum tag, 24 bytes in all.
const INLINE: usize = 22;

/// An ASCII string of any length, inline up to [`INLINE`] bytes. The representation is canonical
/// (a string fits inline exactly when it is stored inline), but comparisons go by content anyway.
#[derive(Clone)]
pub(crate) enum SmallStr {
    Inline(Ascii<INLINE>),
    Heap(Arc<str>),
}

impl SmallStr {
    /// `None` when `s` is not ASCII.
    pub(crate) fn new(s: &str) -> Option<Self> {
        Self::new_mapped(s, |b| b)
    }

    /// Stores `map` of each byte of `s`; `None` when the result is not ASCII.
    pub(crate) fn new_mapped(s: &str, map: impl Fn(u8) -> u8) -> Option<Self> {
        if s.len() <= INLINE {
            return Ascii::new_mapped(s.as_bytes(), map).map(Self::Inline);
        }
        let mapped: Vec<u8> = s.bytes().map(map).collect();
        if !mapped.is_ascii() {
            return None;
        }
        String::from_utf8(mapped)
            .ok()
            .map(|m| Self::Heap(Arc::from(m)))
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline(a) => a.as_bytes(),
            Self::Heap(h) => h.as_bytes(),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Inline(a) => a.as_str(),
            Self::Heap(h) => h,
        }
    }
}

impl PartialEq for SmallStr {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            // Fixed-size buffers, zero-padded: compared whole, without a call to `memcmp`.
            (Self::Inline(a), Self::Inline(b)) => a == b,
            // The representation is canonical (see `new_mapped`), so equal strings never sit in
            // different variants; comparing bytes keeps this correct even if one did.
            _ => self.as_bytes() == other.as_bytes(),
        }
    }
}

impl Eq for SmallStr {}

impl Ord for SmallStr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl PartialOrd for SmallStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for SmallStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

/// Lexicographic by bytes, the order of `String` (UTF-8 byte order is code point order).
impl<const N: usize> Ord for Ascii<N> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl<const N: usize> PartialOrd for Ascii<N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Hashes like `str` (bytes, then `0xff`), as the `String` it replaces did.
impl<const N: usize> Hash for Ascii<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::DefaultHasher;

    use super::*;

    fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    #[test]
    fn holds_up_to_capacity_and_refuses_more_or_non_ascii() {
        assert_eq!(
            Ascii::<4>::new(b"abcd")
                .map(|a| a.as_str().to_string())
                .as_deref(),
            Some("abcd")
        );
        assert_eq!(Ascii::<4>::new(b"").map(|a| a.as_bytes().len()), Some(0));
        assert!(Ascii::<4>::new(b"abcde").is_none());
        assert!(Ascii::<8>::new("é".as_bytes()).is_none());
        assert_eq!(
            Ascii::<8>::new_mapped(b"btc", |b| b.to_ascii_uppercase())
                .map(|a| a.as_str().to_string()),
            Some("BTC".to_string())
        );
    }

    #[test]
    fn small_str_is_the_size_of_a_string_and_compares_by_content() {
        assert_eq!(size_of::<SmallStr>(), size_of::<String>());
        let short = "a".repeat(INLINE);
        let long = "a".repeat(INLINE + 1);
        assert!(matches!(SmallStr::new(&short), Some(SmallStr::Inline(_))));
        assert!(matches!(SmallStr::new(&long), Some(SmallStr::Heap(_))));
        assert!(SmallStr::new("ünï").is_none());
        assert!(SmallStr::new(&format!("{long}é")).is_none());
        let words = [
            "",
            "a",
            "ab",
            "b",
            "B",
            short.as_str(),
            long.as_str(),
            "ab-cdefghijklmnopqrstuvwxyz",
        ];
        for x in words {
            let sx = SmallStr::new(x).unwrap();
            assert_eq!(sx.as_str(), x);
            assert_eq!(sx.clone().as_bytes(), x.as_bytes());
            assert_eq!(hash_of(&sx), hash_of(&x.to_string()), "{x:?}");
            for y in words {
                let sy = SmallStr::new(y).unwrap();
                assert_eq!(sx.cmp(&sy), x.cmp(y), "{x:?} vs {y:?}");
                assert_eq!(sx == sy, x == y, "{x:?} vs {y:?}");
            }
        }
        let upper = SmallStr::new_mapped(&long, |b| b.to_ascii_uppercase()).unwrap();
        assert_eq!(upper.as_str(), "A".repeat(INLINE + 1));
    }

    #[test]
    fn orders_and_hashes_like_string() {
        let words = ["", "a", "ab", "abc", "b", "B", "a-", "a_", "a0", "zz", "Z"];
        for x in words {
            for y in words {
                let (ax, ay) = (Ascii::<8>::new(x.as_bytes()), Ascii::<8>::new(y.as_bytes()));
                assert_eq!(ax.cmp(&ay), x.cmp(y), "{x:?} vs {y:?}");
                assert_eq!(ax == ay, x == y, "{x:?} vs {y:?}");
            }
            let a = Ascii::<8>::new(x.as_bytes());
            assert_eq!(
                a.map(|a| hash_of(&a)),
                Some(hash_of(&x.to_string())),
                "{x:?}"
            );
        }
    }
}
