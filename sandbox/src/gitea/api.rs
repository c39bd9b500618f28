//! The `/api/v1` front door: authentication, the account checks and Sudo that Gitea
//! applies to every API route, the route table (path → endpoint per method, with the
//! token-scope categories of its group), and the repository assignment shared by
//! `/repos/{owner}/{repo}/…` routes (rename redirects, visibility as 404, permissions).
//! Endpoint bodies live in users/orgs/repos/contents/issues.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use serde::de::DeserializeOwned;

use super::auth::{self, Auth};
use super::http::{
    ApiErr, ApiResult, LinkBase, Query, Reply, ok_json, parse_body, percent_decode, percent_encode,
};
use super::state::{Account, GiteaState, Mode, Perm};
use super::{branches, contents, files, issues, orgs, repos, users};

/// One endpoint (a handler), chosen by path and method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ep {
    Version,
    SettingsApi,
    AdminUsersList,
    AdminUserCreate,
    AdminUserEdit,
    AdminUserKeyCreate,
    AdminUserKeyDelete,
    AdminUserOrgCreate,
    Me,
    MyKeys,
    MyKeyCreate,
    MyRepos,
    MyRepoCreate,
    MyOrgs,
    UserGet,
    UserRepos,
    UserKeys,
    TokensList,
    TokenCreate,
    TokenDelete,
    TokenSelf,
    TokenSelfDelete,
    OrgCreate,
    OrgGet,
    OrgRepos,
    OrgRepoCreate,
    OrgTeams,
    OrgTeamCreate,
    OrgMemberCheck,
    TeamGet,
    TeamEdit,
    TeamMembers,
    TeamMemberGet,
    TeamMemberAdd,
    TeamMemberRemove,
    ReposSearch,
    IssuesSearch,
    RepoGet,
    RepoEdit,
    RepoDelete,
    ContentsList,
    ContentsGet,
    ContentsCreate,
    ContentsUpdate,
    ContentsDelete,
    ContentsChange,
    Raw,
    BranchesList,
    BranchCreate,
    BranchGet,
    BranchDelete,
    IssuesList,
    IssueCreate,
    IssueGet,
    IssueEdit,
    CommentsList,
    CommentCreate,
    LabelsList,
    LabelCreate,
    LabelGet,
}

/// A matched path: its endpoints per method, scope categories (checked one by one, group
/// first, like nested `tokenRequiresScopes`) and decoded captures.
struct Node {
    methods: Vec<(Method, Ep)>,
    cats: &'static [&'static str],
    caps: Vec<String>,
}

const NONE: &[&str] = &[];
const ADMIN: &[&str] = &["admin"];
const USER: &[&str] = &["user"];
const USER_REPO: &[&str] = &["user", "repository"];
const USER_ORG: &[&str] = &["user", "organization"];
const ORG: &[&str] = &["organization"];
const REPO: &[&str] = &["repository"];
const ISSUE: &[&str] = &["issue"];

