//! Placeholder replaced by the in-memory fault-injecting file system (being written).

use super::{FileLock, FileSystem, RandomAccessFile, WritableFile};
use crate::Result;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Which operation a fault is injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultOp {
    Any,
}

/// The error an injected fault produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Eio,
    Enospc,
}

/// In-memory file system for crash and fault tests.
#[derive(Debug, Default)]
pub struct FaultFs;

impl FileSystem for FaultFs {
    fn create_dir_all(&self, _: &Path) -> Result<()> {
        unimplemented!()
    }
    fn create(&self, _: &Path) -> Result<Box<dyn WritableFile>> {
        unimplemented!()
    }
    fn open_random(&self, _: &Path) -> Result<Arc<dyn RandomAccessFile>> {
        unimplemented!()
    }
    fn open_sequential(&self, _: &Path) -> Result<Box<dyn Read + Send>> {
        unimplemented!()
    }
    fn rename(&self, _: &Path, _: &Path) -> Result<()> {
        unimplemented!()
    }
    fn remove(&self, _: &Path) -> Result<()> {
        unimplemented!()
    }
    fn remove_dir(&self, _: &Path) -> Result<()> {
        unimplemented!()
    }
    fn list(&self, _: &Path) -> Result<Vec<String>> {
        unimplemented!()
    }
    fn sync_dir(&self, _: &Path) -> Result<()> {
        unimplemented!()
    }
    fn exists(&self, _: &Path) -> bool {
        unimplemented!()
    }
    fn lock(&self, _: &Path) -> Result<Box<dyn FileLock>> {
        unimplemented!()
    }
}
