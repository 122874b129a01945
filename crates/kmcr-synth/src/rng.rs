//! A small seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64), so that every output depends on
//! the seed and on what is being generated alone, never on the order in which things are generated.

/// The SplitMix64 increment (the golden ratio in 64 bits).
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 finaliser: a fast bijective mixer of 64 bits.
pub(crate) fn mix64(value: u64) -> u64 {
    let mut z = value;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes a short sequence of words into one; the order of the words matters.
pub(crate) fn hash_words(words: &[u64]) -> u64 {
    words.iter().fold(GOLDEN_GAMMA, |hash, word| mix64(hash.rotate_left(23) ^ mix64(word.wrapping_add(GOLDEN_GAMMA))))
}

/// Independent random streams: each thing generated draws from its own stream, named by these tags, so that a change
/// to one generator leaves every other output unchanged.
pub(crate) mod stream {
    pub const PERSON: u64 = 1;
    pub const IDENTITY: u64 = 2;
    pub const RECORDS: u64 = 3;
    pub const FULL_URLS: u64 = 4;
    pub const NHS_NUMBER_PERMUTATION: u64 = 5;
    pub const LOCAL_ID_PERMUTATION: u64 = 6;
    pub const ORGANISATIONS: u64 = 7;
    pub const TWINS: u64 = 8;
    pub const PREVIOUS_ADDRESS: u64 = 9;
    /// What only the HL7 v2 form of a source's records says (wards, beds, transfers, updates), apart from the
    /// records themselves.
    pub const HL7V2: u64 = 10;
}

/// xoshiro256** (Blackman and Vigna), seeded from a hash of words.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    state: [u64; 4],
}

impl Rng {
    pub(crate) fn from_words(words: &[u64]) -> Rng {
        let mut splitmix = hash_words(words);
        let mut state = [0u64; 4];
        for word in &mut state {
            splitmix = splitmix.wrapping_add(GOLDEN_GAMMA);
            *word = mix64(splitmix);
        }
        Rng { state }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = self.state;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s1 << 17;
        let s2 = s2 ^ s0;
        let s3 = s3 ^ s1;
        let s1 = s1 ^ s2;
        let s0 = s0 ^ s3;
        let s2 = s2 ^ t;
        let s3 = s3.rotate_left(45);
        self.state = [s0, s1, s2, s3];
        result
    }

    /// A uniform integer in `0..bound` (Lemire's multiply-shift; the bias is below 2^-40 for our bounds).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0);
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A uniform integer in `low..=high`.
    pub(crate) fn between(&mut self, low: i64, high: i64) -> i64 {
        assert!(low <= high);
        low + self.below((high - low + 1) as u64) as i64
    }

    /// A uniform float in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    pub(crate) fn pick_copy<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// Picks from `(item, weight)` pairs in proportion to the weights.
    pub(crate) fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u64 = items.iter().map(|(_, weight)| u64::from(*weight)).sum();
        let mut target = self.below(total);
        for (item, weight) in items {
            let weight = u64::from(*weight);
            if target < weight {
                return item;
            }
            target -= weight;
        }
        unreachable!("the target is below the total weight")
    }

    /// A normally distributed value (Box-Muller).
    pub(crate) fn normal(&mut self, mean: f64, standard_deviation: f64) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        mean + standard_deviation * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A small count with the given mean (Poisson, by Knuth's method; fine for means below 30).
    pub(crate) fn poisson(&mut self, mean: f64) -> u32 {
        let limit = (-mean).exp();
        let mut product = self.unit();
        let mut count = 0;
        while product > limit && count < 200 {
            count += 1;
            product *= self.unit();
        }
        count
    }
}

/// A keyed bijection of `0..domain` (a four-round Feistel network on `2 * half_bits` bits, cycle-walked into the
/// domain), so that indexes map to distinct, scattered numbers without any table.
pub(crate) fn permute_below(index: u64, domain: u64, half_bits: u32, key: u64) -> u64 {
    assert!(index < domain && domain <= 1u64 << (2 * half_bits));
    let mut value = index;
    loop {
        value = feistel(value, half_bits, key);
        if value < domain {
            return value;
        }
    }
}

fn feistel(value: u64, half_bits: u32, key: u64) -> u64 {
    let mask = (1u64 << half_bits) - 1;
    let (mut left, mut right) = (value >> half_bits, value & mask);
    for round in 0..4u64 {
        let round_output = mix64(key ^ (round << 58) ^ right) & mask;
        (left, right) = (right, left ^ round_output);
    }
    (left << half_bits) | right
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection() {
        let domain = 10_000;
        let mut seen = vec![false; domain as usize];
        for index in 0..domain {
            let image = permute_below(index, domain, 7, 42);
            assert!(!seen[image as usize]);
            seen[image as usize] = true;
        }
    }

    #[test]
    fn streams_differ_by_word_order() {
        assert_ne!(hash_words(&[1, 2]), hash_words(&[2, 1]));
        assert_ne!(Rng::from_words(&[1]).next_u64(), Rng::from_words(&[2]).next_u64());
    }
}
