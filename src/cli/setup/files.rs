//! How `vibn setup` reads and replaces a file it edits, safely: bounded reads of
//! regular files only, a symlink rule, a backup of the old content, an atomic write
//! (temporary file in the same folder + rename) with the mode the content calls for.
//!
//! The symlink rule: a file inside the project (which may come from someone else's
//! repository) must be a plain file in plain folders — a symlink there could point a
//! write at any file of the user's — so any symlink from the project folder down is
//! refused. A file in the user's own configuration (`~/.claude.json`, …) may be a
//! symlink (dotfile managers) to a regular file the user owns; the target is edited.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Largest file `vibn setup` reads (Claude Code's `~/.claude.json` grows large).
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Where a file lives, which decides the symlink rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Under this project folder: no symlinks at all from it down.
    Project(PathBuf),
    /// The user's own configuration: a symlink to a regular file the user owns is
    /// followed.
    User,
}

/// A file's current content (`None`: it does not exist) and the path to write.
#[derive(Debug)]
pub struct Existing {
    /// The path edits go to (a user file's symlink resolved).
    pub path: PathBuf,
    /// The current text, if the file exists.
    pub text: Option<String>,
    /// The current permission bits, if the file exists.
    pub mode: Option<u32>,
}

/// Refuse any symlink between `root` and `path` (inclusive), for paths inside `root`.
fn no_symlinks_below(root: &Path, path: &Path) -> anyhow::Result<()> {
    let rel = path.strip_prefix(root).with_context(|| {
        format!(
            "{} is outside the project {}",
            path.display(),
            root.display()
        )
    })?;
    let mut current = root.to_path_buf();
    for part in rel.components() {
        current.push(part);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => bail!(
                "{} is a symlink; vibn setup does not write through symlinks inside a project \
                 (it could point anywhere): replace it with a plain file or use --print",
                current.display()
            ),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot inspect {}", current.display()));
            }
        }
    }
    Ok(())
}

/// Read the file at `path` under the rule of `place`.
pub fn read(path: &Path, place: &Place) -> anyhow::Result<Existing> {
    let mut target = path.to_path_buf();
    match place {
        Place::Project(root) => no_symlinks_below(root, path)?,
        Place::User => {
            if let Ok(meta) = std::fs::symlink_metadata(path)
                && meta.file_type().is_symlink()
            {
                target = std::fs::canonicalize(path).with_context(|| {
                    format!("{} is a symlink to nothing (dangling)", path.display())
                })?;
            }
        }
    }
    let meta = match std::fs::metadata(&target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Existing {
                path: target,
                text: None,
                mode: None,
            });
        }
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", target.display())),
    };
    if !meta.file_type().is_file() {
        bail!(
            "{} is not a regular file; nothing was written",
            target.display()
        );
    }
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        bail!(
            "{} belongs to another user; nothing was written",
            target.display()
        );
    }
    if meta.len() > MAX_BYTES {
        bail!(
            "{} is larger than {} MiB; nothing was written",
            target.display(),
            MAX_BYTES / (1024 * 1024)
        );
    }
    let mut text = String::new();
    std::fs::File::open(&target)
        .and_then(|f| f.take(MAX_BYTES + 1).read_to_string(&mut text))
        .with_context(|| format!("cannot read {} as UTF-8 text", target.display()))?;
    Ok(Existing {
        path: target,
        text: Some(text),
        mode: Some(meta.permissions().mode() & 0o7777),
    })
}

/// The backup path for `path` at `stamp` (unix seconds): `<name>.vibn-backup-<stamp>`,
/// with a counter when that exists already.
fn backup_path(path: &Path, stamp: u64) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut candidate = path.with_file_name(format!("{name}.vibn-backup-{stamp}"));
    let mut n = 1;
    while candidate.exists() {
        candidate = path.with_file_name(format!("{name}.vibn-backup-{stamp}-{n}"));
        n += 1;
    }
    candidate
}

/// Write `text` to `existing.path` atomically: the old content (if any) first copied
/// to a backup with the old mode, then a temporary file in the same folder with `mode`
/// (0600 for anything holding a secret; otherwise the old mode, or 0644) renamed over
/// the file. Returns the backup's path.
pub fn replace(
    existing: &Existing,
    text: &str,
    secret: bool,
    place: &Place,
) -> anyhow::Result<Option<PathBuf>> {
    let path = &existing.path;
    let dir = path
        .parent()
        .with_context(|| format!("{} has no folder", path.display()))?;
    if let Place::Project(root) = place {
        no_symlinks_below(root, path)?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut backup = None;
    if let Some(old) = &existing.text {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let to = backup_path(path, stamp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&to)
            .with_context(|| format!("cannot create the backup {}", to.display()))?;
        f.set_permissions(std::fs::Permissions::from_mode(
            existing.mode.unwrap_or(0o600) & 0o777,
        ))?;
        f.write_all(old.as_bytes())?;
        f.sync_all()?;
        backup = Some(to);
    }
    let mode = if secret {
        0o600
    } else {
        existing.mode.unwrap_or(0o644) & 0o777
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".vibn-setup-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(backup)
}
