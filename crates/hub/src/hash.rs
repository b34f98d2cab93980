//! Partition key → partition, with the hash the Event Hubs service uses (Jenkins
//! lookup3 `hashlittle2`, seeds 0, folded to a signed 16-bit value), so a key lands on
//! the same partition index as it would on Azure.

/// The service's 16-bit hash of a partition key.
pub fn partition_key_hash(key: &str) -> i16 {
    let (c, b) = hashlittle2(key.as_bytes(), 0, 0);
    (c ^ b) as u16 as i16
}

/// The partition index for `key` among `count` partitions: `|h % count|` with a
/// truncating remainder (C# semantics).
pub fn partition_for_key(key: &str, count: u32) -> u32 {
    let h = partition_key_hash(key) as i32;
    (h % count as i32).unsigned_abs()
}

/// Bob Jenkins' lookup3 `hashlittle2`: returns (primary `c`, secondary `b`).
fn hashlittle2(data: &[u8], seed1: u32, seed2: u32) -> (u32, u32) {
    let mut a = 0xdead_beef_u32
        .wrapping_add(data.len() as u32)
        .wrapping_add(seed1);
    let mut b = a;
    let mut c = a.wrapping_add(seed2);
    let mut rest = data;
    while rest.len() > 12 {
        a = a.wrapping_add(word(&rest[0..4]));
        b = b.wrapping_add(word(&rest[4..8]));
        c = c.wrapping_add(word(&rest[8..12]));
        mix(&mut a, &mut b, &mut c);
        rest = &rest[12..];
    }
    if rest.is_empty() {
        return (c, b);
    }
    // The tail: up to 12 bytes, zero-padded, little-endian into a, b, c.
    let mut tail = [0u8; 12];
    tail[..rest.len()].copy_from_slice(rest);
    a = a.wrapping_add(word(&tail[0..4]));
    b = b.wrapping_add(word(&tail[4..8]));
    c = c.wrapping_add(word(&tail[8..12]));
    finish(&mut a, &mut b, &mut c);
    (c, b)
}

fn word(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

fn finish(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys and 16-bit hashes published with the service's algorithm (the .NET SDK's
    /// stability cases), spanning empty tails, exact 12-byte blocks and long keys.
    const VECTORS: &[(&str, i16)] = &[
        ("7", -15263),
        ("131", 30562),
        ("7149583486996073602", 12977),
        ("FWfAT", -22341),
        ("sOdeEAsyQoEuEFPGerWO", -6503),
        ("FAyAIctPeCgmiwLKbJcyswoHglHVjQdvtBowLACDNORsYvOcLddNJYDmhAVkbyLOrHTKLneMNcbgWVlasVywOByANjs", 5226),
        ("1XYM6!(7(lF5wq4k4m*e$Nc!1ezLJv*1YK1Y-C^*&B$O)lq^iUkG(TNzXG;Zi#z2Og*Qq0#^*k):vXh$3,C7We7%W0meJ;b3,rQCg^J;^twXgs5E$$hWKxqp", 23950),
        ("E(x;RRIaQcJs*P;D&jTPau-4K04oqr:lF6Z):ERpo&;9040qyV@G1_c9mgOs-8_8/10Fwa-7b7-yP!T-!IH&968)FWuI;(^g$2fN;)HJ^^yTn:", -29304),
        ("!c*_!I@1^c", 15372),
        ("p4*!jioeO/z-!-;w:dh", -3104),
        ("$0cb", 26269),
        ("-4189260826195535198", 453),
    ];

    #[test]
    fn hash_matches_the_service_vectors() {
        for (key, expected) in VECTORS {
            assert_eq!(partition_key_hash(key), *expected, "key {key:?}");
        }
    }

    #[test]
    fn partition_uses_truncating_remainder() {
        // -15263 % 4 == -3 in C#, so partition 3; Python's floor modulo would give 1.
        assert_eq!(partition_for_key("7", 4), 3);
        assert_eq!(partition_for_key("131", 4), 30562 % 4);
        for (key, h) in VECTORS {
            for count in [1u32, 2, 3, 4, 7, 16, 32] {
                let expected = ((*h as i32) % count as i32).unsigned_abs();
                assert_eq!(partition_for_key(key, count), expected);
                assert!(partition_for_key(key, count) < count);
            }
        }
    }

    #[test]
    fn empty_key_has_a_stable_partition() {
        assert!(partition_for_key("", 32) < 32);
        assert_eq!(partition_for_key("", 32), partition_for_key("", 32));
    }
}
