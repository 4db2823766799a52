//! Repeatable randomness.
//!
//! Every call gets its own generator, seeded from the scenario's `seed` and the call's identity
//! (task, service, action and how many calls of that kind came before it). The fate of the third
//! `DescribeInstances` of `isolate` is therefore the same in every run with the same seed, however
//! the calls of other tasks interleave with it; one shared generator would hand out its numbers in
//! whatever order concurrent calls happen to arrive.

/// A small, fast generator (SplitMix64). Not for cryptography: it only decides faults.
#[derive(Debug, Clone)]
pub struct CallRng(u64);

impl CallRng {
    /// The generator of one call: `seed` mixed with the parts that identify the call.
    pub fn for_call(seed: u64, parts: &[&str], index: u64) -> Self {
        let mut state = splitmix(seed ^ 0x9e37_79b9_7f4a_7c15);
        for part in parts {
            state = splitmix(state ^ fnv1a(part.as_bytes()));
        }
        CallRng(splitmix(state ^ index))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix(self.0)
    }

    /// A number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        // The top 53 bits fill a double's mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `true` with probability `p` (0 never, 1 always).
    pub fn chance(&mut self, p: f64) -> bool {
        // A draw is taken even for 0 and 1, so that changing one rate does not shift the
        // numbers every later decision of the same call sees.
        let draw = self.next_f64();
        p > 0.0 && draw < p
    }

    /// A standard normal deviate (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// An identifier shaped like AWS's request ids (a UUID), from this generator.
    pub fn request_id(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_call_gets_the_same_numbers() {
        let mut a = CallRng::for_call(7, &["isolate", "ec2", "DescribeInstances"], 3);
        let mut b = CallRng::for_call(7, &["isolate", "ec2", "DescribeInstances"], 3);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut c = CallRng::for_call(7, &["isolate", "ec2", "DescribeInstances"], 4);
        let mut d = CallRng::for_call(8, &["isolate", "ec2", "DescribeInstances"], 3);
        let first = CallRng::for_call(7, &["isolate", "ec2", "DescribeInstances"], 3).next_u64();
        assert_ne!(c.next_u64(), first);
        assert_ne!(d.next_u64(), first);
    }

    #[test]
    fn rates_are_respected_over_many_calls() {
        let hits = (0..10_000)
            .filter(|i| CallRng::for_call(1, &["ec2", "X"], *i).chance(0.2))
            .count();
        assert!((1_800..2_200).contains(&hits), "{hits}");
        assert!(!(0..1000).any(|i| CallRng::for_call(1, &["a"], i).chance(0.0)));
        assert!((0..1000).all(|i| CallRng::for_call(1, &["a"], i).chance(1.0)));
    }

    #[test]
    fn request_ids_look_like_uuids() {
        let id = CallRng::for_call(1, &[], 0).request_id();
        let lengths: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(lengths, [8, 4, 4, 4, 12], "{id}");
    }
}
