//! Which settings of a repository's own git config vibn's git will run with.
//!
//! The agent can write `.git/config` (its shell works in the repository), so the
//! repository's config is untrusted input. Many keys make git run a command (hooks,
//! `core.fsmonitor`, `filter.*`, `diff.external`, `core.sshCommand`, `gpg.program`…),
//! move the token (`http.proxy`, `credential.*`, `url.*.insteadOf`) or pull in other
//! files (`include.*`). vibn does not try to list every dangerous key — git grows new
//! ones — but accepts only keys known to be inert, and refuses to run git in a
//! repository with any other key, naming them. Global and system config are ignored
//! altogether (`GIT_CONFIG_GLOBAL=/dev/null`, `GIT_CONFIG_NOSYSTEM=1`).

/// `section.key` pairs (lowercase) that are inert.
const INERT_KEYS: &[&str] = &[
    "core.repositoryformatversion",
    "core.filemode",
    "core.bare",
    "core.logallrefupdates",
    "core.ignorecase",
    "core.precomposeunicode",
    "core.symlinks",
    "core.autocrlf",
    "core.eol",
    "core.safecrlf",
    "core.quotepath",
    "core.compression",
    "core.loosecompression",
    "core.bigfilethreshold",
    "core.checkstat",
    "core.trustctime",
    "core.abbrev",
    "core.whitespace",
    "core.commentchar",
    "core.commentstring",
    "core.sparsecheckout",
    "core.sparsecheckoutcone",
    "core.splitindex",
    "core.untrackedcache",
    "core.multipackindex",
    "core.commitgraph",
    "core.preloadindex",
    "core.excludesfile",
    "core.packedgitlimit",
    "core.packedgitwindowsize",
    "core.deltabasecachelimit",
    "core.warnambiguousrefs",
    "core.protecthfs",
    "core.protectntfs",
    "extensions.objectformat",
    "extensions.refstorage",
    "extensions.worktreeconfig",
    "extensions.preciousobjects",
    "extensions.partialclone",
    "extensions.noop",
    "push.default",
    "push.autosetupremote",
    "push.followtags",
    "merge.ff",
    "merge.conflictstyle",
    "merge.renames",
    "merge.renormalize",
    "merge.log",
    "merge.verbosity",
    "diff.renames",
    "diff.algorithm",
    "diff.mnemonicprefix",
    "diff.noprefix",
    "diff.colormoved",
    "diff.context",
    "diff.indentheuristic",
    "diff.renamelimit",
    "diff.statgraphwidth",
    "commit.cleanup",
    "commit.status",
    "commit.verbose",
    "commit.gpgsign",
    "tag.sort",
    "tag.gpgsign",
    "protocol.version",
];

/// Sections whose two-level keys (`section.key`) are all inert.
const INERT_SECTIONS: &[&str] = &[
    "user",
    "author",
    "committer",
    "init",
    "color",
    "advice",
    "i18n",
    "log",
    "status",
    "pull",
    "fetch",
    "pack",
    "index",
    "gc",
    "feature",
    "column",
    "blame",
    "grep",
    "help",
    "checkout",
    "clone",
    "rerere",
];

/// Keys of the sections above that are not inert after all.
const NOT_INERT_KEYS: &[&str] = &[
    // `git fetch` first downloads bundles from this URI, on any host (git_pull fetches).
    "fetch.bundleuri",
    "fetch.bundlecreationtoken",
];

/// Inert keys of `section.<name>.key` sections.
const INERT_SUBSECTION_KEYS: &[(&str, &[&str])] = &[
    (
        "remote",
        &[
            "url",
            "pushurl",
            "fetch",
            "push",
            "tagopt",
            "prune",
            "prunetags",
            "mirror",
            "skipdefaultupdate",
            "skipfetchall",
            "promisor",
            "partialclonefilter",
        ],
    ),
    (
        "branch",
        &["remote", "merge", "rebase", "pushremote", "description"],
    ),
    (
        "submodule",
        &[
            "url",
            "active",
            "branch",
            "ignore",
            "fetchrecursesubmodules",
            "shallow",
        ],
    ),
];

/// Sections that are inert at any depth (data for tools vibn never runs).
const INERT_ANY_DEPTH: &[&str] = &["lfs", "alias"];

