//! Maximum lengths of the Coolify tools' string parameters (see `api::limits`): a uuid
//! longer than any Coolify uuid is refused here (400) instead of reaching Coolify in a
//! URL (which answered 502 "cannot reach Coolify").

use super::{
    DeployAppParams, DeployParams, GetAppStatusParams, GetDeploymentParams, GetLogsParams,
    ListAllAppsParams, ListApplicationsParams, ListDeploymentsParams, ListProjectsParams,
};
use crate::api::limits::{NAME, UUID, limits};

/// Check params against the table below (the first line of each entry point).
pub(super) use crate::api::limits::check;

limits! {
    ListProjectsParams {}
    ListApplicationsParams { project_uuid: UUID }
    ListAllAppsParams {}
    GetAppStatusParams { uuid: UUID }
    GetLogsParams { uuid: UUID }
    DeployParams { uuid: UUID }
    DeployAppParams { name: NAME, uuid: UUID }
    ListDeploymentsParams { uuid: UUID }
    GetDeploymentParams { deployment_uuid: UUID }
}
