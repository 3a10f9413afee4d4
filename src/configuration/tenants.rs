//! Tenants: `[tenants.<name>]` sections, `tenants_dir` drop-ins and
//! `CONFSYNC_TENANTS__<NAME>__…` variables, each resolved into the full
//! settings of one tenant (the top level's values, overridden by its own).
//!
//! A configuration without tenants is one tenant, named by
//! `cloudroom.tenant` (`default` unless set).

use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::{
    check, resolve_secret_files, source_of, validate, ConfigProblem, Settings, TenantSettings,
};

/// The sections a tenant may override; the rest is the deployment's.
pub const TENANT_SECTIONS: &[&str] = &[
    "cloudroom",
    "aliyun",
    "directory",
    "schedule",
    "archive",
    "company",
];

/// Whether `name` may name a tenant: it is the `tenant` column of every table.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A `tenants_dir` file, `<name>.toml`, read as `[tenants.<name>]`: systemd
/// drop-in style, it overrides the main file's section of the same name.
struct TenantFile {
    name: String,
    path: PathBuf,
}

impl Provider for TenantFile {
    fn metadata(&self) -> Metadata {
        Metadata::from("tenant file", self.path.as_path())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut inner = Toml::file_exact(&self.path).data()?;
        let sections = inner.remove(&Profile::Default).unwrap_or_default();
        let mut tenants = Dict::new();
        tenants.insert(self.name.clone(), Value::from(sections));
        let mut root = Dict::new();
        root.insert("tenants".into(), Value::from(tenants));
        Ok(Profile::Default.collect(root))
    }
}

