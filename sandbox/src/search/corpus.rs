//! The search sandbox's documents and how a query finds them: a built-in corpus of
//! short programming documents, tokenising, ranking and Brave's `<strong>` highlighting.
//! Pure functions over data; no HTTP, no locking.

use std::collections::HashSet;

/// One searchable document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Document {
    pub title: String,
    pub url: String,
    pub text: String,
    /// The SearXNG engine said to have found it (`engine`, `engines`).
    pub engine: String,
    /// The SearXNG category of that engine (`general` or `it`).
    pub category: String,
    /// Brave's `age` (absent for most documents and for added ones).
    pub age: Option<String>,
}

/// A document matched by a query, with its SearXNG-style score.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit<'a> {
    pub doc: &'a Document,
    pub score: f64,
}

/// Words ignored in queries unless the query has nothing else.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "do", "does", "for", "how", "i", "in", "is", "of", "on", "or", "the",
    "to", "what", "with",
];

/// `(title, url, text, engine, category, age)` of one built-in document.
type Seed = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

/// The built-in corpus.
const BUILTIN: &[Seed] = &[
    (
        "The Rust Programming Language",
        "https://doc.rust-lang.org/book/",
        "An introductory book about Rust: ownership, borrowing, lifetimes, traits, error handling with Result and fearless concurrency.",
        "duckduckgo",
        "general",
        Some("March 3, 2024"),
    ),
    (
        "Tokio - An asynchronous Rust runtime",
        "https://tokio.rs/",
        "Tokio is an event-driven, non-blocking I/O platform for writing asynchronous applications with Rust: tasks, timers, channels and async networking.",
        "duckduckgo",
        "general",
        None,
    ),
    (
        "axum - Rust web framework",
        "https://docs.rs/axum/latest/axum/",
        "axum is a web application framework for Rust built on Tokio, Tower and Hyper: routing, extractors, middleware and JSON responses.",
        "docs.rs",
        "it",
        None,
    ),
    (
        "Serde - serialization framework for Rust",
        "https://serde.rs/",
        "Serde is a framework for serializing and deserializing Rust data structures efficiently and generically, with derive macros for JSON, TOML and YAML.",
        "duckduckgo",
        "general",
        None,
    ),
    (
        "Error handling in Rust with thiserror and anyhow",
        "https://nick.groenen.me/posts/rust-error-handling/",
        "Libraries define typed error enums with thiserror; applications add context with anyhow. The question mark operator propagates errors.",
        "brave",
        "general",
        Some("June 12, 2023"),
    ),
    (
        "Cargo workspaces and features",
        "https://doc.rust-lang.org/cargo/reference/features.html",
        "Cargo features enable conditional compilation and optional dependencies; workspaces share one lockfile and target directory across crates.",
        "docs.rs",
        "it",
        None,
    ),
    (
        "asyncio - Asynchronous I/O in Python",
        "https://docs.python.org/3/library/asyncio.html",
        "asyncio is a Python library to write concurrent code using the async/await syntax: event loop, coroutines, tasks and streams.",
        "duckduckgo",
        "general",
        None,
    ),
    (
        "Python virtual environments with venv",
        "https://docs.python.org/3/library/venv.html",
        "The venv module creates lightweight virtual environments with their own Python packages, isolated from the system site directories.",
        "duckduckgo",
        "general",
        None,
    ),
    (
        "Goroutines and channels in Go",
        "https://go.dev/tour/concurrency/1",
        "A goroutine is a lightweight thread managed by the Go runtime. Channels let goroutines communicate and synchronize without explicit locks.",
        "google",
        "general",
        None,
    ),
    (
        "TypeScript handbook: generics",
        "https://www.typescriptlang.org/docs/handbook/2/generics.html",
        "Generics in TypeScript let functions, interfaces and classes work over many types while keeping type safety.",
        "google",
        "general",
        None,
    ),
    (
        "React hooks: useState and useEffect",
        "https://react.dev/reference/react/hooks",
        "Hooks let React function components use state and side effects. useEffect synchronizes a component with an external system.",
        "google",
        "general",
        Some("2 days ago"),
    ),
    (
        "Node.js event loop explained",
        "https://nodejs.org/en/learn/asynchronous-work/event-loop-timers-and-nexttick",
        "The Node.js event loop runs JavaScript callbacks in phases: timers, pending callbacks, poll, check and close callbacks.",
        "google",
        "general",
        None,
    ),
    (
        "Dockerfile best practices",
        "https://docs.docker.com/build/building/best-practices/",
        "Use multi-stage builds, small base images, a .dockerignore file and pinned versions to keep Docker images small, cacheable and secure.",
        "brave",
        "general",
        None,
    ),
    (
        "Kubernetes deployments",
        "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/",
        "A Kubernetes Deployment declares the desired state of pods and ReplicaSets and rolls out updates to containers gradually.",
        "google",
        "general",
        None,
    ),
    (
        "Git rebase versus merge",
        "https://git-scm.com/book/en/v2/Git-Branching-Rebasing",
        "git rebase replays commits on top of another branch for a linear history; git merge records a merge commit and keeps both histories.",
        "duckduckgo",
        "general",
        None,
    ),
    (
        "How to undo the most recent local commits in Git?",
        "https://stackoverflow.com/questions/927358/how-do-i-undo-the-most-recent-local-commits-in-git",
        "Use git reset --soft HEAD~1 to undo the last commit and keep the changes staged, or git revert to undo a commit that was already pushed.",
        "stackoverflow",
        "it",
        Some("August 2, 2022"),
    ),
    (
        "PostgreSQL indexes",
        "https://www.postgresql.org/docs/current/indexes.html",
        "PostgreSQL supports B-tree, hash, GiST, GIN and BRIN indexes. An index speeds up queries but slows down writes and uses disk space.",
        "google",
        "general",
        None,
    ),
    (
        "SQLite write-ahead logging",
        "https://www.sqlite.org/wal.html",
        "In WAL mode SQLite appends changes to a write-ahead log so that readers do not block writers and a writer does not block readers.",
        "duckduckgo",
        "general",
        None,
    ),
    (
        "HTTP caching",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Caching",
        "HTTP caching stores responses for reuse. Cache-Control, ETag and Last-Modified headers decide freshness and revalidation.",
        "mdn",
        "it",
        None,
    ),
    (
        "REST API design: status codes",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status",
        "HTTP status codes tell clients what happened: 200 OK, 201 Created, 400 Bad Request, 401 Unauthorized, 404 Not Found, 409 Conflict, 429 Too Many Requests.",
        "mdn",
        "it",
        None,
    ),
    (
        "GraphQL introduction",
        "https://graphql.org/learn/",
        "GraphQL is a query language for APIs: clients ask for exactly the fields they need, described by a typed schema.",
        "duckduckgo",
        "general",
        None,
    ),
    (
        "OAuth 2.0 authorization code flow",
        "https://oauth.net/2/grant-types/authorization-code/",
        "The authorization code grant exchanges a short-lived code for an access token; public clients add PKCE to protect the exchange.",
        "brave",
        "general",
        None,
    ),
    (
        "JSON Web Tokens",
        "https://en.wikipedia.org/wiki/JSON_Web_Token",
        "A JSON Web Token (JWT) carries signed claims in three base64url parts: header, payload and signature. Verify the signature and expiry.",
        "wikipedia",
        "general",
        None,
    ),
    (
        "WebAssembly",
        "https://en.wikipedia.org/wiki/WebAssembly",
        "WebAssembly is a portable binary instruction format for a stack-based virtual machine, a compilation target for Rust, C and C++ in the browser.",
        "wikipedia",
        "general",
        None,
    ),
    (
        "Unix signals: SIGTERM and SIGKILL",
        "https://man7.org/linux/man-pages/man7/signal.7.html",
        "Signals notify a process of events. SIGTERM asks a process to terminate gracefully; SIGKILL cannot be caught. Process groups receive signals together.",
        "duckduckgo",
        "general",
        None,
    ),
    (
        "Regular expressions quick reference",
        "https://www.regular-expressions.info/quickstart.html",
        "Regular expressions match text patterns with character classes, quantifiers, anchors, groups and alternation.",
        "duckduckgo",
        "general",
        None,
    ),
    (
        "Unit testing and test-driven development",
        "https://en.wikipedia.org/wiki/Unit_testing",
        "Unit tests check small pieces of code in isolation. Test-driven development writes a failing test first, then the code that makes it pass.",
        "wikipedia",
        "general",
        None,
    ),
    (
        "GitHub Actions workflow syntax",
        "https://docs.github.com/en/actions/using-workflows/workflow-syntax-for-github-actions",
        "A GitHub Actions workflow is a YAML file of jobs and steps triggered by events such as push and pull_request, for continuous integration.",
        "github",
        "it",
        None,
    ),
    (
        "Nginx as a reverse proxy",
        "https://docs.nginx.com/nginx/admin-guide/web-server/reverse-proxy/",
        "Nginx forwards requests to upstream servers with proxy_pass, sets headers such as X-Forwarded-For and terminates TLS.",
        "brave",
        "general",
        None,
    ),
    (
        "Redis data types",
        "https://redis.io/docs/latest/develop/data-types/",
        "Redis stores strings, lists, sets, hashes, sorted sets and streams in memory, used as a cache, message broker and database.",
        "google",
        "general",
        None,
    ),
    (
        "Model Context Protocol specification",
        "https://modelcontextprotocol.io/specification",
        "The Model Context Protocol (MCP) connects AI applications to tools and data over JSON-RPC: servers expose tools, resources and prompts.",
        "github",
        "it",
        Some("1 week ago"),
    ),
    (
        "Semantic Versioning 2.0.0",
        "https://semver.org/",
        "Semantic versioning uses MAJOR.MINOR.PATCH: increment MAJOR for incompatible API changes, MINOR for compatible features, PATCH for bug fixes.",
        "duckduckgo",
        "general",
        None,
    ),
];

