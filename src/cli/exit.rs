//! The exit codes, in one table (also shown by `confsync --help`).

use std::process::ExitCode;

/// Everything asked was done.
pub const OK: u8 = 0;
/// A run failed, or the database or a vendor could not be reached.
pub const FAILED: u8 = 1;
/// The command line is wrong (clap's own code, and an unusable `--tenant`).
pub const USAGE: u8 = 2;
/// A directory apply did part of its work; the failed objects are retried next run.
pub const PARTIAL: u8 = 3;
/// The configuration is invalid (EX_CONFIG from sysexits.h), so systemd
/// can tell "fix the file" from "try again".
pub const CONFIG: u8 = 78;

/// The table `--help` prints.
pub const TABLE: &str = "\
Exit codes:
  0   done
  1   a run failed, or the database or a vendor could not be reached
  2   the command line is wrong
  3   directory apply or companies apply: some objects failed (retried next run)
      or a create is uncertain (its answer was lost: `plan` says how to settle it)
  78  the configuration is invalid (EX_CONFIG)";

pub fn code(code: u8) -> ExitCode {
    ExitCode::from(code)
}

/// Prints the error chain once and picks its code: a wrong `--tenant` gets
/// [`USAGE`], configuration problems [`CONFIG`], everything else [`FAILED`].
pub fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("error: {}", crate::causes::of(e));
    if e.chain().any(|c| c.is::<super::tenants::TenantChoice>()) {
        return code(USAGE);
    }
    code(if is_config(e) { CONFIG } else { FAILED })
}

fn is_config(e: &anyhow::Error) -> bool {
    use crate::directory::DirectoryError;
    e.chain().any(|cause| {
        matches!(cause.downcast_ref(), Some(DirectoryError::Config(_)))
            || cause
                .downcast_ref::<crate::cloudroom::CloudRoomError>()
                .is_some_and(|c| matches!(c, crate::cloudroom::CloudRoomError::Config { .. }))
            || matches!(
                cause.downcast_ref(),
                Some(crate::aliyun::AliyunError::Config(_))
            )
            || matches!(
                cause.downcast_ref(),
                Some(crate::companies::CompaniesError::NoPlatformCredentials)
            )
    })
}

pub fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => code(OK),
        Err(e) => fail(&e),
    }
}
