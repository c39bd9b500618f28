//! One-click service templates: every key of Coolify's
//! `templates/service-templates-latest.json` at 4.3.11 (the `valid_service_types` of an
//! unknown-type 404, in file order) and, for the auth stacks and a few popular
//! templates, the containers they create (applications with generated sslip domains,
//! databases). Other keys create one application named after the key. Data only.

/// Every template key, in the order of the template file (340 at 4.3.11).
#[rustfmt::skip]
pub(crate) const SERVICE_KEYS: &[&str] = &[
    "activepieces", "actualbudget", "affine", "alexandrie", "anythingllm", "appflowy",
    "apprise-api", "appsmith", "appwrite", "argilla", "audiobookshelf", "authentik", "autobase",
    "babybuddy", "bento-pdf", "beszel-agent", "beszel", "bitcoin-core", "bluesky-pds", "bookstack",
    "browserless", "budge", "budibase", "bugsink", "buzz", "calibre-web-automated-book-downloader",
    "calibre-web", "cap-captcha", "cap", "castopod", "celld", "changedetection", "chaskiq",
    "chatwoot", "checkmate", "chibisafe", "chroma", "classicpress-with-mariadb",
    "classicpress-with-mysql", "classicpress-without-database", "cloudbeaver", "cloudflare-ddns",
    "cloudflared", "cloudreve", "cockpit", "code-server", "codimd", "convex", "cryptgeon",
    "cyberchef", "dashy", "databasus", "denoKV", "directus-with-postgresql", "directus", "diun",
    "docker-registry", "docmost", "documenso", "docuseal-with-postgres", "docuseal", "dokuwiki",
    "dolibarr", "dozzle-with-auth", "dozzle", "drizzle-gateway", "drupal-with-postgresql",
    "duplicati", "easyappointments", "elasticsearch-with-kibana", "elasticsearch", "electricsql",
    "emby", "embystat", "emqx-enterprise", "ente-photos-with-s3", "ente-photos", "esphome",
    "espocrm", "evolution-api", "excalidraw", "faraday", "fider", "filebrowser", "fileflows",
    "firefly", "firefox", "fizzy", "flipt", "flowise-with-databases", "flowise",
    "forgejo-with-mariadb", "forgejo-with-mysql", "forgejo-with-postgresql", "forgejo",
    "formbricks", "foundryvtt", "freescout", "freshrss-with-mariadb", "freshrss-with-mysql",
    "freshrss-with-postgresql", "freshrss", "garage", "getoutline", "ghost", "gitea-runner",
    "gitea-with-mariadb", "gitea-with-mysql", "gitea-with-postgresql", "gitea", "github-runner",
    "gitlab", "glance", "glances", "glitchtip", "glpi", "goatcounter", "gotenberg", "gotify",
    "gowa", "grafana-with-postgresql", "grafana", "gramps-web", "grimmory", "grist", "grocy",
    "hatchet", "healthchecks", "heimdall", "hermes-agent-with-webui", "heyform", "homarr",
    "home-assistant", "homebox", "homepage", "hoppscotch", "imgcompress", "immich", "infisical",
    "influxdb", "inngest", "invoice-ninja", "it-tools", "jean", "jellyfin", "jenkins", "jitsi",
    "joomla-with-mariadb", "joplin", "jupyter-notebook-python", "karakeep",
    "keycloak-with-postgres", "keycloak", "kimai", "kuzzle", "labelstudio", "langflow", "langfuse",
    "leantime", "librechat", "libreoffice", "librespeed", "libretranslate", "limesurvey",
    "linkding-plus", "linkding", "listmonk", "litellm", "lobe-chat", "logto", "lowcoder", "mage-ai",
    "mailpit", "martin", "matrix-synapse-with-postgresql", "matrix-synapse-with-sqlite",
    "mattermost", "mealie", "mediawiki", "meilisearch", "memos", "metabase", "metamcp", "metube",
    "mindsdb", "minecraft", "miniflux", "mixpost", "moodle", "mosquitto",
    "n8n-with-postgres-and-worker", "n8n-with-postgresql", "n8n", "navidrome", "neon-ws-proxy",
    "netbird-client", "newapi", "newt-pangolin", "next-image-transformation",
    "nextcloud-with-mariadb", "nextcloud-with-mysql", "nextcloud-with-postgres", "nextcloud",
    "nexus-arm", "nexus", "nitropage-with-postgresql", "nitropage", "nocobase", "nocodb", "nodebb",
    "ntfy", "observium", "odoo", "ollama-with-open-webui", "once-campfire", "onedev",
    "onetimesecret", "open-archiver", "open-webui", "openclaw", "openobserve", "openpanel",
    "opnform", "orangehrm", "organizr", "osticket", "overseerr", "owncloud", "pairdrop", "palworld",
    "paperless", "passbolt", "paymenter", "penpot-with-s3", "penpot", "pgadmin", "pgbackweb",
    "phpmyadmin", "pi-hole", "plane", "plex", "plunk", "pocket-id-with-postgresql", "pocket-id",
    "pocketbase", "portainer", "postiz", "prefect", "privatebin", "prowlarr", "proxyscotch",
    "qbittorrent", "qdrant", "rabbitmq", "radarr", "rallly", "reactive-resume", "readeck",
    "redis-insight", "redlib", "redmine", "rivet-engine", "rocketchat", "rybbit", "ryot",
    "satisfactory", "seafile", "searxng", "seaweedfs", "sequin", "sessy", "sftpgo", "shlink",
    "signoz", "silverbullet", "siyuan", "slash", "snapdrop", "soju", "soketi-app-manager", "soketi",
    "sonarr", "spacebot", "sparkyfitness", "stalwart", "statusnook", "stirling-pdf", "strapi",
    "supabase", "superset-with-postgresql", "supertokens-with-mysql", "supertokens-with-postgresql",
    "sure", "swetrix", "syncthing", "tailscale-client", "teable", "termix", "terraria-server",
    "tolgee", "traccar", "trailbase", "transmission", "trigger", "triliumnext", "twenty",
    "typesense", "umami", "unleash-with-postgresql", "unleash-without-database", "unstructured",
    "uptime-kuma-with-mariadb", "uptime-kuma-with-mysql", "uptime-kuma", "usesend", "vaultwarden",
    "vert", "vikunja-with-postgresql", "vikunja", "vvveb-with-mariadb", "vvveb-with-mysql", "vvveb",
    "wakapi", "weaviate", "web-check", "weblate", "whoogle", "wikijs", "windmill", "wings",
    "wireguard-easy", "wordpress-with-mariadb", "wordpress-with-mysql",
    "wordpress-without-database", "yamtrack-with-postgresql", "yamtrack", "zipline", "convertx",
    "marimo", "pydio-cells",
];

