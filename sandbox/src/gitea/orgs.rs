//! Organization and team endpoints: `/orgs` (create, get), `/user/orgs`,
//! `/admin/users/{u}/orgs`, `/orgs/{org}/teams`, `/orgs/{org}/members/{u}` and
//! `/teams/{id}/…` (get, edit, members, add/remove member). Org repositories are in repos.rs.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::api::{Ep, Rq, doer, require_site_admin};
use super::convert::{org_json, team_json, user_json};
use super::http::{ApiErr, ApiResult, Paging, no_content, ok_json, paged_reply, required};
use super::seed::insert_org;
use super::state::{Account, GiteaState, Mode, Table, Team, UNIT_KEYS, Visibility};

/// `CreateOrgOption`.
#[derive(Debug, Deserialize)]
struct CreateOrg {
    username: Option<String>,
    full_name: Option<String>,
    description: Option<String>,
    email: Option<String>,
    website: Option<String>,
    location: Option<String>,
    visibility: Option<String>,
    repo_admin_change_team_access: Option<bool>,
}

/// `CreateTeamOption`.
#[derive(Debug, Deserialize)]
struct CreateTeam {
    name: Option<String>,
    description: Option<String>,
    permission: Option<String>,
    units: Option<Vec<String>>,
    units_map: Option<Map<String, Value>>,
    includes_all_repositories: Option<bool>,
    can_create_org_repo: Option<bool>,
}

fn create_org_for(state: &GiteaState, rq: &Rq, owner_id: i64) -> ApiResult {
    let form: CreateOrg = rq.body()?;
    let name = required("UserName", &form.username)?;
    let visibility = Visibility::parse(form.visibility.as_deref().unwrap_or_default())
        .ok_or_else(|| ApiErr::unprocessable("[Visibility]: In"))?;
    let mut d = state.data();
    let id = insert_org(&mut d, name, owner_id, visibility).map_err(ApiErr::unprocessable)?;
    let org = d
        .accounts
        .iter_mut()
        .find(|a| a.id == id)
        .ok_or_else(ApiErr::not_found)?;
    let set = |slot: &mut String, v: &Option<String>| *slot = v.clone().unwrap_or_default();
    set(&mut org.full_name, &form.full_name);
    set(&mut org.description, &form.description);
    set(&mut org.email, &form.email);
    set(&mut org.website, &form.website);
    set(&mut org.location, &form.location);
    org.repo_admin_change_team_access = form.repo_admin_change_team_access.unwrap_or(false);
    ok_json(201, org_json(org, &state.base_url))
}

/// `POST /orgs`: 201 Organization; the creator joins the Owners team; 422 name taken.
pub(crate) fn create(state: &GiteaState, rq: &Rq) -> ApiResult {
    let me = rq.signed()?;
    create_org_for(state, rq, me)
}

/// `POST /admin/users/{u}/orgs`: an org owned by `u`.
pub(crate) fn admin_create_for(state: &GiteaState, rq: &Rq) -> ApiResult {
    require_site_admin(state, rq)?;
    let owner = state
        .data()
        .account_by_name(rq.cap(0))
        .filter(|a| !a.is_org)
        .map(|a| a.id)
        .ok_or_else(ApiErr::not_found)?;
    create_org_for(state, rq, owner)
}

/// `orgAssignment`: the org named in capture `i`, 404 when missing or not visible.
pub(crate) fn visible_org(
    state: &GiteaState,
    rq: &Rq,
    i: usize,
) -> Result<(Account, Option<Account>), ApiErr> {
    let viewer = doer(state, rq);
    let d = state.data();
    let org = d
        .account_by_name(rq.cap(i))
        .filter(|a| a.is_org && d.owner_visible(a, viewer.as_ref()))
        .cloned()
        .ok_or_else(ApiErr::not_found)?;
    Ok((org, viewer))
}

/// `GET /orgs/{org}`.
pub(crate) fn get(state: &GiteaState, rq: &Rq) -> ApiResult {
    let (org, _) = visible_org(state, rq, 0)?;
    ok_json(200, org_json(&org, &state.base_url))
}