/// The built-in corpus, in its fixed order.
pub(crate) fn builtin() -> Vec<Document> {
    BUILTIN
        .iter()
        .map(|(title, url, text, engine, category, age)| Document {
            title: title.to_string(),
            url: url.to_string(),
            text: text.to_string(),
            engine: engine.to_string(),
            category: category.to_string(),
            age: age.map(str::to_string),
        })
        .collect()
}

/// Whether `c` belongs to a word (`c++`, `c#` and `snake_case` stay whole).
fn word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '+' | '#' | '_')
}

/// The lowercase words of `text`.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !word_char(c))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The distinct words of a query that count, in query order: stop words are dropped
/// unless nothing else is left.
pub(crate) fn query_terms(query: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let all: Vec<String> = words(query)
        .into_iter()
        .filter(|w| seen.insert(w.clone()))
        .collect();
    let meaningful: Vec<String> = all
        .iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    if meaningful.is_empty() {
        all
    } else {
        meaningful
    }
}

/// The documents matching `terms` (any term as a whole word of the title or the text,
/// case-insensitive), best first: more distinct terms matched, then more occurrences
/// (a title occurrence counts twice), then corpus order. The score is the number of
/// distinct terms matched plus a fraction for the occurrences, so it falls with rank.
pub(crate) fn rank<'a>(docs: &'a [Document], terms: &[String]) -> Vec<Hit<'a>> {
    let mut scored: Vec<(usize, usize, usize, &Document)> = Vec::new();
    for (index, doc) in docs.iter().enumerate() {
        let title = words(&doc.title);
        let text = words(&doc.text);
        let mut matched = 0;
        let mut weight = 0;
        for term in terms {
            let in_title = title.iter().filter(|w| *w == term).count();
            let in_text = text.iter().filter(|w| *w == term).count();
            if in_title + in_text > 0 {
                matched += 1;
                weight += 2 * in_title + in_text;
            }
        }
        if matched > 0 {
            scored.push((matched, weight, index, doc));
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    scored
        .into_iter()
        .map(|(matched, weight, _, doc)| Hit {
            doc,
            score: matched as f64 + weight as f64 / (weight as f64 + 1.0),
        })
        .collect()
}

/// `text` with every word that is one of `terms` wrapped in `<strong>…</strong>`, as
/// Brave decorates descriptions unless `text_decorations=false`.
pub(crate) fn highlight(text: &str, terms: &[String]) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if terms.iter().any(|t| *t == word.to_lowercase()) {
            out.push_str("<strong>");
            out.push_str(word);
            out.push_str("</strong>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if word_char(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(q: &str) -> Vec<String> {
        query_terms(q)
    }

    #[test]
    fn builtin_corpus_has_about_thirty_distinct_urls() {
        let docs = builtin();
        assert!((28..=34).contains(&docs.len()), "{}", docs.len());
        let urls: HashSet<&str> = docs.iter().map(|d| d.url.as_str()).collect();
        assert_eq!(urls.len(), docs.len());
    }

    #[test]
    fn query_terms_drop_stop_words_and_duplicates_unless_nothing_is_left() {
        assert_eq!(terms("How to use Rust rust"), vec!["use", "rust"]);
        assert_eq!(terms("the of"), vec!["the", "of"]);
        assert_eq!(terms("C++ and C#"), vec!["c++", "c#"]);
        assert!(terms("  ").is_empty());
    }

    #[test]
    fn ranking_prefers_more_distinct_terms_then_more_occurrences() {
        let docs = builtin();
        let hits = rank(&docs, &terms("rust tokio"));
        assert_eq!(hits[0].doc.title, "Tokio - An asynchronous Rust runtime");
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(hits.iter().all(|h| {
            let t = format!("{} {}", h.doc.title, h.doc.text).to_lowercase();
            t.contains("rust") || t.contains("tokio")
        }));
    }

    #[test]
    fn matching_is_by_whole_word_and_case_insensitive() {
        let docs = builtin();
        assert!(rank(&docs, &terms("RUST")).len() > 3);
        assert!(rank(&docs, &terms("rus")).is_empty());
    }

    #[test]
    fn highlight_wraps_matching_words_only() {
        let t = terms("rust");
        assert_eq!(
            highlight("Rust, rustc and rust.", &t),
            "<strong>Rust</strong>, rustc and <strong>rust</strong>."
        );
    }
}
