//! Faults put into a running deployment at the same logical spot whatever the
//! architecture: a component misbehaving (through `/admin/faults`, which the split
//! gateway forwards to the service hosting the component), or the process hosting a
//! component crashing or freezing (the monolith itself, or the component's replica).
//! What follows from the fault is the architecture's business.

use std::fmt;

use anyhow::{Context, Result, bail};
use link_proxy::Toxic;
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};
use shop_domain::Component;
use shop_faults::Fault;
use split::topology::ProcessLimits;

use crate::deploy::{Deployment, System};

/// One fault, and where it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "injection", rename_all = "kebab-case")]
pub enum Injection {
    /// Every call into `component` misbehaves as `fault` says, until cleared.
    Component { component: Component, fault: Fault },
    /// The process hosting `component` (replica `replica` in the split build) is
    /// killed with SIGKILL, as a crash would; the supervisor restarts it.
    Kill {
        component: Component,
        replica: usize,
    },
    /// The process hosting `component` stops (SIGSTOP) until cleared (SIGCONT).
    Freeze {
        component: Component,
        replica: usize,
    },
    /// Every network link into `component` misbehaves (through the fault proxy the
    /// deployment put on them). The monolith calls its components in-process: it has
    /// no such link, and refuses.
    Link {
        component: Component,
        fault: LinkFault,
    },
    /// The process hosting `component` (replica `replica`) is held to `limits` through
    /// its cgroup (CPU quota, memory limit) until cleared, then to the topology's own
    /// again. A process the supervisor restarts meanwhile starts under the topology's.
    /// Refused where cgroups are not writable.
    Squeeze {
        component: Component,
        replica: usize,
        limits: ProcessLimits,
    },
}

/// What a link suffers: a toxic, or the link down (connections refused and closed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkFault {
    Toxic(Toxic),
    Down,
}

impl fmt::Display for Injection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Injection::Component { component, fault } => write!(f, "{fault:?} in {component}"),
            Injection::Kill { component, replica } => {
                write!(
                    f,
                    "kill the process hosting {component} (replica {replica})"
                )
            }
            Injection::Freeze { component, replica } => {
                write!(
                    f,
                    "freeze the process hosting {component} (replica {replica})"
                )
            }
            Injection::Link {
                component,
                fault: LinkFault::Toxic(toxic),
            } => write!(
                f,
                "{} toxic on the {} of the links into {component}",
                toxic.kind.type_name(),
                toxic.stream.name()
            ),
            Injection::Link {
                component,
                fault: LinkFault::Down,
            } => write!(f, "the links into {component} down"),
            Injection::Squeeze {
                component,
                replica,
                limits,
            } => write!(
                f,
                "hold the process hosting {component} (replica {replica}) to {} CPU millis and {} MB",
                limits
                    .cpu_millis
                    .map_or("unlimited".to_owned(), |m| m.to_string()),
                limits
                    .memory_mb
                    .map_or("unlimited".to_owned(), |m| m.to_string()),
            ),
        }
    }
}

impl Injection {
    /// The component at fault.
    pub fn component(&self) -> Component {
        match self {
            Injection::Component { component, .. }
            | Injection::Kill { component, .. }
            | Injection::Freeze { component, .. }
            | Injection::Link { component, .. }
            | Injection::Squeeze { component, .. } => *component,
        }
    }
}

impl Deployment {
    /// The process that hosts `component`: the monolith whole (replica `replica` when
    /// it has several), or the service's replica `replica`.
    pub fn process_hosting(&self, component: Component, replica: usize) -> Result<String> {
        match self.system {
            System::Monolith if self.has_process("monolith") => Ok("monolith".to_owned()),
            System::Monolith => Ok(format!("monolith-{replica}")),
            System::Split => Ok(format!("{component}-{replica}")),
            System::Ceiling => bail!("the ceiling hosts no component"),
        }
    }