/// `GET /user/orgs`: orgs the doer belongs to, paged.
pub(crate) fn my_orgs(state: &GiteaState, rq: &Rq) -> ApiResult {
    let me = rq.signed()?;
    let d = state.data();
    let orgs: Vec<Value> = d
        .accounts
        .iter()
        .filter(|a| a.is_org && d.is_org_member(a.id, me))
        .map(|a| org_json(a, &state.base_url))
        .collect();
    let paging = Paging::from_query(&rq.query);
    let total = orgs.len();
    Ok(paged_reply(
        &rq.link_base(&state.base_url),
        total,
        paging,
        Value::from(paging.slice(&orgs)),
    ))
}

fn is_owner_or_admin(state: &GiteaState, org_id: i64, viewer: &Option<Account>) -> bool {
    viewer
        .as_ref()
        .is_some_and(|v| v.is_admin || state.data().is_org_owner(org_id, v.id))
}

/// `GET /orgs/{org}/teams`: org members and site admins only (403 otherwise).
pub(crate) fn teams(state: &GiteaState, rq: &Rq) -> ApiResult {
    let (org, viewer) = visible_org(state, rq, 0)?;
    let me = rq.signed()?;
    let d = state.data();
    if !viewer.as_ref().is_some_and(|v| v.is_admin) && !d.is_org_member(org.id, me) {
        return Err(ApiErr::forbidden("Must be an organization member"));
    }
    let list: Vec<Value> = d
        .teams
        .iter()
        .filter(|t| t.org_id == org.id)
        .map(|t| team_json(&d, t, &state.base_url))
        .collect();
    let paging = Paging::from_query(&rq.query);
    let total = list.len();
    Ok(paged_reply(
        &rq.link_base(&state.base_url),
        total,
        paging,
        Value::from(paging.slice(&list)),
    ))
}

/// `unit_model.MinUnitAccessMode`: the smallest mode above none (external units
/// ignored), none when all are none.
fn min_unit_mode(units: &[(String, Mode)]) -> Mode {
    units
        .iter()
        .filter(|(k, _)| k != "repo.ext_issues" && k != "repo.ext_wiki")
        .map(|(_, m)| *m)
        .filter(|m| *m > Mode::None)
        .min()
        .unwrap_or(Mode::None)
}

/// `POST /orgs/{org}/teams`: org owners only; 201 Team. Without `units`/`units_map` (and
/// below admin) Gitea answers 500 "units permission should not be empty".
pub(crate) fn team_create(state: &GiteaState, rq: &Rq) -> ApiResult {
    let (org, viewer) = visible_org(state, rq, 0)?;
    rq.signed()?;
    if !is_owner_or_admin(state, org.id, &viewer) {
        return Err(ApiErr::forbidden("Must be an organization owner"));
    }
    let form: CreateTeam = rq.body()?;
    let name = required("Name", &form.name)?;
    if !name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        return Err(ApiErr::unprocessable("[Name]: AlphaDashDot"));
    }
    let permission = form.permission.clone().unwrap_or_default();
    if !matches!(permission.as_str(), "" | "read" | "write" | "admin") {
        return Err(ApiErr::unprocessable("[Permission]: In"));
    }
    let units_map: Vec<(String, Mode)> = form
        .units_map
        .iter()
        .flatten()
        .filter(|(k, _)| UNIT_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), Mode::parse(v.as_str().unwrap_or_default())))
        .collect();
    let mut mode = Mode::parse(&permission);
    if mode < Mode::Admin && !units_map.is_empty() {
        mode = min_unit_mode(&units_map);
    }
    let units: Vec<(String, Mode)> = if mode >= Mode::Admin {
        admin_units()
    } else if !units_map.is_empty() {
        units_map
    } else if let Some(units) = form.units.as_ref().filter(|u| !u.is_empty()) {
        units
            .iter()
            .filter(|u| UNIT_KEYS.contains(&u.as_str()))
            .map(|u| (u.clone(), mode))
            .collect()
    } else {
        return Err(ApiErr::new(500, "units permission should not be empty"));
    };
    let mut d = state.data();
    if d.teams
        .iter()
        .any(|t| t.org_id == org.id && t.name.eq_ignore_ascii_case(name))
    {
        return Err(ApiErr::unprocessable(format!(
            "team already exists [org_id: {}, name: {name}]",
            org.id
        )));
    }
    let id = d.next_id(Table::Teams);
    let team = Team {
        id,
        org_id: org.id,
        name: name.to_string(),
        description: form.description.clone().unwrap_or_default(),
        mode,
        units,
        includes_all: form.includes_all_repositories.unwrap_or(false),
        can_create_org_repo: form.can_create_org_repo.unwrap_or(false),
        members: Vec::new(),
        repos: Vec::new(),
    };
    let body = team_json(&d, &team, &state.base_url);
    d.teams.push(team);
    ok_json(201, body)
}

