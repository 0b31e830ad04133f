//! Embeds the fixtures: writes `$OUT_DIR/fixture_files.rs`, a table of every
//! file of `fixtures/valid` and `fixtures/invalid` with its text
//! (`include_str!`), so the suite needs no files at run time and works in a
//! service's xtask outside this repository.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut table = String::from(
        "/// Every fixture file, as `(\"valid/NAME\" or \"invalid/NAME\", text)`, by name.\n\
         pub(crate) static FILES: &[(&str, &str)] = &[\n",
    );
    for kind in ["valid", "invalid"] {
        let dir = root.join("fixtures").join(kind);
        println!("cargo:rerun-if-changed={}", dir.display());
        for path in sorted_files(&dir) {
            let name = path.file_name().expect("a file").to_string_lossy();
            let path = path.to_str().expect("fixture paths are UTF-8");
            writeln!(
                table,
                "    ({:?}, include_str!({path:?})),",
                format!("{kind}/{name}")
            )
            .expect("writing to a String");
        }
    }
    table.push_str("];\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    fs::write(out.join("fixture_files.rs"), table).expect("writing OUT_DIR");
}

fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}
