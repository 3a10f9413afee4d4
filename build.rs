//! Records the git revision for `confsync --version`. A build outside a
//! git checkout (a source tarball) says "unknown", unless
//! BUILD_GIT_REVISION is set.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=BUILD_GIT_REVISION");
    let revision = std::env::var("BUILD_GIT_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BUILD_GIT_REVISION={revision}");
    watch_git_head();
}

fn git_revision() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    let revision = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !revision.is_empty()).then_some(revision)
}

/// Reruns this script when HEAD moves: a new commit, or a checkout.
fn watch_git_head() {
    let git = Path::new(".git");
    let head = git.join("HEAD");
    if !head.is_file() {
        return;
    }
    println!("cargo:rerun-if-changed={}", head.display());
    let Ok(text) = std::fs::read_to_string(&head) else {
        return;
    };
    if let Some(reference) = text.strip_prefix("ref: ") {
        let path = git.join(reference.trim());
        if path.is_file() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let packed = git.join("packed-refs");
    if packed.is_file() {
        println!("cargo:rerun-if-changed={}", packed.display());
    }
}
