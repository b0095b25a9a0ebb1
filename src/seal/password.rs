//! Passwords for sealed exports (STEP-4): generating one scelle shows once, and checking one an
//! operator supplies (at least 16 characters with letters, digits and special characters).
//! Passwords are never stored or logged; they live in `Zeroizing` strings.

use rand::Rng;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

/// Minimum length of an operator-supplied password (STEP-4).
pub const MIN_LEN: usize = 16;
/// Length of a generated password.
pub const GENERATED_LEN: usize = 24;

/// Letters without the look-alikes `I l O o` (passwords are read out over the phone).
const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz";
/// Digits without `0 1` (look like O, l).
const DIGITS: &[u8] = b"23456789";
/// Specials that need no quoting in a shell word or a URL form and are on every keyboard.
const SPECIALS: &[u8] = b"-_.:+=%@#!?*";

/// One of the STEP-4 character classes a password lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Fewer than [`MIN_LEN`] characters.
    Length,
    Letter,
    Digit,
    Special,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Missing::Length => "at least 16 characters",
            Missing::Letter => "a letter",
            Missing::Digit => "a digit",
            Missing::Special => "a special character (e.g. - _ . ! ? @)",
        })
    }
}

/// A password refused by the STEP-4 check, with everything it lacks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("password too weak (STEP-4): it needs {}", list(.missing))]
pub struct WeakPassword {
    pub missing: Vec<Missing>,
}

fn list(m: &[Missing]) -> String {
    m.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a password against STEP-4 and says what is missing.
pub fn check(password: &str) -> Result<(), WeakPassword> {
    let mut missing = Vec::new();
    if password.chars().count() < MIN_LEN {
        missing.push(Missing::Length);
    }
    if !password.chars().any(char::is_alphabetic) {
        missing.push(Missing::Letter);
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        missing.push(Missing::Digit);
    }
    if !password
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
    {
        missing.push(Missing::Special);
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(WeakPassword { missing })
    }
}

/// Generates a [`GENERATED_LEN`]-character password from the OS RNG with at least one letter,
/// one digit and one special character (about 5.9 bits per character, ~140 bits in all).
pub fn generate() -> Zeroizing<String> {
    let all: Vec<u8> = [LETTERS, DIGITS, SPECIALS].concat();
    loop {
        let pw: String = (0..GENERATED_LEN)
            .map(|_| char::from(all[OsRng.gen_range(0..all.len())]))
            .collect();
        let pw = Zeroizing::new(pw);
        if check(&pw).is_ok() {
            return pw;
        }
    }
}

/// Reads a password file: its contents minus one trailing newline (`\n` or `\r\n`).
pub fn read_file(path: &std::path::Path) -> std::io::Result<Zeroizing<String>> {
    let mut s = Zeroizing::new(std::fs::read_to_string(path)?);
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_check() {
        for _ in 0..200 {
            let p = generate();
            assert_eq!(p.chars().count(), GENERATED_LEN);
            check(&p).unwrap();
        }
    }

    #[test]
    fn check_lists_what_is_missing() {
        assert_eq!(
            check("short").unwrap_err().missing,
            vec![Missing::Length, Missing::Digit, Missing::Special]
        );
        assert_eq!(
            check("abcdefghijklmnop1").unwrap_err().missing,
            vec![Missing::Special]
        );
        assert_eq!(
            check("1234567890123456!").unwrap_err().missing,
            vec![Missing::Letter]
        );
        check("correct-horse-battery-9").unwrap();
        // Counted in characters, not bytes.
        check("éééééééééééééé1!").unwrap();
    }
}
