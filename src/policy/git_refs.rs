//! Branch names an agent may pass to git: what `git check-ref-format --branch` accepts,
//! and never anything git could read as an option.

use super::PolicyError;

/// Refuse a branch name git would reject or could mistake for an option.
pub fn check_branch(name: &str) -> Result<(), PolicyError> {
    let bad = |reason| {
        Err(PolicyError::BadBranch {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.starts_with('-') {
        return bad("it starts with '-'");
    }
    if name.len() > 200 {
        return bad("it is longer than 200 bytes");
    }
    if name
        .chars()
        .any(|c| c.is_ascii_control() || " ~^:?*[\\".contains(c))
    {
        return bad("it contains a space, control character or one of ~ ^ : ? * [ \\");
    }
    if name.contains("..") || name.contains("@{") || name.contains("//") {
        return bad("it contains '..', '@{' or '//'");
    }
    if name == "@" || name == "HEAD" {
        return bad("it names HEAD");
    }
    if name.starts_with('/') || name.ends_with('/') || name.ends_with('.') {
        return bad("it starts or ends with '/' or ends with '.'");
    }
    if name
        .split('/')
        .any(|part| part.starts_with('.') || part.ends_with(".lock"))
    {
        return bad("a component starts with '.' or ends with '.lock'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_branch_names_pass() {
        for name in [
            "main",
            "feature/login",
            "fix-123",
            "release/v1.2",
            "user/a_b",
        ] {
            assert!(check_branch(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn hostile_branch_names_are_refused() {
        for name in [
            "",
            "-f",
            "--force",
            "--upload-pack=touch /tmp/x",
            "a b",
            "a..b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "a@{1}",
            "@",
            "HEAD",
            "/a",
            "a/",
            "a.",
            ".hidden",
            "a/.b",
            "a.lock",
            "a//b",
            "a\nb",
            "a\0b",
        ] {
            assert!(check_branch(name).is_err(), "{name:?}");
        }
    }
}