fn route(s: &[&str]) -> Option<Node> {
    use Ep::*;
    let (get, post, put, patch, delete) = (
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    );
    let n = |methods: Vec<(Method, Ep)>, cats: &'static [&'static str], caps: &[&str]| {
        Some(Node {
            methods,
            cats,
            caps: caps.iter().map(|c| c.to_string()).collect(),
        })
    };
    match s {
        ["version"] => n(vec![(get, Version)], NONE, &[]),
        ["settings", "api"] => n(vec![(get, SettingsApi)], NONE, &[]),
        ["admin", "users"] => n(
            vec![(get, AdminUsersList), (post, AdminUserCreate)],
            ADMIN,
            &[],
        ),
        ["admin", "users", u] => n(vec![(patch, AdminUserEdit)], ADMIN, &[u]),
        ["admin", "users", u, "keys"] => n(vec![(post, AdminUserKeyCreate)], ADMIN, &[u]),
        ["admin", "users", u, "keys", id] => n(vec![(delete, AdminUserKeyDelete)], ADMIN, &[u, id]),
        ["admin", "users", u, "orgs"] => n(vec![(post, AdminUserOrgCreate)], ADMIN, &[u]),
        ["user"] => n(vec![(get, Me)], USER, &[]),
        ["user", "keys"] => n(vec![(get, MyKeys), (post, MyKeyCreate)], USER, &[]),
        ["user", "repos"] => n(vec![(get, MyRepos), (post, MyRepoCreate)], USER_REPO, &[]),
        ["user", "orgs"] => n(vec![(get, MyOrgs)], USER_ORG, &[]),
        ["users", u] => n(vec![(get, UserGet)], USER, &[u]),
        ["users", u, "repos"] => n(vec![(get, UserRepos)], USER_REPO, &[u]),
        ["users", u, "keys"] => n(vec![(get, UserKeys)], USER, &[u]),
        ["users", u, "tokens"] => n(vec![(get, TokensList), (post, TokenCreate)], USER, &[u]),
        ["users", u, "tokens", id] => n(vec![(delete, TokenDelete)], USER, &[u, id]),
        ["token"] => n(vec![(get, TokenSelf), (delete, TokenSelfDelete)], NONE, &[]),
        ["orgs"] => n(vec![(post, OrgCreate)], ORG, &[]),
        ["orgs", o] => n(vec![(get, OrgGet)], ORG, &[o]),
        ["orgs", o, "repos"] => n(vec![(get, OrgRepos), (post, OrgRepoCreate)], ORG, &[o]),
        ["orgs", o, "teams"] => n(vec![(get, OrgTeams), (post, OrgTeamCreate)], ORG, &[o]),
        ["orgs", o, "members", u] => n(vec![(get, OrgMemberCheck)], ORG, &[o, u]),
        ["teams", id] => n(vec![(get, TeamGet), (patch, TeamEdit)], ORG, &[id]),
        ["teams", id, "members"] => n(vec![(get, TeamMembers)], ORG, &[id]),
        ["teams", id, "members", u] => n(
            vec![
                (get, TeamMemberGet),
                (put, TeamMemberAdd),
                (delete, TeamMemberRemove),
            ],
            ORG,
            &[id, u],
        ),
        ["repos", "search"] => n(vec![(get, ReposSearch)], REPO, &[]),
        ["repos", "issues", "search"] => n(vec![(get, IssuesSearch)], ISSUE, &[]),
        ["repos", o, r] => n(
            vec![(get, RepoGet), (patch, RepoEdit), (delete, RepoDelete)],
            REPO,
            &[o, r],
        ),
        ["repos", o, r, "contents"] => n(
            vec![(get, ContentsList), (post, ContentsChange)],
            REPO,
            &[o, r],
        ),
        ["repos", o, r, "contents", rest @ ..] => n(
            vec![
                (get, ContentsGet),
                (post, ContentsCreate),
                (put, ContentsUpdate),
                (delete, ContentsDelete),
            ],
            REPO,
            &[o, r, &rest.join("/")],
        ),
        ["repos", o, r, "raw", rest @ ..] if !rest.is_empty() => {
            n(vec![(get, Raw)], REPO, &[o, r, &rest.join("/")])
        }
        ["repos", o, r, "branches"] => n(
            vec![(get, BranchesList), (post, BranchCreate)],
            REPO,
            &[o, r],
        ),
        ["repos", o, r, "branches", rest @ ..] if !rest.is_empty() => n(
            vec![(get, BranchGet), (delete, BranchDelete)],
            REPO,
            &[o, r, &rest.join("/")],
        ),
        ["repos", o, r, "issues"] => {
            n(vec![(get, IssuesList), (post, IssueCreate)], ISSUE, &[o, r])
        }
        ["repos", o, r, "issues", i] => {
            n(vec![(get, IssueGet), (patch, IssueEdit)], ISSUE, &[o, r, i])
        }
        ["repos", o, r, "issues", i, "comments"] => n(
            vec![(get, CommentsList), (post, CommentCreate)],
            ISSUE,
            &[o, r, i],
        ),
        ["repos", o, r, "labels"] => {
            n(vec![(get, LabelsList), (post, LabelCreate)], ISSUE, &[o, r])
        }
        ["repos", o, r, "labels", id] => n(vec![(get, LabelGet)], ISSUE, &[o, r, id]),
        _ => None,
    }
}

