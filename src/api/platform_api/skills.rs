//! `list_skills` and `get_skill`: skills are folders holding a `SKILL.md` whose YAML
//! front matter has `name` and `description`. They come from a local folder
//! (`VIBN_SKILLS_DIR`) or from the workspace's skills repository in Gitea
//! (`VIBN_SKILLS_REPO`, default `<org>/skills`). A malformed skill is reported with its
//! path and reason and never hides the others.

use base64::Engine as _;
use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use yaml_rust2::parser::{Event, EventReceiver, Parser};
use yaml_rust2::{Yaml, YamlLoader};

use super::PlatformApi;
use crate::api::caller::Caller;
use crate::clients::gitea::{ContentsAnswer, GiteaClient};
use crate::error::{ApiError, quote};
use crate::policy::{protected, repo_ref};

/// Largest SKILL.md read.
const MAX_SKILL_BYTES: usize = 256 * 1024;
/// Skill folders read at once from Gitea.
const FAN_OUT: usize = 8;

/// Parameters of `list_skills` (none).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListSkillsParams {}

/// A skill.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SkillSummary {
    /// Its name (front matter).
    pub name: String,
    /// What it is for (front matter).
    pub description: String,
    /// Its folder.
    pub path: String,
}

/// A skill that could not be read.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MalformedSkill {
    /// Its folder.
    pub path: String,
    /// Why it is unusable.
    pub reason: String,
}

/// The skills available.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListSkillsOut {
    /// Where they come from (`dir:<path>` or `gitea:<owner/name>`).
    pub source: String,
    /// Usable skills, by name.
    pub skills: Vec<SkillSummary>,
    /// Skills that are malformed, with the reason.
    pub malformed: Vec<MalformedSkill>,
}

/// Parameters of `get_skill`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetSkillParams {
    /// The skill's name (or its folder's name).
    pub name: String,
}

/// A skill's full instructions.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GetSkillOut {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Its folder.
    pub path: String,
    /// The whole SKILL.md.
    pub content: String,
    /// Other files in the folder.
    pub files: Vec<String>,
}

/// One skill folder as read: its SKILL.md (or why it could not be read) and its files.
struct Folder {
    path: String,
    skill_md: Result<String, String>,
    files: Vec<String>,
}

enum Source<'a> {
    Dir(&'a std::path::Path),
    Repo {
        client: GiteaClient,
        owner: String,
        name: String,
    },
}

impl Source<'_> {
    fn label(&self) -> String {
        match self {
            Source::Dir(p) => format!("dir:{}", p.display()),
            Source::Repo { owner, name, .. } => format!("gitea:{owner}/{name}"),
        }
    }
}

/// Largest front matter block read (name and description need far less).
const MAX_FRONT_MATTER_BYTES: usize = 16 * 1024;

/// Counts the alias events of a YAML stream.
struct AliasCount(usize);

impl EventReceiver for AliasCount {
    fn on_event(&mut self, event: Event) {
        if matches!(event, Event::Alias(_)) {
            self.0 += 1;
        }
    }
}

/// `name` and `description` from a SKILL.md's front matter.
pub(crate) fn parse_front_matter(text: &str) -> Result<(String, String), String> {
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return Err("SKILL.md does not start with a '---' front matter block".into());
    }
    let mut yaml = String::new();
    let mut closed = false;
    for line in lines {
        if matches!(line.trim_end(), "---" | "...") {
            closed = true;
            break;
        }
        yaml.push_str(line);
        yaml.push('\n');
    }
    if !closed {
        return Err("the front matter block is not closed with '---'".into());
    }
    if yaml.len() > MAX_FRONT_MATTER_BYTES {
        return Err(format!(
            "the front matter is {} bytes; at most {MAX_FRONT_MATTER_BYTES} are read",
            yaml.len()
        ));
    }
    // Aliases are refused before the document is built: the loader expands each one by
    // copying, so a few nested aliases in a few hundred bytes cost gigabytes.
    let mut aliases = AliasCount(0);
    Parser::new_from_str(&yaml)
        .load(&mut aliases, false)
        .map_err(|e| format!("front matter is not valid YAML: {e}"))?;
    if aliases.0 > 0 {
        return Err("front matter uses YAML aliases (*name); write the values out".into());
    }
    let docs = YamlLoader::load_from_str(&yaml)
        .map_err(|e| format!("front matter is not valid YAML: {e}"))?;
    let doc = docs.first().cloned().unwrap_or(Yaml::Null);
    if !matches!(doc, Yaml::Hash(_)) {
        return Err("front matter is not a mapping of keys to values".into());
    }
    let field = |key: &str| -> Result<String, String> {
        match &doc[key] {
            Yaml::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Yaml::BadValue => Err(format!("front matter has no '{key}'")),
            _ => Err(format!("front matter '{key}' must be a non-empty string")),
        }
    };
    Ok((field("name")?, field("description")?))
}

