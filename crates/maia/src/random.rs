//! Where new credentials come from: the operating system's randomness.

use maia_render::workspace::SecretSource;

/// New secrets come from the operating system's randomness.
#[derive(Debug, Default)]
pub struct OsRandom;

impl SecretSource for OsRandom {
    fn draw(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut out = String::with_capacity(len);
        let mut buf = [0u8; 64];
        while out.len() < len {
            // reason: `SecretSource::draw` (maia-render's trait) cannot return an error,
            // and without the OS's randomness no safe secret can be made: there is
            // nothing to fall back to, and stopping before any secret is kept or used
            // is the only safe answer. getrandom fails only on a broken system.
            #[allow(clippy::expect_used)]
            getrandom::fill(&mut buf).expect("the operating system's random source is readable");
            // 248 = 4 × 62: dropping bytes above it keeps every character equally likely.
            for b in buf.iter().filter(|b| **b < 248) {
                out.push(ALPHABET[usize::from(*b) % ALPHABET.len()] as char);
                if out.len() == len {
                    break;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_draws_alphanumeric_secrets_of_the_asked_length() {
        let a = OsRandom.draw(32);
        let b = OsRandom.draw(32);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
