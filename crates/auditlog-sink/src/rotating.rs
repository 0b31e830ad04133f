//! A file that rotates by size, only ever between lines.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::owner_only;

/// Appends to `path`; once it holds `max_bytes` or more, the next line starts
/// a new file: `path` becomes `path.1`, `path.1` becomes `path.2`, ... and
/// the oldest beyond `keep` rotated files is deleted.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    size: u64,
    /// The last byte written ended a line, so rotating now splits none.
    at_line_start: bool,
    rotations: u64,
    /// The file may be new since the directory was last synced.
    dir_unsynced: bool,
}

impl RotatingFile {
    /// Opens `path` for appending (created owner-only), rotating as the type
    /// says.
    pub fn open(path: impl AsRef<Path>, max_bytes: u64, keep: usize) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = open(&path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path,
            max_bytes: max_bytes.max(1),
            keep: keep.max(1),
            file,
            size,
            at_line_start: true,
            rotations: 0,
            dir_unsynced: true,
        })
    }

    /// How many times the file was rotated since it was opened.
    pub fn rotations(&self) -> u64 {
        self.rotations
    }

    /// Makes every line written so far durable: fdatasyncs the current
    /// file and, when it may be new (just opened or rotated), its directory.
    /// Lines in rotated files were synced when they were rotated.
    pub fn sync_data(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        if self.dir_unsynced {
            owner_only::sync_dir(&owner_only::parent_dir(&self.path))?;
            self.dir_unsynced = false;
        }
        Ok(())
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.sync_all()?;
        let oldest = self.rotated(self.keep);
        if oldest.exists() {
            fs::remove_file(&oldest)?;
        }
        for n in (1..self.keep).rev() {
            let from = self.rotated(n);
            if from.exists() {
                fs::rename(&from, self.rotated(n + 1))?;
            }
        }
        fs::rename(&self.path, self.rotated(1))?;
        self.file = open(&self.path)?;
        self.size = 0;
        self.rotations += 1;
        self.dir_unsynced = true;
        Ok(())
    }
}

/// The live file, appended to: created `0600`, never through a symbolic
/// link, ours only (see [`owner_only`]).
fn open(path: &Path) -> io::Result<File> {
    owner_only::open(owner_only::options().create(true).append(true), path)
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size >= self.max_bytes && self.at_line_start && !buf.is_empty() {
            self.rotate()?;
        }
        let written = self.file.write(buf)?;
        if written > 0 {
            self.size += written as u64;
            self.at_line_start = buf[written - 1] == b'\n';
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_between_lines_and_keeps_the_newest_files() {
        let dir = std::env::temp_dir().join(format!("auditlog-rotate-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        let mut file = RotatingFile::open(&path, 100, 2).unwrap();
        for n in 0..30 {
            // 38-byte lines (three to a file), written in two pieces to split no line on rotation.
            let line = format!("{{\"n\":{n:04},\"pad\":\"xxxxxxxxxxxxxxxxxx\"}}\n");
            let (head, tail) = line.as_bytes().split_at(10);
            file.write_all(head).unwrap();
            file.write_all(tail).unwrap();
        }
        file.flush().unwrap();
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]);
        assert_eq!(file.rotations(), 9);
        let mut kept = Vec::new();
        for name in ["audit.jsonl.2", "audit.jsonl.1", "audit.jsonl"] {
            let text = fs::read_to_string(dir.join(name)).unwrap();
            for line in text.lines() {
                assert_eq!(line.len(), 37, "a whole line: {line}");
                kept.push(line[5..9].parse::<u32>().unwrap());
            }
        }
        // The newest lines, in order, none split or lost between the kept files.
        assert_eq!(kept, (21..30).collect::<Vec<_>>());
        fs::remove_dir_all(dir).unwrap();
    }
}
