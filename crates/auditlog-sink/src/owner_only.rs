//! Files and directories for audit data at rest: created readable by their
//! owner only, never opened through a symbolic link, and refused when they
//! are not a regular file (or a directory) of the running user.
//!
//! Audit lines, spool segments and exports hold what a service saw: other
//! local users must not read them, and must not be able to redirect them
//! (a symlink planted where a file is expected) or have them truncate a
//! file of their choosing. The JSON-lines sink, the Kafka spool and the
//! store's exports all open their files through here.
//!
//! On Unix:
//! - files are created `0600` and directories `0700` (before the umask,
//!   which can only take bits away);
//! - opening never follows a symbolic link in the last component of the
//!   path (`O_NOFOLLOW`): a link there is refused with an error saying so;
//! - a file that is not a regular file owned by the effective user is
//!   refused after it is opened and before anything is read, written or
//!   truncated;
//! - [`check_dir`] refuses a directory another user owns or that group or
//!   others can write to (they could plant or swap files in it).
//!
//! Elsewhere these are the plain `std::fs` operations.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Options that create a file `0600` and refuse a symbolic link in the
/// last component; add `read`, `write`, `append`, `create`... as needed,
/// then open with [`open`] (which checks what was opened). Never add
/// `truncate(true)`: truncate with [`File::set_len`] after [`open`] has
/// checked the file.
pub fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: a FIFO planted under the name must not block the open
        // (it has no effect on regular files).
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        options.mode(0o600).custom_flags(flags.bits() as i32);
    }
    options
}

/// Opens `path` with `options` (from [`options`]) and checks that it is a
/// regular file owned by the effective user; the errors name the path and
/// the problem.
pub fn open(options: &OpenOptions, path: &Path) -> io::Result<File> {
    let file = options.open(path).map_err(|error| opening(path, error))?;
    check_file(&file, path)?;
    Ok(file)
}

/// Checks that an open file is a regular file owned by the effective user.
pub fn check_file(file: &File, path: &Path) -> io::Result<()> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refused(path, "is not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(refused(
                path,
                &format!(
                    "is owned by uid {}, not by this process (uid {me})",
                    meta.uid()
                ),
            ));
        }
    }
    Ok(())
}

/// Makes `file` readable and writable by its owner only, if it was not:
/// for files created by an older version or by hand.
pub fn restrict(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Creates `dir` and its missing parents, `0700`, and syncs the directory
/// holding each new one, so that a crash cannot lose the entries (and what
/// is written in them afterwards). Whether `dir` was created.
pub fn create_dir_all(dir: &Path) -> io::Result<bool> {
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut at = Some(dir);
    while let Some(path) = at.filter(|p| !p.as_os_str().is_empty()) {
        match fs::symlink_metadata(path) {
            Ok(_) => break,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                missing.push(path.to_path_buf());
                at = path.parent();
            }
            Err(error) => return Err(error),
        }
    }
    if missing.is_empty() {
        return Ok(false);
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| annotate(dir, "cannot create", e))?;
    for created in missing.iter().rev() {
        sync_dir(&parent_dir(created))?;
    }
    Ok(true)
}

/// Refuses a directory (followed if a link: the administrator may have
/// placed it elsewhere) that is not owned by the effective user or that
/// group or others can write to; the error names the problem and the fix.
pub fn check_dir(dir: &Path) -> io::Result<()> {
    let meta = fs::metadata(dir).map_err(|e| annotate(dir, "cannot inspect", e))?;
    if !meta.is_dir() {
        return Err(refused(dir, "is not a directory"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(refused(
                dir,
                &format!(
                    "is owned by uid {}, not by this process (uid {me}): its owner could replace the files in it",
                    meta.uid()
                ),
            ));
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(refused(
                dir,
                &format!(
                    "is writable by {} (mode {mode:04o}): they could plant or swap files in it; `chmod 700` it",
                    if mode & 0o002 != 0 { "others" } else { "its group" }
                ),
            ));
        }
    }
    Ok(())
}

/// Makes the creation, renaming or removal of entries in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| annotate(dir, "cannot sync the directory", e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// An open error, saying so when it was a symbolic link `O_NOFOLLOW` refused.
fn opening(path: &Path, error: io::Error) -> io::Error {
    #[cfg(unix)]
    if error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        return refused(
            path,
            "is a symbolic link: audit files are never opened through one",
        );
    }
    annotate(path, "cannot open", error)
}

fn annotate(path: &Path, what: &str, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{what} {}: {error}", path.display()))
}

fn refused(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("refusing {}: it {why}", path.display()),
    )
}
