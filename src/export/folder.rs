//! The export folder on the drive, held by its file descriptor (issue 15): whoever can write
//! the drive cannot redirect the daemon's writes with symlinks.
//!
//! The folder is created by the daemon itself (`mkdirat`, which fails when the name exists,
//! symlink or not), opened with `O_DIRECTORY | O_NOFOLLOW`, and checked to be a directory on the
//! destination's filesystem. Every file is then created, read back, renamed and removed
//! relative to that descriptor: created with `O_CREAT | O_EXCL | O_NOFOLLOW` (a name planted by
//! someone else is refused, never followed), renamed with `RENAME_NOREPLACE`. Names are single
//! path components. [`ExportDir::create_in_export_dir`] is the one way to create a file there.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags, ResolveFlags};
use rustix::io::Errno;

use super::ExportError;

/// An export folder the daemon created, open by descriptor.
#[derive(Debug)]
pub struct ExportDir {
    fd: OwnedFd,
    path: PathBuf,
    /// The destination root and the folder's name in it, to remove the folder if it stays
    /// empty (a failed export).
    root: OwnedFd,
    name: String,
}

fn io(path: &Path, e: Errno) -> ExportError {
    ExportError::io(path, e.into())
}

/// A name the daemon writes in the folder: one component, nothing special.
fn check_name(name: &str) -> Result<(), ExportError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(ExportError::BadInput(format!(
            "`{name}` is not a file name inside the export folder"
        )));
    }
    Ok(())
}

impl ExportDir {
    /// Creates `name` in the destination `root` (a canonical directory) and opens it. Refused
    /// when `name` exists in any form (folder, file, symlink): the daemon writes only in a
    /// folder it made.
    pub fn create(root: &Path, name: &str) -> Result<ExportDir, ExportError> {
        check_name(name)?;
        // The root was canonicalized by the destination checks: no symlink may appear in it
        // since.
        let root_fd = rustix::fs::openat2(
            rustix::fs::CWD,
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::NO_SYMLINKS,
        )
        .map_err(|e| {
            if e == Errno::LOOP || e == Errno::NOTDIR {
                ExportError::Refused(format!(
                    "the destination {} changed since it was checked (a symlink appeared in \
                     its path): check the drive",
                    root.display()
                ))
            } else {
                io(root, e)
            }
        })?;
        let path = root.join(name);
        rustix::fs::mkdirat(&root_fd, name, Mode::from_raw_mode(0o700)).map_err(|e| {
            if e == Errno::EXIST {
                ExportError::Refused(format!(
                    "{} already exists (an earlier export of this case, or put there by someone \
                     else): scelle writes only into a folder it creates itself; export to \
                     another drive, or move that folder away after checking it",
                    path.display()
                ))
            } else {
                io(&path, e)
            }
        })?;
        let fd = rustix::fs::openat(
            &root_fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            ExportError::Refused(format!(
                "{} was replaced right after scelle created it ({e}): check the drive",
                path.display()
            ))
        })?;
        let (root_st, st) = (
            rustix::fs::fstat(&root_fd).map_err(|e| io(root, e))?,
            rustix::fs::fstat(&fd).map_err(|e| io(&path, e))?,
        );
        let is_dir = rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir();
        if !is_dir || st.st_dev != root_st.st_dev {
            return Err(ExportError::Refused(format!(
                "{} is not a directory on the destination drive: check the drive",
                path.display()
            )));
        }
        Ok(ExportDir {
            fd,
            path,
            root: root_fd,
            name: name.to_owned(),
        })
    }

    /// Removes the folder if it is empty (after a failed export removed its files), so a
    /// retry can create it again. Never follows a symlink put in its place.
    pub fn remove_if_empty(&self) -> bool {
        rustix::fs::unlinkat(&self.root, self.name.as_str(), AtFlags::REMOVEDIR).is_ok()
    }

    /// The folder's path, for messages and the register.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in the folder, for messages.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Creates the new file `name` (mode 0600) in the folder, for writing. Refused when the
    /// name exists, symlink included: never opens anything else than a file it just created.
    pub fn create_in_export_dir(&self, name: &str) -> Result<File, ExportError> {
        check_name(name)?;
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| io(&self.join(name), e))?;
        Ok(File::from(fd))
    }

    /// Opens `name` in the folder for reading, not through a symlink.
    pub fn open_read(&self, name: &str) -> Result<File, ExportError> {
        check_name(name)?;
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io(&self.join(name), e))?;
        Ok(File::from(fd))
    }

    /// Renames `from` to `to` inside the folder, never replacing an existing `to`, and makes
    /// the rename durable.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), ExportError> {
        check_name(from)?;
        check_name(to)?;
        let r = rustix::fs::renameat_with(&self.fd, from, &self.fd, to, RenameFlags::NOREPLACE);
        match r {
            // A filesystem without RENAME_NOREPLACE: check, then rename.
            Err(Errno::INVAL) | Err(Errno::NOSYS) | Err(Errno::OPNOTSUPP) => {
                if rustix::fs::statat(&self.fd, to, AtFlags::SYMLINK_NOFOLLOW).is_ok() {
                    return Err(io(&self.join(to), Errno::EXIST));
                }
                rustix::fs::renameat(&self.fd, from, &self.fd, to)
                    .map_err(|e| io(&self.join(to), e))?;
            }
            r => r.map_err(|e| io(&self.join(to), e))?,
        }
        let _ = rustix::fs::fsync(&self.fd);
        Ok(())
    }

    /// Removes `name` from the folder (a symlink planted there is removed, not followed).
    pub fn remove(&self, name: &str) -> Result<(), ExportError> {
        check_name(name)?;
        rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()).map_err(|e| io(&self.join(name), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_an_existing_folder_and_planted_symlinks() {
        let root = tempfile::tempdir().unwrap();
        let root_path = std::fs::canonicalize(root.path()).unwrap();
        let outside = root_path.join("register.sqlite");
        std::fs::write(&outside, b"precious").unwrap();

        // The folder exists already (here: a symlink to elsewhere): refused.
        std::os::unix::fs::symlink(&root_path, root_path.join("PV_1")).unwrap();
        let e = ExportDir::create(&root_path, "PV_1").unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");

        let dir = ExportDir::create(&root_path, "PV_2").unwrap();
        // A name planted as a symlink after creation is refused, not followed.
        std::os::unix::fs::symlink(&outside, root_path.join("PV_2/README.txt")).unwrap();
        assert!(dir.create_in_export_dir("README.txt").is_err());
        assert!(dir.open_read("README.txt").is_err());
        assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
        // Rename never replaces.
        use std::io::Write;
        dir.create_in_export_dir("a.partial")
            .unwrap()
            .write_all(b"x")
            .unwrap();
        assert!(dir.rename("a.partial", "README.txt").is_err());
        dir.rename("a.partial", "a").unwrap();
        dir.remove("README.txt").unwrap();
        assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
        assert!(!dir.remove_if_empty(), "not empty");
        dir.remove("a").unwrap();
        assert!(dir.remove_if_empty());
        assert!(!root_path.join("PV_2").exists());
        assert!(dir.create_in_export_dir("../x").is_err());
        assert!(ExportDir::create(&root_path, "..").is_err());
    }
}