/// A request as handlers see it.
pub(crate) struct Rq {
    /// The path as sent (`/api/v1/…`).
    pub path: String,
    /// Raw (still escaped) segments after `/api/v1`.
    pub raw_segs: Vec<String>,
    /// Decoded path captures, in route order.
    pub caps: Vec<String>,
    pub query: Query,
    pub raw_query: String,
    pub body: Bytes,
    pub auth: Auth,
}

impl Rq {
    /// Capture `i` (empty when absent).
    pub(crate) fn cap(&self, i: usize) -> &str {
        self.caps.get(i).map(String::as_str).unwrap_or_default()
    }

    /// `reqToken()`: the signed-in user's id, else 401 "token is required".
    pub(crate) fn signed(&self) -> Result<i64, ApiErr> {
        self.auth
            .doer
            .ok_or_else(|| ApiErr::new(401, "token is required"))
    }

    /// Decode the JSON body (binding failures are 422).
    pub(crate) fn body<T: DeserializeOwned>(&self) -> Result<T, ApiErr> {
        parse_body(&self.body)
    }

    /// Where this request's `Link` URLs point.
    pub(crate) fn link_base<'a>(&'a self, base: &'a str) -> LinkBase<'a> {
        LinkBase {
            base,
            path: &self.path,
            query: &self.query,
        }
    }
}

/// The signed-in account (after Sudo), if any.
pub(crate) fn doer(state: &GiteaState, rq: &Rq) -> Option<Account> {
    rq.auth
        .doer
        .and_then(|id| state.data().account(id).cloned())
}

/// `reqToken()` + `reqSiteAdmin()`.
pub(crate) fn require_site_admin(state: &GiteaState, rq: &Rq) -> Result<Account, ApiErr> {
    rq.signed()?;
    match doer(state, rq) {
        Some(a) if a.is_admin => Ok(a),
        _ => Err(ApiErr::forbidden("user should be the site admin")),
    }
}

