//! A deployed net version: its net, record and loaded guests.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::net::{Net, Performer, Transition};
use crate::sandbox::{Guest, Sandbox};
use crate::store::{NetRecord, Store};

use super::EngineError;

/// A net version ready to fire: parsed net plus one loaded guest per guest transition.
#[derive(Debug)]
pub struct Deployment {
    /// What the store keeps of it.
    pub record: NetRecord,
    /// The parsed net.
    pub net: Net,
    /// Guests by transition index (`None` for external transitions).
    pub guests: Vec<Option<Guest>>,
}

/// Component bytes by hash, as the store keeps them.
pub(crate) type Components = Vec<(String, Vec<u8>)>;

/// Content hash of a net version: its exact text and its components.
fn version_hash(source: &str, components: &[(String, String)]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"petrel.net.v1\0");
    h.update(source.as_bytes());
    for (transition, hash) in components {
        h.update(b"\0");
        h.update(transition.as_bytes());
        h.update(b"=");
        h.update(hash.as_bytes());
    }
    h.finalize().to_hex()[..16].to_string()
}

impl Deployment {
    /// Loads `net`'s guests from their files and checks them; returns the
    /// deployment and the component bytes (by hash) to store.
    pub(crate) fn from_files(
        sandbox: &Sandbox,
        net: Net,
    ) -> Result<(Deployment, Components), EngineError> {
        Deployment::assemble(sandbox, net, |t, _, path| {
            sandbox.read_component(path).map_err(|source| {
                crate::sandbox::DeployError::Read {
                    transition: t.name.clone(),
                    path: path.to_path_buf(),
                    source,
                }
                .into()
            })
        })
    }

    /// Like [`Deployment::from_files`], with the component bytes given by
    /// guest path as the net file declares it (an upload).
    pub(crate) fn from_upload(
        sandbox: &Sandbox,
        net: Net,
        components: &HashMap<String, Vec<u8>>,
    ) -> Result<(Deployment, Components), EngineError> {
        let declared: HashSet<&str> = net
            .transitions()
            .iter()
            .filter_map(|t| match &t.performer {
                Performer::Guest { declared, .. } => Some(declared.as_str()),
                Performer::External => None,
            })
            .collect();
        let mut extra: Vec<&String> = components
            .keys()
            .filter(|k| !declared.contains(k.as_str()))
            .collect();
        extra.sort();
        if let Some(key) = extra.first() {
            return Err(EngineError::Invalid(format!(
                "`components.{key}`: no transition's `guest` is `{key}` (guests of this net: {})",
                if declared.is_empty() {
                    "none".to_string()
                } else {
                    let mut d: Vec<_> = declared.into_iter().collect();
                    d.sort();
                    d.join(", ")
                }
            )));
        }
        Deployment::assemble(sandbox, net, |t, declared, _| {
            components.get(declared).cloned().ok_or_else(|| {
                EngineError::Invalid(format!(
                    "`components`: no component for `{declared}`, the guest of transition `{}` (send its bytes, base64-encoded, under that key)",
                    t.name
                ))
            })
        })
    }

    /// Loads and checks each guest, its bytes from `read(transition,
    /// declared path, resolved path)`.
    fn assemble(
        sandbox: &Sandbox,
        net: Net,
        read: impl Fn(&Transition, &str, &Path) -> Result<Vec<u8>, EngineError>,
    ) -> Result<(Deployment, Components), EngineError> {
        let mut guests = Vec::with_capacity(net.transitions().len());
        let mut components = Vec::new();
        let mut hashes = Vec::new();
        for t in net.transitions() {
            match &t.performer {
                Performer::External => guests.push(None),
                Performer::Guest { declared, path } => {
                    let bytes = read(t, declared, path)?;
                    let guest = sandbox.load_bytes(t, path, &bytes)?;
                    hashes.push((t.name.clone(), guest.hash().to_string()));
                    components.push((guest.hash().to_string(), bytes));
                    guests.push(Some(guest));
                }
            }
        }
        let record = NetRecord {
            name: net.name().to_string(),
            version: version_hash(net.source(), &hashes),
            file: net.file().display().to_string(),
            source: net.source().to_string(),
            components: hashes,
            deployed_at_ms: crate::store::now_ms(),
        };
        Ok((
            Deployment {
                record,
                net,
                guests,
            },
            components,
        ))
    }

    /// Rebuilds a deployment from what the store kept (no file is read).
    pub(crate) fn from_store(
        sandbox: &Sandbox,
        store: &dyn Store,
        record: NetRecord,
    ) -> Result<Deployment, EngineError> {
        let net = Net::parse_stored(&record.source, Path::new(&record.file), sandbox.limits())?;
        let mut guests = Vec::with_capacity(net.transitions().len());
        for t in net.transitions() {
            match &t.performer {
                Performer::External => guests.push(None),
                Performer::Guest { path, .. } => {
                    let hash = record
                        .components
                        .iter()
                        .find(|(name, _)| name == &t.name)
                        .map(|(_, h)| h.clone())
                        .ok_or_else(|| {
                            EngineError::Invalid(format!(
                                "net version {} has no component for `{}`",
                                record.version, t.name
                            ))
                        })?;
                    let bytes = store.component(&hash)?.ok_or_else(|| {
                        EngineError::Store(crate::store::StoreError::Bug(format!(
                            "component {hash} of `{}` is missing",
                            t.name
                        )))
                    })?;
                    guests.push(Some(sandbox.load_bytes(t, path, &bytes)?));
                }
            }
        }
        Ok(Deployment {
            record,
            net,
            guests,
        })
    }

    /// A deployment of `net` as version `v1` with no guests loaded: what
    /// the core needs, for its unit tests.
    #[cfg(test)]
    pub(crate) fn without_guests(net: Net) -> Deployment {
        let guests = net.transitions().iter().map(|_| None).collect();
        Deployment {
            record: NetRecord {
                name: net.name().to_string(),
                version: "v1".into(),
                file: net.file().display().to_string(),
                source: net.source().to_string(),
                components: Vec::new(),
                deployed_at_ms: 0,
            },
            net,
            guests,
        }
    }

    /// The version hash.
    pub fn version(&self) -> &str {
        &self.record.version
    }
}
