//! Where the archive lives: an object store opened from `archive.location`,
//! and the stable key layout `{tenant}/{conf_id}/{file_id}.{ext}` under it.

use std::sync::Arc;

use object_store::path::Path;
use object_store::ObjectStore;
use secrecy::ExposeSecret;

use super::settings::ArchiveSettings;

/// The store, the location's own path in it, and its URL.
#[derive(Clone)]
pub struct Location {
    pub store: Arc<dyn ObjectStore>,
    pub root: Path,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
#[error("archive.location = {url}: cannot open it")]
pub struct LocationError {
    url: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl Location {
    /// Opens `archive.location`, with `archive.options` and the key pair.
    pub fn open(settings: &ArchiveSettings) -> Result<Location, LocationError> {
        let url_text = settings.location.trim_end_matches('/').to_string();
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| LocationError {
            url: url_text.clone(),
            source,
        };
        let url = url::Url::parse(&url_text).map_err(|e| failed(e.into()))?;
        if url.scheme() == "file" {
            // The local store writes under an existing directory only.
            let dir = url
                .to_file_path()
                .map_err(|()| failed("not a local path".into()))?;
            std::fs::create_dir_all(&dir).map_err(|e| failed(e.into()))?;
        }
        let mut options = settings.options.clone();
        if let Some(id) = &settings.access_key_id {
            options.insert("aws_access_key_id".into(), id.clone());
        }
        if let Some(key) = &settings.secret_access_key {
            options.insert(
                "aws_secret_access_key".into(),
                key.expose_secret().to_string(),
            );
        }
        let (store, root) =
            object_store::parse_url_opts(&url, options).map_err(|e| failed(e.into()))?;
        Ok(Location {
            store: Arc::from(store),
            root,
            url: url_text,
        })
    }

    /// The object of one version of a recording: the first keeps the
    /// stable `{file_id}.{ext}`, a re-archive (the file changed at
    /// CloudRoom) goes beside it as `{file_id}.v{N}.{ext}`.
    pub fn key(
        &self,
        (tenant, conf_id): (&str, i64),
        file_id: &str,
        version: i32,
        download_url: &str,
    ) -> Path {
        let ext = extension(download_url);
        let name = match version {
            ..=1 => format!("{file_id}.{ext}"),
            n => format!("{file_id}.v{n}.{ext}"),
        };
        self.under_root([tenant.to_string(), conf_id.to_string(), name])
    }

    /// The object's full URL, as `cloudroom.recording_files.location` keeps it.
    pub fn url_of(&self, key: &Path) -> String {
        let root = self.root.as_ref();
        let relative = key.as_ref().strip_prefix(root).unwrap_or(key.as_ref());
        format!("{}/{}", self.url, relative.trim_start_matches('/'))
    }

    /// The key of an object URL this location wrote.
    pub fn key_of(&self, url: &str) -> Option<Path> {
        let relative = url.strip_prefix(&self.url)?.trim_start_matches('/');
        Some(self.under_root(relative.split('/').map(str::to_string)))
    }

    /// `parts` below the location's own path.
    fn under_root(&self, parts: impl IntoIterator<Item = String>) -> Path {
        let root = self.root.parts().map(|p| p.as_ref().to_string());
        Path::from_iter(root.chain(parts))
    }
}

impl Location {
    /// Removes the staging files (`name#N`) a killed run left behind in a
    /// local archive under `tenant`; an object store elsewhere expires
    /// incomplete multipart uploads by its own lifecycle rule
    /// (docs/archive.md). Run only under the archive job's lock.
    pub fn remove_stale_staging(&self, tenant: &str) -> std::io::Result<usize> {
        let Ok(url) = url::Url::parse(&self.url) else {
            return Ok(0);
        };
        let Ok(dir) = url.to_file_path() else {
            return Ok(0);
        };
        remove_staging_under(&dir.join(tenant))
    }
}

fn remove_staging_under(dir: &std::path::Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            removed += remove_staging_under(&path)?;
        } else if is_staging(&entry.file_name().to_string_lossy()) {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// object_store's local multipart uploads write `name#N` until complete.
fn is_staging(name: &str) -> bool {
    name.rsplit_once('#')
        .is_some_and(|(_, n)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// The file's extension from its URL's path (`.../f0.mp4?download`), else mp4.
fn extension(download_url: &str) -> String {
    url::Url::parse(download_url)
        .ok()
        .and_then(|u| {
            let last = u.path_segments()?.next_back()?.to_string();
            let (_, ext) = last.rsplit_once('.')?;
            let ok =
                !ext.is_empty() && ext.len() <= 5 && ext.chars().all(|c| c.is_ascii_alphanumeric());
            ok.then(|| ext.to_ascii_lowercase())
        })
        .unwrap_or_else(|| "mp4".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hold_tenant_conference_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let settings = ArchiveSettings {
            location: format!("file://{}/archive/", dir.path().display()),
            ..ArchiveSettings::default()
        };
        let location = Location::open(&settings).unwrap();
        let key = location.key(
            ("acme", 42),
            "f00d",
            1,
            "http://x/lv//vod/f00d/f0.mp4?download",
        );
        let second = location.key(("acme", 42), "f00d", 2, "http://x/f0.mp4");
        assert!(location.url_of(&second).ends_with("/acme/42/f00d.v2.mp4"));
        let url = location.url_of(&key);
        assert_eq!(
            url,
            format!("file://{}/archive/acme/42/f00d.mp4", dir.path().display())
        );
        assert_eq!(location.key_of(&url), Some(key));
        assert_eq!(extension("http://x/vod/abc"), "mp4");
    }
}
