//! Maximum lengths of the control plane's string parameters (see `api::limits`): checked
//! first in every entry point, written into the tools' input schemas.

use super::{
    AppRef, AppsCreateParams, AppsDeleteParams, AppsDeployParams, AppsDeploymentsParams,
    AppsDomainsSetParams, AppsEnvsDeleteParams, AppsEnvsUpsertParams, AppsListParams,
    AppsLogsParams, AppsRewireGitParams, AppsUpdateParams, AuthCreateParams, AuthDeleteParams,
    AuthGetParams, AuthListParams, DatabaseRef, DatabasesCreateParams, DatabasesDeleteParams,
    DatabasesListParams, DatabasesUpdateParams, DeploymentsLogsParams, GiteaCredentialsParams,
    ProjectsGetParams, ProjectsListParams, ReposCreateParams, ReposListParams,
    WorkspaceDescribeParams,
};
use super::{
    DomainRef, DomainsAttachParams, DomainsListParams, DomainsRegisterParams, DomainsSearchParams,
    StorageInjectEnvParams, StorageParams,
};
use crate::api::limits::{Limit, NAME, PATH, UUID, limits};

/// Check params against the table below (the first line of each entry point).
pub(super) use crate::api::limits::check;

/// Host names (RFC 1035: 253 characters).
const DOMAIN: Limit = Limit::chars(253);
/// One line of description.
const DESCRIPTION: Limit = Limit::chars(1024);
/// An environment variable's value.
const ENV_VALUE: Limit = Limit::bytes(super::apps::MAX_ENV_VALUE);
/// Domains of one app.
const DOMAINS: Limit = DOMAIN.items(super::domains::MAX_DOMAINS);

limits! {
    WorkspaceDescribeParams {}
    GiteaCredentialsParams {}
    ProjectsListParams {}
    AppsListParams {}
    DatabasesListParams {}
    AuthListParams {}
    ReposListParams {}
    ProjectsGetParams { project_id: NAME }
    AppRef { uuid: UUID }
    AppsCreateParams {
        repo: NAME, branch: NAME, name: NAME, ports: NAME, domain: DOMAIN,
        docker_compose_location: PATH, dockerfile_location: PATH, base_directory: PATH,
    }
    AppsUpdateParams { uuid: UUID }
    AppsRewireGitParams { uuid: UUID, repo: NAME }
    AppsDeleteParams { uuid: UUID, confirm: NAME }
    AppsDeployParams { uuid: UUID }
    AppsDeploymentsParams { uuid: UUID }
    AppsLogsParams { uuid: UUID }
    DeploymentsLogsParams { deployment_uuid: UUID }
    AppsDomainsSetParams { uuid: UUID, domains: DOMAINS }
    AppsEnvsUpsertParams { uuid: UUID, key: NAME, value: ENV_VALUE }
    AppsEnvsDeleteParams { uuid: UUID, key: NAME }
    DatabaseRef { uuid: UUID }
    DatabasesCreateParams { r#type as "type": NAME, name: NAME, description: DESCRIPTION, image: NAME }
    DatabasesUpdateParams { uuid: UUID }
    DatabasesDeleteParams { uuid: UUID, confirm: NAME }
    AuthCreateParams { provider: NAME, name: NAME, description: DESCRIPTION }
    AuthDeleteParams { uuid: UUID, confirm: NAME }
    AuthGetParams { uuid: UUID }
    ReposCreateParams { name: NAME, description: DESCRIPTION }
    DomainsSearchParams { names: DOMAIN.items(super::domain_params::MAX_SEARCH) }
    DomainsRegisterParams { domain: DOMAIN, nameservers: DOMAIN.items(13) }
    DomainsListParams {}
    DomainRef { domain: DOMAIN }
    DomainsAttachParams {
        domain: DOMAIN, app_uuid: UUID, ip: NAME, cname: DOMAIN,
        subdomains: DOMAIN.items(super::domains_lifecycle::MAX_SUBDOMAINS),
    }
    StorageParams {}
    StorageInjectEnvParams { uuid: UUID, prefix: NAME }
}
