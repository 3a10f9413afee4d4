//! `--tenant NAME`: which tenants a command acts on.

use crate::configuration::Settings;

/// How many names an error lists before "…".
const NAMES_SHOWN: usize = 10;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct TenantArg {
    /// Act on this tenant only (a [tenants.NAME] section); every tenant when
    /// absent, except where the command could delete.
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
}

/// The command line names no usable tenant (exit 2, like any usage error).
#[derive(Debug, thiserror::Error)]
pub enum TenantChoice {
    #[error("no tenant is named {name:?}; the configured tenants are {known}")]
    Unknown { name: String, known: String },
    #[error("{action} acts on one tenant at a time: add --tenant NAME (one of {known})")]
    Needed { action: &'static str, known: String },
}

impl TenantArg {
    /// The named tenant, or every tenant, each as the configuration scoped
    /// to it ([`Settings::scoped_to`]).
    pub fn all(&self, settings: &Settings) -> Result<Vec<Settings>, TenantChoice> {
        match &self.tenant {
            Some(name) => Ok(vec![named(settings, name)?]),
            None => Ok(settings
                .tenants()
                .iter()
                .map(|t| settings.scoped_to(t))
                .collect()),
        }
    }

    /// The named tenant; a name is needed when several are configured, for
    /// an `action` that could delete (or that writes one tenant's rows).
    pub fn one(&self, settings: &Settings, action: &'static str) -> Result<Settings, TenantChoice> {
        match &self.tenant {
            Some(name) => named(settings, name),
            None if settings.has_several_tenants() => Err(TenantChoice::Needed {
                action,
                known: known(settings),
            }),
            None => Ok(settings.scoped_to(&settings.tenants()[0])),
        }
    }
}

fn named(settings: &Settings, name: &str) -> Result<Settings, TenantChoice> {
    let tenant = settings.tenant(name).ok_or_else(|| TenantChoice::Unknown {
        name: name.to_string(),
        known: known(settings),
    })?;
    Ok(settings.scoped_to(&tenant))
}

fn known(settings: &Settings) -> String {
    let names = settings.tenant_names();
    let shown = names
        .iter()
        .take(NAMES_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match names.len().saturating_sub(NAMES_SHOWN) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// A heading before each tenant's output, when there are several.
pub fn heading(tenants: &[Settings], tenant: &Settings) {
    if tenants.len() > 1 {
        println!("tenant {}:", tenant.cloudroom.tenant);
    }
}