/// One container of a template: compose service name, image, is it a database, and
/// whether (with which port) it gets a generated `SERVICE_URL_*` domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Container {
    pub name: String,
    pub image: String,
    pub database: bool,
    /// `None`: no domain; `Some(None)`: a domain; `Some(Some(port))`: a domain routed
    /// to that container port (`SERVICE_URL_<NAME>_<PORT>`).
    pub url_port: Option<Option<u16>>,
}

fn app(name: &str, image: &str, url_port: Option<Option<u16>>) -> Container {
    Container {
        name: name.to_string(),
        image: image.to_string(),
        database: false,
        url_port,
    }
}

fn db(name: &str, image: &str) -> Container {
    Container {
        name: name.to_string(),
        image: image.to_string(),
        database: true,
        url_port: None,
    }
}

/// Images Coolify's `isDatabaseImage()` treats as databases (a simplification).
pub(crate) fn is_database_image(image: &str) -> bool {
    [
        "postgres",
        "mysql",
        "mariadb",
        "mongo",
        "redis",
        "keydb",
        "dragonfly",
        "clickhouse",
    ]
    .iter()
    .any(|db| image.contains(db))
}

/// The containers of template `key`: known ones in detail, any other key as one
/// application named after it with a domain.
pub(crate) fn containers(key: &str) -> Vec<Container> {
    match key {
        "pocketbase" => vec![app(
            "pocketbase",
            "ghcr.io/coollabsio/pocketbase:latest",
            Some(Some(8080)),
        )],
        "authentik" => vec![
            app(
                "authentik-server",
                "ghcr.io/goauthentik/server:2025.10.3",
                Some(Some(9000)),
            ),
            app(
                "authentik-worker",
                "ghcr.io/goauthentik/server:2025.10.3",
                None,
            ),
            db("postgresql", "postgres:16-alpine"),
        ],
        "keycloak" => vec![app(
            "keycloak",
            "quay.io/keycloak/keycloak:26.1",
            Some(Some(8080)),
        )],
        "keycloak-with-postgres" => vec![
            app(
                "keycloak",
                "quay.io/keycloak/keycloak:26.1",
                Some(Some(8080)),
            ),
            db("postgres", "postgres:16-alpine"),
        ],
        "pocket-id" => vec![app(
            "pocket-id",
            "ghcr.io/pocket-id/pocket-id:v1.13",
            Some(Some(1411)),
        )],
        "pocket-id-with-postgresql" => vec![
            app(
                "pocket-id",
                "ghcr.io/pocket-id/pocket-id:v1.13",
                Some(Some(1411)),
            ),
            db("postgresql", "postgres:16-alpine"),
        ],
        "logto" => vec![
            app("logto", "svhd/logto:latest", Some(None)),
            db("postgres", "postgres:14-alpine"),
        ],
        "supertokens-with-postgresql" => vec![
            app(
                "supertokens",
                "registry.supertokens.io/supertokens/supertokens-postgresql:latest",
                Some(Some(3567)),
            ),
            db("postgres", "postgres:16"),
        ],
        "supertokens-with-mysql" => vec![
            app(
                "supertokens",
                "registry.supertokens.io/supertokens/supertokens-mysql:latest",
                Some(Some(3567)),
            ),
            db("mysql", "mysql:latest"),
        ],
        "n8n" => vec![
            app("n8n", "n8nio/n8n:2.10.2", Some(Some(5678))),
            app("task-runners", "n8nio/runners:2.10.2", None),
        ],
        "uptime-kuma" => vec![app(
            "uptime-kuma",
            "louislam/uptime-kuma:2",
            Some(Some(3001)),
        )],
        "umami" => vec![
            app(
                "umami",
                "ghcr.io/umami-software/umami:3.0.3",
                Some(Some(3000)),
            ),
            db("postgresql", "postgres:16-alpine"),
        ],
        "ghost" => vec![
            app("ghost", "ghost:5", Some(Some(2368))),
            db("mysql", "mysql:8.0"),
        ],
        "gitea" => vec![app("gitea", "gitea/gitea:latest", Some(Some(3000)))],
        "wordpress-with-mysql" => vec![
            app("wordpress", "wordpress:latest", Some(None)),
            db("mysql", "mysql:8"),
        ],
        other => vec![app(other, &format!("{other}:latest"), Some(None))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_keys_hold_the_auth_allowlist_and_every_detailed_template() {
        assert_eq!(SERVICE_KEYS.len(), 340);
        for k in [
            "pocketbase",
            "authentik",
            "keycloak",
            "keycloak-with-postgres",
            "pocket-id",
            "pocket-id-with-postgresql",
            "logto",
            "supertokens-with-postgresql",
            "supertokens-with-mysql",
            "n8n",
            "uptime-kuma",
            "umami",
            "ghost",
            "gitea",
            "wordpress-with-mysql",
        ] {
            assert!(SERVICE_KEYS.contains(&k), "{k}");
            assert!(!containers(k).is_empty(), "{k}");
        }
        assert!(!SERVICE_KEYS.contains(&"plausible"));
        let authentik = containers("authentik");
        assert_eq!(authentik.iter().filter(|c| c.database).count(), 1);
        assert_eq!(
            containers("cyberchef"),
            vec![app("cyberchef", "cyberchef:latest", Some(None))]
        );
    }
}
