//! Where JSON lines go, and whether what was written there can be made
//! durable.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::owner_only::{parent_dir, sync_dir};

use crate::RotatingFile;

/// A destination for [`JsonLinesSink`](crate::JsonLinesSink) lines.
pub(crate) trait Output: Write + Send {
    /// Whether [`sync`](Self::sync) makes what was written durable.
    fn durable(&self) -> bool;

    /// Makes everything written so far durable (fdatasync). Only called
    /// when [`durable`](Self::durable).
    fn sync(&mut self) -> io::Result<()>;
}

/// Any writer (stdout, a pipe, a socket, a buffer): it cannot be synced,
/// even when it happens to be a file underneath.
pub(crate) struct AnyWriter<W>(pub(crate) W);

impl<W: Write> Write for AnyWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write + Send> Output for AnyWriter<W> {
    fn durable(&self) -> bool {
        false
    }

    fn sync(&mut self) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// A file the sink opened by path, so it knows the directory to sync too.
pub(crate) struct AppendFile {
    file: File,
    /// Synced with the first sync: the file may have just been created.
    unsynced_dir: Option<PathBuf>,
}

impl AppendFile {
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let file =
            crate::owner_only::open(crate::owner_only::options().create(true).append(true), path)?;
        Ok(AppendFile {
            file,
            unsynced_dir: Some(parent_dir(path)),
        })
    }
}

impl Write for AppendFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Output for AppendFile {
    fn durable(&self) -> bool {
        true
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        if let Some(dir) = &self.unsynced_dir {
            sync_dir(dir)?;
            self.unsynced_dir = None;
        }
        Ok(())
    }
}

impl Output for RotatingFile {
    fn durable(&self) -> bool {
        true
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}
