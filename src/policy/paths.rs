//! Lexical path confinement: turn a path from a model into a path relative to the
//! workspace root, or refuse it.
//!
//! This is the first of two fences. It rejects NUL bytes, absolute paths outside the
//! root and `..` that climbs above it, without touching the filesystem. The second
//! fence, against symlinks and races, is the `cap-std` directory handle used by
//! `api::workspace_api`, which resolves every path beneath the root's file descriptor.

use std::path::{Component, Path, PathBuf};

use super::PolicyError;

/// Resolve `user_path` lexically against the workspace root.
///
/// `roots` are the spellings of the root an absolute path may start with (the path as
/// configured and its canonical form: on some systems `/tmp` is `/private/tmp`).
/// Returns the normalized relative path; an empty path means the root itself.
pub fn confine(roots: &[&Path], user_path: &str) -> Result<PathBuf, PolicyError> {
    if user_path.contains('\0') {
        return Err(PolicyError::NulInPath {
            path: user_path.replace('\0', "\\0"),
        });
    }
    let outside = || PolicyError::OutsideRoot {
        path: user_path.to_string(),
    };
    let path = Path::new(user_path);
    let relative = if path.is_absolute() {
        roots
            .iter()
            .find_map(|root| strip_root(path, root))
            .ok_or_else(outside)?
    } else {
        path.to_path_buf()
    };
    let mut normal = PathBuf::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) if part.len() > MAX_NAME_BYTES => {
                return Err(PolicyError::NameTooLong {
                    path: user_path.to_string(),
                    limit: MAX_NAME_BYTES,
                });
            }
            Component::Normal(part) => normal.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !normal.pop() {
                    return Err(outside());
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err(outside()),
        }
    }
    Ok(normal)
}

/// Longest file name (one path component) the filesystems vibn runs on accept.
pub const MAX_NAME_BYTES: usize = 255;

/// Refuse a write to `relative` inside git's own metadata (a `.git` component, any
/// case): the agent changes a repository through `git_commit_and_push`, and a
/// writable `.git/config` or hook would let file writes steer vibn's git.
pub fn check_not_git_metadata(relative: &Path) -> Result<(), PolicyError> {
    let inside_git = relative.components().any(|c| match c {
        Component::Normal(part) => part
            .to_str()
            .is_some_and(|p| p.eq_ignore_ascii_case(".git")),
        _ => false,
    });
    if inside_git {
        return Err(PolicyError::GitMetadata {
            path: display(relative),
        });
    }
    Ok(())
}

/// `path` relative to `root` when `path` lies under it, comparing whole components.
fn strip_root(path: &Path, root: &Path) -> Option<PathBuf> {
    // Normalize the absolute path first so `/root/../etc` cannot pass as under `/root`.
    let mut stack: Vec<Component> = Vec::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if stack.len() > 1 {
                    stack.pop();
                }
            }
            Component::CurDir => {}
            other => stack.push(other),
        }
    }
    let normalized: PathBuf = stack.iter().collect();
    normalized.strip_prefix(root).ok().map(Path::to_path_buf)
}

/// A relative path as the model should see it: `/`-separated, `.` for the root.
pub fn display(relative: &Path) -> String {
    if relative.as_os_str().is_empty() {
        ".".to_string()
    } else {
        relative.to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "/srv/ws";

    fn confine_one(p: &str) -> Result<PathBuf, PolicyError> {
        confine(&[Path::new(ROOT), Path::new("/private/srv/ws")], p)
    }

    #[test]
    fn accepted_paths_normalize_beneath_the_root() {
        let table = [
            ("a.txt", "a.txt"),
            ("./src/main.rs", "src/main.rs"),
            ("src/../README.md", "README.md"),
            ("src/./lib/../mod.rs", "src/mod.rs"),
            ("", ""),
            (".", ""),
            ("/srv/ws", ""),
            ("/srv/ws/src/a.rs", "src/a.rs"),
            ("/private/srv/ws/b", "b"),
            ("/srv/ws/x/../y", "y"),
            ("dir/", "dir"),
            ("~/notes", "~/notes"),
        ];
        for (input, want) in table {
            assert_eq!(
                confine_one(input),
                Ok(PathBuf::from(want)),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn hostile_paths_are_refused() {
        let table = [
            "..",
            "../etc/passwd",
            "a/../../b",
            "/etc/passwd",
            "/srv/wsx/file",
            "/srv/ws/../etc/passwd",
            "/srv/ws/../../srv/other",
            "/srv",
            "/",
            "./../ws/a",
        ];
        for input in table {
            assert_eq!(
                confine_one(input),
                Err(PolicyError::OutsideRoot {
                    path: input.to_string()
                }),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn nul_bytes_are_refused() {
        for input in ["a\0b", "\0", "/srv/ws/a\0"] {
            assert!(
                matches!(confine_one(input), Err(PolicyError::NulInPath { .. })),
                "{input:?}"
            );
        }
    }

    #[test]
    fn display_shows_the_root_as_a_dot() {
        assert_eq!(display(Path::new("")), ".");
        assert_eq!(display(Path::new("src/a.rs")), "src/a.rs");
    }
}