/// True when git may run with `key` (as `git config --list` prints it) in the
/// repository's config.
pub fn is_inert(key: &str) -> bool {
    let Some((section, rest)) = key.split_once('.') else {
        return false;
    };
    let section = section.to_ascii_lowercase();
    if INERT_ANY_DEPTH.contains(&section.as_str()) {
        return true;
    }
    match rest.rsplit_once('.') {
        None => {
            let key = format!("{section}.{}", rest.to_ascii_lowercase());
            if NOT_INERT_KEYS.contains(&key.as_str()) {
                return false;
            }
            INERT_KEYS.contains(&key.as_str()) || INERT_SECTIONS.contains(&section.as_str())
        }
        Some((_subsection, variable)) => {
            let variable = variable.to_ascii_lowercase();
            INERT_SUBSECTION_KEYS
                .iter()
                .any(|(s, keys)| *s == section && keys.contains(&variable.as_str()))
        }
    }
}

/// The keys of `listing` (the output of `git config --list -z`: `key\nvalue\0` …)
/// that are not inert, in order and without repeats.
pub fn unsafe_keys(listing: &[u8]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let key_bytes = entry.split(|b| *b == b'\n').next().unwrap_or_default();
        let key = String::from_utf8_lossy(key_bytes).into_owned();
        if !is_inert(&key) && !found.iter().any(|k| k.eq_ignore_ascii_case(&key)) {
            found.push(key);
        }
    }
    found
}

/// The value of `key` (case-insensitive section and variable) in a `--list -z` listing.
pub fn value<'a>(listing: &'a [u8], key: &str) -> Option<&'a [u8]> {
    listing
        .split(|b| *b == 0)
        .filter_map(|entry| {
            let (k, v) = match entry.iter().position(|b| *b == b'\n') {
                Some(i) => (&entry[..i], &entry[i + 1..]),
                None => (entry, &b""[..]),
            };
            String::from_utf8_lossy(k)
                .eq_ignore_ascii_case(key)
                .then_some(v)
        })
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cloned_repositorys_config_is_inert() {
        let listing = b"core.repositoryformatversion\n0\0core.filemode\ntrue\0core.bare\nfalse\0\
core.logallrefupdates\ntrue\0remote.origin.url\nhttps://git.example.com/o/r.git\0\
remote.origin.fetch\n+refs/heads/*:refs/remotes/origin/*\0branch.main.remote\norigin\0\
branch.main.merge\nrefs/heads/main\0user.name\nA\0user.email\na@b\0";
        assert_eq!(unsafe_keys(listing), Vec::<String>::new());
    }

    #[test]
    fn keys_that_run_commands_or_move_the_token_are_not_inert() {
        for key in [
            "core.fsmonitor",
            "core.hooksPath",
            "core.sshCommand",
            "core.gitProxy",
            "core.askPass",
            "core.editor",
            "core.pager",
            "core.worktree",
            "core.attributesFile",
            "http.proxy",
            "http.https://git.example.com/.proxy",
            "http.sslVerify",
            "http.extraHeader",
            "https.proxy",
            "credential.helper",
            "credential.https://evil.example.username",
            "url.https://evil.example/.insteadOf",
            "url.x.pushInsteadOf",
            "include.path",
            "includeIf.gitdir:/x.path",
            "filter.lfs.clean",
            "filter.x.process",
            "diff.external",
            "diff.x.textconv",
            "diff.x.command",
            "merge.x.driver",
            "gpg.program",
            "gpg.ssh.program",
            "remote.origin.uploadpack",
            "remote.origin.receivepack",
            "remote.origin.proxy",
            "remote.origin.vcs",
            "submodule.x.update",
            "protocol.allow",
            "protocol.ext.allow",
            "sequence.editor",
            "trailer.x.command",
            "uploadpack.packObjectsHook",
            "fetch.bundleURI",
            "fetch.bundleCreationToken",
            "core",
            "",
        ] {
            assert!(!is_inert(key), "{key}");
        }
    }

    #[test]
    fn unsafe_keys_are_named_once_in_order() {
        let listing = b"http.proxy\nhttp://127.0.0.1:9\0core.fsmonitor\ntouch x\0\
remote.origin.pushurl\nhttps://h/o/a.git\0HTTP.proxy\nx\0";
        assert_eq!(unsafe_keys(listing), vec!["http.proxy", "core.fsmonitor"]);
    }

    #[test]
    fn the_last_value_of_a_key_is_read() {
        let listing = b"extensions.worktreeconfig\nfalse\0Extensions.WorktreeConfig\ntrue\0";
        assert_eq!(
            value(listing, "extensions.worktreeConfig"),
            Some(&b"true"[..])
        );
        assert_eq!(value(listing, "core.bare"), None);
    }
}