impl PlatformApi {
    /// The skills available to this workspace.
    pub async fn list_skills(
        &self,
        caller: &Caller,
        _p: ListSkillsParams,
    ) -> Result<ListSkillsOut, ApiError> {
        let source = self.skills_source(caller).await?;
        let folders = self.folders(&source).await?;
        let mut skills = Vec::new();
        let mut malformed = Vec::new();
        for folder in folders {
            match folder.skill_md.and_then(|text| parse_front_matter(&text)) {
                Ok((name, description)) => skills.push(SkillSummary {
                    name,
                    description,
                    path: folder.path,
                }),
                Err(reason) => malformed.push(MalformedSkill {
                    path: folder.path,
                    reason,
                }),
            }
        }
        skills.sort_by(|a, b| a.name.cmp(&b.name));
        malformed.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(ListSkillsOut {
            source: source.label(),
            skills,
            malformed,
        })
    }

    /// One skill's full SKILL.md and the names of its other files.
    pub async fn get_skill(
        &self,
        caller: &Caller,
        p: GetSkillParams,
    ) -> Result<GetSkillOut, ApiError> {
        super::limits::check(&p)?;
        let wanted = p.name.trim();
        if wanted.is_empty() {
            return Err(ApiError::bad_request("name must not be empty"));
        }
        let source = self.skills_source(caller).await?;
        let folders = self.folders(&source).await?;
        let mut names = Vec::new();
        for folder in folders {
            let folder_name = folder
                .path
                .rsplit('/')
                .next()
                .unwrap_or(&folder.path)
                .to_string();
            let parsed = folder.skill_md.clone().and_then(|t| parse_front_matter(&t));
            let matches = folder_name.eq_ignore_ascii_case(wanted)
                || parsed
                    .as_ref()
                    .is_ok_and(|(n, _)| n.eq_ignore_ascii_case(wanted));
            if matches {
                return match (parsed, folder.skill_md) {
                    (Ok((name, description)), Ok(content)) => Ok(GetSkillOut {
                        name,
                        description,
                        path: folder.path,
                        content,
                        files: folder.files,
                    }),
                    (Err(reason), _) => Err(ApiError::unprocessable(format!(
                        "skill {} is malformed: {reason}",
                        folder.path
                    ))
                    .with_hint("fix its SKILL.md front matter (name and description)")),
                    (Ok(_), Err(reason)) => Err(ApiError::unprocessable(reason)),
                };
            }
            if let Ok((name, _)) = parsed {
                names.push(name);
            }
        }
        names.sort();
        Err(
            ApiError::not_found(format!("no skill named {}", quote(wanted))).with_hint(
                if names.is_empty() {
                    "there are no skills yet".to_string()
                } else {
                    format!("skills: {}", names.join(", "))
                },
            ),
        )
    }

    /// Where skills come from for this caller; a skills repository is read as the
    /// workspace's bot when pinned, as the operator otherwise.
    async fn skills_source(&self, caller: &Caller) -> Result<Source<'_>, ApiError> {
        let who = caller.principal();
        if let Some(dir) = &self.inner.skills_dir {
            return Ok(Source::Dir(dir));
        }
        let Some(base) = &self.inner.gitea else {
            return Err(ApiError::not_provisioned("no skills source is configured")
                .with_hint("set VIBN_SKILLS_DIR to a folder of skills, or the GITEA_* settings for a skills repository"));
        };
        let client = if who.workspace().is_some() {
            base.with_token(caller.gitea_login(None).await?.token)
        } else if self.inner.gitea_user.is_some() {
            base.clone()
        } else {
            return Err(caller.gitea_login(None).await.err().unwrap_or_else(|| {
                ApiError::not_provisioned("Gitea credentials are not configured")
            }));
        };
        let default_owner = who.gitea_org().or(self.inner.gitea_user.as_deref());
        let spec = match &self.inner.skills_repo {
            Some(repo) => repo.clone(),
            None => format!("{}/skills", default_owner.unwrap_or_default()),
        };
        let repo = repo_ref::parse(&spec, default_owner)?;
        protected::check_owner_is_org(who.gitea_org(), &repo.owner)?;
        Ok(Source::Repo {
            client,
            owner: repo.owner,
            name: repo.name,
        })
    }

    async fn folders(&self, source: &Source<'_>) -> Result<Vec<Folder>, ApiError> {
        match source {
            Source::Dir(dir) => read_dir_skills(dir),
            Source::Repo {
                client,
                owner,
                name,
            } => {
                let entries = match client.get_contents(owner, name, "", None).await {
                    Ok(ContentsAnswer::Dir(entries)) => entries,
                    Ok(ContentsAnswer::File(_)) => Vec::new(),
                    Err(e) if e.status() == Some(404) => {
                        return Err(ApiError::not_found(format!(
                            "the skills repository {owner}/{name} does not exist or is empty"
                        ))
                        .with_hint("create it with one folder per skill, each with a SKILL.md"));
                    }
                    Err(e) => return Err(e.into()),
                };
                let dirs: Vec<String> = entries
                    .into_iter()
                    .filter(|e| e.kind == "dir")
                    .map(|e| e.path)
                    .collect();
                Ok(futures::stream::iter(dirs)
                    .map(|dir| repo_folder(client, owner, name, dir))
                    .buffered(FAN_OUT)
                    .collect()
                    .await)
            }
        }
    }
}

