//! Net versions: deploying a net (checked, stored with its components and
//! its shared places' initial tokens) and the deployments the engine keeps.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::deployment::{self, Deployment};
use super::{Engine, EngineError, encode_json};
use crate::net::Net;
use crate::store::{Change, Event, EventRecord, Owner, StoredToken, TokenRecord};
use crate::verify::GateOptions;

/// The file name an uploaded net is known by (in errors and its record).
pub const UPLOADED_NET: &str = "uploaded-net.toml";

/// A deployed net, as [`Engine::deploy`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// Net name.
    pub name: String,
    /// Version hash.
    pub version: String,
    /// Whether this call stored it (false: the same version was there).
    pub new: bool,
    /// What the deploy check warns of (an inconclusive check, allowed problems).
    pub warnings: Vec<String>,
}

impl Engine {
    /// Deploys the net file at `file` (if this exact version is not deployed
    /// yet): checks the net and its guests, stores both, adds the shared
    /// places' initial tokens. Durable when it returns.
    pub async fn deploy(&self, file: &Path) -> Result<Deployed, EngineError> {
        self.deploy_with(file, &GateOptions::default()).await
    }

    /// [`Engine::deploy`], the net checked first as `gate` says: a net the
    /// check finds a problem in is refused unless `gate` allows problems.
    pub async fn deploy_with(
        &self,
        file: &Path,
        gate: &GateOptions,
    ) -> Result<Deployed, EngineError> {
        let (file, gate) = (file.to_path_buf(), gate.clone());
        let (deployment, components, warnings) = self
            .sandbox
            .off_worker(move |sandbox| {
                let net = Net::load_within(&file, sandbox.limits())?;
                let checked = crate::verify::deploy_gate(&net, &gate)?;
                let (deployment, components) = Deployment::from_files(sandbox, net)?;
                Ok::<_, EngineError>((deployment, components, checked.warnings))
            })
            .await?;
        self.install(deployment, components, warnings).await
    }

    /// Deploys a net sent as text, with its guests' component bytes by
    /// guest path as the net declares them (e.g. an upload to `petrel
    /// serve`). Errors name the net as `uploaded-net.toml`. Durable when it
    /// returns.
    pub async fn deploy_source(
        &self,
        source: &str,
        components: &HashMap<String, Vec<u8>>,
    ) -> Result<Deployed, EngineError> {
        self.deploy_source_with(source, components, &GateOptions::default())
            .await
    }

    /// [`Engine::deploy_source`], the net checked first as `gate` says.
    pub async fn deploy_source_with(
        &self,
        source: &str,
        components: &HashMap<String, Vec<u8>>,
        gate: &GateOptions,
    ) -> Result<Deployed, EngineError> {
        let (source, components, gate) = (source.to_string(), components.clone(), gate.clone());
        let (deployment, components, warnings) = self
            .sandbox
            .off_worker(move |sandbox| {
                let net = Net::parse_within(&source, Path::new(UPLOADED_NET), sandbox.limits())?;
                let checked = crate::verify::deploy_gate(&net, &gate)?;
                let (deployment, components) = Deployment::from_upload(sandbox, net, &components)?;
                Ok::<_, EngineError>((deployment, components, checked.warnings))
            })
            .await?;
        self.install(deployment, components, warnings).await
    }

    /// Stores a checked deployment (if new) with its shared places' tokens.
    async fn install(
        &self,
        deployment: Deployment,
        components: deployment::Components,
        warnings: Vec<String>,
    ) -> Result<Deployed, EngineError> {
        let version = deployment.version().to_string();
        let name = deployment.record.name.clone();
        let mut tokens = Vec::new();
        let mut produce = Vec::new();
        for place in deployment.net.places().iter().filter(|p| p.shared) {
            for value in &place.initial {
                let payload = encode_json(value)?;
                let seq = self.store.next_id()?;
                tokens.push(TokenRecord {
                    place: place.name.clone(),
                    seq,
                    shared: true,
                    payload: payload.clone(),
                });
                produce.push(StoredToken {
                    owner: Owner::Shared(version.clone()),
                    place: place.name.clone(),
                    seq,
                    payload,
                });
            }
        }
        let at_ms = self.clock().now_ms();
        let event = |event| EventRecord {
            seq: 0,
            at_ms,
            case: None,
            event,
        };
        let mut events = vec![event(Event::NetDeployed {
            net: name.clone(),
            version: version.clone(),
        })];
        if !tokens.is_empty() {
            events.push(event(Event::SharedTokensAdded {
                version: version.clone(),
                tokens,
            }));
        }
        let mut change = Change {
            produce,
            events,
            ..Change::default()
        };
        let new = self
            .store
            .deploy(&deployment.record, &components, &mut change)?;
        if let Some(last) = change.events.iter().map(|e| e.seq).max() {
            self.committer.note_applied(last);
        }
        if new && let Some(observer) = &self.config.observer {
            for e in &change.events {
                observer(e);
            }
        }
        self.flush().await?;
        self.deployments
            .lock()
            .expect("deployments lock")
            .entry(version.clone())
            .or_insert_with(|| Arc::new(deployment));
        Ok(Deployed {
            name,
            version,
            new,
            warnings,
        })
    }

    /// The deployment of a stored net version (loaded once, then kept).
    pub fn deployment(&self, version: &str) -> Result<Arc<Deployment>, EngineError> {
        if let Some(d) = self
            .deployments
            .lock()
            .expect("deployments lock")
            .get(version)
        {
            return Ok(d.clone());
        }
        let record = self
            .store
            .net(version)?
            .ok_or_else(|| EngineError::NotFound(format!("no deployed net version `{version}`")))?;
        let d = Arc::new(Deployment::from_store(
            &self.sandbox,
            self.store.as_ref(),
            record,
        )?);
        self.deployments
            .lock()
            .expect("deployments lock")
            .insert(version.to_string(), d.clone());
        Ok(d)
    }
}
