//! [`FoldHash`]: a fast, unkeyed hasher for tables whose keys the server picks.

use std::hash::{BuildHasherDefault, Hasher};

/// Hashes for tables that a peer can only look up, never fill: the Engine.IO session table
/// and a namespace's sockets (a sid holds 128 random bits the server drew; looked up on every
/// polling request and for every recipient of a broadcast), and a namespace's event handlers
/// (the names are the application's). SipHash, std's keyed default, costs more there than the rest of
/// the lookup; its key buys nothing when a client cannot choose what the table holds (a name
/// or sid made up to collide costs only its own lookup).
pub(crate) type FoldHash = BuildHasherDefault<FoldHasher>;

/// Folds the bytes eight at a time with a multiply (FxHash's step).
#[derive(Default)]
pub(crate) struct FoldHasher(u64);

impl FoldHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut le = [0u8; 8];
            le.copy_from_slice(word);
            self.add(u64::from_le_bytes(le));
        }
        let mut last = [0u8; 8];
        last[..words.remainder().len()].copy_from_slice(words.remainder());
        self.add(u64::from_le_bytes(last));
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves its best bits on top; hashbrown indexes with the low ones.
        self.0.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::Sid;
    use std::hash::BuildHasher as _;

    /// Counts how `keys` land in 64 buckets picked by the hash's low bits.
    fn buckets(keys: impl Iterator<Item = u64>) -> [u32; 64] {
        let mut buckets = [0u32; 64];
        for hash in keys {
            buckets[(hash & 63) as usize] += 1;
        }
        buckets
    }

    #[test]
    fn sid_hashes_spread_over_the_low_bits() {
        let hash = FoldHash::default();
        let buckets = buckets((0..6_400).map(|_| hash.hash_one(Sid::random())));
        assert!(
            buckets.iter().all(|&n| (40..=160).contains(&n)),
            "{buckets:?}"
        );
    }

    #[test]
    fn similar_names_spread_over_the_low_bits() {
        let hash = FoldHash::default();
        let buckets = buckets((0..6_400).map(|i| hash.hash_one(format!("event_{i}").as_str())));
        assert!(
            buckets.iter().all(|&n| (40..=160).contains(&n)),
            "{buckets:?}"
        );
    }
}