    /// Puts `injection` in.
    pub async fn inject(&self, injection: &Injection) -> Result<()> {
        match injection {
            Injection::Component { component, fault } => {
                let response = self
                    .admin(reqwest::Method::PUT, *component)?
                    .json(fault)
                    .send()
                    .await?;
                response
                    .error_for_status()
                    .with_context(|| format!("setting {injection}"))?;
                Ok(())
            }
            Injection::Kill { component, replica } => {
                let process = self.process_hosting(*component, *replica)?;
                self.signal(&process, Signal::SIGKILL).await
            }
            Injection::Freeze { component, replica } => {
                let process = self.process_hosting(*component, *replica)?;
                self.signal(&process, Signal::SIGSTOP).await
            }
            Injection::Link { component, fault } => {
                for (proxy, control) in self.links_into(*component)? {
                    let request = match fault {
                        LinkFault::Toxic(toxic) => control
                            .post(format!("{proxy}/toxics"))
                            .json(&toxic.clone().checked().map_err(anyhow::Error::msg)?),
                        LinkFault::Down => control
                            .post(proxy)
                            .json(&serde_json::json!({"enabled": false})),
                    };
                    request
                        .send()
                        .await?
                        .error_for_status()
                        .with_context(|| format!("setting {injection}"))?;
                }
                Ok(())
            }
            Injection::Squeeze {
                component,
                replica,
                limits,
            } => {
                let process = self.process_hosting(*component, *replica)?;
                self.limit(&process, Some(*limits)).await
            }
        }
    }

    /// Takes `injection` out (a kill has nothing to take out: the supervisor restarts
    /// the process by itself).
    pub async fn clear(&self, injection: &Injection) -> Result<()> {
        match injection {
            Injection::Component { component, .. } => {
                self.admin(reqwest::Method::DELETE, *component)?
                    .send()
                    .await?
                    .error_for_status()
                    .with_context(|| format!("clearing {injection}"))?;
                Ok(())
            }
            Injection::Kill { .. } => Ok(()),
            Injection::Freeze { component, replica } => {
                let process = self.process_hosting(*component, *replica)?;
                self.signal(&process, Signal::SIGCONT).await
            }
            Injection::Link { component, fault } => {
                for (proxy, control) in self.links_into(*component)? {
                    let request = match fault {
                        LinkFault::Toxic(toxic) => {
                            let name = toxic.clone().checked().map_err(anyhow::Error::msg)?.name;
                            control.delete(format!("{proxy}/toxics/{name}"))
                        }
                        LinkFault::Down => control
                            .post(proxy)
                            .json(&serde_json::json!({"enabled": true})),
                    };
                    request
                        .send()
                        .await?
                        .error_for_status()
                        .with_context(|| format!("clearing {injection}"))?;
                }
                Ok(())
            }
            Injection::Squeeze {
                component, replica, ..
            } => {
                let process = self.process_hosting(*component, *replica)?;
                self.limit(&process, None).await
            }
        }
    }

    /// The fault proxy's URL of each proxy on a link into `component` (one per
    /// replica, named after it), with a client to call them.
    fn links_into(&self, component: Component) -> Result<Vec<(String, reqwest::Client)>> {
        if self.system != System::Split {
            bail!(
                "the {} calls {component} in-process: it has no network link to fault",
                self.system.name()
            );
        }
        let control = self.link_proxy.as_deref().with_context(|| {
            format!("the links into {component} do not go through the fault proxy (deploy with it `proxied`)")
        })?;
        let replicas = self.process_names(component);
        if replicas.is_empty() {
            bail!("no replica of {component} in this deployment");
        }
        let client = reqwest::Client::new();
        Ok(replicas
            .into_iter()
            .map(|name| (format!("{control}/proxies/{name}"), client.clone()))
            .collect())
    }

    /// A request to `/admin/faults/{component}`, with the admin token.
    fn admin(
        &self,
        method: reqwest::Method,
        component: Component,
    ) -> Result<reqwest::RequestBuilder> {
        // Through the balancer a fault would reach one replica of several, and its
        // clearing maybe another: refused rather than half done.
        if self.system == System::Monolith && !self.has_process("monolith") {
            bail!(
                "a component fault in monolith replicas behind the balancer would reach only one of them"
            );
        }
        let url = format!("{}/admin/faults/{component}", self.url);
        Ok(reqwest::Client::new()
            .request(method, url)
            .header("x-admin-token", self.admin_token()?))
    }
}