async fn repo_folder(client: &GiteaClient, owner: &str, repo: &str, dir: String) -> Folder {
    let listing = client.get_contents(owner, repo, &dir, None).await;
    let files: Vec<String> = match &listing {
        Ok(ContentsAnswer::Dir(entries)) => entries
            .iter()
            .filter(|e| e.name != "SKILL.md")
            .map(|e| e.name.clone())
            .collect(),
        _ => Vec::new(),
    };
    let has_skill_md = matches!(&listing, Ok(ContentsAnswer::Dir(entries)) if entries.iter().any(|e| e.name == "SKILL.md"));
    let skill_md = if !has_skill_md {
        Err("no SKILL.md in the folder".to_string())
    } else {
        match client
            .get_contents(owner, repo, &format!("{dir}/SKILL.md"), None)
            .await
        {
            Ok(ContentsAnswer::File(file)) => {
                let b64: String = file
                    .content
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| format!("SKILL.md is not base64 from Gitea: {e}"))
                    .and_then(|bytes| {
                        String::from_utf8(bytes).map_err(|_| "SKILL.md is not UTF-8".to_string())
                    })
            }
            Ok(ContentsAnswer::Dir(_)) => Err("SKILL.md is a directory".to_string()),
            Err(e) => Err(format!("cannot read SKILL.md: {e}")),
        }
    };
    Folder {
        path: dir,
        skill_md,
        files,
    }
}

fn read_dir_skills(dir: &std::path::Path) -> Result<Vec<Folder>, ApiError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        ApiError::not_provisioned(format!(
            "cannot read the skills folder {}: {e}",
            dir.display()
        ))
        .with_hint("check VIBN_SKILLS_DIR")
    })?;
    let mut folders = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        let mut files: Vec<String> = std::fs::read_dir(&path)
            .map(|it| {
                it.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != "SKILL.md")
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        let skill_md = match std::fs::metadata(path.join("SKILL.md")) {
            Err(_) => Err("no SKILL.md in the folder".to_string()),
            Ok(m) if m.len() as usize > MAX_SKILL_BYTES => {
                Err(format!("SKILL.md is over {MAX_SKILL_BYTES} bytes"))
            }
            Ok(_) => std::fs::read_to_string(path.join("SKILL.md"))
                .map_err(|e| format!("cannot read SKILL.md: {e}")),
        };
        folders.push(Folder {
            path: name,
            skill_md,
            files,
        });
    }
    folders.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(folders)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_gives_name_and_description() {
        let ok = "---\nname: deploy\ndescription: Deploy an app to Coolify\n---\n# Steps\n";
        assert_eq!(
            parse_front_matter(ok).unwrap(),
            ("deploy".into(), "Deploy an app to Coolify".into())
        );
        let quoted =
            "\u{feff}---\nname: \"db: setup\"\ndescription: >\n  Folded\n  text\n...\nbody";
        assert_eq!(parse_front_matter(quoted).unwrap().0, "db: setup");
    }

    #[test]
    fn alias_bombs_are_refused_at_once() {
        let mut bomb = String::from(
            "---\nname: x\ndescription: y\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (i, prev) in ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i", "j"])
            .map(|(p, n)| (n, *p))
        {
            bomb.push_str(&format!(
                "{i}: &{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
        }
        bomb.push_str("---\n");
        let started = std::time::Instant::now();
        let err = parse_front_matter(&bomb).unwrap_err();
        assert!(err.contains("aliases"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn oversized_front_matter_is_refused() {
        let text = format!("---\nname: x\ndescription: {}\n---\n", "y".repeat(20_000));
        assert!(parse_front_matter(&text).unwrap_err().contains("at most"));
    }

    #[test]
    fn malformed_front_matter_says_why() {
        let table = [
            ("# no front matter", "does not start"),
            ("---\nname: x\ndescription: y\n", "not closed"),
            ("---\nname: [unclosed\n---\n", "not valid YAML"),
            ("---\n- a\n- b\n---\n", "not a mapping"),
            ("---\ndescription: y\n---\n", "no 'name'"),
            (
                "---\nname: x\ndescription: \"\"\n---\n",
                "'description' must be a non-empty string",
            ),
            (
                "---\nname: 3\ndescription: y\n---\n",
                "'name' must be a non-empty string",
            ),
        ];
        for (text, reason) in table {
            let err = parse_front_matter(text).unwrap_err();
            assert!(err.contains(reason), "{text:?}: {err}");
        }
    }
}
