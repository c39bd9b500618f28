//! `vibn serve`: resolve the flags into a `ServeConfig`, start logging and the runtime,
//! serve until a signal. The bound address is printed on stderr as
//! `vibn serve listening on http://ADDR` (scripts and tests wait for that line).

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow};

use crate::args::{CommonArgs, ControlPlaneArgs, ServeArgs};
use crate::config::{self, ControlPlaneConfig, ToolFilter};
use crate::serve::{ServeConfig, run};

/// The configuration `args` ask for (no network, no keystore opened).
pub fn resolve(args: &ServeArgs) -> anyhow::Result<ServeConfig> {
    let listen: SocketAddr = args
        .listen
        .to_socket_addrs()
        .with_context(|| {
            format!(
                "--listen {:?} is not an address like 127.0.0.1:8787",
                args.listen
            )
        })?
        .next()
        .ok_or_else(|| anyhow!("--listen {:?} resolves to no address", args.listen))?;
    let common = CommonArgs {
        read_only: args.read_only,
        tools: args.tools.clone(),
        exclude_tools: args.exclude_tools.clone(),
        protected_repos: None,
        api_key: None,
        workspace: None,
        keystore: args.keystore.clone(),
        log_level: args.log_level.clone(),
        log_file: args.log_file.clone(),
    };
    let filter = ToolFilter::from_args(&common);
    let control_plane = ControlPlaneConfig::resolve(&ControlPlaneArgs {
        upstream: args.upstream.clone(),
        base_domain: args.base_domain.clone(),
        common,
    })?;
    if let Some(url) = &args.public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(anyhow!(
            "--public-url {url:?} must start with http:// or https://"
        ));
    }
    if args.max_body == 0 {
        return Err(anyhow!("--max-body must be more than 0"));
    }
    Ok(ServeConfig {
        listen,
        control_plane,
        keystore: config::keystore_path(args.keystore.as_deref())?,
        keyring: config::keyring()?.map(Arc::new),
        filter,
        allowed_hosts: args.allowed_hosts.clone(),
        allowed_origins: args.allowed_origins.clone(),
        public_url: args.public_url.clone(),
        rate_per_second: args.rate_limit,
        rate_burst: args.rate_burst,
        max_body_bytes: args.max_body,
        request_timeout: args.request_timeout,
        shutdown_grace: args.shutdown_grace,
    })
}

/// Run `vibn serve`; start-up errors exit 2.
pub fn main(args: ServeArgs) -> ExitCode {
    let filter = config::serve_log_filter(args.log_level.as_deref());
    if let Err(e) = crate::logging::init(&filter, args.log_file.as_deref()) {
        super::output::error(&e);
        return ExitCode::from(2);
    }
    let config = match resolve(&args) {
        Ok(c) => c,
        Err(e) => {
            super::output::error(&format!("{e:#}"));
            return ExitCode::from(2);
        }
    };
    if !config.listen.ip().is_loopback() && config.allowed_hosts.is_empty() {
        tracing::warn!(
            "listening on {} without --allowed-host: only requests addressed to this IP or \
             loopback names are answered",
            config.listen
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            super::output::error(&format!("cannot start the async runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    let served = runtime.block_on(run(config, |addr| {
        super::output::note(&format!("vibn serve listening on http://{addr}"));
        tracing::info!(%addr, "vibn serve listening");
    }));
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            super::output::error(&e.to_string());
            ExitCode::from(2)
        }
    }
}
