//! What one tenant's jobs run with: its own sections of the configuration.
//! The process's sections (database, http, daemon, health, logging,
//! platform) belong to the process and are not repeated per tenant.

use serde::Serialize;

use super::schedule::ScheduleSettings;
use crate::aliyun::AliyunSettings;
use crate::archive::settings::ArchiveSettings;
use crate::cloudroom::CloudRoomSettings;
use crate::companies::settings::CompanySettings;
use crate::directory::settings::DirectorySettings;

/// One tenant's settings: the top level's, overridden by `[tenants.<name>]`.
#[derive(Debug, Clone, Serialize)]
pub struct TenantSettings {
    /// `cloudroom.tenant` holds the tenant's name.
    pub cloudroom: CloudRoomSettings,
    pub aliyun: AliyunSettings,
    pub directory: DirectorySettings,
    pub schedule: ScheduleSettings,
    pub archive: ArchiveSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<CompanySettings>,
}

impl TenantSettings {
    /// The tenant's name: the `tenant` column of every table it writes.
    pub fn name(&self) -> &str {
        &self.cloudroom.tenant
    }

    /// What the directory push reads of these settings.
    pub fn directory_config(&self) -> crate::directory::DirectoryConfig<'_> {
        crate::directory::DirectoryConfig {
            tenant: self.name(),
            directory: &self.directory,
            aliyun: &self.aliyun,
        }
    }

    /// The vendors whose credentials the jobs this tenant schedules need.
    pub fn vendors_needed(&self) -> super::Vendors {
        let mut needed = super::Vendors::default();
        for job in super::JOBS {
            if matches!(
                super::schedule::parse_cron(self.schedule.expression(job)),
                Ok(Some(_))
            ) {
                needed |= job.vendors(self);
            }
        }
        needed
    }
}
