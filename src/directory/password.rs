//! Initial passwords for new CloudRoom accounts when HR gives none: random,
//! long enough to resist guessing, held only in a [`SecretString`] for the
//! one request that sets it. Never stored, logged or printed; people reset
//! it (or sign in through SSO) on first use.

use rand::seq::{IndexedRandom, SliceRandom};
use secrecy::SecretString;

pub const LENGTH: usize = 20;

const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!@#$%^&*-_=+";

/// A fresh password with at least one character of each class, so that it
/// passes whatever complexity rule the enterprise has switched on.
pub fn generate() -> SecretString {
    let mut rng = rand::rng();
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS].concat();
    let mut chars: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS]
        .iter()
        .filter_map(|class| class.choose(&mut rng).copied())
        .collect();
    while chars.len() < LENGTH {
        if let Some(&c) = all.choose(&mut rng) {
            chars.push(c);
        }
    }
    chars.shuffle(&mut rng);
    SecretString::from(String::from_utf8_lossy(&chars).into_owned())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    #[test]
    fn long_mixed_and_different_each_time() {
        let a = super::generate();
        let b = super::generate();
        let text = a.expose_secret();
        assert!(text.chars().count() >= 16);
        assert!(text.chars().any(|c| c.is_ascii_digit()));
        assert!(text.chars().any(|c| c.is_ascii_uppercase()));
        assert!(text.chars().any(|c| c.is_ascii_lowercase()));
        assert_ne!(text, b.expose_secret());
        assert!(!format!("{a:?}").contains(text));
    }
}