/// `GET /orgs/{org}/members/{u}`: 204 member, 404 not (members and admins asking).
pub(crate) fn member_check(state: &GiteaState, rq: &Rq) -> ApiResult {
    let (org, viewer) = visible_org(state, rq, 0)?;
    let d = state.data();
    let asker_ok = viewer
        .as_ref()
        .is_some_and(|v| v.is_admin || d.is_org_member(org.id, v.id));
    let target = d.account_by_name(rq.cap(1)).ok_or_else(ApiErr::not_found)?;
    if asker_ok && d.is_org_member(org.id, target.id) {
        return no_content();
    }
    Err(ApiErr::not_found())
}

/// `orgAssignment(team)` + `reqToken` + `reqTeamMembership`: the team of capture 0;
/// 404 unknown team or outsider, 403 org member outside the team.
fn team_for(state: &GiteaState, rq: &Rq) -> Result<(Team, Account), ApiErr> {
    let team_id = rq.cap(0).parse::<i64>().unwrap_or(0);
    let team = state
        .data()
        .teams
        .iter()
        .find(|t| t.id == team_id)
        .cloned()
        .ok_or_else(ApiErr::not_found)?;
    rq.signed()?;
    let viewer = doer(state, rq).ok_or_else(ApiErr::not_found)?;
    let d = state.data();
    if viewer.is_admin
        || d.is_org_owner(team.org_id, viewer.id)
        || team.members.contains(&viewer.id)
    {
        return Ok((team, viewer));
    }
    if d.is_org_member(team.org_id, viewer.id) {
        return Err(ApiErr::forbidden("Must be a team member"));
    }
    Err(ApiErr::not_found())
}

/// `GET /teams/{id}`.
pub(crate) fn team_get(state: &GiteaState, rq: &Rq) -> ApiResult {
    let (team, _) = team_for(state, rq)?;
    let d = state.data();
    ok_json(200, team_json(&d, &team, &state.base_url))
}

/// `EditTeamOption` (every field optional).
#[derive(Debug, Deserialize)]
struct EditTeam {
    name: Option<String>,
    description: Option<String>,
    permission: Option<String>,
    units: Option<Vec<String>>,
    units_map: Option<Map<String, Value>>,
    includes_all_repositories: Option<bool>,
    can_create_org_repo: Option<bool>,
}

