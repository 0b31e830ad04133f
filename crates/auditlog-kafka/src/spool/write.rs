//! `append`: one write per record to the active segment, rolling to a new
//! segment when it is full.

use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::Ordering::Release;
use std::sync::Arc;

use super::record::{self, HEADER_LEN, MAX_BODY};
use super::segment;
use super::{AppendError, SpoolCore};
use crate::lock::lock;

/// The active segment, as the appender sees it.
#[derive(Debug)]
pub(super) struct Writer {
    pub(super) file: Arc<File>,
    pub(super) first: u64,
    pub(super) len: u64,
    pub(super) next_seq: u64,
    buf: Vec<u8>,
    /// A failed write could not be undone: the next append rolls.
    broken: bool,
    /// Test hook: the next write stops after this many bytes, as a full disk would.
    #[cfg(test)]
    pub(super) fail_after: Option<usize>,
}

impl Writer {
    pub(super) fn new(file: Arc<File>, first: u64, len: u64, next_seq: u64) -> Self {
        Writer {
            file,
            first,
            len,
            next_seq,
            buf: Vec::new(),
            broken: false,
            #[cfg(test)]
            fail_after: None,
        }
    }

    fn write(&mut self) -> io::Result<()> {
        #[cfg(test)]
        if let Some(n) = self.fail_after.take() {
            (&*self.file).write_all(&self.buf[..n.min(self.buf.len())])?;
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "no space left on device (simulated)",
            ));
        }
        (&*self.file).write_all(&self.buf)
    }

    /// Cuts what a failed write left, so the segment stays a sequence of
    /// whole records.
    fn undo(&mut self) {
        if let Err(error) = self.file.set_len(self.len) {
            tracing::error!(
                target: "auditlog_kafka",
                "audit spool: cannot cut a failed write from segment {}: {error}; starting a new segment",
                self.first,
            );
            self.broken = true;
        }
    }
}

impl SpoolCore {
    pub(super) fn append(
        &self,
        key: Option<&[u8]>,
        payload: &[u8],
        sent: bool,
    ) -> Result<u64, AppendError> {
        let body = record::body_len(key, payload);
        if body > MAX_BODY {
            return Err(invalid(format!(
                "an audit record of {body} bytes is over the spool's limit of {MAX_BODY} bytes"
            )));
        }
        let bytes = (HEADER_LEN + body) as u64;
        let max = self.config.max_bytes_limit();
        if bytes > max {
            return Err(invalid(format!(
                "an audit record of {bytes} bytes can never fit in a spool of {max} bytes"
            )));
        }
        let mut writer = lock(&self.writer);
        // Only appends (under `writer`) make `bytes` grow.
        if self.state().bytes + bytes > max {
            return Err(AppendError::Full);
        }
        let segment_bytes = self.config.segment_bytes_limit();
        if writer.broken || (writer.len > 0 && writer.len + bytes > segment_bytes) {
            self.roll(&mut writer).map_err(AppendError::Io)?;
        }
        let seq = writer.next_seq;
        let Writer { buf, .. } = &mut *writer;
        record::encode(buf, seq, key, payload);
        if let Err(error) = writer.write() {
            writer.undo();
            return Err(AppendError::Io(error));
        }
        writer.len += bytes;
        writer.next_seq += 1;
        self.state().appended(seq, bytes, writer.len, sent);
        self.written.store(seq, Release);
        Ok(seq)
    }

    /// Finishes the active segment (fdatasynced: one sync of the active
    /// segment then covers every earlier record) and starts the next.
    fn roll(&self, writer: &mut Writer) -> io::Result<()> {
        let dir = self.config.dir();
        if writer.next_seq == writer.first {
            // Nothing in it: a broken empty segment is emptied again.
            writer.file.set_len(0)?;
            writer.len = 0;
            writer.broken = false;
            return Ok(());
        }
        self.sync_done(writer.next_seq - 1, writer.file.sync_data());
        let file = Arc::new(segment::create(dir, writer.next_seq)?);
        *writer = Writer::new(file.clone(), writer.next_seq, 0, writer.next_seq);
        self.state().rolled(writer.first, file);
        Ok(())
    }
}

fn invalid(message: String) -> AppendError {
    AppendError::Io(io::Error::new(io::ErrorKind::InvalidInput, message))
}