/// Handle one `/api/v1` request.
pub(crate) async fn handle(
    state: &Arc<GiteaState>,
    method: Method,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Reply {
    match dispatch(state, method, path, raw_query, headers, body).await {
        Ok(reply) => reply,
        Err(e) => e.into_reply(&state.base_url),
    }
}

async fn dispatch(
    state: &Arc<GiteaState>,
    method: Method,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult {
    let query = Query::parse(raw_query);
    let mut auth = auth::authenticate(state, &auth::credentials(headers))?;
    verify_account(state, &auth)?;
    apply_sudo(state, &mut auth, headers, &query)?;
    let rel = path.strip_prefix("/api/v1").unwrap_or_default();
    let raw_segs: Vec<String> = rel
        .strip_prefix('/')
        .unwrap_or(rel)
        .split('/')
        .map(str::to_string)
        .collect();
    let decoded: Vec<String> = raw_segs.iter().map(|s| percent_decode(s)).collect();
    let segs: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let node = route(&segs).ok_or_else(ApiErr::not_found)?;
    let lookup = if method == Method::HEAD {
        Method::GET
    } else {
        method.clone()
    };
    let Some(ep) = node
        .methods
        .iter()
        .find(|(m, _)| *m == lookup)
        .map(|(_, ep)| *ep)
    else {
        return Err(ApiErr::new(405, "method not allowed"));
    };
    let write = matches!(
        method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    for cat in node.cats {
        auth::check_scopes(&auth, write, &[cat])?;
    }
    let rq = Rq {
        path: path.to_string(),
        raw_segs,
        caps: node.caps,
        query,
        raw_query: raw_query.to_string(),
        body,
        auth,
    };
    call(ep, state, &rq).await
}

/// Refusals Gitea applies to every signed-in API call (`verifyAuthWithOptions`).
fn verify_account(state: &GiteaState, auth: &Auth) -> Result<(), ApiErr> {
    let Some(id) = auth.doer else {
        return Ok(());
    };
    let d = state.data();
    let Some(a) = d.account(id) else {
        return Err(auth::invalid_credentials());
    };
    if a.prohibit_login {
        return Err(ApiErr::bare(
            403,
            "This account is prohibited from signing in, please contact your site administrator.",
        ));
    }
    if a.must_change_password {
        return Err(ApiErr::bare(
            403,
            format!(
                "You must change your password. Change it at: {}/user/change_password",
                state.base_url
            ),
        ));
    }
    Ok(())
}

/// `sudo()`: a site admin may act as another user (`?sudo=` wins over the `Sudo`
/// header); token scopes and the Basic flag stay those of the admin's credential.
fn apply_sudo(
    state: &GiteaState,
    auth: &mut Auth,
    headers: &HeaderMap,
    query: &Query,
) -> Result<(), ApiErr> {
    let sudo = query
        .get("sudo")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| {
            headers
                .get("sudo")
                .and_then(|v| v.to_str().ok())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        });
    let Some(sudo) = sudo else {
        return Ok(());
    };
    let d = state.data();
    let is_admin = auth
        .doer
        .and_then(|id| d.account(id))
        .is_some_and(|a| a.is_admin);
    if !is_admin {
        return Err(ApiErr::bare(403, "Only administrators allowed to sudo."));
    }
    match d.account_by_name(&sudo).filter(|a| !a.is_org) {
        Some(target) => {
            auth.doer = Some(target.id);
            Ok(())
        }
        None => Err(ApiErr::not_found()),
    }
}

async fn call(ep: Ep, state: &Arc<GiteaState>, rq: &Rq) -> ApiResult {
    use Ep::*;
    match ep {
        Version => ok_json(200, serde_json::json!({ "version": super::GITEA_VERSION })),
        SettingsApi => ok_json(
            200,
            serde_json::json!({
                "max_response_items": super::http::MAX_RESPONSE_ITEMS,
                "default_paging_num": super::http::DEFAULT_PAGING_NUM,
                "default_git_trees_per_page": 1000,
                "default_max_blob_size": 10_485_760,
                "default_max_response_size": 52_428_800,
            }),
        ),
        AdminUsersList => users::admin_list(state, rq),
        AdminUserCreate => users::admin_create(state, rq),
        AdminUserEdit => users::admin_edit(state, rq),
        AdminUserKeyCreate => users::admin_key_create(state, rq),
        AdminUserKeyDelete => users::admin_key_delete(state, rq),
        AdminUserOrgCreate => orgs::admin_create_for(state, rq),
        Me => users::me(state, rq),
        MyKeys => users::my_keys(state, rq),
        MyKeyCreate => users::my_key_create(state, rq),
        MyRepos => repos::my_repos(state, rq),
        MyRepoCreate => repos::create_for_self(state, rq).await,
        MyOrgs => orgs::my_orgs(state, rq),
        UserGet => users::get(state, rq),
        UserRepos => repos::user_repos(state, rq),
        UserKeys => users::user_keys(state, rq),
        TokensList => users::tokens_list(state, rq),
        TokenCreate => users::token_create(state, rq),
        TokenDelete => users::token_delete(state, rq),
        TokenSelf => users::token_self(state, rq, false),
        TokenSelfDelete => users::token_self(state, rq, true),
        OrgCreate => orgs::create(state, rq),
        OrgGet => orgs::get(state, rq),
        OrgRepos => repos::org_repos(state, rq),
        OrgRepoCreate => repos::create_in_org(state, rq).await,
        OrgTeams => orgs::teams(state, rq),
        OrgTeamCreate => orgs::team_create(state, rq),
        OrgMemberCheck => orgs::member_check(state, rq),
        TeamGet => orgs::team_get(state, rq),
        TeamEdit => orgs::team_edit(state, rq),
        TeamMembers => orgs::team_members(state, rq),
        TeamMemberGet | TeamMemberAdd | TeamMemberRemove => orgs::team_member(state, rq, ep),
        ReposSearch => repos::search(state, rq),
        IssuesSearch => issues::search(state, rq),
        RepoGet => repos::get(state, rq),
        RepoEdit => repos::edit(state, rq).await,
        RepoDelete => repos::delete(state, rq).await,
        ContentsList | ContentsGet => contents::get(state, rq).await,
        ContentsCreate | ContentsUpdate | ContentsDelete => files::change_one(state, rq, ep).await,
        ContentsChange => files::change_many(state, rq).await,
        Raw => contents::raw(state, rq).await,
        BranchesList => branches::list(state, rq).await,
        BranchCreate => branches::create(state, rq).await,
        BranchGet => branches::get(state, rq).await,
        BranchDelete => branches::delete(state, rq).await,
        IssuesList => issues::list(state, rq),
        IssueCreate => issues::create(state, rq),
        IssueGet => issues::get(state, rq),
        IssueEdit => issues::edit(state, rq),
        CommentsList => issues::comments(state, rq),
        CommentCreate => issues::comment_create(state, rq),
        LabelsList => issues::labels(state, rq),
        LabelCreate => issues::label_create(state, rq),
        LabelGet => issues::label_get(state, rq),
    }
}

/// The repository a `/repos/{owner}/{repo}/…` request is about, with the doer's rights.
#[derive(Debug, Clone)]
pub(crate) struct RepoRef {
    pub id: i64,
    pub owner: String,
    pub name: String,
    pub dir: PathBuf,
    pub default_branch: String,
    pub archived: bool,
    pub perm: Perm,
}

impl RepoRef {
    pub(crate) fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// `mustNotBeArchived`: 423 on writes to an archived repository.
    pub(crate) fn not_archived(&self) -> Result<(), ApiErr> {
        if self.archived {
            return Err(ApiErr::new(
                423,
                format!("{} is archived", self.full_name()),
            ));
        }
        Ok(())
    }

    /// `reqRepoWriter(unit)`.
    pub(crate) fn writer(&self, unit_mode: Mode) -> Result<(), ApiErr> {
        if unit_mode >= Mode::Write || self.perm.is_admin() {
            return Ok(());
        }
        Err(ApiErr::forbidden(
            "user should have a permission to write to a repo",
        ))
    }

    /// `reqAdmin()`.
    pub(crate) fn admin(&self) -> Result<(), ApiErr> {
        if self.perm.is_admin() {
            return Ok(());
        }
        Err(ApiErr::forbidden(
            "user should be an owner or a collaborator with admin write of a repository",
        ))
    }
}

/// `repoAssignment()`: owner and repository by name (case-insensitive), 301 to the new
/// path after a rename (any method; the query is kept), 404 when missing or invisible;
/// a public-only token is refused on a private repository.
pub(crate) fn repo_ref(state: &GiteaState, rq: &Rq) -> Result<RepoRef, ApiErr> {
    let d = state.data();
    let doer = rq.auth.doer.and_then(|id| d.account(id));
    let owner = d.account_by_name(rq.cap(0)).ok_or_else(ApiErr::not_found)?;
    let repo = match d.repo_by_name(owner.id, rq.cap(1)) {
        Some(r) => r,
        None => {
            let target = d
                .redirect(owner.id, rq.cap(1))
                .ok_or_else(ApiErr::not_found)?;
            let mut segs = rq.raw_segs.clone();
            if let Some(s) = segs.get_mut(2) {
                *s = percent_encode(&target.name);
            }
            let mut location = format!("/api/v1/{}", segs.join("/"));
            if !rq.raw_query.is_empty() {
                location.push('?');
                location.push_str(&rq.raw_query);
            }
            return Err(ApiErr::Redirect(location));
        }
    };
    let perm = d.repo_perm(repo, doer);
    if !perm.has_access() {
        return Err(ApiErr::not_found());
    }
    if repo.private
        && rq
            .auth
            .token_scopes
            .as_deref()
            .is_some_and(auth::is_public_only)
    {
        return Err(ApiErr::forbidden("token scope is limited to public repos"));
    }
    Ok(RepoRef {
        id: repo.id,
        owner: owner.login.clone(),
        name: repo.name.clone(),
        dir: repo.dir.clone(),
        default_branch: repo.default_branch.clone(),
        archived: repo.archived,
        perm,
    })
}