/// Merges every `<name>.toml` of `dir` (in name order) into `figment`.
pub(super) fn merge_dir(figment: Figment, dir: &Path) -> Result<Figment, ConfigProblem> {
    let problem = |message: String| ConfigProblem {
        key: "tenants_dir".into(),
        source: source_of(&figment, "tenants_dir"),
        message,
    };
    let entries = std::fs::read_dir(dir)
        .map_err(|e| problem(format!("cannot read {}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| problem(format!("cannot read {}: {e}", dir.display())))?
            .path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(String::from) else {
            continue;
        };
        if !is_valid_name(&name) {
            return Err(problem(format!(
                "{}: a tenant file is named <tenant>.toml, and a tenant name matches [a-z0-9_-]+",
                path.display()
            )));
        }
        files.push(TenantFile { name, path });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files.into_iter().fold(figment, Figment::merge))
}

/// The declared tenants' names, in order.
fn declared(figment: &Figment) -> Vec<String> {
    match figment.find_value("tenants") {
        Ok(Value::Dict(_, dict)) => dict.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Each declared tenant's settings; problems are named by the key that
/// holds them (`tenants.acme.cloudroom.secret_id` when the tenant set it).
pub(super) fn resolve(
    figment: &Figment,
    credentials_dir: Option<&Path>,
    problems: &mut Vec<ConfigProblem>,
) -> Vec<TenantSettings> {
    let mut tenants = Vec::new();
    for name in declared(figment) {
        let mut own = Vec::new();
        if let Some(settings) = resolve_one(figment, &name, credentials_dir, &mut own) {
            tenants.push(settings);
        }
        for problem in own {
            let problem = scoped(figment, &name, problem);
            if !problems
                .iter()
                .any(|p| p.key == problem.key && p.message == problem.message)
            {
                problems.push(problem);
            }
        }
    }
    tenants
}

fn resolve_one(
    figment: &Figment,
    name: &str,
    credentials_dir: Option<&Path>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<TenantSettings> {
    let prefix = format!("tenants.{name}");
    if !is_valid_name(name) {
        problems.push(problem_at(
            figment,
            &prefix,
            "a tenant name matches [a-z0-9_-]+ (it is the tenant column of every table)",
        ));
        return None;
    }
    if let Ok(Value::Dict(_, sections)) = figment.find_value(&prefix) {
        for section in sections
            .keys()
            .filter(|s| !TENANT_SECTIONS.contains(&s.as_str()))
        {
            let message = format!(
                "not a tenant section; a tenant overrides {}",
                TENANT_SECTIONS.join(", ")
            );
            problems.push(problem_at(
                figment,
                &format!("{prefix}.{section}"),
                &message,
            ));
        }
    }
    if figment
        .find_value(&format!("{prefix}.cloudroom.tenant"))
        .is_ok()
    {
        problems.push(problem_at(
            figment,
            &format!("{prefix}.cloudroom.tenant"),
            "a tenant is named by its section; leave cloudroom.tenant out",
        ));
    }
    let merged = figment.clone().merge(figment.focus(&prefix));
    let mut settings = match check::extract_all(&merged) {
        Ok(settings) => settings,
        Err(e) => {
            problems.extend(e.0);
            return None;
        }
    };
    settings.cloudroom.tenant = name.to_string();
    settings.tenants.clear();
    resolve_secret_files(&mut settings, credentials_dir, &merged, problems);
    validate(&settings, &merged, problems);
    Some(settings.top_tenant())
}

fn problem_at(figment: &Figment, key: &str, message: &str) -> ConfigProblem {
    ConfigProblem {
        key: key.into(),
        source: source_of(figment, key),
        message: message.into(),
    }
}

/// Names a tenant's problem by the tenant's key when the tenant set it.
fn scoped(figment: &Figment, name: &str, mut problem: ConfigProblem) -> ConfigProblem {
    let own = format!("tenants.{name}.{}", problem.key);
    if !problem.key.starts_with("tenants.") && figment.find_value(&own).is_ok() {
        problem.source = source_of(figment, &own);
        problem.key = own;
    } else if TENANT_SECTIONS
        .iter()
        .any(|s| problem.key.starts_with(&format!("{s}.")))
    {
        problem.message = format!("{} (for tenant {name})", problem.message);
    }
    problem
}

/// `tenants.<name>.<key>` reads as `<key>` for [`super::is_string_key`].
pub(super) fn untenanted(key: &str) -> &str {
    key.strip_prefix("tenants.")
        .and_then(|rest| rest.split_once('.'))
        .map_or(key, |(_, rest)| rest)
}

impl Settings {
    /// The top level's tenant sections, as the one tenant
    /// `cloudroom.tenant` when no tenant is declared.
    pub fn top_tenant(&self) -> TenantSettings {
        TenantSettings {
            cloudroom: self.cloudroom.clone(),
            aliyun: self.aliyun.clone(),
            directory: self.directory.clone(),
            schedule: self.schedule.clone(),
            archive: self.archive.clone(),
            company: self.company.clone(),
        }
    }

    /// This configuration for one command on one tenant: the process's
    /// sections as they are, the tenant's sections at the top level, and
    /// no other tenant.
    pub fn scoped_to(&self, tenant: &TenantSettings) -> Settings {
        let TenantSettings {
            cloudroom,
            aliyun,
            directory,
            schedule,
            archive,
            company,
        } = tenant.clone();
        Settings {
            cloudroom,
            aliyun,
            directory,
            schedule,
            archive,
            company,
            tenants: Default::default(),
            resolved: Vec::new(),
            ..self.clone()
        }
    }

    /// Every tenant's settings: the declared tenants, or else the top
    /// level as the one tenant `cloudroom.tenant`.
    pub fn tenants(&self) -> Vec<TenantSettings> {
        match self.resolved.is_empty() {
            true => vec![self.top_tenant()],
            false => self.resolved.clone(),
        }
    }

    pub fn tenant_names(&self) -> Vec<String> {
        match self.resolved.is_empty() {
            true => vec![self.cloudroom.tenant.clone()],
            false => self.resolved.iter().map(|t| t.name().to_string()).collect(),
        }
    }

    /// One tenant's settings, by name.
    pub fn tenant(&self, name: &str) -> Option<TenantSettings> {
        match self.resolved.is_empty() {
            true => (self.cloudroom.tenant == name).then(|| self.top_tenant()),
            false => self.resolved.iter().find(|t| t.name() == name).cloned(),
        }
    }

    /// `problem` of `tenant`, named as the tenant's key when tenants are
    /// declared (`tenants.acme.cloudroom.secret_key`).
    pub fn tenant_problem(&self, tenant: &str, mut problem: ConfigProblem) -> ConfigProblem {
        if !self.resolved.is_empty() && !problem.key.starts_with("tenants.") {
            problem.key = format!("tenants.{tenant}.{}", problem.key);
            let env = format!("CONFSYNC_TENANTS__{}__", tenant.to_uppercase());
            problem.message = problem.message.replace("CONFSYNC_", &env);
        }
        problem
    }

    /// Whether more than one tenant is served, so that a command that could
    /// delete must be told which.
    pub fn has_several_tenants(&self) -> bool {
        self.resolved.len() > 1
    }
}

/// `[tenants.<name>.…]` of every declared tenant, resolved, secrets redacted.
pub(super) fn show(settings: &Settings) -> String {
    let views: std::collections::BTreeMap<&str, &TenantSettings> =
        settings.resolved.iter().map(|t| (t.name(), t)).collect();
    if views.is_empty() {
        return String::new();
    }
    let mut root = std::collections::BTreeMap::new();
    root.insert("tenants", views);
    toml::to_string_pretty(&root).unwrap_or_else(|e| format!("# cannot render the tenants: {e}\n"))
}
