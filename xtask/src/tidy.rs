//! Source rules no compiler checks, enforced by `cargo test -p xtask`.

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::project_root;

    /// Ways of taking a lock that panic when it is poisoned.
    const PANICKING_LOCKS: &[&str] = &[
        ".lock().unwrap()",
        ".lock().expect(",
        ".read().unwrap()",
        ".write().unwrap()",
    ];

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// One policy for poisoned locks across the workspace: a panic under a
    /// lock must not make every later use of it panic too (auditing would
    /// stop for the life of the process). Library code recovers the guard
    /// with `PoisonError::into_inner`; test code may unwrap.
    #[test]
    fn library_code_never_panics_on_a_poisoned_lock() {
        let mut files = Vec::new();
        for krate in std::fs::read_dir(project_root().join("crates"))
            .unwrap()
            .flatten()
        {
            rust_files(&krate.path().join("src"), &mut files);
        }
        let mut found = Vec::new();
        for file in files {
            let name = file.file_name().unwrap().to_string_lossy();
            if name == "tests.rs" || name == "proptests.rs" {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            // Unit tests sit at the end of the file, after `#[cfg(test)]`.
            let library = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (number, line) in (1..).zip(library.lines()) {
                if PANICKING_LOCKS.iter().any(|p| line.contains(p)) {
                    found.push(format!("{}:{number}: {}", file.display(), line.trim()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "locks that panic when poisoned (use `.lock().unwrap_or_else(PoisonError::into_inner)` \
             or the crate's `lock()` helper):\n{}",
            found.join("\n")
        );
    }
}