/// `PATCH /teams/{id}`: org owners and site admins; 200 Team. The Owners team keeps its
/// name and permission (Gitea ignores changes to them); units follow the same rules as
/// on creation.
pub(crate) fn team_edit(state: &GiteaState, rq: &Rq) -> ApiResult {
    let (team, viewer) = team_for(state, rq)?;
    if !viewer.is_admin && !state.data().is_org_owner(team.org_id, viewer.id) {
        return Err(ApiErr::forbidden("Must be an organization owner"));
    }
    let form: EditTeam = rq.body()?;
    let mut d = state.data();
    if let Some(name) = form.name.as_deref().filter(|_| team.mode != Mode::Owner) {
        if !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        {
            return Err(ApiErr::unprocessable("[Name]: AlphaDashDot"));
        }
        if d.teams.iter().any(|t| {
            t.org_id == team.org_id && t.id != team.id && t.name.eq_ignore_ascii_case(name)
        }) {
            return Err(ApiErr::unprocessable(format!(
                "team already exists [org_id: {}, name: {name}]",
                team.org_id
            )));
        }
    }
    let Some(t) = d.teams.iter_mut().find(|t| t.id == team.id) else {
        return Err(ApiErr::not_found());
    };
    if let Some(v) = form.includes_all_repositories {
        t.includes_all = v;
    }
    if let Some(v) = form.can_create_org_repo {
        t.can_create_org_repo = v;
    }
    if let Some(v) = &form.description {
        t.description = v.clone();
    }
    if t.mode != Mode::Owner {
        if let Some(name) = &form.name {
            t.name = name.clone();
        }
        let units_map: Vec<(String, Mode)> = form
            .units_map
            .iter()
            .flatten()
            .filter(|(k, _)| UNIT_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), Mode::parse(v.as_str().unwrap_or_default())))
            .collect();
        let mut mode = match form.permission.as_deref() {
            Some(p) => Mode::parse(p),
            None => t.mode,
        };
        if mode < Mode::Admin && !units_map.is_empty() {
            mode = min_unit_mode(&units_map);
        }
        if mode >= Mode::Admin {
            t.units = admin_units();
        } else if !units_map.is_empty() {
            t.units = units_map;
        } else if let Some(units) = form.units.as_ref().filter(|u| !u.is_empty()) {
            t.units = units
                .iter()
                .filter(|u| UNIT_KEYS.contains(&u.as_str()))
                .map(|u| (u.clone(), mode))
                .collect();
        } else if t.mode >= Mode::Admin && mode < Mode::Admin {
            t.units = t.units.iter().map(|(k, _)| (k.clone(), mode)).collect();
        }
        t.mode = mode;
    }
    let t = t.clone();
    ok_json(200, team_json(&d, &t, &state.base_url))
}

/// Every unit at admin (external units read): what an admin team gets.
fn admin_units() -> Vec<(String, Mode)> {
    UNIT_KEYS
        .iter()
        .map(|k| {
            let m = if k.contains(".ext_") {
                Mode::Read
            } else {
                Mode::Admin
            };
            (k.to_string(), m)
        })
        .collect()
}

/// `GET /teams/{id}/members`.
pub(crate) fn team_members(state: &GiteaState, rq: &Rq) -> ApiResult {
    let (team, viewer) = team_for(state, rq)?;
    let d = state.data();
    let users: Vec<Value> = team
        .members
        .iter()
        .filter_map(|id| d.account(*id))
        .map(|a| user_json(a, &state.base_url, Some(&viewer)))
        .collect();
    let paging = Paging::from_query(&rq.query);
    let total = users.len();
    Ok(paged_reply(
        &rq.link_base(&state.base_url),
        total,
        paging,
        Value::from(paging.slice(&users)),
    ))
}

/// `GET` (200 User / 404), `PUT` (204; org owners) and `DELETE` (204; org owners)
/// `/teams/{id}/members/{u}`.
pub(crate) fn team_member(state: &GiteaState, rq: &Rq, ep: Ep) -> ApiResult {
    let (team, viewer) = team_for(state, rq)?;
    let writes = matches!(ep, Ep::TeamMemberAdd | Ep::TeamMemberRemove);
    if writes && !viewer.is_admin && !state.data().is_org_owner(team.org_id, viewer.id) {
        return Err(ApiErr::not_found());
    }
    let mut d = state.data();
    let user = d
        .account_by_name(rq.cap(1))
        .filter(|a| !a.is_org)
        .cloned()
        .ok_or_else(ApiErr::not_found)?;
    let Some(t) = d.teams.iter_mut().find(|t| t.id == team.id) else {
        return Err(ApiErr::not_found());
    };
    match ep {
        Ep::TeamMemberAdd => {
            if !t.members.contains(&user.id) {
                t.members.push(user.id);
            }
            no_content()
        }
        Ep::TeamMemberRemove => {
            if t.mode == Mode::Owner && t.members.len() == 1 && t.members.contains(&user.id) {
                return Err(ApiErr::unprocessable("cannot remove the last owner"));
            }
            t.members.retain(|id| *id != user.id);
            no_content()
        }
        _ if t.members.contains(&user.id) => {
            ok_json(200, user_json(&user, &state.base_url, Some(&viewer)))
        }
        _ => Err(ApiErr::not_found()),
    }
}
