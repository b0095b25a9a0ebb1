//! Unix account names from the system's account database (`/etc/passwd`, `/etc/group`).
//!
//! The kernel tells the daemon a peer's uid; the people list names Unix accounts. Reading the
//! files directly keeps the code free of `unsafe` libc calls. Accounts served only by NSS
//! modules (LDAP, SSSD) are not seen: list such people with a local account.

use std::path::Path;

/// Name of the account with `uid`, from `/etc/passwd`.
pub fn account_of_uid(uid: u32) -> Option<String> {
    lookup(Path::new("/etc/passwd"), |fields| {
        (fields.get(2)?.parse::<u32>().ok()? == uid).then(|| fields[0].to_owned())
    })
}

/// Gid of the group named `name`, from `/etc/group`.
pub fn gid_of_group(name: &str) -> Option<u32> {
    lookup(Path::new("/etc/group"), |fields| {
        if fields.first()? == &name {
            fields.get(2)?.parse().ok()
        } else {
            None
        }
    })
}

fn lookup<T>(path: &Path, f: impl Fn(&[&str]) -> Option<T>) -> Option<T> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| f(&l.split(':').collect::<Vec<_>>()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_is_uid_zero() {
        assert_eq!(super::account_of_uid(0).as_deref(), Some("root"));
        assert_eq!(super::gid_of_group("root"), Some(0));
    }
}
